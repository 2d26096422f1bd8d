"""Helpers for the end-to-end tests: run the real camrelay binary on a free
loopback port and talk to it with real clients. Python 3 standard library
plus Debian's python3-pil."""

import io
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from PIL import Image
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ports  # noqa: E402  (free ports outside the kernel's ephemeral range)

TEST_STREAM_TOML = """
[http]
listen = "{listen}"

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
port = {udp_port}
candidates = ["127.0.0.1"]
"""


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def free_port(host="127.0.0.1"):
    return ports.free_port(host=host)


def free_udp_port():
    return ports.free_port(socket.SOCK_DGRAM)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


_servers = []  # for printing their logs when a test fails


class Server:
    """camrelay serve -c CONFIG, with the config's listen address filled in."""

    def __init__(self, exe, toml=TEST_STREAM_TOML, host="127.0.0.1", nofile=None, args=()):
        self.exe = exe
        self.args = list(args)  # more `camrelay serve` arguments, e.g. ["-v"]
        self.nofile = nofile  # RLIMIT_NOFILE (soft and hard) for the daemon
        self.dir = tempfile.mkdtemp(prefix="camrelay-e2e-")
        self.port = free_port(host)
        self.listen = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        self.url = f"http://{self.listen}"
        self.config = os.path.join(self.dir, "camrelay.toml")
        with open(self.config, "w") as f:
            # WHEP's UDP port too: servers of parallel tests must not collide.
            f.write(toml.format(listen=self.listen, udp_port=free_udp_port()))
        self.log_path = os.path.join(self.dir, "camrelay.log")
        self.proc = None
        _servers.append(self)

    def start(self, timeout=10):
        self.log = open(self.log_path, "w")
        env = dict(os.environ)
        # Under ASan, freed memory sits in a 256 MB quarantine by default, so
        # RSS would grow with every freed packet; a small one keeps the RSS
        # checks meaningful there too (no effect on other builds).
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
        limit = None
        if self.nofile:
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        self.proc = subprocess.Popen([self.exe, "serve", "-c", self.config] + self.args, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, preexec_fn=limit)
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Fail(f"camrelay exited with {self.proc.returncode} at start:\n{self.log_tail()}")
            try:
                status, _, _ = get(self.url + "/api/streams", timeout=1)
                if status in (200, 401):  # 401: an [auth] config is up too
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise Fail(f"camrelay did not answer on {self.url} within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail(f"camrelay did not stop within {timeout} s of SIGTERM:\n{self.log_tail()}")
        return rc

    def log_tail(self, n=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            check(rc == 0, f"camrelay exited with {rc} after SIGTERM:\n{self.log_tail()}")

    # ---- reading the daemon ----

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise Fail("no VmRSS in /proc/PID/status")

    def streams(self):
        status, _, body = get(self.url + "/api/streams")
        check(status == 200, f"/api/streams: HTTP {status}: {body[:200]!r}")
        return json.loads(body)["streams"]

    def stream(self, name="test"):
        for s in self.streams():
            if s["name"] == name:
                return s
        raise Fail(f"/api/streams has no stream {name}")

    def metrics(self):
        status, headers, body = get(self.url + "/metrics")
        check(status == 200, f"/metrics: HTTP {status}")
        check(headers.get("Content-Type", "").startswith("text/plain"),
              f"/metrics Content-Type is {headers.get('Content-Type')}")
        return parse_prometheus(body.decode())

    def metric(self, name, **labels):
        m = self.metrics()
        key = (name, tuple(sorted(labels.items())))
        check(key in m, f"/metrics has no {name}{labels}")
        return m[key]

    def wait_for(self, what, fn, timeout=10):
        """Polls fn() until it is true; counters, never timings, decide."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.1)
        raise Fail(f"{what}: not within {timeout} s (last: {last!r})\n{self.log_tail()}")


def get(url, method="GET", data=None, timeout=10, headers=None):
    """(status, headers, body) also for 4xx/5xx."""
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


_METRIC_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? '
    r'([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|Inf))$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def parse_prometheus(text):
    """Strict enough: every line is a comment (# HELP/# TYPE) or name{labels} value."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("#"):
            check(re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$", line),
                  f"/metrics line {n}: bad comment: {line!r}")
            continue
        m = _METRIC_LINE.match(line)
        check(m, f"/metrics line {n} is not 'name{{labels}} value': {line!r}")
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def boundary_of(content_type):
    m = re.search(r"boundary=\"?([^\";]+)\"?", content_type or "")
    check(m, f"no boundary in Content-Type {content_type!r}")
    return m.group(1)


def parse_multipart(data, boundary):
    """The complete parts of a multipart/x-mixed-replace body (a cut-off last
    part is ignored): [(headers, body)]. Checks each part's framing."""
    delim = b"--" + boundary.encode()
    parts = []
    pos = data.find(delim)
    check(pos == 0, f"body does not start with the boundary: {data[:80]!r}")
    while True:
        pos += len(delim)
        if data[pos:pos + 2] == b"--":
            break  # closing delimiter
        if len(data) < pos + 2:
            break
        check(data[pos:pos + 2] == b"\r\n", f"no CRLF after the boundary at byte {pos}")
        pos += 2
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        headers = {}
        for line in data[pos:end].decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        check("content-length" in headers, f"part {len(parts)} has no Content-Length: {headers}")
        length = int(headers["content-length"])
        body_start = end + 4
        if len(data) < body_start + length + 2 + len(delim):
            break  # cut off
        body = data[body_start:body_start + length]
        pos = body_start + length
        check(data[pos:pos + 2] == b"\r\n" and data[pos + 2:pos + 2 + len(delim)] == delim,
              f"part {len(parts)}: Content-Length {length} is not followed by CRLF and the boundary")
        pos += 2
        parts.append((headers, body))
    return parts


def decode_jpeg(data):
    img = Image.open(io.BytesIO(data))
    check(img.format == "JPEG", f"not a JPEG: {img.format}")
    img.load()  # decodes every scan; raises on a truncated or corrupt JPEG
    return img


def mjpeg_arrivals(port, path, parts, stop):
    """Reads the MJPEG stream at 127.0.0.1:port/path until stop (a
    threading.Event) is set, appending (arrival time in ms of the wall clock,
    JPEG) for each part to parts. Parts need a Content-Length (camrelay's and
    µStreamer's have one)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    buf = b""
    while not stop.is_set():
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        while True:  # each part: headers with Content-Length, then the JPEG
            h = buf.find(b"Content-Length: ")
            e = buf.find(b"\r\n\r\n", h)
            if h < 0 or e < 0:
                break
            n = int(buf[h + 16:buf.index(b"\r\n", h)])
            if len(buf) < e + 4 + n:
                break
            parts.append((time.time() * 1000, buf[e + 4:e + 4 + n]))
            buf = buf[e + 4 + n:]
    sock.close()


def timecode_g2g(parts, reader):
    """Glass-to-glass figures (ms: arrival - capture time) of (arrival ms,
    JPEG) parts of one size, the capture time read from each picture's
    timecode block by the project's C decoder (reader: BUILD/tests/unit/
    test_timecode), and how many were unreadable."""
    if not parts:
        return [], 0
    pics = [Image.open(io.BytesIO(j)).convert("L") for _, j in parts]
    out = subprocess.run([reader, "read", str(pics[0].width), str(pics[0].height)],
                         input=b"".join(p.tobytes() for p in pics), capture_output=True, timeout=300)
    lines = [json.loads(x) for x in out.stdout.decode().splitlines()]
    figures = [t - r["ms"] for (t, _), r in zip(parts, lines) if "ms" in r]
    return figures, len(parts) - len(figures)


def run(main):
    """Runs a test's main(exe), printing a clear failure."""
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} CAMRELAY_EXE", file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1])
    except Exception as e:
        for srv in _servers:
            print(f"--- camrelay log ({srv.log_path}, exit {srv.proc.poll() if srv.proc else None}):\n"
                  f"{srv.log_tail(60)}", file=sys.stderr)
        if not isinstance(e, Fail):
            raise
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok")
