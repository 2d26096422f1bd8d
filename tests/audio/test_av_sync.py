#!/usr/bin/python3
"""Audio beside the video, through plain RTP and RTSP (issue 19): the test
source's beep and flash come from one clock; ffmpeg records camrelay's
/sdp/<stream> (H.264 + Opus, lined up by their RTCP sender reports) and the
recording must have each beep start within 40 ms of its flash frame, and the
tone at the configured frequency in its decoded spectrum. /api/streams must
show the audio branch running with its packets counted. Then the same through
the RTSP server's two tracks: ffmpeg records rtsp://.../cam over UDP, and
GStreamer's rtspsrc (over TCP) decodes both tracks (avdec_h264, opusdec) into
a raw Matroska file; both recordings are measured the same way.

    test_av_sync.py CAMRELAY"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ports  # noqa: E402  (free ports outside the kernel's ephemeral range)

HERE = os.path.dirname(os.path.abspath(__file__))
TONE = 523
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def stop(srv):
    """Stops camrelay: it must exit cleanly."""
    srv.terminate()
    try:
        rc = srv.wait(timeout=20)
    except subprocess.TimeoutExpired:
        srv.kill()
        rc = -9
    check(rc == 0, "camrelay exits cleanly (%d)" % rc)


def finish(log):
    """The server log's end on failure; the summary; exit 1 on failure."""
    if failures:
        log.seek(0)
        print("server log:\n" + log.read()[-3000:])
        print("%d failure(s): %s" % (len(failures), "; ".join(failures)))
        sys.exit(1)
    print("all checks passed")


free_port = ports.free_port


def serve(camrelay, d, text, http):
    """Writes text to d/camrelay.toml and starts camrelay serve on it (its
    output in d/server.log), then waits (10 s at most) for its API on
    127.0.0.1:http: (the process, the log file, the API's base URL)."""
    cfg = os.path.join(d, "camrelay.toml")
    with open(cfg, "w") as f:
        f.write(text)
    log = open(os.path.join(d, "server.log"), "w+")
    srv = subprocess.Popen([camrelay, "serve", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % http
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/api/streams", timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    return srv, log, base


def audio_running(base, names):
    """Waits (30 s at most) until each named stream's audio runs; /api/streams' streams by name."""
    for _ in range(60):
        with urllib.request.urlopen(base + "/api/streams", timeout=5) as r:
            st = {s["name"]: s for s in json.loads(r.read())["streams"]}
        if all((st[n].get("audio") or {}).get("state") == "running" for n in names):
            break
        time.sleep(0.5)
    return st


def free_udp_quad():
    """An even port with the next three free: video RTP/RTCP, audio RTP/RTCP."""
    return ports.free_ports(4, align=4)


def codecs(path):
    p = subprocess.run(["ffprobe", "-hide_banner", "-v", "error", "-show_entries", "stream=codec_name",
                        "-of", "csv=p=0", path], capture_output=True, text=True, timeout=30)
    return sorted(p.stdout.split())


def analysed(what, rec, want_dbfs=True):
    p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "av_analyse.py"), rec],
                       capture_output=True, text=True, timeout=120)
    res = json.loads(p.stdout or "{}")
    print("     %s analysis: %s" % (what, json.dumps(res)))
    offs = res.get("offsets_ms", [])
    check(len(offs) >= 4, "%s: at least 4 flashes with their beeps after the first 1.5 s (%d)" % (what, len(offs)))
    check(offs and all(abs(o) <= 40 for o in offs), "%s: each beep starts within 40 ms of its flash frame (%s ms)"
          % (what, offs))
    check(abs(res.get("tone_hz", 0) - TONE) <= 3, "%s: the decoded spectrum peaks at the %d Hz tone (%s Hz)"
          % (what, TONE, res.get("tone_hz")))
    if want_dbfs:
        check(-30 <= (res.get("tone_dbfs") or -100) <= -22, "%s: the tone is at -26 dBFS (%s)"
              % (what, res.get("tone_dbfs")))


