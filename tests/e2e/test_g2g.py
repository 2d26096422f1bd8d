#!/usr/bin/python3
"""The glass-to-glass meter in a real browser. Headless Chromium (over the
DevTools protocol) opens /play/test over WebRTC and over MJPEG; each time:

- the page shows a glass-to-glass figure within 5 s;
- it agrees within 30 ms with an independent reading: screenshots taken at
  known server times (same machine, same clock), the picture cut out of
  them and its timecode read by the project's C decoder (test_timecode
  read); reading = the screenshot request's middle - code time (no
  correction for where in its display time a frame is caught: measured
  runs put the page's p50 15-35 ms above the readings with a half-frame
  correction, 0-20 ms without);
- /metrics shows the viewer's figure, /api/streams and (WebRTC) /api/webrtc
  carry it;
- hostile reports: an oversized body 400, bad fields 400, a flood 429
  after 8 a second, without view rights 401.

    test_g2g.py CAMRELAY    (test_timecode beside it: BUILD/tests/unit/)"""
import base64
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "webrtc"))
import chromium_whep  # noqa: E402  (Cdp, start_chromium)
import e2e  # noqa: E402
from e2e import check  # noqa: E402

FPS = 30
TOML = e2e.TEST_STREAM_TOML.replace("width = 1280", "width = 640").replace("height = 720", "height = 360")


def reading_from_screenshot(cdp, reader):
    """One independent reading (ms) or None, and how long the screenshot
    took: screenshot time - code time. Only the block's corner of the
    picture is captured (a small PNG is quick, so its time is sharp), then
    put back at its place in a blank picture of the displayed size."""
    r = cdp.evaluate("""(() => { const e = document.querySelector('.pic'), r = e.getBoundingClientRect();
      return {x: r.x, y: r.y, w: r.width, h: r.height, vw: e.videoWidth || e.naturalWidth,
              vh: e.videoHeight || e.naturalHeight}; })()""")
    s = min(r["w"] / r["vw"], r["h"] / r["vh"])  # object-fit: contain centres the picture
    pw, ph = r["vw"] * s, r["vh"] * s
    x0, y0 = r["x"] + (r["w"] - pw) / 2, r["y"] + (r["h"] - ph) / 2
    clip = {"x": x0, "y": y0, "width": pw * 19 / 80, "height": ph * 10 / 45, "scale": 1}
    t0 = time.time() * 1000
    shot = cdp.call("Page.captureScreenshot", format="png", clip=clip)
    t1 = time.time() * 1000
    corner = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("L")
    pic = Image.new("L", (round(pw), round(ph)), 128)
    pic.paste(corner, (0, 0))
    out = subprocess.run([reader, "read", str(pic.width), str(pic.height)], input=pic.tobytes(),
                         capture_output=True, timeout=10)
    j = json.loads(out.stdout or b"{}")
    if "ms" not in j:
        return None, t1 - t0
    return (t0 + t1) / 2 - j["ms"], t1 - t0


