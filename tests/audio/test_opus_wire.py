#!/usr/bin/python3
"""Opus FEC and DTX on the wire (issue 19, item 2: "in-band FEC and DTX
configurable"): [stream.X.audio] fec / dtx change the packets camrelay sends,
read here as raw RTP from the plain RTP sink's audio port (port + 2) by a
UDP socket.

  speech_fec, speech_nofec   a file whose audio (48 kHz mono S16, decoded and
      encoded to Opus here) is a 220 + 660 Hz chord whose loudness swings at
      3 Hz like syllables (SILK's voice activity detector sees a steady tone
      as noise). fec = true: SILK/hybrid packets (TOC config < 16) whose
      LBRR flag (RFC 6716 4.2.3-4.2.4: the second bit of the range-coded
      SILK header of a mono 20 ms frame, after its VAD flag) is set in most
      of them; fec = false: no packet has it.
  silent_dtx, silent_nodtx   a file whose audio is digital silence. dtx =
      true: libopus 1.3 encodes up to 20 frames in a row as 1-byte DTX
      frames, which camrelay does not send (RFC 7587 3.2), then a
      comfort-noise frame: at most 3 packets per 48000 RTP ticks, gaps of 10
      to 21 frames (at most 20160 ticks, 420 ms), the marker bit on each
      packet after a gap; dtx = false: a packet per 20 ms (960 ticks).

Judged on counts and RTP timestamps, not on arrival times.

    test_opus_wire.py CAMRELAY"""
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_av_sync import audio_running, check, finish, free_port, free_udp_quad, serve, stop  # noqa: E402

# name: (file, fec, dtx)
STREAMS = {"speech_fec": ("speech", True, False), "speech_nofec": ("speech", False, False),
           "silent_dtx": ("silent", True, True), "silent_nodtx": ("silent", True, False)}
PACKETS = 150  # dtx = false streams: 3 s of 20 ms packets


def make_file(d, kind):
    path = os.path.join(d, kind + ".mkv")
    audio = ("aevalsrc=(0.5+0.5*sin(2*PI*3*t))*0.18*(sin(2*PI*220*t)+0.5*sin(2*PI*660*t)):s=48000:d=120"
             if kind == "speech" else "anullsrc=r=48000:cl=mono:d=120")
    p = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=160x120:rate=10:duration=120", "-f", "lavfi", "-i", audio, "-c:a", "pcm_s16le",
                        "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p", "-y", path],
                       capture_output=True, text=True, timeout=180)
    check(p.returncode == 0, "ffmpeg made %s (%s)" % (os.path.basename(path), p.stderr[-200:]))
    return path


def silk_flags(payload):
    """(VAD, LBRR) of a one-frame mono SILK or hybrid packet (TOC config < 16,
    code 0), read with RFC 6716 4.1's range decoder (ec_dec_bit_logp, logp
    1); None for CELT or other packets."""
    if len(payload) < 2 or payload[0] >> 3 >= 16 or payload[0] & 3:
        return None
    data, pos = payload[1:], [0]

    def byte():
        pos[0] += 1
        return data[pos[0] - 1] if pos[0] <= len(data) else 0

    st = {"rng": 128, "rem": byte()}
    st["val"] = 127 - (st["rem"] >> 1)

    def normalize():
        while st["rng"] <= 1 << 23:
            st["rng"] <<= 8
            sym = ((st["rem"] << 8) | byte()) >> 1
            st["rem"] = data[pos[0] - 1] if pos[0] <= len(data) else 0
            st["val"] = ((st["val"] << 8) + (255 & ~sym)) & 0x7fffffff

    def bit():
        s = st["rng"] >> 1
        one = st["val"] < s
        if not one:
            st["val"] -= s
        st["rng"] = s if one else st["rng"] - s
        normalize()
        return int(one)

    normalize()
    return bit(), bit()


