#!/usr/bin/python3
"""WHIP push (src/sink/whip.c) against real WebRTC stacks acting as WHIP
servers, each started here, loopback only. Counters decide.

    whip_test.py BUILD_DIR SCENARIO

aiortc    publish to tests/whip/whip_server_aiortc.py: >= 95% of the frames
          camrelay sent decoded at 320x240; the server's PLI gives a keyframe
          (GOP 600, so no other would come); packets the server drops are
          NACKed and resent (RTX); DELETE when camrelay stops
dtls      the server answers a=setup:passive: camrelay is the DTLS client
          (aiortc and werift answer active by themselves); >= 95% decoded
restart   the server is killed (SIGKILL) and started again: camrelay
          publishes again (the time is printed, and must be under 5 s)
ice-restart  consent lost: ICE restart over PATCH (werift), fresh POST after
          a 405 (aiortc)
ice-lite  an ICE-lite server (werift with werift-ice's lite agent): a=ice-lite
          answered, camrelay nominates and keeps consent alone, >= 95% decoded
errors    401 (bad token), 500, a 201 with HTML, a 201 without Location, a
          201 whose body is not SDP: one log line per attempt naming the URL,
          the status and the server's message, retries, no crash, the fd count
          flat over 10 failures"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "webrtc"))
import webrtc_test as wt  # noqa: E402  (Server, stream_toml, check, free_port)

PY = "/usr/bin/python3"
check = wt.check


class WhipServer:
    def __init__(self, port, *extra):
        self.port = port
        cmd = [PY, os.path.join(HERE, "whip_server_aiortc.py"), str(port)] + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if "ready" not in line:
            raise RuntimeError("the aiortc WHIP server did not start: %r" % line)
        self.ready = time.monotonic()

    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % self.port, timeout=5) as r:
            return json.loads(r.read())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def whip_toml(url, token="test-token-1234", gop=0, extra=""):
    t = wt.stream_toml("cam", "h264", gop=gop)
    t += '[[stream.cam.sinks]]\ntype = "whip"\nurl = "%s"\ntoken = "%s"\n%s' % (url, token, extra)
    return t


def whip_info(srv):
    with urllib.request.urlopen(srv.base + "/api/streams", timeout=5) as r:
        streams = json.loads(r.read())["streams"]
    w = streams[0].get("whip", [])
    return w[0] if w else {}


def wait_for(fn, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    return None


def fd_count(pid):
    """The fewest fds over 20 samples 25 ms apart: an attempt in flight
    holds a TCP and a UDP socket for a moment, a leak stays."""
    n = []
    for _ in range(20):
        n.append(len(os.listdir("/proc/%d/fd" % pid)))
        time.sleep(0.025)
    return min(n)


# ---- scenarios ----

def aiortc(build):
    port = wt.free_port()
    ws = WhipServer(port, "--token", "test-token-1234", "--pli-at", "45", "--drop-every", "40")
    url = "http://127.0.0.1:%d/whip/cam" % port
    srv = wt.Server(build, whip_toml(url, gop=600))
    try:
        ok = wait_for(lambda: any(s["frames"] >= 200 for s in ws.stats()["sessions"]), 40)
        check(ok, "the aiortc WHIP server decodes frames")
        w = whip_info(srv)
        st = ws.stats()
        s = st["sessions"][-1] if st["sessions"] else {}
        sent = w.get("frames_sent", 0)
        print("     camrelay: %s" % json.dumps(w))
        print("     server:   %s" % json.dumps(st))
        check(w.get("state") == "publishing" and w.get("publishes") == 1, "state publishing, one publication")
        check(sent >= 150 and s.get("frames", 0) >= 0.95 * sent,
              ">= 95%% of the %d frames sent decoded (%d)" % (sent, s.get("frames", 0)))
        check((s.get("width"), s.get("height")) == (320, 240) and s.get("sizes_ok"), "frames are 320x240")
        check(s.get("plis_sent", 0) >= 1 and w.get("plis", 0) >= 1, "camrelay got the server's PLI")
        check(s.get("keyframes_after_pli", 0) >= 1 and w.get("keyframes_sent", 0) >= 2,
              "the PLI gave a keyframe (GOP 600: no other keyframe comes)")
        check(st.get("dropped_on_purpose", 0) > 0 and w.get("nacks", 0) > 0 and w.get("retransmits", 0) > 0,
              "dropped packets were NACKed and resent (%s dropped, %s NACKs, %s resent)"
              % (st.get("dropped_on_purpose"), w.get("nacks"), w.get("retransmits")))
        check(w.get("rtx") is True, "RTX negotiated")
        check(w.get("rtt_ms", -1) >= 0 and w.get("pair", "").startswith("host"),
              "RTT from receiver reports, a host pair shown")
        with urllib.request.urlopen(srv.base + "/metrics", timeout=5) as r:
            m = r.read().decode()
        check('camrelay_whip_publishing{stream="cam"} 1' in m, "/metrics shows the publication")
    finally:
        srv.stop()
        st = ws.stats()
        check(st["deletes"] == 1, "the session was DELETEd when camrelay stopped (%d)" % st["deletes"])
        ws.kill()


def audio(build):
    """[stream.cam.audio] (a 660 Hz test tone) beside the video: one WHIP
    server takes the offer's audio section and aiortc decodes the tone from
    the Opus camrelay sends; another answers it with port 0 and gets the
    video alone (camrelay says so once)."""
    port, port2 = wt.free_port(), wt.free_port()
    ws, ws2 = WhipServer(port, "--token", "t0k3n-audio"), WhipServer(port2, "--token", "t0k3n-audio",
                                                                    "--refuse-audio")
    t = wt.stream_toml("cam", "h264") + '[stream.cam.audio]\nbackend = "test"\ntone = 660\n'
    for p in (port, port2):
        t += '[[stream.cam.sinks]]\ntype = "whip"\nurl = "http://127.0.0.1:%d/whip/cam"\ntoken = "t0k3n-audio"\n' % p
    srv = wt.Server(build, t)
    try:
        def done():
            a, b = ws.stats()["sessions"], ws2.stats()["sessions"]
            return a and b and a[-1]["audio_hz"] and a[-1]["frames"] >= 60 and b[-1]["frames"] >= 60
        wait_for(done, 40)
        s, s2 = (ws.stats()["sessions"] or [{}])[-1], (ws2.stats()["sessions"] or [{}])[-1]
        with urllib.request.urlopen(srv.base + "/api/streams", timeout=5) as r:
            w = json.loads(r.read())["streams"][0].get("whip", [])
        print("     server (audio taken):   %s" % json.dumps(s))
        print("     server (audio refused): %s" % json.dumps(s2))
        print("     camrelay: %s" % json.dumps([{k: x.get(k) for k in ("url", "state", "frames_sent",
                                                                     "audio_packets_sent")} for x in w]))
        taken = [x for x in w if ":%d/" % port in x.get("url", "")]
        refused = [x for x in w if ":%d/" % port2 in x.get("url", "")]
        check(s.get("offered_audio") and s2.get("offered_audio"), "the offers have an audio section")
        check(abs(s.get("audio_hz", 0) - 660) <= 3 and s.get("audio_frames", 0) >= 100,
              "aiortc decodes the 660 Hz tone from camrelay's Opus (%s Hz, %s frames)"
              % (s.get("audio_hz"), s.get("audio_frames")))
        check(s.get("frames", 0) >= 60, "and the video beside it (%s frames)" % s.get("frames"))
        check(taken and taken[0].get("audio_packets_sent", 0) >= 50, "camrelay counts the audio packets sent "
              "(its figures lag by up to 250 ms)")
        check(s2.get("frames", 0) >= 60 and s2.get("audio_frames", 1) == 0 and refused and
              refused[0].get("audio_packets_sent", 1) == 0 and refused[0].get("state") == "publishing",
              "audio refused (port 0): the video goes alone, no audio sent")
        srv.log.seek(0)
        check(srv.log.read().count("refused the audio") == 1, "the refusal is logged once")
    finally:
        srv.stop()
        ws.kill()
        ws2.kill()


def h264_depacketize(pkts):
    """RTP H.264 (RFC 6184: single NAL, STAP-A, FU-A) to Annex-B, in sequence
    order; written here so that ffmpeg decodes a plain byte stream."""
    out = bytearray()
    sc = b"\x00\x00\x00\x01"
    for p in sorted(pkts, key=lambda p: p[0]):
        pl = p[1]
        t = pl[0] & 0x1f
        if 1 <= t <= 23:
            out += sc + pl
        elif t == 24:
            i = 1
            while i + 2 <= len(pl):
                n = int.from_bytes(pl[i:i + 2], "big")
                out += sc + pl[i + 2:i + 2 + n]
                i += 2 + n
        elif t == 28 and len(pl) > 2:
            if pl[1] & 0x80:
                out += sc + bytes([(pl[0] & 0xe0) | (pl[1] & 0x1f)])
            out += pl[2:]
    return bytes(out)


def forwarded_rtp():
    """A thread that collects the RTP the werift server forwards (--forward):
    (socket, [(unwrapped seq, payload)], stop event, thread)."""
    import threading
    rx = wt.socket.socket(wt.socket.AF_INET, wt.socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    pkts, ext = [], {"seq": None, "roll": 0}

    def receive(stop):
        while not stop.is_set():
            try:
                d = rx.recv(2048)
            except OSError:
                continue
            if len(d) < 13:
                continue
            seq = int.from_bytes(d[2:4], "big")
            if ext["seq"] is None:
                ext["roll"] = seq
            else:  # the nearest number to the last one: a late resent packet goes back, a wrap forward
                ext["roll"] += (seq - ext["seq"] + 32768) % 65536 - 32768
            ext["seq"] = seq
            off = 12 + 4 * (d[0] & 0x0f)
            if d[0] & 0x10:  # header extension (the transport-wide sequence number)
                off += 4 + 4 * int.from_bytes(d[off + 2:off + 4], "big")
            pkts.append((ext["roll"], d[off:]))
    stop = threading.Event()
    th = threading.Thread(target=receive, args=(stop,), daemon=True)
    th.start()
    return rx, pkts, stop, th


def ffmpeg_frames(pkts):
    """[(size, iskey)] of the frames ffmpeg decodes from the forwarded H.264."""
    ff = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-f", "h264", "-i", "-", "-vf", "showinfo",
                         "-f", "null", "-"], input=h264_depacketize(pkts), capture_output=True, timeout=60)
    return re.findall(r"\bn: *\d+ .*? s:(\d+x\d+) .*?iskey:(\d)", ff.stderr.decode(errors="replace"))


class WeriftWhip:
    """tests/whip/werift/whip_server_werift.mjs with extra options, forwarding
    what it receives to forwarded_rtp() here (pkts)."""
    def __init__(self, *extra):
        self.rx, self.pkts, self._stop, self._th = forwarded_rtp()
        self.port = wt.free_port()
        self.url = "http://127.0.0.1:%d/whip/cam" % self.port
        self.node = subprocess.Popen(["node", os.path.join(HERE, "werift", "whip_server_werift.mjs"), str(self.port),
                                      "--forward", "127.0.0.1:%d" % self.rx.getsockname()[1]] + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.ready_line = self.node.stdout.readline().strip()

    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % self.port, timeout=5) as r:
            return json.loads(r.read())

    def publish(self, build, what, packets, seconds, hold, gop=0):
        """camrelay publishes to it until werift took `packets` packets
        (checked as `what`), `hold` s more; then camrelay's whip figures and
        /metrics, camrelay stopped, the server's last /stats, the server killed:
        (whip figures, metrics text, stats, frames ffmpeg decoded)."""
        w, metrics, st = {}, "", {"sessions": []}
        srv = wt.Server(build, whip_toml(self.url, gop=gop))
        try:
            check(wait_for(lambda: any(s["packets"] >= packets for s in self.stats()["sessions"]), seconds), what)
            time.sleep(hold)
            w = whip_info(srv)
            with urllib.request.urlopen(srv.base + "/metrics", timeout=5) as r:
                metrics = r.read().decode()
        finally:
            srv.stop()
            try:
                st = self.stats()
            finally:
                self.node.kill()
                self.node.wait()
                self._stop.set()
                self._th.join()
        return w, metrics, st, ffmpeg_frames(self.pkts)


# The REMBs the werift server sends in whip-werift, in bit/s: three different
# values, each exact in REMB's 18-bit mantissa, the last one is what camrelay shows.
REMB_BPS = [1000000, 1600008, 2500000]


def werift(build):
    """werift forwards the RTP it receives (after its own SRTP, NACK and RTX
    handling) to this test, which depacketizes it for ffmpeg to decode. The
    server's UDP relay (--proxy) drops every 40th video packet on its first
    pass: werift NACKs it, camrelay resends it, and the forwarded stream must
    hold it again. werift also sends the REMBs of REMB_BPS: camrelay counts
    them and shows the last bitrate."""
    node_dir = os.path.join(HERE, "werift")
    if not os.path.exists(os.path.join(node_dir, "node_modules", "werift", "package.json")):
        check(False, "werift is installed (run tests/whip/werift/setup, or scripts/install-deps)")
        return
    ws = WeriftWhip("--pli-after", "300", "--proxy", "--drop-every", "40", "--remb", ",".join(map(str, REMB_BPS)))
    check("ready" in ws.ready_line, "the werift WHIP server started (%r)" % ws.ready_line)
    # 450 packets, with the REMBs at 200-300; 0.3 s for the last NACKs
    w, metrics, st, frames = ws.publish(build, "werift receives the publication", 450, 40, 0.3, gop=600)
    pkts = ws.pkts
    sent = w.get("frames_sent", 0)
    keys = sum(1 for _, k in frames if k == "1")
    print("     camrelay: %s" % json.dumps(w))
    print("     werift: %s; %d packets forwarded; ffmpeg decoded %d frames, %d keyframes"
          % (json.dumps(st), len(pkts), len(frames), keys))
    check(w.get("state") == "publishing" and w.get("dtls_role") in ("client", "server"),
          "published to werift (DTLS %s)" % w.get("dtls_role"))
    check(sent >= 100 and len(frames) >= 0.95 * sent, ">= 95%% of the %d frames sent decoded (%d)" % (sent, len(frames)))
    check(frames and all(s == "320x240" for s, _ in frames), "frames are 320x240")
    check(sum(s["plis_sent"] for s in st["sessions"]) == 1 and w.get("plis", 0) >= 1 and keys >= 2,
          "werift's PLI gave a keyframe (GOP 600: %d keyframes decoded)" % keys)
    check(st["deletes"] == 1, "the session was DELETEd when camrelay stopped")
    s = st["sessions"][-1] if st["sessions"] else {}
    dropped = s.get("dropped_seqs", [])
    got = set(q % 65536 for q, _ in pkts)
    back = [q for q in dropped if q in got]
    check(len(dropped) >= 5 and w.get("nacks", 0) > 0 and w.get("retransmits", 0) > 0 and
          s.get("resent_seen", 0) >= len(back),
          "packets the relay dropped were NACKed by werift and resent by camrelay (%d dropped, %s NACKs, %s resent, "
          "%s dropped numbers passed the relay again)" % (len(dropped), w.get("nacks"), w.get("retransmits"),
                                                          s.get("resent_seen")))
    # All but the last two drops (their NACK may come after camrelay stopped):
    check(len(back) >= len(dropped) - 2,
          "werift got them back: %d of the %d dropped packets reached the decoder" % (len(back), len(dropped)))
    # REMB: werift sent REMB_BPS one by one (real RTCP PSFB FMT 15 through its SRTCP); camrelay counts each
    # and shows the last bitrate, in /api/streams and /metrics.
    m = re.search(r'^camrelay_whip_remb_bps\{stream="cam"\} (\d+)$', metrics, re.M)
    check(s.get("remb_sent") == len(REMB_BPS) and s.get("remb_bps") == REMB_BPS and
          w.get("remb_packets") == len(REMB_BPS) and w.get("remb_bps") == REMB_BPS[-1] and
          m is not None and int(m.group(1)) == REMB_BPS[-1],
          "REMB read and shown: werift sent %s REMBs of %s bit/s; camrelay counted %s, shows remb_bps %s, "
          "/metrics %s" % (s.get("remb_sent"), s.get("remb_bps"), w.get("remb_packets"), w.get("remb_bps"),
                           m.group(1) if m else None))
    # werift answers transport-cc: camrelay numbers every packet and reads the feedback.
    sent_pk = w.get("packets_sent", 0)
    check(w.get("transport_cc") is True and w.get("twcc_feedbacks", 0) > 0 and
          0.8 * sent_pk <= w.get("twcc_received", 0) <= sent_pk + w.get("retransmits", 0) and
          w.get("twcc_lost", -1) <= 0.02 * sent_pk,
          "transport-cc feedback read: %s feedbacks, %s of %d packets reported received, %s lost"
          % (w.get("twcc_feedbacks"), w.get("twcc_received"), sent_pk, w.get("twcc_lost")))


class Janus:
    """Debian's janus with only the streaming plugin and the HTTP transport,
    its config written here: one RTP mountpoint (id 1) with a video RTCP
    port, so that Janus sends its PLI for a new viewer back to the sender."""

    def __init__(self, video_port):
        self.dir = wt.tempfile.mkdtemp(prefix="camrelay-janus-")
        self.http_port = wt.free_port()
        lib = "/usr/lib/x86_64-linux-gnu/janus"
        for sub, name in (("plugins", "libjanus_streaming.so"), ("transports", "libjanus_http.so")):
            os.makedirs(os.path.join(self.dir, sub))
            os.symlink(os.path.join(lib, sub, name), os.path.join(self.dir, sub, name))
        conf = {
            "janus.jcfg": 'general: { debug_level = 4 }\nmedia: { rtp_port_range = "40000-50000" }\n'
                          'nat: { ignore_mdns = true }\n',
            "janus.transport.http.jcfg": 'general: { json = "plain" base_path = "/janus" http = true '
                                         'port = %d ip = "127.0.0.1" https = false }\n'
                                         'admin: { admin_http = false }\n' % self.http_port,
            "janus.plugin.streaming.jcfg": 'cam: { type = "rtp" id = 1 description = "camrelay" audio = false '
                                           'video = true videoport = %d videortcpport = %d videopt = 96 '
                                           'videocodec = "h264" '
                                           'videofmtp = "profile-level-id=42e01f;packetization-mode=1" }\n'
                                           % (video_port, video_port + 1),
        }
        for name, text in conf.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.log = open(os.path.join(self.dir, "janus.log"), "w+")
        self.proc = subprocess.Popen(["janus", "-F", self.dir, "-P", os.path.join(self.dir, "plugins"),
                                      "-T", os.path.join(self.dir, "transports"), "--disable-colors"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = "http://127.0.0.1:%d/janus" % self.http_port

        def up():
            try:
                with urllib.request.urlopen(self.url + "/info", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        if not wait_for(up, 20):
            self.stop()
            raise RuntimeError("janus did not start (log in %s)" % self.dir)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def rtp_sink_info(srv):
    with urllib.request.urlopen(srv.base + "/api/streams", timeout=5) as r:
        s = json.loads(r.read())["streams"][0]
    return (s.get("rtp_sinks") or [{}])[0]


def cpu_ns(pid):
    """CPU time camrelay's threads have had, in ns (each thread's schedstat:
    the scheduler's own count, not 10-ms ticks)."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def janus_viewers(url, mountpoint=1):
    """How many viewers Janus's streaming plugin has on the mountpoint (its
    "info" request), or -1."""
    try:
        sid = _janus_post(url, {"janus": "create"})["data"]["id"]
        hid = _janus_post("%s/%d" % (url, sid), {"janus": "attach", "plugin": "janus.plugin.streaming"})["data"]["id"]
        r = _janus_post("%s/%d/%d" % (url, sid, hid), {"janus": "message", "body": {"request": "info", "id": mountpoint}})
        _janus_post("%s/%d" % (url, sid), {"janus": "destroy"})
        return r["plugindata"]["data"]["info"].get("viewers", -1)
    except (OSError, KeyError, ValueError):
        return -1


