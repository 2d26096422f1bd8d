#!/usr/bin/python3
"""Headless Chromium plays WHEP over HTTPS with a token, through the page
(issue 14, "Done means"): the test makes a self-signed certificate with the
openssl tool, camrelay serves [http] tls_cert/tls_key with [auth] tokens,
and Chromium (told to trust exactly that key with
--ignore-certificate-errors-spki-list) opens https://127.0.0.1:PORT/play/cam?token=...
The player page must decode frames of the stream's size; the same page
without the token must be refused (401), and so must plain HTTP on the port.

    test_https_chromium.py CAMRELAY_EXE
"""
import base64
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)
import e2e  # noqa: E402
from e2e import check  # noqa: E402
import chromium_whep  # noqa: E402

TOKEN = "https-test-token-5d2e"
TOML = """
[http]
listen = "{listen}"
tls_cert = "%(dir)s/cert.pem"
tls_key = "%(dir)s/key.pem"

[auth]
tokens = ["%(token)s"]

[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "test"
width = 320
height = 240
fps = 15

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
"""


def make_cert(d):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    spki = subprocess.run(["openssl", "x509", "-in", f"{d}/cert.pem", "-pubkey", "-noout"], check=True,
                          capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=spki, check=True,
                         capture_output=True).stdout
    return base64.b64encode(subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, check=True,
                                           capture_output=True).stdout).decode()


def curl(url, *args):
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args, url], capture_output=True,
                       text=True)
    return int(p.stdout or 0)


def main(exe):
    d = tempfile.mkdtemp(prefix="camrelay-https-")
    spki = make_cert(d)
    srv = e2e.Server(exe, toml=TOML % {"dir": d, "token": TOKEN})
    srv.url = srv.url.replace("http://", "https://")
    base = srv.url
    srv.start = lambda timeout=10: _start(srv, timeout)
    with srv:
        check(curl(base + "/api/streams", "--cacert", f"{d}/cert.pem") == 401, "HTTPS without token: not 401")
        check(curl(base + f"/api/streams?token={TOKEN}", "--cacert", f"{d}/cert.pem") == 200, "HTTPS + token: not 200")
        plain = subprocess.run(["curl", "-s", base.replace("https://", "http://") + "/"], capture_output=True,
                               text=True).stdout
        check("speaks HTTPS" in plain, f"plain HTTP on the TLS port: {plain!r}")
        profile = tempfile.mkdtemp(prefix="camrelay-chromium-")
        proc, ws = chromium_whep.start_chromium(19232, profile, ["--ignore-certificate-errors-spki-list=" + spki])
        try:
            cdp = chromium_whep.Cdp(ws)
            cdp.call("Page.navigate", url=f"{base}/play/cam?token={TOKEN}")
            deadline = time.monotonic() + 60
            out = {}
            while time.monotonic() < deadline:
                time.sleep(1)
                out = cdp.evaluate(r"""
(async () => {
  const c = cards[0], video = document.querySelector('.pic');
  const out = {width: video.videoWidth, height: video.videoHeight, output: c.output, frames: 0};
  if (c.pc) (await c.pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') out.frames = s.framesDecoded;
  });
  return out;
})()""") or {}
                if out.get("frames", 0) >= 30:
                    break
            print(f"Chromium over HTTPS with a token: {out}")
            check(out.get("frames", 0) >= 30 and out.get("width") == 320, f"the player page did not play: {out}")
            cdp.call("Page.navigate", url=f"{base}/play/cam")
            time.sleep(2)
            out = cdp.evaluate("document.body.innerText") or ""
            check("401" in out, f"the player without a token: {out[:200]!r}")
        finally:
            chromium_whep.os.killpg(proc.pid, 15)
            proc.wait(timeout=10)


def _start(srv, timeout):
    """e2e.Server.start, but waiting for the HTTPS port."""
    srv.log = open(srv.log_path, "w")
    srv.proc = subprocess.Popen([srv.exe, "serve", "-c", srv.config], stdout=srv.log, stderr=subprocess.STDOUT)
    srv.pid = srv.proc.pid
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if srv.proc.poll() is not None:
            raise e2e.Fail(f"camrelay exited with {srv.proc.returncode} at start:\n{srv.log_tail()}")
        if curl(srv.url + "/api/streams", "-k") in (200, 401):
            return srv
        time.sleep(0.2)
    raise e2e.Fail(f"camrelay did not answer on {srv.url}:\n{srv.log_tail()}")


if __name__ == "__main__":
    e2e.run(main)
