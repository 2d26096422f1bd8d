#!/usr/bin/python3
"""WHIP push figures (issue 17), loopback, aiortc on the other side:

  - camrelay CPU over 10 s with one WHIP publication, against the same
    stream (320x240 30 fps H.264 400 kbit/s) served to one WHEP viewer (the
    usual alternative: the SFU pulls WHEP);
  - time from camrelay's start to the first frame decoded at the WHIP server;
  - reconnect: the server SIGKILLed and started again, time from its
    'ready' to its first decoded frame.

    bench/whip.py BUILD_DIR [RUNS]

Timings: printed, never pass/fail."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "whip"))
import whip_test as wh  # noqa: E402
from whip_test import WhipServer, wait_for, whip_toml, wt  # noqa: E402


def cpu_pct(pid, seconds=10):
    """% of one core over the window, from the threads' schedstat (ns)."""
    t0, c0 = time.monotonic(), wh.cpu_ns(pid)
    time.sleep(seconds)
    return 100.0 * (wh.cpu_ns(pid) - c0) / 1e9 / (time.monotonic() - t0)


def whip_run(build):
    port = wt.free_port()
    ws = WhipServer(port)
    t0 = time.monotonic()
    srv = wt.Server(build, whip_toml("http://127.0.0.1:%d/whip/cam" % port, token=""))
    try:
        ok = wait_for(lambda: any(s["frames"] > 0 for s in ws.stats()["sessions"]), 30)
        first = time.monotonic() - t0 if ok else float("nan")
        time.sleep(2)
        cpu = cpu_pct(srv.proc.pid)
        ws.kill()
        ws = WhipServer(port)
        ready = ws.ready
        ok = wait_for(lambda: any(s["frames"] > 0 for s in ws.stats()["sessions"]), 30)
        again = time.monotonic() - ready if ok else float("nan")
        return cpu, first, again
    finally:
        srv.stop()
        ws.kill()


def whep_run(build):
    srv = wt.Server(build, wt.stream_toml("cam", "h264"))
    v = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "..", "tests", "webrtc", "whep_client.py"),
                          srv.base + "/whep/cam", "--seconds", "16"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        return cpu_pct(srv.proc.pid)
    finally:
        v.communicate(timeout=60)
        srv.stop()


def main():
    build = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    for i in range(runs):
        cpu_whip, first, again = whip_run(build)
        cpu_whep = whep_run(build)
        print("run %d: camrelay CPU, one WHIP push %.1f%% vs one WHEP viewer %.1f%% (ratio %.2f); "
              "start -> first frame at the WHIP server %.2f s; reconnect after SIGKILL + restart %.2f s "
              "from the server's ready; load %.1f" % (i + 1, cpu_whip, cpu_whep, cpu_whip / cpu_whep if cpu_whep else 0,
                                                    first, again, os.getloadavg()[0]), flush=True)


if __name__ == "__main__":
    main()
