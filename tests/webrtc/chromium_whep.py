#!/usr/bin/python3
"""Headless Chromium as a WHEP viewer, driven over the DevTools protocol
(python3-websocket). For each stream URL it opens a peer connection in a
page, posts the offer, plays for N seconds, and reads getStats().

    chromium_whep.py HTTP_BASE STREAM[,STREAM...] --seconds N

Prints one JSON object per stream: framesDecoded, frame size, codec,
pliCount, nackCount, framesDropped, the session Location (with --audio: the
audio inbound-rtp stats read twice, 2 s apart), and the server's
frames_sent for that viewer (from /api/webrtc, read before the DELETE), and the colour at the middle of each of the
test source's eight bars in a frame drawn from a <video> element."""
import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

JS_START = r"""
(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'recvonly'});
  if (%(audio)s) {
    pc.addTransceiver('audio', {direction: 'recvonly'});
    // Chromium pulls (decodes) remote audio for a track that is played.
    pc.ontrack = e => {
      if (e.track.kind !== 'audio') return;
      const a = document.createElement('audio');
      a.srcObject = new MediaStream([e.track]);
      document.body.appendChild(a);
      a.play().catch(err => { window.audioPlayError = String(err); });
    };
  }
  await pc.setLocalDescription(await pc.createOffer());
  const r = await fetch(%(url)s, {method: 'POST', headers: {'Content-Type': 'application/sdp'},
                                  body: pc.localDescription.sdp});
  const text = await r.text();
  if (r.status !== 201) return {error: 'POST: ' + r.status + ' ' + text};
  await pc.setRemoteDescription({type: 'answer', sdp: text});
  window.pcs = window.pcs || {};
  window.pcs[%(name)s] = pc;
  return {location: r.headers.get('Location'), viewer: r.headers.get('X-Viewer-Id')};
})()
"""

JS_PIXELS = r"""
(async () => {
  const pc = window.pcs[%(name)s];
  const track = pc.getReceivers()[0].track;
  const v = document.createElement('video');
  v.muted = true;
  v.srcObject = new MediaStream([track]);
  document.body.appendChild(v);
  await v.play();
  await new Promise(r => setTimeout(r, 700));
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const out = [];
  for (let i = 0; i < 8; i++) {
    const d = g.getImageData(Math.floor((i + 0.5) * c.width / 8), Math.floor(c.height * 0.35), 1, 1).data;
    out.push([d[0], d[1], d[2]]);
  }
  v.remove();
  return out;
})()
"""

JS_STATS = r"""
(async () => {
  const pc = window.pcs[%(name)s];
  const out = {state: pc.connectionState};
  const stats = await pc.getStats();
  stats.forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      for (const k of ['framesDecoded', 'framesReceived', 'framesDropped', 'keyFramesDecoded',
                       'frameWidth', 'frameHeight', 'pliCount', 'nackCount', 'firCount',
                       'packetsLost', 'packetsReceived', 'decoderImplementation', 'freezeCount'])
        out[k] = s[k];
      const c = stats.get(s.codecId);
      out.codec = c ? c.mimeType : '?';
    }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      const a = {};
      for (const k of ['totalSamplesReceived', 'audioLevel', 'totalAudioEnergy', 'packetsReceived',
                       'packetsLost', 'concealedSamples', 'jitterBufferDelay', 'jitterBufferEmittedCount'])
        a[k] = s[k];
      const c = stats.get(s.codecId);
      a.codec = c ? c.mimeType : '?';
      if (window.audioPlayError) a.playError = window.audioPlayError;
      out.audio = a;
    }
  });
  return out;
})()
"""


