#!/usr/bin/python3
"""Talk-back (issue 19, item 4) on the host, without a sound card: the
playback device is ALSA's file plugin (file:FILE=...,FORMAT=raw, over the
null PCM), so what camrelay plays is written to a file the test reads.

    test_talk.py CAMRELAY

aiortc viewers (tests/audio/talk_client.py) send a 660 Hz tone as their
microphone over WHEP (sendrecv audio):
  - the first talker is answered a=sendrecv, X-Talkback: talking; its tone
    is played (the file's spectrum peaks at 660 Hz; /api/webrtc counts its
    packets and level; /metrics has camrelay_talkback_*);
  - a second talker meanwhile gets its video and a=sendonly audio, and
    X-Talkback: refused: viewer <first> is talking;
  - an account with the view right only is refused (needs the control right);
  - the first talker's hostile RTP (oversized, truncated, bad padding,
    invalid Opus) is counted as bad, and camrelay goes on;
  - when the talker leaves, the device is free: the next one talks;
  - a missing playback device is named with the fix, to the viewer who asked.
The real-kernel side (snd-aloop, recorded with arecord) is in test_alsa_vm.py."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import base64

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ports  # noqa: E402  (free ports outside the kernel's ephemeral range)

HERE = os.path.dirname(os.path.abspath(__file__))
TONE = 660
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


free_port = ports.free_port


def get(base, path, user="alice:wonderland"):
    req = urllib.request.Request(base + path)
    req.add_header("Authorization", "Basic " + base64.b64encode(user.encode()).decode())
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def talkback(base):
    return json.loads(get(base, "/api/webrtc")).get("talkback", {})


def client(base, stream, user, seconds, garbage=0, hold=False):
    cmd = ["/usr/bin/python3", os.path.join(HERE, "talk_client.py"), "%s/whep/%s" % (base, stream), "--tone",
           str(TONE), "--seconds", str(seconds), "--user", user]
    if garbage:
        cmd += ["--garbage", str(garbage)]
    if hold:
        cmd += ["--hold"]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p, stdin=None):
    out, err = p.communicate(input=stdin, timeout=90)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    r = json.loads(lines[-1]) if lines else {"error": err[-800:]}
    return r


def wait(pred, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return None


def main():
    exe = sys.argv[1]
    d = tempfile.mkdtemp(prefix="cr-talk-")
    raw = os.path.join(d, "played.raw")
    http, udp = free_port(), free_port()
    cfg = os.path.join(d, "c.toml")
    with open(cfg, "w") as f:
        f.write('[http]\nlisten = "127.0.0.1:%d"\n[rtsp]\nenabled = false\n[webrtc]\nport = %d\n'
                '[auth]\n[[auth.accounts]]\nusername = "alice"\npassword = "wonderland"\n'
                '[[auth.accounts]]\nusername = "bob"\npassword = "builder1"\nrights = ["view"]\n' % (http, udp))
        for name, dev in [("cam", "file:FILE=%s,FORMAT=raw" % raw), ("door", "hw:CARD=Nope,DEV=0")]:
            f.write('[stream.%s]\n[[stream.%s.sources]]\n'
                    'capture = { backend = "test", width = 160, height = 120, fps = 10 }\n'
                    '[stream.%s.sources.encoder]\nbackend = "software"\ncodec = "h264"\nbitrate = 100000\n'
                    '[stream.%s.audio]\nbackend = "test"\nplayback = "%s"\n' % (name, name, name, name, dev))
    log = open(os.path.join(d, "log"), "w+")
    srv = subprocess.Popen([exe, "serve", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % http
    try:
        check(wait(lambda: _up(base), 30) is not None, "camrelay serves")
        # The first talker (with garbage after 1 s of tone).
        a = client(base, "cam", "alice:wonderland", 120, garbage=60, hold=True)  # talks until told
        first = json.loads(a.stdout.readline() or "{}")
        print("     first talker: %s" % json.dumps(first))
        check(first.get("talkback") == "talking" and first.get("audio_direction") == "sendrecv",
              "first talker: X-Talkback talking, answer a=sendrecv (%s, %s)"
              % (first.get("talkback"), first.get("audio_direction")))
        t = wait(lambda: (lambda c: c if c.get("packets", 0) >= 100 else None)(talkback(base).get("cam", {})), 30)
        print("     talkback while talking: %s" % json.dumps(t))
        check(t is not None and t.get("talker") == first.get("viewer"), "/api/webrtc names the talker (%s)"
              % (t or {}).get("talker"))
        lv = wait(lambda: (lambda x: x if -17 < x < -10 else None)(talkback(base).get("cam", {}).get("level_dbfs", -100)), 3)
        check(lv is not None, "its level is the tone's, -13.5 dBFS (%s)" % lv)
        # A second talker meanwhile; a viewer without the control right.
        for who, user, want in [("second talker", "alice:wonderland", "refused: viewer %s is talking" % first.get("viewer")),
                                ("view-only account", "bob:builder1", "refused: talk-back needs the control right")]:
            r = finish(client(base, "cam", user, 1.5))
            print("     %s: %s" % (who, json.dumps(r)))
            check(r.get("status") == 201 and (r.get("talkback") or "").startswith(want)
                  and r.get("audio_direction") == "sendonly",
                  "%s: 201 with video, a=sendonly audio, X-Talkback '%s...' (%s)" % (who, want, r.get("talkback")))
        # It has talked 5 s before its garbage; then 3 s more.
        wait(lambda: talkback(base).get("cam", {}).get("bad", 0) >= 40 or None, 30)
        time.sleep(3)
        r = finish(a, stdin="\n")
        print("     first talker done: %s" % json.dumps(r))
        sent = r.get("garbage_sent") or 0
        check(sent >= 50, "the first talker sent >= 50 of 60 hostile packets (%s; libsrtp would not protect %s)"
              % (sent, r.get("garbage_unsendable")))
        t = talkback(base).get("cam", {})
        print("     talkback after: %s" % json.dumps(t))
        check(t.get("talker") is None, "the talker left: the device is free")
        check(t.get("bad", 0) >= sent * 4 // 5, "hostile packets counted as bad (%s of %s sent; 4 in 5 are "
              "malformed for sure, the 5th random)" % (t.get("bad"), sent))
        check(t.get("packets", 0) >= 300, "the talker's packets played (%s in >= 8 s)" % t.get("packets"))
        check(t.get("refused", 0) == 2, "2 refusals counted (%s)" % t.get("refused"))
        print("     added delay (arrival -> out of the file plugin, clock-paced): p50 %s p99 %s ms"
              % (t.get("delay_p50_ms"), t.get("delay_p99_ms")))
        # What the first talker said (the file plugin starts the file anew for the next one).
        x = np.fromfile(raw, dtype="<i2").astype("float64") / 32768.0 if os.path.exists(raw) else np.zeros(0)
        loud = np.nonzero(np.abs(x) > 1e-3)[0]
        sound = x[loud[0]:loud[-1] + 1] if len(loud) else x[:0]  # from the first sound to the last
        freq = None
        if len(sound) > 48000:
            spec = np.abs(np.fft.rfft(sound * np.hanning(len(sound))))
            freq = float(np.fft.rfftfreq(len(sound), 1 / 48000)[int(np.argmax(spec))])
        print("     played: %.1f s of %.1f s sound, peak %s Hz" % (len(sound) / 48000, len(x) / 48000, freq))
        check(len(sound) >= 48000 * 5, "more than 5 s of the first talker's sound played (%.1f s)" % (len(sound) / 48000))
        check(freq is not None and abs(freq - TONE) <= 3, "what was played peaks at %d Hz (%s)" % (TONE, freq))
        # The next talker gets the device.
        r = finish(client(base, "cam", "alice:wonderland", 1.5))
        check(r.get("talkback") == "talking", "after the talker left, the next one talks (%s)" % r.get("talkback"))
        r = finish(client(base, "door", "alice:wonderland", 1))
        print("     missing device: %s" % r.get("talkback"))
        check('ALSA playback device "hw:CARD=Nope,DEV=0"' in (r.get("talkback") or "")
              and "aplay -L" in (r.get("talkback") or ""), "a missing playback device is named with the fix")
        m = get(base, "/metrics")
        check('camrelay_talkback_packets_total{stream="cam"}' in m and 'camrelay_talkback_refused_total{stream="door"} 1' in m,
              "/metrics has camrelay_talkback_* per stream")
    finally:
        srv.terminate()
        try:
            rc = srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
            rc = srv.wait()
        log.seek(0)
        text = log.read()
        check(rc == 0, "camrelay exits cleanly (%s)" % rc)
        check("ERROR: AddressSanitizer" not in text and "runtime error" not in text, "no sanitizer report")
        if failures:
            print(text[-3000:])
    print("%d failure(s)" % len(failures))
    sys.exit(1 if failures else 0)


def _up(base):
    try:
        get(base, "/api/streams")
        return True
    except OSError:
        return None


if __name__ == "__main__":
    main()
