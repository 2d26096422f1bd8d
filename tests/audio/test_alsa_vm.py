#!/usr/bin/python3
"""ALSA capture in the real-kernel VM (issue 19), one boot: snd-aloop (the
kernel's ALSA loopback) carries a tone that ffmpeg plays into one side, and
camrelay captures it from the other.

    tests/vm/run-in-vm -- /usr/bin/python3 test_alsa_vm.py CAMRELAY

Checks: `camrelay list` shows the loopback's capture devices; the tone
arrives (ffmpeg records camrelay's /sdp/<stream>; spectrum peak at the tone);
over WHEP, aiortc (tests/webrtc/whep_client.py) decodes its Opus with the
spectrum's peak at the tone, and headless Chromium in the guest reports
totalSamplesReceived growing with real samples and audioLevel > 0;
the card's clock set 3 % fast, then 3 % slow (snd-aloop's PCM Rate Shift):
the samples camrelay drops or skips (counters) are that share of the time
and its timestamps stay within a block of the clock (no growing delay);
unplugging the card (unbinding the snd_aloop platform device, which
disconnects every open file as a USB unplug does) leaves the video running
and the audio silent, and the audio returns within 3 s of the card coming
back, over 5 cycles with the fd count flat; a busy device, a device the
user may not open (camrelay run as nobody, outside the audio group), a
missing one and an unsupported rate are named clearly in /api/streams while
the video runs. Talk-back (intercom): an aiortc WHEP viewer sends a 660 Hz
tone as its microphone; camrelay plays it on the loopback's playback side,
arecord records it from the capture side (spectrum peak at the tone); a
second talker is refused, and so is one while another program holds the
playback device (named busy, with fuser)."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TONE = 880
TALK_TONE = 660
CAP = "plughw:CARD=Loopback,DEV=1"
PLAY = "hw:CARD=Loopback,DEV=0"
failures = []
# CAMRELAY_ALSA_VM_PARTS=whep (passed into the guest by run-in-vm): only the
# tone and its WHEP viewers, for working on them (~1.5 min instead of ~5).
PARTS = os.environ.get("CAMRELAY_ALSA_VM_PARTS", "all")


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def player():
    """ffmpeg playing the tone into the loopback's playback side, in real time."""
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                             "sine=frequency=%d:sample_rate=48000" % TONE, "-af", "volume=0.5", "-ac", "1",
                             "-ar", "48000", "-f", "alsa", PLAY],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


class Camrelay:
    def __init__(self, camrelay, audio, rtp_port=None, user=None, backend="alsa"):
        self.http = 18400 + len(os.listdir("/tmp")) % 50 * 2
        self.dir = tempfile.mkdtemp(prefix="cr-alsa-")
        os.chmod(self.dir, 0o755)  # readable by a user= camrelay
        cfg = os.path.join(self.dir, "c.toml")
        with open(cfg, "w") as f:
            f.write('[http]\nlisten = "127.0.0.1:%d"\n[rtsp]\nenabled = false\n[webrtc]\nport = %d\n'
                    '[stream.cam]\n[[stream.cam.sources]]\n'
                    'capture = { backend = "test", width = 160, height = 120, fps = 10 }\n'
                    '[stream.cam.sources.encoder]\nbackend = "software"\ncodec = "h264"\nbitrate = 100000\n'
                    '[stream.cam.audio]\nbackend = "%s"\n%s\n' % (self.http, self.http + 1000, backend, audio))
            if rtp_port:
                f.write('[[stream.cam.sinks]]\ntype = "rtp"\naddress = "127.0.0.1:%d"\n' % rtp_port)
        self.log = open(os.path.join(self.dir, "log"), "w+")
        os.chmod(cfg, 0o644)
        kw = {"user": user, "group": user, "extra_groups": []} if user is not None else {}
        self.p = subprocess.Popen([camrelay, "serve", "-c", cfg], stdout=self.log, stderr=subprocess.STDOUT, **kw)
        self.base = "http://127.0.0.1:%d" % self.http
        for _ in range(300):
            try:
                self.stream()
                return
            except OSError:
                time.sleep(0.1)

    def stream(self):
        with urllib.request.urlopen(self.base + "/api/streams/cam", timeout=5) as r:
            return json.load(r)

    def audio(self):
        return self.stream().get("audio") or {}

    def wait_audio(self, pred, seconds):
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            a = self.audio()
            if pred(a):
                return a, time.monotonic() - t0
            time.sleep(0.1)
        return self.audio(), None

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.p.pid))

    def stop(self):
        self.p.terminate()
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = -9
        self.log.seek(0)
        text = self.log.read()
        return rc, text


