#!/usr/bin/python3
"""MJPEG over HTTP: camrelay's CPU and memory per frame with 1, 10 and 100
clients of /mjpeg/test (test source, 1280x720 yuyv at 30 fps), side by side
with ffmpeg JPEG-encoding the same frames.

    bench/mjpeg.py CAMRELAY_EXE [--seconds 10] [--clients 0,1,10,100]
    (or: meson test -C BUILD --benchmark mjpeg)

camrelay's figures cover the whole process: the test source drawing each
frame and converting it to yuyv (the part a real camera would do; the
"0 clients" row measures it alone), yuyv→I420, one JPEG encode per frame
for all clients, and writing to every client's socket. CPU is utime+stime
from /proc/PID/stat over the measured seconds divided by the JPEGs encoded
in them (camrelay_packets_encoded_total from /metrics).

ffmpeg gets the same picture: frames of camrelay's own test pattern (taken
from its MJPEG stream and decoded once to raw yuyv422), encoded with
`-c:v mjpeg -pix_fmt yuvj420p -f image2pipe` at the -q:v whose JPEG size is
closest to camrelay's. Its CPU is getrusage(RUSAGE_CHILDREN) per frame; a
second run with `-f null` (same input and conversion, no encode) shows how
much of that is the JPEG encoder itself. ffmpeg serves no clients: its
row is the cost of the encode alone.

The clients are one Python process on loopback reading and discarding;
their CPU is not counted."""

import argparse
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CONFIG = """
[http]
listen = "127.0.0.1:{port}"

[stream.test]
[[stream.test.sources]]
[stream.test.sources.capture]
backend = "test"
width = 1280
height = 720
fps = 30
pixel_format = "yuyv"

[stream.test.mjpeg]
quality = 80

[webrtc]
port = {port}
candidates = ["127.0.0.1"]
"""
BOUNDARY = b"--boundarydonotcross"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def metric(url, name):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    m = re.search(r"^" + re.escape(name) + r'(\{stream="test"\})? (\S+)$', text, re.M)
    return float(m.group(2))