def meter_case(srv, cdp, reader, output):
    cdp.call("Page.navigate", url=f"{srv.url}/play/test?output={output}")
    t_open = time.monotonic()
    p50 = None
    while time.monotonic() - t_open < 5 and not p50:
        time.sleep(0.2)
        p50 = cdp.evaluate("document.querySelector('.g2g') && document.querySelector('.g2g').dataset.p50")
    waited = time.monotonic() - t_open
    out = cdp.evaluate("cards[0].output")
    check(out == output, f"{output}: the page plays over {out}")
    check(p50, f"{output}: no glass-to-glass figure within 5 s of opening the page")
    print(f"{output}: first figure {p50} ms after {waited:.1f} s")
    # Independent readings beside the page's own p50 over the same seconds.
    # A loaded machine (CI shares its cores) can stall Chromium's compositor
    # so that screenshots show a picture up to a second old while the page's
    # own frame callbacks stay right (run9: page 85 ms, screenshots
    # 70..1199 ms, median 262): such a round is taken again, at most three
    # rounds, and the case passes when one round agrees.
    agreed = None
    for rnd in range(3):
        readings, unreadable = [], 0
        tooks = []
        # Under load a screenshot can take a second: try until 8 quick ones or 60 tries.
        for _ in range(60):
            if len(readings) >= 8:
                break
            r, took = reading_from_screenshot(cdp, reader)
            tooks.append(round(took))
            if r is None:
                unreadable += 1
            elif took < 60:  # a slow screenshot's time is too vague
                readings.append(r)
            time.sleep(0.1)
        print(f"{output}: round {rnd + 1}: screenshots took {tooks} ms")
        page = cdp.evaluate("cards[0].meter.stats()")
        check(len(readings) >= 4, f"{output}: only {len(readings)} screenshots read ({unreadable} unreadable)")
        readings.sort()
        ind = readings[len(readings) // 2]
        print(f"{output}: round {rnd + 1}: page p50 {page['p50']:.1f} ms, p95 {page['p95']:.1f} (n {page['n']}); "
              f"screenshots {[round(r) for r in readings]} median {ind:.1f} ms ({unreadable} unreadable)")
        if abs(page["p50"] - ind) <= 30:
            agreed = rnd + 1
            break
    check(agreed, f"{output}: page p50 {page['p50']:.1f} ms vs screenshots {ind:.1f} ms in 3 rounds")
    viewer = cdp.evaluate("cards[0].viewer")
    time.sleep(1.5)  # the page reports once a second
    _, _, body = e2e.get(srv.url + "/metrics")
    m = re.search(r'camrelay_g2g_ms\{stream="test",viewer="%s",output="%s",quantile="0.5"\} ([0-9.]+)'
                  % (re.escape(viewer), output), body.decode())
    check(m, f"{output}: /metrics has no figure of viewer {viewer}")
    print(f"{output}: /metrics {m.group(0)}")
    api = json.loads(e2e.get(srv.url + "/api/streams/test")[2])
    check(any(g["viewer"] == viewer and g["p50_ms"] for g in api["g2g"]), f"/api/streams g2g: {api['g2g']}")
    if output == "webrtc":
        w = json.loads(e2e.get(srv.url + "/api/webrtc")[2])
        mine = [v for v in w["viewers"] if v["id"] == viewer]
        check(mine and mine[0]["g2g"] and mine[0]["g2g"]["p50_ms"], f"/api/webrtc: {mine}")
    return page["p50"]


def hostile(srv):
    url = srv.url + "/api/streams/test/g2g"
    good = json.dumps({"viewer": "t1", "output": "mjpeg", "cur": 50, "p50": 50, "p95": 60, "frames": 3,
                       "unreadable": 0}).encode()
    time.sleep(1.1)
    for body, what in [(b"x" * 5000, "oversized"), (b"{", "broken JSON"),
                       (good.replace(b'"t1"', b'"a b"'), "bad viewer id"),
                       (good.replace(b"50,", b"1e9,", 1), "absurd figure"),
                       (good.replace(b'"mjpeg"', b'"ftp"'), "bad output")]:
        st, _, _ = e2e.get(url, method="POST", data=body)
        check(st == 400, f"{what} report -> {st}, want 400")
    time.sleep(1.1)
    codes = [e2e.get(url, method="POST", data=good)[0] for _ in range(12)]
    check(codes[:8] == [204] * 8 and 429 in codes[8:], f"a flood of reports: {codes}")
    st, _, _ = e2e.get(url, method="GET")
    check(st == 405, f"GET {url} -> {st}")


# The colour bars as a browser shows them (test_browser.py), yellow..blue.
BARS = [("yellow", (191, 191, 0)), ("cyan", (0, 191, 191)), ("green", (0, 191, 0)),
        ("magenta", (191, 0, 191)), ("red", (191, 0, 0)), ("blue", (0, 0, 191))]
TWO = TOML + """
[stream.second]
[[stream.second.sources]]
[stream.second.sources.capture]
backend = "test"
width = 320
height = 180
fps = 30
"""


def screenshots(srv, cdp, outdir):
    """The main page at 1280x800 and 390x844 (a phone): every stream's
    picture shows the bars (pixel check inside each picture's box) and each
    card shows its figures (fps and a glass-to-glass p50)."""
    for w, h, mobile in [(1280, 800, False), (390, 844, True)]:
        cdp.call("Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1, mobile=mobile)
        cdp.call("Page.navigate", url=srv.url + "/")
        deadline = time.monotonic() + 15
        figs = None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            figs = cdp.evaluate("""cards.map(c => ({name: c.name, p50: c.el.querySelector('.g2g').dataset.p50 || '',
                fps: c.el.querySelector('.fps').textContent, n: c.hist.fps.length, r: (() => { const b = c.el.querySelector('.pic')
                .getBoundingClientRect(); return [b.x, b.y + scrollY, b.width, b.height]; })()}))""")
            if figs and all(f["p50"] and "nominal" in f["fps"] and f["n"] >= 2 for f in figs):
                break
        check(len(figs) == 2, f"{w}x{h}: {len(figs)} stream cards, want 2")
        for f in figs:
            check(f["p50"] and "nominal" in f["fps"], f"{w}x{h}: {f['name']} shows no figures: {f}")
        shot = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path = os.path.join(outdir, f"page-{w}x{h}.png")
        with open(path, "wb") as fp:
            fp.write(base64.b64decode(shot["data"]))
        img = Image.open(path).convert("RGB")
        for f in figs:
            x, y, bw, bh = f["r"]
            found = {n: 0 for n, _ in BARS}
            for yy in range(int(y + bh * 0.3), int(y + bh * 0.6), 3):
                for xx in range(int(x), int(x + bw), 3):
                    if xx < img.width and yy < img.height:
                        px = img.getpixel((xx, yy))
                        for n, want in BARS:
                            found[n] += all(abs(a - b) <= 40 for a, b in zip(px, want))
            check(all(v > 5 for v in found.values()), f"{w}x{h}: {f['name']}'s picture lacks bars {found} ({path})")
            print(f"{w}x{h}: {f['name']} p50 {f['p50']} ms, fps {f['fps']}, bar pixels {found}")


FILE_TOML = """
[http]
listen = "{listen}"

[stream.cam]
timecode = true
[[stream.cam.sources]]
file = "%s"
"""


def timecode_option(exe, reader, tmp):
    """[stream.<name>] timecode = true on a source that is not the test
    source (a video file through libavformat, ffmpeg's testsrc2 without any
    code): the snapshot carries a readable block with the capture time, and
    the copy it takes is counted in bytes_copied."""
    clip = os.path.join(tmp, "clip.mkv")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=4",
                    "-c:v", "libx264", "-g", "30", "-pix_fmt", "yuv420p", clip], check=True, timeout=60)
    toml = FILE_TOML % clip
    with e2e.Server(exe, toml=toml.replace("{listen}", "{listen}")) as srv:
        time.sleep(1.5)
        st, _, body = e2e.get(srv.url + "/snapshot/cam")
        t_after = time.time() * 1000
        check(st == 200, f"/snapshot/cam -> {st}")
        img = Image.open(io.BytesIO(body)).convert("L")
        out = subprocess.run([reader, "read", str(img.width), str(img.height)], input=img.tobytes(),
                             capture_output=True, timeout=10)
        j = json.loads(out.stdout or b"{}")
        check("ms" in j, f"timecode = true: no readable block in the file source's snapshot: {j}")
        age = t_after - j["ms"]
        print(f"timecode = true on a file source: code {j}, {age:.0f} ms before the snapshot arrived")
        check(-5 <= age < 2000, f"the code's time is not a capture time: {age} ms old")
        c = json.loads(e2e.get(srv.url + "/api/streams/cam")[2])["counters"]
        check(c["bytes_copied_per_frame"] >= 640 * 360 * 3 // 2,
              f"the timecode copy is not counted: bytes_copied_per_frame {c['bytes_copied_per_frame']}")