def card_player():
    """ffmpeg playing the tone into the loopback as fast as the card takes it
    (no -re): paced by the card's clock, so a shifted card plays on."""
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                             "sine=frequency=%d:sample_rate=48000" % TONE, "-af", "volume=0.5", "-ac", "1",
                             "-ar", "48000", "-f", "alsa", PLAY],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def rate_shift(value):
    """snd-aloop's clock for the cable from DEV=0's playback to DEV=1's
    capture (the control of device 1 sets both ends): the card makes
    48000 * 100000 / value samples per second of the system's clock."""
    return sh("amixer", "-q", "-c", "Loopback", "cset", "iface=PCM,name=PCM Rate Shift 100000,device=1",
              str(value))


def drift(cr):
    """A card whose clock runs about 3 % fast, then 3 % slow, against the
    system's (snd-aloop's rate shift): the stage drops (fast) or skips
    (slow) blocks, counted in samples, about the card's offset, and the
    timestamps stay on the clock (audio.drift_offset_ms: the last block's
    RTP time minus its capture time) instead of running away with the card."""
    for shift in (97000, 103000):
        r = rate_shift(shift)
        check(r.returncode == 0, "PCM Rate Shift set to %d (%s)" % (shift, r.stderr.strip()))
        want = 100000.0 / shift - 1
        time.sleep(3)  # the card's timer picks the shift up at its next period
        c0, t0 = cr.audio()["counters"], time.monotonic()
        offsets = []
        while time.monotonic() - t0 < 14:
            time.sleep(1)
            offsets.append(cr.audio().get("drift_offset_ms", 0.0))
        a, t1 = cr.audio(), time.monotonic()
        c1 = a["counters"]
        d = {k: c1[k] - c0[k] for k in c0}
        net = (d["drift_drop_samples"] - d["drift_gap_samples"]) / 48000.0 / (t1 - t0)
        print("     shift %d (card %+.2f %%): %.1f s, %d packets, %d drops (%d samples), %d gaps (%d samples), "
              "%d xruns: absorbed %+.2f %%; offset ms %s" % (shift, want * 100, t1 - t0, d["packets"], d["drift_drops"],
                                                             d["drift_drop_samples"], d["drift_gaps"],
                                                             d["drift_gap_samples"], d["xruns"], net * 100,
                                                             ["%.1f" % o for o in offsets]))
        # An overrun (TCG) restarts the stamps on the clock: the drift built
        # up since the last drop or skip (under a block, 20 ms) goes uncounted.
        bound = 0.005 + d["xruns"] * 0.02 / (t1 - t0)
        check(abs(net - want) <= bound < abs(want) / 2, "a card %+.2f %% off the system's clock: %+.2f %% absorbed "
              "(drops - gaps; bound +-%.2f %% with %d xruns)" % (want * 100, net * 100, bound * 100, d["xruns"]))
        check(all(abs(o) <= 30 for o in offsets), "its timestamps stay on the clock (offset within 30 ms: max %.1f)"
              % max(abs(o) for o in offsets))
    rate_shift(100000)


