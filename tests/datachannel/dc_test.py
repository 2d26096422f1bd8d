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
        try:
            self.p.stdin.write(json.dumps(c) + "\n")
            self.p.stdin.flush()
        except OSError:
            pass  # it died: readline says so
        line = self.p.stdout.readline()
        try:
            return json.loads(line)
        except ValueError:
            wt.failures.append("the client answered %r to %s" % (line[:200], c.get("cmd")))
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
    try:
        r = subprocess.run([os.path.join(build, "camrelay"), "serve", "-c", cfg], capture_output=True, text=True,
                           timeout=20)
    except subprocess.TimeoutExpired as e:  # it started serving: the check below fails
        r = subprocess.CompletedProcess(e.cmd, -1, "", (e.stderr or b"").decode(errors="replace"))
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
        # The page's message panel (the stream's card): a datagram shows, a line typed goes out.
        cdp.call("Page.navigate", url=srv.base + "/play/cam")
        panel = wait_for(lambda: (lambda r: r if r and r.get("ds") == "channel open" else None)(cdp.evaluate(
            "(() => { const s = document.querySelector('.dcs'), p = document.querySelector('.dcp');"
            " return s && p ? {ds: s.textContent, hidden: p.hidden} : null; })()")), 20)  # null while the page builds
        dev.send(b"to the page")
        logtext = wait_for(lambda: (lambda t: t if t and "< to the page" in t else None)(
            cdp.evaluate("(document.querySelector('.dclog') || {}).textContent")), 10)
        cdp.evaluate("document.querySelector('.dcm').value = 'typed line'; "
                     "document.querySelector('.dcp').requestSubmit(); true")
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


def access(build):
    """With [auth]: credentials that may only watch get the video and no
    bridged channel (the answer rejects the section and says why); the
    control right gets the channel."""
    dev = Device()
    # The test itself (start probe, /api) uses an admin token.
    opener = urllib.request.build_opener()
    opener.addheaders = [("Authorization", "Bearer admin-token-0123456789")]
    urllib.request.install_opener(opener)
    auth = ('[auth]\ntokens = ["admin-token-0123456789"]\n[[auth.accounts]]\nusername = "viewer"\npassword = "watch-only-pw"\nrights = ["view"]\n'
            '[[auth.accounts]]\nusername = "operator"\npassword = "may-steer-pw"\nrights = ["view", "control"]\n')
    toml = auth + wt.stream_toml("cam", "h264") + dc_toml(dev.listen, dev.forward)
    srv = wt.Server(build, toml)
    try:
        w = Client(srv, "--token", "viewer:watch-only-pw")
        print("     view only: %s" % w.first)
        check(w.first.get("dc", "").startswith("refused") and "control right" in w.first.get("dc", "")
              and not w.first.get("answer_dc") and not w.first.get("open"),
              "view-only credentials: the data channel section is refused, X-DataChannel says why")
        o = Client(srv, "--token", "operator:may-steer-pw")
        check(o.first.get("open") and o.first.get("dc") == "bridged", "control right: the channel is bridged (%s)" % o.first)
        dev.send(b"to operators only")
        time.sleep(2)
        rw, ro = w.cmd(cmd="report"), o.cmd(cmd="report")
        check(rw.get("frames", 0) >= 30, "view-only viewer still gets the video (%d frames)" % rw.get("frames", 0))
        check([m["head"] for m in ro.get("received", [])] == ["to operators only"] and not rw.get("received"),
              "the datagram reaches the operator and not the watcher")
        o.quit()
        w.quit()
        s = stream_dc(srv)
        check(s.get("channels_opened") == 1, "one channel was opened in all (%s)" % s.get("channels_opened"))
    finally:
        kill_clients()
        srv.stop()


