#!/usr/bin/python3
"""A real RTSP server for the URL-source tests: GStreamer's gst-rtsp-server
(Debian's gir1.2-gst-rtsp-server-1.0) serving SMPTE colour bars as H.264 at
rtsp://127.0.0.1:PORT/bars. Debian 12 packages no RTSP server CLI (no
MediaMTX, no test-launch), so this is the smallest real one.

  rtsp_server.py PORT [WxH [FPS [KBIT/S [PROFILE [SRC_PROPS]]]]]
      (default 640x360 at 30 fps, x264enc's 2048 kbit/s, High profile, still
      bars; bench/soak asks for 1000 kbit/s constrained-baseline and
      SRC_PROPS "horizontal-speed=4": bars that scroll, so P-frames carry
      something)"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
# Each element of the pipeline below, with the Debian package that has it.
for element, package in (("videotestsrc", "gstreamer1.0-plugins-base"), ("x264enc", "gstreamer1.0-plugins-ugly"),
                         ("rtph264pay", "gstreamer1.0-plugins-good")):
    if Gst.ElementFactory.find(element) is None:
        sys.exit(f"GStreamer element {element} missing: install {package} (scripts/install-deps)")
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(sys.argv[1])
factory = GstRtspServer.RTSPMediaFactory()
w, h = (int(v) for v in (sys.argv[2] if len(sys.argv) > 2 else "640x360").split("x"))
fps = int(sys.argv[3]) if len(sys.argv) > 3 else 30
kbit = int(sys.argv[4]) if len(sys.argv) > 4 else 2048
profile = sys.argv[5] if len(sys.argv) > 5 else "high"
props = sys.argv[6] if len(sys.argv) > 6 else ""
factory.set_launch(f"( videotestsrc pattern=smpte is-live=true {props} ! video/x-raw,width={w},height={h},framerate={fps}/1 "
                   f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate={kbit} "
                   f"! video/x-h264,profile={profile} ! rtph264pay name=pay0 pt=96 config-interval=1 )")
factory.set_shared(True)
server.get_mount_points().add_factory("/bars", factory)
if server.attach(None) == 0:
    sys.exit(f"cannot listen on 127.0.0.1:{sys.argv[1]}")
print("ready", flush=True)
GLib.MainLoop().run()