def record_tone(cr, seconds=4):
    with urllib.request.urlopen(cr.base + "/sdp/cam", timeout=20) as r:
        sdp = r.read().decode()
    path = os.path.join(cr.dir, "cam.sdp")
    with open(path, "w") as f:
        f.write(sdp)
    wav = os.path.join(cr.dir, "a.f32")
    p = sh("ffmpeg", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp", "-i", path,
           "-map", "0:a", "-t", str(seconds), "-ac", "1", "-f", "f32le", "-y", wav, timeout=120)
    import numpy as np
    x = np.fromfile(wav, dtype="<f4") if os.path.exists(wav) else np.zeros(0, "f4")
    x = x[len(x) // 4:]
    if len(x) < 4800:
        return None, None, p.stderr[-300:]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return (float(np.fft.rfftfreq(len(x), 1 / 48000)[int(np.argmax(spec))]),
            float(20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-9)), "")


def talker(cr, seconds, hold=False, wait_go=False):
    return subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "talk_client.py"), cr.base + "/whep/cam",
                             "--tone", str(TALK_TONE), "--seconds", str(seconds)] + (["--hold"] if hold else [])
                            + (["--wait-go"] if wait_go else []),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def talkback(cr):
    try:
        with urllib.request.urlopen(cr.base + "/api/webrtc", timeout=30) as r:
            return json.load(r).get("talkback", {}).get("cam", {})
    except OSError as e:  # a timeout too
        check(False, "/api/webrtc answers during talk-back (%s)" % e)
        return {}


def last_json(p, timeout=180, stdin=None):
    out, err = p.communicate(input=stdin, timeout=timeout)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": err[-600:]}


def guest_address():
    """aiortc offers no candidate on 127.0.0.1 (nor does Chromium gather
    one), and the guest has no other address: a dummy interface with one
    (192.0.2.0/24 is for documentation). Set up once per boot."""
    if os.path.exists("/sys/class/net/crtalk0"):
        return
    sh("modprobe", "dummy")
    r = sh("ip", "link", "add", "crtalk0", "type", "dummy")
    r = r if r.returncode else sh("ip", "addr", "add", "192.0.2.9/24", "dev", "crtalk0")
    r = r if r.returncode else sh("ip", "link", "set", "crtalk0", "up")
    check(r.returncode == 0, "an address for WebRTC viewers on a dummy interface (%s)" % r.stderr.strip())


def viewer_audio_sent(cr, viewer):
    try:
        with urllib.request.urlopen(cr.base + "/api/webrtc", timeout=30) as r:
            for v in json.load(r).get("viewers", []):
                if v.get("id") == viewer:
                    return v.get("audio_packets_sent")
    except OSError:
        pass
    return None


def whep_aiortc(cr):
    """The captured tone over WHEP to aiortc (tests/webrtc/whep_client.py,
    as in webrtc-aiortc-audio): Opus decoded, the spectrum of its last 3 s
    peaks at the tone played into the loopback."""
    guest_address()
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "..", "webrtc", "whep_client.py"),
                          cr.base + "/whep/cam", "--audio", "--seconds", "8", "--min-audio-frames", "200",
                          "--first-frame-wait", "180", "--keep-session"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first, s, sent = {}, {}, None
    try:
        first = json.loads(p.stdout.readline() or "{}")  # after >= 8 s of media and 200 audio frames
        sent = viewer_audio_sent(cr, first.get("viewer"))
        s = last_json(p, timeout=300, stdin="\n\n")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    s.pop("audio_payload_md5", None)
    print("     aiortc over WHEP: %s; server sent %s Opus packets" % (json.dumps(s), sent))
    check("error" not in s and s.get("audio_in_answer"), "aiortc's WHEP offer with audio is answered with audio (%s)"
          % s.get("error", ""))
    # Under TCG aiortc decodes fewer than 50 a second: counted, not timed
    # (it goes on until 200); >= 3 s of frames, what the spectrum reads.
    check(s.get("audio_frames", 0) >= 150, "aiortc decoded >= 150 Opus frames (%s; %s of the %s the server had sent)"
          % (s.get("audio_frames"), first.get("audio_frames"), sent))
    check(abs(s.get("audio_tone_hz", 0) - TONE) <= 3, "aiortc's decoded spectrum peaks at the %d Hz played into the "
          "loopback (%s Hz)" % (TONE, s.get("audio_tone_hz")))
    check(-33 < s.get("audio_dbfs", -100) < -21, "at about the level played, -27.1 dBFS (%s)" % s.get("audio_dbfs"))


