#!/usr/bin/python3
"""N WHEP viewers with a data channel each, in one asyncio loop (aiortc), for
the 20-viewer tests of the DataChannel <-> UDP bridge: one process keeps 20
peer connections affordable on a small machine. Each viewer decodes its
video (with --no-decode: receives it, counts the encoded frames, drops them). Driven by JSON lines like dc_client.py:

    dc_many.py URL N [--no-decode]

First line out: {"open": K, "viewers": [ids]}. Commands in:
    {"cmd": "report"}  -> {"counts": [...], "frames": [...], "lat": [[ms...]...], "seqs": [[n...]...],
                           "seqs_ok": [...]}
    {"cmd": "pause", "viewer": I, "seconds": S}   viewer I stops reading its association
    {"cmd": "quit"}
Messages are expected as "<seq> <send time> [padding]" (time.monotonic()
of the sender, the same clock here); lat holds arrival minus send time in ms."""
import asyncio
import json
import sys
import time

from aiortc import RTCPeerConnection, RTCSessionDescription

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from dc_client import http, out  # noqa: E402


async def viewer(url, i, st):
    pc = RTCPeerConnection()
    ch = pc.createDataChannel("control")
    opened = asyncio.Event()
    ch.on("open", opened.set)

    @ch.on("message")
    def on_message(m):
        now = time.monotonic()
        try:
            parts = m.split(" ")
            st["lat"][i].append(round((now - float(parts[1])) * 1000, 2))
            st["seqs"][i].append(int(parts[0]))
        except ValueError:
            st["bad"][i] += 1

    pc.addTransceiver("video", direction="recvonly")

    async def consume(track):
        while True:
            try:
                await track.recv()
            except Exception:
                break
            st["frames"][i] += 1

    pc.on("track", lambda t: asyncio.ensure_future(consume(t)))
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, answer = await asyncio.get_event_loop().run_in_executor(
        None, http, "POST", url, pc.localDescription.sdp.encode(), "application/sdp")
    if status != 201:
        return pc, None, None
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    try:
        await asyncio.wait_for(opened.wait(), timeout=60)
    except asyncio.TimeoutError:
        pass
    base = url.split("/whep/")[0]
    return pc, base + headers.get("Location", ""), headers.get("X-Viewer-Id", "")


async def run(url, n):
    st = {"lat": [[] for _ in range(n)], "seqs": [[] for _ in range(n)], "frames": [0] * n, "bad": [0] * n}
    res = []
    for i in range(n):  # one after another: 20 handshakes at once would all be slow
        res.append(await viewer(url, i, st))
    out({"open": sum(1 for pc, _, _ in res if pc.sctp and pc.sctp.state == "connected"),
         "viewers": [v for _, _, v in res]})
    loop = asyncio.get_event_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        c = json.loads(line)
        if c["cmd"] == "report":
            out({"counts": [len(s) for s in st["seqs"]], "frames": st["frames"], "lat": st["lat"], "seqs": st["seqs"],
                 "seqs_ok": [s == sorted(s) and len(set(s)) == len(s) for s in st["seqs"]], "bad": st["bad"],
                 "encoded": ENCODED[0]})
        elif c["cmd"] == "pause":
            sctp = res[c["viewer"]][0].sctp

            async def deaf(data):
                return None
            sctp._handle_data = deaf
            out({"ok": True})
        elif c["cmd"] == "resume":
            sctp = res[c["viewer"]][0].sctp
            del sctp._handle_data
            out({"ok": True})
        elif c["cmd"] == "quit":
            break
    for pc, session, _ in res:
        if session:
            await loop.run_in_executor(None, http, "DELETE", session)
        await pc.close()
    out({"done": True})


def no_decode():
    """Receive the video without decoding it (a lighter receiver for the
    timing figures): each encoded frame is counted and dropped."""
    import aiortc.rtcrtpreceiver as rr

    def drain(loop, input_q, output_q):
        while input_q.get() is not None:
            ENCODED[0] += 1
        asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
    rr.decoder_worker = drain


ENCODED = [0]

if __name__ == "__main__":
    if "--no-decode" in sys.argv[3:]:
        no_decode()
    asyncio.run(run(sys.argv[1], int(sys.argv[2])))
