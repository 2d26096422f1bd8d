#!/usr/bin/python3
"""The DataChannel <-> UDP bridge ([stream.<name>.datachannel]) against real
peers: aiortc and headless Chromium open a channel inside their WHEP
session; the test plays the UDP device on loopback. Counters decide.

    dc_test.py BUILD_DIR SCENARIO"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "webrtc"))
import webrtc_test as wt  # noqa: E402  (Server, check, stream_toml: the WebRTC suite's)

PY = "/usr/bin/python3"
check = wt.check


def dc_toml(listen, forward, extra=""):
    return '[stream.cam.datachannel]\nlisten = "127.0.0.1:%d"\nforward = "127.0.0.1:%d"\nlabel = "control"\n%s' % (
        listen, forward, extra)


class Device:
    """The UDP side: sends to the bridge's listen port, receives on forward."""

    def __init__(self):
        self.listen = wt.free_port(socket.SOCK_DGRAM)
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", 0))
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.forward = self.rx.getsockname()[1]
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, data):
        self.tx.sendto(data, ("127.0.0.1", self.listen))

    def recv_all(self, n, timeout=10):
        got = []
        end = time.time() + timeout
        while len(got) < n and time.time() < end:
            self.rx.settimeout(max(0.05, end - time.time()))
            try:
                got.append(self.rx.recv(70000))
            except socket.timeout:
                break
        return got


CLIENTS = []


