"""camrelay serve and the service manager's notify protocol, against a real
NOTIFY_SOCKET listener (an AF_UNIX datagram socket, as systemd's): READY=1
with a STATUS= summary once the stream is up and HTTP answers, WATCHDOG=1
pinged from the main loop at half WATCHDOG_USEC, STOPPING=1 on SIGTERM; a
SIGHUP does not stop it; the main loop blocked on purpose
(CAMRELAY_TEST_STALL_MAIN_LOOP) stops the pings while the process lives.
Prints the time from exec to READY=1 (a figure, not a pass/fail bound).
  test_notify.py CAMRELAY"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import e2e  # noqa: E402
from common import check, finish  # noqa: E402

CAMRELAY = sys.argv[1]


class Listener:
    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def recv_until(self, pred, timeout):
        """messages (dicts) until pred(msg) or timeout; returns (msgs, hit)"""
        msgs, end = [], time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return msgs, None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return msgs, None
            m = dict(l.split("=", 1) for l in data.decode().split("\n") if "=" in l)
            m["_t"] = time.monotonic()
            msgs.append(m)
            if pred(m):
                return msgs, m

    def collect(self, seconds):
        return self.recv_until(lambda m: False, seconds)[0]


def start(tmp, listener, extra_env=None, config=None):
    port = e2e.free_port()
    env = dict(os.environ, NOTIFY_SOCKET=listener.path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    env.pop("JOURNAL_STREAM", None)
    env.update(extra_env or {})
    # append mode: the child shares this file offset, and the test seeks to read
    log = open(os.path.join(tmp, "camrelay.log"), "a+")
    t0 = time.monotonic()
    args = ["-c", config] if config else []
    p = subprocess.Popen([CAMRELAY, "serve", "-l", f"127.0.0.1:{port}"] + args, env=env,
                         stdout=log, stderr=subprocess.STDOUT)
    return p, port, t0, log


def main():
    with tempfile.TemporaryDirectory() as tmp:
        lis = Listener(tmp)
        p, port, t0, log = start(tmp, lis)
        try:
            msgs, ready = lis.recv_until(lambda m: m.get("READY") == "1", 60)
            check(ready is not None, f"READY=1 arrives (got {[sorted(m) for m in msgs]})")
            if ready is None:
                return
            print(f"figure: exec to READY=1 {1000 * (ready['_t'] - t0):.0f} ms")
            status = ready.get("STATUS", "")
            check(status == f"serving 1 stream (test) on http://127.0.0.1:{port}/",
                  f"STATUS= one-line summary with READY=1: {status!r}")
            # up means up: the stream exists and HTTP answers right after READY
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/streams/test", timeout=10) as r:
                check(r.status == 200 and json.load(r).get("name") == "test",
                      "after READY=1 the HTTP API answers for stream test")
            pings = [m for m in lis.collect(2.0) if m.get("WATCHDOG") == "1"]
            # 0.2 s period over 2 s: about 10; a loop that does not ping sends 0
            check(len(pings) >= 4, f"WATCHDOG=1 pings keep coming at WatchdogSec/2 ({len(pings)} in 2 s)")
            p.send_signal(signal.SIGHUP)
            pings = [m for m in lis.collect(1.0) if m.get("WATCHDOG") == "1"]
            check(p.poll() is None and len(pings) >= 2, f"SIGHUP does not stop camrelay ({len(pings)} pings after it)")
            p.send_signal(signal.SIGTERM)
            msgs, stop = lis.recv_until(lambda m: m.get("STOPPING") == "1", 20)
            check(stop is not None, "STOPPING=1 on SIGTERM")
            check(p.wait(30) == 0, f"exit 0 after SIGTERM (rc {p.returncode})")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        log.seek(0)
        out = log.read()
        check("SIGHUP" in out, "the SIGHUP is logged")

    # A main loop blocked on purpose: the pings stop, the process still runs.
    with tempfile.TemporaryDirectory() as tmp:
        lis = Listener(tmp)
        p, port, t0, log = start(tmp, lis, {"CAMRELAY_TEST_STALL_MAIN_LOOP": "1.5"})
        try:
            msgs, ready = lis.recv_until(lambda m: m.get("READY") == "1", 60)
            check(ready is not None, "READY=1 with the stall hook set")
            # wait until the hook has fired (logged), then count pings for 2 s
            end = time.monotonic() + 30
            while time.monotonic() < end:
                log.seek(0)
                if "main loop blocked on purpose" in log.read():
                    break
                time.sleep(0.1)
            log.seek(0)
            check("main loop blocked on purpose" in log.read(), "the stall hook fired")
            lis.collect(0.3)  # a ping already in flight
            pings = [m for m in lis.collect(2.0) if m.get("WATCHDOG") == "1"]
            check(len(pings) == 0 and p.poll() is None,
                  f"blocked main loop: no WATCHDOG=1 in 2 s ({len(pings)}), process alive")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/streams/test", timeout=10) as r:
                check(r.status == 200, "the HTTP thread still answers (only the main loop is blocked)")
        finally:
            p.kill()
            p.wait()


CONFIG = """[stream.a]
[[stream.a.sources]]
[stream.a.sources.capture]
backend = "test"
width = 320
height = 240
fps = {fps}
"""


def wait_log(log, text, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        log.seek(0)
        if text in log.read():
            return True
        time.sleep(0.1)
    return False


def reload_checks():
    """SIGHUP with a broken file: refused with file:line:column, the MJPEG
    client of the running stream keeps getting frames; with a valid changed
    file: applied (the changed stream restarts in place), still serving."""
    with tempfile.TemporaryDirectory() as tmp:
        lis = Listener(tmp)
        conf = os.path.join(tmp, "cam.toml")
        with open(conf, "w") as f:
            f.write(CONFIG.format(fps=30))
        p, port, t0, log = start(tmp, lis, config=conf)
        frames = [0]
        closed = []

        def reader():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/mjpeg/a", timeout=30) as r:
                    while True:
                        chunk = r.read(4096)
                        if not chunk:
                            break
                        frames[0] += chunk.count(b"Content-Type: image/jpeg")
            except Exception as e:  # noqa: BLE001
                closed.append(repr(e))
            closed.append("end")

        try:
            msgs, ready = lis.recv_until(lambda m: m.get("READY") == "1", 60)
            check(ready is not None, "READY=1 with -c FILE")
            # keep reading the notify socket as systemd does: a datagram queue
            # that nobody reads (10 messages) blocks the sender's main loop
            threading.Thread(target=lambda: lis.collect(60), daemon=True).start()
            th = threading.Thread(target=reader, daemon=True)
            th.start()
            time.sleep(1.5)
            before = frames[0]
            with open(conf, "w") as f:
                f.write(CONFIG.format(fps='"fast"'))
            p.send_signal(signal.SIGHUP)
            check(wait_log(log, "the running configuration stays"), "a broken config on SIGHUP is refused")
            log.seek(0)
            err = [l for l in log.read().splitlines() if "the running configuration stays" in l]
            check(bool(err) and f"{conf}:7:" in err[0], f"the refusal names file:line ({err[:1]})")
            time.sleep(1.5)
            after = frames[0]
            check(p.poll() is None and not closed and after > before + 10,
                  f"the MJPEG client stays connected and gets frames ({before} -> {after}, closed: {closed})")
            with open(conf, "w") as f:
                f.write(CONFIG.format(fps=15))
            p.send_signal(signal.SIGHUP)
            ok = wait_log(log, "reloaded: a restarted")
            log.seek(0)
            check(ok, "a valid changed config on SIGHUP: applied, stream a restarted (live reload; "
                  "tests/service/test_reload.py checks what stays untouched)" + ("" if ok else ": " + log.read()[-800:]))
            time.sleep(1.0)
            check(p.poll() is None and not closed and frames[0] > after,
                  f"the MJPEG client still gets frames after the restart ({after} -> {frames[0]})")
        finally:
            p.kill()
            p.wait()


def tls_hup_check():
    """With [http] tls_cert, one SIGHUP re-reads the certificate and the
    config file (both on the HTTP loop), and camrelay keeps running."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem", "-days", "2",
                        "-subj", "/CN=localhost"], check=True, capture_output=True)
        conf = os.path.join(tmp, "tls.toml")
        with open(conf, "w") as f:
            f.write(f'[http]\ntls_cert = "{tmp}/cert.pem"\ntls_key = "{tmp}/key.pem"\n' + CONFIG.format(fps=30))
        lis = Listener(tmp)
        p, port, t0, log = start(tmp, lis, config=conf)
        try:
            msgs, ready = lis.recv_until(lambda m: m.get("READY") == "1", 60)
            check(ready is not None, "READY=1 with TLS")
            threading.Thread(target=lambda: lis.collect(60), daemon=True).start()
            p.send_signal(signal.SIGHUP)
            check(wait_log(log, "SIGHUP: certificate"), "with tls_cert, SIGHUP re-reads the certificate")
            check(wait_log(log, "reloaded: a unchanged"), "and the same SIGHUP re-reads the config file")
            check(p.poll() is None, "and camrelay keeps running")
        finally:
            p.kill()
            p.wait()


main()
reload_checks()
tls_hup_check()
finish()
