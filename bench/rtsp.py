#!/usr/bin/python3
"""camrelay's RTSP server against GStreamer's gst-rtsp-server (Debian 12,
Python GI), serving the same thing in the same run: a 1280x720 30 fps test
pattern as H.264 at 2 Mbit/s (x264, one shared encoder in both), to the same
clients: by default bench/rtsp_clients.py, N sessions over TCP interleaved
in one Python process that count RTP packets and frames without decoding
(--client ffmpeg: one ffmpeg -rtsp_transport tcp -c copy process per client,
which 50 of starve two cores).

  bench/rtsp.py BUILD_DIR [--clients 1,10,50] [--seconds 10] [--client light|ffmpeg]

Prints, per server: time to the first decoded frame (ffmpeg and GStreamer
rtspsrc, median of 3), server CPU (utime+stime over a steady window) with
1, 10 and 50 clients, the CPU each client adds beyond the first, and the
camrelay/gst-rtsp-server ratios. Exits 1 naming the server when it does
not start or a client gets nothing."""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

GST_SERVER = r'''
import sys, gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer
Gst.init(None)
s = GstRtspServer.RTSPServer(); s.set_address("127.0.0.1"); s.set_service(sys.argv[1])
f = GstRtspServer.RTSPMediaFactory()
f.set_launch("( videotestsrc is-live=true ! video/x-raw,width=1280,height=720,framerate=30/1,format=I420 "
             "! x264enc bitrate=%s tune=zerolatency speed-preset=ultrafast key-int-max=60 "
             "! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )" % sys.argv[2])
f.set_shared(True)
s.get_mount_points().add_factory("/cam", f)
if s.attach(None) == 0: sys.exit("cannot listen")
print("ready", flush=True)
GLib.MainLoop().run()
'''

CAMRELAY_TOML = """
[http]
listen = "127.0.0.1:%d"
[rtsp]
listen = "127.0.0.1:%d"
[webrtc]
port = %d
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "test"
width = 1280
height = 720
fps = 30
pixel_format = "yuv420"
[stream.cam.sources.encoder]
backend = "software"
codec = "h264"
bitrate = 2_000_000
preset = "ultrafast"
gop = 60
"""


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port, proc, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("%s exited at start (status %s)" % (name, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("%s did not listen on %d" % (name, port))


def first_frame(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return time.monotonic() - t0 if r.returncode == 0 else float("nan")


def ttff(url):
    ff = [first_frame(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                       "-frames:v", "1", "-f", "null", "-"]) for _ in range(3)]
    gst = [first_frame(["gst-launch-1.0", "-q", "rtspsrc", "location=" + url, "protocols=tcp", "latency=0", "!",
                        "decodebin", "!", "identity", "eos-after=2", "!", "fakesink"]) for _ in range(3)]
    return statistics.median(ff), statistics.median(gst)


def frames(path):
    try:
        with open(path) as f:
            v = [int(x.split("=")[1]) for x in f.read().split() if x.startswith("frame=")]
        return v[-1] if v else 0
    except OSError:
        return 0


def load_light(url, pid, n, seconds, name):
    """bench/rtsp_clients.py: the server's CPU over the clients' own window."""
    p = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "rtsp_clients.py"),
                          url, str(n), "4", str(seconds)], stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "window":
        sys.exit("%s: the light clients could not set up %d sessions" % (name, n))
    c0 = cpu_seconds(pid)
    line = p.stdout.readline()
    c1 = cpu_seconds(pid)
    if p.wait() != 0 or not line:
        sys.exit("%s: a light client's session ended early" % name)
    r = json.loads(line)
    # A figure for clients that were not fed means nothing: each must get 80% of 30 fps.
    starved = sum(1 for f in r["frames"] if f < 0.8 * 30 * r["seconds"])
    if starved:
        sys.exit("%s: %d of %d clients got under 80%% of the frames in the window (%s; machine too loaded?)"
                 % (name, starved, n, sorted(r["frames"])[:5]))
    time.sleep(1)
    mbps = 8 * sum(r["bytes"]) / len(r["bytes"]) / r["seconds"] / 1e6
    print("  %s, %d clients: %.2f Mbit/s of RTP per client, %.1f frames/s" % (
        name, n, mbps, sum(r["frames"]) / len(r["frames"]) / r["seconds"]), flush=True)
    return 100 * (c1 - c0) / r["seconds"]