def libopus_lbrr(payloads):
    """For each packet after the first: whether libopus (the decoder camrelay
    links; opus_packet_has_lbrr is 1.5+ only) recovers the frame before it
    from it (opus_decode with decode_fec = 1) differently from concealing it
    (no packet: PLC), both from the same decoder state (a byte copy: libopus
    states are flat). An independent reading of the LBRR flag."""
    import ctypes
    lib = ctypes.CDLL("libopus.so.0")
    size = lib.opus_decoder_get_size(1)
    states = [ctypes.create_string_buffer(size) for _ in range(3)]
    dec = [ctypes.cast(b, ctypes.c_void_p) for b in states]
    check(lib.opus_decoder_init(dec[0], 48000, 1) == 0, "libopus: a decoder")
    pcm = [(ctypes.c_int16 * 960)() for _ in range(3)]
    out = []
    for i, p in enumerate(payloads):
        if i >= 1:  # dec[0] has decoded up to packet i - 2: packet i - 1 is "lost"
            for k in (1, 2):
                ctypes.memmove(states[k], states[0], size)
            fec = lib.opus_decode(dec[1], p, len(p), pcm[1], 960, 1)
            plc = lib.opus_decode(dec[2], None, 0, pcm[2], 960, 0)
            out.append(fec == plc == 960 and bytes(pcm[1]) != bytes(pcm[2]))
            prev = payloads[i - 1]
            lib.opus_decode(dec[0], prev, len(prev), pcm[0], 960, 0)
    return out


def receive(socks, want):
    """RTP packets per stream: (seq, ts, marker, payload), until each stream
    has want[name] packets or 60 s passed (a loaded machine)."""
    got = {n: [] for n in socks}
    end = time.monotonic() + 60
    while time.monotonic() < end and any(len(got[n]) < want[n] for n in socks):
        for n, s in socks.items():
            while True:
                try:
                    b = s.recv(2048)
                except BlockingIOError:
                    break
                if len(b) > 12 and len(got[n]) < want[n]:
                    cc = b[0] & 15
                    got[n].append((int.from_bytes(b[2:4], "big"), int.from_bytes(b[4:8], "big"), b[1] >> 7,
                                   b[12 + 4 * cc:]))
        time.sleep(0.01)
    return got


