#!/usr/bin/python3
"""MJPEG over HTTP from a V4L2 camera: camrelay side by side with µStreamer
(Debian 12's `ustreamer` 4.9) on the same input, in the QEMU bench.

    meson setup /tmp/build-rel -Dbuildtype=release && ninja -C /tmp/build-rel -j2
    bench/ustreamer.py /tmp/build-rel/camrelay [--seconds 15] [--sizes 640x480,1280x720]
                       [--clients 1,10] [--buffers N] [--json FILE]
    bench/ustreamer.py /tmp/build-rel/camrelay --host-test [--clients 1] [--seconds 15]

The host kernel has no V4L2, so the measuring runs inside the project's VM
(tests/vm/run-in-vm, one boot for all rows) against vivid's capture node
($CAMRELAY_VM_VIVID_CAP, /dev/video0): the guest sees the host's root
read-only, so the host's /usr/bin/ustreamer runs there unchanged. The script
installs `ustreamer` on the host with apt-get when it is missing (needs root).

For each size (vivid YUYV, set with v4l2-ctl first) and each number of MJPEG
clients, one server at a time, µStreamer first, then camrelay:

    ustreamer --device DEV --format YUYV --resolution WxH --host 127.0.0.1 --port P
              (software "CPU" encoder, its default quality 80, default workers)
    camrelay serve -c FILE -l 127.0.0.1:P   (v4l2 capture of DEV, yuyv WxH, [stream.cam.mjpeg] quality = 80;
              --buffers N: the capture's buffers = N, else its default 6)

Neither is given a frame rate: both ask vivid for its highest rate at that
size (vivid's webcam input gave 25 fps at 640x480, 12.5 fps at 1280x720).
The clients (a Python thread each, in the same guest, not counted) read
/stream resp. /mjpeg/cam and count the multipart boundaries. After the server
answers HTTP and every client has its first frame, plus a warm-up, the
measured window starts: the server's CPU is utime+stime of the whole process
(/proc/PID/stat) over the window, divided by the frames of the stream in the
window (the mean of what each client received); RSS is VmRSS at the window's
end, PSS (Rss and Pss of /proc/PID/smaps_rollup: shared pages divided among
the processes mapping them, so it falls when other processes map the same
libraries), THP (AnonHugePages of smaps_rollup: transparent huge pages, 2 MB
each, in the RSS; µStreamer's RSS is 1.5 or 3.5 MB from run to run as one
lands on a thread stack or not, camrelay turns THP off for itself, so the
ratios are given of RSS and of RSS without them) and the shared objects mapped (/proc/PID/maps) at the same moment;
under the tables, each server's RSS by mapping (/proc/PID/smaps: each shared
object, heap, stacks, malloc arenas, other anonymous memory; see breakdown());
VmRSS (/proc/PID/status) comes from the kernel's RSS counters, which the
VM's Debian 12 kernel (6.1) keeps per thread and folds in now and then: in
the VM µStreamer's VmRSS read 3.5 MB while smaps counted 2.3 MB of thread
stacks, 1.6 MB of libc and 0.6 MB of libjpeg alone. smaps walks the page
tables and is exact, so a second table gives smaps' Rss, the part of it
that is the V4L2 device's mmap'd buffers (the driver's memory, in PSS too;
camrelay asks for 6 (or --buffers N), µStreamer for the number of CPU cores (at
most 4) + 1, 3 in the VM: the table gives what each asked and the driver gave,
from µStreamer's log and camrelay's /api/streams, and the mappings counted), and
"own" = Rss - device buffers - THP, the figure whose ratio is stable;
fps is frames per client per second; KB/frame is bytes on the wire per frame
(JPEG plus part headers), which shows the two encoders' quality match.

--host-test runs on this host without the VM (the host kernel has no V4L2,
so no µStreamer and no vivid): `camrelay serve -l 127.0.0.1:P` with no
config, i.e. the built-in test stream (1280x720 YUYV, 30 fps, MJPEG quality
of the default), and N clients on /mjpeg/test: camrelay's own footprint
(issue 20, item 3), the same columns. The shared objects with the largest
RSS are listed under the table.

The VM is QEMU TCG (software emulation, 2 vCPUs on a shared 2-core host):
absolute CPU times are several times what real hardware takes and they move
with the host's load. The point is the camrelay/µStreamer ratio on identical
input in the same VM, printed per row. The host's load average is printed
with the table. The last table has the ratios, smaps_rollup's Rss among them
(the total, accurate: the kernel's proc.rst calls VmRSS inexact).

Exits non-zero with a message if a server does not start or exits, or a
client gets no frames."""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mjpeg import cpu_seconds, free_port, status_kb  # noqa: E402  (bench/mjpeg.py)
USTREAMER = "/usr/bin/ustreamer"
TCG_NOTE = ("QEMU TCG (software-emulated CPU): absolute ms/frame are inflated several times "
            "and noisy; compare the camrelay/µStreamer ratios, measured on identical input.")

