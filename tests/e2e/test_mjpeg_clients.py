#!/usr/bin/python3
"""Two curl clients read /mjpeg/test for 5 s while a third client connects
and never reads. The readers get every frame (≥ 140 of 150 at 30 fps), each
one a whole JPEG; the stalled client costs no memory (RSS flat) and shows
its drops; everything is released when the clients leave."""

import os
import socket
import subprocess
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


if __name__ == "__main__":
    e2e.run(main)
