"""camrelay's log shapes. Under systemd (JOURNAL_STREAM naming standard
error's device:inode) every line starts with its syslog priority (<4> for a
warning, <6> info) so journalctl -p works; the same variable naming another
stream (a redirected child) keeps the text shape; --log-format json writes
one JSON object per line; an unknown format is a usage error (exit 2).
The warning comes from listening on a non-loopback address without [auth].
  test_logs.py CAMRELAY"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import e2e  # noqa: E402
from common import check, finish  # noqa: E402

CAMRELAY = sys.argv[1]


def run(args, journal=None):
    """serve until it logs that it serves, then SIGTERM; returns its stderr lines"""
    with tempfile.TemporaryFile() as err:
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        env.pop("NOTIFY_SOCKET", None)
        if journal == "match":
            st = os.fstat(err.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        elif journal == "other":
            st = os.fstat(0)
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino + 1}"
        p = subprocess.Popen([CAMRELAY, "serve"] + args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        end = time.monotonic() + 60
        while time.monotonic() < end and p.poll() is None:
            err.seek(0)
            if b"serving 1 stream" in err.read():
                break
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(120)  # an ASan build's exit (leak check) on a loaded machine
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            check(False, f"camrelay serve {' '.join(args)} exits on SIGTERM")
        err.seek(0)
        return err.read().decode(errors="replace").splitlines()


def main():
    port = e2e.free_port("0.0.0.0")
    listen = ["-l", f"0.0.0.0:{port}"]
    lines = run(listen, journal="match")
    print("\n".join(lines[:6]))
    warn = [l for l in lines if "without [auth]" in l]
    check(bool(lines) and all(re.match(r"<[0-7]>[a-z0-9_-]+: ", l) for l in lines),
          "JOURNAL_STREAM = stderr: every line has a <N> syslog priority prefix")
    check(any(l.startswith("<4>") for l in warn), f"the non-loopback warning is <4> (warning): {warn[:1]}")
    check(any(l.startswith("<6>serve: serving 1 stream") for l in lines), "the serving line is <6> (info)")

    lines = run(listen, journal="other")
    check(bool(lines) and all(re.match(r"\d\d:\d\d:\d\d\.\d{3} (error|warn |info |debug) ", l) for l in lines),
          f"JOURNAL_STREAM naming another stream: text lines ({lines[:1]})")

    lines = run(listen + ["--log-format", "json"], journal="match")
    objs = []
    for l in lines:
        try:
            objs.append(json.loads(l))
        except ValueError:
            check(False, f"--log-format json: not JSON: {l!r}")
    check(objs and all(set(o) == {"time", "level", "priority", "who", "msg"} for o in objs),
          "--log-format json: one object per line with time, level, priority, who, msg")
    check(any(o["level"] == "warn" and o["priority"] == 4 for o in objs), "json: the warning has priority 4")
    check(any(o["msg"].startswith("serving 1 stream") and o["priority"] == 6 for o in objs),
          "json: the serving line, priority 6")

    r = subprocess.run([CAMRELAY, "serve", "--log-format", "xml"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "allowed: text, json" in r.stderr,
          f"--log-format xml: exit 2 naming the allowed formats ({r.returncode}, {r.stderr.strip()})")


main()
finish()
