#!/usr/bin/python3
"""Connection caps over HTTPS answer like plain HTTP (issue 14, [limits]):
with http_connections_per_ip = 4 and four TLS connections held, a fifth
gets its handshake and a 429 with Retry-After inside TLS (curl sees the
status; before, the socket was shut during the handshake and curl saw a TLS
error). Refusing has a budget: 80 more connections that never finish a
handshake are all closed (at most 64 are kept for their handshake, each for
2 s), the held connections still work, and open files come back to their
baseline. Counts decide.

    test_tls_limits.py CAMRELAY_EXE
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import e2e
from e2e import check

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "webrtc"))
from test_https_chromium import _start, make_cert  # noqa: E402

TOML = """
[http]
listen = "{listen}"
tls_cert = "%(dir)s/cert.pem"
tls_key = "%(dir)s/key.pem"

[limits]
http_connections_per_ip = 4
header_timeout = 60

[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "test"
width = 160
height = 120
fps = 5

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
"""


def tls_conn(port, ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(s, server_hostname="localhost")


def ask(t):
    """One request on a TLS socket: its status line."""
    t.sendall(b"GET /api/streams HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = t.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1"), data


def main(exe):
    d = tempfile.mkdtemp(prefix="camrelay-tls-limits-")
    make_cert(d)
    srv = e2e.Server(exe, toml=TOML % {"dir": d})
    srv.url = srv.url.replace("http://", "https://")
    srv.start = lambda timeout=10: _start(srv, timeout)
    ctx = ssl.create_default_context(cafile=f"{d}/cert.pem")
    with srv:
        time.sleep(1.5)  # the start-up probes' connections closed and swept
        fds0 = len(os.listdir(f"/proc/{srv.pid}/fd"))
        held = [tls_conn(srv.port, ctx) for _ in range(4)]
        p = subprocess.run(["curl", "-sS", "-i", "--cacert", f"{d}/cert.pem", "--max-time", "10",
                            srv.url + "/api/streams"], capture_output=True, text=True)
        head = p.stdout.split("\r\n\r\n", 1)[0]
        print(f"a fifth connection over TLS: curl rc {p.returncode}: {head.splitlines()[:1]} {p.stderr.strip()[:200]}")
        check(p.returncode == 0 and head.startswith("HTTP/1.1 429"), f"over the cap: {p.returncode} {head!r} "
                                                                      f"{p.stderr!r}")
        check("Retry-After: 30" in head, f"no Retry-After: {head!r}")
        check("http_connections_per_ip" in p.stdout, f"the body does not name the limit: {p.stdout[-200:]!r}")
        # A Python TLS client too, and the connection is closed after the answer.
        t = tls_conn(srv.port, ctx)
        t.sendall(b"GET /api/streams HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        try:
            while chunk := t.recv(4096):  # to the end: the server closes after its answer
                data += chunk
        except (socket.timeout, ssl.SSLError) as e:
            check(False, f"the refused connection stays open after its answer ({e!r}, {data[:80]!r})")
        check(data.startswith(b"HTTP/1.1 429") and b"Retry-After" in data, f"second refused TLS client: {data!r}")
        t.close()
        # The budget: 80 connections that never send a ClientHello.
        raw = [socket.create_connection(("127.0.0.1", srv.port), timeout=15) for _ in range(80)]
        closed = 0
        for s in raw:
            try:
                closed += s.recv(4096) == b""
            except ConnectionResetError:
                closed += 1
            except socket.timeout:
                pass  # still open after 15 s: over the budget
            s.close()
        print(f"80 silent connections over the cap: {closed} closed by the server")
        check(closed == 80, f"{80 - closed} silent connections over the cap were kept open")
        for h in held:
            status, _ = ask(h)
            check(status.startswith("HTTP/1.1 200"), f"a held connection: {status!r}")
            h.close()
        srv.wait_for("open files back to the baseline",
                     lambda: len(os.listdir(f"/proc/{srv.pid}/fd")) <= fds0 + 2, timeout=15)
        text = subprocess.run(["curl", "-sS", "--cacert", f"{d}/cert.pem", srv.url + "/metrics"],
                              capture_output=True, text=True).stdout
        n = e2e.parse_prometheus(text)[("camrelay_limit_refusals_total", (("reason", "http_connections_per_ip"),))]
        check(n >= 82, f"/metrics counts {n} per-address refusals, want >= 82")


if __name__ == "__main__":
    e2e.run(main)