def hostile(build):
    """One viewer attacks through its own session: garbage SCTP inside valid
    DTLS, DCEP OPENs with bad lengths, 1,000 channel opens, a message over
    max_message_size, a message flood. Each is refused and counted; its own
    channel, another viewer's messages and video go on."""
    import struct
    dev = Device()
    toml = wt.stream_toml("cam", "h264") + dc_toml(
        dev.listen, dev.forward, "max_message_size = 4096\nviewer_rate = 100\nmax_channels = 2\n")
    srv = wt.Server(build, toml)
    try:
        a = Client(srv)
        b = Client(srv)
        check(a.first.get("open") and b.first.get("open"), "attacker and bystander channels open")
        f0 = b.cmd(cmd="report").get("frames", 0)
        g = a.cmd(cmd="garbage", n=200)
        check(g.get("sent") == 201, "the attacker's DTLS session carried 201 garbage SCTP packets (%s)" % g)
        bad = struct.pack("!BBHIHH", 3, 0, 0, 0, 100, 0) + b"short"  # label length 100, 5 bytes follow
        a.cmd(cmd="dcep", sid=20, hex=bad.hex())
        a.cmd(cmd="dcep", sid=22, hex="03ff0000000000000000")  # unknown channel type, no label
        a.cmd(cmd="opens", n=1000)
        second = a.cmd(cmd="channel", label="control").get("state")
        third = a.cmd(cmd="channel", label="control").get("state")
        check(second == "open" and third != "open",
              "max_channels 2: a second control channel opens, a third is refused (%s, %s)" % (second, third))
        a.cmd(cmd="send", text="x" * 5000)  # over max_message_size
        a.cmd(cmd="sendmany", n=1000, prefix="flood")
        c = Client(srv, "--label", "other")
        check(not c.first.get("open"), "a channel of another label is refused (closed in the client: %s)" % c.first)
        time.sleep(3)
        d = viewer_dc(srv, a.first.get("viewer")).get("datachannel", {})
        print("     attacker's counters: %s" % json.dumps(d))
        check(d.get("sctp_rejected", 0) >= 150, "garbage SCTP packets rejected and counted (%s of 201)" % d.get("sctp_rejected"))
        check(d.get("dcep_bad", 0) >= 2, "malformed DCEP OPENs counted (%s)" % d.get("dcep_bad"))
        check(d.get("channels_refused", 0) >= 1003 and d.get("channels_open") == 2,
              "1,000 opens of another label, bad OPENs and a third channel refused (%s), 2 open"
              % d.get("channels_refused"))
        check(d.get("oversized", 0) == 1, "the message over max_message_size refused and counted (%s)" % d.get("oversized"))
        check(d.get("rate_limited", 0) >= 500 and d.get("rate_limited", 0) + d.get("from_viewers", 0) == 1000,
              "the message flood is rate limited (%s of 1000 refused, %s passed)" % (d.get("rate_limited"),
                                                                              d.get("from_viewers")))
        rx = dev.recv_all(1000, timeout=3)
        # The bucket's refill while the flood runs depends on the client's
        # pace: the counters, not a wall-clock figure, say what passed.
        check(len(rx) == d.get("from_viewers") and all(len(x) < 4096 for x in rx),
              "forward got what the rate let pass (%d datagrams, %s counted) and nothing oversized"
              % (len(rx), d.get("from_viewers")))
        for i in range(10):
            dev.send(b"after %d" % i)
        ra = received(a, 10, timeout=15)
        rb = received(b, 10, timeout=15)
        want = ["after %d" % i for i in range(10)]
        check([m["head"] for m in ra][-10:] == want, "the attacker's own channel still works")
        check([m["head"] for m in rb] == want, "the bystander got every datagram, nothing else")
        f1 = b.cmd(cmd="report").get("frames", 0)
        check(f1 - f0 >= 60, "the bystander's video kept playing (%d frames)" % (f1 - f0))
        # The UDP side: datagrams over max_message_size arriving on listen are
        # refused and counted, never sent on cut; the next ones go on. 65,507
        # bytes is the largest IPv4 UDP payload: the bridge reads into 64 KiB
        # with MSG_TRUNC, so a datagram longer than its buffer would be seen
        # at its real length and refused the same way (over IPv4/IPv6 without
        # jumbograms one cannot be: 65,527 bytes at most).
        s0 = stream_dc(srv)
        big = (5000, 65507)
        for n in big:
            dev.send(b"u" * n)
        for i in range(5):
            dev.send(b"post %d" % i)
        want = ["post %d" % i for i in range(5)]
        rb = received(b, 15, timeout=15)
        ra = received(a, 15, timeout=15)
        s1 = wait_for(lambda: (lambda s: s if s.get("udp_in", 0) >= s0.get("udp_in", 0) + 7 else None)(stream_dc(srv)))
        s1 = s1 or stream_dc(srv)
        print("     oversized UDP datagrams on listen: the stream's oversized %s -> %s, udp_in %s -> %s" % (
            s0.get("oversized"), s1.get("oversized"), s0.get("udp_in"), s1.get("udp_in")))
        check(s1.get("oversized", 0) - s0.get("oversized", 0) == len(big) and
              s1.get("udp_in", 0) - s0.get("udp_in", 0) == len(big) + 5,
              "UDP datagrams of %s bytes on listen (max_message_size 4096) refused and counted in /api/streams "
              "(oversized +%s, udp_in +%s)" % (big, s1.get("oversized", 0) - s0.get("oversized", 0),
                                            s1.get("udp_in", 0) - s0.get("udp_in", 0)))
        check([m["head"] for m in rb][10:] == want and all(m["len"] < 4096 for m in rb),
              "the bystander got the datagrams before and after them, nothing of the long ones (%s)"
              % [(m["head"][:12], m["len"]) for m in rb[10:]])
        check([m["head"] for m in ra][-5:] == want and all(m["len"] < 4096 for m in ra),
              "the attacker's channel got the ones after them too, nothing cut")
        with urllib.request.urlopen(srv.base + "/metrics", timeout=5) as r:
            metrics = r.read().decode()
        line = 'camrelay_datachannel_oversized_total{stream="cam"} %d' % s1.get("oversized", -1)
        check(line in metrics.splitlines(), "/metrics says %s" % line)
        check(srv.api()["totals"]["sessions_active"] == 3, "every session is still there")
        for x in (a, b, c):
            x.quit()
    finally:
        kill_clients()
        srv.stop()


