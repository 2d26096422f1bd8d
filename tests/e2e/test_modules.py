#!/usr/bin/python3
"""Backend modules (src/core/module.h), through the real daemon:

  mjpeg     the default-sized test stream (1280x720 YUYV at 30 fps) with one
            MJPEG client: no camrelay-*.so module and no libavformat,
            libavcodec, libx264, libx265, libvpx, libaom, libgphoto2 or
            libcamera or libasound is mapped (a config that uses none loads
            none); prints RSS and PSS (/proc/PID/smaps_rollup) and the shared
            objects mapped, for the footprint figures of issue 20 (reported,
            not checked: they depend on the build and on what else maps the
            same libraries); /metrics' frame pool counters: the test source's
            YUYV pool made >= 1 frame; no frame converted (the JPEG encoder
            reads YUYV as it is, 16 rows at a time, no I420 copy of the frame)
            while its expansion to full range is counted in bytes copied;
            then the same job on the build without sanitizers
            (CAMRELAY_RATE_CAMRELAY, as scripts/test sets it): its RSS/PSS
            printed beside the figure of issue 20's closing note, and
            neither libstdc++ nor libyuv.so mapped (libyuv is linked from
            its archive; on the sanitizer build UBSan maps libstdc++)
  x265      a stream encoding H.265 with x265 into an RTP sink:
            camrelay-x265.so is mapped and RTP packets of payload type 96 arrive
  aom       the same with libaom encoding AV1: camrelay-aom.so and libaom are
            mapped (not camrelay-x265.so) and RTP packets of payload type 96
            arrive
  alsa      a stream capturing audio from ALSA's "null" PCM:
            camrelay-alsa.so and libasound are mapped (the audio's start
            loads the module)
  avformat  a stream from a URL (an RTSP address nobody answers): serving,
            with camrelay-avformat.so and libavformat mapped (the stream's
            start loads the module)
  missing   each of those configs with CAMRELAY_MODULE_DIR naming an empty
            directory (x265, aom, avformat, alsa and drm when built; the drm sink
            itself is tested in the VM, drm-vm): serve exits 1 with one message naming the module file,
            the directory and the package to install
  reload    a running camrelay (modules directory empty) reloaded (SIGHUP)
            into the x265 config (and one adding a drm sink): refused with the
            same message, the running stream goes on; into a config that adds a URL stream: that stream
            fails to start with the avformat message, the other is unchanged

Skipped (77) when the build has no x265, no aom or no URL source (camrelay --version)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import e2e
from e2e import check

X265_TOML = """
[http]
listen = "{{listen}}"

[webrtc]
port = {{udp_port}}
candidates = ["127.0.0.1"]

[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "test"
width = 320
height = 240
fps = 10
[stream.cam.sources.encoder]
backend = "x265"
codec = "h265"

[[stream.cam.sinks]]
type = "rtp"
address = "127.0.0.1:{rtp_port}"
"""


URL_TOML = """
[http]
listen = "{listen}"

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]

[stream.cam]
[[stream.cam.sources]]
url = "rtsp://127.0.0.1:9/nobody"
"""

# The x265 stream without its encoder, into a drm sink (a screen).
DRM_TOML = (X265_TOML.split("[stream.cam.sources.encoder]")[0].replace("{{", "{").replace("}}", "}")
            + '[[stream.cam.sinks]]\ntype = "drm"\n')
# ALSA capture from alsa-lib's "null" PCM (in its default configuration:
# takes the parameters, gives silence) beside the test picture.
ALSA_TOML = (X265_TOML.split("[stream.cam.sources.encoder]")[0].replace("{{", "{").replace("}}", "}")
             + '[stream.cam.audio]\nbackend = "alsa"\ndevice = "null"\n')


def mapped(pid):
    with open(f"/proc/{pid}/maps") as f:
        return sorted({line.split()[-1] for line in f if ".so" in line.split()[-1]})


def smaps_rollup_kb(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


# Issue 20's closing note (session 13): `camrelay serve` with the default test
# stream and one MJPEG client, the release build on the host
# (bench/ustreamer.py --host-test --clients 1 --seconds 8, libyuv from its
# archive, ALSA a module): what the run below is put beside.
NOTE_RSS_MB, NOTE_PSS_MB = 8.0, 6.4


@contextlib.contextmanager
def mjpeg_job(exe):
    """`camrelay serve` (exe) with the default test stream and one MJPEG
    client reading it, once 30 frames arrived: the footprint job."""
    with e2e.Server(exe) as srv:
        stop = threading.Event()
        parts = []
        reader = threading.Thread(target=e2e.mjpeg_arrivals, args=(srv.port, "/mjpeg/test", parts, stop))
        reader.start()
        try:
            srv.wait_for("30 MJPEG frames", lambda: len(parts) >= 30, timeout=30)
            yield srv
        finally:
            stop.set()
            reader.join()


def measure_plain():
    """RSS/PSS of the build without sanitizers (CAMRELAY_RATE_CAMRELAY, set by
    scripts/test) on the same job, printed beside the closing note's figure:
    the ASan build's own figure is several times larger and says nothing."""
    plain = os.environ.get("CAMRELAY_RATE_CAMRELAY")
    if not plain or not os.access(plain, os.X_OK):
        print("footprint: no build without sanitizers given (CAMRELAY_RATE_CAMRELAY); not measured")
        return
    with mjpeg_job(plain) as srv:
        time.sleep(2)
        m = smaps_rollup_kb(srv.pid)
        libs = mapped(srv.pid)
    rss, pss = m["Rss"] / 1024, m["Pss"] / 1024
    # Not on the sanitizer build: UBSan's runtime needs libstdc++ itself.
    cxx = [p for p in libs if os.path.basename(p).startswith(("libstdc++", "libyuv"))]
    check(not cxx, f"the build without sanitizers maps no libstdc++ and no libyuv.so (libyuv linked from its "
          f"archive) on the MJPEG job; mapped: {cxx}")
    print(f"footprint ({plain}): default test stream, 1 MJPEG client: RSS {rss:.1f} MB, PSS {pss:.1f} MB "
          f"(anonymous {m['Anonymous'] / 1024:.1f} MB), {len(libs)} shared objects; issue 20's closing note "
          f"(release build): RSS {NOTE_RSS_MB} MB, PSS {NOTE_PSS_MB} MB: {rss - NOTE_RSS_MB:+.1f} / "
          f"{pss - NOTE_PSS_MB:+.1f} MB")


