#!/usr/bin/python3
"""bench/g2g: glass-to-glass latency as a viewer sees it, read by the page's
own meter (the timecode block, src/core/timecode.h) in headless Chromium
(Debian's), 60 s per case, side by side in one run:

  on this machine (loopback), the test source at 1280x720, 30 fps:
    camrelay WHEP H.264, camrelay WHEP VP8, camrelay MJPEG;
    and what the meter costs: Chromium's and camrelay's CPU over each case,
    and again with the meter off (?meter=0) for --cost-seconds (20).
  in the real-kernel VM (tests/vm/run-in-vm, one boot; --no-vm skips it):
    camrelay's webcam sink writes the test source (640x360, 15 fps, YUYV)
    into v4l2loopback; read back from that device by camrelay (v4l2
    capture) as MJPEG (quality 80), then by µStreamer (Debian 12's ustreamer
    4.9, YUYV, quality 80) as MJPEG. The servers listen on 0.0.0.0 in the
    guest; Chromium runs on this machine and reaches them through QEMU user
    networking (run-in-vm --hostfwd, the same port numbers on 127.0.0.1
    here; under TCG, Chromium inside the guest read 0-2 frames per 10 s).
    For µStreamer the page (served by the camrelay that feeds the device,
    whose clock the meter aligns to, i.e. the guest's) gets its <img>
    pointed at ustreamer's forwarded /stream (--allow-origin, so the meter
    may read it). The guest and this side take turns through files in the
    run's shared dir (ready-NAME / done-NAME), so only one reader of the
    device runs at a time.
    WHEP in the VM is left out. It was tried (session 7, the WebRTC UDP
    port forwarded as well; not kept in this script, which forwards TCP
    only): ICE failed through QEMU user networking's (slirp's) UDP
    forwarding, so no reading. The likely cause: camrelay takes WebRTC
    datagrams only on an announced candidate address, and slirp delivers
    the browser's to 10.0.2.15 while the browser must be told 127.0.0.1.
    Each MJPEG server is also read in the guest by a viewer that is not a
    browser (tests/e2e/e2e.py mjpeg_arrivals: each part's arrival time minus
    the capture time its timecode block carries, read by BUILD/tests/unit/
    test_timecode): arrival, not display, without the forwarding's hop.
    --vm-no-browser keeps only those rows.

Prints p50/p95 (ms) and frames read/unreadable per case (and for Chromium
the clock exchange's uncertainty, half the tightest round trip). The VM is
QEMU TCG (software-emulated CPU): its figures are several times real
hardware's; compare the rows within the VM. The script installs ustreamer
with apt-get when it is missing (bench/ustreamer.py's helper; needs root).

    bench/g2g.py [BUILD/camrelay] [--seconds 60] [--cost-seconds 20] [--no-vm] [--vm-seconds 60]
                 [--vm-no-browser] [--vm-lock /tmp/cr-vm.lock]
(--vm-lock: only the VM boot waits for the lock, not the host's cases.)"""
import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "webrtc"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, HERE)
import chromium_whep  # noqa: E402
import e2e  # noqa: E402

TOML = """
[http]
listen = "{listen}"

[webrtc]
port = {udp_port}
candidates = ["127.0.0.1"]
""" + "".join(f"""
[stream.{name}]
webrtc_codecs = ["{codec}"]
[[stream.{name}.sources]]
[stream.{name}.sources.capture]
backend = "test"
width = 1280
height = 720
fps = 30
pixel_format = "yuyv"
""" for name, codec in [("h264", "h264"), ("vp8", "vp8")])

CASES = [("camrelay WHEP H.264", "h264", "webrtc"), ("camrelay WHEP VP8", "vp8", "webrtc"),
         ("camrelay MJPEG", "h264", "mjpeg")]