class Readers:
    """N MJPEG clients in one thread: read, count boundaries, discard."""

    def __init__(self, port, n):
        self.sel = selectors.DefaultSelector()
        self.frames = [0] * n
        self.bytes = [0] * n
        self.carry = [b""] * n
        self.socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /mjpeg/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, i)
            self.socks.append(s)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            for key, _ in self.sel.select(0.2):
                i = key.data
                try:
                    data = key.fileobj.recv(262144)
                except BlockingIOError:
                    continue
                if not data:
                    self.sel.unregister(key.fileobj)
                    continue
                buf = self.carry[i] + data
                self.frames[i] += buf.count(BOUNDARY)
                self.carry[i] = buf[-(len(BOUNDARY) - 1):]
                self.bytes[i] += len(data)

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def run_camrelay(exe, n_clients, seconds, workdir, warmup=2.0):
    port = free_port()
    cfg = os.path.join(workdir, "bench.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(port=port))
    log = open(os.path.join(workdir, f"camrelay-{n_clients}.log"), "w")
    proc = subprocess.Popen([exe, "serve", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/api/streams", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        readers = Readers(port, n_clients) if n_clients else None
        time.sleep(warmup)
        c0, p0, f0 = cpu_seconds(proc.pid), metric(url, "camrelay_packets_encoded_total"), \
            metric(url, "camrelay_frames_captured_total")
        r0 = (sum(readers.frames), sum(readers.bytes)) if readers else (0, 0)
        t0 = time.monotonic()
        time.sleep(seconds)
        c1, p1, f1 = cpu_seconds(proc.pid), metric(url, "camrelay_packets_encoded_total"), \
            metric(url, "camrelay_frames_captured_total")
        t1 = time.monotonic()
        r1 = (sum(readers.frames), sum(readers.bytes)) if readers else (0, 0)
        rss, hwm = status_kb(proc.pid, "VmRSS"), status_kb(proc.pid, "VmHWM")
        api = json.loads(urllib.request.urlopen(url + "/api/streams/test", timeout=10).read())
        if readers:
            readers.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    encoded, captured = p1 - p0, f1 - f0
    received = r1[0] - r0[0]
    return {
        "clients": n_clients,
        "seconds": t1 - t0,
        "captured": captured,
        "encoded": encoded,
        "cpu_s": c1 - c0,
        "cpu_ms_per_frame": (c1 - c0) * 1000 / (encoded if n_clients else captured),
        "cpu_pct": (c1 - c0) * 100 / (t1 - t0),
        "rss_mb": rss / 1024,
        "hwm_mb": hwm / 1024,
        "fps_per_client": received / n_clients / (t1 - t0) if n_clients else 0,
        "jpeg_kb": (r1[1] - r0[1]) / received / 1024 if received else 0,
        "drops": api["drops"],
        "latency_sent_p50_ms": api["latency_ms"]["capture_to_sent"]["p50"],
        "latency_sent_p99_ms": api["latency_ms"]["capture_to_sent"]["p99"],
    }


def grab_frames(exe, workdir, n_frames=30):
    """camrelay's test pattern as raw yuyv422: n JPEGs from its stream, decoded once."""
    port = free_port()
    cfg = os.path.join(workdir, "grab.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(port=port))
    proc = subprocess.Popen([exe, "serve", "-c", cfg], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/streams", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /mjpeg/test HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while data.count(BOUNDARY) < n_frames + 2:
            data += s.recv(1 << 20)
        s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    jpegs = []
    for part in data.split(BOUNDARY)[1:n_frames + 1]:
        head, _, body = part.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        jpegs.append(body[:length])
    mjpeg = os.path.join(workdir, "frames.mjpeg")
    with open(mjpeg, "wb") as f:
        f.write(b"".join(jpegs))
    raw = os.path.join(workdir, "frames.yuyv")
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "mjpeg",
                    "-i", mjpeg, "-pix_fmt", "yuyv422", "-f", "rawvideo", raw], check=True)
    return raw, len(jpegs)


def run_ffmpeg(raw, n_raw, loops, q, encode=True):
    """CPU seconds per frame and bytes per JPEG for ffmpeg encoding the raw frames."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-stream_loop", str(loops - 1),
           "-f", "rawvideo", "-pix_fmt", "yuyv422", "-s", "1280x720", "-r", "30", "-i", raw,
           "-pix_fmt", "yuvj420p"]
    cmd += (["-c:v", "mjpeg", "-qmin", "1", "-q:v", str(q), "-f", "image2pipe", "pipe:1"] if encode
            else ["-f", "null", "-"])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    size = 0
    while True:
        chunk = p.stdout.read(1 << 20)
        if not chunk:
            break
        size += len(chunk)
    p.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    frames = n_raw * loops
    return {"cpu_ms_per_frame": cpu * 1000 / frames, "jpeg_kb": size / frames / 1024,
            "maxrss_mb": after.ru_maxrss / 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("camrelay")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", default="0,1,10,100")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="camrelay-bench-")

    rows = []
    for n in [int(x) for x in a.clients.split(",")]:
        r = run_camrelay(a.camrelay, n, a.seconds, workdir)
        rows.append(r)
        print(f"camrelay, {n:3d} clients: {r['cpu_ms_per_frame']:.2f} ms CPU/frame, "
              f"{r['cpu_pct']:.0f}% CPU, RSS {r['rss_mb']:.1f} MB, "
              f"{r['fps_per_client']:.1f} fps/client", file=sys.stderr)

    raw, n_raw = grab_frames(a.camrelay, workdir)
    target = next((r["jpeg_kb"] for r in rows if r["jpeg_kb"]), 0)
    # The ffmpeg quality whose JPEGs are closest in size to camrelay's quality 80.
    best = None
    for q in range(1, 9):
        f = run_ffmpeg(raw, n_raw, 1, q)
        if best is None or abs(f["jpeg_kb"] - target) < abs(best[1]["jpeg_kb"] - target):
            best = (q, f)
    q = best[0]
    loops = max(1, int(a.seconds * 30 / n_raw))
    ff = run_ffmpeg(raw, n_raw, loops, q)
    ff_null = run_ffmpeg(raw, n_raw, loops, q, encode=False)

    print()
    print(f"MJPEG 1280x720 @ 30 fps, test pattern, {a.seconds:.0f} s per row "
          f"({os.cpu_count()} CPUs, {os.uname().machine})")
    print(f"{'':34s} {'CPU ms/frame':>12s} {'CPU %':>6s} {'RSS MB':>7s} {'fps/client':>10s} "
          f"{'JPEG KB':>8s} {'drops':>6s} {'sent p50/p99 ms':>16s}")
    for r in rows:
        name = f"camrelay, {r['clients']} client{'s' if r['clients'] != 1 else ''}"
        if not r["clients"]:
            name = "camrelay, 0 clients (source only)"
        print(f"{name:34s} {r['cpu_ms_per_frame']:12.2f} {r['cpu_pct']:6.1f} {r['rss_mb']:7.1f} "
              f"{r['fps_per_client']:10.1f} {r['jpeg_kb']:8.1f} {r['drops']:6d} "
              f"{r['latency_sent_p50_ms']:7.1f}/{r['latency_sent_p99_ms']:<8.1f}")
    print(f"{'ffmpeg -c:v mjpeg -q:v ' + str(q) + ' (maxrss)':34s} {ff['cpu_ms_per_frame']:12.2f} {'':6s} "
          f"{ff['maxrss_mb']:7.1f} {'':10s} {ff['jpeg_kb']:8.1f}")
    print(f"{'ffmpeg same, -f null (no encode)':34s} {ff_null['cpu_ms_per_frame']:12.2f} {'':6s} "
          f"{ff_null['maxrss_mb']:7.1f}")
    print()
    base = next((r for r in rows if r["clients"] == 0), None)
    ff_enc = ff["cpu_ms_per_frame"] - ff_null["cpu_ms_per_frame"]
    print(f"ffmpeg: {ff['cpu_ms_per_frame']:.2f} ms/frame in all, of which the JPEG encoder "
          f"{ff_enc:.2f} ms and reading + yuyv422->yuvj420p {ff_null['cpu_ms_per_frame']:.2f} ms")
    for r in rows:
        if not r["clients"]:
            continue
        line = (f"{r['clients']:3d} client{'s' if r['clients'] != 1 else ' '}: camrelay/ffmpeg CPU per "
                f"frame {r['cpu_ms_per_frame'] / ff['cpu_ms_per_frame']:.2f}")
        if base:
            mj = r["cpu_ms_per_frame"] - base["cpu_ms_per_frame"]
            line += (f"; camrelay's MJPEG path alone (minus the source row) {mj:.2f} ms: "
                     f"{mj / ff['cpu_ms_per_frame']:.2f} x ffmpeg in all, "
                     f"{mj / ff_enc:.2f} x ffmpeg's encoder alone")
        print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"camrelay": rows, "ffmpeg": ff, "ffmpeg_null": ff_null, "ffmpeg_q": q}, f, indent=1)


if __name__ == "__main__":
    main()
