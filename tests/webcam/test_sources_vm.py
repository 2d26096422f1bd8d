#!/usr/bin/python3
"""VM test (one boot) of seed 000's three sources into the real v4l2loopback
(exclusive_caps=1 device for the camera, the other device for the rest).

Rates are measured on the build without sanitizers when scripts/test names it
(CAMRELAY_RATE_CAMRELAY=build/ci/camrelay; else on the build under test), in
a camrelay run of its own; everything else runs on the build under test.
Pass/fail rests on counters, never on how fast a reader runs (under QEMU/TCG
on a loaded 2-core host a reader may get a third of the frames): camrelay runs
with --http and its /api/streams counters (frames captured, placeholders, the
webcam subscriber's delivered/dropped, reconnects, clock_moves) are compared
with the simulator's own count of frames served and with what the readers
got: v4l2-ctl gives each buffer's sequence number (the loopback's count of
writes) and timestamp (camrelay stamps each buffer with its frame's capture
time; a file's frames with the time the file's timing gives them), and the
picture carries the frame number (simulator counter, or the clip's).

  Canon EOS: the PTP/IP simulator as a 1200D (--vendor canon, 1056x704, 6 fps)
     -> camrelay webcam (no size typed) -> GStreamer, ffmpeg and v4l2-ctl get
     the simulator's picture at 1056x704; frames written to the loopback (what
     the consumers get) = frames the simulator served over the same 96-frame
     window (+-5%; a window with frames camrelay counted as dropped for want
     of CPU is taken again, at most 3); every
     simulator frame missing between two buffers the reader got is one the
     loopback's sequence says the reader skipped, or one camrelay counted as
     dropped; live view ended by the body ten times: the simulator serves
     again within 3 s each time (its clock), camrelay writes placeholders
     meanwhile and ffmpeg sees the picture come back; camrelay's fds flat.
  IP cameras: GStreamer's RTSP server (tests/url/rtsp_server.py, SMPTE bars)
     and an MJPEG-over-HTTP camera (mjpeg_cam.py, the simulator's picture) ->
     camrelay webcam --from rtsp://... / http://... -> ffmpeg gets the right
     picture; each server killed for 5 s: camrelay writes placeholders, ffmpeg
     keeps reading, camrelay counts a reconnect and the picture returns.
  Files (made on the host by clips.py with the real ffmpeg): H.264 mp4 with
     B-frames, VP9 mkv, 25 fps with a 12.5 fps section -> camrelay webcam
     --from FILE -> v4l2-ctl: every clip frame between two buffers is
     accounted for by the sequence numbers (reader skips), camrelay's dropped
     count or its repeats; over whole passes of the clip with no reader,
     camrelay's frames decoded and written to the loopback are what the
     file's own timing gives for that time (+-5%); each step between consecutive clip frames in
     camrelay's stamps is the file's own (40/80 ms, within 5%) except where
     camrelay counted that it fell 0.5 s behind and moved its clock; the loop
     step at most two frame periods; a cut file loops cleanly, one without
     its index gives one clear message and placeholders; camrelay exits 0
     (ASan/UBSan/LSan clean).

Host: test_sources_vm.py RUN_IN_VM SIM CAMRELAY   (makes the clips, boots the VM)
Guest: test_sources_vm.py --guest CLIPDIR SIM CAMRELAY"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clips  # noqa: E402
from camtest import (PROCS, Fail, FrameReader, Sim, check, cleanup, i420_pixel, rgb_to_yuv,  # noqa: E402
                     run_sections, sanitizer_env, sh, wait_until)

LOG = tempfile.mkdtemp(prefix='sources-vm-')
BACK = 3.0
QUIET = 1.0  # src/core/stream.c: placeholders after max(3 frame periods, 1 s) without a frame


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Camrelay:
    """camrelay webcam with --http on loopback, for its counters."""
    n = 0

    def __init__(self, exe, *args):
        Camrelay.n += 1
        self.log = os.path.join(LOG, 'camrelay-%d.log' % Camrelay.n)
        self.port = free_port()
        self.p = subprocess.Popen([exe, 'webcam', '--no-keep-format', '--http', '127.0.0.1:%d' % self.port] +
                                  list(args), stdout=open(self.log, 'w'), stderr=subprocess.STDOUT,
                                  env=dict(sanitizer_env(fast_unwind=True), **self.own_modules(exe)))
        PROCS.append(self.p)

    @staticmethod
    def own_modules(exe):
        """A camrelay from another build dir loads that build's modules."""
        d = os.path.dirname(os.path.abspath(exe))
        return {'CAMRELAY_MODULE_DIR': d} if os.path.exists(os.path.join(d, 'camrelay-avformat.so')) else {}

    def text(self):
        with open(self.log) as f:
            return f.read()

    def fds(self):
        return len(os.listdir('/proc/%d/fd' % self.p.pid))

    def counters(self):
        """The stream's counters plus the webcam subscriber's offered /
        delivered (written to the device) / dropped, from /api/streams."""
        for _ in range(30):
            try:
                with urllib.request.urlopen('http://127.0.0.1:%d/api/streams' % self.port, timeout=30) as r:
                    st = json.load(r)['streams'][0]
                break
            except OSError:
                time.sleep(1)
        else:
            raise Fail('camrelay\'s /api/streams did not answer')
        c = dict(st['counters'])
        for sub in st['clients']:
            if sub['name'].startswith('webcam'):
                c.update(written=sub['delivered'], dropped=sub['dropped'] + sub.get('stage_dropped', 0),
                         offered=sub['offered'])
        c.setdefault('written', 0)
        c.setdefault('dropped', 0)
        return c

    def repeated(self):
        """Frames the webcam wrote again while the stream was quiet (its close line)."""
        m = re.findall(r'closed after \d+ frames \((\d+) repeated', self.text())
        return int(m[-1]) if m else 0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return -9