def pct(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")


def cpu_s(pid=None, session=None):
    """CPU seconds (user + system) of process pid, or of every process in
    session `session` (Chromium's whole process tree)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for d in ([str(pid)] if pid else [x for x in os.listdir("/proc") if x.isdigit()]):
        try:
            with open(f"/proc/{d}/stat") as f:
                f = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if pid or int(f[3]) == session:
            total += int(f[11]) + int(f[12])
    return total / tick


def run_case(url, seconds, swap=None, wait=30, server_pid=None):
    """The page at url read for `seconds`; swap: point the picture at this
    MJPEG URL first (another server's stream, CORS-readable). Also returns
    the CPU share (1.0 = one core) Chromium's processes and, given its pid,
    the server took over the window."""
    profile = tempfile.mkdtemp(prefix="camrelay-g2g-bench-")
    proc, ws = chromium_whep.start_chromium(e2e.free_port(), profile, wait=wait)
    try:
        cdp = chromium_whep.Cdp(ws)
        cdp.ws.settimeout(120)  # a busy emulated guest answers slowly
        cdp.call("Page.navigate", url=url)
        ready = "typeof cards !== 'undefined' && cards.length > 0 && !!cards[0].meter && clock.offset !== null"
        end = time.monotonic() + 120  # the page, WHEP and the clock exchange (slow under TCG)
        while time.monotonic() < end and not cdp.evaluate(ready):
            time.sleep(0.5)
        time.sleep(3)  # the first keyframe
        if swap:
            cdp.evaluate("(() => { const c = cards[0], i = c.el.querySelector('.pic'); i.crossOrigin = 'anonymous'; "
                         f"i.src = {json.dumps(swap)}; c.viewer = 'ustreamer'; "
                         "c.meter.samples.length = 0; c.meter.frames = c.meter.unreadable = 0; })()")
            time.sleep(3)
            cdp.evaluate("(() => { const m = cards[0].meter; m.samples.length = 0; m.frames = m.unreadable = 0; })()")
        got, end = {}, time.monotonic() + seconds
        t0 = cdp.evaluate("performance.timeOrigin + performance.now()")  # only frames shown from now on
        c0, s0, w0 = cpu_s(session=proc.pid), cpu_s(server_pid) if server_pid else 0, time.monotonic()
        while time.monotonic() < end:
            time.sleep(4)  # the page keeps 10 s of samples
            for t, v in cdp.evaluate("cards[0].meter.samples") or []:
                if t >= t0:
                    got[t] = v
        wall = time.monotonic() - w0
        m = cdp.evaluate("({frames: cards[0].meter.frames, unreadable: cards[0].meter.unreadable, "
                         "out: cards[0].output, src: cards[0].el.querySelector('.pic').src, rtt: clock.rtt})")
        m["cpu"] = (cpu_s(session=proc.pid) - c0) / wall
        m["server_cpu"] = (cpu_s(server_pid) - s0) / wall if server_pid else None
    finally:
        chromium_whep.stop_chromium(proc, profile)
    return sorted(got.values()), m


def row(label, v, m):
    r = (label, pct(v, 0.5), pct(v, 0.95), len(v), m["unreadable"])
    more = f", clock ±{m['rtt'] / 2:.1f} ms, Chromium CPU {100 * m['cpu']:.0f} %" if "cpu" in m else ""
    print(f"{label}: p50 {r[1]:.1f} ms, p95 {r[2]:.1f} ms ({len(v)} frames, {m['unreadable']} unreadable{more})",
          flush=True)
    return r


def reader_row(label, port, path, seconds, reader):
    """The MJPEG stream at 127.0.0.1:port/path read for `seconds` by a
    non-browser viewer: arrival - capture time of each part."""
    stop, parts = threading.Event(), []
    th = threading.Thread(target=e2e.mjpeg_arrivals, args=(port, path, parts, stop), daemon=True)
    th.start()
    time.sleep(2)  # the part sent at once on connecting is not in the window
    t0 = time.time() * 1000
    time.sleep(seconds)
    stop.set()
    win = [p for p in parts if p[0] >= t0]
    # The decoder reads pictures of one size: each size on its own (µStreamer
    # sends its "no signal" picture, another size, when a capture is late).
    by_size = {}
    for p in win:
        by_size.setdefault(e2e.Image.open(io.BytesIO(p[1])).size, []).append(p)
    v, bad = [], 0
    for size, ps in by_size.items():
        f, b = e2e.timecode_g2g(ps, reader)
        v, bad = v + f, bad + b
    if len(by_size) > 1:
        print(f"{label}: parts of {len(by_size)} sizes: " +
              ", ".join(f"{len(ps)} of {w}x{h}" for (w, h), ps in by_size.items()), flush=True)
    return row(label, sorted(v), {"unreadable": bad})


def host_rows(camrelay, seconds, cost_seconds):
    """The host's rows, and what the meter costs: Chromium's and camrelay's
    CPU over each case's window, and again with ?meter=0 (no meter) for
    cost_seconds (0: not measured)."""
    rows, cost = [], []
    with e2e.Server(camrelay, toml=TOML) as srv:
        for label, stream, output in CASES:
            url = f"{srv.url}/play/{stream}?output={output}"
            v, m = run_case(url, seconds, server_pid=srv.proc.pid)
            if m["out"] != output or not v:
                sys.exit(f"{label}: the page played {m['out']}, {len(v)} readings")
            rows.append(row(label, v, m))
            if cost_seconds > 0:
                _, m0 = run_case(url + "&meter=0", cost_seconds, server_pid=srv.proc.pid)
                if m0["frames"]:
                    sys.exit(f"{label}: ?meter=0 still read {m0['frames']} frames")
                cost.append((label, m["cpu"], m0["cpu"], m["server_cpu"], m0["server_cpu"]))
    return rows, cost


# ------------------------------------------------ in the VM (v4l2loopback)

FEED = """[http]
listen = "0.0.0.0:{port}"
[stream.src]
[[stream.src.sources]]
[stream.src.sources.capture]
backend = "test"
width = {w}
height = {h}
fps = {fps}
pixel_format = "yuyv"
[[stream.src.sinks]]
type = "webcam"
device = "{dev}"
pixel_format = "yuyv"
"""
READ = """[http]
listen = "0.0.0.0:{port}"
[webrtc]
port = {udp}
candidates = ["127.0.0.1"]
""" + "".join(f"""
[stream.{name}]
webrtc_codecs = ["{codec}"]
[[stream.{name}.sources]]
[stream.{name}.sources.capture]
backend = "v4l2"
device = "{{dev}}"
width = {{w}}
height = {{h}}
pixel_format = "yuyv"
[stream.{name}.mjpeg]
quality = 80
""" for name, codec in [("h264", "h264"), ("vp8", "vp8")])
VM_W, VM_H, VM_FPS = 640, 360, 15


def _up(url, proc, what, timeout=90):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=3).read()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{what} does not answer {url}")


def _start(cmd, log):
    return subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _stop(p):
    p.terminate()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def _await(path, what, timeout, proc=None):
    """Waits for the file `path` (the other side of the VM's handshake)."""
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc is not None and proc.poll() is not None:
            sys.exit(f"the VM ended (run-in-vm exit {proc.returncode}) before {what}")
        if time.monotonic() > end:
            sys.exit(f"no {what} within {timeout:.0f} s")
        time.sleep(0.5)


def _touch(path):
    with open(path, "w"):
        pass


def guest_main(camrelay, seconds, out, ports, browser=True):
    """In the VM: the servers listen on 0.0.0.0 at the ports the host
    forwards; each MJPEG server is read by the non-browser reader here, then
    announced (file ready-NAME in the shared dir) and kept up until the
    host's Chromium has read it (done-NAME)."""
    fp, rp, up = ports
    dev = os.environ.get("CAMRELAY_VM_LOOP", "/dev/video0")
    tc = os.path.join(os.path.dirname(os.path.abspath(camrelay)), "tests", "unit", "test_timecode")
    tmp, shared = tempfile.mkdtemp(prefix="g2g-vm-"), os.path.dirname(out)
    with open(f"{tmp}/feed.toml", "w") as f:
        f.write(FEED.format(port=fp, w=VM_W, h=VM_H, fps=VM_FPS, dev=dev))
    with open(f"{tmp}/read.toml", "w") as f:
        f.write(READ.format(port=rp, udp=e2e.free_udp_port(), w=VM_W, h=VM_H, dev=dev))

    def handshake(name):
        if browser:
            _touch(f"{shared}/ready-{name}")
            _await(f"{shared}/done-{name}", f"the host's Chromium reading {name}", 4 * seconds + 600)

    feed = _start([camrelay, "serve", "-c", f"{tmp}/feed.toml"], f"{tmp}/feed.log")
    rows = []
    try:
        _up(f"http://127.0.0.1:{fp}/api/streams", feed, "camrelay (test source -> webcam sink)")
        time.sleep(3)  # the sink has set the device's format
        read = _start([camrelay, "serve", "-c", f"{tmp}/read.toml"], f"{tmp}/read.log")
        try:
            _up(f"http://127.0.0.1:{rp}/api/streams", read, "camrelay (v4l2 capture of the loopback)")
            rows.append(reader_row("camrelay MJPEG (loopback, reader)", rp, "/mjpeg/h264", seconds, tc))
            handshake("camrelay")
        finally:
            _stop(read)
        us = _start(["/usr/bin/ustreamer", "--device", dev, "--format", "YUYV", "--resolution", f"{VM_W}x{VM_H}",
                     "--host", "0.0.0.0", "--port", str(up), "--allow-origin", "*", "--exit-on-parent-death"],
                    f"{tmp}/ustreamer.log")
        try:
            _up(f"http://127.0.0.1:{up}/state", us, "ustreamer")
            rows.append(reader_row("µStreamer MJPEG (loopback, reader)", up, "/stream", seconds, tc))
            handshake("ustreamer")
        finally:
            _stop(us)
    finally:
        _stop(feed)
    with open(out, "w") as f:
        json.dump({"rows": rows, "loadavg": os.getloadavg()}, f)


def vm_rows(camrelay, seconds, browser=True, vm_lock=None):
    """One VM boot. The guest's servers are reached from this machine's
    Chromium through QEMU user networking (run-in-vm --hostfwd: the same
    port numbers on the host's 127.0.0.1 and in the guest)."""
    sys.path.insert(0, HERE)
    from ustreamer import ensure_ustreamer  # noqa: E402  (bench/ustreamer.py)
    ensure_ustreamer()
    outdir = tempfile.mkdtemp(prefix="g2g-vm-out-")
    out = os.path.join(outdir, "rows.json")
    fp, rp, up = ports = [e2e.free_port() for _ in range(3)]
    fwd = [x for p in ports for x in ("--hostfwd", f"tcp:127.0.0.1:{p}-:{p}")]
    lock = ["flock", vm_lock] if vm_lock else []  # only the boot waits its turn, not the host's cases
    cmd = lock + [os.path.join(HERE, "..", "tests", "vm", "run-in-vm"), "--timeout", str(int(900 + 8 * (seconds + 60))),
           "--outdir", outdir] + fwd + ["--", "/usr/bin/python3", os.path.abspath(__file__), "--guest", out,
                                        "--guest-ports", ",".join(map(str, ports)), "--seconds", str(seconds),
                                        os.path.abspath(camrelay)] + ([] if browser else ["--vm-no-browser"])
    vm = subprocess.Popen(cmd, start_new_session=True)  # its own group: flock(1) passes no signal on
    brows = []
    try:
        if browser:
            limit = 600 + 3 * seconds + (3600 if vm_lock else 0)  # the lock, the boot, the reader's window
            _await(f"{outdir}/ready-camrelay", "camrelay in the VM", limit, vm)
            v, m = run_case(f"http://127.0.0.1:{rp}/play/h264?output=mjpeg", seconds)
            if m["out"] != "mjpeg" or not v:
                sys.exit(f"VM camrelay MJPEG: the page played {m['out']}, {len(v)} readings")
            brows.append(row("camrelay MJPEG (loopback)", v, m))
            _touch(f"{outdir}/done-camrelay")
            _await(f"{outdir}/ready-ustreamer", "µStreamer in the VM", limit, vm)
            v, m = run_case(f"http://127.0.0.1:{fp}/play/src?output=mjpeg", seconds,
                            swap=f"http://127.0.0.1:{up}/stream")
            if not v or "/stream" not in m["src"]:
                sys.exit(f"VM µStreamer: {len(v)} readings from {m['src']}")
            brows.append(row("µStreamer MJPEG (loopback)", v, m))
            _touch(f"{outdir}/done-ustreamer")
        rc = vm.wait()
    finally:
        if vm.poll() is None:
            os.killpg(vm.pid, signal.SIGTERM)  # run-in-vm stops QEMU on TERM
            vm.wait()
    if rc != 0 or not os.path.exists(out):
        sys.exit(f"the VM part failed (run-in-vm exit {rc})")
    with open(out) as f:
        j = json.load(f)
    return [tuple(x) for x in j["rows"]] + brows, j["loadavg"]


def table(title, rows):
    print(f"\n{title}")
    print(f"{'case':<34}{'p50 ms':>8}{'p95 ms':>8}{'frames':>8}{'unread':>8}")
    for r in rows:
        print(f"{r[0]:<34}{r[1]:>8.1f}{r[2]:>8.1f}{r[3]:>8}{r[4]:>8}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("camrelay", nargs="?", default=os.path.join(HERE, "..", "build", "release", "camrelay"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--vm-seconds", type=float, default=60)
    ap.add_argument("--cost-seconds", type=float, default=20,
                    help="each host case again with ?meter=0 for this long: the meter's CPU (0: skip)")
    ap.add_argument("--no-vm", action="store_true")
    ap.add_argument("--vm-lock", metavar="FILE", help="boot the VM under flock(1) on FILE (e.g. /tmp/cr-vm.lock)")
    ap.add_argument("--vm-no-browser", action="store_true", help="in the VM only the non-browser reader's rows")
    ap.add_argument("--guest", metavar="OUT", help=argparse.SUPPRESS)
    ap.add_argument("--guest-ports", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.guest:
        return guest_main(a.camrelay, a.seconds, a.guest, [int(x) for x in a.guest_ports.split(",")],
                          not a.vm_no_browser)
    load0 = os.getloadavg()
    rows, cost = host_rows(a.camrelay, a.seconds, a.cost_seconds)
    vm, vm_load = vm_rows(a.camrelay, a.vm_seconds, not a.vm_no_browser, a.vm_lock) if not a.no_vm else ([], None)
    table(f"glass-to-glass, this machine: 1280x720 30 fps test source, loopback, {a.seconds:.0f} s a case "
          f"(load average {load0[0]:.1f} at the start)", rows)
    mj = rows[2][1]
    for r in rows[:2]:
        print(f"{r[0]} / camrelay MJPEG p50: {r[1] / mj:.2f}")
    if cost:
        print(f"\nwhat the meter costs (CPU, 100 % = one core; with the meter over the case's window, "
              f"without it (?meter=0) over {a.cost_seconds:.0f} s)")
        print(f"{'case':<34}{'Chromium':>10}{'no meter':>10}{'camrelay':>10}{'no meter':>10}")
        for c in cost:
            print(f"{c[0]:<34}" + "".join(f"{100 * x:>9.1f}%" for x in c[1:]))
    if vm:
        table(f"in the VM (QEMU TCG; 'reader': a non-browser viewer in the guest, arrival time; else Chromium on "
              f"this machine through QEMU's port forwarding, display time): test source 640x360 15 fps -> webcam "
              f"sink -> v4l2loopback -> server, {a.vm_seconds:.0f} s a case (guest load {vm_load[0]:.1f})", vm)
        for kind in ("reader", "") if not a.vm_no_browser else ("reader",):
            pair = [r for r in vm if ("reader" in r[0]) == (kind == "reader")]
            if len(pair) == 2:  # camrelay's row first, then µStreamer's
                print(f"camrelay MJPEG / µStreamer MJPEG {kind or 'Chromium'} p50: {pair[0][1] / pair[1][1]:.2f}, "
                      f"p95: {pair[0][2] / pair[1][2]:.2f}")


if __name__ == "__main__":
    main()
