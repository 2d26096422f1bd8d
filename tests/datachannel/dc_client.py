#!/usr/bin/python3
"""A WHEP viewer with a data channel, on aiortc (Debian python3-aiortc), for
the DataChannel <-> UDP bridge tests. It watches the video (decoding every
frame) and opens a channel before the offer, as browsers do; the test
drives it with JSON lines on stdin and reads JSON lines on stdout:

    dc_client.py URL [--label control] [--unordered] [--max-retransmits N]
                     [--max-packet-lifetime MS] [--drop-every K]
                     [--no-channel] [--token T]

--drop-every K loses the first transmission of every K-th DATA chunk of the
channel (as a lossy path would): a reliable channel gets it again, a partially
reliable one may see it abandoned (FORWARD-TSN).

First line out: {"open": true, "viewer": ID, "dc": X-DataChannel header}
(or {"error": ...}). Commands in:
    {"cmd": "send", "text": "..."} | {"cmd": "send", "hex": "..."}
    {"cmd": "sendmany", "n": 1000, "prefix": "m"}   n text messages prefix+i
    {"cmd": "report"}    -> {"received": [...], "frames": N, "state": ...,
                             "chunks": {"unordered", "ordered", "dropped", "forward_tsn"}}
    {"cmd": "garbage", "n": K}      K random SCTP packets through the DTLS
    {"cmd": "dcep", "hex": "...", "sid": S}  a raw DCEP message on stream S
    {"cmd": "opens", "n": K}        K DATA_CHANNEL_OPENs on fresh streams
    {"cmd": "channel", "label": L}  one more channel -> {"state": "open"|"closed"...}
    {"cmd": "pause", "seconds": S}  stop reading the SCTP association
    {"cmd": "quit"}                  DELETE the session and exit
Each received message is {"t": "str"|"bin", "len": n, "sha": sha256 hex,
"head": first 40 characters (text) or bytes as hex, "at": monotonic time}."""
import argparse
import asyncio
import hashlib
import json
import os
import re
import struct
import sys
import time
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription


def http(method, url, body=None, ctype=None, token=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    if token and ":" in token:  # user:password (HTTP Basic)
        import base64
        req.add_header("Authorization", "Basic " + base64.b64encode(token.encode()).decode())
    elif token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def out(obj):
    print(json.dumps(obj), flush=True)


async def run(args):
    pc = RTCPeerConnection()
    state = {"frames": 0, "received": [], "closed": False}
    ch = None
    opened = asyncio.Event()
    if not args.no_channel:
        kw = {}
        if args.max_retransmits is not None:
            kw["maxRetransmits"] = args.max_retransmits
        if args.max_packet_lifetime is not None:
            kw["maxPacketLifeTime"] = args.max_packet_lifetime
        ch = pc.createDataChannel(args.label, ordered=not args.unordered, **kw)

        @ch.on("open")
        def on_open():
            opened.set()

        @ch.on("close")
        def on_close():
            state["closed"] = True
            opened.set()

        @ch.on("message")
        def on_message(m):
            b = m.encode() if isinstance(m, str) else bytes(m)
            state["received"].append({
                "t": "str" if isinstance(m, str) else "bin", "len": len(b),
                "sha": hashlib.sha256(b).hexdigest(),
                "head": m[:40] if isinstance(m, str) else b[:20].hex(), "at": time.monotonic()})

    pc.addTransceiver("video", direction="recvonly")

    async def consume(track):
        while True:
            try:
                await track.recv()
            except Exception:
                break
            state["frames"] += 1

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume(track))

    await pc.setLocalDescription(await pc.createOffer())
    status, headers, answer = http("POST", args.url, pc.localDescription.sdp.encode(), "application/sdp",
                                   args.token)
    if status != 201:
        out({"error": "POST %s: %d %s" % (args.url, status, answer.strip())})
        return 1
    base = re.match(r"(https?://[^/]+)", args.url).group(1)
    session = base + headers.get("Location", "")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    first = {"viewer": headers.get("X-Viewer-Id", ""), "dc": headers.get("X-DataChannel", ""),
             "answer_dc": "m=application 9 " in answer}
    if ch is not None and first["answer_dc"]:
        try:
            await asyncio.wait_for(opened.wait(), timeout=30)
        except asyncio.TimeoutError:
            first["error"] = "the channel did not open within 30 s"
        first["open"] = ch.readyState == "open"
    else:
        first["open"] = False
    out(first)
    loop = asyncio.get_event_loop()
    sctp = pc.sctp
    chunks = {"unordered": 0, "ordered": 0, "dropped": 0, "forward_tsn": 0}
    if sctp is not None and ch is not None:
        # What the bridge's SCTP puts on the wire for our channel: the U flag
        # of its DATA chunks, FORWARD-TSNs; and losses when asked.
        seen = set()
        data_chunk, fwd_chunk = sctp._receive_data_chunk, sctp._receive_forward_tsn_chunk

        async def on_data(chunk):
            if chunk.stream_id == ch.id and chunk.protocol in (51, 53, 56, 57):
                chunks["unordered" if chunk.flags & 0x04 else "ordered"] += 1
                if chunk.tsn not in seen:
                    seen.add(chunk.tsn)
                    if args.drop_every and len(seen) % args.drop_every == 0:
                        chunks["dropped"] += 1
                        return
            await data_chunk(chunk)

        async def on_fwd(chunk):
            chunks["forward_tsn"] += 1
            await fwd_chunk(chunk)
        sctp._receive_data_chunk, sctp._receive_forward_tsn_chunk = on_data, on_fwd
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        c = json.loads(line)
        cmd = c["cmd"]
        if cmd == "send":
            ch.send(c["text"] if "text" in c else bytes.fromhex(c["hex"]))
            out({"ok": True})
        elif cmd == "sendmany":
            for i in range(c["n"]):
                ch.send("%s%d" % (c.get("prefix", "m"), i))
                if i % 50 == 49:
                    await asyncio.sleep(0)
            out({"ok": True})
        elif cmd == "report":
            await asyncio.sleep(c.get("wait", 0))
            out({"received": state["received"], "frames": state["frames"],
                 "state": ch.readyState if ch else "none", "closed": state["closed"],
                 "connection": pc.connectionState, "chunks": chunks})
            if c.get("clear"):
                state["received"] = []
        elif cmd == "garbage":
            # Well-formed DTLS records whose content is not SCTP (random
            # bytes, bad checksums, truncated headers).
            import random
            rnd = random.Random(15)  # the same garbage every run
            sent = 0
            try:
                for i in range(c["n"]):
                    await sctp.transport._send_data(bytes(rnd.randrange(256) for _ in range(1 + (i * 37) % 300)))
                    sent += 1
                await sctp.transport._send_data(b"\x13\x88\x13\x88" + b"\0" * 8)  # header only, bad tag
                sent += 1
            except ConnectionError as e:
                out({"sent": sent, "error": str(e)})
                continue
            out({"sent": sent})
        elif cmd == "dcep":
            try:
                await sctp._send(c["sid"], 50, bytes.fromhex(c["hex"]))
                out({"ok": True})
            except ConnectionError as e:
                out({"error": str(e)})
        elif cmd == "opens":
            # DATA_CHANNEL_OPENs on streams of our parity, as many as asked.
            sid0 = c.get("first", 100)
            for i in range(c["n"]):
                label = b"flood%d" % i
                msg = struct.pack("!BBHIHH", 3, 0, 0, 0, len(label), 0) + label
                await sctp._send(sid0 + 2 * (i % 400), 50, msg)
                if i % 20 == 19:
                    await asyncio.sleep(0.01)
            out({"ok": True})
        elif cmd == "channel":
            # Another channel, opened in-band after the connection is up.
            extra = pc.createDataChannel(c["label"])
            done = asyncio.Event()
            extra.on("open", done.set)
            extra.on("close", done.set)
            try:
                await asyncio.wait_for(done.wait(), timeout=10)
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(0.5)  # a refusal closes it right after
            out({"state": extra.readyState})
        elif cmd == "pause":
            # Stop reading: DTLS records for the association are dropped, so
            # nothing is acknowledged (the video keeps decoding).
            orig = sctp._handle_data
            async def deaf(data):
                return None
            sctp._handle_data = deaf
            await asyncio.sleep(c["seconds"])
            sctp._handle_data = orig
            out({"ok": True})
        elif cmd == "quit":
            break
    status, _, _ = http("DELETE", session, token=args.token)
    await pc.close()
    out({"deleted": status})
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--label", default="control")
    ap.add_argument("--unordered", action="store_true")
    ap.add_argument("--max-retransmits", type=int)
    ap.add_argument("--max-packet-lifetime", type=int)
    ap.add_argument("--drop-every", type=int, default=0)
    ap.add_argument("--no-channel", action="store_true")
    ap.add_argument("--token", help="a bearer token, or user:password for HTTP Basic")
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