class Cdp:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events = []  # what arrived between replies (Network.* once enabled), the last 10,000

    def call(self, method, **params):
        i = next(self.ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m["result"]
            if "method" in m:
                self.events.append(m)
                del self.events[:-10000]

    def evaluate(self, js):
        r = self.call("Runtime.evaluate", expression=js, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError("JS: %s" % json.dumps(r["exceptionDetails"])[:500])
        return r["result"].get("value")


def http_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def start_chromium(port, profile, extra=(), wait=30):
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(exe):
        sys.exit("chromium not found: install the chromium package (scripts/install-deps)")
    # The /usr/bin/chromium wrapper is a shell script: run the real binary
    # so that its pid is the browser's.
    real = "/usr/lib/chromium/chromium"
    if os.path.exists(real):
        exe = real
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile, "--remote-debugging-port=%d" % port,
            "--remote-allow-origins=*"] + list(extra) + ["about:blank"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    for _ in range(int(wait * 5)):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2) as r:
                pages = [t for t in json.loads(r.read()) if t.get("type") == "page"]
                if pages:
                    return p, pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.2)
    p.kill()
    raise RuntimeError("chromium did not open its DevTools port")


def stop_chromium(proc, profile):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    shutil.rmtree(profile, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("streams")
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--devtools-port", type=int, default=19222)
    ap.add_argument("--player", help="also open /play/PLAYER and report what it shows")
    ap.add_argument("--audio", action="store_true",
                    help="also receive audio, play it, and report its inbound-rtp stats twice, 2 s apart")
    args = ap.parse_args()
    profile = tempfile.mkdtemp(prefix="camrelay-chromium-")
    proc, ws = start_chromium(args.devtools_port, profile,
                              ["--autoplay-policy=no-user-gesture-required"] if args.audio else [])
    results = {}
    try:
        cdp = Cdp(ws)
        # A page of the server's own origin (a blank page would do as well).
        cdp.call("Page.navigate", url=args.base + "/api/webrtc")
        time.sleep(1)
        names = args.streams.split(",")
        for n in names:
            url = json.dumps(args.base + "/whep/" + n)
            results[n] = cdp.evaluate(JS_START % {"url": url, "name": json.dumps(n),
                                                   "audio": "true" if args.audio else "false"}) or {}
        time.sleep(args.seconds)
        if args.audio:
            # totalSamplesReceived must grow: read it once here, once below.
            for n in names:
                if "error" not in results[n]:
                    st = cdp.evaluate(JS_STATS % {"name": json.dumps(n)}) or {}
                    results[n]["audio_before"] = st.get("audio")
            time.sleep(2)
        for n in names:
            if "error" in results[n]:
                continue
            # The browser's counts first, then the server's: sent >= decoded.
            results[n].update(cdp.evaluate(JS_STATS % {"name": json.dumps(n)}) or {})
            api = http_json(args.base + "/api/webrtc")
            results[n]["bars"] = cdp.evaluate(JS_PIXELS % {"name": json.dumps(n)})
            vid = results[n].get("viewer")
            for v in api["viewers"]:
                if v["id"] == vid:
                    results[n]["server_frames_sent"] = v["frames_sent"]
                    results[n]["server_plis"] = v["plis"]
                    results[n]["server_audio_packets_sent"] = v.get("audio_packets_sent", 0)
        for n in names:
            if "location" in results[n]:
                req = urllib.request.Request(args.base + results[n]["location"], method="DELETE")
                urllib.request.urlopen(req, timeout=10).read()
        if args.player:
            # The server's own player page, as a person would open it.
            cdp.call("Page.navigate", url=args.base + "/play/" + args.player)
            time.sleep(args.seconds / 2)
            results["player"] = cdp.evaluate(r"""
(async () => {
  const c = cards[0], video = document.querySelector('.pic');
  const out = {width: video.videoWidth, height: video.videoHeight, output: c.output,
               status: c.pc ? c.name + ': ' + c.pc.connectionState : 'no peer connection'};
  if (c.pc) (await c.pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded = s.framesDecoded;
  });
  return out;
})()""")
    finally:
        stop_chromium(proc, profile)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
