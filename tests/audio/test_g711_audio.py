#!/usr/bin/python3
"""G.711 other than 8 kHz mono from a URL/file source (issue 19, item 1:
"PCMU/PCMA ... passes through where the output takes it and is transcoded to
Opus where it does not"). RFC 3551's static payload types 0 (PCMU) and 8
(PCMA) mean 8000 Hz, 1 channel; a camera's 16 kHz or stereo G.711 must go at
a dynamic type whose rtpmap says its rate and channels, never as PT 0/8.

  pcmu16s  PCMU, 16 kHz stereo: 700 Hz left, 1100 Hz right (-10 dB)
  pcma16   PCMA, 16 kHz mono, 900 Hz
  pcma8s   PCMA, 8 kHz stereo: 500 Hz left, 1300 Hz right (-10 dB)

Each an ffmpeg-made Matroska file (H.264 + the track in 20 ms packets).
Checked with real peers:
  - the plain RTP /sdp offers the dynamic type 98/99 with "PCMU/16000/2",
    "PCMA/16000", "PCMA/8000/2" (not RTP/AVP 0/8);
  - ffmpeg records the plain RTP output (from that SDP) and RTSP (TCP,
    trackID=1): every packet is byte for byte one of the file's, ffprobe
    reads the recording as the file's codec, rate and channels, the packets
    are 20 ms apart on the RTP clock (the timestamp counts bytes / channels),
    and each channel decodes to its own tone;
  - /api/streams and /metrics: 0 encoded frames while only those listen;
  - aiortc over WHEP gets Opus (encoded here), decoded at the left tone.

    test_g711_audio.py CAMRELAY"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_av_sync import audio_running, check, finish, free_port, free_udp_quad, serve, stop  # noqa: E402
from test_url_audio import check_passthrough  # noqa: E402

# name: (ffmpeg codec, rate, channels, tones per channel, what the plain RTP SDP must say)
STREAMS = {
    "pcmu16s": ("pcm_mulaw", 16000, 2, (700, 1100), "m=audio %d RTP/AVP 98\r\na=rtpmap:98 PCMU/16000/2\r\n"),
    "pcma16": ("pcm_alaw", 16000, 1, (900,), "m=audio %d RTP/AVP 99\r\na=rtpmap:99 PCMA/16000\r\n"),
    "pcma8s": ("pcm_alaw", 8000, 2, (500, 1300), "m=audio %d RTP/AVP 99\r\na=rtpmap:99 PCMA/8000/2\r\n"),
}


def make_file(d, name):
    codec, rate, ch, tones, _ = STREAMS[name]
    path = os.path.join(d, name + ".mkv")
    spf = rate // 50  # 20 ms packets
    srcs = ["sine=frequency=%d:sample_rate=%d:duration=90:samples_per_frame=%d" % (f, rate, spf) for f in tones]
    if ch == 1:
        graph = srcs[0] + "[a]"
    else:  # the right channel 10 dB down: a downmix peaks at the left's tone
        graph = "%s[l];%s,volume=-10dB[r];[l][r]join=inputs=2:channel_layout=stereo,asetnsamples=n=%d[a]" % (
            srcs[0], srcs[1], spf)
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=160x120:rate=10:duration=90", "-filter_complex", graph, "-map", "0:v",
                        "-map", "[a]", "-c:a", codec, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
                        "-pix_fmt", "yuv420p", "-y", path], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "ffmpeg made %s (%s)" % (os.path.basename(path), p.stderr[-200:]))
    return path


def probe(path):
    """The audio stream's codec, rate and channels, and its packets' times (s)."""
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                        "stream=codec_name,sample_rate,channels", "-of", "json", path],
                       capture_output=True, text=True, timeout=60)
    st = (json.loads(p.stdout or "{}").get("streams") or [{}])[0]
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts_time",
                        "-of", "csv=p=0", path], capture_output=True, text=True, timeout=60)
    times = [float(x) for x in p.stdout.split() if x.strip() not in ("", "N/A")]
    return st.get("codec_name"), int(st.get("sample_rate", 0)), st.get("channels"), times


def channel_tones(path, ch):
    """Each channel's strongest frequency (ffmpeg decodes at 48 kHz, numpy's FFT)."""
    import numpy as np
    p = subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-map", "0:a:0", "-ar", "48000",
                        "-f", "f32le", "-"], capture_output=True, timeout=60)
    x = np.frombuffer(p.stdout, dtype="<f4")
    x = x[:len(x) - len(x) % ch].reshape(-1, ch)[48000 // 2:]
    if len(x) < 48000:
        return [0.0] * ch
    freqs = np.fft.rfftfreq(len(x), 1.0 / 48000)
    return [round(float(freqs[int(np.argmax(np.abs(np.fft.rfft(x[:, c] * np.hanning(len(x))))))]), 1)
            for c in range(ch)]


def main():
    camrelay = sys.argv[1]
    d = tempfile.mkdtemp(prefix="camrelay-g711-")
    files = {n: make_file(d, n) for n in STREAMS}
    http, rtsp = free_port(), free_port()
    ports = {s: free_udp_quad() for s in STREAMS}
    t = '[http]\nlisten = "127.0.0.1:%d"\n[webrtc]\nport = %d\n[rtsp]\nlisten = "127.0.0.1:%d"\n' % (
        http, free_port(), rtsp)
    for s in STREAMS:
        t += ('[stream.%s]\n[[stream.%s.sources]]\nfile = "%s"\nloop = true\n[stream.%s.audio]\nbackend = "url"\n'
              '[[stream.%s.sinks]]\ntype = "rtp"\naddress = "127.0.0.1:%d"\n') % (s, s, files[s], s, s, ports[s])
    srv, log, base = serve(camrelay, d, t, http)
    try:
        audio_running(base, STREAMS)
        time.sleep(1)
        for n, (codec, rate, ch, _, sdp_has) in STREAMS.items():
            with urllib.request.urlopen(base + "/sdp/" + n, timeout=10) as r:
                sdp = r.read().decode()
            want = sdp_has % (ports[n] + 2)
            check(want in sdp and "RTP/AVP 0\r" not in sdp and "RTP/AVP 8\r" not in sdp,
                  "%s: the plain RTP SDP says %r (%s)" % (n, want.strip(), [
                      x for x in sdp.splitlines() if "audio" in x or "rtpmap" in x][-2:]))
        table = {n: (codec, "/%d" % rate, tones[0]) for n, (codec, rate, ch, tones, _) in STREAMS.items()}
        check_passthrough(base, d, files, rtsp, {}, table)
        for n, (codec, rate, ch, tones, _) in STREAMS.items():
            for how in ("rtp", "rtsp"):
                rec = os.path.join(d, "%s-%s.mkv" % (n, how))
                c, r, k, times = probe(rec)
                gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
                gap = statistics.median(gaps) if gaps else 0
                check(c == codec and r == rate and k == ch and abs(gap - 0.020) <= 0.0015,
                      "%s: %s: ffprobe reads %s %d Hz %s ch, packets %.3f s apart on the RTP clock (%d packets)" % (
                          n, how, c, r, k, gap, len(times)))
                got = channel_tones(rec, ch)
                check(all(abs(g - w) <= 3 for g, w in zip(got, tones)) and len(got) == len(tones),
                      "%s: %s: each channel decodes to its tone: %s Hz (%s)" % (n, how, got, list(tones)))
    finally:
        stop(srv)
    finish(log)


if __name__ == "__main__":
    main()
