#!/usr/bin/python3
"""The crypto module (camrelay-crypto.so, src/net/crypto.h: OpenSSL,
libssl, libevent_openssl, libsrtp2 and the NSS it brings, libusrsctp,
libargon2), through the real daemon:

  mjpeg     the default test stream (1280x720 YUYV, 30 fps) with one MJPEG
            client: neither camrelay-crypto.so nor any of those libraries is
            mapped (/proc/PID/maps)
  whep      the same stream beside an H.264 one, MJPEG flowing: still not
            mapped; an aiortc WHEP viewer of the H.264 stream decodes
            frames, after which camrelay-crypto.so and libcrypto are mapped,
            and MJPEG goes on
  missing   CAMRELAY_MODULE_DIR an empty directory: a WHEP offer gets 503
            naming camrelay-crypto.so, the directory and the package, while
            the MJPEG client keeps receiving frames; nothing of the module
            is mapped"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

import e2e
from e2e import check

# What the crypto module brings; none mapped without it.
CRYPTO_LIBS = ("camrelay-crypto", "libcrypto.so", "libssl.so", "libsrtp2", "libusrsctp", "libnss3", "libnspr4",
               "libargon2", "libevent_openssl")

H264_STREAM = """
[stream.web]
[[stream.web.sources]]
capture = {{ backend = "test", width = 320, height = 240, fps = 15 }}
[stream.web.sources.encoder]
backend = "software"
codec = "h264"
bitrate = 300000
profile = "constrained-baseline"
level = "3.1"
"""
HERE = os.path.dirname(os.path.abspath(__file__))
WHEP_CLIENT = os.path.join(HERE, "..", "webrtc", "whep_client.py")
OFFER = os.path.join(HERE, "..", "webrtc", "corpus", "sdp", "good-chromium.sdp")


def mapped(pid):
    with open(f"/proc/{pid}/maps") as f:
        return sorted({os.path.basename(line.split()[-1]) for line in f if ".so" in line.split()[-1]})


def crypto_mapped(pid):
    return [p for p in mapped(pid) if p.startswith(CRYPTO_LIBS)]


class Mjpeg:
    """One MJPEG client on /mjpeg/test, counting frames, for a with block."""

    def __init__(self, srv):
        self.srv, self.parts, self.stop = srv, [], threading.Event()
        self.thread = threading.Thread(target=e2e.mjpeg_arrivals, args=(srv.port, "/mjpeg/test", self.parts,
                                                                         self.stop))

    def __enter__(self):
        self.thread.start()
        self.srv.wait_for("10 MJPEG frames", lambda: len(self.parts) >= 10, timeout=30)
        return self

    def more(self, what):
        n = len(self.parts)
        self.srv.wait_for(f"10 more MJPEG frames {what}", lambda: len(self.parts) >= n + 10, timeout=20)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def check_mjpeg(exe):
    with e2e.Server(exe) as srv, Mjpeg(srv):
        libs = mapped(srv.pid)
        crypto = crypto_mapped(srv.pid)
    check(not crypto, f"an MJPEG-only config maps nothing of the crypto module: {crypto}")
    print(f"mjpeg: {len(libs)} shared objects mapped, none of the crypto module's")


def check_whep(exe):
    with e2e.Server(exe, e2e.TEST_STREAM_TOML + H264_STREAM) as srv, Mjpeg(srv) as mj:
        before = crypto_mapped(srv.pid)
        r = subprocess.run([sys.executable, WHEP_CLIENT, srv.url + "/whep/web", "--seconds", "3"],
                           capture_output=True, text=True, timeout=90)
        try:
            summary = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            summary = {"error": (r.stdout + r.stderr)[-500:]}
        after = crypto_mapped(srv.pid)
        mj.more("after the WHEP viewer")
    check(not before, f"before any WHEP offer nothing of the crypto module is mapped: {before}")
    check(summary.get("frames", 0) > 0, f"an aiortc WHEP viewer decoded frames: {summary}")
    check("camrelay-crypto.so" in after and any(p.startswith("libcrypto.so") for p in after),
          f"after the WHEP viewer camrelay-crypto.so and libcrypto are mapped: {after}")
    print(f"whep: a viewer decoded {summary['frames']} frames; then mapped: {' '.join(after)}; MJPEG went on")


def check_missing(exe):
    empty = tempfile.mkdtemp(prefix="camrelay-nomodules-")
    os.environ["CAMRELAY_MODULE_DIR"] = empty  # the last check: nothing runs after it
    with e2e.Server(exe) as srv, Mjpeg(srv) as mj:
        with open(OFFER, "rb") as f:
            req = urllib.request.Request(srv.url + "/whep/test", data=f.read(), method="POST",
                                         headers={"Content-Type": "application/sdp"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                code, body = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            code, body = e.code, e.read().decode()
        mj.more("after the refused offer")
        crypto = crypto_mapped(srv.pid)
    want = [f"no camrelay-crypto.so in {empty}", "install the package camrelay)"]
    check(code == 503 and all(w in body for w in want),
          f"without the module a WHEP offer gets 503 naming the file, directory and package: {code} {body!r}")
    check(not crypto, f"nothing of the crypto module got mapped: {crypto}")
    print(f"missing: WHEP offer -> {code} {body.strip()!r}; MJPEG kept flowing")


def main(exe):
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    if " crypto(" not in version or " whip(" not in version:
        print("SKIP: this build has no crypto module or no WebRTC")
        sys.exit(77)
    check_mjpeg(exe)
    check_whep(exe)
    check_missing(exe)


if __name__ == "__main__":
    e2e.run(main)
