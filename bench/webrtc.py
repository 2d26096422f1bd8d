#!/usr/bin/python3
"""WebRTC fan-out benchmark (issue 20): how many WHEP viewers one core
serves at 1280x720 H.264 2 Mbit/s (test source, x264), server CPU per RTP
packet, and each viewer's frame latency up to the moment its last packet
went to the kernel, for 1/100/500/1000 viewers on loopback.

    bench/webrtc.py BUILD_DIR [--before OLD_BUILD_DIR] [--no-gso] [--cm] [--twcc] [--perf DIR] [--split]
                    [N ...]

The viewers are bench_webrtc_client (BUILD_DIR/bench): ICE, DTLS-SRTP as a
browser does, consent answered, every packet's SRTP authentication checked
with libsrtp2; nothing decoded. Only the server's CPU is counted
(/proc/<pid>/stat, user + system, over a 10 s window once all viewers are in
media); on loopback that includes the kernel's delivery into the viewers'
sockets, which runs in the sender's system call. --before runs the same
against an older camrelay (built from another commit in its own build
directory) and prints the ratios. --no-gso sets CAMRELAY_WHEP_NO_GSO=1;
--cm makes the viewers offer only AES128_CM_SHA1_80 (as aiortc does).
--twcc makes them offer transport-cc (as browsers do; they send no feedback):
camrelay then stamps every video packet with its transport sequence number
and paces each viewer at 1.5 x its starting estimate (the pacer's cost).
--perf DIR records the server with `perf record` (call graphs) during each row's
measuring window only (DIR/perf-N.data, N viewers), so the profile holds
neither the viewers' handshakes nor their leaving; the row's CPU figures
then include perf's sampling (499 Hz). With --perf each row also gives the
share of the server's samples spent in the kernel's receive path
(net_rx_action: on loopback the viewers' side, segmenting each GSO message
for a socket without UDP_GRO and queueing it, runs inside the sender's
sendmmsg) and the all-in figure without it: on a network those cycles are
the viewers' machines'. BENCH_PERF_CALL_GRAPH=dwarf unwinds
through libraries built without frame pointers (costlier).
--split (root, 2+ CPUs) takes the viewers' side out of the server's CPU
without perf: camrelay runs on CPU 0, the viewers on CPU 1, and loopback's
receive path is steered to CPU 1 (RPS: /sys/class/net/lo/queues/rx-0/
rps_cpus, restored after), so what /proc/<pid>/stat counts for camrelay is
its own work up to the loopback device, as on a network. One core then
carries the encoder and the send loop, so a saturated row shows as packets/s
short of 2 Mbit/s per viewer.

The send loop's own CPU is also read per thread: the busiest thread seen
waiting in epoll_wait or in sendmmsg/sendmsg (the HTTP/WebRTC event loop;
the source and encoder threads never are), so the encoder's variation
between runs does not blur the per-packet cost.

Latency: capture -> sent and encoded -> sent from the server's
camrelay_webrtc_send_latency_seconds histograms (every viewer's every frame
in the window; p50/p99 interpolated inside a bucket), and, for builds
without them, /api/streams' capture_to_sent (the stream's last 512 sends)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")
WINDOW = 10.0

STREAM = """
[stream.cam]
[[stream.cam.sources]]
capture = { backend = "test", width = 1280, height = 720, fps = 30, pattern = "noise" }
[stream.cam.sources.encoder]
backend = "x264"
codec = "h264"
profile = "constrained-baseline"
level = "3.1"
bitrate = 2_000_000
bitrate_policy = "fixed"
"""
# "fixed": the send path is measured at a constant 2 Mbit/s; with "lowest" a
# row whose viewers fall behind (one CPU for 1,000 of them with --split)
# reports loss, the encoder's bitrate drops, and the row sends less.


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def thread_cpu(pid):
    """CPU seconds of each thread of pid."""
    out = {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[t] = (int(fields[11]) + int(fields[12])) / HZ
        except OSError:
            pass
    return out


def loop_threads(pid, samples=40):
    """The threads seen in epoll_wait/epoll_pwait or sendmmsg/sendmsg: the
    libevent loops (HTTP + WebRTC, RTSP), not the source or the encoder."""
    seen = set()
    for _ in range(samples):
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/syscall" % (pid, t)) as f:
                    nr = f.read().split()[0]
            except (OSError, IndexError):
                continue
            if nr in ("232", "281", "307", "46"):
                seen.add(t)
        time.sleep(0.01)
    return seen


def get(url):
    with urllib.request.urlopen(url, timeout=30) as f:
        return f.read().decode()


def metrics(base):
    text = get(base + "/metrics")
    out = {}
    for m in re.finditer(r"^camrelay_webrtc_(\w+) (\d+)$", text, re.M):
        out[m.group(1)] = int(m.group(2))
    hist = {}
    for m in re.finditer(r'^camrelay_webrtc_send_latency_seconds_bucket\{path="(\w+)",le="([^"]+)"\} (\d+)$',
                         text, re.M):
        le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
        hist.setdefault(m.group(1), []).append((le, int(m.group(3))))
    out["hist"] = hist
    return out


def quantile(b0, b1, q):
    """q-quantile (ms) of the counts added between two cumulative histograms."""
    if not b1:
        return None
    prev = dict(b0)
    d = [(le, c - prev.get(le, 0)) for le, c in b1]
    total = d[-1][1]
    if total <= 0:
        return None
    want, lo = q * total, 0.0
    below = 0
    for le, cum in d:
        if cum >= want:
            if le == float("inf"):
                return lo * 1000
            frac = (want - below) / (cum - below) if cum > below else 1.0
            return (lo + (le - lo) * frac) * 1000
        lo, below = le, cum
    return None


def sending(base):
    api = json.loads(get(base + "/api/webrtc"))
    return sum(1 for v in api["viewers"] if v["state"] == "sending")


def client_modules(client, env):
    """Where the client (BUILD/bench/bench_webrtc_client) loads SRTP from:
    its build's camrelay-crypto.so (src/net/crypto.h), unless
    CAMRELAY_MODULE_DIR says otherwise."""
    return env.get("CAMRELAY_MODULE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(client)))


def on_cpu(cpu):
    """preexec_fn: run the child on one CPU only."""
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


def run_build(build, client, counts, env, cm, perf_dir=None, split=False):
    http_port, udp_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    d = tempfile.mkdtemp(prefix="camrelay-bench-webrtc-")
    cfg = os.path.join(d, "bench.toml")
    most = max(counts) + 10
    with open(cfg, "w") as f:
        f.write('[http]\nlisten = "127.0.0.1:%d"\n[webrtc]\nport = %d\ncandidates = ["127.0.0.1"]\n'
                '[limits]\nwhep_sessions = %d\nwhep_sessions_per_stream = %d\nwhep_sessions_per_ip = %d\n'
                % (http_port, udp_port, most, most, most) + STREAM)
    log = open(os.path.join(d, "server.log"), "w")
    srv = subprocess.Popen([os.path.join(build, "camrelay"), "serve", "-c", cfg], stdout=log,
                           stderr=subprocess.STDOUT, env=env, preexec_fn=on_cpu(0 if split else None))
    base = "http://127.0.0.1:%d" % http_port
    rows = []
    loops = set()
    try:
        time.sleep(2)
        print("\n%s (%s%s)" % (build, "GSO off" if env.get("CAMRELAY_WHEP_NO_GSO") else "GSO where the kernel has it",
                               "; camrelay on CPU 0, the viewers and lo's receive path on CPU 1" if split else ""))
        print("%7s %5s %7s %8s %7s %8s %7s %8s %6s %17s %17s %15s %13s"
              % ("viewers", "conn", "Mbit/s", "pkts/s", "CPU %", "us/pkt", "loop %", "loop us", "batch",
                 "capture->sent ms", "encoded->sent ms", "stream p50/p99", "auth ok/bad"))
        for n in counts:
            # Past 100 viewers the client authenticates one packet in 4 per
            # session, or it falls behind on this 2-core machine.
            cenv = dict(env, BENCH_VERIFY_EVERY="4" if n > 100 else "1",
                        CAMRELAY_MODULE_DIR=client_modules(client, env))
            c = subprocess.Popen([client, "127.0.0.1", str(http_port), "cam", str(n), "600"] + (["cm"] if cm else []),
                                 stdout=subprocess.PIPE, text=True, env=cenv, preexec_fn=on_cpu(1 if split else None))
            deadline = time.time() + 60 + n * (0.4 if split else 0.2)  # one CPU for the handshakes
            while time.time() < deadline and c.poll() is None and sending(base) < n:
                time.sleep(1)
            time.sleep(3)  # past the first keyframe
            # Seen idle at the first rows; a saturated loop never waits, so keep them.
            loops |= loop_threads(srv.pid)
            perf, perf_data = None, os.path.join(perf_dir, "perf-%d.data" % n) if perf_dir else None
            if perf_data:
                perf = subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph",
                                         os.environ.get("BENCH_PERF_CALL_GRAPH", "fp"), "-p", str(srv.pid), "-o",
                                         perf_data],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
            m0, t0, c0, th0 = metrics(base), time.time(), cpu_seconds(srv.pid), thread_cpu(srv.pid)
            time.sleep(WINDOW)
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait(timeout=120)
            m1, t1, c1, th1 = metrics(base), time.time(), cpu_seconds(srv.pid), thread_cpu(srv.pid)
            # The send loop: of the event-loop threads, the busiest (the RTSP one idles).
            loop = max((th1.get(t, 0) - th0.get(t, 0) for t in loops), default=0.0)
            st = json.loads(get(base + "/api/streams"))["streams"][0]
            lat = st.get("latency_ms", {}).get("capture_to_sent", {})
            c.send_signal(signal.SIGTERM)
            out = c.communicate(timeout=120 + n * 0.2)[0]
            r = json.loads(out.strip().splitlines()[-1])
            dt = t1 - t0
            pkts = (m1["packets_sent_total"] - m0["packets_sent_total"]) / dt
            mbit = (m1["bytes_sent_total"] - m0["bytes_sent_total"]) * 8 / dt / 1e6
            cpu = 100 * (c1 - c0) / dt
            calls = m1.get("sendmmsg_calls_total", 0) - m0.get("sendmmsg_calls_total", 0)
            batch = (m1.get("sendmmsg_packets_total", 0) - m0.get("sendmmsg_packets_total", 0)) / calls if calls else 0
            h0, h1 = m0["hist"], m1["hist"]
            cs = [quantile(h0.get("capture_to_sent", []), h1.get("capture_to_sent", []), q) for q in (0.5, 0.99)]
            es = [quantile(h0.get("encoded_to_sent", []), h1.get("encoded_to_sent", []), q) for q in (0.5, 0.99)]
            row = {"n": n, "connected": r["connected"], "mbit": mbit, "pps": pkts, "cpu": cpu,
                   "loop_cpu": 100 * loop / dt, "loop_us_per_pkt": loop * 1e6 / (pkts * dt) if pkts else 0,
                   "us_per_pkt": (c1 - c0) * 1e6 / (pkts * dt) if pkts else 0, "batch": batch,
                   "cap": cs, "enc": es, "stream": (lat.get("p50", 0), lat.get("p99", 0)),
                   "auth": (r.get("auth_ok", 0), r.get("auth_failed", 0)), "gcm": r.get("gcm_sessions", 0)}
            if perf:
                row["rx_share"] = rx_share(perf_data)
            rows.append(row)
            fmt = lambda v: "%7.2f/%-7.2f" % tuple(v) if v[0] is not None else "%17s" % "-"  # noqa: E731
            print("%7d %5d %7.1f %8.0f %7.1f %8.2f %7.1f %8.2f %6.1f %17s %17s %7.1f/%-7.1f %6d/%d"
                  % (n, r["connected"], mbit, pkts, cpu, row["us_per_pkt"], row["loop_cpu"],
                     row["loop_us_per_pkt"], batch, fmt(cs), fmt(es),
                     row["stream"][0], row["stream"][1], row["auth"][0], row["auth"][1]), flush=True)
            time.sleep(3)
    finally:
        srv.terminate()
        srv.wait(timeout=30)
    return rows


def rx_share(data):
    """Fraction of the samples under net_rx_action (the loopback receive
    path run in the server's system calls), None if perf cannot tell."""
    out = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "sym", "-g", "none", "-q",
                          "--percent-limit", "0"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[-1] == "net_rx_action" and f[0].endswith("%"):
            return float(f[0].rstrip("%")) / 100
    return None


def loop_summary(rows):
    """The send loop's own cost: us per packet and, at 2 Mbit/s per viewer
    (~212 packets/s of 1180 bytes), viewers one core of it would carry."""
    out = {}
    for b in rows:
        if b["n"] > 1 and b["loop_us_per_pkt"] > 0:
            pps_viewer = b["pps"] / b["n"]
            out[b["n"]] = {"us_per_pkt": b["loop_us_per_pkt"],
                           "viewers_per_core": 1e6 / (b["loop_us_per_pkt"] * max(pps_viewer, 1))}
    return out


def summary(rows):
    """Marginal CPU per viewer and per packet against the first row (one
    viewer: mostly the encoder)."""
    if len(rows) < 2:
        return {}
    a, out = rows[0], {}
    for b in rows[1:]:
        dv, dp = b["n"] - a["n"], b["pps"] - a["pps"]
        per_viewer = (b["cpu"] - a["cpu"]) / dv if dv else float("nan")
        out[b["n"]] = {"per_viewer_pct": per_viewer,
                       "viewers_per_core": 100 / per_viewer if per_viewer > 0 else float("inf"),
                       "us_per_pkt": (b["cpu"] - a["cpu"]) / 100 * 1e6 / dp if dp > 0 else float("nan"),
                       # the viewers that connected (a row's client may time out on some)
                       "all_in_per_core": b["connected"] / (b["cpu"] / 100) if b["cpu"] > 0 else float("inf")}
    return out


def main():
    args = sys.argv[1:]
    build, before, env, cm, perf_dir, split = args.pop(0), None, dict(os.environ), False, None, False
    counts = []
    while args:
        a = args.pop(0)
        if a == "--before":
            before = args.pop(0)
        elif a == "--no-gso":
            env["CAMRELAY_WHEP_NO_GSO"] = "1"
        elif a == "--cm":
            cm = True
        elif a == "--twcc":
            env["BENCH_TWCC"] = "1"
        elif a == "--split":
            split = True
        elif a == "--perf":
            perf_dir = args.pop(0)
            os.makedirs(perf_dir, exist_ok=True)
        else:
            counts.append(int(a))
    counts = counts or [1, 100, 500, 1000]
    if counts[0] != 1:
        counts.insert(0, 1)
    client = os.path.join(build, "bench", "bench_webrtc_client")
    print("SRTP protect, 1200-byte packet (this machine, load %.1f):" % os.getloadavg()[0])
    for line in subprocess.run([client, "--srtp"], capture_output=True, text=True,
                               env=dict(env, CAMRELAY_MODULE_DIR=client_modules(client, env))).stdout.splitlines():
        r = json.loads(line)
        print("  %-18s %-9s %6.0f ns" % (r["srtp_profile"], r.get("library", ""), r["ns_per_packet"]))
    rps = "/sys/class/net/lo/queues/rx-0/rps_cpus"
    saved = None
    if split:
        if os.cpu_count() < 2:
            sys.exit("--split needs 2 CPUs")
        with open(rps) as f:
            saved = f.read().strip()
        with open(rps, "w") as f:
            f.write("2")  # CPU 1
    try:
        run_all(build, before, client, counts, env, cm, perf_dir, split)
    finally:
        if saved is not None:
            with open(rps, "w") as f:
                f.write(saved)


def run_all(build, before, client, counts, env, cm, perf_dir, split):
    results = [(build, run_build(build, client, counts, env, cm, perf_dir, split))]
    if before:
        bdir = os.path.join(perf_dir, "before") if perf_dir else None
        if bdir:
            os.makedirs(bdir, exist_ok=True)
        results.append((before, run_build(before, client, counts, env, cm, bdir, split)))
    sums = [summary(rows) for _, rows in results]
    print("\nmarginal cost against 1 viewer (the encoder): % of a core per viewer, viewers per core, "
          "us per packet; all-in: viewers connected / cores used")
    for (b, _), s in zip(results, sums):
        for n, x in s.items():
            print("  %-28s %5d viewers: %.3f %%/viewer -> %6.0f viewers/core, %.2f us/packet; all-in %6.0f/core"
                  % (os.path.basename(os.path.normpath(b)) or b, n, x["per_viewer_pct"], x["viewers_per_core"],
                     x["us_per_pkt"], x["all_in_per_core"]))
    for (b, rows) in results:
        for r in rows:
            if r.get("rx_share") is not None and r["n"] > 1 and r["cpu"] > 0:
                own = r["cpu"] / 100 * (1 - r["rx_share"])
                print("  %-28s %5d viewers: %.1f %% of the server's samples in the loopback receive path; without"
                      " it %.1f %% of a core, all-in %6.0f/core, %.2f us/packet"
                      % (os.path.basename(os.path.normpath(b)) or b, r["n"], 100 * r["rx_share"], 100 * own,
                         r["connected"] / own, own * 1e6 / r["pps"] if r["pps"] else 0))
    print("\nthe send loop thread alone (HTTP + WebRTC event loop: payload, SRTP, sendmmsg, and on loopback the"
          " kernel's delivery into the viewers' sockets): us per packet -> viewers per core at the measured"
          " packets per viewer")
    loops = [loop_summary(rows) for _, rows in results]
    for (b, _), s in zip(results, loops):
        for n, x in s.items():
            print("  %-28s %5d viewers: %.2f us/packet -> %6.0f viewers/core"
                  % (os.path.basename(os.path.normpath(b)) or b, n, x["us_per_pkt"], x["viewers_per_core"]))
    if before:
        print("\nafter / before (send loop):")
        for n in loops[0]:
            if n in loops[1]:
                a, b = loops[0][n], loops[1][n]
                print("  %5d viewers: us/packet %.2f vs %.2f (%.2fx), viewers/core %.0f vs %.0f (%.2fx)"
                      % (n, a["us_per_pkt"], b["us_per_pkt"], a["us_per_pkt"] / b["us_per_pkt"],
                         a["viewers_per_core"], b["viewers_per_core"],
                         a["viewers_per_core"] / b["viewers_per_core"]))
    if before:
        print("\nafter / before:")
        for n in sums[0]:
            if n in sums[1]:
                a, b = sums[0][n], sums[1][n]
                ra = {r["n"]: r for r in results[0][1]}[n]
                rb = {r["n"]: r for r in results[1][1]}[n]
                print("  %5d viewers: server CPU %.2fx (%.1f %% vs %.1f %%), us/packet %.2fx, viewers/core %.2fx,"
                      " stream p99 %.1f vs %.1f ms"
                      % (n, ra["cpu"] / rb["cpu"] if rb["cpu"] else float("nan"), ra["cpu"], rb["cpu"],
                         a["us_per_pkt"] / b["us_per_pkt"] if b["us_per_pkt"] else float("nan"),
                         a["viewers_per_core"] / b["viewers_per_core"] if b["viewers_per_core"] else float("nan"),
                         ra["stream"][1], rb["stream"][1]))


if __name__ == "__main__":
    main()