def run_delay_seconds(pid):
    """Time the process's threads waited for a CPU while runnable
    (/proc/PID/task/*/schedstat, second field)."""
    t = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                t += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return t / 1e9


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Many:
    """dc_many.py: k viewers in one aiortc process."""

    def __init__(self, srv, k):
        self.p = subprocess.Popen([PY, os.path.join(HERE, "dc_many.py"), srv.base + "/whep/cam", str(k)] + (
            ["--no-decode"] if NO_DECODE else []),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def first(self):
        return json.loads(self.p.stdout.readline() or "{}")

    def cmd(self, **c):
        self.p.stdin.write(json.dumps(c) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline() or "{}")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


# viewers-20: the two 1 KiB phases' rate (datagrams a second) and length,
# the receivers: 20 / PROCS viewers in each of PROCS aiortc processes, video
# received but not decoded (the lightest aiortc receiver: 4 processes of 5
# decoding viewers got 3.84 % within 100 ms in CI run8). DC20_RATE,
# DC20_PHASE_N, DC20_PROCS, DC20_DECODE=1 change them for a measurement by
# hand (the stalled viewer needs > ~300 messages to fill its viewer_buffer);
# DC20_SEQ=cscs runs calm (c) and stalled (s) phases in that order instead of
# the test's checks, to tell the stall's effect from the machine's load.
RATE = int(os.environ.get("DC20_RATE", "100"))
PHASE_N = int(os.environ.get("DC20_PHASE_N", "500"))
PROCS = int(os.environ.get("DC20_PROCS", "10"))
NO_DECODE = os.environ.get("DC20_DECODE") != "1"


def viewers_20(build):
    """20 viewers, 2 in each of 10 aiortc processes (one process of 20 fell
    seconds behind at load 16, and a receiver that lags has its own buffer
    fill: its messages are then dropped, rightly): each datagram reaches all
    20; then the same phase of 500 1 KiB datagrams twice, first with nobody
    stalled, then with one viewer that stops reading its association: the
    others still get everything, nobody else drops, its drops are counted.
    What the others receive within 100 ms is printed for both phases."""
    dev = Device()
    toml = wt.stream_toml("cam", "h264", w=96, h=64, fps=5, bitrate=50_000) + dc_toml(
        dev.listen, dev.forward, "viewer_buffer = 393216\n")  # ~300 of these messages: 3 s of slack
    srv = wt.Server(build, toml)
    procs = []
    try:
        firsts = []
        for _ in range(PROCS):  # one after another: handshakes at once would all be slow
            procs.append(Many(srv, 20 // PROCS))
            firsts.append(procs[-1].first())
        opened = sum(f.get("open", 0) for f in firsts)
        vids = [v for f in firsts for v in f.get("viewers", [])]
        check(opened == 20, "20 viewers with an open channel (%s)" % opened)

        def report(done):
            """Counts and latencies of all 20 once done(counts), or after 30 s:
            slow receivers may still be reading, and what their kernel dropped
            while they lagged comes again after SCTP's retransmission timeout
            (1 s, doubling)."""
            end = time.time() + 30
            while True:
                rs = [m.cmd(cmd="report") for m in procs]
                counts = [c for r in rs for c in r.get("counts", [])]
                if done(counts) or time.time() > end:
                    # latencies by sequence number: {seq: ms} per viewer
                    lat = [dict(zip(q, x)) for r in rs for q, x in zip(r.get("seqs", []), r.get("lat", []))]
                    return counts, lat, all(ok for r in rs for ok in r.get("seqs_ok", [False]))
                time.sleep(1)

        for i in range(100):
            dev.send(b"%d %.6f" % (i, time.monotonic()))
            time.sleep(0.01)
        counts, _, ordered = report(lambda c: c == [100] * 20)
        check(counts == [100] * 20 and ordered, "each of 100 datagrams reached all 20 viewers, in order (%s)" % counts)

        keys = ("delay_count", "delay_le_100ms", "window_waits", "to_viewers", "handed_le_100ms", "dropped_full")

        def others():
            tot = dict.fromkeys(keys, 0)
            for v in vids[:19]:
                x = viewer_dc(srv, v).get("datachannel", {})
                for k in tot:
                    tot[k] += x.get(k, 0)
            s = stream_dc(srv)
            tot["read_waits_over_100ms"] = s.get("read_waits_over_100ms", 0)
            return tot

        def phase(name, first, stalled):
            """PHASE_N datagrams of 1 KiB at RATE a second, each carrying its
            send time; what the 19 others received and when (receive time
            minus send time, both CLOCK_MONOTONIC of this machine), and
            camrelay's counters over the phase."""
            c0, cpu0, t0 = others(), cpu_seconds(srv.proc.pid), time.monotonic()
            rcpu0 = [cpu_seconds(m.p.pid) for m in procs]
            wait0 = run_delay_seconds(srv.proc.pid)
            pad = b" " + b"p" * 1000
            for i in range(first, first + PHASE_N):
                late = t0 + (i - first) / RATE - time.monotonic()
                if late > 0:
                    time.sleep(late)
                dev.send(b"%d %.6f" % (i, time.monotonic()) + pad)
            cpu, took = cpu_seconds(srv.proc.pid) - cpu0, time.monotonic() - t0
            rcpu = [round(cpu_seconds(m.p.pid) - c, 2) for m, c in zip(procs, rcpu0)]
            waited = run_delay_seconds(srv.proc.pid) - wait0
            load = os.getloadavg()[0]
            time.sleep(1)
            end = first + PHASE_N
            counts, lat, _ = report(lambda c: c[:19] == [end] * 19 and (stalled is not None or c[19:] == [end]))
            c1 = others()
            d = {k: c1[k] - c0[k] for k in c1}
            flat = sorted(x[q] for x in lat[:19] for q in range(first, end) if q in x)
            r = {"name": name, "counts": counts, "n": len(flat), "cpu": cpu, "took": took, "load": load, "cam": d,
                 "waited": waited,
                 "within": sum(1 for v in flat if v <= 100) / max(1, len(flat)),
                 "p50": flat[len(flat) // 2] if flat else -1, "p99": flat[int(len(flat) * 0.99)] if flat else -1,
                 "max": flat[-1] if flat else -1}
            print("     %s (%d datagrams at %d/s in %.1f s, load %.1f): the 19 others received %d of %d; at the "
                  "receivers (aiortc, %d processes) %.2f%% within 100 ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
                  "camrelay: %d of %d left within 100 ms of arriving, %d of %d handed to SCTP within 100 ms of the "
                  "read, %d waited for the window, %d datagrams waited > 100 ms before the read; %.2f s of CPU, %.2f s "
                  "runnable without a CPU" % (
                      name, PHASE_N, RATE, took, load, len(flat), 19 * PHASE_N, len(procs), r["within"] * 100,
                      r["p50"], r["p99"], r["max"], d["delay_le_100ms"], d["delay_count"], d["handed_le_100ms"],
                      d["to_viewers"], d["window_waits"], d["read_waits_over_100ms"], cpu, waited))
            per = [sum(1 for q in range(first, end) if x.get(q, 1e9) <= 100) * 100 // PHASE_N for x in lat[:19]]
            print("     %s: %% within 100 ms per viewer (%d a process, the stalled one is the 20th): %s; the receiver "
                  "processes' CPU seconds: %s" % (name, 20 // PROCS, per, rcpu))
            return r

        # The same phase twice: nobody stalled, then the newest viewer stops
        # reading its association (camrelay serves it first in every
        # broadcast, so whatever it cost would fall on the others' sends).
        seq = os.environ.get("DC20_SEQ")
        if seq:  # a measurement by hand, e.g. DC20_SEQ=cscs: phases in that order, printed, nothing judged
            first, paused, ever, res = 100, False, False, []
            for k, ph in enumerate(seq):
                if ph == "s" and not paused:
                    procs[-1].cmd(cmd="pause", viewer=20 // PROCS - 1)
                    paused = ever = True
                elif ph == "c" and paused:  # it catches up first (usrsctp resends what it missed)
                    procs[-1].cmd(cmd="resume", viewer=20 // PROCS - 1)
                    paused = False
                    time.sleep(4)
                res.append(phase("%d:%s" % (k, "stalled" if ph == "s" else "calm"), first, 19 if ever else None))
                first += PHASE_N
            print("     %s: %s" % (seq, " | ".join(
                "%s %.2f%% within 100 ms, p50 %.1f ms, p99 %.1f ms, load %.1f, camrelay runnable without a CPU %.2f s"
                % (r["name"], r["within"] * 100, r["p50"], r["p99"], r["load"], r["waited"]) for r in res)))
            for m in procs:
                m.cmd(cmd="quit")
            return
        calm = phase("nobody stalled", 100, None)
        check(calm["counts"] == [100 + PHASE_N] * 20, "nobody stalled: all 20 received all %d (%s)" % (
            PHASE_N, calm["counts"]))
        procs[-1].cmd(cmd="pause", viewer=20 // PROCS - 1)
        stall = phase("one stalled", 100 + PHASE_N, 19)
        counts, tot = stall["counts"], stall["cam"]
        total = 100 + 2 * PHASE_N
        check(counts[:19] == [total] * 19, "the 19 others received all %d datagrams while one stalled" % PHASE_N)
        # The bound is on what the others receive: >= 99 % within
        # 100 ms. Receivers on a loaded 2-core machine miss it even with
        # nobody stalled, so it is printed, absolute and relative (stalled
        # phase against the calm one), not judged. Judged, on camrelay's own
        # stamps: >= 99 % of the others' messages were handed to their SCTP
        # within 100 ms of the loop reading the datagram (one broadcast
        # preempted for 100 ms on a loaded machine costs at most 19).
        print("     the stall's effect on the 19 others: within 100 ms %.2f%% -> %.2f%% (%+.2f points), p50 %.1f -> "
              "%.1f ms, p99 %.1f -> %.1f ms; camrelay's left-within-100-ms %d -> %d of %d; read waits > 100 ms "
              "%d -> %d" % (calm["within"] * 100, stall["within"] * 100, (stall["within"] - calm["within"]) * 100,
                           calm["p50"], stall["p50"], calm["p99"], stall["p99"], calm["cam"]["delay_le_100ms"],
                           tot["delay_le_100ms"], 19 * PHASE_N, calm["cam"]["read_waits_over_100ms"],
                           tot["read_waits_over_100ms"]))
        share = tot["handed_le_100ms"] / max(1, tot["to_viewers"])
        check(tot["delay_count"] == 19 * PHASE_N and tot["to_viewers"] == 19 * PHASE_N and share >= 0.99,
              "camrelay sent each of the others' messages (%d of %d stamped), >= 99%% handed to their SCTP within "
              "100 ms of the read (%.2f%%)" % (tot["delay_count"], 19 * PHASE_N, share * 100))
        check(calm["cam"]["dropped_full"] == 0 and tot["dropped_full"] == 0,
              "none of the 19 others dropped a message, stalled or not")
        d = viewer_dc(srv, vids[19] if len(vids) == 20 else "").get("datachannel", {})
        s = stream_dc(srv)
        rs = [m.cmd(cmd="report") for m in procs]
        print("     video meanwhile: %s frames %s in all" % (
            sum(r.get("encoded", 0) for r in rs) if NO_DECODE else sum(sum(r.get("frames", [])) for r in rs),
            "received (not decoded)" if NO_DECODE else "decoded"))
        print("     the stalled viewer: %s" % json.dumps(d))
        check(d.get("dropped_full", 0) > 0 and counts[19] < total,
              "the stalled viewer's drops are counted (%s dropped, %s received)" % (d.get("dropped_full"), counts[19]))
        check(s.get("dropped_full") == d.get("dropped_full"), "only the stalled viewer dropped (%s)" % s.get("dropped_full"))
        for m in procs:
            m.cmd(cmd="quit")
            m.p.wait(timeout=60)
    finally:
        for m in procs:
            m.stop()
        srv.stop()


def partial(build):
    """Channels as the browser asks: unordered with maxRetransmits 0, ordered
    with maxPacketLifeTime 1 ms, and a reliable one, each losing the first
    transmission of every 5th DATA chunk (aiortc drops it). The DCEP type
    reaches SCTP: the unordered channel's chunks carry the U flag; the
    partially reliable ones give lost messages up (usrsctp counts them,
    FORWARD-TSN tells the viewer) while the reliable one sends them again;
    messages flow both ways on each."""
    dev = Device()
    toml = wt.stream_toml("cam", "h264", w=96, h=64, fps=5, bitrate=50_000) + dc_toml(dev.listen, dev.forward)
    srv = wt.Server(build, toml)
    n = 200
    try:
        kinds = {"unordered, 0 retransmits": ["--unordered", "--max-retransmits", "0"],
                 "ordered, 1 ms lifetime": ["--max-packet-lifetime", "1"],
                 "reliable": []}
        cl = {k: Client(srv, "--drop-every", "5", *a) for k, a in kinds.items()}
        check(all(c.first.get("open") for c in cl.values()), "three channels open (%s)" % [
            c.first.get("open") for c in cl.values()])
        for i in range(n):
            dev.send(b"m%d" % i)
            time.sleep(0.002)
        chans = {}
        for k, c in cl.items():
            d = wait_for(lambda: viewer_dc(srv, c.first.get("viewer")).get("datachannel", {}).get("channels"))
            chans[k] = (d or [{}])[0]
        print("     channels as camrelay runs them: %s" % json.dumps(chans))
        check(chans["unordered, 0 retransmits"].get("ordered") is False
              and chans["unordered, 0 retransmits"].get("reliability") == "max_retransmits"
              and chans["unordered, 0 retransmits"].get("reliability_param") == 0,
              "/api/webrtc: the unordered channel with maxRetransmits 0")
        check(chans["ordered, 1 ms lifetime"].get("ordered") is True
              and chans["ordered, 1 ms lifetime"].get("reliability") == "max_lifetime_ms"
              and chans["ordered, 1 ms lifetime"].get("reliability_param") == 1,
              "/api/webrtc: the ordered channel with maxPacketLifeTime 1 ms")
        check(chans["reliable"].get("ordered") is True and chans["reliable"].get("reliability") == "reliable",
              "/api/webrtc: the reliable channel")
        for k, c in cl.items():
            got = received(c, n, timeout=20)
            r = c.cmd(cmd="report")
            ch = r.get("chunks", {})

            def abandoned():
                return viewer_dc(srv, c.first.get("viewer")).get("datachannel", {}).get("channels", [{}])[0].get(
                    "abandoned", -1)
            # The last message lost is given up at SCTP's retransmission timeout (no later SACK reports it).
            ab = wait_for(lambda: abandoned() if k == "reliable" or abandoned() + len(got) >= n else None, 15)
            nums = [int(m["head"][1:]) for m in got]
            print("     %s: received %d of %d, chunks %s, usrsctp abandoned %s" % (k, len(got), n, ch, ab))
            check(ch.get("dropped", 0) >= n // 5 - 1, "%s: every 5th chunk was lost once (%s)" % (k, ch.get("dropped")))
            if k == "reliable":
                check(nums == list(range(n)) and ab == 0 and ch.get("forward_tsn") == 0,
                      "%s: every lost message came again, in order, nothing abandoned" % k)
                continue
            # usrsctp's count may pass the messages lost (85 for 40 once with
            # the 1 ms lifetime: it counts some chunks again); never below.
            lost = n - len(got)
            check(lost >= ch.get("dropped", 0) and ab >= lost and len(set(nums)) == len(nums),
                  "%s: lost messages given up and counted by usrsctp (%s abandoned, %d received of %d)" % (
                      k, ab, len(got), n))
            check(ch.get("forward_tsn", 0) >= 1, "%s: FORWARD-TSN told the viewer (%s)" % (k, ch.get("forward_tsn")))
            if k.startswith("unordered"):
                check(ch.get("unordered") > 0 and ch.get("ordered") == 0,
                      "%s: its DATA chunks carry the U flag (%s)" % (k, ch))
            else:
                check(ch.get("ordered") > 0 and ch.get("unordered") == 0 and nums == sorted(nums),
                      "%s: its DATA chunks are ordered and arrive in order (%s)" % (k, ch))
        for k, c in cl.items():
            tag = k.split(",")[0][:3]
            c.cmd(cmd="sendmany", n=50, prefix=tag)
            rx = dev.recv_all(50, timeout=10)
            check(sorted(rx) == sorted(b"%s%d" % (tag.encode(), i) for i in range(50)),
                  "%s: 50 messages from the viewer reached forward (%d)" % (k, len(rx)))
        for c in cl.values():
            c.quit()
    finally:
        kill_clients()
        srv.stop()


SCENARIOS = {
    "partial": partial,
    "viewers-20": viewers_20,
    "hostile": hostile,
    "access": access,
    "chromium": chromium,
    "aiortc": aiortc,
    "config": config_errors,
}

if __name__ == "__main__":
    try:
        SCENARIOS[sys.argv[2]](sys.argv[1])
    except Exception as e:  # a client that died: a failure, with the server's log printed
        wt.failures.append("scenario raised %r" % e)
        raise
    print("%d failure(s)" % len(wt.failures))
    sys.exit(1 if wt.failures else 0)