def load(url, pid, n, seconds, name, tmp):
    progs = [os.path.join(tmp, "%s-%d-%d.progress" % (name, n, i)) for i in range(n)]
    clients = [subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                                 "-c", "copy", "-progress", progs[i], "-f", "null", "-"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for i in range(n)]
    time.sleep(4)  # all set up and past their first keyframe
    c0, t0, f0 = cpu_seconds(pid), time.monotonic(), [frames(p) for p in progs]
    time.sleep(seconds)
    c1, t1, f1 = cpu_seconds(pid), time.monotonic(), [frames(p) for p in progs]
    dead = [c for c in clients if c.poll() is not None]
    for c in clients:
        c.terminate()
    for c in clients:
        c.wait()
    if dead:
        sys.exit("%s: %d of %d clients ended early" % (name, len(dead), n))
    # A figure for clients that were not fed means nothing: each must get 80% of 30 fps.
    starved = sum(1 for a, b in zip(f0, f1) if b - a < 0.8 * 30 * (t1 - t0))
    if starved:
        sys.exit("%s: %d of %d clients got under 80%% of the frames in the window (machine too loaded?)"
                 % (name, starved, n))
    time.sleep(1)
    return 100 * (c1 - c0) / (t1 - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--clients", default="1,10,50")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--client", choices=("light", "ffmpeg"), default="light")
    ap.add_argument("--gst-kbps", default="2000", help="x264enc bitrate of gst-rtsp-server's stream (camrelay's "
                    "x264 makes less than its 2 Mbit/s of the easy test pattern: match the bytes sent)")
    a = ap.parse_args()
    counts = [int(x) for x in a.clients.split(",")]
    tmp = tempfile.mkdtemp(prefix="camrelay-bench-rtsp-")
    cport, gport = free_port(), free_port()
    cfg = os.path.join(tmp, "c.toml")
    with open(cfg, "w") as f:
        f.write(CAMRELAY_TOML % (free_port(), cport, free_port(socket.SOCK_DGRAM)))
    cam = subprocess.Popen([os.path.join(a.build, "camrelay"), "serve", "-c", cfg], stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(tmp, "camrelay.log"), "w"))
    gst = subprocess.Popen([sys.executable, "-c", GST_SERVER, str(gport), a.gst_kbps], stdout=subprocess.PIPE, text=True)
    try:
        wait_port(cport, cam, "camrelay")
        if gst.stdout.readline().strip() != "ready":
            sys.exit("gst-rtsp-server did not start (gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-ugly)")
        servers = [("camrelay", "rtsp://127.0.0.1:%d/cam" % cport, cam.pid),
                   ("gst-rtsp-server", "rtsp://127.0.0.1:%d/cam" % gport, gst.pid)]
        res = {name: {} for name, _, _ in servers}
        for name, url, pid in servers:
            res[name]["ttff"] = ttff(url)
        for n in counts:  # the two servers alternate, one at a time
            for name, url, pid in servers:
                res[name][n] = (load_light(url, pid, n, a.seconds, name) if a.client == "light"
                                else load(url, pid, n, a.seconds, name, tmp))
        print("RTSP, 1280x720 30 fps H.264 (camrelay x264 2 Mbit/s, gst x264enc %s kbit/s), TCP clients (%s); %s"
              % (a.gst_kbps, "bench/rtsp_clients.py, one process" if a.client == "light" else "ffmpeg -c copy",
                 a.build))
        print("%-16s %12s %12s" % ("", "camrelay", "gst-rtsp-srv"))
        c, g = res["camrelay"], res["gst-rtsp-server"]
        print("%-16s %11.2fs %11.2fs   ratio %.2f" % ("first frame ffmpeg", c["ttff"][0], g["ttff"][0],
                                                     c["ttff"][0] / g["ttff"][0]))
        print("%-16s %11.2fs %11.2fs   ratio %.2f" % ("first frame gst", c["ttff"][1], g["ttff"][1],
                                                     c["ttff"][1] / g["ttff"][1]))
        for n in counts:
            print("%-16s %11.1f%% %11.1f%%   ratio %.2f" % ("CPU, %d client%s" % (n, "s" if n > 1 else ""), c[n], g[n],
                                                          c[n] / g[n]))
        for n in counts[1:]:
            pc, pg = (c[n] - c[counts[0]]) / (n - counts[0]), (g[n] - g[counts[0]]) / (n - counts[0])
            print("%-16s %11.2f%% %11.2f%%   ratio %.2f" % ("per client (%d)" % n, pc, pg, pc / pg if pg else float("nan")))
    finally:
        for p in (cam, gst):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
