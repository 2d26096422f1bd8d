#!/usr/bin/python3
"""MJPEG over HTTPS against plain HTTP: camrelay's CPU per delivered frame
with N clients of /mjpeg/test (test source 1280x720 yuyv at 30 fps), the
same daemon and stream, once with [http] tls_cert/tls_key (TLS 1.3, a P-256
certificate the bench makes with openssl) and once without.

    bench/https.py CAMRELAY_EXE [--seconds 15] [--clients 10]

CPU is utime+stime of the daemon (/proc/PID/stat) over the measured
seconds divided by the JPEGs encoded in them (camrelay_packets_encoded_total);
the clients (Python, one thread, TLS through the ssl module) are not
counted. Prints both rows and the HTTPS/HTTP ratio: the price of encryption
per frame for N viewers (what users would otherwise pay a TLS proxy for)."""

import argparse
import os
import re
import selectors
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CONFIG = """
[http]
listen = "127.0.0.1:{port}"
{tls}
[stream.test]
[[stream.test.sources]]
[stream.test.sources.capture]
backend = "test"
width = 1280
height = 720
fps = 30
pixel_format = "yuyv"

[webrtc]
port = {port}
candidates = ["127.0.0.1"]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def metric(base, name, ctx):
    text = urllib.request.urlopen(base + "/metrics", timeout=10, context=ctx).read().decode()
    return float(re.search(r"^" + re.escape(name) + r'\{stream="test"\} (\S+)$', text, re.M).group(1))


class Readers:
    def __init__(self, port, n, ctx):
        self.frames = [0] * n
        self.sel = selectors.DefaultSelector()
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            if ctx:
                s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
            s.sendall(b"GET /mjpeg/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, i)
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.is_set():
            for key, _ in self.sel.select(0.2):
                try:
                    while True:
                        d = key.fileobj.recv(262144)
                        if not d:
                            self.sel.unregister(key.fileobj)
                            break
                        self.frames[key.data] += d.count(b"--boundarydonotcross")
                except (BlockingIOError, ssl.SSLWantReadError):
                    pass


def run(exe, tls, n, seconds, d):
    port = free_port()
    cfg = os.path.join(d, f"{'https' if tls else 'http'}.toml")
    t = f'tls_cert = "{d}/cert.pem"\ntls_key = "{d}/key.pem"\n' if tls else ""
    open(cfg, "w").write(CONFIG.format(port=port, tls=t))
    proc = subprocess.Popen([exe, "serve", "-c", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx = None
    if tls:
        ctx = ssl.create_default_context(cafile=f"{d}/cert.pem")
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/streams", timeout=1, context=ctx).read()
                break
            except OSError:
                time.sleep(0.1)
        r = Readers(port, n, ctx)
        time.sleep(3)
        c0, e0, f0 = cpu_s(proc.pid), metric(base, "camrelay_packets_encoded_total", ctx), sum(r.frames)
        time.sleep(seconds)
        c1, e1, f1 = cpu_s(proc.pid), metric(base, "camrelay_packets_encoded_total", ctx), sum(r.frames)
        r.stop.set()
        return (c1 - c0) * 1000 / (e1 - e0), (f1 - f0) / n / seconds
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=10)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="camrelay-bench-https-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    rows = {}
    for tls in (False, True):
        rows[tls] = run(a.exe, tls, a.clients, a.seconds, d)
        print(f"{'HTTPS' if tls else 'HTTP '} {a.clients} clients: {rows[tls][0]:.2f} ms CPU per frame, "
              f"{rows[tls][1]:.1f} fps per client")
    print(f"HTTPS / HTTP CPU per frame: {rows[True][0] / rows[False][0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
