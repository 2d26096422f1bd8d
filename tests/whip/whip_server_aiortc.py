#!/usr/bin/python3
"""A WHIP server (RFC 9725) on aiortc (Debian python3-aiortc), for the tests.

    whip_server_aiortc.py PORT [--token T] [--mode ok|401|500|html|nolocation|badsdp]
                          [--drop-every K] [--pli-at N] [--bind ADDR] [--dtls-passive] [--refuse-audio]
                          [--patch trickle|none]

POST /whip/<name>  application/sdp offer -> 201, answer, Location, ETag
PATCH <Location>   application/trickle-ice-sdpfrag (RFC 9725 4.3): with
                   If-Match: the ETag, each a=candidate goes to aiortc's
                   addIceCandidate (204; 412 for another ETag, 428 without);
                   with If-Match: "*" (an ICE restart) 422: aiortc has no ICE
                   restart (neither RTCPeerConnection.restartIce nor a new
                   remote ufrag in aioice). --patch none: 405 for every PATCH
DELETE <Location>  ends the session
POST /pause        drops every datagram aiortc receives (a network outage)
                   until the next PATCH or POST
GET /stats         JSON: sessions, deletes, posts, and per session the frames
                   decoded, their size, keyframes decoded, PLIs sent, packets
                   dropped on purpose (before SRTP, so aiortc NACKs them)

--pli-at N sends one PLI after the Nth decoded frame of each session (the
test then expects a keyframe from camrelay). Modes other than ok answer every
POST with that failure: 401 (bad token), 500, a 201 with an HTML body, a 201
without Location, a 201 whose body is not SDP. --dtls-passive answers
a=setup:passive (aiortc is then the DTLS server, camrelay the client; aiortc
answers active by itself). Each session records the answer's a=setup.
An offered audio track is taken (aiortc decodes its Opus: audio_frames and,
from its first 2 s, audio_hz, the spectrum's peak) unless --refuse-audio,
which answers its section with port 0."""
import argparse
import asyncio
import json
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

args = None
loop = None
sessions = {}
stats = {"posts": 0, "deletes": 0, "patches": [], "sessions": []}
paused = threading.Event()
lock = threading.Lock()


async def consume_audio(track, st):
    import numpy as np
    pcm = []
    while True:
        try:
            frame = await track.recv()
        except Exception:
            break
        st["audio_frames"] += 1
        if len(pcm) < 100:  # 2 s of 20 ms frames, first channel
            pcm.append(frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0].astype(float))
            if len(pcm) == 100:
                x = np.concatenate(pcm)
                spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
                st["audio_hz"] = round(float(np.fft.rfftfreq(len(x), 1.0 / frame.sample_rate)[int(np.argmax(spec))]), 1)


async def consume(track, st):
    if track.kind == "audio":
        return await consume_audio(track, st)
    while True:
        try:
            frame = await track.recv()
        except Exception:
            break
        st["frames"] += 1
        if getattr(frame, "key_frame", False):
            st["keyframes"] += 1
            if st["pli_frame"] and st["frames"] > st["pli_frame"]:
                st["keyframes_after_pli"] += 1
        if st["frames"] == 1:
            st["width"], st["height"] = frame.width, frame.height
        elif (frame.width, frame.height) != (st["width"], st["height"]):
            st["sizes_ok"] = False
        if args.pli_at and st["frames"] == args.pli_at:
            st["pli_frame"] = st["frames"]
            for s in st["receiver"].getSynchronizationSources():
                await st["receiver"]._send_rtcp_pli(s.source)
                st["plis_sent"] += 1


async def answer(offer):
    pc = RTCPeerConnection()
    st = {"frames": 0, "keyframes": 0, "width": 0, "height": 0, "sizes_ok": True, "plis_sent": 0,
          "pli_frame": 0, "keyframes_after_pli": 0, "closed": False, "trickled": [], "offer_cands": [],
          "audio_frames": 0, "audio_hz": 0}

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume(track, st))

    st["offer_cands"] = re.findall(r"a=candidate:\S+ \d+ \w+ \d+ (\S+ \d+ typ \w+)", offer)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    st["offered_audio"] = any(t.kind == "audio" for t in pc.getTransceivers())
    for t in pc.getTransceivers():
        if t.kind == "video":
            st["receiver"] = t.receiver
        if args.dtls_passive:
            t.receiver.transport._set_role("server")  # createAnswer keeps a set role
    await pc.setLocalDescription(await pc.createAnswer())
    sdp = pc.localDescription.sdp
    if args.refuse_audio:
        sdp = re.sub(r"m=audio \d+ ", "m=audio 0 ", sdp)
    st["setup"] = ",".join(sorted(set(re.findall(r"a=setup:(\w+)", sdp))))
    return pc, st, sdp