def whep_chromium(cr, play):
    """The captured tone over WHEP to headless Chromium in the guest
    (tests/webrtc/chromium_whep.py's page, as in webrtc-chromium-audio): its
    getStats() shows Opus arriving, totalSamplesReceived growing with real
    (not concealed) samples, and audioLevel > 0 -- at the tone's level:
    Chromium reports 3.05e-05 (one LSB) for digital silence, so "> 0" alone
    holds without the tone. Then the player stops and the level must fall to
    silence's. Under TCG Chromium is slow to start and to connect: waited
    for, not timed. --disable-audio-output: Chromium's own fake output, paced
    by its clock (not the loopback, card 0 here; ALSA's null device would
    pull samples as fast as it can)."""
    sys.path.insert(0, os.path.join(HERE, "..", "webrtc"))
    import chromium_whep
    guest_address()
    profile = tempfile.mkdtemp(prefix="cr-chromium-")
    t0 = time.monotonic()
    try:
        proc, ws = chromium_whep.start_chromium(19222, profile, ["--autoplay-policy=no-user-gesture-required",
                                                                 "--disable-audio-output"], wait=180)
    except RuntimeError as e:
        check(False, "chromium starts in the guest (%s)" % e)
        return
    try:
        cdp = chromium_whep.Cdp(ws)
        cdp.ws.settimeout(180)
        cdp.call("Page.navigate", url=cr.base + "/api/webrtc")
        time.sleep(2)
        r = cdp.evaluate(chromium_whep.JS_START % {"url": json.dumps(cr.base + "/whep/cam"), "name": '"cam"',
                                                   "audio": "true"}) or {}
        print("     chromium (started in %.1f s): %s" % (time.monotonic() - t0, json.dumps(r)))
        check("error" not in r, "chromium's WHEP offer is answered (%s)" % r.get("error"))
        if "error" in r:
            return
        stats, t1 = {}, time.monotonic()
        while time.monotonic() - t1 < 150:
            stats = cdp.evaluate(chromium_whep.JS_STATS % {"name": '"cam"'}) or {}
            a = stats.get("audio") or {}
            # Under TCG playout (the samples pulled) may start well after the packets.
            if stats.get("state") == "connected" and a.get("packetsReceived", 0) >= 50 and \
                    a.get("totalSamplesReceived", 0) > 0:
                break
            time.sleep(2)
        print("     chromium: %s after %.1f s, audio %s" % (stats.get("state"), time.monotonic() - t1,
                                                           json.dumps(stats.get("audio"))))
        # Read each second until 1 s of real (not concealed) samples has been
        # played out, at least 5 s: under TCG Chromium's playout runs far
        # behind at times (counted, not timed; 90 s at most).
        a0, levels, t1 = stats.get("audio") or {}, [], time.monotonic()
        real = (lambda a: a.get("totalSamplesReceived", 0) - a.get("concealedSamples", 0))
        while time.monotonic() - t1 < 90:
            time.sleep(1)
            st = cdp.evaluate(chromium_whep.JS_STATS % {"name": '"cam"'}) or {}
            a1 = st.get("audio") or {}
            levels.append(a1.get("audioLevel"))
            if len(levels) >= 5 and real(a1) - real(a0) >= 48000:
                break
        sent = viewer_audio_sent(cr, r.get("viewer"))
        el = cdp.evaluate("(() => { const a = document.querySelector('audio'); return a ? {paused: a.paused, "
                          "readyState: a.readyState, currentTime: a.currentTime} : null; })()")
        print("     chromium audio %.1f s later: %s; audioLevel each second %s; server sent %s Opus packets; "
              "video frames decoded %s; <audio> %s" % (time.monotonic() - t1, json.dumps(a1), levels, sent, st.get("framesDecoded"), el))
        check(st.get("state") == "connected" and a1.get("codec", "").lower() == "audio/opus",
              "chromium connected and receives Opus (%s, %s)" % (st.get("state"), a1.get("codec")))
        grew = a1.get("totalSamplesReceived", 0) - a0.get("totalSamplesReceived", 0)
        concealed = a1.get("concealedSamples", 0) - a0.get("concealedSamples", 0)
        check(a0.get("totalSamplesReceived", 0) > 0 and grew - concealed >= 48000 and
              a1.get("packetsReceived", 0) > a0.get("packetsReceived", 0),
              "totalSamplesReceived grows (%s -> %s, %d of them concealed) and packets arrive (%s -> %s)"
              % (a0.get("totalSamplesReceived"), a1.get("totalSamplesReceived"), concealed,
                 a0.get("packetsReceived"), a1.get("packetsReceived")))
        # The tone's peak is 1/16 (-24 dBFS); 0.01 is -40 dBFS.
        check(max(l or 0 for l in levels) > 0.01 and (a1.get("totalAudioEnergy") or 0) >
              (a0.get("totalAudioEnergy") or 0), "audioLevel > 0 at the tone's level (> 0.01: %s), totalAudioEnergy "
              "grows (%s -> %s)" % (["%.4g" % (l or 0) for l in levels], a0.get("totalAudioEnergy"),
                                    a1.get("totalAudioEnergy")))
        # The level is the loopback's: with the player stopped it falls.
        play.terminate()
        play.wait(timeout=10)
        t1, level = time.monotonic(), None
        while time.monotonic() - t1 < 30:
            time.sleep(1)
            level = ((cdp.evaluate(chromium_whep.JS_STATS % {"name": '"cam"'}) or {}).get("audio") or {}).get(
                "audioLevel")
            if level is not None and level < 0.001:
                break
        print("     player stopped: chromium audioLevel %s after %.1f s" % (level, time.monotonic() - t1))
        check(level is not None and level < 0.001, "with the player stopped chromium's audioLevel falls to "
              "silence's (< 0.001: %s)" % level)
        if r.get("location"):
            req = urllib.request.Request(cr.base + r["location"], method="DELETE")
            urllib.request.urlopen(req, timeout=30).read()
    except Exception as e:  # the DevTools socket's timeout, a JS error: a failure, not a crash
        check(False, "chromium in the guest answers (%s)" % e)
    finally:
        chromium_whep.stop_chromium(proc, profile)


