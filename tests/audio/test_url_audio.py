#!/usr/bin/python3
"""The audio of URL and file sources (issue 19, item 1: [stream.X.audio]
backend = "url"): libavformat opens the stream's source again for its audio
track, which is decoded, resampled and encoded to Opus like a capture.

  file   an ffmpeg-made Matroska file, H.264 + a 440 Hz tone in AAC at
         44.1 kHz stereo: passed through (RFC 3640) to plain RTP and RTSP
         like opus below (0 encoded frames, every access unit the file's,
         ffmpeg decodes 440 Hz from camrelay's SDP and over RTSP); WHEP
         viewers get it encoded to Opus (aiortc decodes 440 Hz)
  pcmu, pcma   the same for G.711 (RFC 3551, 8 kHz mono, 443 / 587 Hz)
  adts   the same for AAC without an AudioSpecificConfig: an MPEG-TS file
         (H.264 + a 740 Hz tone, AAC 48 kHz mono in ADTS frames), whose
         frames camrelay unwraps (libavcodec's aac_adtstoasc): every access
         unit received is one of those ffmpeg's own -bsf:a aac_adtstoasc
         gives (the ADTS frame without its 7-byte header), 0 encoded frames
  relay  rtsp://viewer:s3cret@(this camrelay)/cam, whose audio is the 523 Hz
         test tone in Opus (RTSP's trackID=1): passed through, 523 Hz
         out; /api/streams shows the URL without the credentials
  mute   a file without audio: the audio branch says so and sends silence,
         the video runs
  opus   a file whose audio is Opus (660 Hz, libopus): passed through, not
         decoded nor encoded again: /api/streams counts 0 encoded frames and
         N passed-through packets, and the packets ffmpeg records from the
         plain RTP output and from RTSP (trackID=1, TCP) are byte for byte
         packets of the file (MD5 of each, ffprobe -show_data_hash), and so
         are the payloads aiortc receives over WHEP (before decoding; the
         decoded tone peaks at 660 Hz)

    test_url_audio.py CAMRELAY"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_av_sync import check, codecs, finish, free_port, free_udp_quad, serve, stop  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def make_files(d):
    tone = os.path.join(d, "tone.mkv")
    mute = os.path.join(d, "mute.mkv")
    opus = os.path.join(d, "opus.mkv")
    pcmu, pcma = os.path.join(d, "pcmu.mkv"), os.path.join(d, "pcma.mkv")
    adts, adts_ref = os.path.join(d, "adts.ts"), os.path.join(d, "adts-asc.mkv")
    for path, audio in ((tone, "aac"), (mute, None), (opus, "libopus"), (pcmu, "pcm_mulaw"), (pcma, "pcm_alaw"),
                        (adts, "adts")):
        # The files with audio do not end (and reopen, silence meanwhile) while the test runs: the
        # pass-through counters are read ~65 s after the start under load (a 60 s file had looped).
        secs, video = {"aac": (90, "320x240:rate=10"), "libopus": (90, "160x120:rate=10"),
                       "adts": (90, "160x120:rate=10")}.get(
            audio, (90, "160x120:rate=10") if audio else (8, "320x240:rate=30"))
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
               "testsrc2=size=%s:duration=%d" % (video, secs)]
        if audio == "aac":
            cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=%d" % secs, "-ac", "2",
                    "-c:a", "aac"]
        elif audio == "adts":  # MPEG-TS carries AAC in ADTS frames, no AudioSpecificConfig
            cmd += ["-f", "lavfi", "-i", "sine=frequency=740:sample_rate=48000:duration=%d" % secs, "-c:a", "aac",
                    "-f", "mpegts"]
        elif audio and audio.startswith("pcm_"):  # 20 ms packets of 8 kHz mono G.711
            cmd += ["-f", "lavfi", "-i", "sine=frequency=%d:sample_rate=8000:duration=%d:samples_per_frame=160" % (
                443 if audio == "pcm_mulaw" else 587, secs), "-c:a", audio]
        elif audio:
            cmd += ["-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=%d" % secs, "-ac", "2",
                    "-c:a", "libopus", "-b:a", "96k"]
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p", "-y", path]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, "ffmpeg made %s (%s)" % (os.path.basename(path), p.stderr[-200:]))
    # The ADTS file's access units as ffmpeg's own bitstream filter gives them.
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", adts, "-map", "0:a", "-c", "copy",
                        "-bsf:a", "aac_adtstoasc", "-y", adts_ref], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "ffmpeg -bsf:a aac_adtstoasc made %s (%s)" % (os.path.basename(adts_ref), p.stderr[-200:]))
    return tone, mute, opus, pcmu, pcma, adts, adts_ref


def tone_hz(path):
    """The decoded audio's strongest frequency (ffmpeg decodes, numpy's FFT)."""
    import numpy as np
    p = subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", "48000",
                        "-f", "f32le", "-"], capture_output=True, timeout=60)
    x = np.frombuffer(p.stdout, dtype="<f4")[48000 // 2:]
    if len(x) < 48000:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return round(float(np.fft.rfftfreq(len(x), 1.0 / 48000)[int(np.argmax(spec))]), 1)


def packet_hashes(path):
    """MD5 of each audio packet's payload in hex, in order (ffprobe)."""
    p = subprocess.run(["ffprobe", "-hide_banner", "-v", "error", "-select_streams", "a", "-show_data_hash", "MD5",
                        "-show_entries", "packet=data_hash", "-of", "csv=p=0", path],
                       capture_output=True, text=True, timeout=60)
    return [x.strip().split(":")[-1] for x in p.stdout.split() if x.strip()]  # "MD5:<hex>"