def _janus_post(url, body):
    body["transaction"] = os.urandom(6).hex()
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def janus(build, viewers=20):
    """camrelay's RTP sink -> Janus's streaming plugin -> aiortc viewers and
    a headless Chromium one (tests/whip/chromium_janus.py). GOP 20 s: a viewer sees video at once only when Janus's PLI for it became
    a keyframe in camrelay. camrelay's own figures say how long after the PLI
    reached its socket the keyframe went out (printed, not pass/fail). Its
    CPU (the threads' schedstat, ns) over 6 s with 1 viewer and with 20, all
    of them watching by Janus's count, must not grow with them: Janus fans
    out, camrelay sends one stream. The bound is 1.5x: the ratio read
    0.90-1.11 in four runs on this machine (the same work measured twice
    while twenty decoders load the cores), so 1.1 failed at random."""
    video_port = wt.ports.free_ports(2, align=2)
    jn = Janus(video_port)
    # 10 fps, GOP 200 (20 s): twenty Python decoders share this machine's cores.
    toml = wt.stream_toml("cam", "h264", fps=10, gop=200, sink="127.0.0.1:%d" % video_port)
    srv = wt.Server(build, toml)
    procs = []
    window = 6.0
    try:
        time.sleep(1.0)

        def viewer(seconds):
            return subprocess.Popen([PY, os.path.join(HERE, "janus_viewer.py"), jn.url, "1", "--seconds",
                                     str(seconds), "--fps", "10"], stdout=subprocess.PIPE, text=True)

        def cpu_window(n):
            """camrelay's CPU (ms per s) over the window, once n viewers watch
            (and 2 s more: the keyframes their joins asked for are sent)."""
            wait_for(lambda: janus_viewers(jn.url) >= n, 60)
            time.sleep(2)
            seen = janus_viewers(jn.url)
            t0, c0 = time.monotonic(), cpu_ns(srv.proc.pid)
            time.sleep(window)
            ms = (cpu_ns(srv.proc.pid) - c0) / 1e6 / (time.monotonic() - t0)
            return ms, seen, janus_viewers(jn.url)
        before = rtp_sink_info(srv)
        p1 = viewer(4)
        out, _ = p1.communicate(timeout=60)
        one = json.loads(out or "{}")
        after = rtp_sink_info(srv)
        print("     one viewer: %s; rtp sink %s -> %s" % (json.dumps(one), json.dumps(before), json.dumps(after)))
        check("error" not in one and one.get("expected", 0) >= 30 and one.get("frames", 0) >= 0.95 * one["expected"],
              "a Janus viewer decodes >= 95%% of its frames (%s of %s)" % (one.get("frames"), one.get("expected")))
        # GOP 200 is 20 s: a first frame well before that can only come from the
        # keyframe Janus's PLI asked for (without it: 16.8 s here).
        check(one.get("keyframes", 0) >= 1 and one.get("first_frame_s", 99) < 5,
              "the viewer's first frame, a keyframe, came %.3f s after 'watch'" % one.get("first_frame_s", 99))
        check((one.get("width"), one.get("height")) == (320, 240) and one.get("sizes_ok"), "frames are 320x240")
        check(after.get("plis", 0) + after.get("firs", 0) > before.get("plis", 0) + before.get("firs", 0)
              and after.get("keyframes_requested", 0) > before.get("keyframes_requested", 0),
              "Janus's PLI for the new viewer reached camrelay as a keyframe request")
        check(after.get("keyframes_answered", 0) > before.get("keyframes_answered", 0),
              "camrelay answered it with a keyframe: %.1f ms from the PLI reaching its socket to the keyframe's "
              "first packet (its own stamps; the longest so far %.1f ms)"
              % (after.get("keyframe_delay_ms", -1), after.get("keyframe_delay_max_ms", -1)))
        check(after.get("rtcp_packets", 0) > 0, "the RTP sink reads Janus's RTCP")
        # A browser viewer: headless Chromium on Janus's HTTP API.
        p = subprocess.run([PY, os.path.join(HERE, "chromium_janus.py"), jn.url, "1", "--seconds", "5"],
                           capture_output=True, text=True, timeout=90)
        ch = json.loads((p.stdout.strip().splitlines() or ["{}"])[-1])
        late = rtp_sink_info(srv)
        print("     chromium: %s; rtp sink keyframes answered %d, PLI -> keyframe %.1f ms"
              % (json.dumps(ch), late.get("keyframes_answered", 0), late.get("keyframe_delay_ms", -1)))
        check("error" not in ch and ch.get("state") == "connected" and ch.get("framesReceived", 0) >= 30 and
              ch.get("framesDecoded", 0) >= 0.95 * ch["framesReceived"] and ch.get("keyFramesDecoded", 0) >= 1,
              "a Chromium viewer of the mountpoint decodes >= 95%% (%s of %s received)"
              % (ch.get("framesDecoded"), ch.get("framesReceived")))
        check((ch.get("frameWidth"), ch.get("frameHeight")) == (320, 240), "Chromium's frames are 320x240")
        check(late.get("keyframes_answered", 0) > after.get("keyframes_answered", 0),
              "Chromium's join was answered by a keyframe in camrelay")
        if viewers > 1:
            # One Python decoder watching through both windows loses frames
            # when twenty start beside it on a loaded machine: the lone viewer
            # ends before the twenty start.
            solo = viewer(window + 8)
            idle, seen1, _ = cpu_window(1)
            r1 = json.loads(solo.communicate(timeout=60)[0] or "{}")
            check("error" not in r1 and r1.get("frames", 0) >= 0.95 * r1.get("expected", 1e9),
                  "the lone viewer of the CPU baseline decodes (%s of %s)" % (r1.get("frames"), r1.get("expected")))
            gone = wait_for(lambda: janus_viewers(jn.url) == 0, 30)
            check(gone, "Janus dropped the earlier viewers before the twenty start (%d left)" % janus_viewers(jn.url))
            procs = [viewer(window + 22) for _ in range(viewers)]
            busy, seen_a, seen_b = cpu_window(viewers)
            res = [json.loads(p.communicate(timeout=120)[0] or "{}") for p in procs]
            procs = []
            late = rtp_sink_info(srv)
            # of the frames between each viewer's first and last, by RTP time
            ok = [r for r in res if "error" not in r and r.get("frames", 0) >= 0.95 * r.get("expected", 1e9)
                  and r.get("expected", 0) >= 40
                  and r.get("sizes_ok") and r.get("width") == 320 and r.get("keyframes", 0) >= 1]
            print("     %d viewers: frames (decoded/expected) %s" % (viewers, ["%s/%s" % (r.get("frames"), r.get("expected"))
                                                                        for r in res]))
            print("     camrelay CPU over %.0f s: %.2f ms/s with %d Janus viewer, %.2f ms/s with %d-%d (ratio %.3f); "
                  "keyframes answered %d, PLI -> keyframe last %.1f ms, longest %.1f ms"
                  % (window, idle, seen1, busy, seen_a, seen_b, busy / idle if idle else 0,
                     late.get("keyframes_answered", 0), late.get("keyframe_delay_ms", -1),
                     late.get("keyframe_delay_max_ms", -1)))
            check(seen1 == 1 and seen_a == viewers and seen_b == viewers,
                  "Janus counted 1, then %d viewers through the windows (%d, %d-%d)" % (viewers, seen1, seen_a, seen_b))
            check(len(ok) == viewers, "all %d Janus viewers decode" % viewers)
            check(busy <= idle * 1.5, "camrelay's CPU with %d viewers not above 1.5x that with 1 (%.2f vs %.2f ms/s)"
                  % (viewers, busy, idle))
    finally:
        for p in procs:
            p.kill()
        srv.stop()
        jn.stop()


