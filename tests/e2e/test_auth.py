#!/usr/bin/python3
"""[auth] against the daemon with curl (issue 14, finding 1 and "What to
build" 1-2): every endpoint without credentials, with a wrong token, a JWT for
another stream, an expired JWT, alg "none", a tampered signature, a view-only
token on controls -> 401/403; the right credentials -> 200; ?token= for
MJPEG; Basic accounts (clear and argon2 hashed, made with Debian's
libargon2); streams a caller may not see are not listed; addresses only for
admins; tokens never logged; the Host header check (DNS rebinding); CORS only
for configured origins. Then, without [auth], in a network namespace of its
own, a peer that is not loopback may watch but not change controls."""

import base64
import ctypes
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import e2e
from e2e import check

TOKEN = "static-token-3f9a1c"
SECRET = "jwt-secret-0123456789abcdef"

TOML = """
[http]
listen = "{listen}"
server_names = ["cam.example"]
cors_origins = ["https://app.example"]

[auth]
tokens = ["%s"]
secret = "%s"
[[auth.accounts]]
username = "alice"
password = "wonderland"
[[auth.accounts]]
username = "bob"
password = "%s"
rights = ["view"]

[stream.a]
[[stream.a.sources]]
[stream.a.sources.capture]
backend = "test"
width = 320
height = 240
fps = 10

[stream.b]
[[stream.b.sources]]
[stream.b.sources.capture]
backend = "test"
width = 320
height = 240
fps = 10

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
"""