# name: (file's codec as ffprobe names it, what the plain RTP SDP says, tone Hz)
PASS = {"opus": ("opus", "opus/48000/2", 660), "file": ("aac", "mpeg4-generic/44100/2", 440),
        "pcmu": ("pcm_mulaw", "RTP/AVP 0", 443), "pcma": ("pcm_alaw", "RTP/AVP 8", 587),
        "adts": ("aac", "mpeg4-generic/48000/1", 740)}


def check_passthrough(base, d, files, rtsp, refs, table=None):
    """Each stream's packets reach RTP and RTSP viewers as the file has them
    (ffmpeg records all ten at once, to d/NAME-rtp.mkv and d/NAME-rtsp.mkv;
    refs: a file's packets as they must arrive, when not as the file has
    them), then WHEP viewers get Opus. table: as PASS, for each name."""
    PASS = table or globals()["PASS"]
    src, recs, procs = {}, {}, []
    for name, path in files.items():
        codec, marker, _ = PASS[name]
        src[name] = set(packet_hashes(refs.get(name, path)))
        if name in refs:  # not the file's own packets (ADTS frames): none of those may arrive
            own = set(packet_hashes(path))
            check(len(src[name]) >= 100 and not own & src[name],
                  "%s: the file has %d ADTS frames, the reference %d access units, none alike" % (
                      name, len(own), len(src[name])))
        with urllib.request.urlopen(base + "/sdp/" + name, timeout=10) as r:
            sdp = r.read().decode()
        check(marker in sdp, "%s: the plain RTP SDP offers %s (%s)" % (
            name, codec, [x for x in sdp.splitlines() if "audio" in x or "rtpmap" in x or "config=" in x][-3:]))
        sdp_path = os.path.join(d, name + ".sdp")
        with open(sdp_path, "w") as f:
            f.write(sdp)
        for how, args in (("rtp", ["-protocol_whitelist", "file,udp,rtp", "-i", sdp_path]),
                          ("rtsp", ["-rtsp_transport", "tcp", "-i", "rtsp://127.0.0.1:%d/%s" % (rtsp, name)])):
            recs[name, how] = os.path.join(d, "%s-%s.mkv" % (name, how))
            procs.append((name, how, subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-loglevel", "error"] + args +
                ["-t", "3", "-map", "0:a", "-c", "copy", "-y", recs[name, how]],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
    for name, how, p in procs:
        err = p.communicate(timeout=60)[1]
        check(p.returncode == 0, "%s: ffmpeg recorded the %s output (%s)" % (name, how, err[-200:]))
        codec, _, hz = PASS[name]
        got = packet_hashes(recs[name, how])
        same = sum(1 for h in got if h in src[name])
        check(codecs(recs[name, how]) == [codec] and len(got) >= 100 and same >= 0.95 * len(got),
              "%s: %s: %d of %d %s packets received are byte for byte the file's (%d distinct in the file)" % (
                  name, how, same, len(got), codecs(recs[name, how]), len(src[name])))
        f = tone_hz(recs[name, how])
        check(abs(f - hz) <= 3, "%s: %s: ffmpeg decodes the tone, %s Hz (%d)" % (name, how, f, hz))
    st = _audio_status(base)
    for name in files:
        a, c = st[name], st[name].get("counters", {})
        print("     %s audio: %s" % (name, json.dumps(a)))
        check(a.get("passthrough") is True and a.get("passthrough_codec") == PASS[name][0].replace(
                  "pcm_mulaw", "pcmu").replace("pcm_alaw", "pcma") and
              "passed through" in a.get("device", "") and c.get("encoded_frames") == 0 and
              c.get("passthrough_packets", 0) >= 100,
              "%s: passed through (%s): %s encoded frames, %s passed-through packets" % (
                  name, a.get("passthrough_codec"), c.get("encoded_frames"), c.get("passthrough_packets")))
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        m = r.read().decode()
    check(all('camrelay_audio_encoded_frames_total{stream="%s"} 0' % n in m for n in files),
          "/metrics counts 0 encoded frames for %s" % ", ".join(files))
    whep = {n: subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "..", "webrtc", "whep_client.py"),
                                 base + "/whep/" + n, "--seconds", "4", "--audio", "--audio-hashes"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in files}
    for name, p in whep.items():
        out = p.communicate(timeout=120)[0]
        w = json.loads((out.strip().splitlines() or ["{}"])[-1])
        got = w.pop("audio_payload_md5", [])
        same = sum(1 for h in got if h in src[name])
        print("     %s whep: %s" % (name, json.dumps(w)))
        hz = PASS[name][2]
        if name == "opus":
            check(len(got) >= 100 and same >= 0.95 * len(got) and abs(w.get("audio_tone_hz", 0) - hz) <= 3,
                  "opus: whep (aiortc): %d of %d Opus payloads are byte for byte the file's, decoded tone %s Hz" % (
                      same, len(got), w.get("audio_tone_hz")))
        else:  # encoded to Opus here: aiortc's Opus decoder got it
            check(len(got) >= 100 and same == 0 and abs(w.get("audio_tone_hz", 0) - hz) <= 3,
                  "%s: whep (aiortc) gets Opus: %d Opus payloads, decoded tone %s Hz (%d)" % (
                      name, len(got), w.get("audio_tone_hz"), hz))
    st = _audio_status(base)
    for name in files:
        if name != "opus":
            n = st[name].get("counters", {}).get("encoded_frames", 0)
            check(n >= 100, "%s: encoded to Opus for WHEP: %d encoded frames" % (name, n))


def _audio_status(base):
    with urllib.request.urlopen(base + "/api/streams", timeout=5) as r:
        return {s["name"]: s.get("audio") or {} for s in json.loads(r.read())["streams"]}


def record(base, stream, d):
    with urllib.request.urlopen(base + "/sdp/" + stream, timeout=10) as r:
        sdp = r.read().decode()
    path = os.path.join(d, stream + ".sdp")
    with open(path, "w") as f:
        f.write(sdp)
    rec = os.path.join(d, stream + ".mkv")
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp",
                        "-i", path, "-t", "4", "-map", "0", "-c", "copy", "-y", rec],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "%s: ffmpeg recorded the RTP output (%s)" % (stream, p.stderr[-200:]))
    p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "av_analyse.py"), rec],
                       capture_output=True, text=True, timeout=120)
    res = json.loads(p.stdout or "{}")
    print("     %s: %s %s" % (stream, codecs(rec), json.dumps(res)))
    return codecs(rec), res


