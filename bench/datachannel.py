#!/usr/bin/python3
"""DataChannel <-> UDP bridge figures with headless Chromium as the viewers
(one page, N peer connections, each with video and a control channel):

  - latency from a UDP datagram leaving the device to the browser's
    message event, p50/p99, at 100 messages/s, with 1 and 20 viewers;
  - messages per second one core bridges to 20 viewers (datagrams sent as
    fast as the bridge takes them; camrelay's CPU time from /proc);
  - what a channel adds to a viewer's memory (camrelay's RSS with 20
    viewers with a channel minus 20 without, per viewer).

    datachannel.py BUILD_DIR      (a release or ci build; ASan inflates all three)

There is no other program here to put beside it (live777's bridge is Rust
and not in Debian); the latency is given next to the same page's WebRTC
round trip as the floor, and the throughput as a share of one core."""
import json
import os
import socket
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "webrtc"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "datachannel"))
import chromium_whep as cw  # noqa: E402
import webrtc_test as wt  # noqa: E402

JS_OPEN = r"""
(async () => {
  window.lat = window.lat || [];
  const n = %(n)d, dc = %(dc)s;
  window.pcs = window.pcs || [];
  let opened = 0;
  for (let i = 0; i < n; i++) {
    const pc = new RTCPeerConnection();
    let ch = null;
    if (dc) {
      ch = pc.createDataChannel('control');
      const k = window.lat.length;
      window.lat.push([]);
      ch.onmessage = e => {
        const now = performance.timeOrigin + performance.now();
        window.lat[k].push(now - parseFloat(e.data.split(' ')[1]));
      };
    }
    const open = dc ? new Promise(r => { ch.onopen = () => r(1); setTimeout(() => r(0), 30000); }) : Promise.resolve(1);
    pc.addTransceiver('video', {direction: 'recvonly'});
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(%(url)s, {method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp});
    await pc.setRemoteDescription({type: 'answer', sdp: await r.text()});
    opened += await open;
    window.pcs.push([pc, r.headers.get('Location')]);
  }
  return opened;
})()
"""


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def close_all(cdp, base):
    locs = cdp.evaluate("window.pcs.map(x => { x[0].close(); return x[1]; })") or []
    for loc in locs:
        try:
            urllib.request.urlopen(urllib.request.Request(base + loc, method="DELETE"), timeout=10).read()
        except OSError:
            pass
    cdp.evaluate("window.pcs = []; window.lat = []; true")


def send_paced(tx, port, rate, seconds):
    for i in range(int(rate * seconds)):
        t = time.time() * 1000
        tx.sendto(b"%d %.3f" % (i, t), ("127.0.0.1", port))
        time.sleep(max(0, (i + 1) / rate - (time.time() * 1000 - t0ms[0]) / 1000))


t0ms = [0.0]


def main():
    build = sys.argv[1]
    listen = wt.free_port(socket.SOCK_DGRAM)
    fwd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fwd.bind(("127.0.0.1", 0))
    toml = wt.stream_toml("cam", "h264", w=160, h=120, fps=10, bitrate=100_000) + (
        '[stream.cam.datachannel]\nlisten = "127.0.0.1:%d"\nforward = "127.0.0.1:%d"\nlabel = "control"\n'
        'viewer_buffer = 1048576\n' % (listen, fwd.getsockname()[1]))
    srv = wt.Server(build, toml)
    import tempfile
    import shutil
    profile = tempfile.mkdtemp(prefix="camrelay-bench-dc-")
    proc = None
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out = {}
    try:
        proc, ws = cw.start_chromium(wt.free_port(), profile)
        cdp = cw.Cdp(ws)
        cdp.call("Page.navigate", url=srv.base + "/api/webrtc")
        time.sleep(1)
        url = json.dumps(srv.base + "/whep/cam")
        for n in (1, 20):
            opened = cdp.evaluate(JS_OPEN % {"n": n, "dc": "true", "url": url})
            time.sleep(2)
            t0ms[0] = time.time() * 1000
            send_paced(tx, listen, 100, 10)
            time.sleep(2)
            lat = cdp.evaluate("window.lat") or []
            flat = [v for x in lat for v in x]
            out["latency_%d" % n] = {"viewers_open": opened, "messages": len(flat), "expected": 1000 * n,
                                      "p50_ms": round(pct(flat, 50), 2), "p99_ms": round(pct(flat, 99), 2)}
            print("latency UDP -> message event, %d viewer(s), 100 msg/s for 10 s: %s" % (n, out["latency_%d" % n]),
                  flush=True)
            if n == 20:
                # Throughput: as fast as the bridge takes them, 1 KiB each, for 5 s.
                def to_viewers():
                    return json.loads(urllib.request.urlopen(srv.base + "/api/streams", timeout=5).read())[
                        "streams"][0]["datachannel"]
                a, c0, t0 = to_viewers(), cpu_s(srv.proc.pid), time.time()
                pad = b" " + b"x" * 1000
                i = 0
                while time.time() - t0 < 5:
                    tx.sendto(b"%d %.3f" % (i, time.time() * 1000) + pad, ("127.0.0.1", listen))
                    i += 1
                    if i % 50 == 0:
                        time.sleep(0.001)
                time.sleep(1)
                b, c1 = to_viewers(), cpu_s(srv.proc.pid)
                d_in, d_out = b["udp_in"] - a["udp_in"], b["to_viewers"] - a["to_viewers"]
                drop = b["dropped_full"] - a["dropped_full"]
                cpu = c1 - c0
                out["throughput_20"] = {"datagrams": d_in, "deliveries": d_out, "dropped_full": drop,
                                        "cpu_s": round(cpu, 2),
                                        "datagrams_per_cpu_s": round(d_in / cpu) if cpu else None,
                                        "deliveries_per_cpu_s": round(d_out / cpu) if cpu else None}
                print("throughput to 20 viewers (1 KiB messages; the video encodes too): %s" % out["throughput_20"],
                      flush=True)
                rss_dc = rss_kb(srv.proc.pid)
            close_all(cdp, srv.base)
            time.sleep(2)
        cdp.evaluate(JS_OPEN % {"n": 20, "dc": "false", "url": url})
        time.sleep(4)
        rss_plain = rss_kb(srv.proc.pid)
        out["memory"] = {"rss_kb_20_with_channel": rss_dc, "rss_kb_20_video_only": rss_plain,
                         "per_viewer_kb": round((rss_dc - rss_plain) / 20, 1)}
        print("memory: %s" % out["memory"], flush=True)
        close_all(cdp, srv.base)
    finally:
        if proc:
            os.killpg(proc.pid, 15)
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
        srv.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
