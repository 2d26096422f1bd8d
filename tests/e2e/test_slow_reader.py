#!/usr/bin/python3
"""A slow reader of a large answer is not cut off by header_timeout (found
by bench/webrtc.py: /api/streams with 1,000 viewers, 670 KB, was cut at
540 KB on a busy server, "HTTP request not sent in time"). header_timeout
bounds the wait for a request, not the writing of its answer; evhttp's own
write timeout bounds a reader that takes nothing at all: such a reader,
opened first, finds its connection closed 36 s later with only what the
kernel held.

- a 7680x4320 noise snapshot (about 18 MB: far more than the kernel's
  socket buffers hold, tcp_wmem's 4 MB at most; 4.5 MB all fitted) read
  in steps of at most 64 KiB 10 ms apart (about 1 MB/s here), well past
  header_timeout = 2: arrives whole (its Content-Length, ending in the JPEG
  end marker). Before, the connection was shut down header_timeout after
  the request and the reader got what the kernel held (5.9 of 18 MB);
- a keep-alive connection idle after its answer is closed by header_timeout
  as before (counted in /metrics), as is one that never sends a whole
  request.

    test_slow_reader.py CAMRELAY_EXE
"""
import socket
import time

import e2e
from e2e import check

TOML = """
[http]
listen = "{listen}"

[limits]
header_timeout = 2

[stream.test]
[[stream.test.sources]]
[stream.test.sources.capture]
backend = "test"
width = 7680
height = 4320
fps = 1
pattern = "noise"

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
"""


def timeouts(srv):
    _, _, body = e2e.get(srv.url + "/metrics")
    for line in body.decode().splitlines():
        if line.startswith('camrelay_limit_refusals_total{reason="header_timeout"}'):
            return int(float(line.split()[-1]))
    return 0


def main(exe):
    with e2e.Server(exe, toml=TOML) as srv:
        time.sleep(3)  # a picture to snap
        # A reader that takes nothing: evhttp's write timeout (30 s without progress) closes it.
        deaf = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        deaf.connect(("127.0.0.1", srv.port))
        deaf.sendall(b"GET /snapshot/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        t_deaf = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 262144)
        s.connect(("127.0.0.1", srv.port))
        s.settimeout(10)
        t0 = time.monotonic()
        s.sendall(b"GET /snapshot/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            d = s.recv(4096)
            if not d:
                break
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v)
        check(head.startswith(b"HTTP/1.1 200") and length > 10000000,
              f"a snapshot of several megabytes is answered ({head.splitlines()[0] if head else b''!r}, {length} bytes)")
        while len(body) < length:
            try:
                d = s.recv(65536)
            except OSError:
                break
            if not d:
                break
            body += d
            time.sleep(0.01)
        took = time.monotonic() - t0
        print(f"{len(body)} of {length} bytes read in {took:.1f} s (header_timeout 2 s)")
        check(took > 3.5, f"the reading took longer than header_timeout and the sweep ({took:.1f} s)")
        check(len(body) == length and body.endswith(b"\xff\xd9"),
              f"the slow reader got the whole answer ({len(body)} of {length} bytes)")
        s.close()
        # A keep-alive connection idle after its answer: header_timeout counts again.
        before = timeouts(srv)
        k = socket.create_connection(("127.0.0.1", srv.port), timeout=8)
        k.sendall(b"GET /api/streams HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer, t1 = b"", time.monotonic()
        while True:
            d = k.recv(65536)
            answer += d
            if not d or b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                break
        try:
            rest = k.recv(4096)
        except socket.timeout:
            rest = None
        idle = time.monotonic() - t1
        after = timeouts(srv)
        print(f"keep-alive, idle after its answer: recv {rest!r} after {idle:.1f} s, header_timeout closings "
              f"{before} -> {after}")
        check(answer.startswith(b"HTTP/1.1 200") and rest == b"" and after == before + 1,
              f"an idle connection is closed by header_timeout after its answer ({rest!r}, {before} -> {after})")
        k.close()
        # Half a request: closed after header_timeout.
        h = socket.create_connection(("127.0.0.1", srv.port), timeout=8)
        h.sendall(b"GET /api/streams HTTP/1.1\r\nHost: 127")
        try:
            rest = h.recv(4096)
        except socket.timeout:
            rest = None
        check(rest == b"" and timeouts(srv) == after + 1, f"half a request is cut off as before ({rest!r})")
        h.close()
        time.sleep(max(0.0, t_deaf + 36 - time.monotonic()))
        deaf.settimeout(3)
        got, eof = 0, False
        try:
            while True:
                d = deaf.recv(1 << 20)
                if not d:
                    eof = True
                    break
                got += len(d)
        except socket.timeout:
            pass
        print(f"a reader that took nothing for 36 s: then {got} bytes and {'the end' if eof else 'no end'}")
        check(eof and got < length, f"a reader that takes nothing is closed after 30 s ({got} of {length} bytes, "
              f"end: {eof})")
        deaf.close()


if __name__ == "__main__":
    e2e.run(main)
