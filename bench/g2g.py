#!/usr/bin/python3
"""bench/g2g: glass-to-glass latency as a viewer sees it, read by the page's
own meter (the timecode block, src/core/timecode.h) in headless Chromium
(Debian's), 60 s per case, side by side:

    camrelay WHEP H.264, camrelay WHEP VP8, camrelay MJPEG

from the test source at 1280x720, 30 fps, on loopback. Prints p50/p95 (ms)
and the frames read/unreadable per case.

Not here yet: the µStreamer MJPEG case (issue 18 wants µStreamer fed the same
frames through v4l2loopback in the real-kernel VM, as bench/ustreamer.py
runs it); this host-only script has no V4L2 device to feed it.

    bench/g2g.py [BUILD/camrelay] [--seconds 60]"""
import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "webrtc"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import chromium_whep  # noqa: E402
import e2e  # noqa: E402

TOML = """
[http]
listen = "{listen}"

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
""" + "".join(f"""
[stream.{name}]
webrtc_codecs = ["{codec}"]
[[stream.{name}.sources]]
[stream.{name}.sources.capture]
backend = "test"
width = 1280
height = 720
fps = 30
pixel_format = "yuyv"
""" for name, codec in [("h264", "h264"), ("vp8", "vp8")])

CASES = [("camrelay WHEP H.264", "h264", "webrtc"), ("camrelay WHEP VP8", "vp8", "webrtc"),
         ("camrelay MJPEG", "h264", "mjpeg")]


def pct(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")


def run_case(srv, stream, output, seconds):
    profile = tempfile.mkdtemp(prefix="camrelay-g2g-bench-")
    proc, ws = chromium_whep.start_chromium(e2e.free_port(), profile)
    try:
        cdp = chromium_whep.Cdp(ws)
        cdp.call("Page.navigate", url=f"{srv.url}/play/{stream}?output={output}")
        time.sleep(5)  # connect, first keyframe, clock sync
        got, end = {}, time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(4)  # the page keeps 10 s of samples
            for t, v in cdp.evaluate("cards[0].meter.samples") or []:
                got[t] = v
        m = cdp.evaluate("({frames: cards[0].meter.frames, unreadable: cards[0].meter.unreadable, "
                         "out: cards[0].output})")
    finally:
        chromium_whep.stop_chromium(proc, profile)
    return sorted(got.values()), m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("camrelay", nargs="?", default=os.path.join(HERE, "..", "build", "release", "camrelay"))
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    rows = []
    with e2e.Server(a.camrelay, toml=TOML) as srv:
        for label, stream, output in CASES:
            v, m = run_case(srv, stream, output, a.seconds)
            if m["out"] != output or not v:
                sys.exit(f"{label}: the page played {m['out']}, {len(v)} readings")
            rows.append((label, pct(v, 0.5), pct(v, 0.95), len(v), m["unreadable"]))
            print(f"{label}: p50 {rows[-1][1]:.1f} ms, p95 {rows[-1][2]:.1f} ms ({len(v)} frames, "
                  f"{m['unreadable']} unreadable)", flush=True)
    print(f"\nglass-to-glass, 1280x720 30 fps test source, loopback, {a.seconds:.0f} s a case")
    print(f"{'case':<22}{'p50 ms':>8}{'p95 ms':>8}{'frames':>8}{'unread':>8}")
    for r in rows:
        print(f"{r[0]:<22}{r[1]:>8.1f}{r[2]:>8.1f}{r[3]:>8}{r[4]:>8}")
    mj = rows[2][1]
    for r in rows[:2]:
        print(f"{r[0]} / camrelay MJPEG p50: {r[1] / mj:.2f}")
    print("µStreamer MJPEG: not measured here (needs v4l2loopback in the VM)")


if __name__ == "__main__":
    main()
