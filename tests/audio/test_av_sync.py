#!/usr/bin/python3
"""Audio beside the video, through plain RTP (issue 19): the test source's
beep and flash come from one clock; ffmpeg records camrelay's /sdp/<stream>
(H.264 + Opus, lined up by their RTCP sender reports) and the recording must
have each beep start within 40 ms of its flash frame, and the tone at the
configured frequency in its decoded spectrum. /api/streams must show the
audio branch running with its packets counted.

    test_av_sync.py CAMRELAY"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TONE = 523
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def free_udp_quad():
    """An even port with the next three free: video RTP/RTCP, audio RTP/RTCP."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1] & ~3
        s.close()
        socks = []
        try:
            for p in range(base, base + 4):
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(u)
                u.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for u in socks:
                u.close()
    raise RuntimeError("no four free UDP ports in a row")


def main():
    camrelay = sys.argv[1]
    d = tempfile.mkdtemp(prefix="camrelay-audio-")
    http, port = free_port(), free_udp_quad()
    cfg = os.path.join(d, "camrelay.toml")
    with open(cfg, "w") as f:
        f.write("""[http]
listen = "127.0.0.1:%d"
[webrtc]
port = %d
[rtsp]
enabled = false
[stream.cam]
[[stream.cam.sources]]
capture = { backend = "test", width = 320, height = 240, fps = 30 }
[stream.cam.sources.encoder]
backend = "software"
codec = "h264"
bitrate = 400000
profile = "constrained-baseline"
level = "3.1"
gop = 30
[stream.cam.audio]
backend = "test"
tone = %d
[[stream.cam.sinks]]
type = "rtp"
address = "127.0.0.1:%d"
""" % (http, free_port(), TONE, port))
    log = open(os.path.join(d, "server.log"), "w+")
    srv = subprocess.Popen([camrelay, "serve", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % http
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/streams", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        with urllib.request.urlopen(base + "/sdp/cam", timeout=10) as r:
            sdp = r.read().decode()
        check("m=audio %d RTP/AVP 111" % (port + 2) in sdp and "a=rtpmap:111 opus/48000/2" in sdp,
              "the SDP has the Opus m-line on port + 2")
        path = os.path.join(d, "cam.sdp")
        with open(path, "w") as f:
            f.write(sdp)
        rec = os.path.join(d, "rec.mkv")
        p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp",
                            "-i", path, "-t", "7", "-map", "0", "-c", "copy", "-y", rec],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, "ffmpeg recorded the RTP output (%s)" % p.stderr[-300:])
        p = subprocess.run(["ffprobe", "-hide_banner", "-v", "error", "-show_entries", "stream=codec_name",
                            "-of", "csv=p=0", rec], capture_output=True, text=True, timeout=30)
        check(sorted(p.stdout.split()) == ["h264", "opus"], "the recording holds H.264 and Opus (%s)"
              % p.stdout.split())
        p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "av_analyse.py"), rec],
                           capture_output=True, text=True, timeout=120)
        res = json.loads(p.stdout or "{}")
        print("     analysis: %s" % json.dumps(res))
        offs = res.get("offsets_ms", [])
        check(len(offs) >= 4, "at least 4 flashes with their beeps after the first 1.5 s (%d)" % len(offs))
        check(offs and all(abs(o) <= 40 for o in offs), "each beep starts within 40 ms of its flash frame (%s ms)"
              % offs)
        check(abs(res.get("tone_hz", 0) - TONE) <= 3, "the decoded spectrum peaks at the %d Hz tone (%s Hz)"
              % (TONE, res.get("tone_hz")))
        check(-30 <= (res.get("tone_dbfs") or -100) <= -22, "the tone is at -26 dBFS (%s)" % res.get("tone_dbfs"))
        with urllib.request.urlopen(base + "/api/streams/cam", timeout=5) as r:
            a = json.load(r).get("audio") or {}
        print("     /api/streams audio: %s" % json.dumps(a))
        check(a.get("state") == "running" and a.get("subscribers") == 1, "the audio branch runs with one subscriber")
        check(a.get("counters", {}).get("packets", 0) >= 300, "it sent at least 300 packets (7 s at 50 a second)")
        check(-40 < a.get("level_dbfs", -100) < 0, "its level is the tone's or the beep's (%s dBFS)"
              % a.get("level_dbfs"))
        with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
            metrics = dict(l.rsplit(" ", 1) for l in r.read().decode().splitlines() if l and l[0] != "#")
        print("     /metrics audio: %s" % {k: v for k, v in metrics.items() if "audio" in k})
        check(metrics.get('camrelay_audio_up{stream="cam"}') == "1" and
              float(metrics.get('camrelay_audio_packets_total{stream="cam"}', 0)) >= 300 and
              -40 < float(metrics.get('camrelay_audio_level_dbfs{stream="cam"}', -100)) < 0 and
              metrics.get('camrelay_audio_xruns_total{stream="cam"}') == "0",
              "/metrics: audio up, packets, level, xruns")
    finally:
        srv.terminate()
        try:
            rc = srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
            rc = -9
        check(rc == 0, "camrelay exits cleanly (%d)" % rc)
        if failures:
            log.seek(0)
            print("server log:\n" + log.read()[-3000:])
    if failures:
        print("%d failure(s): %s" % (len(failures), "; ".join(failures)))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