def restart(build):
    port = wt.free_port()
    ws = WhipServer(port)
    url = "http://127.0.0.1:%d/whip/cam" % port
    srv = wt.Server(build, whip_toml(url))
    try:
        ok = wait_for(lambda: any(s["frames"] >= 30 for s in ws.stats()["sessions"]), 40)
        check(ok, "first publication decodes")
        first_frame = {}
        ws.kill()
        ws = WhipServer(port)
        t0 = ws.ready

        def republished():
            ss = ws.stats()["sessions"]
            if ss and ss[0]["frames"] > 0:
                first_frame.setdefault("t", time.monotonic())
                return True
            return False
        ok = wait_for(republished, 30)
        dt = first_frame.get("t", 1e9) - t0
        print("     re-published: first frame at the restarted server %.2f s after it was ready" % dt)
        check(ok, "camrelay published again to the restarted server")
        check(dt < 5.0, "re-published within 5 s (%.2f s)" % dt)
        w = whip_info(srv)
        check(w.get("publishes") == 2 and w.get("failures", 0) >= 1, "two publications, the loss counted (%s)" % w)
    finally:
        srv.stop()
        ws.kill()


def log_stamp(line):
    """Seconds of the day from a text log line's 'HH:MM:SS.mmm' stamp."""
    m = re.match(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) ", line)
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1000 if m else None


