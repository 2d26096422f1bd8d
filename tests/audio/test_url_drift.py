#!/usr/bin/python3
"""Clock drift of a live source is absorbed, never accumulated (issue 19,
item 3), on the host with a real clock difference: drift_server.py (GStreamer's
RTSP server) runs each mount's pipeline on a clock of its own whose rate is
calibrated 1 % fast, 1 % slow or equal against CLOCK_MONOTONIC, so its live
audio source makes 48480, 47520 or 48000 samples per real second, each sent
as 48 kHz, like a camera whose sound clock is off. camrelay takes each mount's
audio (backend = "url"; Opus, PCMU, PCMA and AAC passed through to the RTP
sink; G.711 and AAC also decoded for the counters below) and sends it to a
plain RTP sink.

Over a window of W seconds it checks, per stream:
  counters  the 48 kHz samples camrelay's drift absorption dropped minus
            those it skipped (audio.counters drift_drop_samples -
            drift_gap_samples) per second of the window match the clock
            offset: +1 %, -1 %, 0 (within 0.4 %)
  delay     the delay of each packet from the sender's payloader to
            camrelay's RTP output (matched by the payload's MD5: passed
            through unchanged, so >= 90 % of what camrelay sends is byte for
            byte a payload the sender sent, AAC's AU-header included; the
            noise makes each packet unique)
            does not grow: its minimum over the window's last 4 s is within
            40 ms of its minimum over the first 4 s (accumulating 1 % would
            add 10 ms a second)

    test_url_drift.py CAMRELAY [SECONDS]"""
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_av_sync import check, finish, free_port, free_udp_quad, stop  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MOUNTS = [("fast", 1.01, "opus"), ("slow", 0.99, "opus"), ("steady", 1.0, "opus"), ("fastpcmu", 1.01, "pcmu"),
          ("pcma", 1.0, "pcma"), ("slowaac", 0.99, "aac")]


class Sends(threading.Thread):
    """The server's "send NAME MD5 T" lines: when each payload left it."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc, self.at, self.ready = proc, {}, threading.Event()

    def run(self):
        for line in self.proc.stdout:
            p = line.split()
            if p[:1] == ["ready"]:
                self.ready.set()
            elif len(p) == 4 and p[0] == "send":
                self.at[(p[1], p[2])] = float(p[3])


def audio_of(base):
    with urllib.request.urlopen(base + "/api/streams", timeout=5) as r:
        return {s["name"]: s.get("audio") or {} for s in json.loads(r.read())["streams"]}


def receive(socks, seconds):
    """(stream, arrival time.monotonic(), md5 of the payload, RTP ts) of each audio packet."""
    import hashlib
    got = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select(list(socks), [], [], 0.2)
        for s in r:
            pkt = s.recv(2048)
            t = time.monotonic()
            if len(pkt) > 12:
                off = 12 + 4 * (pkt[0] & 0x0f)
                if pkt[0] & 0x10:
                    off += 4 + 4 * int.from_bytes(pkt[off + 2:off + 4], "big")
                got.append((socks[s], t, hashlib.md5(pkt[off:]).hexdigest(), int.from_bytes(pkt[4:8], "big")))
    return got


def main():
    camrelay = sys.argv[1]
    window = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    d = tempfile.mkdtemp(prefix="camrelay-drift-")
    rtsp, http = free_port(), free_port()
    srv = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "drift_server.py"), str(rtsp)] +
                           ["%s:%s:%s" % m for m in MOUNTS], stdout=subprocess.PIPE, text=True)
    sends = Sends(srv)
    sends.start()
    check(sends.ready.wait(30), "the drifting RTSP server runs")
    ports = {m[0]: free_udp_quad() for m in MOUNTS}
    t = '[http]\nlisten = "127.0.0.1:%d"\n' % http
    for name, _, _ in MOUNTS:
        t += ('[stream.%s]\n[[stream.%s.sources]]\nurl = "rtsp://127.0.0.1:%d/%s"\n[stream.%s.audio]\nbackend = "url"\n'
              '[[stream.%s.sinks]]\ntype = "rtp"\naddress = "127.0.0.1:%d"\n') % (
                  name, name, rtsp, name, name, name, ports[name])
    cfg = os.path.join(d, "camrelay.toml")
    with open(cfg, "w") as f:
        f.write(t)
    socks = {}
    for name, _, _ in MOUNTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", ports[name] + 2))
        socks[s] = name
    log = open(os.path.join(d, "server.log"), "w+")
    cr = subprocess.Popen([camrelay, "serve", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % http
    try:
        deadline = time.monotonic() + 40
        st = {}
        while time.monotonic() < deadline:
            try:
                st = audio_of(base)
                if all(st[m[0]].get("state") == "running" and st[m[0]]["counters"]["packets"] > 150 for m in MOUNTS):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        check(all(st.get(m[0], {}).get("state") == "running" for m in MOUNTS),
              "camrelay takes the audio of the %d mounts (%s)" % (len(MOUNTS), {k: v.get("device") for k, v in st.items()}))
        check(all(st.get(m[0], {}).get("passthrough_codec") == m[2] for m in MOUNTS),
              "each mount's codec is passed through (%s)" % {k: v.get("passthrough_codec") for k, v in st.items()})
        for s in socks:  # what came during the start, not timed on arrival
            s.setblocking(False)
            try:
                while s.recv(2048):
                    pass
            except BlockingIOError:
                pass
        c0, t0 = {k: v["counters"] for k, v in audio_of(base).items()}, time.monotonic()
        got = receive(socks, window)
        c1, t1 = {k: v["counters"] for k, v in audio_of(base).items()}, time.monotonic()
        for name, rate, codec in MOUNTS:
            dc = {k: c1[name][k] - c0[name][k] for k in c1[name]}
            net = (dc["drift_drop_samples"] - dc["drift_gap_samples"]) / 48000.0 / (t1 - t0)
            print("     %s (clock x%.2f, %s): in %.1f s %d packets, %d drops (%d samples), %d gaps (%d samples), "
                  "%d xruns, %d reconnects" % (name, rate, codec, t1 - t0, dc["packets"], dc["drift_drops"],
                                               dc["drift_drop_samples"], dc["drift_gaps"], dc["drift_gap_samples"],
                                               dc["xruns"], dc["reconnects"]))
            check(abs(net - (rate - 1)) <= 0.004 and dc["reconnects"] == 0,
                  "%s: absorbed %+.2f %% of the time against a clock offset of %+.2f %%" % (
                      name, net * 100, (rate - 1) * 100))
            delays = [(t, t - sends.at[(name, h)]) for s, t, h, _ in got if s == name and (name, h) in sends.at]
            mine = [g for g in got if g[0] == name]
            first = [dl for t, dl in delays if t < t0 + 4]
            last = [dl for t, dl in delays if t > t0 + window - 4]
            ok = len(first) > 50 and len(last) > 50
            growth = (min(last) - min(first)) * 1000 if ok else None
            print("     %s: %d of %d packets matched to the sender's; delay min first 4 s %s ms, last 4 s %s ms" % (
                name, len(delays), len(mine), ok and round(min(first) * 1000, 1), ok and round(min(last) * 1000, 1)))
            check(ok and len(delays) >= 0.9 * len(mine) and abs(growth) <= 40,
                  "%s: the delay behind the sender does not grow (%s ms over %.0f s)" % (
                      name, growth and round(growth, 1), window - 4))
    finally:
        stop(cr)
        srv.terminate()
        srv.wait(timeout=10)
    finish(log)


if __name__ == "__main__":
    main()
