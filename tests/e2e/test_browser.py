#!/usr/bin/python3
"""The index page in a real browser: headless Chromium loads /, its live
preview (<img src="/mjpeg/test">, the multipart stream) shows the test
source's colour bars in order, and the page's script filled in the status
from /api/streams. Chromium missing is a failure naming the package."""

import json
import os
import shutil
import subprocess
import sys

from PIL import Image

import e2e
from e2e import check

# The six coloured bars, left to right, as a browser shows them: 75% bars in
# a full-range JPEG (see test_picture.py).
BARS = [("yellow", (191, 191, 0)), ("cyan", (0, 191, 191)), ("green", (0, 191, 0)),
        ("magenta", (191, 0, 191)), ("red", (191, 0, 0)), ("blue", (0, 0, 191))]


def main(exe):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        # scripts/install-deps installs it: missing is a broken set-up, not a skip
        print("FAIL chromium not found: install the chromium package (scripts/install-deps)")
        sys.exit(1)
    with e2e.Server(exe) as srv:
        shot = os.path.join(srv.dir, "page.png")
        dom = subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={srv.dir}/chromium", "--window-size=1000,800",
             "--virtual-time-budget=4000", "--dump-dom", srv.url + "/"],
            capture_output=True, text=True, timeout=90)
        check(dom.returncode == 0, f"chromium --dump-dom failed: {dom.stderr[-500:]}")
        # The script replaced the server-rendered fps ("30.0") with its own
        # form ("30.x (nominal 30)"): it ran and read /api/streams.
        check("(nominal 30)" in dom.stdout, "the page's script did not fill in the status:\n"
              + dom.stdout[:2000])
        p = subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={srv.dir}/chromium", "--window-size=1000,800",
             "--virtual-time-budget=4000", f"--screenshot={shot}", srv.url + "/?output=mjpeg"],
            capture_output=True, text=True, timeout=90)
        check(p.returncode == 0 and os.path.exists(shot), f"chromium --screenshot failed: {p.stderr[-500:]}")
        img = Image.open(shot).convert("RGB")
        w, h = img.size
        xs = {name: [] for name, _ in BARS}
        for y in range(0, h, 4):
            for x in range(0, w, 4):
                px = img.getpixel((x, y))
                for name, want in BARS:
                    if all(abs(a - b) <= 30 for a, b in zip(px, want)):
                        xs[name].append(x)
        counts = {n: len(v) for n, v in xs.items()}
        print(f"preview pixels per bar colour (every 4th pixel): {counts}")
        for name, v in xs.items():
            check(len(v) > 500, f"the preview shows no {name} bar (counts {counts}); screenshot {shot}")
        centres = [sum(xs[n]) / len(xs[n]) for n, _ in BARS]
        check(centres == sorted(centres), f"bars out of order: {dict(zip(xs, centres))}")

        # With WebRTC in the build, /#webrtc swaps each preview for a WHEP
        # viewer: the page's offer is answered (the pictures themselves are
        # tests/webrtc's business).
        status, _, body = e2e.get(srv.url + "/api/webrtc")
        if status != 200:
            print("no /api/webrtc in this build: the page's WebRTC button not checked")
            return
        before = json.loads(body)["totals"]["sessions"]
        dom = subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={srv.dir}/chromium", "--virtual-time-budget=4000", "--dump-dom",
             srv.url + "/#webrtc"], capture_output=True, text=True, timeout=90)
        check(dom.returncode == 0, f"chromium --dump-dom failed: {dom.stderr[-500:]}")
        after = json.loads(e2e.get(srv.url + "/api/webrtc")[2])["totals"]["sessions"]
        check(after > before, f"/#webrtc made no WHEP session ({before} -> {after}):\n{srv.log_tail()}")
        check("<video" in dom.stdout, "/#webrtc: no <video> in the page")


if __name__ == "__main__":
    e2e.run(main)
