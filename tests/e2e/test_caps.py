#!/usr/bin/python3
"""Caps through the daemon's own consumers: a file source whose picture
goes from 320x240 to 640x480 mid-way (a camera coming back at another size)
feeds an RTP sink and an MJPEG viewer. The core tells each subscriber its
new caps (generation 2, 640x480: /api/streams shows what every subscriber
was told), the RTP sink takes them from the core (its caps in rtp_sinks,
its SDP waits for the new parameter sets), and an independent RTP receiver
(ffprobe) given /sdp/<stream> after the change sees 640x480. Caps also carry
the source's frame rate (15/1, the clip's) and the H.264 profile and level of
the encoder's SPS, which must be what ffprobe reads from the RTP stream."""

import base64
import json
import os
import socket
import subprocess
import tempfile

import e2e
from e2e import check

TOML = """
[http]
listen = "{{listen}}"

[webrtc]
port = {{udp_port}}
candidates = ["127.0.0.1"]

[stream.cam]
[[stream.cam.sources]]
file = "{clip}"
loop = false
[stream.cam.sources.encoder]
backend = "x264"
codec = "h264"
gop = 15

[[stream.cam.sinks]]
type = "rtp"
address = "127.0.0.1:{rtp_port}"
"""


def make_clip(tmp):
    """2 s at 320x240, then 30 s at 640x480 (MPEG-2 in MPEG-TS, 15 fps)."""
    clip = os.path.join(tmp, "sizes.ts")
    with open(clip, "wb") as out:
        for i, (size, secs) in enumerate((("320x240", 2), ("640x480", 30))):
            part = os.path.join(tmp, f"part{i}.ts")
            r = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                                f"testsrc=size={size}:rate=15:duration={secs}", "-c:v", "mpeg2video",
                                "-q:v", "8", "-output_ts_offset", str(2 * i), "-y", part],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"ffmpeg makes the {size} part: {r.stderr[-300:]}")
            out.write(open(part, "rb").read())
    return clip


class Bits:
    """Exp-Golomb reader for an H.264 SPS (hand-written: a dozen lines)."""

    def __init__(self, data):
        self.bits = "".join(f"{b:08b}" for b in data.replace(b"\0\0\3", b"\0\0"))
        self.pos = 0

    def u(self, n):
        v = int(self.bits[self.pos:self.pos + n], 2)
        self.pos += n
        return v

    def ue(self):
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + (self.u(zeros) if zeros else 0)


def sps_size(sdp):
    """The picture size the SDP's sprop-parameter-sets (their SPS) describe."""
    line = next((l for l in sdp.splitlines() if "sprop-parameter-sets=" in l), None)
    check(line is not None, f"the SDP has no sprop-parameter-sets:\n{sdp}")
    sps = base64.b64decode(line.split("sprop-parameter-sets=")[1].split(";")[0].split(",")[0])
    b = Bits(sps[1:])
    profile = b.u(8)
    b.u(16)  # constraint flags, level
    b.ue()  # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        if b.ue() == 3:  # chroma_format_idc
            b.u(1)
        b.ue(), b.ue()  # bit depths
        b.u(1)
        check(b.u(1) == 0, "SPS with scaling matrices: not read here")
    b.ue()  # log2_max_frame_num
    poc = b.ue()
    if poc == 0:
        b.ue()
    elif poc == 1:
        b.u(1), b.ue(), b.ue()
        for _ in range(b.ue()):
            b.ue()
    b.ue(), b.u(1)  # max_num_ref_frames, gaps
    w, h = (b.ue() + 1) * 16, (b.ue() + 1) * 16
    frame_mbs_only = b.u(1)
    h *= 2 - frame_mbs_only
    if not frame_mbs_only:
        b.u(1)
    b.u(1)
    if b.u(1):  # cropping (4:2:0: 2 pixels a unit)
        l, r, t, bo = b.ue(), b.ue(), b.ue(), b.ue()
        w -= 2 * (l + r)
        h -= 2 * (2 - frame_mbs_only) * (t + bo)
    return f"{w},{h}"


