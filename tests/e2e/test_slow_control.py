#!/usr/bin/python3
"""Camera controls never run on the event loop (issue 14, finding 7): a DSLR
(the PTP/IP simulator of tests/sim, through the real libgphoto2) takes 2 s
to answer SetDevicePropValue (longer trips libgphoto2's own PTP/IP timeout); while POST /api/streams/dslr/controls waits
for it, the MJPEG client of another stream keeps its frames and
/api/streams answers. Before, the USB (here TCP) call ran on the loop thread
and everything on it stood still. Control requests waiting for a device are
capped (16): 20 more while one waits get a few 503s with Retry-After,
counted in /metrics. Counts decide, not timings.

    test_slow_control.py CAMRELAY_EXE
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import e2e
from e2e import check

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "webcam"))
from camtest import Sim, sanitizer_env  # noqa: E402

SIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim", "ptpip_sim.py")
SLOW = 2

TOML = """
[http]
listen = "{listen}"

[stream.dslr]
[[stream.dslr.sources]]
[stream.dslr.sources.capture]
backend = "gphoto2"
device = "%s"

[stream.other]
[[stream.other.sources]]
[stream.other.sources.capture]
backend = "test"
width = 320
height = 240
fps = 15

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
"""


def main(exe):
    if "gphoto2" not in subprocess.run([exe, "--version"], capture_output=True, text=True).stdout:
        print("camrelay built without libgphoto2: not run", file=sys.stderr)
        return
    sim = Sim(SIM, size="320x240", fps=10, cache=10)
    # libgphoto2's own per-session leaks need the slow unwinder to be suppressed.
    os.environ.update({k: v for k, v in sanitizer_env().items() if k in ("ASAN_OPTIONS", "LSAN_OPTIONS")})
    srv = e2e.Server(exe, toml=TOML % sim.gp_port)
    srv.start(timeout=60)
    try:
        srv.wait_for("the DSLR's live view", lambda: srv.stream("dslr")["counters"]["frames_captured"] >= 10,
                     timeout=60)
        srv.wait_for("the DSLR's iso control", lambda: b'"iso"' in e2e.get(srv.url + "/api/streams/dslr/controls",
                                                                             timeout=20)[2], timeout=60)
        sim.send("slowset %d" % SLOW)
        sim.wait_for("SLOWSET %d" % SLOW, 10)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /mjpeg/other HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.settimeout(0.2)
        frames = 0
        while frames < 3:  # flowing before the call
            try:
                frames += s.recv(65536).count(b"\xff\xd9")
            except socket.timeout:
                pass
        result = {}

        def post():
            result["answer"] = e2e.get(srv.url + "/api/streams/dslr/controls", method="POST",
                                       data=json.dumps({"iso": "800"}).encode(), timeout=60)

        c0 = srv.stream("other")["counters"]["frames_captured"]
        start = len(sim.lines)
        t = threading.Thread(target=post)
        t.start()
        sim.wait_for("SLOWSET 0x500f start", 20, start)  # the camera is now busy with it
        frames = 0
        api = []
        while t.is_alive():
            try:
                frames += s.recv(65536).count(b"\xff\xd9")
            except socket.timeout:
                pass
            if len(api) < 3:
                api.append(e2e.get(srv.url + "/api/streams", timeout=30)[0])
        t.join()
        c1 = srv.stream("other")["counters"]["frames_captured"]
        s.close()
        st, _, body = result["answer"]
        print(f"while the DSLR took {SLOW} s to set iso: the other stream's MJPEG got {frames} of {c1 - c0} "
              f"frames; /api/streams answered {api}; the control answered {st}")
        check(st == 200 and b'"iso"' in body, f"POST controls -> {st}: {body[:200]!r}")
        sim.wait_for("SET 0x500f 800", 5, start)
        check(c1 - c0 >= 5 * SLOW, f"the test stream captured {c1 - c0} frames meanwhile")
        check(frames >= 0.8 * (c1 - c0), f"the other stream's MJPEG got {frames} of {c1 - c0} frames "
                                         "while a camera control waited for the camera")
        check(api and all(a == 200 for a in api), f"/api/streams while the control waited: {api}")
        # The waiting cap: one slow POST, then 20 GETs queued behind it.
        start = len(sim.lines)
        t = threading.Thread(target=post)
        t.start()
        sim.wait_for("SLOWSET 0x500f start", 20, start)
        answers = []

        def get():
            st, head, _ = e2e.get(srv.url + "/api/streams/dslr/controls", timeout=60)
            answers.append((st, head.get("Retry-After")))
        gets = [threading.Thread(target=get) for _ in range(20)]
        for g in gets:
            g.start()
        for g in gets + [t]:
            g.join()
        refused = [a for a in answers if a[0] == 503]
        print(f"20 GETs behind a slow POST: {len(answers) - len(refused)} answered 200, {len(refused)} refused")
        check(refused and all(a[1] for a in refused) and len(answers) - len(refused) >= 10 and
              all(a[0] in (200, 503) for a in answers), f"the waiting cap: {answers}")
        n = srv.metric("camrelay_limit_refusals_total", reason="control_requests_waiting")
        check(n == len(refused), f"/metrics counts {n} refusals, {len(refused)} seen")
        sim.send("slowset 0")
    finally:
        rc = srv.stop(timeout=90)  # LeakSanitizer's exit check over libgphoto2 takes a while
        sim.send("quit")
    check(rc == 0, f"camrelay exited with {rc}:\n{srv.log_tail()}")


if __name__ == "__main__":
    e2e.run(main)