def argon2_hash(password):
    """An argon2id hash from Debian's libargon2 itself (what users make with
    the argon2 command line tool)."""
    lib = ctypes.CDLL("libargon2.so.1")
    out = ctypes.create_string_buffer(256)
    salt = os.urandom(16)
    pw = password.encode()
    rc = lib.argon2id_hash_encoded(ctypes.c_uint32(2), ctypes.c_uint32(1 << 12), ctypes.c_uint32(1), pw,
                                   ctypes.c_size_t(len(pw)), salt, ctypes.c_size_t(16), ctypes.c_size_t(32),
                                   out, ctypes.c_size_t(256))
    check(rc == 0, f"argon2id_hash_encoded: {rc}")
    return out.value.decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims, secret=SECRET, alg="HS256", tamper=False):
    head = b64u(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64u(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    if tamper:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    return f"{head}.{body}." + ("" if alg == "none" else b64u(sig))


def curl(srv, path, *args, method="GET", data=None, max_time=5):
    """(status, headers text, body) from curl itself."""
    cmd = ["curl", "-sS", "-g", "-D", "-", "-o", "-", "--max-time", str(max_time), "-X", method]
    if data is not None:
        cmd += ["--data-binary", data]
    cmd += list(args) + [srv.url + path]
    p = subprocess.run(cmd, capture_output=True)
    out = p.stdout
    head, _, body = out.partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0].decode("latin-1")
    check(first.startswith("HTTP/"), f"curl {path}: no HTTP answer ({p.stderr.decode()!r})")
    return int(first.split()[1]), head.decode("latin-1"), body


def bearer(t):
    return ["-H", f"Authorization: Bearer {t}"]


GET_PATHS = ["/", "/?action=snapshot", "/snapshot", "/state", "/snapshot/a", "/api/streams", "/api/streams/a",
             "/api/streams/a/controls", "/metrics", "/api/webrtc", "/play/a", "/sdp/a"]
OFFER = "v=0\r\n"  # enough to get past auth to the SDP parser (400)


def matrix(srv):
    now = int(time.time())
    view_b = jwt({"id": "b", "exp": now + 600, "mode": 4})
    view_a = jwt({"id": "a", "exp": now + 600, "mode": 4})
    expired = jwt({"id": "*", "exp": now - 3600, "mode": 7})
    admin = jwt({"id": "*", "exp": now + 600, "mode": 5})
    bad = [("none", []), ("wrong token", bearer("not-the-token")), ("alg none", bearer(jwt(
        {"id": "*", "exp": now + 600, "mode": 7}, alg="none"))),
           ("tampered", bearer(jwt({"id": "*", "exp": now + 600, "mode": 7}, tamper=True))),
           ("other secret", bearer(jwt({"id": "*", "exp": now + 600, "mode": 7}, secret="x" * 20))),
           ("expired", bearer(expired)), ("wrong password", ["-u", "alice:nope"]),
           ("unknown user", ["-u", "mallory:wonderland"])]
    for what, args in bad:
        for path in GET_PATHS + ["/whep/a", "/mjpeg/a"]:
            method = "POST" if path == "/whep/a" else "GET"
            st, head, _ = curl(srv, path, *args, method=method, max_time=3,
                               *(["-H", "Content-Type: application/sdp", "--data-binary", OFFER]
                                 if method == "POST" else []))
            check(st == 401, f"{what}: {method} {path} -> {st}, want 401")
            check("WWW-Authenticate: Bearer" in head, f"{what}: {path}: no WWW-Authenticate: {head}")
        st, _, _ = curl(srv, "/api/streams/a/controls", *args, method="POST", data='{"x": 1}')
        check(st == 401, f"{what}: POST controls -> {st}, want 401")
    # Valid, but not for this stream / right: 403.
    for path in ["/snapshot/a", "/api/streams/a", "/play/a", "/sdp/a", "/metrics", "/api/webrtc", "/state"]:
        st, _, _ = curl(srv, path, *bearer(view_b))
        check(st == 403, f"view token of b: {path} -> {st}, want 403")
    for path, method in [("/api/streams/a/controls", "POST"), ("/metrics", "GET"), ("/api/webrtc", "GET")]:
        for what, args in [("view JWT of a", bearer(view_a)), ("bob (view)", ["-u", "bob:builder"])]:
            st, _, body = curl(srv, path, *args, method=method, data='{"x": 1}' if method == "POST" else None)
            check(st == 403, f"{what}: {method} {path} -> {st}, want 403 ({body[:100]!r})")
    # The right credentials: 200 (/sdp/a: 404, this stream has no RTP sink: past the door).
    for what, args in [("static token", bearer(TOKEN)), ("admin JWT", bearer(admin)),
                       ("alice", ["-u", "alice:wonderland"]), ("?token=", [])]:
        for path in GET_PATHS:
            p = path + (("&" if "?" in path else "?") + "token=" + TOKEN if what == "?token=" else "")
            st, _, body = curl(srv, p, *args)
            want = 404 if path == "/sdp/a" else 200
            check(st == want, f"{what}: {path} -> {st}, want {want} ({body[:120]!r})")
    for what, args in [("view JWT of a", bearer(view_a)), ("bob (argon2)", ["-u", "bob:builder"])]:
        for path in ["/snapshot/a", "/api/streams/a", "/play/a", "/api/streams/a/controls"]:
            st, _, _ = curl(srv, path, *args)
            check(st == 200, f"{what}: {path} -> {st}, want 200")
    # Listing: a caller sees only its streams.
    st, _, body = curl(srv, "/api/streams", *bearer(view_b))
    names = [s["name"] for s in json.loads(body)["streams"]]
    check(st == 200 and names == ["b"], f"view token of b lists {names}, want ['b']")
    st, _, body = curl(srv, "/", *bearer(view_b))
    check(st == 200 and b'id="st-b"' in body and b'id="st-a"' not in body, "the page lists a for a view token of b")
    st, _, body = curl(srv, "/mjpeg/nope", *bearer(view_b))
    check(st == 404 and b"a," not in body and b"(streams: b)" in body, f"404 lists hidden streams: {body!r}")


def mjpeg_token(srv):
    """?token= on MJPEG (<img src>, mjpg-streamer URLs); also keeps a client
    open for the address check."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(f"GET /mjpeg/a?token={TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\xff\xd9" not in data:
        chunk = s.recv(65536)
        check(chunk, f"?token= MJPEG: closed after {len(data)} bytes: {data[:200]!r}")
        data += chunk
    check(data.startswith(b"HTTP/1.0 200") and b"multipart/x-mixed-replace" in data,
          f"?token= MJPEG: {data[:200]!r}")
    return s


def details(srv):
    client = mjpeg_token(srv)
    view_a = jwt({"id": "a", "exp": int(time.time()) + 600, "mode": 4})
    srv.wait_for("the MJPEG client in /api/streams",
                 lambda: json.loads(curl(srv, "/api/streams/a", *bearer(TOKEN))[2])["clients"])
    _, _, body = curl(srv, "/api/streams/a", *bearer(view_a))
    check(b"127.0.0.1" not in body, f"a view token reads client addresses: {body[:400]!r}")
    _, _, body = curl(srv, "/api/streams/a", *bearer(TOKEN))
    check(b"127.0.0.1" in body, f"an admin does not see the client address: {body[:400]!r}")
    client.close()


def doors(srv):
    # DNS rebinding: a page of evil.example resolving to 127.0.0.1.
    st, _, _ = curl(srv, "/api/streams", "-H", "Host: evil.example:%d" % srv.port, *bearer(TOKEN))
    check(st == 421, f"Host evil.example -> {st}, want 421")
    for host in ["cam.example", "localhost", "127.0.0.1"]:
        st, _, _ = curl(srv, "/api/streams", "-H", f"Host: {host}:{srv.port}", *bearer(TOKEN))
        check(st == 200, f"Host {host} -> {st}, want 200")
    st, head, _ = curl(srv, "/api/streams", "-H", "Origin: https://evil.example", *bearer(TOKEN))
    check("Access-Control-Allow-Origin" not in head, f"CORS for an unlisted origin: {head}")
    st, head, _ = curl(srv, "/whep/a", "-H", "Origin: https://app.example", method="OPTIONS")
    check(st == 204 and "Access-Control-Allow-Origin: https://app.example" in head,
          f"pre-flight of a listed origin: {st} {head}")
    check("Access-Control-Allow-Origin: *" not in head, "CORS *")


def no_auth_remote(exe):
    """Without [auth], from a non-loopback peer (192.0.2.1 on lo in a network
    namespace of this test's own): view yes, controls and details no."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("non-loopback check needs root (unshare -n); not run", file=sys.stderr)
        return
    inner = f"""
import sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import subprocess, e2e
from e2e import check
subprocess.run(["ip", "addr", "add", "192.0.2.1/32", "dev", "lo"], check=True)
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
toml = e2e.TEST_STREAM_TOML.replace("1280", "320").replace("720", "240")
srv = e2e.Server({sys.argv[1]!r}, toml=toml, host="192.0.2.1")
with srv:
    def c(path, method="GET", data=None):
        cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{{http_code}}", "-X", method, srv.url + path]
        if data: cmd[1:1] = ["--data-binary", data]
        return int(subprocess.run(cmd, capture_output=True, text=True).stdout)
    check(c("/snapshot/test") == 200, "remote snapshot")
    check(c("/api/streams/test/controls", "POST", '{{"brightness": 1}}') == 403, "remote controls allowed")
    check(c("/metrics") == 403, "remote /metrics allowed without [auth]")
    log = open(srv.log_path).read()
    check("without [auth]" in log, "no warning about listening beyond loopback without [auth]: " + log[-500:])
print("ok")
"""
    p = subprocess.run(["unshare", "-n", sys.executable, "-c", inner], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and p.stdout.strip().endswith("ok"),
          f"non-loopback peer without [auth]: {p.stdout[-800:]} {p.stderr[-1500:]}")


def main(exe):
    toml = TOML % (TOKEN, SECRET, argon2_hash("builder"))
    srv = e2e.Server(exe, toml=toml, args=["-v"])
    with srv:
        matrix(srv)
        details(srv)
        doors(srv)
    log = open(srv.log_path).read()
    for secret in [TOKEN, SECRET, "wonderland", "builder"]:
        check(secret not in log, f"the log holds a secret ({secret[:4]}...)")
    no_auth_remote(exe)


if __name__ == "__main__":
    e2e.run(main)
