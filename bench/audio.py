#!/usr/bin/python3
"""Audio: CPU of one Opus stream (capture + encode) in camrelay against
ffmpeg's libopus doing the same job (a 48 kHz tone, 20 ms frames, the same
bitrate, sent as RTP), mono and stereo.

    bench/audio.py CAMRELAY_EXE [--seconds 10]

camrelay's figure is its audio thread's own (utime+stime of the thread named
cr-audio in /proc/PID/task), the test tone source plus libopus plus the RTP
send; ffmpeg's is the whole process (lavfi sine -> libopus -> rtp), which is
what a user would run beside a video server instead. Prints ms of CPU per
second of audio and the camrelay/ffmpeg ratio; exits 1 when a side does
not run."""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ticks(path):
    with open(path) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


def audio_thread(pid):
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
            if f.read().strip() == "cr-audio":
                return "/proc/%d/task/%s/stat" % (pid, t)
    return None


def camrelay_cpu(exe, channels, bitrate, seconds):
    d = tempfile.mkdtemp(prefix="bench-audio-")
    http = free_port()
    cfg = os.path.join(d, "c.toml")
    with open(cfg, "w") as f:
        f.write('[http]\nlisten = "127.0.0.1:%d"\n[rtsp]\nenabled = false\n[webrtc]\nport = %d\n'
                '[stream.a]\n[[stream.a.sources]]\ncapture = { backend = "test", width = 160, height = 120, fps = 5 }\n'
                '[stream.a.audio]\nbackend = "test"\nchannels = %d\nbitrate = %d\n'
                '[[stream.a.sinks]]\ntype = "rtp"\naddress = "127.0.0.1:%d"\n'
                % (http, free_port(socket.SOCK_DGRAM), channels, bitrate, free_port(socket.SOCK_DGRAM) & ~3))
    p = subprocess.Popen([exe, "serve", "-c", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        path = None
        for _ in range(100):
            time.sleep(0.1)
            path = audio_thread(p.pid)
            if path:
                break
        if not path:
            return None
        time.sleep(2)
        t0, c0 = time.monotonic(), ticks(path)
        time.sleep(seconds)
        return (ticks(path) - c0) / TICK / (time.monotonic() - t0)
    finally:
        p.terminate()
        p.wait(timeout=20)


def ffmpeg_cpu(channels, bitrate, seconds):
    port = free_port(socket.SOCK_DGRAM)
    p = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
                          "sine=frequency=440:sample_rate=48000", "-ac", str(channels), "-c:a", "libopus",
                          "-b:a", str(bitrate), "-frame_duration", "20", "-f", "rtp",
                          "rtp://127.0.0.1:%d" % port], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        time.sleep(2)
        if p.poll() is not None:
            return None
        path = "/proc/%d/stat" % p.pid
        t0, c0 = time.monotonic(), ticks(path)
        time.sleep(seconds)
        return (ticks(path) - c0) / TICK / (time.monotonic() - t0)
    finally:
        p.terminate()
        p.wait(timeout=20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("camrelay")
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    print("%-8s %8s %22s %22s %8s" % ("channels", "bitrate", "camrelay ms CPU / s", "ffmpeg ms CPU / s", "ratio"))
    for ch, br in ((1, 32000), (2, 64000)):
        c = camrelay_cpu(a.camrelay, ch, br, a.seconds)
        f = ffmpeg_cpu(ch, br, a.seconds)
        if c is None or f is None:
            print("a side did not run (camrelay %s, ffmpeg %s)" % (c, f))
            sys.exit(1)
        print("%-8d %8d %22.2f %22.2f %8.2f" % (ch, br, c * 1000, f * 1000, c / f if f else float("nan")))


if __name__ == "__main__":
    main()