def rtsp_raw(port):
    """What players do not try: the audio track's own interleaved channels,
    a clash with the video's, a transport other than the session's."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    buf = b""
    cseq = [0]

    def req(method, url, *headers):
        nonlocal buf
        cseq[0] += 1
        s.sendall(("%s %s RTSP/1.0\r\nCSeq: %d\r\n%s\r\n" % (method, url, cseq[0], "".join(
            h + "\r\n" for h in headers))).encode())
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, buf = buf.split(b"\r\n\r\n", 1)
        head = head.decode()
        n = int(dict((l.split(":", 1)[0].lower(), l.split(":", 1)[1].strip()) for l in head.split("\r\n")[1:]
                     if ":" in l).get("content-length", 0))
        while len(buf) < n:
            buf += s.recv(65536)
        body, buf = buf[:n].decode(), buf[n:]
        return int(head.split()[1]), head, body

    url = "rtsp://127.0.0.1:%d/cam" % port
    code, _, sdp = req("DESCRIBE", url, "Accept: application/sdp")
    check(code == 200 and "m=audio 0 RTP/AVP 111" in sdp and "a=control:trackID=1" in sdp and
          sdp.index("trackID=0") < sdp.index("m=audio"), "DESCRIBE: video trackID=0, then Opus trackID=1")
    code, head, _ = req("SETUP", url + "/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
    sess = [l.split(":", 1)[1].split(";")[0].strip() for l in head.split("\r\n") if l.lower().startswith("session")]
    check(code == 200 and sess, "SETUP of the video over TCP (%d)" % code)
    sh = "Session: " + (sess[0] if sess else "")
    codes = [req("SETUP", url + "/trackID=1", "Transport: RTP/AVP/TCP;unicast;interleaved=1-2", sh)[0],
             req("SETUP", url + "/trackID=1", "Transport: RTP/AVP;unicast;client_port=5000-5001", sh)[0],
             req("SETUP", url + "/trackID=2", "Transport: RTP/AVP/TCP;unicast;interleaved=4-5", sh)[0]]
    check(codes == [461, 461, 404], "audio on the video's channel, over UDP in a TCP session, a third track: "
          "461, 461, 404 (%s)" % codes)
    code, head, _ = req("SETUP", url + "/trackID=1", "Transport: RTP/AVP/TCP;unicast;interleaved=6-7", sh)
    check(code == 200 and "interleaved=6-7" in head, "SETUP of the audio on channels 6-7 (%d)" % code)
    code, head, _ = req("PLAY", url + "/", sh)
    check(code == 200 and head.count("url=") == 2 and "trackID=1;seq=" in head, "PLAY's RTP-Info names both tracks")
    got = {}
    end = time.time() + 3
    while time.time() < end and got.get((6, 111), 0) < 20:
        while len(buf) >= 4 and buf[0:1] == b"$" and len(buf) >= 4 + (buf[2] << 8 | buf[3]):
            n = buf[2] << 8 | buf[3]
            k = (buf[1], buf[5] & 0x7f if buf[1] % 2 == 0 else buf[5])
            got[k] = got.get(k, 0) + 1
            buf = buf[4 + n:]
        buf += s.recv(65536)
    print("     interleaved (channel, payload type): count %s" % got)
    check(got.get((6, 111), 0) >= 20 and got.get((0, 96), 0) > 0, "Opus on channel 6 beside H.264 on channel 0")
    s.close()


def rtsp(d, url, base):
    """The RTSP server's audio track beside the video: DESCRIBE has both,
    ffmpeg (UDP) records them in sync, GStreamer rtspsrc (TCP) decodes both."""
    rec = os.path.join(d, "rtsp.mkv")
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "udp", "-i", url,
                        "-t", "7", "-map", "0", "-c", "copy", "-y", rec], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "ffmpeg recorded rtsp://.../cam over UDP (%s)" % p.stderr[-300:])
    check(codecs(rec) == ["h264", "opus"], "the RTSP recording holds H.264 and Opus (%s)" % codecs(rec))
    analysed("RTSP/ffmpeg", rec)
    # GStreamer decodes both tracks itself; -e turns SIGINT into EOS so the
    # file is finished. rtpbin lines the tracks up by their sender reports.
    gst = os.path.join(d, "gst.mkv")
    g = subprocess.Popen(["gst-launch-1.0", "-e", "-q", "rtspsrc", "location=" + url, "name=s", "protocols=tcp",
                          "latency=200", "s.", "!", "rtph264depay", "!", "avdec_h264", "!", "videoconvert", "!",
                          "video/x-raw,format=I420", "!", "queue", "!", "mux.", "s.", "!", "rtpopusdepay", "!",
                          "opusdec", "!", "audioconvert", "!", "audio/x-raw,format=S16LE", "!", "queue", "!",
                          "mux.", "matroskamux", "name=mux", "!", "filesink", "location=" + gst],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(6)
    with urllib.request.urlopen(base + "/api/streams/cam", timeout=5) as r:
        sess = json.load(r).get("rtsp_clients") or [{}]
    print("     /api/streams rtsp_clients: %s" % json.dumps(sess))
    check(sess[0].get("transport") == "tcp" and sess[0].get("audio_packets_sent", 0) >= 100 and
          sess[0].get("frames_sent", 0) >= 60, "the GStreamer session gets Opus and video packets over TCP")
    time.sleep(2)
    g.send_signal(signal.SIGINT)
    try:
        _, err = g.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        g.kill()
        _, err = g.communicate()
    check(g.returncode == 0 and codecs(gst) == ["pcm_s16le", "rawvideo"], "GStreamer rtspsrc decoded both tracks "
          "(rc %s, %s) %s" % (g.returncode, codecs(gst), err.decode(errors="replace")[-200:]))
    # opusdec's level differs from ffmpeg's downmix: the level is checked above.
    analysed("RTSP/GStreamer", gst, want_dbfs=False)


def main():
    camrelay = sys.argv[1]
    d = tempfile.mkdtemp(prefix="camrelay-audio-")
    http, port, rtsp_port = free_port(), free_udp_quad(), free_port()
    srv, log, base = serve(camrelay, d, """[http]
listen = "127.0.0.1:%d"
[webrtc]
port = %d
[rtsp]
listen = "127.0.0.1:%d"
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
""" % (http, free_port(), rtsp_port, TONE, port), http)
    try:
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
        check(codecs(rec) == ["h264", "opus"], "the recording holds H.264 and Opus (%s)" % codecs(rec))
        analysed("RTP", rec)
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
        rtsp_raw(rtsp_port)
        rtsp(d, "rtsp://127.0.0.1:%d/cam" % rtsp_port, base)
    finally:
        stop(srv)
    finish(log)


if __name__ == "__main__":
    main()
