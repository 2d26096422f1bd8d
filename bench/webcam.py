#!/usr/bin/python3
"""Webcam benchmark: the seed recipe against camrelay on the same MJPEG frames.

Both pipelines read live view from the PTP/IP camera simulator
(tests/sim/ptpip_sim.py, a Nikon at 25 fps) through the real libgphoto2 and
deliver raw I420 frames:

  recipe:   gphoto2 --capture-movie --stdout | ffmpeg -i - -f rawvideo
            -pix_fmt yuv420p -s:v WxH -r 25 -f rawvideo -            (3 processes)
  camrelay: the gphoto2 source + the stream core's MJPEG -> I420 path
            (tests/webcam/rawpipe: the webcam sink's work, written to a pipe)

The host has no v4l2loopback (no media support in its kernel), so both write
to a pipe instead of /dev/videoN (the recipe's `-f v4l2 /dev/video10` becomes
`-f rawvideo -`); the loopback write is one memcpy per frame on both sides.

Measured: CPU time per frame of each process (from /proc/PID/stat over a
steady window), and latency from the simulator handing a JPEG to the host to
the raw frame arriving at the reader (frame counters read back from the
pixels; same clock). Usage: webcam.py BUILD_DIR [SECONDS]"""

import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'webcam'))
from camtest import Sim, counter_of, i420_pixel, bars_error  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', 'build')
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 12
RAWPIPE = os.path.join(BUILD, 'tests', 'webcam', 'rawpipe')
SIM = os.path.join(HERE, '..', 'tests', 'sim', 'ptpip_sim.py')
K = 50
TICK = os.sysconf('SC_CLK_TCK')


def cpu_s(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError):
        return 0.0


class Reader(threading.Thread):
    def __init__(self, stream, w, h):
        super().__init__(daemon=True)
        self.stream, self.w, self.h = stream, w, h
        self.size = w * h * 3 // 2
        self.frames = []  # (arrival, counter or None)

    def run(self):
        buf = bytearray(self.size)
        view = memoryview(buf)
        while True:
            got = 0
            while got < self.size:
                n = self.stream.readinto(view[got:])
                if not n:
                    return
                got += n
            t = time.monotonic()
            px = lambda x, y: i420_pixel(buf, self.w, self.h, x, y)  # noqa: E731
            c = counter_of(px, self.w, self.h) if bars_error(px, self.w, self.h) <= 20 else None
            self.frames.append((t, c))


def latencies(sim, frames):
    """Arrival minus the time the simulator served that picture (the latest
    frame with the same counter served before the arrival)."""
    served = sorted((t, n % K) for n, t in sim.frames.items())
    out = []
    j = 0
    last = {}
    for arrival, c in frames:
        while j < len(served) and served[j][0] <= arrival:
            last[served[j][1]] = served[j][0]
            j += 1
        if c is not None and c in last:
            out.append(arrival - last[c])
    out.sort()
    return out


def run(name, procs, reader, sim):
    """Waits for frames, measures CPU and frames over a steady window."""
    t_end = time.monotonic() + 30
    while len(reader.frames) < 10 and time.monotonic() < t_end:
        time.sleep(0.1)
    time.sleep(1)
    cpu0 = {k: cpu_s(p.pid) for k, p in procs.items()}
    n0, t0 = len(reader.frames), time.monotonic()
    time.sleep(SECONDS)
    cpu1 = {k: cpu_s(p.pid) for k, p in procs.items()}
    n1, t1 = len(reader.frames), time.monotonic()
    window = [f for f in reader.frames[n0:n1]]
    for p in procs.values():
        p.terminate()
    for p in procs.values():
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    frames = n1 - n0
    lat = latencies(sim, window)
    res = dict(name=name, frames=frames, fps=frames / (t1 - t0),
               cpu={k: 1000 * (cpu1[k] - cpu0[k]) / max(frames, 1) for k in procs},
               lat50=1000 * lat[len(lat) // 2] if lat else 0, lat95=1000 * lat[len(lat) * 95 // 100] if lat else 0,
               bad=sum(1 for _, c in window if c is None))
    return res


def bench(w, h):
    sim = Sim(SIM, size='%dx%d' % (w, h), fps=25, cache=K)
    results = []
    try:
        # The seed recipe (with a pipe for the v4l2loopback device).
        g = subprocess.Popen(['gphoto2', '--port', sim.gp_port, '--capture-movie', '--stdout'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        f = subprocess.Popen(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-i', 'pipe:0', '-f', 'rawvideo',
                              '-pix_fmt', 'yuv420p', '-s:v', '%dx%d' % (w, h), '-r', '25', '-f', 'rawvideo', '-'],
                             stdin=g.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        g.stdout.close()
        rd = Reader(f.stdout, w, h)
        rd.start()
        results.append(run('recipe', {'gphoto2': g, 'ffmpeg': f}, rd, sim))
        time.sleep(1)
        # camrelay
        c = subprocess.Popen([RAWPIPE, '--backend', 'gphoto2', '--device', sim.gp_port, '--seconds', '0',
                              '--quiet'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rd = Reader(c.stdout, w, h)
        rd.start()
        results.append(run('camrelay', {'camrelay': c}, rd, sim))
    finally:
        sim.close()
    return results


def main():
    print('webcam bench: %g s per run, simulator at 25 fps, %d CPUs, load %.1f' %
          (SECONDS, os.cpu_count(), os.getloadavg()[0]))
    print('%-10s %-9s %6s %6s  %-34s %8s %8s' % ('size', 'pipeline', 'frames', 'fps', 'CPU ms/frame', 'lat p50', 'p95'))
    for w, h in ((1056, 704), (1920, 1080)):
        for r in bench(w, h):
            cpu = ' '.join('%s %.2f' % kv for kv in r['cpu'].items())
            total = sum(r['cpu'].values())
            print('%-10s %-9s %6d %6.1f  %-34s %6.1fms %6.1fms%s' % (
                '%dx%d' % (w, h), r['name'], r['frames'], r['fps'], '%s = %.2f' % (cpu, total),
                r['lat50'], r['lat95'], '  (%d frames not the picture)' % r['bad'] if r['bad'] else ''))
            sys.stdout.flush()


if __name__ == '__main__':
    main()
