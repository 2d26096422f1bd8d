#!/usr/bin/python3
"""The WebRTC attacks of issue 14 against the daemon, with a real aiortc viewer
(Debian python3-aiortc) watching throughout; each must now fail:

  takeover      the session URL's id is nowhere in /api/webrtc, /api/streams
                or /metrics, and DELETE by the public id does nothing (2)
  redirect      a STUN check with USE-CANDIDATE, signed with the session's own
                ICE password, from a second loopback address (127.0.0.2)
                receives no media, again and again (3)
  nack storm    200 NACKs of 256 packets each: retransmitted bytes stay within
                the budget (a quarter of the media sent plus 128 KiB) (4)
  fingerprint   sha-1 / sha-512 with a wrong value: DTLS refused; sha-384 and
                sha-512 with the right value: frames; an unknown hash: 400 (5)
  exhaustion    more POSTs than [limits] allow from one address: 429 with
                Retry-After, another address still gets in, offers that never
                connect expire after whep_pending_timeout (6)
  codecs        an AV1-only offer cannot start an AV1 encoder; webrtc_codecs
                decides the codec (9)
  media address datagrams to 127.0.0.2 (not announced) get no answer (10)

    test_attacks.py CAMRELAY_EXE
"""
import asyncio
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import struct
import sys
import time
import urllib.request
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2e  # noqa: E402
from e2e import check  # noqa: E402

import pylibsrtp  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402

TOML = """
[http]
listen = "{listen}"

[limits]
whep_sessions_per_ip = 6
whep_sessions_per_stream = 6
whep_sessions = 12
whep_pending_timeout = 3

[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "test"
width = 320
height = 240
fps = 15

[stream.vp8only]
webrtc_codecs = ["vp8"]
[[stream.vp8only.sources]]
[stream.vp8only.sources.capture]
backend = "test"
width = 160
height = 120
fps = 5

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
timeout = 30
"""

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "sdp")
last_seq = {}  # ssrc -> newest RTP sequence number the viewer decrypted


def _record_seqs():
    orig = pylibsrtp.Session.unprotect

    def unprotect(self, packet, *a):
        out = orig(self, packet, *a)
        if len(out) >= 12 and 128 <= out[0] <= 191 and not 192 <= out[1] <= 223:
            last_seq[struct.unpack("!I", out[8:12])[0]] = struct.unpack("!H", out[2:4])[0]
        return out

    pylibsrtp.Session.unprotect = unprotect


def stun_request(username, pwd, use_candidate=True):
    """A Binding request as an ICE agent sends it (RFC 8445/5389)."""
    def attr(t, v):
        return struct.pack("!HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
    tid = os.urandom(12)
    body = attr(0x0006, username.encode()) + attr(0x0024, struct.pack("!I", 0x6e0001ff)) + \
        attr(0x802a, os.urandom(8)) + (attr(0x0025, b"") if use_candidate else b"")
    head = struct.pack("!HHI", 0x0001, len(body) + 24, 0x2112a442) + tid
    body += attr(0x0008, hmac.new(pwd.encode(), head + body, hashlib.sha1).digest())
    head = struct.pack("!HHI", 0x0001, len(body) + 8, 0x2112a442) + tid
    body += attr(0x8028, struct.pack("!I", (zlib.crc32(head + body) ^ 0x5354554e) & 0xffffffff))
    return head + body


def post(srv, stream, sdp, source="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10, source_address=(source, 0))
    c.request("POST", f"/whep/{stream}", body=sdp.encode(), headers={"Content-Type": "application/sdp"})
    r = c.getresponse()
    out = (r.status, dict(r.getheaders()), r.read().decode())
    c.close()
    return out


def api(srv):
    return json.loads(urllib.request.urlopen(srv.url + "/api/webrtc", timeout=10).read())


class Viewer:
    """An aiortc viewer; edit(offer, pc) may change the offer it posts."""

    def __init__(self, srv, stream="cam", edit=None):
        self.srv, self.stream, self.edit = srv, stream, edit
        self.frames = 0

    async def start(self):
        self.pc = RTCPeerConnection()
        self.transceiver = self.pc.addTransceiver("video", direction="recvonly")

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
        self.offer = self.pc.localDescription.sdp
        if self.edit:
            self.offer = self.edit(self.offer, self.pc)
        self.status, self.headers, self.answer = post(self.srv, self.stream, self.offer)
        if self.status == 201:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.answer, type="answer"))
        return self

    async def wait_frames(self, n, timeout):
        end = time.monotonic() + timeout
        while self.frames < n and time.monotonic() < end:
            await asyncio.sleep(0.1)
        return self.frames >= n

    async def close(self):
        await self.pc.close()


