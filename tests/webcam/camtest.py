"""Helpers shared by the webcam tests: the PTP/IP simulator as a child
process, readers for rawpipe's framed output and for raw I420 streams, and
checks of the simulator's picture (colour bars, frame counter)."""

import os
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'sim'))
import ptpip_sim  # noqa: E402

BARS = ptpip_sim.BARS


def sanitizer_env(fast_unwind=False):
    """Environment for camrelay processes: under ASan, suppress libgphoto2's
    own small per-session leaks (tests/webcam/lsan.supp); the slow unwinder
    is needed to see through its dlclosed camlibs. fast_unwind: the frame
    pointer unwinder instead, where a test measures rates: under QEMU/TCG the
    slow unwinder on every malloc of libgphoto2's PTP/IP reads made the ASan
    build decode only 54-76 % of 1056x704 live view at 6 fps (sources-vm, 5
    runs) where it keeps up with it (96 of 96) and the build without ASan
    too. It changes only the stacks leak reports show. No effect otherwise."""
    env = dict(os.environ)
    asan = env.get('ASAN_OPTIONS', '')
    if 'fast_unwind_on_malloc' not in asan:
        asan = (asan + ':' if asan else '') + 'fast_unwind_on_malloc=%d' % fast_unwind
    # Freed memory sits in a 256 MB quarantine by default, which would make
    # the RSS-flat checks measure ASan rather than camrelay.
    if 'quarantine_size_mb' not in asan:
        asan += ':quarantine_size_mb=16'
    env['ASAN_OPTIONS'] = asan
    lsan = env.get('LSAN_OPTIONS', '')
    if 'suppressions' not in lsan:
        env['LSAN_OPTIONS'] = (lsan + ':' if lsan else '') + 'suppressions=' + os.path.join(HERE, 'lsan.supp')
    return env


def sh(cmd, timeout=30):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)


PROCS = []  # every process a test section started; cleanup() kills what is left


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
    PROCS.clear()


