#!/usr/bin/python3
"""URL sources with real senders on loopback (camrelay serve, curl-free: the
HTTP side is Python's urllib through tests/e2e/e2e.py).

  sdp:  ffmpeg sends SMPTE bars as H.264 over RTP and writes an SDP file;
        camrelay's url = that file. The snapshot shows the bars; an rtp sink
        of the same codec gets the sender's access units as they came (High
        profile, camrelay's x264 never opened) and its caps say 640x360; the sender stops ->
        reconnecting with a message naming the URL, placeholders counted ->
        the sender restarts -> running again, more frames captured.
  rtsp: GStreamer's RTSP server (rtsp_server.py) -> url = rtsp://...: the
        bars; the server stops -> "connection refused" naming the URL ->
        restarts -> running.

  codecs: H.265, VP8 and MJPEG over RTP with SDP files, H.264 in MPEG-TS
        over rtp:// without one: each shows the bars.

  test_url.py CAMRELAY [sdp|rtsp|codecs|all]"""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2e  # noqa: E402
from e2e import check  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ports  # noqa: E402  (free ports outside the kernel's ephemeral range)

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 640, 360
# SMPTE bars, top part: seven 75% bars left to right.
BARS = [("white", (1, 1, 1)), ("yellow", (1, 1, 0)), ("cyan", (0, 1, 1)), ("green", (0, 1, 0)),
        ("magenta", (1, 0, 1)), ("red", (1, 0, 0)), ("blue", (0, 0, 1))]

TOML = """
[http]
listen = "{{listen}}"

[webrtc]
port = {{udp_port}}
candidates = ["127.0.0.1"]

[stream.cam]
[[stream.cam.sources]]
url = "{url}"
{extra}
"""


def free_udp_port():
    return ports.free_port(socket.SOCK_DGRAM)


def check_bars(jpeg, what, level=191):
    """level: the bars' RGB level, 191 for ffmpeg's 75% smptebars, 255 for
    GStreamer's videotestsrc pattern=smpte (100% bars)."""
    img = e2e.decode_jpeg(jpeg).convert("RGB")
    check(img.size == (W, H), f"{what}: snapshot is {img.size}, sender sends {W}x{H}")
    y = H // 3
    for i, (name, want) in enumerate(BARS):
        x = (2 * i + 1) * W // 14
        px = img.getpixel((x, y))
        # In the full-range JPEG, whatever range the sender used: 75% bars are
        # RGB 191 / 0 (a full-range picture expanded again would be ~205).
        ok = all(abs(px[c] - level) <= 10 if want[c] else px[c] <= 12 for c in range(3))
        check(ok, f"{what}: bar {i} ({name}) at ({x},{y}) is RGB {px}, expected channels {want}")
    print(f"{what}: snapshot {W}x{H} shows the 7 SMPTE bars")


def snapshot(srv):
    status, _, body = e2e.get(srv.url + "/snapshot/cam")
    check(status == 200, f"/snapshot/cam: HTTP {status}")
    return body


def running_with_frames(srv, n):
    s = srv.stream("cam")
    return s["state"] == "running" and s["counters"]["frames_captured"] >= n and s


class Sender:
    """ffmpeg sending SMPTE bars as H.264 (High profile) over RTP, with an SDP file."""

    def __init__(self, sdp, port):
        self.sdp, self.port, self.proc = sdp, port, None

    def start(self):
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", f"smptebars=size={W}x{H}:rate=30", "-c:v", "libx264", "-profile:v", "high",
             "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p", "-f", "rtp",
             f"rtp://127.0.0.1:{self.port}", "-sdp_file", self.sdp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sdp) and time.monotonic() < deadline:
            time.sleep(0.1)
        check(os.path.exists(self.sdp), "ffmpeg wrote no SDP file")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def receive_h264(sdp_text, out, frames=60):
    """ffmpeg receives camrelay's rtp sink; returns ffprobe's profile of what came."""
    sdp = out + ".sdp"
    with open(sdp, "wb") as f:
        f.write(sdp_text)
    try:
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "fatal", "-y", "-protocol_whitelist",
                        "file,udp,rtp", "-i", sdp, "-frames:v", str(frames), "-c", "copy", "-f", "h264", out],
                       timeout=30, check=False)
    except subprocess.TimeoutExpired:
        pass  # whatever came is judged below
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=profile,width,height,nb_read_frames", "-of", "default=nw=1", out],
                       capture_output=True, text=True, timeout=30)
    return dict(line.split("=", 1) for line in p.stdout.split() if "=" in line)


