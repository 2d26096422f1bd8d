#!/usr/bin/python3
"""GStreamer's gst-rtsp-server (Debian gir1.2-gst-rtsp-server-1.0) in record
mode, for the RTSP push sink test: takes ANNOUNCE/SETUP mode=record/RECORD at
rtsp://127.0.0.1:PORT/live, decodes what arrives and writes each frame as
raw RGB to OUTDIR/fNNNNNN.rgb (keeping the last few). Debian 12 packages
no MediaMTX; this is the smallest real RTSP server that records. With
--auth, gst-rtsp-server's own RTSPAuth asks for credentials (Basic or
Digest, one account) before it lets anyone record; "client" is printed for
each connection it accepts, for the tests to count attempts.

  record_server.py PORT OUTDIR [--auth basic|digest USER PASSWORD]"""
import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)
for element, package in (("decodebin", "gstreamer1.0-plugins-base"), ("multifilesink", "gstreamer1.0-plugins-good"),
                         ("rtph264depay", "gstreamer1.0-plugins-good"), ("avdec_h264", "gstreamer1.0-libav")):
    if Gst.ElementFactory.find(element) is None:
        sys.exit(f"GStreamer element {element} missing: install {package} (scripts/install-deps)")
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(sys.argv[1])
factory = GstRtspServer.RTSPMediaFactory()
factory.set_transport_mode(GstRtspServer.RTSPTransportMode.RECORD)
factory.set_launch("( decodebin name=depay0 ! videoconvert ! video/x-raw,format=RGB ! multifilesink max-files=5 "
                   "location=%s )" % os.path.join(sys.argv[2], "f%06d.rgb"))
if len(sys.argv) == 7 and sys.argv[3] == "--auth":
    method, user, password = sys.argv[4:7]
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken.new()
    token.set_string("media.factory.role", "recorder")
    if method == "digest":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.add_digest(user, password, token)
    else:
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    factory.add_role_from_structure(Gst.Structure.new_from_string(
        "recorder, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
elif len(sys.argv) != 3:
    sys.exit(__doc__)
server.connect("client-connected", lambda *a: print("client", flush=True))
server.get_mount_points().add_factory("/live", factory)
if server.attach(None) == 0:
    sys.exit(f"cannot listen on 127.0.0.1:{sys.argv[1]}")
print("ready", flush=True)
GLib.MainLoop().run()