def main():
    camrelay = sys.argv[1]
    d = tempfile.mkdtemp(prefix="camrelay-urlaudio-")
    tone, mute, opus, pcmu, pcma, adts, adts_ref = make_files(d)
    http, rtsp = free_port(), free_port()
    names = ("file", "relay", "mute", "opus", "pcmu", "pcma", "adts")
    ports = {s: free_udp_quad() for s in names}
    t = """[http]
listen = "127.0.0.1:%d"
[webrtc]
port = %d
[rtsp]
listen = "127.0.0.1:%d"
[stream.cam]
[[stream.cam.sources]]
capture = { backend = "test", width = 320, height = 240, fps = 30 }
[stream.cam.audio]
backend = "test"
tone = 523
[stream.file]
[[stream.file.sources]]
file = "%s"
loop = true
[stream.relay]
[[stream.relay.sources]]
url = "rtsp://viewer:s3cret@127.0.0.1:%d/cam"
[stream.mute]
[[stream.mute.sources]]
file = "%s"
loop = true
[stream.opus]
[[stream.opus.sources]]
file = "%s"
loop = true
[stream.pcmu]
[[stream.pcmu.sources]]
file = "%s"
loop = true
[stream.pcma]
[[stream.pcma.sources]]
file = "%s"
loop = true
[stream.adts]
[[stream.adts.sources]]
file = "%s"
loop = true
""" % (http, free_port(), rtsp, tone, rtsp, mute, opus, pcmu, pcma, adts)
    for s in names:
        t += '[stream.%s.audio]\nbackend = "url"\n[[stream.%s.sinks]]\ntype = "rtp"\naddress = "127.0.0.1:%d"\n' % (
            s, s, ports[s])
    srv, log, base = serve(camrelay, d, t, http)
    try:
        # The relay's source (camrelay's own RTSP) and every audio track
        # running before recording: under load the relay starts late.
        for _ in range(60):
            with urllib.request.urlopen(base + "/api/streams", timeout=5) as r:
                st = {s["name"]: s for s in json.loads(r.read())["streams"]}
            if (st["relay"].get("source") or {}).get("state") == "running" and all(
                    (st[n].get("audio") or {}).get("state") == "running" for n in PASS.keys() | {"relay"}):
                break
            time.sleep(0.5)
        time.sleep(1)
        c, res = record(base, "relay", d)
        check(c == ["h264", "opus"] and abs(res.get("tone_hz", 0) - 523) <= 3,
              "relay: the RTSP source's Opus 523 Hz tone passed through, 523 Hz (%s Hz)" % res.get("tone_hz"))
        with urllib.request.urlopen(base + "/api/streams", timeout=5) as r:
            body = r.read()
            st = {s["name"]: s for s in json.loads(body)["streams"]}
        rv = st["relay"].get("source") or {}
        check(b"s3cret" not in body and rv.get("device", "").startswith("rtsp://127.0.0.1:"),
              "relay: /api/streams shows the video and audio URL without the credentials (%s)" % rv.get("device"))
        for s in ("file", "relay", "mute"):
            print("     %s audio: %s" % (s, json.dumps(st[s].get("audio"))))
        fa, ma = st["file"].get("audio") or {}, st["mute"].get("audio") or {}
        check(fa.get("state") == "running" and "aac, passed through" in fa.get("device", ""),
              "file: the audio runs, AAC passed through (%s)" % fa.get("device"))
        ra = st["relay"].get("audio") or {}
        check(ra.get("device", "").startswith("rtsp://127.0.0.1:") and "s3cret" not in json.dumps(ra),
              "relay: its URL is shown without the credentials (%s)" % ra.get("device"))
        check(ma.get("state") == "reconnecting" and "has no audio stream" in ma.get("message", "") and
              ma.get("counters", {}).get("silent_blocks", 0) > 100,
              "mute: 'has no audio stream', silence sent meanwhile")
        with urllib.request.urlopen(base + "/snapshot/mute", timeout=10) as r:
            check(r.read(3) == b"\xff\xd8\xff", "mute: its video runs (a snapshot)")
        check_passthrough(base, d, {"opus": opus, "file": tone, "pcmu": pcmu, "pcma": pcma, "adts": adts}, rtsp,
                          {"adts": adts_ref})
    finally:
        stop(srv)
        log.seek(0)
        check("s3cret" not in log.read(), "the log never shows the source URL's password")
    finish(log)


if __name__ == "__main__":
    main()
