#!/usr/bin/python3
"""A WHEP viewer built on aiortc (Debian python3-aiortc), for the tests.

    whep_client.py URL --seconds N [--no-candidates] [--pli-every S]
                   [--drop-every K] [--audio [--audio-hashes] [--min-audio-frames N]]
                   [--first-frame-wait S] [--json]

Posts an offer to URL (http://host:port/whep/<stream>), plays the video
track for N seconds, decoding every frame, and prints a JSON summary:
frames decoded, frame size, codec, the session URL, PLIs sent, packets
dropped on purpose (which make aiortc send NACKs). With --audio it also
offers to receive audio and reports the decoded audio's frames, level and
the frequency its spectrum peaks at (numpy); with --audio-hashes also the
MD5 of each Opus payload received (before decoding), to compare with the
source's packets."""
import argparse
import asyncio
import json
import re
import struct
import sys
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription


def http(method, url, body=None, ctype=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


async def run(args):
    summary = {"frames": 0, "width": 0, "height": 0, "dropped_on_purpose": 0, "plis_sent": 0, "firs_sent": 0,
               "sizes_ok": True}
    if args.drop_every:
        # Lose packets as the network would: before SRTP, so a retransmission
        # (same SRTP index without RTX) is not taken for a replay.
        import pylibsrtp
        orig = pylibsrtp.Session.unprotect
        count = {"n": 0}

        def dropping(self, packet, *a):
            count["n"] += 1
            if count["n"] > 50 and count["n"] % args.drop_every == 0:
                summary["dropped_on_purpose"] += 1
                raise pylibsrtp.Error("dropped on purpose by the test")
            return orig(self, packet, *a)

        pylibsrtp.Session.unprotect = dropping

    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="recvonly")
    pcm = []
    if args.audio:
        pc.addTransceiver("audio", direction="recvonly")
        summary["audio_frames"] = 0
    if args.audio_hashes:
        import hashlib
        from aiortc.codecs import opus
        summary["audio_payload_md5"] = []
        orig_decode = opus.OpusDecoder.decode

        def hashing(self, encoded_frame):
            summary["audio_payload_md5"].append(hashlib.md5(encoded_frame.data).hexdigest())
            return orig_decode(self, encoded_frame)

        opus.OpusDecoder.decode = hashing

    async def consume_audio(track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                break
            summary["audio_frames"] += 1
            summary["audio_rate"] = frame.sample_rate
            a = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
            pcm.append(a[:, 0].astype("float32") / 32768.0)
    done = asyncio.Event()
    first = asyncio.Event()

    async def consume(track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                break
            summary["frames"] += 1
            if summary["frames"] == 1:
                summary["width"], summary["height"] = frame.width, frame.height
                first.set()
            elif (frame.width, frame.height) != (summary["width"], summary["height"]):
                summary["sizes_ok"] = False

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume_audio(track) if track.kind == "audio" else consume(track))

    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    if args.no_rtx:
        rtx = set(re.findall(r"a=rtpmap:(\d+) rtx/", offer))
        lines = []
        for l in offer.splitlines(True):
            m = re.match(r"a=(?:rtpmap|fmtp|rtcp-fb):(\d+) ", l)
            if m and m.group(1) in rtx:
                continue
            if l.startswith("m=video"):
                parts = l.split()
                l = " ".join(parts[:3] + [p for p in parts[3:] if p not in rtx]) + "\r\n"
            if l.startswith("a=ssrc-group:FID"):
                continue
            lines.append(l)
        offer = "".join(lines)
    if args.no_candidates:
        offer = "".join(l for l in offer.splitlines(True)
                        if not l.startswith("a=candidate") and not l.startswith("a=end-of-candidates"))
    status, headers, answer = http("POST", args.url, offer.encode(), "application/sdp")
    if status != 201:
        print(json.dumps({"error": "POST %s: %d %s" % (args.url, status, answer.strip())}))
        return 1
    loc = headers.get("Location", "")
    base = re.match(r"(https?://[^/]+)", args.url).group(1)
    summary["session"] = base + loc
    summary["viewer"] = headers.get("X-Viewer-Id", "")
    m = re.search(r"a=rtpmap:\d+ ([A-Za-z0-9]+)/90000", answer)
    summary["codec"] = m.group(1) if m else "?"
    summary["rtx"] = "rtx/90000" in answer
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    try:
        await asyncio.wait_for(first.wait(), timeout=args.first_frame_wait)
    except asyncio.TimeoutError:
        summary["error"] = "no frame within %g s" % args.first_frame_wait
    loop = asyncio.get_event_loop()
    end = loop.time() + args.seconds
    while args.min_audio_frames and loop.time() < end + 60 and "error" not in summary and \
            summary.get("audio_frames", 0) < args.min_audio_frames:
        await asyncio.sleep(0.1)  # a slow machine (QEMU TCG) decodes fewer a second: counted, not timed
    next_pli = loop.time() + (args.pli_every or 1e9)
    next_fir = loop.time() + (args.fir_every or 1e9)
    fir_seq = 0
    receiver = transceiver.receiver
    while loop.time() < end and "error" not in summary:
        await asyncio.sleep(0.1)
        if args.pli_every and loop.time() >= next_pli:
            next_pli = loop.time() + args.pli_every
            for s in receiver.getSynchronizationSources():
                await receiver._send_rtcp_pli(s.source)
                summary["plis_sent"] += 1
        if args.fir_every and loop.time() >= next_fir:
            # aiortc has no FIR of its own: RFC 5104 4.3.1 by hand.
            next_fir = loop.time() + args.fir_every
            for s in receiver.getSynchronizationSources():
                fir_seq += 1
                fir = struct.pack("!BBHII", 0x84, 206, 4, 1, 0) + struct.pack("!IB3x", s.source, fir_seq & 0xff)
                await receiver._send_rtcp(fir)
                summary["firs_sent"] += 1
    summary["audio_in_answer"] = "m=audio 9 " in answer

    def analyse_audio():
        if not pcm:
            return
        import numpy as np
        x = np.concatenate(pcm)[-summary.get("audio_rate", 48000) * 3:]  # the last 3 s
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        summary["audio_tone_hz"] = round(float(np.fft.rfftfreq(len(x), 1.0 / summary["audio_rate"])[int(np.argmax(spec))]), 1)
        summary["audio_dbfs"] = round(float(20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-9)), 1)

    analyse_audio()
    if args.keep_session:
        # The test reads the server's figures, then asks for ours: frames
        # still decode meanwhile, so both counts are taken at the same moment.
        print(json.dumps(summary), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        analyse_audio()
        print(json.dumps(summary), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
    status, _, _ = http("DELETE", summary["session"])
    summary["delete_status"] = status
    await pc.close()
    print(json.dumps(summary), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--no-candidates", action="store_true")
    ap.add_argument("--no-rtx", action="store_true", help="offer no RTX: NACKs get plain retransmissions")
    ap.add_argument("--pli-every", type=float, default=0)
    ap.add_argument("--fir-every", type=float, default=0)
    ap.add_argument("--drop-every", type=int, default=0)
    ap.add_argument("--audio", action="store_true", help="also receive audio; report its spectrum's peak")
    ap.add_argument("--audio-hashes", action="store_true", help="with --audio: MD5 of each Opus payload received")
    ap.add_argument("--first-frame-wait", type=float, default=40, help="seconds to wait for the first video frame")
    ap.add_argument("--min-audio-frames", type=int, default=0,
                    help="with --audio: go on until this many audio frames are decoded (at most 60 s more)")
    ap.add_argument("--keep-session", action="store_true",
                    help="print the summary; on a line from stdin print it again (current"
                         " counts); on another line DELETE and print the final one")
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
