#!/usr/bin/python3
"""Thousands of mangled requests (a fixed-seed mutation of valid ones:
paths, methods, headers, JSON and form bodies for the controls endpoint,
cut-off requests, binary junk) against the real server. It must keep
answering well-formed requests throughout and exit 0 at the end (under the
ASan build: no memory error, no leak). The HTTP parsing itself is
libevent's; this exercises camrelay's routing, decoding and handlers."""

import random
import socket

import e2e
from e2e import check

N = 2000
SEEDS = [
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /?action=snapshot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /api/streams HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /api/streams/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /api/streams/test/controls HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"POST /api/streams/test/controls HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 19\r\n\r\n{\"brightness\": 100}",
    b"PUT /api/streams/test/controls HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 14\r\n\r\nbrightness=100",
    b"POST /api/streams/test/controls HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 33\r\n\r\n{\"a\": [1, {\"b\": null}], \"c\": 1e9}",
    b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /snapshot/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /mjpeg/test HTTP/1.0\r\n\r\n",
    b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"HEAD /mjpeg/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"OPTIONS /api/streams HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
]
TOKENS = [b"%", b"%00", b"%2F", b"%25", b"/", b"//", b"..", b"?", b"&", b"=", b"#", b"\xff", b"\x00",
          b"{", b"}", b"\"", b"\\", b"[", b"]", b":", b",", b"test", b"controls", b"action=stream",
          b"A" * 300, b"\r\n", b" ", b"\t", b"-1", b"99999999999999999999", b"\xc3\x28", b"null"]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and data:
            del data[pos:pos + rng.randint(1, 8)]
        elif op == 3:
            data = data[:pos]  # cut off
        else:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(data)


def send(port, data, rng):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.settimeout(0.05)  # a cut-off request gets no answer: don't wait for one
    try:
        s.sendall(data)
        if rng.random() < 0.5:
            s.shutdown(socket.SHUT_WR)
        if rng.random() < 0.7:  # sometimes read the answer, sometimes just leave
            try:
                s.recv(4096)
            except socket.timeout:
                pass
    except OSError:
        pass
    finally:
        s.close()


def main(exe):
    rng = random.Random(20261120)
    with e2e.Server(exe) as srv:
        for i in range(N):
            send(srv.port, mutate(rng, rng.choice(SEEDS)), rng)
            if i % 250 == 0:
                status, _, _ = e2e.get(srv.url + "/api/streams")
                check(status == 200, f"after {i} mangled requests /api/streams gives {status}")
        srv.wait_for("mangled stream clients gone", lambda: srv.stream()["clients"] == [], timeout=15)
        status, _, body = e2e.get(srv.url + "/snapshot/test")
        check(status == 200 and e2e.decode_jpeg(body).size == (1280, 720), "snapshot after the junk")
        print(f"{N} mangled requests: server fine, fds {srv.metric('process_open_fds'):.0f}")

    # Out of file descriptors: connections beyond the limit wait (no busy
    # accept() loop, one warning rather than one per try), and the server
    # recovers when clients leave.
    with e2e.Server(exe, nofile=48) as srv:
        socks = []
        for _ in range(70):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET /mjpeg/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            socks.append(s)
        srv.wait_for("the daemon says it is out of file descriptors",
                     lambda: "open files limit 48" in srv.log_tail(200))
        for s in socks:
            s.close()
        srv.wait_for("clients gone after the fd exhaustion", lambda: srv.stream()["clients"] == [])
        status, _, body = e2e.get(srv.url + "/snapshot/test")
        check(status == 200, f"snapshot after fd exhaustion: HTTP {status}")
        with open(srv.log_path) as f:
            warnings = sum("cannot accept a connection" in line for line in f)
        check(warnings <= 3, f"{warnings} accept warnings: the accept loop spins")


if __name__ == "__main__":
    e2e.run(main)
