#!/usr/bin/python3
"""A WHEP viewer on aiortc (Debian python3-aiortc) that talks back: its
"microphone" is a sine tone, sent as Opus on a sendrecv audio section.

    talk_client.py URL --tone HZ --seconds N [--user NAME:PASSWORD] [--garbage K]

Prints one JSON line: the POST's status, X-Talkback header, the answer's
audio direction, the viewer id, audio frames sent. --garbage K also sends
K hostile RTP packets on the audio SSRC (through aiortc's own SRTP, so they
reach camrelay's parser): random payloads, truncated headers, bad padding,
invalid Opus TOC codes (oversized ones libsrtp will not protect: the fuzz
target tests/fuzz/fuzz_talk.c has them)."""
import argparse
import asyncio
import base64
import fractions
import json
import os
import random
import re
import sys
import time
import urllib.request

import av
import numpy as np
import pylibsrtp
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

RATE = 48000
BLOCK = 960


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, hz, level):
        super().__init__()
        self.hz, self.level, self.n, self.start = hz, level, 0, None

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.n / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(BLOCK) + self.n) / RATE
        x = (np.sin(2 * np.pi * self.hz * t) * self.level * 32767).astype("<i2")
        f = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="s16", layout="mono")
        f.sample_rate, f.pts, f.time_base = RATE, self.n, fractions.Fraction(1, RATE)
        self.n += BLOCK
        return f


def http(method, url, body=None, ctype=None, user=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    if user:
        req.add_header("Authorization", "Basic " + base64.b64encode(user.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


async def garbage(pc, k):
    """Hostile RTP, protected by aiortc's SRTP (on an SSRC of its own, with
    sequence numbers libsrtp's replay check accepts): random payloads, an
    Opus code-3 packet claiming 63 frames, padding longer than the packet,
    a wrong payload type, no payload, an extension longer than the packet."""
    transport = next(s for s in pc.getSenders() if s.track and s.track.kind == "audio").transport
    rnd = random.Random(19)
    ssrc, seq = rnd.getrandbits(32), rnd.randrange(65536)
    sent, refused = 0, []
    for i in range(k):
        kind = i % 6
        seq = (seq + 1) & 0xffff
        b0, pt = 0x80, 111
        if kind == 2:
            b0 = 0xA0
        elif kind == 3:
            pt = 96
        elif kind == 5:
            b0 = 0x90
        hdr = bytes([b0, pt, seq >> 8, seq & 255, 0, 0, (i >> 8) & 255, i & 255]) + ssrc.to_bytes(4, "big")
        if kind == 0:
            pkt = hdr + os.urandom(1300)
        elif kind == 1:
            pkt = hdr + bytes([0xFB, 0xFF]) + os.urandom(10)
        elif kind == 2:
            pkt = hdr + os.urandom(20) + b"\xff"
        elif kind == 3:
            pkt = hdr + bytes([0xFC, 0xFF, 0xFE])
        elif kind == 4:
            pkt = hdr
        else:
            pkt = hdr + b"\xbe\xde\x00\x40" + os.urandom(8)
        try:
            await transport._send_rtp(pkt)
            sent += 1
        except (ValueError, ConnectionError, pylibsrtp.Error) as e:  # libsrtp refuses to protect some
            refused.append("%d: %s" % (kind, e))
        await asyncio.sleep(0.002)
    return sent, refused[:3]


async def run(args):
    if args.wait_go:  # started early (Python and aiortc load slowly in an emulated VM); offers on a line
        await asyncio.get_event_loop().run_in_executor(None, sys.stdin.readline)
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTrack(Tone(args.tone, args.level))
    out = {"status": 0}
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, answer = http("POST", args.url, pc.localDescription.sdp.encode(), "application/sdp",
                                   args.user)
    out["status"] = status
    out["talkback"] = headers.get("X-Talkback")
    if status != 201:
        out["error"] = answer.strip()
        print(json.dumps(out), flush=True)
        return 0
    m = re.search(r"m=audio[^\n]*\n(?:(?!m=)[^\n]*\n)*?a=(sendrecv|sendonly|recvonly|inactive)", answer)
    out["audio_direction"] = m.group(1) if m else None
    out["viewer"] = headers.get("X-Viewer-Id", "")
    base = re.match(r"(https?://[^/]+)", args.url).group(1)
    session = base + headers.get("Location", "")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    print(json.dumps(dict(out, phase="answered")), flush=True)
    t0 = time.monotonic()  # N seconds of talking once connected (ICE + DTLS are slow in an emulated VM)
    while pc.connectionState != "connected" and time.monotonic() - t0 < 90:
        await asyncio.sleep(0.1)
    out["connect_s"] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    # --hold: talk until a line on stdin (--seconds at most), so a test can
    # ask others to talk meanwhile however slow the machine is.
    told = asyncio.get_event_loop().run_in_executor(None, sys.stdin.readline) if args.hold else None
    while time.monotonic() - t0 < args.seconds and not (told and told.done()):
        await asyncio.sleep(0.1)
        if args.garbage and not out.get("garbage_sent") and time.monotonic() - t0 >= args.garbage_after:
            out["garbage_sent"], out["garbage_unsendable"] = await garbage(pc, args.garbage)
    out["connection"] = pc.connectionState
    out["delete_status"] = http("DELETE", session, user=args.user)[0]
    await pc.close()
    print(json.dumps(out), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--tone", type=float, default=660)
    ap.add_argument("--level", type=float, default=0.3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--user", help="HTTP Basic NAME:PASSWORD")
    ap.add_argument("--hold", action="store_true", help="talk until a line on stdin (--seconds at most)")
    ap.add_argument("--wait-go", action="store_true", help="offer only once a line comes on stdin")
    ap.add_argument("--garbage", type=int, default=0)
    ap.add_argument("--garbage-after", type=float, default=5, help="seconds of talking before the garbage")
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