def rtp_sink_remb(srv, sink_port):
    """The RTP sink reads the receiver's RTCP (issue 17 item 2: a receiver
    such as Janus asks for keyframes and reports REMB): a receiver on the
    sink's port answers the sink's source address with a compound RR + REMB
    (draft-alvestrand-rmcat-remb, 1,500,000 bit/s = mantissa 187500 << 3)
    + PLI; /api/streams must show the REMB, the packets and the PLI."""
    import struct
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", sink_port))
    rx.settimeout(5)
    try:
        data, src = rx.recvfrom(2048)
        media_ssrc = struct.unpack("!I", data[8:12])[0]
        me = 0x1234ABCD
        rr = struct.pack("!BBHI", 0x80, 201, 1, me)
        remb = struct.pack("!BBHII4sBBH", 0x80 | 15, 206, 5, me, 0, b"REMB", 1, (3 << 2) | (187500 >> 16),
                           187500 & 0xFFFF) + struct.pack("!I", media_ssrc)
        pli = struct.pack("!BBHII", 0x80 | 1, 206, 2, me, media_ssrc)
        before = srv.stream("cam")["rtp_sinks"][0]
        rx.sendto(rr + remb + pli, src)
    finally:
        rx.close()
    after = srv.wait_for("the RTP sink read the receiver's RTCP",
                         lambda: (lambda r: r["rtcp_packets"] > before["rtcp_packets"] and r)(
                             srv.stream("cam")["rtp_sinks"][0]), timeout=10)
    print(f"rtp sink after RR+REMB+PLI from {src}: remb_bps {after['remb_bps']}, rtcp_packets "
          f"{before['rtcp_packets']} -> {after['rtcp_packets']}, plis {before['plis']} -> {after['plis']}")
    check(after["remb_bps"] == 1500000, f"the RTP sink shows the receiver's REMB: {after['remb_bps']} (sent 1500000)")
    check(after["plis"] == before["plis"] + 1, f"and counts its PLI: {before['plis']} -> {after['plis']}")


def test_sdp(exe, tmp):
    sdp = os.path.join(tmp, "bars.sdp")
    sender = Sender(sdp, free_udp_port() & ~1)
    sink_port = free_udp_port()
    extra = f'[[stream.cam.sinks]]\ntype = "rtp"\naddress = "127.0.0.1:{sink_port}"\n'
    sender.start()
    try:
        with e2e.Server(exe, toml=TOML.format(url=sdp, extra=extra)) as srv:
            srv.wait_for("frames from the SDP source", lambda: running_with_frames(srv, 30), timeout=30)
            s = srv.stream("cam")
            check(s["source"]["backend"] == "url" and (s["width"], s["height"]) == (W, H),
                  f"source {s['source']} {s['width']}x{s['height']}")
            check_bars(snapshot(srv), "sdp")

            # Pass-through: the rtp sink's H.264 is the sender's (High profile;
            # camrelay's own encoder would have been opened and logged).
            status, _, sdp_text = e2e.get(srv.url + "/sdp/cam")
            check(status == 200, f"/sdp/cam: HTTP {status}")
            info = receive_h264(sdp_text, os.path.join(tmp, "out.h264"))
            print(f"rtp sink: {info}")
            check(info.get("profile") == "High" and int(info.get("nb_read_frames", 0)) >= 30,
                  f"rtp sink output {info}: not the sender's High-profile stream")
            with open(srv.log_path) as f:
                log = f.read()
            check("encoder x264" not in log, "camrelay opened x264 although the source is H.264:\n" + log)
            k = srv.stream("cam")["counters"]
            check(k["packets_encoded"] >= 30, f"packets passed through: {k}")
            # The passed-through access units carry the picture's size: the
            # sink's caps (and a library consumer's) were 0x0 before.
            caps = [c["caps"] for c in srv.stream("cam")["clients"] if c["name"].startswith("rtp")]
            check(caps and caps[0] and (caps[0]["width"], caps[0]["height"]) == (W, H) and caps[0]["format"] == "h264",
                  f"the rtp sink's caps name the sender's size: {caps}")
            rtp_sink_remb(srv, sink_port)

            # Sender gone: reconnecting with placeholders; back: running.
            n0 = srv.stream("cam")["counters"]["frames_captured"]
            sender.stop()
            st = srv.wait_for("reconnecting after the sender stopped",
                              lambda: (lambda s: s["state"] == "reconnecting" and s)(srv.stream("cam")),
                              timeout=20)
            print(f"sender stopped: {st['state']}: {st['message']}")
            check(sdp in st["message"], f"the message does not name the URL: {st['message']}")
            ph0 = st["counters"]["frames_placeholder"]
            srv.wait_for("placeholders while the sender is away",
                         lambda: srv.stream("cam")["counters"]["frames_placeholder"] >= ph0 + 10)
            sender.start()
            srv.wait_for("running again after the sender came back",
                         lambda: running_with_frames(srv, n0 + 30), timeout=30)
            check_bars(snapshot(srv), "sdp after reconnect")
            k = srv.stream("cam")["counters"]
            print(f"after reconnect: {k}")
            check(k["reconnects"] >= 1, f"no reconnect counted: {k}")
    finally:
        sender.stop()


