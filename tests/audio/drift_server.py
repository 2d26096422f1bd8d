#!/usr/bin/python3
"""An RTSP camera whose clock is not the system's, for the drift test
(issue 19, item 3): GStreamer's gst-rtsp-server (as tests/url/rtsp_server.py)
with one mount per clock rate. Each mount's pipeline runs on a GstSystemClock
of its own whose rate is calibrated against CLOCK_MONOTONIC
(gst_clock_set_calibration): at 1.01 the live audiotestsrc makes 48480
samples per real second and stamps them as 48 kHz, as a camera whose sound
clock runs 1 % fast sends them. Video (H.264, 160x120, 15 fps) rides on the
same clock (a pipeline per client); audio is white noise (each packet unique) in Opus (pay1,
20 ms), PCMU or PCMA (8 kHz, 20 ms) or AAC (RFC 3640 AAC-hbr, 48 kHz, 1024 samples).

    drift_server.py PORT NAME:RATE:CODEC...   e.g. fast:1.01:opus slow:0.99:pcmu

prints "ready", then for each audio packet sent "send NAME MD5 T" (MD5 of its payload, T:
time.monotonic() when the payloader hands it to the network), so a test can
match the packets a relay passes through and see how long they took."""
import hashlib
import os
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, GObject, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
OUT = threading.Lock()  # the probes run on each pipeline's streaming thread
AUDIO = {"opus": "audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 bitrate=64000 ! rtpopuspay name=pay1 pt=97",
         "pcmu": "audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0",
         "pcma": "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8",
         "aac": "audio/x-raw,rate=48000,channels=1 ! avenc_aac ! rtpmp4gpay name=pay1 pt=97"}
PER_BUFFER = {"opus": 960, "aac": 1024}  # samples; G.711: 160 (20 ms)


def clock_at(rate):
    """A system clock (CLOCK_MONOTONIC) whose time runs at rate against it."""
    c = GObject.new(Gst.SystemClock)
    c.set_property("clock-type", Gst.ClockType.MONOTONIC)
    now = c.get_internal_time()
    c.set_calibration(now, now, int(round(rate * 100000)), 100000)
    return c


def probe(name):
    def on_buffer(pad, info):
        buf = info.get_buffer()
        ok, m = buf.map(Gst.MapFlags.READ)
        if ok:
            data = bytes(m.data)
            buf.unmap(m)
            cc = data[0] & 0x0f
            off = 12 + 4 * cc
            if data[0] & 0x10:  # a header extension
                off += 4 + 4 * int.from_bytes(data[off + 2:off + 4], "big")
            line = "send %s %s %.6f\n" % (name, hashlib.md5(data[off:]).hexdigest(), time.monotonic())
            with OUT:
                os.write(1, line.encode())
        return Gst.PadProbeReturn.OK
    return on_buffer


def main():
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1])
    for spec in sys.argv[2:]:
        name, rate, codec = spec.split(":")
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch("( videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=15/1 "
                     "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! video/x-h264,profile=high "
                     "! rtph264pay name=pay0 pt=96 config-interval=1 "
                     "audiotestsrc is-live=true wave=white-noise volume=0.1 samplesperbuffer=%d ! %s )" % (
                         PER_BUFFER.get(codec, 160), AUDIO[codec]))
        f.set_shared(False)  # a pipeline per client (camrelay's video and audio connections)
        f.set_clock(clock_at(float(rate)))
        f.connect("media-configure", lambda _f, media, n=name: media.get_element().get_by_name("pay1")
                  .get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe(n)))
        server.get_mount_points().add_factory("/" + name, f)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{sys.argv[1]}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