CAMRELAY_CONFIG = """[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "{device}"
width = {width}
height = {height}
pixel_format = "yuyv"
{buffers}
[stream.cam.mjpeg]
quality = 80
"""


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- guest side

class Readers:
    """N MJPEG clients, a thread each (blocking reads): parse the response head
    for the multipart boundary, then count boundaries and bytes, discard the rest."""

    def __init__(self, port, path, n):
        self.frames = [0] * n
        self.bytes = [0] * n
        self.error = None
        self.stop = threading.Event()
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
        self.threads = [threading.Thread(target=self._client, args=(i, path), daemon=True)
                        for i in range(n)]
        for t in self.threads:
            t.start()

    def _client(self, i, path):
        s = self.socks[i]
        s.settimeout(0.5)  # wake up now and then to see self.stop
        try:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head, mark = b"", None
            carry = b""
            while not self.stop.is_set():
                try:
                    data = s.recv(262144)
                except socket.timeout:
                    continue
                if not data:
                    return
                if mark is None:
                    head += data
                    if b"\r\n\r\n" not in head:
                        continue
                    head, _, data = head.partition(b"\r\n\r\n")
                    mark = b"--" + boundary(head)
                buf = carry + data
                self.frames[i] += buf.count(mark)
                carry = buf[-(len(mark) - 1):]
                self.bytes[i] += len(data)
        except (BenchError, OSError) as e:
            self.error = f"client {i}: {e}"

    def snapshot(self):
        return list(self.frames), list(self.bytes)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        for s in self.socks:
            s.close()


