#!/usr/bin/python3
"""A viewer of a Janus streaming mountpoint on aiortc (Janus's HTTP API), for
the tests.

    janus_viewer.py JANUS_URL MOUNTPOINT_ID --seconds N

Creates a session, attaches janus.plugin.streaming, watches the mountpoint,
answers Janus's offer, decodes the video for N seconds and prints a JSON
summary: frames decoded, their size, keyframes, seconds from 'watch' to the
first decoded frame, and with --fps the frames between the first and the
last decoded one by their RTP timestamps."""
import argparse
import asyncio
import json
import random
import time
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription


def post(url, body):
    body["transaction"] = "%08x" % random.getrandbits(32)
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def get(url):
    with urllib.request.urlopen(url, timeout=35) as r:
        return json.loads(r.read())


async def run(args):
    summary = {"frames": 0, "keyframes": 0, "width": 0, "height": 0, "sizes_ok": True}
    loop = asyncio.get_event_loop()
    sid = post(args.url, {"janus": "create"})["data"]["id"]
    surl = "%s/%d" % (args.url, sid)
    hid = post(surl, {"janus": "attach", "plugin": "janus.plugin.streaming"})["data"]["id"]
    hurl = "%s/%d" % (surl, hid)
    t0 = time.monotonic()
    post(hurl, {"janus": "message", "body": {"request": "watch", "id": args.id}})
    offer = None
    for _ in range(20):
        ev = await loop.run_in_executor(None, get, surl + "?maxev=1")
        if ev.get("jsep"):
            offer = ev["jsep"]
            break
    if not offer:
        summary["error"] = "no offer from Janus"
        print(json.dumps(summary))
        return 1
    pc = RTCPeerConnection()
    first = asyncio.Event()

    async def consume(track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                break
            summary["frames"] += 1
            if frame.pts is not None:
                summary.setdefault("first_pts", frame.pts)
                summary["last_pts"] = frame.pts
            summary["keyframes"] += bool(getattr(frame, "key_frame", False))
            if summary["frames"] == 1:
                summary["width"], summary["height"] = frame.width, frame.height
                summary["first_frame_s"] = round(time.monotonic() - t0, 3)
                first.set()
            elif (frame.width, frame.height) != (summary["width"], summary["height"]):
                summary["sizes_ok"] = False

    @pc.on("track")
    def on_track(track):
        if track.kind == "video":
            asyncio.ensure_future(consume(track))

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
    await pc.setLocalDescription(await pc.createAnswer())
    post(hurl, {"janus": "message", "body": {"request": "start"},
                "jsep": {"type": "answer", "sdp": pc.localDescription.sdp}})
    keep = asyncio.ensure_future(keepalive(loop, surl))
    try:
        await asyncio.wait_for(first.wait(), timeout=20)
    except asyncio.TimeoutError:
        summary["error"] = "no frame within 20 s"
    await asyncio.sleep(args.seconds)
    keep.cancel()
    if "last_pts" in summary and args.fps:
        # Frames the span between the first and the last decoded one holds.
        summary["expected"] = round((summary["last_pts"] - summary["first_pts"]) * args.fps / 90000) + 1
    await pc.close()
    post(surl, {"janus": "destroy"})
    print(json.dumps(summary), flush=True)
    return 0


async def keepalive(loop, surl):
    while True:
        await asyncio.sleep(10)
        await loop.run_in_executor(None, post, surl, {"janus": "keepalive"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("id", type=int)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--fps", type=float, default=0, help="the stream's rate: report the frames expected")
    args = ap.parse_args()
    raise SystemExit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
