#!/usr/bin/python3
"""Many light RTSP clients in one process, for bench/rtsp.py: N sessions
over TCP interleaved (RTP/AVP/TCP) to one URL, each DESCRIBE, SETUP (the
track's a=control), PLAY, then only reading: RTP packets and frames (the
marker bit) are counted per session, nothing is decoded. Fifty ffmpeg
processes starve two cores; this takes a few percent of one.

  rtsp_clients.py URL N WARMUP SECONDS

After WARMUP seconds prints "window" (the caller starts its CPU count),
after SECONDS more prints one JSON line: {"frames": [...], "packets": [...],
"bytes": [...], "seconds": S} for the window, per session. Exits 1 with a
message when a session cannot be set up or its connection ends."""
import json
import re
import selectors
import socket
import struct
import sys
import time
import urllib.parse


class Session:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.url = url
        self.sock = socket.create_connection((u.hostname, u.port or 554), timeout=10)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.cseq = 0
        self.buf = b""
        self.frames = self.packets = self.bytes = 0

    def request(self, method, url, headers=()):
        self.cseq += 1
        msg = "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: camrelay-bench\r\n%s\r\n" % (
            method, url, self.cseq, "".join(h + "\r\n" for h in headers))
        self.sock.sendall(msg.encode())
        while True:  # interleaved data the server sends before its answer (PLAY's first RTP) is skipped
            while len(self.buf) < 4 or (self.buf[:1] == b"$" and len(self.buf) < 4 + struct.unpack_from("!H", self.buf, 2)[0]):
                chunk = self.sock.recv(65536)
                if not chunk:
                    sys.exit("%s %s: connection closed" % (method, url))
                self.buf += chunk
            if self.buf[:1] != b"$":
                break
            self.buf = self.buf[4 + struct.unpack_from("!H", self.buf, 2)[0]:]
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                sys.exit("%s %s: connection closed" % (method, url))
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        hdr = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        n = int(hdr.get("content-length", 0))
        while len(self.buf) < n:
            self.buf += self.sock.recv(65536)
        body, self.buf = self.buf[:n], self.buf[n:]
        status = int(lines[0].split()[1])
        if status != 200:
            sys.exit("%s %s: %s" % (method, url, lines[0]))
        return hdr, body.decode("latin-1")

    def start(self):
        hdr, sdp = self.request("DESCRIBE", self.url, ["Accept: application/sdp"])
        base = hdr.get("content-base", self.url)
        video = sdp[sdp.index("m=video"):]
        ctl = re.search(r"a=control:(\S+)", video).group(1)
        track = ctl if ctl.startswith("rtsp://") else base.rstrip("/") + "/" + ctl
        hdr, _ = self.request("SETUP", track, ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"])
        self.session = hdr["session"].split(";")[0]
        self.request("PLAY", self.url, ["Session: " + self.session, "Range: npt=0.000-"])
        self.sock.setblocking(False)

    def read(self):
        try:
            chunk = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        if not chunk:
            sys.exit("%s: the server closed a session" % self.url)
        b = self.buf + chunk
        i = 0
        while len(b) - i >= 4:
            if b[i] != 0x24:  # an RTSP message (a keep-alive answer): skip its head
                end = b.find(b"\r\n\r\n", i)
                if end < 0:
                    break
                i = end + 4
                continue
            ch, n = b[i + 1], struct.unpack_from("!H", b, i + 2)[0]
            if len(b) - i < 4 + n:
                break
            if ch == 0 and n >= 12:
                self.packets += 1
                self.bytes += n
                self.frames += b[i + 5] >> 7  # RTP marker: the frame's last packet
            i += 4 + n
        self.buf = b[i:]


def main():
    url, n, warmup, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    sessions = []
    for _ in range(n):
        s = Session(url)
        s.start()
        sessions.append(s)
    sel = selectors.DefaultSelector()
    for s in sessions:
        sel.register(s.sock, selectors.EVENT_READ, s)

    def pump(until):
        while time.monotonic() < until:
            for key, _ in sel.select(timeout=0.1):
                key.data.read()

    pump(time.monotonic() + warmup)
    base = [(s.frames, s.packets, s.bytes) for s in sessions]
    t0 = time.monotonic()
    print("window", flush=True)
    pump(t0 + seconds)
    t1 = time.monotonic()
    print(json.dumps({"frames": [s.frames - b[0] for s, b in zip(sessions, base)],
                      "packets": [s.packets - b[1] for s, b in zip(sessions, base)],
                      "bytes": [s.bytes - b[2] for s, b in zip(sessions, base)], "seconds": t1 - t0}), flush=True)
    for s in sessions:
        s.sock.close()


if __name__ == "__main__":
    main()
