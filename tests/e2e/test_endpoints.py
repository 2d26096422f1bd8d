#!/usr/bin/python3
"""Every HTTP endpoint with real clients: snapshots (also the mjpg-streamer
and µStreamer paths), /api/streams with a stalled client's drops, controls,
/metrics in Prometheus text format, errors (404/405/400), a second daemon on
the same port, and IPv6 listening."""

import json
import socket
import subprocess

import e2e
from e2e import check, get


def snapshot_ok(url, what):
    status, headers, body = get(url)
    check(status == 200, f"{what}: HTTP {status}: {body[:200]!r}")
    check(headers.get("Content-Type") == "image/jpeg", f"{what}: Content-Type {headers.get('Content-Type')}")
    check(int(headers.get("Content-Length", -1)) == len(body), f"{what}: Content-Length mismatch")
    img = e2e.decode_jpeg(body)
    check(img.size == (1280, 720), f"{what}: size {img.size}")


def stream_ok(srv, path, what):
    """Reads the first two whole parts of a multipart stream with a raw socket."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        check(chunk, f"{what}: connection closed after {len(data)} bytes")
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            continue
        lines = head.decode("latin-1").split("\r\n")
        check(lines[0].split()[1] == "200", f"{what}: {lines[0]}")
        ctype = [l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("content-type:")]
        parts = e2e.parse_multipart(body, e2e.boundary_of(ctype[0]))
        if len(parts) >= 2:
            break
    s.close()
    for h, jpeg in parts:
        check(e2e.decode_jpeg(jpeg).size == (1280, 720), f"{what}: bad JPEG")


def jpeg_dc_quant(quality):
    """libjpeg's luma DC quantiser at a quality (jpeg_quality_scaling; base 16)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return min(255, max(1, (16 * scale + 50) // 100))


def expect(srv, path, code, words, method="GET", data=None):
    status, headers, body = get(srv.url + path, method=method, data=data)
    text = body.decode(errors="replace")
    check(status == code, f"{method} {path}: HTTP {status}, wanted {code}: {text!r}")
    for w in words:
        check(w in text, f"{method} {path}: {w!r} not in the reply {text!r}")
    return text


