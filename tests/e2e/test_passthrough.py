#!/usr/bin/python3
"""A source that already delivers JPEGs (the test source in pixel_format
"mjpeg", as most USB webcams do): /mjpeg and /snapshot pass the camera's
JPEGs through without re-encoding and without a single CPU copy from the
source's buffer to the sockets (bytes_copied stays 0), and stalled clients
holding those buffers neither starve nor stop the source."""

import subprocess

import e2e
from e2e import check

MJPEG_SOURCE = e2e.TEST_STREAM_TOML.replace('pixel_format = "yuyv"', 'pixel_format = "mjpeg"')


def main(exe):
    with e2e.Server(exe, toml=MJPEG_SOURCE) as srv:
        # HTTP may answer before the capture thread has opened the source
        s = srv.wait_for("the source open", lambda: (lambda s: s if s["format"] != "?" else None)(srv.stream()))
        check(s["format"] == "mjpeg", f"source format {s['format']}")

        # One client keeping up: the source's JPEGs go to the socket untouched.
        p = subprocess.run(["curl", "-s", "-N", "--max-time", "2", srv.url + "/mjpeg/test"],
                           capture_output=True)
        parts = e2e.parse_multipart(p.stdout, "boundarydonotcross")
        k = srv.stream()["counters"]
        check(len(parts) > 10 and k["bytes_copied"] == 0 and k["frames_converted"] == 0,
              f"{len(parts)} frames to a reader with {k['bytes_copied']} bytes copied, "
              f"{k['frames_converted']} frames converted: not a zero-copy passthrough")

        # Stalled clients (each holds at most two of the source's JPEGs, then
        # drops): the others don't notice.
        stalled = []
        for _ in range(6):
            sock = e2e.socket.socket()
            sock.setsockopt(e2e.socket.SOL_SOCKET, e2e.socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", srv.port))
            sock.sendall(b"GET /mjpeg/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            stalled.append(sock)
        srv.wait_for("the stalled clients drop frames",
                     lambda: sum(c["dropped"] > 0 for c in srv.stream()["clients"]) == 6)
        reader = subprocess.Popen(["curl", "-s", "-N", "--max-time", "3", srv.url + "/mjpeg/test"],
                                  stdout=subprocess.PIPE)
        srv.wait_for("the reader subscribed", lambda: len(srv.stream()["clients"]) == 7)
        enc0 = srv.metric("camrelay_packets_encoded_total", stream="test")
        out, _ = reader.communicate(timeout=30)
        p = subprocess.CompletedProcess(reader.args, reader.returncode, out)
        enc = srv.metric("camrelay_packets_encoded_total", stream="test") - enc0
        parts = e2e.parse_multipart(p.stdout, "boundarydonotcross")
        for n, (_, jpeg) in enumerate(parts):
            check(e2e.decode_jpeg(jpeg).size == (1280, 720), f"part {n}: bad JPEG")
        print(f"reader: {len(parts)} frames of {enc:.0f} passed through, with 6 stalled clients")
        check(len(parts) >= min(80, enc - 5), f"reader got {len(parts)} of {enc:.0f} frames")
        status, _, body = e2e.get(srv.url + "/snapshot/test")
        check(status == 200 and e2e.decode_jpeg(body).size == (1280, 720), f"snapshot: HTTP {status}")

        s = srv.stream()
        k = s["counters"]
        check(s["state"] == "running" and k["reconnects"] == 0,
              f"the source suffered from stalled clients: {s['state']} {s['message']} {k}")
        check(k["bytes_copied"] == 0, f"{k['bytes_copied']} bytes copied on the passthrough path")
        check(k["frames_converted"] == 0, f"{k['frames_converted']} frames converted (re-encoded?)")
        for sock in stalled:
            sock.close()
        srv.wait_for("clients gone", lambda: srv.stream()["clients"] == [])
        srv.wait_for("all packets released", lambda: srv.metric("camrelay_packets_alive") == 0)


if __name__ == "__main__":
    e2e.run(main)
