#!/usr/bin/python3
"""Two curl clients read /mjpeg/test for 5 s while a third client connects
and never reads. The readers get every frame (≥ 140 of 150 at 30 fps), each
one a whole JPEG; the stalled client costs no memory (RSS flat) and shows
its drops; everything is released when the clients leave.

Then the counters: every frame offered to a client is either delivered
(written to its socket) or dropped, never both, also for a stalled client
whose drops grow; and after the daemon closes the clients, the frames each
one read are exactly its final delivered count."""

import os
import re
import socket
import subprocess
import threading
import time

import e2e
from e2e import check

READ_SECONDS = 5
MIN_FRAMES = 140  # of 150 at 30 fps


def stalled_client(url_host, port, path):
    """Connects, asks for the stream, never reads: a tiny receive buffer
    makes the kernel push back at once."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((url_host, port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {url_host}:{port}\r\n\r\n".encode())
    return s


def main(exe):
    with e2e.Server(exe) as srv:
        stalled = stalled_client("127.0.0.1", srv.port, "/mjpeg/test")
        srv.wait_for("the stalled client is subscribed",
                     lambda: len(srv.stream()["clients"]) == 1)

        tmp = srv.dir
        curls = []
        for i in range(2):
            hdr, body = os.path.join(tmp, f"h{i}"), os.path.join(tmp, f"b{i}")
            curls.append((subprocess.Popen(
                ["curl", "-s", "-N", "--max-time", str(READ_SECONDS), "-D", hdr, "-o", body,
                 srv.url + "/mjpeg/test"]), hdr, body))
        t0 = time.monotonic()
        # The window the readers are compared with starts once both are
        # subscribed (starting curl can take a while on a loaded machine).
        srv.wait_for("both readers subscribed", lambda: len(srv.stream()["clients"]) == 3)
        encoded0 = srv.metric("camrelay_packets_encoded_total", stream="test")
        captured0 = srv.metric("camrelay_frames_captured_total", stream="test")
        rss = {}
        for second in range(1, READ_SECONDS + 1):
            time.sleep(max(0, t0 + second - 0.2 - time.monotonic()))
            rss[second] = srv.rss_kb()
            if second == READ_SECONDS - 1:
                during = srv.stream()
        for p, _, _ in curls:
            rc = p.wait(30)
            check(rc in (0, 28), f"curl exited with {rc}")  # 28: --max-time reached, as meant
        encoded = srv.metric("camrelay_packets_encoded_total", stream="test") - encoded0
        captured = srv.metric("camrelay_frames_captured_total", stream="test") - captured0
        # One JPEG per frame for all three clients (read after encoded: +3 for the race).
        check(encoded <= captured + 3,
              f"{encoded:.0f} JPEGs encoded for {captured:.0f} frames: not shared by the clients")

        # While all three were connected: three MJPEG subscribers, one of them dropping.
        names = [c["name"] for c in during["clients"]]
        check(len(during["clients"]) == 3, f"expected 3 clients in /api/streams, got {names}")
        for c in during["clients"]:
            check(c["kind"] == "encoded" and c["codec"] == "mjpeg" and c["name"].startswith("mjpeg "),
                  f"client entry {c}")

        # Every frame whole, a JPEG of the stream's size, and (nearly) all of them.
        need = min(MIN_FRAMES, int(encoded) - 5)
        check(need >= 30, f"the daemon encoded only {encoded:.0f} frames in {READ_SECONDS} s")
        for i, (_, hdr, body) in enumerate(curls):
            with open(hdr, "rb") as f:
                head = f.read().decode("latin-1")
            check(head.startswith("HTTP/1.0 200") or head.startswith("HTTP/1.1 200"),
                  f"curl {i}: status line {head.splitlines()[:1]}")
            check("transfer-encoding" not in head.lower(), f"curl {i}: chunked reply:\n{head}")
            ctype = [l.split(":", 1)[1].strip() for l in head.splitlines()
                     if l.lower().startswith("content-type:")]
            check(ctype and ctype[0].startswith("multipart/x-mixed-replace"), f"curl {i}: {ctype}")
            with open(body, "rb") as f:
                parts = e2e.parse_multipart(f.read(), e2e.boundary_of(ctype[0]))
            for n, (h, jpeg) in enumerate(parts):
                check(h.get("content-type") == "image/jpeg", f"curl {i} part {n}: {h}")
                img = e2e.decode_jpeg(jpeg)
                check(img.size == (1280, 720), f"curl {i} part {n}: size {img.size}")
            print(f"reader {i}: {len(parts)} frames (daemon encoded {encoded:.0f} meanwhile)")
            check(len(parts) >= need,
                  f"reader {i} got {len(parts)} frames, wanted >= {need} "
                  f"(daemon encoded {encoded:.0f} in the window)")

        # The stalled client: still subscribed, dropping, and no memory growth.
        after = srv.stream()
        check(len(after["clients"]) == 1, f"readers not unsubscribed: {after['clients']}")
        st = after["clients"][0]
        print(f"stalled client: delivered {st['delivered']}, dropped {st['dropped']}; "
              f"RSS {rss[1]} kB at 1 s, {rss[READ_SECONDS]} kB at {READ_SECONDS} s")
        check(st["dropped"] > 0, f"the stalled client dropped nothing: {st}")
        check(after["drops"] >= st["dropped"], f"stream drops {after['drops']} < client's")
        check(rss[READ_SECONDS] - rss[1] < 20 * 1024,
              f"RSS grew from {rss[1]} kB to {rss[READ_SECONDS]} kB with a stalled client")

        # Disconnect: unsubscribed, and every packet released.
        stalled.close()
        srv.wait_for("the stalled client is unsubscribed after it closes",
                     lambda: srv.stream()["clients"] == [])
        srv.wait_for("all packets released",
                     lambda: srv.metric("camrelay_packets_alive") == 0)

        # Stopping with clients still connected (one reading, one stalled, one
        # waiting for headers) ends cleanly: exit 0, and under ASan no leak.
        reader = stalled_client("127.0.0.1", srv.port, "/mjpeg/test")
        reader.recv(65536)
        stalled = stalled_client("127.0.0.1", srv.port, "/mjpeg/test")
        half = socket.create_connection(("127.0.0.1", srv.port))
        half.sendall(b"GET /snapshot/test HTTP/1.1\r\n")
        srv.wait_for("two stream clients", lambda: len(srv.stream()["clients"]) == 2)
    for s in (reader, stalled, half):
        s.close()
    counters(exe)


def whole_jpegs(data):
    """JPEGs whose every byte arrived, by their Content-Length (the boundary
    after the last one may be missing: the daemon counts a frame delivered
    once the JPEG itself has gone to the socket)."""
    n, pos = 0, 0
    while True:
        m = re.compile(rb"Content-Length: (\d+)\r\n(?:[^\r\n]*\r\n)*\r\n").search(data, pos)
        if not m:
            return n
        end = m.end() + int(m.group(1))
        if end > len(data):
            return n
        check(data[m.end():m.end() + 2] == b"\xff\xd8", f"part {n} is not a JPEG")
        n, pos = n + 1, end


def read_to_eof(sock, out):
    while True:
        b = sock.recv(1 << 16)
        if not b:
            return
        out.append(b)


def counters(exe):
    """Two readers and a stalled client; the daemon (with -v: it logs each
    subscriber's final counters) is stopped while all three are connected,
    so what each client holds at EOF is all it was ever sent."""
    with e2e.Server(exe, args=["-v"]) as srv:
        stalled = stalled_client("127.0.0.1", srv.port, "/mjpeg/test")
        readers = []
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", srv.port))
            sock.sendall(b"GET /mjpeg/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            chunks = []
            t = threading.Thread(target=read_to_eof, args=(sock, chunks), daemon=True)
            t.start()
            readers.append((sock, chunks, t))
        names = {f"mjpeg 127.0.0.1:{s.getsockname()[1]}": what for s, what in
                 [(stalled, "stalled")] + [(r[0], f"reader {i}") for i, r in enumerate(readers)]}

        def clients():
            return {names.get(c["name"], c["name"]): c for c in srv.stream()["clients"]}

        first = srv.wait_for("the stalled client drops frames",
                             lambda: (lambda c: c if len(c) == 3 and c["stalled"]["dropped"] > 0 else None)(clients()))
        # Frames it is offered now can only be dropped or, while the kernel
        # still takes bytes, delivered: never both (the sum stays <= offered).
        later = srv.wait_for("30 more drops for the stalled client",
                             lambda: (lambda c: c if c["stalled"]["dropped"] >= first["stalled"]["dropped"] + 30
                                      else None)(clients()))
        s0, s1 = first["stalled"], later["stalled"]
        print(f"stalled client: {s0} then {s1}")
        for what, c in later.items():
            # Offered but not yet counted: at most 2 in its queue and 2 unwritten.
            pending = c["offered"] - c["delivered"] - c["dropped"]
            check(0 <= pending <= 4, f"{what}: offered {c['offered']} != delivered {c['delivered']} + "
                  f"dropped {c['dropped']} (+ at most 4 in flight)")
        check(later["reader 0"]["delivered"] >= 30 and later["reader 1"]["delivered"] >= 30,
              f"the readers got few frames: {later}")
        drops = srv.metric("camrelay_drops", stream="test")
        check(drops >= s1["dropped"], f"camrelay_drops {drops} < the stalled client's {s1['dropped']}")
    # Stopped: every client's subscription ended with its final counters.
    final = {}
    with open(srv.log_path) as f:
        for line in f:
            m = re.search(r"(mjpeg \S+) gone: offered (\d+), delivered (\d+), dropped (\d+)", line)
            if m and m.group(1) in names:
                final[names[m.group(1)]] = tuple(int(x) for x in m.group(2, 3, 4))
    check(len(final) == 3, f"final counters logged for {sorted(final)} of 3 clients")
    got = {}
    for i, (sock, chunks, t) in enumerate(readers):
        t.join(20)
        check(not t.is_alive(), f"reader {i}: no EOF after the daemon stopped")
        got[f"reader {i}"] = whole_jpegs(b"".join(chunks))
        sock.close()
    stalled.settimeout(20)
    chunks = []
    read_to_eof(stalled, chunks)
    stalled.close()
    got["stalled"] = whole_jpegs(b"".join(chunks))
    for what, (offered, delivered, dropped) in sorted(final.items()):
        print(f"{what}: offered {offered}, delivered {delivered}, dropped {dropped}; read {got[what]} JPEGs")
        check(delivered + dropped == offered,
              f"{what}: delivered {delivered} + dropped {dropped} != offered {offered}")
        check(got[what] == delivered, f"{what}: read {got[what]} JPEGs, the daemon counted {delivered} delivered")
    check(final["stalled"][2] > 0, "the stalled client's final drops are 0")


if __name__ == "__main__":
    e2e.run(main)