CODECS = [  # name, ffmpeg encoder arguments, ffmpeg muxer, through an SDP file
    ("h265", ["-c:v", "libx265", "-x265-params", "keyint=15:log-level=error", "-tune", "zerolatency"], "rtp", True),
    ("vp8", ["-c:v", "libvpx", "-deadline", "realtime", "-g", "15", "-b:v", "1M"], "rtp", True),
    ("mjpeg", ["-c:v", "mjpeg", "-huffman", "default", "-q:v", "3", "-pix_fmt", "yuvj420p"], "rtp", True),
    ("h264 in MPEG-TS over rtp://, no SDP", ["-c:v", "libx264", "-g", "15", "-tune", "zerolatency"],
     "rtp_mpegts", False),
    # Full range (the VUI says so; decoded as yuvj420p): flagged, not expanded twice.
    ("h264 full range", ["-c:v", "libx264", "-g", "15", "-tune", "zerolatency", "-pix_fmt", "yuvj420p"],
     "rtp", True),
]


def test_codecs(exe, tmp):
    """Each codec the URL source decodes shows the bars (MJPEG: the sender's JPEGs)."""
    for name, args, muxer, with_sdp in CODECS:
        port = free_udp_port() & ~1
        sdp = os.path.join(tmp, f"c{port}.sdp")
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
               "-i", f"smptebars=size={W}x{H}:rate=30"] + args
        if "-pix_fmt" not in args:
            cmd += ["-pix_fmt", "yuv420p"]
        cmd += ["-f", muxer, f"rtp://127.0.0.1:{port}"] + (["-sdp_file", sdp] if with_sdp else [])
        sender = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if with_sdp:
                deadline = time.monotonic() + 10
                while not os.path.exists(sdp) and time.monotonic() < deadline:
                    time.sleep(0.1)
            url = sdp if with_sdp else f"rtp://127.0.0.1:{port}"
            with e2e.Server(exe, toml=TOML.format(url=url, extra="")) as srv:
                srv.wait_for(f"{name}: frames", lambda: running_with_frames(srv, 30), timeout=30)
                s = srv.stream("cam")
                want = "mjpeg" if name == "mjpeg" else "yuv420"
                check(s["format"] == want, f"{name}: source format {s['format']}, expected {want}")
                check_bars(snapshot(srv), name)
        finally:
            sender.terminate()
            sender.wait(10)


def start_rtsp(port):
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "rtsp_server.py"), str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = p.stdout.readline()
    check(line.strip() == "ready", f"rtsp_server.py: {line}")
    return p


def test_rtsp(exe, tmp):
    port = e2e.free_port()
    url = f"rtsp://127.0.0.1:{port}/bars"
    server = start_rtsp(port)
    try:
        with e2e.Server(exe, toml=TOML.format(url=url, extra="")) as srv:
            srv.wait_for("frames from the RTSP source", lambda: running_with_frames(srv, 30), timeout=30)
            check_bars(snapshot(srv), "rtsp", level=255)
            n0 = srv.stream("cam")["counters"]["frames_captured"]
            server.terminate()
            server.wait(10)
            st = srv.wait_for("connection refused after the server stopped",
                              lambda: (lambda s: "connection refused" in s["message"].lower() and s)(
                                  srv.stream("cam")), timeout=30)
            print(f"server stopped: {st['state']}: {st['message']}")
            check(st["state"] == "reconnecting" and url in st["message"], f"state {st['state']}: {st['message']}")
            server = start_rtsp(port)
            srv.wait_for("running again after the server came back",
                         lambda: running_with_frames(srv, n0 + 30), timeout=30)
            check_bars(snapshot(srv), "rtsp after reconnect", level=255)
    finally:
        server.terminate()
        server.wait(10)


def main(exe, which="all"):
    with tempfile.TemporaryDirectory(prefix="camrelay-url-") as tmp:
        if which in ("sdp", "all"):
            test_sdp(exe, tmp)
        if which in ("rtsp", "all"):
            test_rtsp(exe, tmp)
        if which in ("codecs", "all"):
            test_codecs(exe, tmp)
    print("PASS")


if __name__ == "__main__":
    which = sys.argv[2] if len(sys.argv) > 2 else "all"
    del sys.argv[2:]  # e2e.run takes CAMRELAY only
    e2e.run(lambda exe: main(exe, which))
