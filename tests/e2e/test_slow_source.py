#!/usr/bin/python3
"""The event loop never waits on a source (issue 14, finding 7): a URL source
whose RTSP server accepts the connection and then says nothing spends its
whole open timeout (10 s) opening, again and again; meanwhile /, /api/streams,
/metrics and the controls of that stream answer (with the last status
snapshot; controls say the source is busy), and the MJPEG client of another
stream keeps its frames. Before, all of them waited for the open.

    test_slow_source.py CAMRELAY_EXE
"""
import socket
import threading
import time

import e2e
from e2e import check

TOML = """
[http]
listen = "{listen}"

[stream.fast]
[[stream.fast.sources]]
[stream.fast.sources.capture]
backend = "test"
width = 320
height = 240
fps = 15

[stream.slow]
[[stream.slow.sources]]
url = "rtsp://127.0.0.1:%d/silent"

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
"""


def silent_server():
    """Accepts RTSP connections and never answers."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    held = []

    def run():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            held.append(c)

    threading.Thread(target=run, daemon=True).start()
    return ls, held


def main(exe):
    ls, held = silent_server()
    srv = e2e.Server(exe, toml=TOML % ls.getsockname()[1])
    with srv:
        srv.wait_for("the URL source is connecting to the silent server", lambda: held, timeout=20)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /mjpeg/fast HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.settimeout(0.2)
        frames = 0
        c0 = srv.stream("fast")["counters"]["frames_captured"]
        answered = []
        end = time.monotonic() + 12
        next_ask = 0
        while time.monotonic() < end:
            try:
                frames += s.recv(65536).count(b"\xff\xd9")
            except socket.timeout:
                pass
            if time.monotonic() >= next_ask:
                next_ask = time.monotonic() + 1
                for path in ["/", "/api/streams", "/metrics", "/api/streams/slow/controls"]:
                    try:
                        st, _, _ = e2e.get(srv.url + path, timeout=2)
                    except OSError as e:
                        st = str(e)
                    answered.append((path, st))
        c1 = srv.stream("fast")["counters"]["frames_captured"]
        s.close()
        late = [a for a in answered if a[1] not in (200, 503)]
        print(f"while the URL source opened: {len(answered) - len(late)} of {len(answered)} requests answered; "
              f"MJPEG of the other stream {frames} of {c1 - c0} frames")
        check(not late, f"requests that waited for the source: {late[:6]}")
        check(frames >= 0.9 * (c1 - c0), f"the other stream's MJPEG got {frames} of {c1 - c0} frames")
    ls.close()


if __name__ == "__main__":
    e2e.run(main)