def check_mjpeg(exe):
    with mjpeg_job(exe) as srv:
        libs = mapped(srv.pid)
        m = smaps_rollup_kb(srv.pid)
        made = srv.metric("camrelay_pool_frames_made_total")
        k = srv.stream()["counters"]
        # Both gauges from one /metrics answer (two answers apart, a frame
        # taken or given back between them made them disagree: fresh-root,
        # session 12); the pool moves them one after the other, so a
        # snapshot between the two updates is taken again (20 at most).
        for _ in range(20):
            m_all = srv.metrics()
            idle = m_all.get(("camrelay_pool_frames_idle", ()), -1)
            idle_bytes = m_all.get(("camrelay_pool_bytes_idle", ()), -1)
            if (idle > 0) == (idle_bytes > 0):
                break
            time.sleep(0.05)
    heavy = [p for p in libs if os.path.basename(p).startswith(("camrelay-", "libavformat", "libavcodec", "libx264",
                                                                       "libx265", "libvpx", "libaom", "libgphoto2",
                                                                       "libexif", "libcamera", "libasound"))]
    check(not heavy, f"an MJPEG-only config maps no backend module, libav*, libx264, libx265, libvpx, libaom, "
          f"libgphoto2, libcamera or libasound; mapped: {heavy}")
    # The test source's YUYV pool has made frames (the bars are drawn on
    # themselves, no I420 frame); idle ones have bytes. The JPEG encoder takes
    # YUYV: no converted frame (an I420 copy of 1.3 MB), its strips counted in
    # bytes copied.
    check(made >= 1 and (idle > 0) == (idle_bytes > 0),
          f"/metrics pool counters: {made:.0f} frames made (>= 1), {idle:.0f} idle, {idle_bytes:.0f} bytes idle")
    check(k["frames_converted"] == 0 and k["bytes_copied_per_frame"] > 0,
          f"YUYV to the JPEG encoder as it is: {k['frames_converted']} frames converted (want 0), "
          f"{k['bytes_copied_per_frame']} bytes copied per frame (the expansion, want > 0)")
    print(f"mjpeg: 1280x720 YUYV 30 fps test stream, 1 MJPEG client: RSS {m['Rss'] / 1024:.1f} MB, "
          f"PSS {m['Pss'] / 1024:.1f} MB (anonymous {m['Anonymous'] / 1024:.1f} MB), "
          f"{len(libs)} shared objects mapped; frame pools made {made:.0f} frames, "
          f"{idle:.0f} idle ({idle_bytes / 1048576:.1f} MB)")


def encoder_toml(module, rtp_port):
    """X265_TOML for the encoder of module (x265: H.265, aom: AV1)."""
    codec = {"x265": "h265", "aom": "av1"}[module]
    return X265_TOML.format(rtp_port=rtp_port).replace('backend = "x265"\ncodec = "h265"',
                                                        f'backend = "{module}"\ncodec = "{codec}"')


def check_encoder(exe, module, lib):
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    rtp.settimeout(10)
    with e2e.Server(exe, encoder_toml(module, rtp.getsockname()[1])) as srv:
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 5 and time.monotonic() < deadline:
            try:
                got.append(rtp.recv(2048))
            except socket.timeout:
                break
        libs = mapped(srv.pid)
    rtp.close()
    names = [os.path.basename(p) for p in libs]
    others = [n for n in names if n.startswith("camrelay-") and n != f"camrelay-{module}.so"]
    check(f"camrelay-{module}.so" in names and any(n.startswith(lib) for n in names) and not others,
          f"a config encoding with {module} maps camrelay-{module}.so and {lib} (no other module: {others})")
    check(len(got) >= 5 and all(len(p) > 12 and p[1] & 0x7f == 96 for p in got),
          f"RTP packets of payload type 96 from the {module} stream (got {len(got)})")
    print(f"{module}: module mapped, {len(got)} RTP packets received")