class Client:
    """dc_client.py (aiortc) driven over its stdin/stdout."""

    def __init__(self, srv, *args):
        CLIENTS.append(self)
        self.p = subprocess.Popen([PY, os.path.join(HERE, "dc_client.py"), srv.base + "/whep/cam"] + list(args),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        try:
            self.first = json.loads(line)
        except ValueError:
            self.first = {"error": "client printed %r" % line}

    def cmd(self, **c):
        self.p.stdin.write(json.dumps(c) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        try:
            return json.loads(line)
        except ValueError:
            return {"error": "client printed %r" % line}

    def quit(self):
        try:
            r = self.cmd(cmd="quit")
            self.p.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            r = {}
        return r


def kill_clients():
    for c in CLIENTS:
        if c.p.poll() is None:
            c.p.kill()
            c.p.wait()


def received(c, n, timeout=30):
    """The client's messages once it has n, or what it has when they stop coming."""
    last, end = -1, time.time() + timeout
    while True:
        r = c.cmd(cmd="report")
        got = r.get("received", [])
        if len(got) >= n or time.time() > end or len(got) == last:
            return got
        last = len(got)
        time.sleep(1)


def api_json(srv, path):
    with urllib.request.urlopen(srv.base + path, timeout=5) as r:
        return json.loads(r.read())


def stream_dc(srv):
    return api_json(srv, "/api/streams")["streams"][0].get("datachannel") or {}


def viewer_dc(srv, vid):
    for v in api_json(srv, "/api/webrtc")["viewers"]:
        if v["id"] == vid:
            return v
    return {}


def wait_for(fn, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    return fn()


def both_ways(srv, dev, c, who):
    """Text, binary, 60 KiB and 1,000 ordered messages each way."""
    dev.send("hello viewer ✓".encode())
    dev.send(bytes([0xff, 0x00, 0x80, 0x01]))
    big = bytes((i * 7) % 251 for i in range(60 * 1024))
    dev.send(big)
    time.sleep(0.5)
    for i in range(1000):
        dev.send(b"n%d" % i)
        if i % 10 == 9:
            time.sleep(0.01)  # a device's pace (about 1,000 a second), not one loopback burst
    got = received(c, 1003)
    check(len(got) >= 3 and got[0]["t"] == "str" and got[0]["head"] == "hello viewer ✓",
          "%s: a UDP text datagram arrives as a text message (%s)" % (who, got[:1]))
    check(len(got) >= 3 and got[1]["t"] == "bin" and got[1]["head"] == "ff008001",
          "%s: a UDP binary datagram arrives as a binary message (%s)" % (who, got[1:2]))
    import hashlib
    check(len(got) >= 3 and got[2]["len"] == len(big) and got[2]["sha"] == hashlib.sha256(big).hexdigest(),
          "%s: a 60 KiB datagram arrives whole (%s bytes)" % (who, got[2]["len"] if len(got) > 2 else None))
    seq = [m["head"] for m in got[3:]]
    if len(seq) != 1000:
        print("     %s: the bridge's counters: %s" % (who, json.dumps(stream_dc(srv))))
    check(seq == ["n%d" % i for i in range(1000)],
          "%s: 1,000 datagrams arrive as 1,000 messages in order (%d, first wrong at %s)" % (
              who, len(seq), next((i for i, s in enumerate(seq) if s != "n%d" % i), None)))
    c.cmd(cmd="send", text="hello device ✓")
    c.cmd(cmd="send", hex="00ff10")
    c.cmd(cmd="sendmany", n=1000, prefix="v")
    rx = dev.recv_all(1002)
    check(rx[:1] == ["hello device ✓".encode()], "%s: a text message arrives at forward as its UTF-8 (%s)" % (who, rx[:1]))
    check(rx[1:2] == [b"\x00\xff\x10"], "%s: a binary message arrives at forward byte for byte (%s)" % (who, rx[1:2]))
    check(rx[2:] == [b"v%d" % i for i in range(1000)],
          "%s: 1,000 messages arrive at forward as 1,000 datagrams in order (%d)" % (who, len(rx) - 2))


def aiortc(build):
    dev = Device()
    toml = wt.stream_toml("cam", "h264") + dc_toml(dev.listen, dev.forward, "viewer_rate = 5000\nviewer_buffer = 1048576\n")
    srv = wt.Server(build, toml)
    vo = None
    try:
        c = Client(srv)
        check(c.first.get("open") and c.first.get("dc") == "bridged",
              "aiortc: the channel opens inside the WHEP session (%s)" % c.first)
        # A video-only viewer alongside (whep_client.py, no data channel).
        vo = subprocess.Popen([PY, os.path.join(HERE, "..", "webrtc", "whep_client.py"), srv.base + "/whep/cam",
                               "--seconds", "8", "--keep-session"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
        f0, s0, t0 = c.cmd(cmd="report").get("frames", 0), viewer_dc(srv, c.first.get("viewer")).get("frames_sent", 0), time.time()
        both_ways(srv, dev, c, "aiortc")
        time.sleep(max(0, 4 - (time.time() - t0)))
        f1, s1 = c.cmd(cmd="report").get("frames", 0), viewer_dc(srv, c.first.get("viewer")).get("frames_sent", 0)
        print("     aiortc decoded %d of %d frames sent in %.1f s with the messages" % (f1 - f0, s1 - s0, time.time() - t0))
        check(s1 - s0 >= 60 and f1 - f0 >= 0.9 * (s1 - s0),
              "aiortc: the video keeps decoding meanwhile (%d of %d)" % (f1 - f0, s1 - s0))
        v = viewer_dc(srv, c.first.get("viewer"))
        d = v.get("datachannel", {})
        print("     /api/webrtc viewer datachannel: %s" % json.dumps(d))
        check(d.get("to_viewers") == 1003 and d.get("from_viewers") == 1002 and d.get("channels_open") == 1,
              "/api/webrtc counts the viewer's messages each way (%s/%s)" % (d.get("to_viewers"), d.get("from_viewers")))
        s = stream_dc(srv)
        print("     /api/streams datachannel: %s" % json.dumps(s))
        check(s.get("udp_in") == 1003 and s.get("udp_out") == 1002 and s.get("viewers") == 1
              and s.get("channels_opened") == 1, "/api/streams counts the bridge (%s)" % s)
        with urllib.request.urlopen(srv.base + "/metrics", timeout=5) as r:
            metrics = r.read().decode()
        check('camrelay_datachannel_udp_in_total{stream="cam"} 1003' in metrics
              and 'camrelay_datachannel_viewer_from_viewer_total{stream="cam",id="%s"} 1002' % c.first.get("viewer")
              in metrics, "/metrics has the bridge's and the viewer's counters")
        # The video-only viewer: unaffected, and no data channel listed for it.
        summary, vv = wt.sample_viewer(srv, vo)
        try:
            vo.communicate("\n", timeout=30)
        except subprocess.TimeoutExpired:
            vo.kill()
        wt.decoded_enough(summary, vv, 320, 240, "video-only viewer alongside")
        check(vv is not None and "datachannel" not in vv, "the video-only viewer has no data channel")
        c.quit()
        s = stream_dc(srv)
        check(s.get("viewers") == 0 and s.get("channels_open") == 0, "the channel is gone with the session (%s)" % s)
    finally:
        kill_clients()
        if vo and vo.poll() is None:
            vo.kill()
        srv.stop()


def config_errors(build):
    """A listen port already taken is a config error (exit 3, file:line:col)
    before anything starts; so is a bridge in a build without it."""
    import tempfile
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    d = tempfile.mkdtemp(prefix="camrelay-dc-")
    cfg = os.path.join(d, "taken.toml")
    toml = '[http]\nlisten = "127.0.0.1:%d"\n' % wt.free_port() + wt.stream_toml("cam", "h264") + dc_toml(port, 9)
    with open(cfg, "w") as f:
        f.write(toml)
    line = toml.split("\n").index('listen = "127.0.0.1:%d"' % port) + 1
    r = subprocess.run([os.path.join(build, "camrelay"), "serve", "-c", cfg], capture_output=True, text=True,
                       timeout=60)
    print("     " + r.stderr.strip()[-300:])
    check(r.returncode == 3 and ("taken.toml:%d:10: stream.cam.datachannel.listen" % line) in r.stderr
          and "Address already in use" in r.stderr and "source running" not in r.stderr,
          "a listen port in use -> exit 3 naming file:line:col, before the source starts (%d)" % r.returncode)
    taken.close()


JS_START = r"""
(async () => {
  const pc = new RTCPeerConnection();
  const dc = pc.createDataChannel('control');
  dc.binaryType = 'arraybuffer';
  window.dcmsgs = [];
  const fnv = b => { let h = 0x811c9dc5; for (const x of b) { h ^= x; h = Math.imul(h, 0x01000193) >>> 0; } return h; };
  dc.onmessage = e => {
    const text = typeof e.data === 'string';
    const b = text ? new TextEncoder().encode(e.data) : new Uint8Array(e.data);
    window.dcmsgs.push({t: text ? 'str' : 'bin', len: b.length, fnv: fnv(b),
      head: text ? e.data.slice(0, 40) : Array.from(b.slice(0, 20)).map(x => x.toString(16).padStart(2, '0')).join(''),
      at: performance.now()});
  };
  const opened = new Promise(r => { dc.onopen = () => r(true); setTimeout(() => r(false), 30000); });
  pc.addTransceiver('video', {direction: 'recvonly'});
  await pc.setLocalDescription(await pc.createOffer());
  const r = await fetch(%(url)s, {method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp});
  const text = await r.text();
  if (r.status !== 201) return {error: 'POST: ' + r.status + ' ' + text};
  await pc.setRemoteDescription({type: 'answer', sdp: text});
  window.pc = pc; window.dc = dc;
  return {open: await opened, location: r.headers.get('Location'), viewer: r.headers.get('X-Viewer-Id'),
          offer_dc: pc.localDescription.sdp.includes('webrtc-datachannel')};
})()
"""

JS_FRAMES = r"""
(async () => {
  let n = 0;
  (await window.pc.getStats()).forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesDecoded; });
  return n;
})()
"""


def fnv(b):
    h = 0x811c9dc5
    for x in b:
        h = ((h ^ x) * 0x01000193) & 0xffffffff
    return h


def chromium(build):
    import shutil
    import tempfile
    sys.path.insert(0, os.path.join(HERE, "..", "webrtc"))
    import chromium_whep as cw
    dev = Device()
    toml = wt.stream_toml("cam", "h264") + dc_toml(dev.listen, dev.forward, "viewer_rate = 5000\nviewer_buffer = 1048576\n")
    srv = wt.Server(build, toml)
    profile = tempfile.mkdtemp(prefix="camrelay-chromium-")
    proc = None
    try:
        proc, ws = cw.start_chromium(wt.free_port(), profile)
        cdp = cw.Cdp(ws)
        cdp.call("Page.navigate", url=srv.base + "/api/webrtc")
        time.sleep(1)
        first = cdp.evaluate(JS_START % {"url": json.dumps(srv.base + "/whep/cam")}) or {}
        print("     chromium: %s" % first)
        check(first.get("open") is True and first.get("offer_dc"),
              "chromium: the control channel opens inside the WHEP session")
        vid = first.get("viewer")
        f0, s0, t0 = cdp.evaluate(JS_FRAMES), viewer_dc(srv, vid).get("frames_sent", 0), time.time()
        dev.send("hello viewer ✓".encode())
        dev.send(bytes([0xff, 0x00, 0x80, 0x01]))
        big = bytes((i * 7) % 251 for i in range(60 * 1024))
        dev.send(big)
        time.sleep(0.5)
        for i in range(1000):
            dev.send(b"n%d" % i)
            if i % 10 == 9:
                time.sleep(0.01)
        got, last = [], -1
        for _ in range(30):
            got = cdp.evaluate("window.dcmsgs") or []
            if len(got) >= 1003 or len(got) == last:
                break
            last = len(got)
            time.sleep(1)
        check(len(got) >= 3 and got[0]["t"] == "str" and got[0]["head"] == "hello viewer ✓",
              "chromium: a UDP text datagram arrives as a string (%s)" % got[:1])
        check(len(got) >= 3 and got[1]["t"] == "bin" and got[1]["head"] == "ff008001",
              "chromium: a UDP binary datagram arrives as an ArrayBuffer (%s)" % got[1:2])
        check(len(got) >= 3 and got[2]["len"] == len(big) and got[2]["fnv"] == fnv(big),
              "chromium: a 60 KiB datagram arrives whole (%s)" % (got[2]["len"] if len(got) > 2 else None))
        seq = [m["head"] for m in got[3:]]
        check(seq == ["n%d" % i for i in range(1000)],
              "chromium: 1,000 datagrams arrive as 1,000 messages in order (%d)" % len(seq))
        cdp.evaluate("window.dc.send('hello device ✓'); window.dc.send(new Uint8Array([0, 255, 16])); "
                     "for (let i = 0; i < 1000; i++) window.dc.send('v' + i); true")
        rx = dev.recv_all(1002)
        check(rx[:1] == ["hello device ✓".encode()], "chromium: a string arrives at forward as its UTF-8 (%s)" % rx[:1])
        check(rx[1:2] == [b"\x00\xff\x10"], "chromium: binary arrives at forward byte for byte (%s)" % rx[1:2])
        check(rx[2:] == [b"v%d" % i for i in range(1000)],
              "chromium: 1,000 messages arrive at forward as 1,000 datagrams in order (%d)" % (len(rx) - 2))
        time.sleep(max(0, 5 - (time.time() - t0)))
        f1, s1 = cdp.evaluate(JS_FRAMES), viewer_dc(srv, vid).get("frames_sent", 0)
        print("     chromium decoded %d of %d frames sent in %.1f s with the messages" % (f1 - f0, s1 - s0, time.time() - t0))
        check(s1 - s0 >= 60 and f1 - f0 >= 0.9 * (s1 - s0),
              "chromium: the video keeps decoding at full rate meanwhile (%d of %d)" % (f1 - f0, s1 - s0))
        d = viewer_dc(srv, vid).get("datachannel", {})
        check(d.get("to_viewers") == 1003 and d.get("from_viewers") == 1002, "chromium: the viewer's counters (%s)" % d)
        loc = first.get("location")
        if loc:
            urllib.request.urlopen(urllib.request.Request(srv.base + loc, method="DELETE"), timeout=10).read()
        # The player page's message panel: a datagram shows, a line typed goes out.
        cdp.call("Page.navigate", url=srv.base + "/play/cam")
        panel = wait_for(lambda: (lambda r: r if r and r.get("ds") == "channel open" else None)(cdp.evaluate(
            "({ds: document.getElementById('ds').textContent, hidden: document.getElementById('dc').hidden})")), 20)
        dev.send(b"to the page")
        logtext = wait_for(lambda: (lambda t: t if t and "< to the page" in t else None)(
            cdp.evaluate("document.getElementById('log').textContent")), 10)
        cdp.evaluate("document.getElementById('m').value = 'typed line'; "
                     "document.getElementById('dc').requestSubmit(); true")
        rx = dev.recv_all(1, timeout=10)
        check(panel and not panel.get("hidden") and logtext and rx == [b"typed line"],
              "/play/cam shows the message panel: a datagram appears, a typed line reaches forward (%s %r %s)"
              % (panel, (logtext or "")[:60], rx))
    finally:
        if proc:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
        srv.stop()


SCENARIOS = {
    "chromium": chromium,
    "aiortc": aiortc,
    "config": config_errors,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[2]](sys.argv[1])
    print("%d failure(s)" % len(wt.failures))
    sys.exit(1 if wt.failures else 0)
