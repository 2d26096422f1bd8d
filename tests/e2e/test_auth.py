#!/usr/bin/python3
"""[auth] against the daemon with curl (issue 14, finding 1 and "What to
build" 1-2): every endpoint without credentials, with a wrong token, a JWT for
another stream, an expired JWT, alg "none", a tampered signature, a view-only
token on controls -> 401/403; the right credentials -> 200; ?token= for
MJPEG; Basic accounts (clear and argon2 hashed, made with Debian's
libargon2); streams a caller may not see are not listed; addresses only for
admins; tokens never logged; the Host header check (DNS rebinding); CORS only
for configured origins. Ending other people's WebRTC sessions (finding 2):
aiortc viewers (Debian python3-aiortc) watch; DELETE /api/sessions/<public
id> is 401/403 for no credentials and view-only ones (the viewer keeps
decoding), 404 for an unknown id, 204 for the control right and for admin
(that viewer's frames stop and it leaves /api/streams). Then, without [auth], in a network namespace of its
own, a peer that is not loopback may watch but not change controls."""

import asyncio
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
from aiortc import RTCPeerConnection, RTCSessionDescription

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


class Viewer:
    """An aiortc WHEP viewer of a stream, with a bearer token; counts frames."""

    def __init__(self, srv, stream, token):
        self.srv, self.stream, self.token, self.frames = srv, stream, token, 0

    async def start(self):
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver("video", direction="recvonly")

        @self.pc.on("track")
        def on_track(track):
            async def consume():
                while True:
                    try:
                        await track.recv()
                    except Exception:
                        return
                    self.frames += 1
            asyncio.ensure_future(consume())

        await self.pc.setLocalDescription(await self.pc.createOffer())
        st, head, answer = await asyncio.to_thread(
            curl, self.srv, f"/whep/{self.stream}", "-H", "Content-Type: application/sdp",
            *bearer(self.token), method="POST", data=self.pc.localDescription.sdp, max_time=10)
        check(st == 201, f"WHEP POST with a view token: {st} {answer[:200]!r}")
        self.id = next(l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("x-viewer-id:"))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.decode(), type="answer"))
        return self

    async def frames_after(self, n, timeout=30):
        end = time.monotonic() + timeout
        start = self.frames
        while self.frames < start + n and time.monotonic() < end:
            await asyncio.sleep(0.1)
        return self.frames - start


def listed(srv, stream, vid):
    _, _, body = curl(srv, f"/api/streams/{stream}", *bearer(TOKEN))
    return any(v["id"] == vid for v in json.loads(body)["webrtc_viewers"])


async def end_sessions(srv):
    """Finding 2: who may end someone else's WebRTC session."""
    now = int(time.time())
    view_a = jwt({"id": "a", "exp": now + 600, "mode": 4})
    control_a = jwt({"id": "a", "exp": now + 600, "mode": 1})  # control only, no view
    control_b = jwt({"id": "b", "exp": now + 600, "mode": 5})
    v1 = await Viewer(srv, "a", view_a).start()
    v2 = await Viewer(srv, "a", view_a).start()
    check(await v1.frames_after(10) >= 10 and await v2.frames_after(10) >= 10, "the viewers decode no frames")
    check(await asyncio.to_thread(listed, srv, "a", v1.id), f"viewer {v1.id} not in /api/streams/a")

    async def delete(vid, *args):
        st, _, body = await asyncio.to_thread(curl, srv, f"/api/sessions/{vid}", *args, method="DELETE")
        return st, body

    for what, args, want in [("no credentials", [], 401), ("wrong token", bearer("nope"), 401),
                             ("view JWT of a", bearer(view_a), 403), ("bob (view account)", ["-u", "bob:builder"], 403),
                             ("control JWT of b", bearer(control_b), 403)]:
        st, body = await delete(v1.id, *args)
        check(st == want, f"{what}: DELETE /api/sessions/{v1.id} -> {st}, want {want} ({body[:120]!r})")
    st, body = await delete("nosuchid", *bearer(view_a))
    check(st == 403, f"view JWT of a: DELETE of an unknown id -> {st}, want 403 (no probing of ids)")
    got = await v1.frames_after(10)
    check(got >= 10, f"the viewer stopped after refused DELETEs ({got} frames since)")
    check(await asyncio.to_thread(listed, srv, "a", v1.id), "a refused DELETE removed the viewer")
    st, body = await delete("nosuchid", *bearer(control_a))
    check(st == 404, f"control JWT of a: DELETE of an unknown id -> {st}, want 404 ({body[:120]!r})")
    st, _, _ = await asyncio.to_thread(curl, srv, f"/api/sessions/{v1.id}", *bearer(control_a))
    check(st == 405, f"GET /api/sessions/<id> -> {st}, want 405")
    # The control right ends v1; admin (the static token) ends v2.
    for v, what, args in [(v1, "control JWT of a", bearer(control_a)), (v2, "static token (admin)", bearer(TOKEN))]:
        st, body = await delete(v.id, *args)
        check(st == 204, f"{what}: DELETE /api/sessions/{v.id} -> {st}, want 204 ({body[:120]!r})")
        check(not await asyncio.to_thread(listed, srv, "a", v.id), f"viewer {v.id} still in /api/streams after 204")
        await asyncio.sleep(1)  # packets already on their way
        n = v.frames
        await asyncio.sleep(2)
        check(v.frames - n <= 2, f"{what}: viewer {v.id} still decodes after its session ended "
                                 f"({v.frames - n} frames in 2 s)")
        st, body = await delete(v.id, *args)
        check(st == 404, f"{what}: a second DELETE -> {st}, want 404")
    print(f"sessions: view-only DELETEs refused (401/403), control and admin ended {v1.id} and {v2.id}")
    await v1.pc.close()
    await v2.pc.close()


def main(exe):
    toml = TOML % (TOKEN, SECRET, argon2_hash("builder"))
    srv = e2e.Server(exe, toml=toml, args=["-v"])
    with srv:
        matrix(srv)
        details(srv)
        doors(srv)
        asyncio.run(end_sessions(srv))
    log = open(srv.log_path).read()
    for secret in [TOKEN, SECRET, "wonderland", "builder"]:
        check(secret not in log, f"the log holds a secret ({secret[:4]}...)")
    no_auth_remote(exe)


if __name__ == "__main__":
    e2e.run(main)