def intercom(camrelay):
    """Talk-back: aiortc's tone played by camrelay into the loopback's
    playback side, recorded by arecord from its capture side."""
    import numpy as np
    # aiortc offers no candidate on 127.0.0.1, and the guest has no other
    # address: a dummy interface with one (192.0.2.0/24 is for documentation).
    # Under TCG a talker lives only ~30-40 s: aiortc (aioice 0.8) gives its
    # own consent checks 0.5 s on its event loop with no retransmission, and
    # its loop, behind on the media it reads one datagram a turn, takes
    # camrelay's answers (sent within 6 ms) too late; after 6 such checks it
    # closes ICE ("Consent to send expired"), stops answering camrelay's
    # checks, and camrelay drops it 30 s later (reproduced on the host with
    # aiortc held to 4 % of a CPU). Hence the second talker below asks early.
    guest_address()
    raw = os.path.join(tempfile.mkdtemp(prefix="cr-talk-"), "heard.raw")
    rec = subprocess.Popen(["arecord", "-q", "-D", CAP.replace("plughw", "hw"), "-f", "S16_LE", "-r", "48000", "-c",
                            "1", "-t", "raw", raw], stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    cr = Camrelay(camrelay, 'playback = "%s"' % PLAY, backend="test")
    try:
        # The second talker is started now and offers when told: aiortc takes
        # long to load under TCG, and the first talker must still talk then.
        b = talker(cr, 1, wait_go=True)
        a = talker(cr, 240, hold=True)  # talks until told
        first = json.loads(a.stdout.readline() or "{}")
        print("     talker: %s" % json.dumps(first))
        check(first.get("talkback") == "talking" and first.get("audio_direction") == "sendrecv",
              "the first talker gets %s (X-Talkback %s, a=%s)" % (PLAY, first.get("talkback"), first.get("audio_direction")))
        t0 = time.monotonic()
        while time.monotonic() - t0 < 90 and talkback(cr).get("packets", 0) < 20:
            time.sleep(0.5)
        r = last_json(b, stdin="go\n")
        print("     second talker: %s" % r.get("talkback"))
        check(r.get("status") == 201 and (r.get("talkback") or "").startswith("refused: viewer %s is talking"
                                                                             % first.get("viewer"))
              and r.get("audio_direction") == "sendonly", "a second talker is refused, with the reason (%s)"
              % r.get("talkback"))
        time.sleep(5)  # a few more seconds of the tone
        r = last_json(a, stdin="\n")
        print("     first talker done: %s" % json.dumps(r))
        t = talkback(cr)
        print("     talkback: %s" % json.dumps(t))
        print("     added talk-back delay (packet arrival -> out of the device): p50 %s p99 %s ms; underruns %s"
              % (t.get("delay_p50_ms"), t.get("delay_p99_ms"), t.get("underruns")))
        # Under TCG aiortc sends far fewer than 50 packets a second: counted, not timed.
        check(t.get("talker") is None and t.get("packets", 0) >= 50 and t.get("decoded", 0) >= 40,
              "the talker's packets were played and the device freed (%s packets, %s decoded)"
              % (t.get("packets"), t.get("decoded")))
        rec.terminate()
        rec.wait(timeout=10)
        x = np.fromfile(raw, dtype="<i2").astype("float64") / 32768.0 if os.path.exists(raw) else np.zeros(0)
        # The emulated machine leaves gaps (underruns, concealment) and splices
        # (a decoded packet after concealment starts at another phase): the
        # frequency is read from the stretches of unbroken sound (>= 100 ms)
        # as 48000 / the median period between rising zero crossings
        # (interpolated to a fraction of a sample). A splice spoils one period
        # of thousands; counting crossings per stretch moved a 0.2 s stretch by
        # 5 Hz per splice and failed a loaded run at 656.9 Hz.
        env = np.convolve(np.abs(x), np.ones(96), "same") / 96 if len(x) else x
        loud = env > 0.01
        edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(int), [0]))))
        periods, stretches, heard = [], 0, 0
        for b, e in zip(edges[0::2], edges[1::2]):
            seg = x[b + 96:e - 96]
            if len(seg) >= 4800:
                i = np.flatnonzero((seg[:-1] < 0) & (seg[1:] >= 0))
                periods.extend(np.diff(i + seg[i] / (seg[i] - seg[i + 1])))
                stretches += 1
                heard += len(seg)
        freq = 48000 / float(np.median(periods)) if len(periods) >= 100 else None
        print("     arecord heard %.1f s of unbroken sound in %d stretches, %d periods, median %s Hz"
              % (heard / 48000, stretches, len(periods), freq))
        check(freq is not None and heard >= 48000 and abs(freq - TALK_TONE) <= 3, "the loopback's capture side "
              "hears the talker's %d Hz tone (%s Hz, %.1f s)" % (TALK_TONE, freq, heard / 48000))
        # Another program plays on the device: the talker is told it is busy.
        hold = subprocess.Popen(["aplay", "-q", "-D", PLAY, "-f", "S16_LE", "-r", "48000", "-c", "1", "-t", "raw",
                                 "/dev/zero"], stderr=subprocess.DEVNULL)
        time.sleep(1)
        r = last_json(talker(cr, 1))
        hold.terminate()
        hold.wait(timeout=10)
        print("     device busy: %s" % r.get("talkback"))
        check("busy" in (r.get("talkback") or "").lower() and "fuser" in (r.get("talkback") or ""),
              "a busy playback device is named, with the fix")
    finally:
        if rec.poll() is None:
            rec.terminate()
        rc, log = cr.stop()
        check(rc == 0, "camrelay (talk-back) exits cleanly (%d)" % rc)
        check("ERROR: AddressSanitizer" not in log and "runtime error" not in log, "no sanitizer report (talk-back)")
        if failures:
            print(log[-3000:])


