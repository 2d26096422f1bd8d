#!/usr/bin/python3
"""libcamera on a machine without that camera (the host): the stream stays up
on placeholders, /api/streams says which camera is missing and how many
libcamera found, and the snapshot still answers.

  test_no_camera.py CAMRELAY"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2e  # noqa: E402
from e2e import check  # noqa: E402

TOML = """
[http]
listen = "{listen}"

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]

[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "libcamera"
device = "no-such-camera"
width = 320
height = 240
"""


def main(exe):
    with e2e.Server(exe, toml=TOML) as srv:
        s = srv.wait_for("the missing camera reported",
                         lambda: (lambda s: s["state"] == "reconnecting" and s)(srv.stream("cam")))
        print(f"{s['state']}: {s['message']}")
        check('no camera "no-such-camera"' in s["message"] and "found" in s["message"],
              f"message does not name the camera: {s['message']}")
        srv.wait_for("placeholders", lambda: srv.stream("cam")["counters"]["frames_placeholder"] >= 10)
        status, _, body = e2e.get(srv.url + "/snapshot/cam")
        check(status == 200 and e2e.decode_jpeg(body).size == (320, 240), f"snapshot: HTTP {status}")
        k = srv.stream("cam")["counters"]
        check(k["frames_captured"] == 0 and k["reconnects"] >= 1, f"counters {k}")
        with open(srv.log_path) as f:
            log = f.read()
        check("INFO" not in log, "libcamera's INFO lines reach camrelay's log:\n" + log[-2000:])


if __name__ == "__main__":
    e2e.run(main)
