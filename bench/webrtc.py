#!/usr/bin/python3
"""WebRTC delivery benchmark: how many WHEP viewers one core serves at
1280x720 H.264 2 Mbit/s (test source, x264), SRTP cost per packet, and
capture -> RTP-sent latency from the daemon's own figures.

    bench/webrtc.py BUILD_DIR [N ...]      (default N: 1 10 50 100)

Runs `camrelay serve` and bench_webrtc_client, which does ICE, DTLS and
consent for N sessions but only counts packets, so the CPU measured is the
server's. CPU is read from /proc/<pid>/stat over the steady window."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def main():
    build = sys.argv[1]
    counts = [int(x) for x in sys.argv[2:]] or [1, 10, 50, 100]
    http_port, udp_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    d = tempfile.mkdtemp(prefix="camrelay-bench-webrtc-")
    stream = """
[stream.cam]
[[stream.cam.sources]]
capture = { backend = "test", width = 1280, height = 720, fps = 30 }
[stream.cam.sources.encoder]
backend = "x264"
codec = "h264"
profile = "constrained-baseline"
level = "3.1"
bitrate = 2_000_000
"""
    cfg = os.path.join(d, "bench.toml")
    with open(cfg, "w") as f:
        f.write('[http]\nlisten = "127.0.0.1:%d"\n[webrtc]\nport = %d\ncandidates = ["127.0.0.1"]\n'
                % (http_port, udp_port) + stream)
    cmd = [os.path.join(build, "camrelay"), "serve", "-c", cfg]
    log = open(os.path.join(d, "server.log"), "w")
    srv = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    client = os.path.join(build, "bench", "bench_webrtc_client")
    base = "http://127.0.0.1:%d" % http_port
    try:
        time.sleep(1.5)
        srtp = subprocess.run([client, "--srtp"], capture_output=True, text=True).stdout
        print("SRTP protect (this machine):")
        for line in srtp.splitlines():
            r = json.loads(line)
            print("  %-18s %5.0f ns per 1200-byte packet" % (r["srtp_profile"], r["ns_per_packet"]))
        print("\n%8s %10s %12s %14s %16s %10s %10s" % ("viewers", "connected", "Mbit/s out", "server CPU %",
                                                       "CPU %/viewer", "p50 ms", "p99 ms"))
        base_cpu = None
        rows = []
        pkts = []
        for n in counts:
            seconds = 20
            c = subprocess.Popen([client, "127.0.0.1", str(http_port), "cam", str(n), str(seconds)],
                                 stdout=subprocess.PIPE, text=True)
            time.sleep(8)  # connected and past the first keyframe
            t0, c0 = time.time(), cpu_seconds(srv.pid)
            time.sleep(10)
            t1, c1 = time.time(), cpu_seconds(srv.pid)
            out = c.communicate(timeout=60)[0]
            r = json.loads(out.strip().splitlines()[-1])
            cpu = 100 * (c1 - c0) / (t1 - t0)
            with urllib.request.urlopen(base + "/api/streams", timeout=5) as f:
                api = json.loads(f.read())
            st = api["streams"][0] if isinstance(api, dict) and "streams" in api else api[0]
            lat = st.get("latency_ms", {}).get("capture_to_sent", {})
            if base_cpu is None:
                base_cpu = cpu
            per = (cpu - base_cpu) / (n - counts[0]) if n != counts[0] else float("nan")
            pkts.append(r["packets_per_s_total"])
            rows.append((n, r["connected"], r["mbit_per_s_total"], cpu, per, lat.get("p50", 0), lat.get("p99", 0)))
            print("%8d %10d %12.1f %14.1f %16.3f %10.1f %10.1f" % rows[-1], flush=True)
            time.sleep(2)
        if len(rows) > 1 and rows[-1][4] > 0:
            n_last = rows[-1][0]
            pps = pkts[-1] / n_last
            us_per_pkt = (rows[-1][3] - rows[0][3]) / 100 * 1e6 / (pkts[-1] - pkts[0])
            print("\nmarginal cost %.3f %% of a core per viewer at %.2f Mbit/s (%.0f packets/s) each"
                  " -> about %d such viewers per core (plus one encode: %.0f %% at 1 viewer)"
                  % (rows[-1][4], rows[-1][2] / n_last, pps, 100 / rows[-1][4], rows[0][3]))
            print("server CPU per RTP packet sent: %.1f us -> at 2 Mbit/s (~212 packets/s of 1180 bytes)"
                  " about %d viewers per core" % (us_per_pkt, 1e6 / (us_per_pkt * 212)))
    finally:
        srv.terminate()
        srv.wait(timeout=20)


if __name__ == "__main__":
    main()