def check_avformat(exe):
    with e2e.Server(exe, URL_TOML) as srv:
        libs = [os.path.basename(p) for p in mapped(srv.pid)]
    check("camrelay-avformat.so" in libs and any(p.startswith("libavformat") for p in libs),
          f"a URL source maps camrelay-avformat.so and libavformat ({len(libs)} shared objects)")
    print(f"avformat: module mapped, {len(libs)} shared objects")


def check_alsa(exe):
    with e2e.Server(exe, ALSA_TOML) as srv:
        srv.wait_for("the audio capture running",
                     lambda: "audio: capturing from null" in srv.log_tail(200), timeout=20)
        libs = [os.path.basename(p) for p in mapped(srv.pid)]
    check("camrelay-alsa.so" in libs and any(p.startswith("libasound") for p in libs),
          f"an ALSA audio config maps camrelay-alsa.so and libasound ({len(libs)} shared objects)")
    print(f"alsa: module mapped, capturing from null, {len(libs)} shared objects")


def check_missing(exe, module, toml):
    empty = tempfile.mkdtemp(prefix="camrelay-nomodules-")
    srv = e2e.Server(exe, toml)
    env = dict(os.environ, CAMRELAY_MODULE_DIR=empty)
    r = subprocess.run([exe, "serve", "-c", srv.config], env=env, capture_output=True, text=True, timeout=30)
    err = r.stderr.strip()
    check(r.returncode == 1, f"serve exits 1 without the {module} module (exit {r.returncode}): {err[-500:]}")
    want = [f"no camrelay-{module}.so in {empty}", f"install the package camrelay-{module}"]
    check(all(w in err for w in want) and len(err.splitlines()) == 1,
          f"one message naming the module, the directory and the package: {err!r}")
    print(f"missing {module}: {err.split('error ', 1)[-1]}")


def check_reload(exe, with_drm):
    empty = tempfile.mkdtemp(prefix="camrelay-nomodules-")
    saved = os.environ.get("CAMRELAY_MODULE_DIR")
    os.environ["CAMRELAY_MODULE_DIR"] = empty
    try:
        srv = e2e.Server(exe)
        srv.start()
    finally:
        if saved is None:
            del os.environ["CAMRELAY_MODULE_DIR"]
        else:
            os.environ["CAMRELAY_MODULE_DIR"] = saved
    try:
        with open(srv.config) as f:
            base = f.read()
        steps = (("x265", base.replace('pixel_format = "yuyv"\n', 'pixel_format = "yuyv"\n'
                                       '[stream.test.sources.encoder]\nbackend = "x265"\ncodec = "h265"\n'),
                  "the running configuration stays"),
                 ("avformat", base + '\n[stream.url]\n[[stream.url.sources]]\nurl = "rtsp://127.0.0.1:9/nobody"\n',
                  "url failed to start"))
        if with_drm:
            steps += (("drm", base + '\n[[stream.test.sinks]]\ntype = "drm"\n', "the running configuration stays"),)
        for module, toml, outcome in steps:
            with open(srv.config, "w") as f:
                f.write(toml)
            mark = os.path.getsize(srv.log_path)
            srv.proc.send_signal(signal.SIGHUP)

            def said():
                with open(srv.log_path) as f:
                    f.seek(mark)
                    return f.read()
            srv.wait_for(f"the reload into the {module} config is logged", lambda: outcome in said(), timeout=20)
            log = said()
            check(f"no camrelay-{module}.so in {empty} (install the package camrelay-{module})" in log
                  and outcome in log, f"reload into a config needing {module}: {log.strip()!r}")
            with urllib.request.urlopen(srv.url + "/snapshot/test", timeout=10) as r:
                check(srv.proc.poll() is None and r.status == 200 and r.read(2) == b"\xff\xd8",
                      f"after the refused {module} reload the running stream still serves a JPEG snapshot")
    finally:
        srv.stop()
    print("reload: refused with the module's message, the running stream kept serving")


def main(exe):
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    if " x265(" not in version or " aom(" not in version or " url(" not in version:
        print("SKIP: this build has no x265, no aom or no URL source")
        sys.exit(77)
    check_mjpeg(exe)
    measure_plain()
    check_encoder(exe, "x265", "libx265")
    check_encoder(exe, "aom", "libaom")
    check_avformat(exe)
    if " alsa(" in version:
        check_alsa(exe)
    check_missing(exe, "x265", encoder_toml("x265", e2e.free_udp_port()))
    check_missing(exe, "aom", encoder_toml("aom", e2e.free_udp_port()))
    check_missing(exe, "avformat", URL_TOML)
    if " alsa(" in version:
        check_missing(exe, "alsa", ALSA_TOML)
    if " drm(" in version:
        check_missing(exe, "drm", DRM_TOML)
    check_reload(exe, " drm(" in version)


if __name__ == "__main__":
    e2e.run(main)