def boundary(head):
    """The multipart boundary of an HTTP answer's head (status 200 or BenchError)."""
    lines = head.decode("latin-1").split("\r\n")
    if " 200 " not in lines[0] + " ":
        raise BenchError(f"HTTP answer {lines[0]!r}")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type" and "boundary=" in value:
            return value.split("boundary=", 1)[1].split(";")[0].strip().strip('"').encode()
    raise BenchError(f"no multipart boundary in {head!r}")


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def measure(name, cmd, ready_path, stream_path, port, n_clients, seconds, warmup, workdir):
    """Start one server, wait until it serves and every client has frames, measure, stop it."""
    log_path = os.path.join(workdir, f"{name}-{port}.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    readers = None

    def fail(why):
        raise BenchError(f"{name} ({' '.join(cmd)}): {why}; its log ({log_path}), last lines:\n"
                         + tail(log_path))

    try:
        url = f"http://127.0.0.1:{port}{ready_path}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                fail(f"exited with status {proc.returncode} before serving HTTP")
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    fail(f"does not answer {url} after 60 s")
                time.sleep(0.2)
        readers = Readers(port, stream_path, n_clients)
        deadline = time.monotonic() + 60
        while min(readers.frames) == 0:
            if readers.error:
                fail(readers.error)
            if proc.poll() is not None:
                fail(f"exited with status {proc.returncode}")
            if time.monotonic() > deadline:
                fail(f"{readers.frames.count(0)} of {n_clients} clients got no frame in 60 s "
                     f"from {stream_path}")
            time.sleep(0.1)
        time.sleep(warmup)
        c0, t0, (f0, b0) = cpu_seconds(proc.pid), time.monotonic(), readers.snapshot()
        time.sleep(seconds)
        c1, t1, (f1, b1) = cpu_seconds(proc.pid), time.monotonic(), readers.snapshot()
        if proc.poll() is not None:
            fail(f"exited with status {proc.returncode} during the measurement")
        rss, hwm = status_kb(proc.pid, "VmRSS"), status_kb(proc.pid, "VmHWM")
        rss_parts = {k: status_kb(proc.pid, k) for k in ("RssAnon", "RssFile", "RssShmem")}
        mem = smaps_rollup_kb(proc.pid)
        libs = mapped_objects(proc.pid)
        where = breakdown(proc.pid)
        dev = [m for m in mappings_kb(proc.pid) if m["path"].startswith("/dev/")]
        buffers = server_buffers(name, port, stream_path, log_path)
        if readers.error:
            fail(readers.error)
    finally:
        if readers:
            readers.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
    got = [b - a for a, b in zip(f0, f1)]
    if min(got) == 0:
        fail(f"{got.count(0)} of {n_clients} clients got no frames in the {seconds:.0f} s window")
    per_client = sum(got) / n_clients
    wire = sum(b - a for a, b in zip(b0, b1))
    return {
        "server": name, "clients": n_clients, "seconds": t1 - t0,
        "cpu_s": c1 - c0,
        "cpu_ms_per_frame": (c1 - c0) * 1000 / per_client,
        "cpu_pct": (c1 - c0) * 100 / (t1 - t0),
        "rss_mb": rss / 1024, "hwm_mb": hwm / 1024,
        "pss_mb": mem.get("Pss", 0) / 1024, "anon_mb": mem.get("Anonymous", 0) / 1024,
        "thp_mb": mem.get("AnonHugePages", 0) / 1024,
        "smaps_rss_mb": mem.get("Rss", 0) / 1024,
        "dev_rss_mb": sum(m.get("Rss", 0) for m in dev) / 1024,
        "dev_pss_mb": sum(m.get("Pss", 0) for m in dev) / 1024,
        "dev_maps": len(dev), "buffers": buffers,
        "n_libs": len(libs), "libs_top": sorted(libs.items(), key=lambda kv: -kv[1])[:8],
        "breakdown": where, "rss_parts_kb": rss_parts,
        "frames": got, "fps": per_client / (t1 - t0),
        "kb_per_frame": wire / sum(got) / 1024,
    }


def server_buffers(name, port, stream_path, log_path):
    """The V4L2 buffers the server asked for and the driver gave, as the server
    says: µStreamer logs "Requested 3 device buffers, got 3", camrelay's
    /api/streams has the source's buffers (what it asked is the config's) and
    the frames it copied since it started because consumers held every other
    buffer (each copy lands in a pool frame: anonymous memory, "anon" below).
    {"asked": n or None, "got": n, "copied": n or None} or None when the server
    does not say."""
    if name == "ustreamer":
        m = re.findall(r"Requested (\d+) device buffers, got (\d+)", tail(log_path, 1 << 20))
        return {"asked": int(m[-1][0]), "got": int(m[-1][1]), "copied": None} if m else None
    try:
        url = f"http://127.0.0.1:{port}/api/streams/{stream_path.rsplit('/', 1)[1]}"
        s = json.load(urllib.request.urlopen(url, timeout=5))
        got, copied = s["source"].get("buffers"), s["counters"].get("frames_copied")
    except (OSError, ValueError, KeyError):
        return None
    return {"asked": None, "got": got, "copied": copied} if got else None


def smaps_rollup_kb(pid):
    """The kB fields of /proc/PID/smaps_rollup (Rss, Pss, Anonymous, ...)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def mappings_kb(pid):
    """Each mapping of /proc/PID/smaps in address order: {start, end, perms, path, kB fields}."""
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if parts and "-" in parts[0] and not parts[0].endswith(":"):
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                cur = {"start": lo, "end": hi, "perms": parts[1],
                       "path": " ".join(parts[5:]) if len(parts) > 5 else ""}
                maps.append(cur)
            elif cur is not None and len(parts) == 3 and parts[2] == "kB":
                cur[parts[0].rstrip(":")] = int(parts[1])
    return maps


BREAKDOWN_FIELDS = ("Rss", "Pss", "Anonymous", "AnonHugePages")


def breakdown(pid, top=12):
    """Where the RSS is, by mapping class: a shared object or the executable
    (its basename, all its segments), [heap], [stack] (the main thread's),
    "thread stacks" (anonymous read-write mappings right above an
    inaccessible guard mapping: how glibc lays out pthread stacks), "malloc
    arenas" (anonymous read-write mappings at a 64 MB boundary right below an
    inaccessible one: a non-main arena's heap and its reserved rest; glibc
    aligns them so on 64-bit), "anon" (any other anonymous memory: mallocs
    above the mmap threshold, frame buffers) and the rest by path (a V4L2
    device's mmap'd buffers under its /dev name).
    Returns the `top` classes by Rss: [(name, {Rss, Pss, Anonymous, AnonHugePages, n})]."""
    maps = mappings_kb(pid)
    out = {}
    for i, m in enumerate(maps):
        path = m["path"]
        if path.startswith("/"):
            name = os.path.basename(path)
        elif path:
            name = path
        elif m["perms"].startswith("---"):
            name = "guard"
        else:
            below = maps[i - 1] if i > 0 else None
            above = maps[i + 1] if i + 1 < len(maps) else None
            if below and below["end"] == m["start"] and below["perms"].startswith("---") and not below["path"]:
                name = "thread stacks"
            elif (m["start"] % (64 << 20) == 0 and above and above["start"] == m["end"]
                  and above["perms"].startswith("---") and not above["path"]):
                name = "malloc arenas"
            else:
                name = "anon"
        acc = out.setdefault(name, dict.fromkeys(BREAKDOWN_FIELDS, 0) | {"n": 0})
        for k in BREAKDOWN_FIELDS:
            acc[k] += m.get(k, 0)
        acc["n"] += 1
    return sorted(out.items(), key=lambda kv: -kv[1]["Rss"])[:top]


def print_breakdown(label, items, parts=None):
    if parts:
        print(f"{label}: VmRSS = RssAnon {parts['RssAnon']} + RssFile {parts['RssFile']} + "
              f"RssShmem {parts['RssShmem']} kB")
    print(f"{label}: RSS by mapping (kB; smaps Rss / Pss / anonymous / THP, n mappings)")
    for name, v in items:
        print(f"  {name:28s} {v['Rss']:6d} {v['Pss']:6d} {v['Anonymous']:6d} {v['AnonHugePages']:6d}  {v['n']:3d}")


def mapped_objects(pid):
    """Shared objects mapped by the process: {basename: RSS kB} (/proc/PID/smaps)."""
    out, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if parts and "-" in parts[0] and not parts[0].endswith(":"):
                path = parts[5] if len(parts) > 5 else ""
                name = os.path.basename(path) if ".so" in path else None
                if name:
                    out.setdefault(name, 0)
            elif name and parts[0] == "Rss:":
                out[name] += int(parts[1])
    return out


def host_test(a):
    """camrelay's built-in test stream on this host (no VM, no µStreamer)."""
    camrelay = os.path.realpath(a.camrelay)
    workdir = tempfile.mkdtemp(prefix="ubench-host-")
    rows = []
    load_before = os.getloadavg()
    for n in (int(x) for x in a.clients.split(",")):
        port = free_port()
        cmd = [camrelay, "serve", "-l", f"127.0.0.1:{port}"]
        print(f"ubench: host, built-in test stream, {n} client(s) ...", flush=True)
        r = measure("camrelay", cmd, "/api/streams", "/mjpeg/test", port, n, a.seconds, a.warmup, workdir)
        rows.append(r)
    load_after = os.getloadavg()
    print()
    print(f"camrelay serve (built-in test stream 1280x720 YUYV 30 fps) -> MJPEG over HTTP on this host, "
          f"{a.seconds:.0f} s window per row; {camrelay}")
    print(f"host: {os.cpu_count()} CPUs, load average before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)}")
    hdr = (f"{'clients':>7s} {'CPU ms/frame':>12s} {'CPU %':>6s} {'RSS MB':>7s} {'PSS MB':>7s} "
           f"{'anon MB':>7s} {'.so':>4s} {'fps/client':>10s} {'KB/frame':>8s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['clients']:7d} {r['cpu_ms_per_frame']:12.2f} {r['cpu_pct']:6.1f} {r['rss_mb']:7.1f} "
              f"{r['pss_mb']:7.1f} {r['anon_mb']:7.1f} {r['n_libs']:4d} {r['fps']:10.2f} {r['kb_per_frame']:8.1f}")
    print("largest shared objects by RSS (kB), last row: " +
          ", ".join(f"{n} {kb}" for n, kb in rows[-1]["libs_top"]))
    print_breakdown(f"camrelay, {rows[-1]['clients']} client(s)", rows[-1]["breakdown"],
                    rows[-1]["rss_parts_kb"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "host_cpus": os.cpu_count(), "loadavg": [load_before, load_after]}, f,
                      indent=1)


def guest_main(a):
    device = os.environ.get("CAMRELAY_VM_VIVID_CAP") or "/dev/video0"
    workdir = tempfile.mkdtemp(prefix="ubench-")
    rows = []
    for size in a.sizes.split(","):
        w, h = (int(x) for x in size.split("x"))
        subprocess.run(["v4l2-ctl", "-d", device, f"--set-fmt-video=width={w},height={h},pixelformat=YUYV"],
                       check=True)
        fmt = subprocess.run(["v4l2-ctl", "-d", device, "--get-fmt-video", "--get-parm"],
                             capture_output=True, text=True).stdout
        if f"{w}/{h}" not in fmt.replace(" ", ""):
            raise BenchError(f"{device}: vivid did not take YUYV {size}:\n{fmt}")
        for n in (int(x) for x in a.clients.split(",")):
            for name in ("ustreamer", "camrelay"):
                port = free_port()
                if name == "ustreamer":
                    cmd = [USTREAMER, "--device", device, "--format", "YUYV", "--resolution", size,
                           "--host", "127.0.0.1", "--port", str(port), "--exit-on-parent-death"]
                    ready, path = "/state", "/stream"
                else:
                    cfg = os.path.join(workdir, f"camrelay-{size}-{n}.toml")
                    with open(cfg, "w") as f:
                        f.write(CAMRELAY_CONFIG.format(device=device, width=w, height=h,
                                                       buffers=f"buffers = {a.buffers}\n\n" if a.buffers else "\n"))
                    cmd = [a.camrelay, "serve", "-c", cfg, "-l", f"127.0.0.1:{port}"]
                    ready, path = "/api/streams", "/mjpeg/cam"
                print(f"ubench: {size}, {n} client(s), {name} ...", flush=True)
                r = measure(name, cmd, ready, path, port, n, a.seconds, a.warmup, workdir)
                r["size"] = size
                if name == "camrelay" and r["buffers"]:
                    r["buffers"]["asked"] = a.buffers or 6  # the config's, else the v4l2 table's default
                rows.append(r)
                print(f"ubench:   {r['cpu_ms_per_frame']:.2f} ms CPU/frame, {r['cpu_pct']:.0f}% CPU, "
                      f"RSS {r['rss_mb']:.1f} MB, {r['fps']:.2f} fps/client", flush=True)
    with open(a.out, "w") as f:
        json.dump({"rows": rows, "guest_cpus": os.cpu_count(),
                   "guest_loadavg": os.getloadavg()}, f, indent=1)


# ----------------------------------------------------------------- host side

def ensure_ustreamer():
    if os.access(USTREAMER, os.X_OK):
        return
    if os.geteuid() != 0:
        raise BenchError(f"{USTREAMER} is missing and installing it needs root: "
                         "run `apt-get install ustreamer` as root, or this script as root")
    print("ubench: installing ustreamer with apt-get", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "ustreamer"]
    if subprocess.run(cmd, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env)
        if subprocess.run(cmd, env=env).returncode != 0:
            raise BenchError("apt-get install ustreamer failed (see above)")
    if not os.access(USTREAMER, os.X_OK):
        raise BenchError(f"ustreamer installed but {USTREAMER} is not there")


def ustreamer_version():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "ustreamer"],
                         capture_output=True, text=True).stdout
    return out or "?"