def _fingerprint(alg, wrong=False):
    def edit(offer, pc):
        cert = pc._RTCPeerConnection__certificates[0]._cert
        fp = cert.digest({"sha-1": "SHA1", "sha-384": "SHA384", "sha-512": "SHA512"}.get(alg, "SHA256")).decode()
        if wrong:
            fp = ("00" if not fp.startswith("00") else "11") + fp[2:]
        return re.sub(r"a=fingerprint:\S+ \S+", f"a=fingerprint:{alg} {fp}", offer)
    return edit


async def takeover(srv, v):
    loc = v.headers["Location"]
    secret = loc.rsplit("/", 1)[-1]
    pub = v.headers.get("X-Viewer-Id", "")
    check(len(secret) >= 32 and pub and pub != secret, f"session id {secret!r}, public {pub!r}")
    for path in ["/api/webrtc", "/api/streams", "/metrics", "/"]:
        body = urllib.request.urlopen(srv.url + path, timeout=10).read().decode()
        check(secret not in body, f"{path} publishes the session URL's id")
    check(any(x["id"] == pub for x in api(srv)["viewers"]), "the public id is not in /api/webrtc")
    st, _, _ = e2e.get(srv.url + f"/session/cam/{pub}", method="DELETE")
    check(st == 404, f"DELETE by the public id -> {st}, want 404")
    n = v.frames
    check(await v.wait_frames(n + 10, 15), f"the viewer stopped after a foreign DELETE ({v.frames})")
    print(f"takeover: refused (404), viewer went on to {v.frames} frames")


async def redirect(srv, v):
    server_ufrag = re.search(r"a=ice-ufrag:(\S+)", v.answer).group(1)
    server_pwd = re.search(r"a=ice-pwd:(\S+)", v.answer).group(1)
    client_ufrag = re.search(r"a=ice-ufrag:(\S+)", v.offer).group(1)
    port = srv.udp_port
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.2", 0))
    s.setblocking(False)
    media = stun = 0
    n0 = v.frames
    end = time.monotonic() + 4
    while time.monotonic() < end:
        s.sendto(stun_request(f"{server_ufrag}:{client_ufrag}", server_pwd), ("127.0.0.1", port))
        await asyncio.sleep(0.2)
        while True:
            try:
                d = s.recv(4096)
            except BlockingIOError:
                break
            if d and 128 <= d[0] <= 191:
                media += 1
            elif d and d[0] < 4:
                stun += 1
    s.close()
    check(stun > 0, "the forged check got no STUN answer at all (is the test reaching the port?)")
    check(media == 0, f"{media} media datagrams went to the forged address 127.0.0.2")
    check(await v.wait_frames(n0 + 10, 15), f"the real viewer lost its media ({n0} -> {v.frames})")
    print(f"redirect: 0 media datagrams to 127.0.0.2 ({stun} STUN), viewer at {v.frames} frames")


async def nack_storm(srv, v):
    receiver = v.transceiver.receiver
    ssrc = receiver.getSynchronizationSources()[0].source
    check(ssrc in last_seq, "no RTP seen by the viewer")
    before = api(srv)["totals"]
    t0 = time.monotonic()
    for _ in range(200):
        top = last_seq[ssrc]
        # ascending, without wrapping (aiortc packs them as it gets them)
        await receiver._send_rtcp_nack(ssrc, [top - k for k in range(255, -1, -1) if top - k >= 0])
    await asyncio.sleep(1.0)
    after = api(srv)["totals"]
    elapsed = time.monotonic() - t0
    rtx = after["retransmits"] - before["retransmits"]
    rtx_bytes = after["retransmit_bytes"] - before["retransmit_bytes"]
    media = after["bytes_sent"] - before["bytes_sent"] - rtx_bytes
    budget = 128 * 1024 + media / 4
    print(f"nack storm: 51200 packets asked for in {elapsed:.2f} s; {rtx} retransmitted ({rtx_bytes} bytes, "
          f"budget {budget:.0f}), {after['retransmits_refused'] - before['retransmits_refused']} refused")
    check(rtx > 0, "no retransmission at all: the storm did not reach the server")
    check(rtx_bytes <= budget, f"retransmitted {rtx_bytes} bytes, over the budget {budget:.0f}")
    check(after["retransmits_refused"] > before["retransmits_refused"], "nothing refused")


