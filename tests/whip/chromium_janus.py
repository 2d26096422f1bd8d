#!/usr/bin/python3
"""Headless Chromium as a viewer of a Janus streaming mountpoint, driven over
the DevTools protocol (tests/webrtc/chromium_whep.py's helpers): a page of
Janus's own origin uses Janus's HTTP API (create, attach the streaming
plugin, watch, long-poll for Janus's offer, answer once ICE gathering is
complete, start), plays for N seconds and reads getStats().

    chromium_janus.py JANUS_URL MOUNTPOINT_ID --seconds N

Prints one JSON object: the peer connection's state, framesReceived,
framesDecoded, keyFramesDecoded, framesDropped, frame size, codec, pliCount,
and seconds from 'watch' to the first decoded frame. The Janus session is
destroyed before Chromium exits."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "webrtc"))
import chromium_whep as cw  # noqa: E402  (Cdp, start_chromium)

JS_WATCH = r"""
(async () => {
  const base = %(url)s;
  const tx = () => Math.random().toString(36).slice(2);
  const post = async (url, body) => {
    body.transaction = tx();
    const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                body: JSON.stringify(body)});
    return r.json();
  };
  const sid = (await post(base, {janus: 'create'})).data.id;
  const surl = base + '/' + sid;
  const hid = (await post(surl, {janus: 'attach', plugin: 'janus.plugin.streaming'})).data.id;
  const hurl = surl + '/' + hid;
  window.leave = () => post(surl, {janus: 'destroy'});  // Janus drops the viewer at once
  const t0 = performance.now();
  await post(hurl, {janus: 'message', body: {request: 'watch', id: %(id)d}});
  let offer = null;
  for (let i = 0; i < 20 && !offer; i++) {
    const ev = await (await fetch(surl + '?maxev=1')).json();
    if (ev.jsep) offer = ev.jsep;
  }
  if (!offer) return {error: 'no offer from Janus'};
  const pc = new RTCPeerConnection();
  window.pc = pc;
  window.first = null;
  pc.ontrack = (e) => {
    const v = document.createElement('video');
    v.muted = true;
    v.srcObject = new MediaStream([e.track]);
    document.body.appendChild(v);
    v.play();
    const tick = () => { if (v.videoWidth) window.first = (performance.now() - t0) / 1000;
                         else setTimeout(tick, 20); };
    tick();
  };
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; i++)
    await new Promise((r) => setTimeout(r, 50));
  const r = await post(hurl, {janus: 'message', body: {request: 'start'},
                              jsep: {type: 'answer', sdp: pc.localDescription.sdp}});
  return {started: r.janus};
})()
"""

JS_STATS = r"""
(async () => {
  const out = {state: pc.connectionState, first_frame_s: window.first};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      for (const k of ['framesReceived', 'framesDecoded', 'keyFramesDecoded', 'framesDropped', 'frameWidth',
                       'frameHeight', 'pliCount', 'packetsLost', 'packetsReceived'])
        out[k] = s[k];
    }
  });
  return out;
})()
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("id", type=int)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--devtools-port", type=int, default=19232)
    args = ap.parse_args()
    profile = tempfile.mkdtemp(prefix="camrelay-chromium-janus-")
    proc, ws = cw.start_chromium(args.devtools_port, profile)
    out = {}
    try:
        cdp = cw.Cdp(ws)
        cdp.call("Page.navigate", url=args.url + "/info")  # Janus's origin: no CORS in the way
        time.sleep(1)
        out = cdp.evaluate(JS_WATCH % {"url": json.dumps(args.url), "id": args.id}) or {}
        if "error" not in out:
            time.sleep(args.seconds)
            out.update(cdp.evaluate(JS_STATS) or {})
            cdp.evaluate("window.leave().then(() => true)")
    except Exception as e:  # the test reports it
        out["error"] = str(e)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
