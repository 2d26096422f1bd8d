#!/usr/bin/python3
"""Congestion-control trace: the encoder's bitrate over time against the link
rate, from the same run as the test (tests/webrtc/test_congestion.py: network
namespaces, Chromium viewers, tc tbf steps 600 kbit/s -> 3 Mbit/s -> 2 % loss,
then two viewers with one slow). Root only.

    bench/congestion.py CAMRELAY [OUT_PREFIX] [--quick]

Writes OUT_PREFIX.csv (one row a second: link rate, encoder bitrate, each
viewer's estimate, sent rate, frames decoded, freezes) and, with Debian's
python3-matplotlib, OUT_PREFIX.png (default prefix bench/congestion-trace).
Prints, per step, the figures users would compare: where the encoder settled
against the link (ratio), and how long it took (timings: printed, not
judged). Without congestion control (bitrate_policy = "fixed", as camrelay
was before) the encoder stays at 4 Mbit/s whatever the link."""
import csv
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def plot(rows, png):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no PNG: python3-matplotlib is not installed (apt-get install python3-matplotlib)")
        return
    t = [float(r["t"]) for r in rows]
    fig, ax = plt.subplots(figsize=(11, 5))
    link = [float(r["link_kbit"]) if float(r["link_kbit"]) > 0 else float("nan") for r in rows]
    ax.step(t, link, where="post", label="link S->V1 (tc tbf), kbit/s", color="black", linewidth=2)
    ax.plot(t, [float(r["encoder_bps"]) / 1000 for r in rows], label="encoder bitrate (/api)", color="tab:blue")
    for k, c in (("v1", "tab:orange"), ("v2", "tab:green")):
        if any(r.get(k + "_estimate_bps") for r in rows):
            est = [float(r[k + "_estimate_bps"] or "nan") / 1000 for r in rows]
            sent = [float(r[k + "_sent_bps"] or "nan") / 1000 for r in rows]
            ax.plot(t, est, "--", label=k + " estimate", color=c)
            ax.plot(t, sent, ":", label=k + " sent", color=c)
    y = 0
    last = None
    for r in rows:
        if r["phase"] != last:
            ax.axvline(float(r["t"]), color="grey", linewidth=0.5)
            ax.text(float(r["t"]), 4600 - 250 * (y % 2), r["phase"], fontsize=8)
            y += 1
            last = r["phase"]
    ax.set_ylim(0, 5000)
    ax.set_xlabel("s")
    ax.set_ylabel("kbit/s")
    ax.set_title("camrelay congestion control: encoder bitrate vs link (Chromium viewers)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    print("wrote", png)


def summary(rows):
    phases = []
    for r in rows:
        if not phases or phases[-1][0] != r["phase"]:
            phases.append((r["phase"], []))
        phases[-1][1].append(r)
    for name, rs in phases:
        link = float(rs[0]["link_kbit"]) * 1000
        tail = [float(r["encoder_bps"]) for r in rs[-5:]]
        m = sum(tail) / len(tail)
        ratio = " = %.2f x the link" % (m / link) if link else ""
        print("%-10s %3d s  link %5s kbit/s  encoder (mean of last 5 s) %6.0f kbit/s%s" % (
            name, len(rs), int(link / 1000) if link else "-", m / 1000, ratio))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    prefix = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else os.path.join(
        HERE, "congestion-trace")
    csv_path = prefix + ".csv"
    cmd = ["/usr/bin/python3", os.path.join(HERE, "..", "tests", "webrtc", "test_congestion.py"), sys.argv[1],
           "--csv", csv_path] + (["--quick"] if "--quick" in sys.argv else [])
    r = subprocess.run(cmd, env=dict(os.environ, CC_ISSUE="1"))  # the issue's bounds judged
    if not os.path.exists(csv_path):
        sys.exit("no trace written (the run failed with status %d)" % r.returncode)
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    summary(rows)
    plot(rows, prefix + ".png")
    print("test checks: %s" % ("passed" if r.returncode == 0 else "FAILED (status %d)" % r.returncode))


if __name__ == "__main__":
    main()