def main(exe):
    reader = os.path.join(os.path.dirname(os.path.abspath(exe)), "tests", "unit", "test_timecode")
    with tempfile.TemporaryDirectory() as tmp:
        timecode_option(exe, reader, tmp)
    with e2e.Server(exe, toml=TOML) as srv:
        hostile(srv)
        profile = tempfile.mkdtemp(prefix="camrelay-g2g-")
        proc, ws = chromium_whep.start_chromium(e2e.free_port(), profile)
        try:
            cdp = chromium_whep.Cdp(ws)
            cdp.call("Emulation.setDeviceMetricsOverride", width=1000, height=800, deviceScaleFactor=1,
                     mobile=False)
            for output in ["webrtc", "mjpeg"]:
                meter_case(srv, cdp, reader, output)
        finally:
            chromium_whep.stop_chromium(proc, profile)
    with e2e.Server(exe, toml=TWO) as srv:
        profile = tempfile.mkdtemp(prefix="camrelay-g2g-")
        proc, ws = chromium_whep.start_chromium(e2e.free_port(), profile)
        try:
            screenshots(srv, chromium_whep.Cdp(ws), os.environ.get("G2G_SHOTS", srv.dir))
        finally:
            chromium_whep.stop_chromium(proc, profile)


if __name__ == "__main__":
    e2e.run(main)