def errors(build):
    port = wt.free_port()
    url = "http://127.0.0.1:%d/whip/cam" % port
    # A cap 8 times the 0.25 s start: the wait doubles 0.25, 0.5, 1, 2, then stays.
    srv = wt.Server(build, whip_toml(url, extra="backoff_max_ms = 2000\n"))
    cases = [("401", ["--token", "the-right-token"], r"POST answered 401 Unauthorized: invalid token"),
             ("500", ["--mode", "500"], r"POST answered 500 Internal Server Error: internal trouble"),
             ("html", ["--mode", "html"], r"POST answered 201 with Content-Type \"text/html\", not application/sdp"),
             ("no Location", ["--mode", "nolocation"], r"POST answered 201 without a Location header"),
             ("bad SDP", ["--mode", "badsdp"], r"bad answer: the answer is not valid SDP: line 2")]
    posts = {}
    try:
        for name, args, pattern in cases:
            ws = WhipServer(port, *args)
            try:
                base = whip_info(srv).get("failures", 0)
                ok = wait_for(lambda: whip_info(srv).get("failures", 0) >= base + 3, 30)
                check(ok, "%s: camrelay retries (%s)" % (name, whip_info(srv).get("failures")))
                w = whip_info(srv)
                check(w.get("state") in ("retrying", "posting") and re.search(pattern, w.get("last_error", "")),
                      "%s: the error is shown in /api/streams (%r)" % (name, w.get("last_error")))
                if name == "500":
                    # 10 more failures: the process keeps no fd from them.
                    before, f0 = fd_count(srv.proc.pid), w["failures"]
                    wait_for(lambda: whip_info(srv).get("failures", 0) >= f0 + 10, 60)
                    after = fd_count(srv.proc.pid)
                    check(after <= before, "500: fd count flat over 10 failures (%d -> %d)" % (before, after))
                # Right after a failure (the wait before the next POST is >= 1 s by
                # now): the POSTs this server answered, to set against the log.
                f1 = whip_info(srv).get("failures", 0)
                wait_for(lambda: whip_info(srv).get("failures", 0) > f1, 30)
                posts[name] = ws.stats()["posts"]
            finally:
                ws.kill()
        check(srv.proc.poll() is None, "camrelay still runs")
        f1 = whip_info(srv).get("failures", 0)
        wait_for(lambda: whip_info(srv).get("failures", 0) > f1, 30)  # again right after a failure
        w = whip_info(srv)
        srv.log.flush()
        srv.log.seek(0)
        text = srv.log.read()
        for name, _, pattern in cases:
            lines = [l for l in text.splitlines() if re.search(pattern, l)]
            check(lines and all(url in l and "publishing again in" in l for l in lines),
                  "%s: each log line names the URL and the next attempt (%d lines)" % (name, len(lines)))
            check(len(lines) == posts.get(name, -1),
                  "%s: one log line per attempt: %d lines, %s POSTs at the server" % (name, len(lines), posts.get(name)))
        # Every failed attempt (the refused connections between the servers
        # too) is one "publishing again in" line, and the waits they announce
        # double from 0.25 s to the 2 s cap: the backoff as counters.
        retry = [(log_stamp(l), float(re.search(r"publishing again in ([\d.]+) s", l)[1]))
                 for l in text.splitlines() if "publishing again in" in l]
        said = [b for _, b in retry]
        want = [min(0.25 * 2 ** i, 2.0) for i in range(len(said))]
        print("     %d failures in /api/streams, %d retry lines; waits announced %s" % (w["failures"], len(retry),
                                                                                       said[:8]))
        check(len(retry) == w["failures"], "one retry line per failure counted (%d lines, %d failures)"
              % (len(retry), w["failures"]))
        check(len(said) >= 8 and said == want, "the announced waits double from 0.25 s to the 2 s cap")
        # And the log's stamps show them kept: each gap between two failures is
        # about the wait the first announced or more (generously: 80 % of it
        # less 50 ms, as libevent's timer counts from the loop's cached time,
        # a little before the log line's stamp: -3 ms seen), so the gaps grow
        # 0.25 -> 2 s; the first two gaps are below the gaps at the cap (a
        # generous bound: 1.5 s of slack for an attempt's own time).
        gaps = [(b - a[0]) % 86400 for a, b in zip(retry, [t for t, _ in retry[1:]])]
        print("     gaps between failures (log stamps): %s" % ["%.3f" % g for g in gaps[:8]])
        check(gaps and all(g >= 0.8 * b - 0.05 for g, (_, b) in zip(gaps, retry)),
              "every gap between failures about the wait announced or more (gap minus wait: %.3f .. %.3f s)"
              % (min([g - b for g, (_, b) in zip(gaps, retry)] or [-1]),
                 max([g - b for g, (_, b) in zip(gaps, retry)] or [-1])))
        capped = [g for g, (_, b) in zip(gaps, retry) if b == 2.0]
        check(len(gaps) >= 6 and capped and max(gaps[:2]) < min(capped),
              "the gaps grow: the first two (%s) below every gap at the cap (shortest %.2f s)"
              % (["%.2f" % g for g in gaps[:2]], min(capped or [0])))
        n401 = len(re.findall(r"401 Unauthorized", text))
        check(w["attempts"] >= w["failures"] >= 15 and n401 >= 3, "attempts counted (%s)" % w)
    finally:
        srv.stop()