# ffprobe's H.264 profile names -> profile_idc
H264_PROFILES = {"Baseline": 66, "Constrained Baseline": 66, "Main": 77, "High": 100}


def main(exe):
    tmp = tempfile.mkdtemp(prefix="camrelay-caps-")
    clip = make_clip(tmp)
    rtp_port = e2e.ports.free_ports(2, align=2)  # RTP and RTCP, for ffprobe
    with e2e.Server(exe, toml=TOML.format(clip=clip, rtp_port=rtp_port)) as srv:
        mjpeg = socket.create_connection(("127.0.0.1", srv.port))
        mjpeg.sendall(b"GET /mjpeg/cam HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

        def subs():
            return {c["name"].split(" ")[0]: c for c in srv.stream("cam")["clients"]}

        srv.wait_for("the RTP sink and the MJPEG viewer subscribed", lambda: {"rtp", "mjpeg"} <= set(subs()))
        srv.wait_for("the first caps (320x240)",
                     lambda: all((c["caps"] or {}).get("width") == 320 for c in subs().values()), timeout=20)
        print("before:", {n: c["caps"] for n, c in subs().items()})
        status, _, body = e2e.get(srv.url + "/sdp/cam")
        check(status == 200 and sps_size(body.decode()) == "320,240",
              f"/sdp/cam before the change: HTTP {status}, parameter sets of {sps_size(body.decode())}")
        srv.wait_for("the new caps reach every subscriber",
                     lambda: all((c["caps"] or {}).get("width") == 640 for c in subs().values()), timeout=30)
        after = subs()
        print("after:", {n: c["caps"] for n, c in after.items()})
        rtp_caps = dict(after["rtp"]["caps"])
        coded = {k: rtp_caps.pop(k, None) for k in ("profile_idc", "level_idc", "level")}
        check(rtp_caps == {"generation": 2, "width": 640, "height": 480, "format": "h264", "fps_num": 15,
                           "fps_den": 1},
              f"the RTP sink's subscription: caps {after['rtp']['caps']}, want generation 2 640x480 h264 15/1 fps")
        check(after["mjpeg"]["caps"] == {"generation": 2, "width": 640, "height": 480, "format": "mjpeg",
                                         "fps_num": 15, "fps_den": 1},
              f"the MJPEG viewer: caps {after['mjpeg']['caps']}, want generation 2 640x480 mjpeg 15/1 fps")
        sink = srv.stream("cam")["rtp_sinks"][0]["caps"]
        check(sink == {"generation": 2, "width": 640, "height": 480},
              f"the RTP sink took caps {sink} from the core, want generation 2 640x480")

        status, _, body = e2e.get(srv.url + "/sdp/cam")
        check(status == 200, f"/sdp/cam: HTTP {status}")
        sdp = body.decode()
        size = sps_size(sdp)
        print("SDP parameter sets:", size)
        check(size == "640,480", f"the SDP after the change describes {size}, not 640x480")

        # An RTP receiver that gets the SDP now sees the new size.
        path = os.path.join(tmp, "cam.sdp")
        with open(path, "w") as f:
            f.write(sdp)
        r = subprocess.run(["ffprobe", "-v", "error", "-protocol_whitelist", "file,udp,rtp", "-i", path,
                            "-show_entries", "stream=width,height,profile,level", "-of", "json"],
                           capture_output=True, text=True, timeout=60)
        print("ffprobe over RTP:", r.stdout.strip(), r.stderr.strip()[-200:])
        st = (json.loads(r.stdout or "{}").get("streams") or [{}])[0]
        check((st.get("width"), st.get("height")) == (640, 480), f"ffprobe over RTP saw {r.stdout.strip()!r}")
        # The profile and level the caps carry are the SPS's, as ffprobe reads them.
        want = {"profile_idc": H264_PROFILES.get(st.get("profile")), "level_idc": st.get("level"),
                "level": f"{st.get('level', 0) // 10}.{st.get('level', 0) % 10}".removesuffix(".0")}
        check(coded == want and want["profile_idc"], f"caps' profile/level {coded}, ffprobe's SPS {want}")
        mjpeg.close()


if __name__ == "__main__":
    e2e.run(main)