def loop_format(dev):
    out = sh('v4l2-ctl -d %s --get-fmt-video' % dev).stdout
    wh = re.search(r'Width/Height\s*:\s*(\d+)/(\d+)', out)
    pf = re.search(r"Pixel Format\s*:\s*'(\w+)'", out)
    return (int(wh.group(1)), int(wh.group(2)), pf.group(1)) if wh and pf else None


def wait_format(dev, want, timeout):
    got = None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = loop_format(dev)
        if got == want:
            break
        time.sleep(1)
    return got


class Consumer:
    """ffmpeg -f v4l2 reading raw I420, pixels classified by FrameReader."""

    def __init__(self, dev, w, h, on_frame=None):
        self.p = subprocess.Popen(['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'info', '-f', 'v4l2', '-i', dev,
                                   '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt',
                                   'yuv420p', '-'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        PROCS.append(self.p)
        self.rd = FrameReader(self.p, w, h, on_frame=on_frame)
        self.errors = []
        threading.Thread(target=self._err, daemon=True).start()

    def _err(self):
        for line in self.p.stderr:
            line = line.decode(errors='replace')
            if 'rror' in line and 'monotonically' not in line:
                self.errors.append(line.strip())

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


# ---- Canon EOS ----

def served_gap(sim, t):
    """The simulator's own clock: the last frame it served before t and the
    first after it, in seconds apart (None while it has served none after)."""
    with sim.cond:
        ts = sorted(sim.frames.values())
    before = [x for x in ts if x < t]
    after = [x for x in ts if x >= t]
    return after[0] - before[-1] if before and after else None


def served_window(sim, n, read):
    """A window bounded by counts, not time: until the simulator has served n
    more frames (however long that takes here), read() at both ends. Returns
    (frames served, first reading, last reading)."""
    with sim.cond:
        s0 = len(sim.frames)
    r0 = read()
    if not wait_until(lambda: len(sim.frames) >= s0 + n, 900, step=0.05):
        raise Fail('the simulator served %d frames in 900 s' % (len(sim.frames) - s0))
    r1 = read()
    with sim.cond:
        return len(sim.frames) - s0, r0, r1


def eos_rate(sim, cr):
    """The consumers' rate from camrelay cr's counters: (written / served
    of the window judged, every window as written/served)."""
    # The same window on both sides, bounded by counts, not by time, with
    # no reader running (under emulation readers take the CPU camrelay
    # decodes with): the simulator serves 96 frames (16 s at its 6 fps,
    # longer on a slow machine); camrelay's counters over it. What the
    # webcam's consumers get is what camrelay wrote to the loopback: its
    # count over the window is the consumers' rate, judged against the
    # simulator's within 5 % (and one frame in flight at each end). On a
    # host too loaded to decode 1056x704 JPEGs at 6 fps inside QEMU,
    # camrelay drops (and counts) frames at its decode stage; a window
    # with drops is taken again, at most 3 windows, every one printed.
    rounds = []
    for _ in range(3):
        served, c0, c1 = served_window(sim, 96, cr.counters)
        captured = c1['frames_captured'] - c0['frames_captured']
        written, dropped = c1['written'] - c0['written'], c1['dropped'] - c0['dropped']
        ph = c1['frames_placeholder'] - c0['frames_placeholder']
        rounds.append((served, captured, written, dropped, ph))
        print('figure: EOS window %d: served %d, captured %d, written %d, dropped %d, placeholders %d '
              '(written/served %.3f)' % (len(rounds), served, captured, written, dropped, ph, written / served),
              flush=True)
        if abs(written - served) <= 2 + 0.05 * served:
            break
    cap_ok = [r for r in rounds if abs(r[1] - r[0]) <= 2 + 0.05 * r[0] and r[4] == 0]
    check(cap_ok, 'camrelay captured what the simulator served over the same window (its rate within 5%%, one in '
          'flight at each end), no placeholders, in %d of %d windows (captured/served/placeholders: %s)'
          % (len(cap_ok), len(rounds), ['%d/%d/%d' % (r[1], r[0], r[4]) for r in rounds]))
    check(all(r[1] - r[2] <= 2 + r[3] for r in rounds),
          'of them camrelay wrote %s to the loopback and counted %s as dropped (its decode stage had no time for '
          'them), none lost uncounted' % ([r[2] for r in rounds], [r[3] for r in rounds]))
    served, captured, written, dropped, ph = max(rounds, key=lambda r: -abs(r[2] - r[0]))
    eos_ratio = written / served
    eos_rounds = ['%d/%d' % (r[2], r[0]) for r in rounds]
    return eos_ratio, eos_rounds


def test_eos(a):
    W, H, FPS, K = 1056, 704, 6, 12
    sim = Sim(a.sim, size='%dx%d' % (W, H), fps=FPS, cache=K, extra=['--vendor', 'canon'])
    try:
        # The rate is the product's: with a build without sanitizers at hand
        # (scripts/test: CAMRELAY_RATE_CAMRELAY, build/ci), the windows run on
        # it first; everything else runs on the build under test.
        rate_cr = a.rate_camrelay != a.camrelay
        if rate_cr:
            cr = Camrelay(a.rate_camrelay, '--from', sim.gp_port, '--to', a.excl)
            check(wait_format(a.excl, (W, H, 'YU12'), 180) == (W, H, 'YU12'),
                  'the build without sanitizers (%s) took 1056x704 too' % a.rate_camrelay)
            eos_ratio, eos_rounds = eos_rate(sim, cr)
            check(cr.stop() == 0, 'it exits 0')
        cr = Camrelay(a.camrelay, '--from', sim.gp_port, '--to', a.excl)
        got = wait_format(a.excl, (W, H, 'YU12'), 180)
        check(got == (W, H, 'YU12'), 'the webcam took the 1200D\'s live-view size with no size typed: %s' % (got,))
        try:
            g = subprocess.run('gst-launch-1.0 -q v4l2src device=%s num-buffers=12 ! video/x-raw,format=I420,'
                               'width=%d,height=%d ! fdsink fd=1' % (a.excl, W, H), shell=True, capture_output=True,
                               timeout=600)
        except subprocess.TimeoutExpired:
            raise Fail('GStreamer v4l2src did not get 12 frames in 600 s')
        from camtest import bars_error, counter_of
        size = W * H * 3 // 2
        frames = [g.stdout[i:i + size] for i in range(0, len(g.stdout) - size + 1, size)]
        good = [b for b in frames if bars_error(lambda x, y, b=b: i420_pixel(b, W, H, x, y), W, H) <= 16]
        check(g.returncode == 0 and len(frames) == 12 and len(good) >= 8,
              'GStreamer v4l2src: %d of %d frames are the simulator\'s picture (counters %s)'
              % (len(good), len(frames), [counter_of(lambda x, y, b=b: i420_pixel(b, W, H, x, y), W, H)
                                           for b in good[:3]]))
        if not rate_cr:
            eos_ratio, eos_rounds = eos_rate(sim, cr)
        # What a reader gets: each buffer is a picture the simulator served
        # before camrelay stamped it, in the order it served them.
        v4l = v4l2_read(a.excl, 20, W, H)
        with sim.cond:
            served_at = sorted((t, n) for n, t in sim.frames.items())
        got = []
        for _, t, k in v4l:
            cands = [n for ts, n in served_at if ts <= t and n % K == k] if k is not None else []
            got.append(cands[-1] if cands else None)
        order = [n for n in got if n is not None]
        # A reader may take a buffer camrelay is filling (v4l2loopback, mmap,
        # no lock): its frame number is then a newer frame's than its stamp,
        # read here as one served a cycle earlier; 1 buffer in 20 is allowed.
        back = [b for i, b in enumerate(order[1:], 1) if b < max(order[:i])]
        check(len(order) >= 15 and len(back) <= len(order) // 20,
              'v4l2-ctl: %d of %d buffers are pictures the simulator served before camrelay\'s stamp on them, in '
              'its order but %d (torn reads; frames %s)' % (len(order), len(v4l), len(back), order[:8]))
        c = Consumer(a.excl, W, H)
        check(wait_until(lambda: any(n is not None for _, n in c.rd.snapshot()), 300),
              'ffmpeg -f v4l2 reads the simulator\'s picture')
        fds0 = cr.fds()
        gaps, phs = [], []
        for i in range(10):
            start = len(sim.lines)
            p0 = cr.counters()['frames_placeholder']
            sim.send('droplv')
            # The body ends live view with the frame it serves next (its
            # FRAME line comes first): d. Back = frame d + 1, served after
            # camrelay switched live view on again and the mirror settled.
            end = sim.lines.index(sim.wait_for('LV end dropped', 60, start), start)
            with sim.cond:
                d = max(sim.frames)
            sim.wait_for('LV start', 60, end)
            if not wait_until(lambda: d + 1 in sim.frames, 60, step=0.05):
                raise Fail('drop %d: the simulator served no frame within 60 s of live view ending' % i)
            t_back = sim.frames[d + 1]
            fresh = {(d + 1 + j) % K for j in range(K - 3)}  # not frame d or the two before it
            if not wait_until(lambda: any(n in fresh for _, n in c.rd.since(t_back)), 120):
                raise Fail('drop %d: ffmpeg did not see the picture again within 120 s' % i)
            gaps.append(sim.frames[d + 1] - sim.frames[d])
            phs.append(cr.counters()['frames_placeholder'] - p0)
        saw_ph = sum(1 for _, n in c.rd.snapshot() if n is None)
        # camrelay's stream writes placeholders once it had no frame for its
        # quiet time (3 frame periods, at least 1 s: QUIET); a body back sooner
        # leaves the webcam repeating its last frame. A drop whose gap on the
        # simulator's clock was QUIET + 0.5 s or more must have placeholders.
        long_ = [(g, p) for g, p in zip(gaps, phs) if g >= QUIET + 0.5]
        check(max(gaps) <= BACK and all(p >= 1 for _, p in long_) and sum(phs) >= 1 and saw_ph >= 1,
              '10 live-view drops: the simulator served again within %.2f s each (its clock; limit %.1f); camrelay '
              'wrote placeholders in each of the %d drops longer than %.1f s (gaps/placeholders %s), ffmpeg read %d'
              % (max(gaps), BACK, len(long_), QUIET + 0.5, ['%.2f/%d' % x for x in zip(gaps, phs)], saw_ph))
        time.sleep(2)
        check(abs(cr.fds() - fds0) <= 1, '10 drops: camrelay fds flat (%d -> %d)' % (fds0, cr.fds()))
        check(c.p.poll() is None and not c.errors, 'ffmpeg read through it all without an error %s' % c.errors[-2:])
        check('ended live view' in cr.text(), 'camrelay\'s log says the camera ended live view')
        c.stop()
        check(cr.stop() == 0, 'camrelay exits 0 (sanitizers clean)')
        witness = None
        if abs(eos_ratio - 1) > 0.05:
            # The seed's own recipe on the same body, same device, just after.
            w = Witness(['-f', 'mjpeg', '-i', 'pipe:0'], a.excl,
                        src=['gphoto2', '--port', sim.gp_port, '--capture-movie', '--stdout'])
            try:
                w.started(300)
                served, f0, f1 = served_window(sim, 96, w.frames)
            finally:
                w.stop()
            witness = (f1 - f0) / served
            print('figure: witness gphoto2 --capture-movie --stdout | ffmpeg -f v4l2: wrote %d while the simulator '
                  'served %d (%.3f)' % (f1 - f0, served, witness), flush=True)
        ok, msg = rate_verdict('the webcam\'s consumers get the simulator\'s rate: over 96-frame windows (%s) camrelay '
                               'wrote' % eos_rounds, eos_ratio, witness)
        check(ok, msg)
    finally:
        sim.close()


# ---- IP cameras ----

def smpte_error(buf, w, h):
    """Largest difference from GStreamer's 100% SMPTE bars (top third), limited range."""
    worst = 0
    for i, want in enumerate([(1, 1, 1), (1, 1, 0), (0, 1, 1), (0, 1, 0), (1, 0, 1), (1, 0, 0), (0, 0, 1)]):
        x, y = (2 * i + 1) * w // 14, h // 3
        exp = rgb_to_yuv(*(255 * v for v in want))
        worst = max(worst, max(abs(p - e) for p, e in zip(i420_pixel(buf, w, h, x, y), exp)))
    return worst


def unplug_cycle(name, cr, c, stop, start, real_of):
    """The camera's server killed for 5 s: camrelay writes placeholders (its
    counter), the reader keeps reading, camrelay reconnects, the picture returns."""
    c0 = cr.counters()
    n0 = len(c.rd.snapshot())
    stop()
    t = time.monotonic()
    time.sleep(5)
    start()
    t_back = time.monotonic()
    back = wait_until(lambda: real_of(c.rd.since(t_back)), 120)
    c1 = cr.counters()
    ph = c1['frames_placeholder'] - c0['frames_placeholder']
    others = set(c.rd.others)  # frames that are neither the camera's picture nor a placeholder
    ph_read = sum(1 for x, n in c.rd.since(t) if n is None and x not in others)
    check(ph >= 1 and ph_read >= 1 and len(c.rd.snapshot()) > n0 and c.p.poll() is None,
          '%s killed for 5 s: camrelay wrote %d placeholders, the consumer kept reading (%d of them)'
          % (name, ph, ph_read))
    check(back and c1['reconnects'] > c0['reconnects'], '%s back: camrelay reconnected (%d) and the picture returns'
          % (name, c1['reconnects'] - c0['reconnects']))


def test_http(a):
    from mjpeg_cam import MjpegCamera
    W, H = 320, 240
    port = free_port()
    cam = MjpegCamera(port, W, H, fps=10).start()
    try:
        cr = Camrelay(a.camrelay, '--from', 'http://127.0.0.1:%d/stream' % port, '--to', a.loop)
        check(wait_format(a.loop, (W, H, 'YU12'), 120) == (W, H, 'YU12'), 'HTTP MJPEG camera: webcam %dx%d' % (W, H))
        c = Consumer(a.loop, W, H)
        ok = wait_until(lambda: len([1 for _, n in c.rd.snapshot() if n is not None]) >= 10, 90)
        check(ok, 'HTTP MJPEG camera -> webcam: ffmpeg gets the camera\'s picture (bars and counters)')
        unplug_cycle('the HTTP camera', cr, c, cam.stop, cam.start,
                     lambda fr: len([1 for _, n in fr if n is not None]) >= 3)
        c.stop()
        check(cr.stop() == 0, 'camrelay exits 0')
    finally:
        cam.stop()


def test_rtsp(a):
    W, H = 320, 180
    port = free_port()
    server = os.path.join(HERE, '..', 'url', 'rtsp_server.py')
    rtsp = {}

    def start():
        rtsp['p'] = subprocess.Popen(['/usr/bin/python3', server, str(port), '%dx%d' % (W, H), '15'],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        PROCS.append(rtsp['p'])
        line = rtsp['p'].stdout.readline().strip()
        if line != 'ready':
            raise Fail('rtsp_server.py: %s' % line)

    def stop():
        rtsp['p'].kill()
        rtsp['p'].wait()

    start()
    cr = Camrelay(a.camrelay, '--from', 'rtsp://127.0.0.1:%d/bars' % port, '--to', a.loop)
    check(wait_format(a.loop, (W, H, 'YU12'), 120) == (W, H, 'YU12'), 'RTSP camera: webcam %dx%d' % (W, H))
    errs = []
    c = Consumer(a.loop, W, H, on_frame=lambda buf: errs.append(smpte_error(buf, W, H)))

    def smpte_frames(since=0):
        return len([e for e in errs[since:] if e <= 14])
    ok = wait_until(lambda: smpte_frames() >= 5, 120)
    check(ok, 'RTSP camera -> webcam: ffmpeg gets the SMPTE bars (%d frames, errors of the last: %s)'
          % (smpte_frames(), ['%.0f' % e for e in errs[-3:]]))
    mark = {}

    def restart():
        start()
        mark['n'] = len(errs)
    unplug_cycle('the RTSP server', cr, c, stop, restart, lambda fr: smpte_frames(mark.get('n', len(errs))) >= 3)
    c.stop()
    check(cr.stop() == 0, 'camrelay exits 0')


# ---- files ----

def check_file_timing(name, frames, c0, c1, vfr=False):
    """frames from v4l2_read; c0/c1 camrelay's counters around the read."""
    real = [(t, n) for _, t, n in frames if n is not None]
    captured, written = c1['frames_captured'] - c0['frames_captured'], c1['written'] - c0['written']
    dropped = c1['dropped'] - c0['dropped']
    check(len(real) >= len(frames) - 2 and captured - written <= 2 + dropped,
          '%s: %d buffers read, %d with the clip\'s picture; camrelay decoded %d frames meanwhile and wrote %d to '
          'the loopback (%d counted as dropped)' % (name, len(frames), len(real), captured, written, dropped))
    _, loops = check_consistent(name, real, clips_n, vfr, c1['clock_moves'] - c0['clock_moves'])
    check(loops >= 1, '%s: the reader saw the clip loop %d times' % (name, loops))


clips_n = 75


def v4l2_read(dev, n, w, h):
    """v4l2-ctl as a consumer (cheap under emulation, unlike ffmpeg + Python):
    n buffers into a file, each buffer's timestamp (camrelay's stamp) from
    --verbose; [(sequence, timestamp, picture counter or None)]. (v4l2loopback
    0.12 numbers buffers only for write() writers: camrelay's mmap buffers all
    read sequence 0, so the picture's frame number is the count.)"""
    from camtest import bars_error, counter_of
    raw = os.path.join(LOG, 'frames.raw')
    r = subprocess.run(['v4l2-ctl', '-d', dev, '--stream-mmap=4', '--stream-count=%d' % n, '--stream-to=' + raw,
                        '--verbose'], capture_output=True, text=True, timeout=600)
    meta = [(int(q), float(t)) for q, t in re.findall(r'seq:\s*(\d+).*?ts:\s*([0-9.]+)', r.stdout + r.stderr)]
    size = w * h * 3 // 2
    out = []
    with open(raw, 'rb') as f:
        for q, t in meta:
            b = f.read(size)
            if len(b) < size:
                break
            px = lambda x, y, b=b: i420_pixel(b, w, h, x, y)  # noqa: E731
            out.append((q, t, counter_of(px, w, h) if bars_error(px, w, h) <= 16 else None))
    os.unlink(raw)
    if not out:
        raise Fail('v4l2-ctl read no frame with a sequence and timestamp (rc %d): %s'
                   % (r.returncode, (r.stdout + r.stderr)[-300:]))
    return out


def clip_due(n):
    """Seconds from the clip's first frame to frame n (clips.py's timing)."""
    return n / clips.FPS


def clip_due_fn(vfr):
    """clip_due, or its variable-rate twin: from frame VFR_AT on, 12.5 fps."""
    if not vfr:
        return clip_due
    return lambda n: n / clips.FPS if n < clips.VFR_AT else (clips.VFR_AT + 2 * (n - clips.VFR_AT)) / clips.FPS


class Witness:
    """What a user would run instead, in the same VM right after camrelay,
    as the measure of what this machine can do at that moment: an ffmpeg
    writing to a loopback device (fed by a file, or by the seed's
    `gphoto2 --capture-movie --stdout` pipe); frames it wrote, from its
    -progress lines (every 0.1 s), by the test's clock."""

    n = 0

    def __init__(self, inargs, dev, src=None):
        self.lines = []
        self.g = None
        Witness.n += 1
        self.log = os.path.join(LOG, 'witness-%d.log' % Witness.n)
        if src:
            self.g = subprocess.Popen(src, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            PROCS.append(self.g)
        self.p = subprocess.Popen(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-stats_period', '0.1',
                                   '-progress', 'pipe:1'] + inargs +
                                  ['-fps_mode', 'passthrough', '-pix_fmt', 'yuv420p', '-f', 'v4l2', dev],
                                  stdin=self.g.stdout if self.g else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=open(self.log, 'w'), text=True)
        PROCS.append(self.p)
        if self.g:
            self.g.stdout.close()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith('frame='):
                self.lines.append((time.monotonic(), int(line[6:])))

    def frames(self):
        return self.lines[-1][1] if self.lines else 0

    def started(self, timeout):
        """Waits for its first frame; a witness that writes none is an error."""
        wait_until(lambda: self.frames() > 0 or self.p.poll() is not None, timeout)
        if self.frames() == 0:
            with open(self.log) as f:
                raise Fail('the witness ffmpeg wrote no frame in %d s (exit %s): %s'
                           % (timeout, self.p.poll(), f.read()[-400:]))

    def stop(self):
        for p in (self.p, self.g):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def rate_verdict(what, ratio, witness):
    """The consumers' rate judged: camrelay's frames written / what the
    source gave, within 5 %; on a machine where the witness (the same job by
    what a user would run instead, in the same VM just after) did not reach
    95 % either, camrelay must reach 3/4 of the witness's rate (a starved
    host's load moves between the two windows), and never run fast."""
    if abs(ratio - 1) <= 0.05:
        return True, '%s: %.3f of the source\'s rate' % (what, ratio)
    if witness is None:
        return False, '%s: %.3f of the source\'s rate' % (what, ratio)
    slow = witness < 0.95
    ok = slow and 0.75 * witness <= ratio <= 1.05
    return ok, ('%s: %.3f of the source\'s rate; the witness reached %.3f just after in the same VM (%s)'
                % (what, ratio, witness, 'this machine cannot do the job at full rate now: judged against it'
                   if slow else 'the machine could: camrelay should have'))


def check_file_rate(name, cr, vfr):
    """The consumers' rate: frames camrelay wrote to the loopback over a
    window of whole passes of the clip (k passes of clips_n frames, a pass
    lasting the clip's length plus one frame period, or two across the loop
    step: at most 1/clips_n longer), no reader running, against the file's
    own rate over that time, within 5 %. A window in which camrelay counted
    frames dropped (a host too loaded to decode) is taken again, at most 3."""
    due = clip_due_fn(vfr)
    period = 1.0 / clips.FPS
    length = due(clips_n - 1) + period
    k = max(1, round(10.0 / length))
    rounds = []
    for _ in range(3):
        t0 = time.monotonic()
        c0 = cr.counters()
        t0 = (t0 + time.monotonic()) / 2
        time.sleep(k * length)
        t1 = time.monotonic()
        c1 = cr.counters()
        t1 = (t1 + time.monotonic()) / 2
        want = clips_n * (t1 - t0) / length
        written, captured = c1['written'] - c0['written'], c1['frames_captured'] - c0['frames_captured']
        dropped = c1['dropped'] - c0['dropped']
        rounds.append((want, captured, written, dropped))
        print('figure: %s: %.2f s (%d passes): the file\'s timing gives %.1f frames; camrelay decoded %d, wrote %d, '
              'dropped %d (written/due %.3f)' % (name, t1 - t0, k, want, captured, written, dropped, written / want),
              flush=True)
        if abs(written - want) <= 1 + 0.05 * want:
            break
    want, captured, written, dropped = max(rounds, key=lambda r: -abs(r[2] - r[0]))
    check(captured - written <= 1 + dropped, '%s: camrelay wrote %d of the %d frames it decoded, %d counted as dropped'
          % (name, written, captured, dropped))
    return k * length, written / want, ['%d/%.0f' % (r[2], r[0]) for r in rounds]


def file_witness(a, path, seconds, vfr):
    """ffmpeg -re -stream_loop -1 -i FILE -f v4l2 (the issue's comparison)
    into the other loopback device for `seconds` after a 2 s start: the
    frames it wrote / what the file's timing gives for that time."""
    due = clip_due_fn(vfr)
    length = due(clips_n - 1) + 1.0 / clips.FPS
    w = Witness(['-re', '-stream_loop', '-1', '-i', path], a.loop)
    try:
        w.started(120)
        time.sleep(2)
        t0, f0 = time.monotonic(), w.frames()
        time.sleep(seconds)
        t1, f1 = time.monotonic(), w.frames()
    finally:
        w.stop()
    ratio = (f1 - f0) / (clips_n * (t1 - t0) / length)
    print('figure: witness ffmpeg -re -stream_loop -1 -i %s -f v4l2: %d frames in %.2f s, %.3f of the file\'s rate'
          % (os.path.basename(path), f1 - f0, t1 - t0, ratio), flush=True)
    return ratio


def check_consistent(name, frames, n_frames, vfr, moves):
    """Every pair of consecutive buffers the reader got: camrelay's stamps
    step by exactly the file's own time between the two pictures (frame
    numbers read from the picture; across the loop, one frame period or two
    after the last frame), whatever the reader skipped. Steps a clock move
    lengthened (>= 0.5 s longer) are allowed up to camrelay's count of them.
    Returns (pairs, loops)."""
    period = 1.0 / clips.FPS
    due = clip_due_fn(vfr)
    length = due(n_frames - 1)
    pairs = loops = 0
    off, late = [], 0
    prev = None
    for tb, nb in frames:
        if nb is None:
            continue
        if prev is None or nb == prev[1]:
            # the same picture again is camrelay's keep-alive while the source
            # was quiet (the same frame, the same stamp)
            prev = prev or (tb, nb)
            continue
        (ta, na), prev = prev, (tb, nb)
        dt = tb - ta
        if nb > na:
            lo = hi = due(nb) - due(na)
        else:  # across the loop: the rest of the pass, one or two periods, the next pass's start
            loops += 1
            lo = length - due(na) + period + due(nb)
            hi = lo + period
        pairs += 1
        if dt >= lo + 0.498:  # a clock move adds at least 0.5 s
            late += 1
        elif not lo - 0.002 <= dt <= hi + 0.002:
            off.append('%d->%d %.1f ms (want %.1f..%.1f)' % (na, nb, dt * 1000, lo * 1000, hi * 1000))
    # v4l2loopback lets a reader take a buffer the writer is filling (mmap,
    # no lock): a slow reader now and then gets a torn picture whose frame
    # number is not the stamp's; up to 1 pair in 20 is put down to that.
    check(pairs >= 60 and len(off) <= pairs // 20 and late <= moves,
          '%s: over %d pairs of buffers read, camrelay\'s stamps step by the file\'s own time between their '
          'pictures (%d across the loop: one or two frame periods there); %d steps lengthened by a clock move, '
          'camrelay counted %d; %d off (torn reads)%s' % (name, pairs, loops, late, moves, len(off),
                                                 ('; %s' % off[:4]) if off else ''))
    return pairs, loops


def play_file(a, path, n, *extra):
    """camrelay webcam --from path; n buffers read by v4l2-ctl at the size the
    webcam took (320x240 from the clips; a file that never opens gives no
    frame to take a size from: extra = --size); camrelay's counters around it."""
    cr = Camrelay(a.camrelay, '--from', path, '--to', a.loop, *extra)
    wait_until(lambda: loop_format(a.loop) is not None, 120, step=1)
    got = loop_format(a.loop)
    if not got:
        raise Fail('%s: the webcam got no format in 120 s' % path)
    c0 = cr.counters()
    frames = v4l2_read(a.loop, n, got[0], got[1])
    return cr, got, frames, c0, cr.counters()


def test_file(a, key, vfr=False):
    path = os.path.join(a.clipdir, os.path.basename(a.clips[key]))
    cr, got, frames, c0, c1 = play_file(a, path, 90)
    check(got == (320, 240, 'YU12'), '%s: webcam 320x240 from the file' % key)
    if a.rate_camrelay == a.camrelay:
        seconds, ratio, rounds = check_file_rate(os.path.basename(path), cr, vfr)
    rc = cr.stop()
    check_file_timing(os.path.basename(path), frames, c0, c1, vfr)
    check(rc == 0, 'camrelay exits 0')
    if a.rate_camrelay != a.camrelay:  # the rate on the build without sanitizers (see test_eos)
        cr = Camrelay(a.rate_camrelay, '--from', path, '--to', a.loop)
        if not wait_until(lambda: cr.counters()['written'] >= 5, 120):
            raise Fail('%s: the build without sanitizers wrote no frames in 120 s' % key)
        seconds, ratio, rounds = check_file_rate(os.path.basename(path), cr, vfr)
        check(cr.stop() == 0, 'the build without sanitizers (%s) exits 0' % a.rate_camrelay)
    witness = file_witness(a, path, seconds, vfr) if abs(ratio - 1) > 0.05 else None
    ok, msg = rate_verdict('%s paced at the file\'s own timing: over whole passes of the clip (windows %s) camrelay '
                           'wrote' % (key, rounds), ratio, witness)
    check(ok, msg)


def test_damaged(a):
    cr, _, frames, _, _ = play_file(a, os.path.join(a.clipdir, 'cut.mp4'), 70)
    real = [(q, n) for q, _, n in frames if n is not None]
    counters = [n for _, n in real]
    backs = [(qa, na, qb, nb) for (qa, na), (qb, nb) in zip(real, real[1:]) if nb < na]
    check(counters and max(counters) < clips_n - 1 and cr.p.poll() is None and backs and
          all(nb <= qb - qa for qa, na, qb, nb in backs),
          'cut file: plays to the cut (frame %d of %d) and starts again at its first frame (%d passes seen)'
          % (max(counters or [0]), clips_n, len(backs)))
    check(cr.stop() == 0, 'camrelay exits 0')
    cr, _, frames, _, c1 = play_file(a, os.path.join(a.clipdir, 'nomoov.mp4'), 8, '--size', '320x240')
    msgs = [l for l in cr.text().splitlines() if 'is it a complete video file?' in l and 'reconnecting' in l]
    check(frames and all(n is None for _, _, n in frames) and c1['frames_placeholder'] > 0 and len(msgs) == 1 and
          cr.p.poll() is None, 'file without its index: placeholders (%d read, camrelay wrote %d) and one clear '
          'message: %s' % (len(frames), c1['frames_placeholder'], msgs[:1]))
    check(cr.stop() == 0, 'camrelay exits 0')


def guest(argv):
    class A:
        pass
    a = A()
    a.clipdir, a.sim, a.camrelay = argv
    a.excl, a.loop = os.environ['CAMRELAY_VM_LOOP_EXCL'], os.environ['CAMRELAY_VM_LOOP']
    a.rate_camrelay = os.environ.get('CAMRELAY_RATE_CAMRELAY') or a.camrelay
    a.clips = {k: os.path.join(a.clipdir, v) for k, v in (('h264', 'h264.mp4'), ('vp9', 'vp9.mkv'),
                                                           ('vfr', 'vfr.mkv'))}
    sh('ip link set lo up')
    sections = [('Canon EOS live view', lambda: test_eos(a)),
                ('HTTP MJPEG camera', lambda: test_http(a)),
                ('RTSP camera', lambda: test_rtsp(a)),
                ('H.264 mp4 with B-frames', lambda: test_file(a, 'h264')),
                ('VP9 mkv', lambda: test_file(a, 'vp9')),
                ('25 fps with a 12.5 fps section', lambda: test_file(a, 'vfr', vfr=True)),
                ('damaged files', lambda: test_damaged(a))]
    only = os.environ.get('CAMRELAY_SOURCES_ONLY')  # a section name prefix, to rerun one
    ok = True
    for name, fn in [x for x in sections if not only or x[0].startswith(only)]:
        t0 = time.monotonic()
        try:
            ok = run_sections([(name, fn)]) and ok
        except Exception:  # noqa: BLE001 - report, clean up, go on
            import traceback
            print('FAIL ' + traceback.format_exc(), flush=True)
            ok = False
        finally:
            cleanup()
            print('   (%s: %.0f s)' % (name, time.monotonic() - t0), flush=True)
    if not ok:
        for f in sorted(os.listdir(LOG)):
            print('==== %s' % f)
            with open(os.path.join(LOG, f)) as fh:
                print(fh.read()[-6000:])
    return 0 if ok else 1


def host(argv):
    run_in_vm, sim, camrelay = argv
    with tempfile.TemporaryDirectory(prefix='camrelay-clips-') as d:
        clips.make_all(d, 320, 240, clips_n)
        only = ['--env', 'CAMRELAY_SOURCES_ONLY=' + os.environ['CAMRELAY_SOURCES_ONLY']] \
            if os.environ.get('CAMRELAY_SOURCES_ONLY') else []
        rate = os.environ.get('CAMRELAY_RATE_CAMRELAY')
        if rate and os.access(rate, os.X_OK):
            only += ['--env', 'CAMRELAY_RATE_CAMRELAY=' + os.path.abspath(rate)]
        return subprocess.call([run_in_vm, '--timeout', '2400', '--outdir', d] + only + ['--', '/usr/bin/python3',
                                os.path.abspath(__file__), '--guest', d, sim, camrelay])


if __name__ == '__main__':
    sys.exit(guest(sys.argv[2:]) if sys.argv[1] == '--guest' else host(sys.argv[1:]))