def unbind(on):
    path = "/sys/bus/platform/drivers/snd_aloop/" + ("bind" if on else "unbind")
    with open(path, "w") as f:
        f.write("snd_aloop.0")


def run(camrelay):
    r = sh("modprobe", "snd-aloop", "pcm_substreams=1")
    check(r.returncode == 0, "snd-aloop loaded (%s)" % r.stderr.strip())
    time.sleep(0.5)
    r = sh(camrelay, "list", "--json")
    devs = json.loads(r.stdout or "{}").get("audio", [])
    print("     camrelay list audio: %s" % devs)
    check(any(d["device"] == CAP and d["card"] == "Loopback" for d in devs),
          "camrelay list shows the loopback's capture device %s" % CAP)
    r = sh(camrelay, "list")
    check("Audio capture devices:" in r.stdout and CAP in r.stdout, "and says so in its text output")

    # The tone through camrelay.
    play = player()
    time.sleep(1)
    cr = Camrelay(camrelay, 'device = "%s"' % CAP, rtp_port=17500)
    try:
        a, t = cr.wait_audio(lambda a: a.get("state") == "running" and a.get("counters", {}).get("packets", 0) > 0, 20)
        check(t is not None, "audio captured from %s (%s)" % (CAP, a.get("message") or a.get("state")))
        freq, dbfs, err = record_tone(cr)
        print("     recorded tone: %s Hz, %s dBFS %s" % (freq, dbfs, err))
        check(freq is not None and abs(freq - TONE) <= 3, "the recording's spectrum peaks at %d Hz (%s)" % (TONE, freq))
        # lavfi's sine has amplitude 1/8, halved: RMS -27.1 dBFS (ffmpeg's -ac 1 of the
        # decoded stereo adds 3 dB).
        check(dbfs is not None and -31 < dbfs < -21, "at about the level played (%s dBFS)" % dbfs)
        a = cr.audio()
        print("     audio: %s" % json.dumps(a))
        check(-30 < a.get("level_dbfs", -100) < -24, "/api/streams level_dbfs is the tone's, -27.1 (%s)"
              % a.get("level_dbfs"))
        lat = a.get("latency_ms", {}).get("p50", 0)
        print("     capture -> sent latency p50 %.1f ms (20 ms block + 10 ms period + encode)" % lat)
        whep_aiortc(cr)
        whep_chromium(cr, play)  # stops the player
        if play.poll() is None:  # unless Chromium failed first
            play.terminate()
            play.wait(timeout=10)
        if PARTS != "all":
            return
        # Drift: the card's clock against the system's.
        play = card_player()
        drift(cr)

        # Unplug and replug, 5 times.
        fds0 = cr.fds()
        frames = []
        back = []
        for cycle in range(5):
            play.terminate()
            play.wait(timeout=10)
            unbind(False)
            a, t = cr.wait_audio(lambda a: a.get("state") == "reconnecting", 5)
            s0 = a.get("counters", {}).get("silent_blocks", 0)
            f0 = cr.stream()["counters"]["frames_captured"]
            time.sleep(1.5)
            a1 = cr.audio()
            f1 = cr.stream()["counters"]["frames_captured"]
            if cycle == 0:
                print("     unplugged: %s" % json.dumps(a1))
                check(t is not None and "Loopback" in a1.get("message", ""),
                      "unplugged: the audio reconnects, naming the device (%s)" % a1.get("message"))
            frames.append(f1 - f0)
            silent = a1.get("counters", {}).get("silent_blocks", 0) - s0
            check(silent >= 40, "cycle %d: silence sent while unplugged (%d blocks of 20 ms in 1.5 s)" % (cycle, silent))
            unbind(True)
            time.sleep(0.3)
            play = player()
            a, t = cr.wait_audio(lambda a: a.get("state") == "running", 6)
            back.append(t)
            # The tone itself: once this ffmpeg (slow to start under TCG) plays.
            a, t = cr.wait_audio(lambda a: a.get("level_dbfs", -100) > -30, 20)
            check(t is not None, "cycle %d: the tone is captured again (%s dBFS)" % (cycle, a.get("level_dbfs")))
        print("     video frames while unplugged: %s; audio back after (s): %s" % (frames, back))
        check(all(f >= 5 for f in frames), "the video keeps running while the card is away (%s frames in 1.5 s)" % frames)
        check(all(t is not None and t <= 3.0 for t in back), "capture resumes within 3 s of the card's return (%s s)"
              % back)
        fds1 = cr.fds()
        check(fds1 <= fds0 + 1, "fds flat over 5 cycles (%d -> %d)" % (fds0, fds1))
        a = cr.audio()
        check(a.get("counters", {}).get("reconnects", 0) >= 5, "5 reconnects counted (%s)" % a.get("counters"))
    finally:
        rc, log = cr.stop()
        check(rc == 0, "camrelay exits cleanly (%d)" % rc)
        check("ERROR: AddressSanitizer" not in log and "runtime error" not in log, "no sanitizer report")
        if failures:
            print(log[-3000:])

    # Busy, missing, unsupported rate: clear messages, the video runs on.
    # Busy: another camrelay holds the capture side (snd-aloop has one
    # substream per side here); the second is told so, and starts when the
    # first lets go.
    hold = Camrelay(camrelay, 'device = "hw:CARD=Loopback,DEV=1"')
    a, t = hold.wait_audio(lambda a: a.get("state") == "running", 20)
    check(t is not None, "the first capture of hw:CARD=Loopback,DEV=1 runs (%s)" % a.get("message"))
    cr = Camrelay(camrelay, 'device = "hw:CARD=Loopback,DEV=1"')
    try:
        a, t = cr.wait_audio(lambda a: "busy" in a.get("message", "").lower(), 10)
        print("     busy: %s" % a.get("message"))
        check(t is not None and "fuser" in a.get("message", ""), "a busy device is named, with the fix")
        check(cr.stream()["state"] == "running", "the video runs meanwhile")
        hold.stop()
        a, t = cr.wait_audio(lambda a: a.get("state") == "running", 8)
        check(t is not None, "capture starts once the device is free (%.1f s)" % (t or -1))
    finally:
        cr.stop()
        if hold.p.poll() is None:
            hold.stop()
    # No permission: camrelay as nobody (not in the audio group) may not
    # open /dev/snd/*.
    cr = Camrelay(camrelay, 'device = "hw:CARD=Loopback,DEV=1"', user=65534)
    try:
        a, t = cr.wait_audio(lambda a: "permission" in a.get("message", "").lower(), 15)
        print("     as nobody: %s" % a.get("message"))
        check(t is not None and '"audio" group' in a.get("message", ""), "no permission is named, with the fix "
              "(the audio group)")
        check(cr.stream()["state"] == "running", "the video runs meanwhile")
    finally:
        cr.stop()
    for audio, want, what in [('device = "hw:CARD=Nope,DEV=0"', "camrelay list", "a missing device"),
                              ('device = "hw:CARD=Loopback,DEV=1"\nrate = 16000', "does not capture at 16000 Hz",
                               "an unsupported rate (the playback side holds 48 kHz)")]:
        p = player() if "16000" in audio else None
        time.sleep(1)
        cr = Camrelay(camrelay, audio)
        try:
            a, t = cr.wait_audio(lambda a: want in a.get("message", ""), 10)
            print("     %s: %s" % (what, a.get("message")))
            check(t is not None, "%s is named clearly (%s)" % (what, want))
            check(cr.stream()["state"] == "running", "the video runs meanwhile")
        finally:
            cr.stop()
            if p:
                p.terminate()
                p.wait(timeout=10)
    # The last unplug cycle's ffmpeg still plays into the loopback's playback
    # side: talk-back needs that device.
    if play.poll() is None:
        play.terminate()
        play.wait(timeout=10)
    intercom(camrelay)


def main():
    run(sys.argv[1])
    print("%d failure(s)%s" % (len(failures), "" if PARTS == "all" else " (only the parts: %s)" % PARTS))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