def main():
    camrelay = sys.argv[1]
    d = tempfile.mkdtemp(prefix="camrelay-opuswire-")
    files = {k: make_file(d, k) for k in ("speech", "silent")}
    http = free_port()
    ports = {s: free_udp_quad() for s in STREAMS}
    socks = {}
    for n, p in ports.items():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(("127.0.0.1", p + 2))
        s.setblocking(False)
        socks[n] = s
    t = '[http]\nlisten = "127.0.0.1:%d"\n' % http
    for n, (kind, fec, dtx) in STREAMS.items():
        t += ('[stream.%s]\n[[stream.%s.sources]]\nfile = "%s"\nloop = true\n[stream.%s.audio]\nbackend = "url"\n'
              'fec = %s\ndtx = %s\n[[stream.%s.sinks]]\ntype = "rtp"\naddress = "127.0.0.1:%d"\n') % (
            n, n, files[kind], n, str(fec).lower(), str(dtx).lower(), n, ports[n])
    srv, log, base = serve(camrelay, d, t, http)
    try:
        st = audio_running(base, STREAMS)
        for n in STREAMS:
            a = st[n].get("audio") or {}
            check(a.get("state") == "running" and "pcm_s16le" in a.get("device", "") and not a.get("passthrough"),
                  "%s: the file's audio is decoded and encoded to Opus here (%s, %s)" % (
                      n, a.get("state"), a.get("device")))
        time.sleep(1)  # past the file's first frames (DTX starts after 10 silent frames)
        for s in socks.values():  # what came before: dropped
            while True:
                try:
                    s.recv(2048)
                except BlockingIOError:
                    break
        # dtx = true sends ~2.5 packets a second: 8 of them span ~3 s too.
        got = receive(socks, {n: 8 if STREAMS[n][2] else PACKETS for n in STREAMS})
        stats = {}
        for n, pk in got.items():
            span = (pk[-1][1] - pk[0][1]) % (1 << 32) if len(pk) > 1 else 0
            gaps = [((b[1] - a[1]) % (1 << 32)) for a, b in zip(pk, pk[1:])]
            flags = [silk_flags(p[3]) for p in pk]
            stats[n] = {
                "packets": len(pk), "rtp_span": span, "per_48000": round((len(pk) - 1) * 48000 / max(span, 1), 2),
                "gaps": dict(collections.Counter(gaps)), "sizes": dict(collections.Counter(len(p[3]) for p in pk)),
                "toc_configs": dict(collections.Counter(p[3][0] >> 3 for p in pk if p[3])),
                "silk": sum(1 for f in flags if f is not None), "vad": sum(1 for f in flags if f and f[0]),
                "lbrr": sum(1 for f in flags if f and f[1]),
                "marked_after_gap": sum(1 for a, b in zip(pk, pk[1:]) if (b[1] - a[1]) % (1 << 32) > 960 and b[2]),
                "after_gap": sum(1 for g in gaps if g > 960), "seq_ok": all(
                    (b[0] - a[0]) % 65536 == 1 for a, b in zip(pk, pk[1:]))}
            print("     %s: %s" % (n, json.dumps(stats[n], sort_keys=True)))
        for n in ("speech_fec", "speech_nofec"):
            pk = [p[3] for p in got[n]]
            mine = [bool(f and f[1]) for f in (silk_flags(p) for p in pk[1:])]
            theirs = libopus_lbrr(pk)
            stats[n]["libopus_fec"] = sum(theirs)
            check(len(theirs) == len(mine) and theirs == mine,
                  "%s: libopus decodes in-band FEC from the same %d packets whose LBRR flag is read here (%d)" % (
                      n, sum(theirs), sum(mine)))
        f1, f0 = stats["speech_fec"], stats["speech_nofec"]
        check(f1["packets"] >= PACKETS and f1["silk"] >= 0.9 * f1["packets"] and f1["lbrr"] >= 0.5 * f1["packets"],
              "speech_fec: %d of %d packets carry LBRR (in-band FEC of the frame before; %d SILK/hybrid, %d voiced)" % (
                  f1["lbrr"], f1["packets"], f1["silk"], f1["vad"]))
        check(f0["packets"] >= PACKETS and f0["lbrr"] == 0,
              "speech_nofec: %d of %d packets carry LBRR (%d SILK/hybrid; TOC configs %s)" % (
                  f0["lbrr"], f0["packets"], f0["silk"], f0["toc_configs"]))
        x, y = stats["silent_dtx"], stats["silent_nodtx"]
        check(y["packets"] >= PACKETS and y["per_48000"] >= 49 and
              y["gaps"].get(960, 0) >= 0.98 * len(got["silent_nodtx"]) and min(y["sizes"]) >= 3,
              "silent_nodtx: a packet every 960 ticks (20 ms), none a DTX frame: %d packets, %s per 48000 ticks, "
              "gaps %s, payload bytes %s" % (y["packets"], y["per_48000"], y["gaps"], y["sizes"]))
        check(x["packets"] >= 8 and x["per_48000"] <= 3 and max(x["gaps"] or [0]) <= 21 * 960 and
              min(x["gaps"] or [0]) >= 10 * 960,
              "silent_dtx: %d packets, %s per 48000 ticks, gaps %s ticks (DTX: 20 frames unsent, 21 at most)" % (
                  x["packets"], x["per_48000"], x["gaps"]))
        check(x["after_gap"] > 0 and x["marked_after_gap"] == x["after_gap"] and x["seq_ok"],
              "silent_dtx: the marker bit on each of the %d packets after a gap (%d), sequence numbers without holes" % (
                  x["after_gap"], x["marked_after_gap"]))
        with urllib.request.urlopen(base + "/api/streams", timeout=5) as r:
            st = {s["name"]: s for s in json.loads(r.read())["streams"]}
        c = {n: (st[n].get("audio") or {}).get("counters", {}) for n in STREAMS}
        print("     counters: %s" % json.dumps({n: {k: c[n].get(k) for k in ("packets", "encoded_frames")}
                                              for n in STREAMS}))
        check(c["silent_dtx"].get("packets", 0) * 5 < c["silent_nodtx"].get("packets", 0),
              "/api/streams: silent_dtx sent %s packets, silent_nodtx %s" % (
                  c["silent_dtx"].get("packets"), c["silent_nodtx"].get("packets")))
    finally:
        stop(srv)
    finish(log)


if __name__ == "__main__":
    main()