async def close(pc):
    await pc.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", ctype="text/plain", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/stats":
            return self.reply(404, b"not found")
        with lock:
            out = {"posts": stats["posts"], "deletes": stats["deletes"], "patches": stats["patches"],
                   "dropped_on_purpose": stats.get("dropped_on_purpose", 0),
                   "sessions": [{k: v for k, v in s.items() if k != "receiver"} for s in stats["sessions"]]}
        self.reply(200, json.dumps(out).encode(), "application/json")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/pause":
            paused.set()
            return self.reply(200)
        paused.clear()
        with lock:
            stats["posts"] += 1
        if args.token and self.headers.get("Authorization") != "Bearer " + args.token:
            return self.reply(401, b"invalid token\n")
        if args.mode == "401":
            return self.reply(401, b"invalid token\n")
        if args.mode == "500":
            return self.reply(500, b"internal trouble\n")
        if args.mode == "html":
            return self.reply(201, b"<html><body>Welcome</body></html>", "text/html",
                              [("Location", "/whip/x/1")])
        if args.mode == "nolocation":
            return self.reply(201, b"v=0\r\n", "application/sdp")
        if args.mode == "badsdp":
            return self.reply(201, b"v=0\r\nthis is not sdp\r\n", "application/sdp", [("Location", "/whip/x/2")])
        if self.headers.get("Content-Type") != "application/sdp":
            return self.reply(415, b"expected application/sdp")
        fut = asyncio.run_coroutine_threadsafe(answer(body.decode()), loop)
        try:
            pc, st, sdp = fut.result(timeout=15)
        except Exception as e:
            return self.reply(400, ("bad offer: %s" % e).encode())
        sid = uuid.uuid4().hex
        with lock:
            sessions[sid] = pc
            stats["sessions"].append(st)
            st["id"] = sid
        self.reply(201, sdp.encode(), "application/sdp", [("Location", "%s/%s" % (self.path, sid)),
                                                          ("ETag", '"%s"' % sid)])

    def do_PATCH(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode(errors="replace")
        sid = self.path.rsplit("/", 1)[-1]
        im = self.headers.get("If-Match")
        rec = {"session": sid, "if_match": im, "ctype": self.headers.get("Content-Type"), "body": body}
        paused.clear()
        with lock:
            stats["patches"].append(rec)
            pc = sessions.get(sid)
            st = next((s for s in stats["sessions"] if s.get("id") == sid), None)
        if args.patch == "none":
            rec["answer"] = 405
            return self.reply(405, b"PATCH not supported\n")
        if not pc:
            rec["answer"] = 404
            return self.reply(404, b"no such session")
        if args.token and self.headers.get("Authorization") != "Bearer " + args.token:
            rec["answer"] = 401
            return self.reply(401, b"invalid token\n")
        if rec["ctype"] != "application/trickle-ice-sdpfrag":
            rec["answer"] = 415
            return self.reply(415, b"expected application/trickle-ice-sdpfrag")
        if im == "*":
            rec["answer"] = 422
            return self.reply(422, b"aiortc cannot restart ICE\n")
        if im is None or im != '"%s"' % sid:
            rec["answer"] = 428 if im is None else 412
            return self.reply(rec["answer"], b"If-Match does not match the ETag\n")
        cands = re.findall(r"^a=candidate:(.*?)\r?$", body, re.M)

        async def add():
            for c in cands:
                ic = candidate_from_sdp(c)
                ic.sdpMid = "0"
                await pc.addIceCandidate(ic)
        try:
            asyncio.run_coroutine_threadsafe(add(), loop).result(timeout=5)
        except Exception as e:
            rec["answer"] = 400
            return self.reply(400, ("bad candidate: %s" % e).encode())
        with lock:
            st["trickled"] += [" ".join(c.split()[4:8]) for c in cands]
        rec["answer"] = 204
        self.reply(204)

    def do_DELETE(self):
        sid = self.path.rsplit("/", 1)[-1]
        with lock:
            pc = sessions.pop(sid, None)
            if pc:
                stats["deletes"] += 1
                for s in stats["sessions"]:
                    if s.get("id") == sid:
                        s["closed"] = True
        if not pc:
            return self.reply(404, b"no such session")
        asyncio.run_coroutine_threadsafe(close(pc), loop)
        self.reply(200)


def main():
    global args, loop
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--token", default="")
    ap.add_argument("--mode", default="ok", choices=["ok", "401", "500", "html", "nolocation", "badsdp"])
    ap.add_argument("--drop-every", type=int, default=0)
    ap.add_argument("--pli-at", type=int, default=0)
    ap.add_argument("--dtls-passive", action="store_true")
    ap.add_argument("--refuse-audio", action="store_true")
    ap.add_argument("--bind", default="127.0.0.1", help="HTTP address (the TURN test's namespace)")
    ap.add_argument("--patch", default="trickle", choices=["trickle", "none"])
    args = ap.parse_args()
    import aioice.ice
    orig_rx = aioice.ice.StunProtocol.datagram_received

    def rx(self, data, addr):
        if not paused.is_set():
            orig_rx(self, data, addr)
    aioice.ice.StunProtocol.datagram_received = rx
    if args.drop_every:
        # Lose packets as a network would: before SRTP, so aiortc NACKs them.
        import pylibsrtp
        orig = pylibsrtp.Session.unprotect
        count = {"n": 0}

        def dropping(self, packet, *a):
            count["n"] += 1
            if count["n"] > 50 and count["n"] % args.drop_every == 0:
                with lock:
                    stats["dropped_on_purpose"] = stats.get("dropped_on_purpose", 0) + 1
                raise pylibsrtp.Error("dropped on purpose by the test")
            return orig(self, packet, *a)

        pylibsrtp.Session.unprotect = dropping
    loop = asyncio.new_event_loop()
    srv = ThreadingHTTPServer((args.bind, args.port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    sys.exit(main())