def dtls(build):
    port = wt.free_port()
    ws = WhipServer(port, "--token", "test-token-1234", "--dtls-passive")
    srv = wt.Server(build, whip_toml("http://127.0.0.1:%d/whip/cam" % port))
    try:
        ok = wait_for(lambda: any(s["frames"] >= 100 for s in ws.stats()["sessions"]), 40)
        check(ok, "the aiortc WHIP server decodes frames")
        w = whip_info(srv)
        s = ws.stats()["sessions"][-1]
        print("     camrelay: %s" % json.dumps(w))
        print("     server:   %s" % json.dumps(s))
        check(s.get("setup") == "passive", "the answer said a=setup:passive (%r)" % s.get("setup"))
        check(w.get("dtls_role") == "client" and w.get("publishes") == 1,
              "camrelay took the DTLS client role (%r)" % w.get("dtls_role"))
        sent = w.get("frames_sent", 0)
        check(sent >= 80 and s.get("frames", 0) >= 0.95 * sent,
              ">= 95%% of the %d frames sent decoded (%d)" % (sent, s.get("frames", 0)))
    finally:
        srv.stop()
        ws.kill()


def ice_restart(build):
    """Consent lost with both ends alive (the servers drop every datagram
    after POST /pause): werift restarts ICE over PATCH (If-Match: "*", new
    credentials both ways) and the same session goes on; an aiortc server
    that answers PATCH with 405 gets a fresh POST instead."""
    node_dir = os.path.join(HERE, "werift")
    check(os.path.exists(os.path.join(node_dir, "node_modules", "werift", "package.json")),
          "werift is installed (run tests/whip/werift/setup, or scripts/install-deps)")
    port = wt.free_port()
    node = subprocess.Popen(["node", os.path.join(node_dir, "whip_server_werift.mjs"), str(port), "--proxy"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check("ready" in node.stdout.readline(), "the werift WHIP server started")
    base = "http://127.0.0.1:%d" % port

    def get(path):
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return json.loads(r.read())

    def pause():
        urllib.request.urlopen(urllib.request.Request(base + "/pause", data=b"", method="POST"), timeout=5).read()
    srv = wt.Server(build, whip_toml(base + "/whip/cam"))
    try:
        check(wait_for(lambda: any(s["packets"] >= 100 for s in get("/stats")["sessions"]), 40), "werift receives")
        pause()
        ok = wait_for(lambda: whip_info(srv).get("ice_restarts", 0) >= 1, 30)
        w = whip_info(srv)
        st = get("/stats")
        s = st["sessions"][-1]
        at = s.get("restarts") and s["packets_at_restart"]
        grew = wait_for(lambda: get("/stats")["sessions"][-1]["packets"] >= (at or 1e9) + 100, 20)
        st = get("/stats")
        s = st["sessions"][-1]
        print("     camrelay: %s" % json.dumps(w))
        print("     werift: posts %d, patches %s, packets %d (%d at the restart)"
              % (st["posts"], [(p.get("if_match"), p.get("answer")) for p in st["patches"]], s["packets"],
                 s["packets_at_restart"]))
        check(ok and w.get("state") == "publishing" and w.get("publishes") == 1 and st["posts"] == 1,
              "consent lost -> ICE restarted in the same session (one POST, %s restarts, %r)"
              % (w.get("ice_restarts"), w.get("restart")))
        p = st["patches"][0] if st["patches"] else {}
        check(len(st["patches"]) == 1 and p.get("if_match") == "*" and p.get("answer") == 200 and
              p.get("ctype") == "application/trickle-ice-sdpfrag" and "a=ice-ufrag:" in p.get("body", ""),
              "one PATCH with If-Match: \"*\" and the new credentials, answered 200 with a fragment")
        check(grew, "werift took SRTP packets after the restart (%d after %d): DTLS and SRTP carried on"
              % (s["packets"], s["packets_at_restart"]))
        with urllib.request.urlopen(srv.base + "/metrics", timeout=5) as r:
            check('camrelay_whip_ice_restarts_total{stream="cam"} 1' in r.read().decode(), "/metrics counts it")
    finally:
        srv.stop()
        node.kill()
        node.wait()
    # aiortc answering 405 to every PATCH: a fresh POST.
    port = wt.free_port()
    ws = WhipServer(port, "--patch", "none")
    url = "http://127.0.0.1:%d/whip/cam" % port
    srv = wt.Server(build, whip_toml(url))
    try:
        check(wait_for(lambda: any(s["frames"] >= 30 for s in ws.stats()["sessions"]), 40), "aiortc decodes")
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%d/pause" % port, data=b"", method="POST"),
                               timeout=5).read()
        ok = wait_for(lambda: len(ws.stats()["sessions"]) == 2 and ws.stats()["sessions"][1]["frames"] >= 30, 40)
        w, st = whip_info(srv), ws.stats()
        print("     camrelay: publishes %s, restart %r, last_error %r" % (w.get("publishes"), w.get("restart"),
                                                                        w.get("last_error")))
        check(ok and w.get("publishes") == 2 and w.get("ice_restarts") == 0 and st["posts"] == 2,
              "405 -> a fresh POST, the new session decodes")
        check([(p["if_match"], p["answer"]) for p in st["patches"]] == [("*", 405)] and
              "405" in w.get("restart", "") and "fresh POST" in w.get("restart", "") and st["deletes"] >= 1,
              "the restart PATCH was tried once, its 405 named, the old session DELETEd")
    finally:
        srv.stop()
        ws.kill()


def ice_lite(build):
    """An ICE-lite WHIP server: werift with werift-ice's lite agent in place of
    its own (whip_server_werift.mjs --ice-lite) answers a=ice-lite; its UDP
    relay (--proxy) counts the STUN each side sends. camrelay, the controlling
    full agent, must check the server's candidate with USE-CANDIDATE (a lite
    agent sends no checks and no consent requests: it takes the pair it is
    given), keep consent itself, and publish; werift forwards the RTP it
    takes out of SRTP to ffmpeg here."""
    node_dir = os.path.join(HERE, "werift")
    if not os.path.exists(os.path.join(node_dir, "node_modules", "werift-ice", "package.json")):
        check(False, "werift and werift-ice are installed (run tests/whip/werift/setup, or scripts/install-deps)")
        return
    ws = WeriftWhip("--proxy", "--ice-lite")
    check("ready" in ws.ready_line, "the werift ICE-lite WHIP server started (%r)" % ws.ready_line)
    # 5 s past the first 100 packets: two of camrelay's consent refreshes (every 2 s); the lite server asks for none
    w, _, st, frames = ws.publish(build, "werift (ICE-lite) receives the publication", 100, 30, 5)
    sent = w.get("frames_sent", 0)
    s = st["sessions"][-1] if st["sessions"] else {}
    answer = s.get("answer", "")
    stun = s.get("stun", {})
    cl, sv = stun.get("client", {}), stun.get("server", {})
    print("     camrelay: %s" % json.dumps(w))
    print("     werift: posts %s, packets %s, STUN at the relay: %s; ffmpeg decoded %d of %d frames"
          % (st.get("posts"), s.get("packets"), json.dumps(stun), len(frames), sent))
    print("     answer: %s" % " | ".join(l for l in answer.splitlines() if l.startswith(("a=ice", "a=cand"))))
    cand = re.search(r"^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", answer, re.M)
    check(re.search(r"^a=ice-lite\r?$", answer, re.M) is not None and st.get("posts") == 1,
          "the server's answer carries a=ice-lite")
    check(cand is not None and len(re.findall(r"^a=candidate:", answer, re.M)) == 1,
          "the answer lists one host candidate (%s)" % (cand and "%s:%s" % cand.groups()))
    check(w.get("state") == "publishing" and cand is not None and
          w.get("pair", "").startswith("host ") and w.get("pair", "").endswith(
              "-> host %s:%s" % cand.groups()), "camrelay's pair is the lite server's candidate (%r)" % w.get("pair"))
    check(sv.get("requests", -1) == 0, "the lite server sent no STUN check or consent request (%s)"
          % sv.get("requests"))
    check(cl.get("use_candidate", 0) >= 1 and sv.get("answers", 0) >= 1,
          "camrelay checked it with USE-CANDIDATE and was answered (%s USE-CANDIDATE, %s answers)"
          % (cl.get("use_candidate"), sv.get("answers")))
    check(cl.get("requests", 0) >= 3 and sv.get("answers", 0) >= cl.get("requests", 0) - 1,
          "camrelay kept consent by itself: %s Binding requests over the publication, %s answered"
          % (cl.get("requests"), sv.get("answers")))
    check(sent >= 100 and len(frames) >= 0.95 * sent and all(f == "320x240" for f, _ in frames),
          ">= 95%% of the %d frames sent decoded at 320x240 (%d)" % (sent, len(frames)))


SCENARIOS = {"ice-lite": ice_lite, "ice-restart": ice_restart, "aiortc": aiortc, "audio": audio, "dtls": dtls, "werift": werift, "janus": janus, "restart": restart, "errors": errors}

if __name__ == "__main__":
    SCENARIOS[sys.argv[2]](sys.argv[1])
    print("%d failure(s)" % len(wt.failures))
    sys.exit(1 if wt.failures else 0)