def main(exe):
    with e2e.Server(exe) as srv:
        # Snapshots and streams, also where mjpg-streamer and µStreamer have them.
        snapshot_ok(srv.url + "/snapshot/test", "/snapshot/test")
        q = e2e.decode_jpeg(get(srv.url + "/snapshot/test")[2]).quantization[0][0]
        check(q == jpeg_dc_quant(80), f"default quality: DC quantiser {q}, wanted {jpeg_dc_quant(80)}")
        snapshot_ok(srv.url + "/snapshot", "/snapshot")
        snapshot_ok(srv.url + "/?action=snapshot", "/?action=snapshot")
        stream_ok(srv, "/mjpeg/test", "/mjpeg/test")
        stream_ok(srv, "/?action=stream", "/?action=stream")
        stream_ok(srv, "/stream", "/stream")

        # The index page links the previews.
        page = expect(srv, "/", 200, ['id="st-test" data-n="test"', "'/mjpeg/'", "/api/streams", "/metrics"])
        check("<html" in page, "index page is not HTML")

        # A stalled client shows up in /api/streams with its drops.
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", srv.port))
        stalled.sendall(b"GET /mjpeg/test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        st = srv.wait_for("the stalled client drops frames",
                          lambda: [c for c in srv.stream()["clients"] if c["dropped"] > 0])
        c = st[0]
        check(c["name"].startswith("mjpeg 127.0.0.1:") and c["codec"] == "mjpeg", f"client {c}")
        s = srv.stream()
        check(s["state"] == "running" and s["message"] == "", f"state {s['state']}: {s['message']}")
        check((s["format"], s["width"], s["height"]) == ("yuyv", 1280, 720), f"format {s}")
        check(s["source"] == {"backend": "test", "device": "test"}, f"source {s['source']}")
        check(s["fps"]["nominal"] == 30, f"fps {s['fps']}")
        check(s["drops"] >= c["dropped"] > 0, f"drops {s['drops']}")
        k = s["counters"]
        check(k["frames_captured"] > 0 and k["packets_encoded"] > 0, f"counters {k}")
        check(k["bytes_copied_per_frame"] > 0, f"counters {k}")  # yuyv→i420 for the JPEG encoder
        for path in ("capture_to_encoded", "capture_to_sent"):
            lat = s["latency_ms"][path]
            check(0 < lat["p50"] <= lat["p99"], f"latency {path}: {lat}")
        state = json.loads(get(srv.url + "/state")[2])  # µStreamer's
        r = state["result"]
        check(state["ok"] is True and r["source"]["resolution"] == {"width": 1280, "height": 720}
              and r["source"]["online"] is True and r["stream"]["clients"] >= 1
              and r["encoder"]["quality"] == 80, f"/state: {state}")
        one = json.loads(get(srv.url + "/api/streams/test")[2])
        check(one["name"] == "test" and "clients" in one, f"/api/streams/test: {one}")

        # /metrics: Prometheus text, the stream's figures and the process's.
        m = srv.metrics()
        lab = (("stream", "test"),)
        for name in ("camrelay_frames_captured_total", "camrelay_frames_placeholder_total",
                     "camrelay_packets_encoded_total", "camrelay_bytes_copied_total",
                     "camrelay_reconnects_total", "camrelay_clients", "camrelay_drops", "camrelay_fps"):
            check((name, lab) in m, f"/metrics has no {name}")
        check(m[("camrelay_clients", lab)] >= 1, "camrelay_clients is 0 with a client connected")
        check(m[("camrelay_drops", lab)] > 0, "camrelay_drops is 0 with a stalled client")
        check(m[("camrelay_frames_captured_total", lab)] > 0, "no frames captured")
        q = (("path", "capture_to_sent"), ("quantile", "0.99"), ("stream", "test"))
        check(m.get(("camrelay_latency_seconds", q), 0) > 0, "no capture_to_sent p99")
        check(m[("process_resident_memory_bytes", ())] > 1e6, "process RSS missing")
        check(m[("process_open_fds", ())] > 3, "open fds missing")
        stalled.close()

        # Controls: the test source has none; setting one fails with a message.
        j = json.loads(expect(srv, "/api/streams/test/controls", 200, []))
        check(j["controls"] == [], f"controls {j}")
        expect(srv, "/api/streams/test/controls", 400, ["brightness", "no controls"], "POST",
               b'{"brightness": 100}')
        expect(srv, "/api/streams/test/controls", 400, ["brightness"], "PUT", b"brightness=100")
        expect(srv, "/api/streams/test/controls", 400, ["not a JSON object"], "POST", b"{nope")
        expect(srv, "/api/streams/test/controls", 400, ["no control given"], "POST", b"")
        # Another site's page may not change controls through the user's browser.
        status, _, body = get(srv.url + "/api/streams/test/controls", method="POST", data=b"brightness=1",
                              headers={"Origin": "http://evil.example"})
        check(status == 403 and b"evil.example" in body, f"cross-origin POST: HTTP {status}: {body!r}")
        status, _, body = get(srv.url + "/api/streams/test/controls", method="POST", data=b"brightness=1",
                              headers={"Origin": srv.url})
        check(status == 400 and b"no controls" in body, f"same-origin POST: HTTP {status}: {body!r}")

        # Errors name what was wrong.
        expect(srv, "/nope", 404, ["/nope"])
        expect(srv, "/mjpeg/nope", 404, ['"nope"', "streams: test"])
        expect(srv, "/snapshot/nope", 404, ['"nope"'])
        expect(srv, "/api/streams/nope", 404, ['"nope"'])
        expect(srv, "/api/streams/nope/controls", 404, ['"nope"'])
        expect(srv, "/?action=bogus", 400, ['"bogus"', "stream, snapshot"])
        expect(srv, "/metrics", 405, ["/metrics", "GET"], "POST", b"x")
        expect(srv, "/mjpeg/test", 405, ["GET"], "DELETE")

        # A second daemon on the same address says so and exits 1.
        with open(srv.config.replace(".toml", "-2.toml"), "w") as f:
            f.write(e2e.TEST_STREAM_TOML.format(listen=srv.listen, udp_port=e2e.free_udp_port()))
        p = subprocess.run([exe, "serve", "-c", f.name], capture_output=True, text=True, timeout=30)
        check(p.returncode == 1, f"second daemon on {srv.listen}: exit {p.returncode}")
        check(f"address {srv.listen} is in use" in p.stderr, f"second daemon said: {p.stderr!r}")

        p = subprocess.run([exe, "serve", "-c", f.name, "--listen", "127.0.0.1:80x"],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and 'listen address "127.0.0.1:80x" is not HOST:PORT' in p.stderr,
              f"bad listen address: exit {p.returncode}: {p.stderr!r}")

        srv.wait_for("clients gone", lambda: srv.stream()["clients"] == [])

    # [stream.X.mjpeg]: quality and a frame-rate cap apply to snapshots and streams.
    low = e2e.TEST_STREAM_TOML.replace("quality = 80", "quality = 30\nfps = 10")
    with e2e.Server(exe, toml=low) as srv:
        # The flat bars compress to about the same size at any quality; the
        # quantisation tables say which quality the encoder used.
        for path in ("/snapshot/test", "/mjpeg/test"):
            if path == "/mjpeg/test":
                stream_ok(srv, path, path)
                continue
            img = e2e.decode_jpeg(get(srv.url + path)[2])
            check(img.quantization[0][0] == jpeg_dc_quant(30),
                  f"{path}: luma DC quantiser {img.quantization[0][0]}, "
                  f"libjpeg quality 30 gives {jpeg_dc_quant(30)}")
        reader = subprocess.Popen(["curl", "-s", "-N", "--max-time", "3", "-D", "-",
                                   srv.url + "/mjpeg/test"], stdout=subprocess.PIPE)
        srv.wait_for("the reader subscribed", lambda: len(srv.stream()["clients"]) == 1)
        enc0 = srv.metric("camrelay_packets_encoded_total", stream="test")
        out, _ = reader.communicate(timeout=30)
        enc = srv.metric("camrelay_packets_encoded_total", stream="test") - enc0
        head, _, body = out.partition(b"\r\n\r\n")
        parts = e2e.parse_multipart(body, "boundarydonotcross")
        print(f"fps = 10: {len(parts)} frames sent of {enc:.0f} encoded")
        # Bounds that hold on a loaded machine (where the source may make fewer
        # than 30 frames a second): the cap drops at most two frames of three,
        # and curl's 3 s window lets at most 10 a second (+3 for the edges) through.
        check(enc / 3 - 3 <= len(parts) <= 3 * 10 + 3,
              f"fps = 10 of 30: {len(parts)} frames sent of {enc:.0f} encoded, wanted "
              f"at least a third and at most 33 in 3 s")
        check(enc <= 36 or len(parts) < enc - 3,
              f"fps = 10: {len(parts)} frames sent of {enc:.0f} encoded: the cap dropped none")

        # Hostile paths: answered, never a crash.
        for path in ["/api/streams/%00", "/mjpeg/%", "/mjpeg/", "/snapshot/",
                     "/%2e%2e/%2e%2e/etc/passwd", "/api/streams//controls",
                     "/api/streams/" + "a" * 4000 + "/controls", "/mjpeg/" + "%41" * 3000,
                     "/api/streams/test/controls/x", "/metrics/"]:
            status, _, body = get(srv.url + path)
            check(status in (400, 404, 414), f"{path[:60]}: HTTP {status}: {body[:100]!r}")
        check(get(srv.url + "/api/streams")[0] == 200, "server gone after hostile paths")

    # IPv6 loopback, in the [::1]:PORT form.
    if e2e.ipv6_loopback():
        with e2e.Server(exe, host="::1") as srv6:
            check(srv6.url.startswith("http://[::1]:"), srv6.url)
            snapshot_ok(srv6.url + "/snapshot/test", "IPv6 snapshot")
    else:
        print("no IPv6 loopback here: IPv6 listening not checked")


if __name__ == "__main__":
    e2e.run(main)