def own_mb(r):
    """smaps Rss without the device's buffers and without transparent huge pages."""
    return r["smaps_rss_mb"] - r["dev_rss_mb"] - r["thp_mb"]


def pss_own(r):
    return r["pss_mb"] - r["dev_pss_mb"]


def print_table(res, a, load_before, load_after):
    rows = res["rows"]
    print()
    print(f"MJPEG over HTTP from vivid YUYV (V4L2), µStreamer {ustreamer_version()} vs camrelay, "
          f"quality 80 both, {a.seconds:.0f} s window per row, in the VM ({res['guest_cpus']} vCPUs); "
          f"camrelay's buffers = {a.buffers or '6 (default)'}, µStreamer's default (CPUs + 1)")
    print(TCG_NOTE)
    print(f"host: {os.cpu_count()} CPUs, load average before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)}")
    print()
    hdr = (f"{'size':9s} {'clients':>7s} {'server':9s} {'CPU ms/frame':>12s} {'CPU %':>6s} "
           f"{'RSS MB':>7s} {'THP MB':>6s} {'PSS MB':>7s} {'.so':>4s} {'fps/client':>10s} {'frames/client (min-max)':>23s} "
           f"{'KB/frame':>8s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        fr = f"{min(r['frames'])}-{max(r['frames'])}" if len(r["frames"]) > 1 else str(r["frames"][0])
        print(f"{r['size']:9s} {r['clients']:7d} {r['server']:9s} {r['cpu_ms_per_frame']:12.2f} "
              f"{r['cpu_pct']:6.1f} {r['rss_mb']:7.1f} {r.get('thp_mb', 0):6.1f} {r.get('pss_mb', 0):7.1f} "
              f"{r.get('n_libs', 0):4d} {r['fps']:10.2f} {fr:>23s} {r['kb_per_frame']:8.1f}")
    print()
    print("smaps (accurate; VmRSS above may lag, see the docstring): Rss, the V4L2 buffers' part of it (dev),")
    print("the rest without huge pages (own = Rss - dev - THP), PSS without the device buffers; V4L2 buffers")
    print("the server asked for / the driver gave (µStreamer's log, camrelay's /api/streams) and mapped (smaps),")
    print("frames camrelay copied since its start because consumers held every other buffer (frames_copied)")
    hdr = (f"{'size':9s} {'clients':>7s} {'server':9s} {'Rss MB':>7s} {'dev MB':>7s} {'own MB':>7s} "
           f"{'PSS-dev MB':>10s} {'buffers':>7s} {'mapped':>6s} {'copied':>6s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        if "smaps_rss_mb" in r:
            b = r.get("buffers")
            bufs = f"{b['asked'] or '?'}/{b['got']}" if b else "?"
            copied = str(b["copied"]) if b and b.get("copied") is not None else "-"
            print(f"{r['size']:9s} {r['clients']:7d} {r['server']:9s} {r['smaps_rss_mb']:7.1f} "
                  f"{r['dev_rss_mb']:7.1f} {own_mb(r):7.1f} {r['pss_mb'] - r['dev_pss_mb']:10.1f} "
                  f"{bufs:>7s} {r.get('dev_maps', 0):6d} {copied:>6s}")
    print()
    print("camrelay / µStreamer (below 1: camrelay uses less; VmRSS from status, Rss from smaps_rollup)")
    print(f"{'size':9s} {'clients':>7s} {'CPU/frame':>10s} {'VmRSS':>6s} {'VmRSS-THP':>9s} {'Rss':>6s} {'own':>6s} "
          f"{'PSS':>6s} {'PSS-dev':>7s} {'fps':>6s}")
    pairs = {}
    for r in rows:
        pairs.setdefault((r["size"], r["clients"]), {})[r["server"]] = r
    for (size, n), p in pairs.items():
        u, c = p.get("ustreamer"), p.get("camrelay")
        if not (u and c):
            continue
        print(f"{size:9s} {n:7d} {c['cpu_ms_per_frame'] / u['cpu_ms_per_frame']:10.2f} "
              f"{c['rss_mb'] / u['rss_mb']:6.2f} "
              f"{(c['rss_mb'] - c.get('thp_mb', 0)) / (u['rss_mb'] - u.get('thp_mb', 0)):9.2f} "
              f"{c['smaps_rss_mb'] / u['smaps_rss_mb'] if u.get('smaps_rss_mb') else 0:6.2f} "
              f"{own_mb(c) / own_mb(u) if 'smaps_rss_mb' in u else 0:6.2f} "
              f"{c['pss_mb'] / u['pss_mb'] if u.get('pss_mb') else 0:6.2f} "
              f"{pss_own(c) / pss_own(u) if 'dev_pss_mb' in u else 0:7.2f} "
              f"{c['fps'] / u['fps']:6.2f}")
    for r in rows:
        if r.get("breakdown"):
            print()
            print_breakdown(f"{r['size']} {r['clients']} client(s) {r['server']}", r["breakdown"],
                            r.get("rss_parts_kb"))


def host_main(a):
    camrelay = os.path.realpath(a.camrelay)
    if not os.access(camrelay, os.X_OK):
        raise BenchError(f"{a.camrelay}: no camrelay executable there (build a release: meson setup "
                         "/tmp/build-rel -Dbuildtype=release && ninja -C /tmp/build-rel -j2)")
    ensure_ustreamer()
    outdir = tempfile.mkdtemp(prefix="ubench-out-")
    out = os.path.join(outdir, "results.json")
    n_runs = len(a.sizes.split(",")) * len(a.clients.split(",")) * 2
    timeout = 180 + n_runs * (a.seconds + a.warmup + 60)
    cmd = [os.path.join(REPO, "tests/vm/run-in-vm"), "--timeout", str(int(timeout)), "--outdir", outdir,
           "--", "/usr/bin/python3", os.path.realpath(__file__), "--guest", camrelay,
           "--out", out, "--seconds", str(a.seconds), "--warmup", str(a.warmup),
           "--sizes", a.sizes, "--clients", a.clients, "--buffers", str(a.buffers)]
    load_before = os.getloadavg()
    print(f"ubench: booting the VM (TCG), {n_runs} runs of ~{a.seconds + a.warmup:.0f} s",
          file=sys.stderr, flush=True)
    # The guest must see the camrelay binary: run-in-vm keeps the working
    # directory visible even under /tmp (the guest's /tmp is a fresh tmpfs).
    rc = subprocess.run(cmd, cwd=os.path.dirname(camrelay)).returncode
    load_after = os.getloadavg()
    if not os.path.exists(out):
        raise BenchError(f"the benchmark in the VM failed (run-in-vm exit status {rc}, see above)")
    with open(out) as f:
        res = json.load(f)
    print_table(res, a, load_before, load_after)
    if a.json:
        shutil.copy(out, a.json)
    if rc != 0:
        raise BenchError(f"run-in-vm exited with status {rc} after the measurement (121: kernel "
                         "WARNING/BUG in dmesg, printed above)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("camrelay", help="camrelay executable (a release build)")
    ap.add_argument("--seconds", type=float, default=15, help="measured window per row")
    ap.add_argument("--warmup", type=float, default=3,
                    help="seconds after every client has its first frame, before the window")
    ap.add_argument("--sizes", default="640x480,1280x720")
    ap.add_argument("--clients", default="1,10")
    ap.add_argument("--buffers", type=int, default=0,
                    help="camrelay's capture buffers (2..32) for the run; default: its default, 6")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--host-test", action="store_true",
                    help="camrelay's built-in test stream on this host, no VM and no µStreamer")
    ap.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    try:
        if a.guest:
            a.camrelay = os.path.realpath(a.camrelay)
            guest_main(a)
        elif a.host_test:
            if a.buffers:
                raise BenchError("--buffers applies to the V4L2 capture in the VM, not to --host-test")
            host_test(a)
        else:
            host_main(a)
    except BenchError as e:
        print(f"ubench: FAILED: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