async def fingerprints(srv):
    st, _, body = post(srv, "cam", open(os.path.join(CORPUS, "good-chromium.sdp")).read().replace(
        "a=fingerprint:sha-256", "a=fingerprint:sha-3"))
    check(st == 400 and "sha-3" in body, f"unknown fingerprint hash -> {st} {body!r}")
    for alg, wrong in [("sha-1", True), ("sha-512", True), ("sha-384", False), ("sha-512", False)]:
        failed0 = api(srv)["totals"]["dtls_failed"]
        v = await Viewer(srv, edit=_fingerprint(alg, wrong)).start()
        check(v.status == 201, f"{alg}: POST -> {v.status} {v.answer[:200]}")
        if wrong:
            end = time.monotonic() + 15
            while api(srv)["totals"]["dtls_failed"] == failed0 and time.monotonic() < end:
                await asyncio.sleep(0.2)
            check(api(srv)["totals"]["dtls_failed"] > failed0, f"{alg} with a wrong value: DTLS was not refused")
            check(v.frames == 0, f"{alg} with a wrong value: {v.frames} frames")
        else:
            check(await v.wait_frames(5, 20), f"{alg} with the right value: {v.frames} frames")
        print(f"fingerprint {alg} {'wrong: DTLS refused' if wrong else 'right: ' + str(v.frames) + ' frames'}")
        await v.close()


async def exhaustion(srv):
    offer = open(os.path.join(CORPUS, "good-chromium.sdp")).read()
    active0 = api(srv)["totals"]["sessions_active"]
    codes = [post(srv, "vp8only", offer)[0] for _ in range(30)]
    n201 = codes.count(201)
    check(n201 + active0 == 6 and codes.count(429) == 30 - n201, f"one address, 30 POSTs: {codes}")
    st, h, _ = post(srv, "vp8only", offer)
    check(st == 429 and h.get("Retry-After"), f"over the per-address cap: {st} {h}")
    st, _, _ = post(srv, "vp8only", offer, source="127.0.0.2")
    check(st == 201, f"another address is locked out too: {st}")
    st, _, _ = post(srv, "vp8only", offer, source="127.0.0.2")
    check(st == 503, f"over the per-stream cap (6): {st}")
    m = srv.metrics()
    refused = m[("camrelay_limit_refusals_total", (("reason", "whep_sessions_per_ip"),))]
    check(refused == codes.count(429) + 1, f"{refused} per-address refusals counted")
    srv.wait_for("offers that never connect expire", lambda: api(srv)["totals"]["sessions_active"] <= active0, 10)
    check(api(srv)["totals"]["sessions_pending_expired"] >= 5, "pending sessions not counted as expired")
    check(post(srv, "vp8only", offer)[0] == 201, "a slot is not free again after expiry")
    print(f"exhaustion: {n201} + {active0} from one address, then 429; pending ones expired")


async def codecs(srv):
    offer = open(os.path.join(CORPUS, "good-chromium.sdp")).read()
    av1 = re.search(r"a=rtpmap:(\d+) AV1/90000", offer)
    check(av1, "the corpus offer has no AV1")
    av1_only = re.sub(r"(m=video \d+ \S+) [0-9 ]+", r"\1 " + av1.group(1), offer)
    st, _, body = post(srv, "cam", av1_only)
    check(st == 400 and "no codec in common" in body, f"AV1-only offer -> {st} {body!r}")
    st, _, body = post(srv, "vp8only", offer)
    check(st == 201 and "VP8/90000" in body and "H264/90000" not in body, f"webrtc_codecs vp8: {st}")
    print("codecs: AV1-only offer refused, webrtc_codecs decides")


async def media_address(srv, v):
    server_ufrag = re.search(r"a=ice-ufrag:(\S+)", v.answer).group(1)
    server_pwd = re.search(r"a=ice-pwd:(\S+)", v.answer).group(1)
    client_ufrag = re.search(r"a=ice-ufrag:(\S+)", v.offer).group(1)
    got = {}
    for dst in ["127.0.0.2", "127.0.0.1"]:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(1.5)
        s.sendto(stun_request(f"{server_ufrag}:{client_ufrag}", server_pwd, use_candidate=False),
                 (dst, srv.udp_port))
        try:
            got[dst] = s.recv(2048)[0] < 4
        except socket.timeout:
            got[dst] = False
        s.close()
    check(got["127.0.0.1"], "no answer on the announced address 127.0.0.1")
    check(not got["127.0.0.2"], "an answer on 127.0.0.2, which is not announced")
    print("media address: answers on 127.0.0.1 only")


async def amain(exe):
    _record_seqs()
    srv = e2e.Server(exe, toml=TOML)
    srv.udp_port = int(re.search(r"port = (\d+)", open(srv.config).read().split("[webrtc]")[1]).group(1))
    with srv:
        v = await Viewer(srv).start()
        check(v.status == 201, f"POST: {v.status} {v.answer[:300]}")
        check(await v.wait_frames(10, 30), f"the viewer got {v.frames} frames")
        await takeover(srv, v)
        await redirect(srv, v)
        await nack_storm(srv, v)
        await media_address(srv, v)
        await codecs(srv)
        await exhaustion(srv)
        await fingerprints(srv)
        n = v.frames
        check(await v.wait_frames(n + 10, 15), f"the viewer stopped during the attacks ({n})")
        await v.close()


def main(exe):
    asyncio.run(amain(exe))


if __name__ == "__main__":
    e2e.run(main)