def wait_until(cond, timeout, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    print('ok  ' + msg, flush=True)


def run_sections(sections):
    """Runs (name, fn) pairs, each on after the other fails; True if all passed."""
    ok = True
    for name, fn in sections:
        print('-- ' + name, flush=True)
        try:
            fn()
        except Fail as e:
            print('FAIL ' + str(e), flush=True)
            ok = False
    return ok


class Sim:
    """The simulator, with its stdout lines collected (FRAME lines kept apart)."""

    def __init__(self, sim_path, size='640x424', fps=25, extra=(), cache=0):
        self.w, self.h = (int(v) for v in size.split('x'))
        self.fps = fps
        self.cache = cache
        self.p = subprocess.Popen(['/usr/bin/python3', sim_path, '--port', '0', '--size', size,
                                   '--fps', str(fps), '--verbose', '--cache', str(cache)] + list(extra),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.frames = {}  # counter -> monotonic time served
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_for('READY', 120)
        self.port = int(line.split('=')[1])
        self.gp_port = 'ptpip:127.0.0.1:%d:%d' % (self.port, self.port)

    def _read(self):
        for line in self.p.stdout:
            line = line.strip()
            with self.cond:
                if line.startswith('FRAME '):
                    _, n, t = line.split()
                    self.frames[int(n)] = float(t)
                else:
                    self.lines.append(line)
                self.cond.notify_all()

    def wait_for(self, prefix, timeout, start=0):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if line.startswith(prefix):
                        return line
                left = end - time.monotonic()
                if left <= 0:
                    raise Fail('simulator did not print %r within %gs (got %r)' %
                               (prefix, timeout, self.lines[-5:]))
                self.cond.wait(left)

    def count(self, prefix):
        with self.cond:
            return sum(1 for line in self.lines if line.startswith(prefix))

    def send(self, cmd):
        self.p.stdin.write(cmd + '\n')
        self.p.stdin.flush()

    def rate_between(self, t0, t1):
        """Frames per second the simulator served between two times."""
        with self.cond:
            n = sum(1 for t in self.frames.values() if t0 <= t <= t1)
        return n / (t1 - t0)

    def rate(self, first, last):
        """Frames per second the simulator served between two counters."""
        with self.cond:
            ts = [(n, t) for n, t in self.frames.items() if first <= n <= last]
        ts.sort()
        if len(ts) < 2:
            return 0.0
        return (ts[-1][0] - ts[0][0]) / (ts[-1][1] - ts[0][1])

    def close(self):
        try:
            self.send('quit')
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def i420_luma(buf, w, h):
    return lambda x, y: buf[y * w + x]


def i420_pixel(buf, w, h, x, y):
    """(Y, U, V) at (x, y) of a tightly packed I420 frame."""
    cw, ch = (w + 1) // 2, (h + 1) // 2
    Y = buf[y * w + x]
    U = buf[w * h + (y // 2) * cw + x // 2]
    V = buf[w * h + cw * ch + (y // 2) * cw + x // 2]
    return Y, U, V


def rgb_to_yuv(r, g, b, limited=True):
    """BT.601 YCbCr: limited range (Y 16..235, Cb/Cr 16..240), what camrelay's
    raw frames carry (a JPEG decoded for a raw consumer is compressed to it);
    with limited=False, full range (JFIF), what a JPEG itself holds."""
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    if limited:
        return 16 + y * 219 / 255, 128 + (u - 128) * 224 / 255, 128 + (v - 128) * 224 / 255
    return y, u, v


def bars_error(pixel_at, w, h, limited=True):
    """Largest |difference| between the bars' expected and found YUV values,
    sampled at the centre of each bar. pixel_at(x, y) -> (Y, U, V): camrelay's
    raw output (limited range), or a JPEG's own YCbCr with limited=False."""
    worst = 0
    for i, rgb in enumerate(BARS):
        x, y = (2 * i + 1) * w // 16, h * 3 // 8
        want = rgb_to_yuv(*rgb, limited=limited)
        got = pixel_at(x, y)
        worst = max(worst, max(abs(a - b) for a, b in zip(want, got)))
    return worst


def counter_of(pixel_at, w, h):
    return ptpip_sim.decode_counter(lambda x, y: pixel_at(x, y)[0], w, h)


class RawPipe:
    """rawpipe --header, read on a thread: a list of frames with metadata."""
    HDR = struct.Struct('<IIQqqII')

    def __init__(self, args, keep_pixels=True):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sanitizer_env())
        self.frames = []  # dicts: seq, placeholder, ts_capture, ts_written, w, h, counter, bars, arrival
        self.stderr = []
        self.keep = keep_pixels
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _readn(self, n):
        b = b''
        while len(b) < n:
            c = self.p.stdout.read(n - len(b))
            if not c:
                return None
            b += c
        return b

    def _read(self):
        while True:
            hd = self._readn(self.HDR.size)
            if hd is None:
                return
            magic, flags, seq, tc, tw, w, h = self.HDR.unpack(hd)
            if magic != 0x52465243:
                raise Fail('rawpipe: bad frame header')
            buf = self._readn(w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2))
            if buf is None:
                return
            f = dict(seq=seq, placeholder=bool(flags & 1), ts_capture=tc / 1e9, ts_written=tw / 1e9,
                     w=w, h=h, arrival=time.monotonic())
            if not f['placeholder']:
                px = lambda x, y: i420_pixel(buf, w, h, x, y)  # noqa: E731
                f['counter'] = counter_of(px, w, h)
                f['bars'] = bars_error(px, w, h)
            with self.lock:
                self.frames.append(f)

    def _err(self):
        for line in self.p.stderr:
            line = line.decode(errors='replace').rstrip()
            with self.lock:
                self.stderr.append(line)
            if os.environ.get('CAMTEST_VERBOSE'):
                print('  rawpipe: ' + line, flush=True)

    def snapshot(self):
        with self.lock:
            return list(self.frames), list(self.stderr)

    def wait_frames(self, n, timeout, real=True):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            fr, _ = self.snapshot()
            if sum(1 for f in fr if not real or not f['placeholder']) >= n:
                return True
            time.sleep(0.05)
        return False

    def stats(self):
        _, err = self.snapshot()
        out = [l for l in err if l.startswith('STAT ')]
        if not out:
            return {}
        return dict(kv.split('=', 1) for kv in out[-1].split()[1:] if '=' in kv and not kv.startswith('msg='))

    def stop(self, timeout=15):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail('rawpipe did not stop within %ds of SIGTERM' % timeout)
        time.sleep(0.2)
        return self.p.returncode


class FrameReader:
    """Raw I420 frames of a known size from a consumer's stdout (ffmpeg
    -f rawvideo, GStreamer fdsink), classified on arrival: the simulator's
    picture (bars match: counter read back) or anything else (placeholder)."""

    def __init__(self, proc, w, h, tolerance=16, on_frame=None):
        self.p, self.w, self.h, self.tol = proc, w, h, tolerance
        self.on_frame = on_frame  # called with each raw frame, for other pictures
        self.size = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
        self.frames = []  # (arrival, counter or None)
        self.others = []  # arrivals of frames that are neither bars nor a camrelay placeholder
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        while True:
            buf = b''
            while len(buf) < self.size:
                c = self.p.stdout.read(self.size - len(buf))
                if not c:
                    return
                buf += c
            if self.on_frame:
                self.on_frame(buf)
            px = lambda x, y: i420_pixel(buf, self.w, self.h, x, y)  # noqa: E731
            n = counter_of(px, self.w, self.h) if bars_error(px, self.w, self.h) <= self.tol else None
            # camrelay's placeholders (src/core/placeholder.c): grey 32 with white text.
            other = n is None and not (24 <= buf[2 * self.w + 2] <= 40 and max(buf[0:self.w * self.h:3]) >= 200)
            with self.lock:
                self.frames.append((time.monotonic(), n))
                if other:
                    self.others.append(self.frames[-1][0])

    def snapshot(self):
        with self.lock:
            return list(self.frames)

    def since(self, t):
        return [f for f in self.snapshot() if f[0] >= t]

    def first_real_after(self, t, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for a, n in self.since(t):
                if n is not None:
                    return a
            time.sleep(0.05)
        return None
