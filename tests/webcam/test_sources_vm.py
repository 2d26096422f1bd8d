#!/usr/bin/python3
"""VM test (one boot) of seed 000's three sources into the real v4l2loopback
(exclusive_caps=1 device for the camera, the other device for the rest):

  Canon EOS: the PTP/IP simulator as a 1200D (--vendor canon, 1056x704, 6 fps)
     -> camrelay webcam (no size typed) -> ffmpeg and GStreamer consumers get
     the simulator's picture at 1056x704 and its rate +-5%; live view ended by
     the body ten times comes back within 3 s each time with placeholder frames
     meanwhile; camrelay's fds flat.
  IP cameras: GStreamer's RTSP server (tests/url/rtsp_server.py, SMPTE bars)
     and an MJPEG-over-HTTP camera (mjpeg_cam.py, the simulator's picture) ->
     camrelay webcam --from rtsp://... / http://... -> ffmpeg gets the right
     picture; each server killed for 5 s: placeholders meanwhile, the picture
     returns.
  Files (made on the host by clips.py with the real ffmpeg): H.264 mp4 with
     B-frames, VP9 mkv, 25 fps with a 12.5 fps section -> camrelay webcam
     --from FILE -> v4l2-ctl (the cheapest consumer under emulation): every
     frame in order, the frame timing (v4l2 buffer timestamps) +-5% per
     section (median), the loop step at most two frame periods; a cut file loops cleanly, one without its index gives one clear
     message and placeholders; camrelay exits 0 (ASan/UBSan/LSan clean).

Host: test_sources_vm.py RUN_IN_VM SIM CAMRELAY   (makes the clips, boots the VM)
Guest: test_sources_vm.py --guest CLIPDIR SIM CAMRELAY"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clips  # noqa: E402
from camtest import Fail, FrameReader, Sim, check, i420_pixel, rgb_to_yuv, run_sections, sanitizer_env  # noqa: E402

LOG = tempfile.mkdtemp(prefix='sources-vm-')
PROCS = []
BACK = 3.0


def sh(cmd, timeout=30):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)


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


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Camrelay:
    n = 0

    def __init__(self, exe, *args):
        Camrelay.n += 1
        self.log = os.path.join(LOG, 'camrelay-%d.log' % Camrelay.n)
        self.p = subprocess.Popen([exe, 'webcam', '--no-keep-format'] + list(args), stdout=open(self.log, 'w'),
                                  stderr=subprocess.STDOUT, env=sanitizer_env())
        PROCS.append(self.p)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def fds(self):
        return len(os.listdir('/proc/%d/fd' % self.p.pid))

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


def real_gaps(frames, since):
    """Largest step between consecutive real frames after `since`, and the
    placeholders inside it."""
    worst, ph_in_worst, last, ph = 0.0, 0, None, 0
    for a, n in frames:
        if a < since:
            continue
        if n is None:
            ph += 1
            continue
        if last is not None and a - last > worst:
            worst, ph_in_worst = a - last, ph
        last, ph = a, 0
    return worst, ph_in_worst


# ---- Canon EOS ----

def test_eos(a):
    W, H, FPS, K = 1056, 704, 6, 12
    sim = Sim(a.sim, size='%dx%d' % (W, H), fps=FPS, cache=K, extra=['--vendor', 'canon'])
    try:
        cr = Camrelay(a.camrelay, '--from', sim.gp_port, '--to', a.excl)
        got = wait_format(a.excl, (W, H, 'YU12'), 180)
        check(got == (W, H, 'YU12'), 'the webcam took the 1200D\'s live-view size with no size typed: %s' % (got,))
        try:
            g = subprocess.run('gst-launch-1.0 -q v4l2src device=%s num-buffers=24 ! video/x-raw,format=I420,'
                               'width=%d,height=%d ! fdsink fd=1' % (a.excl, W, H), shell=True, capture_output=True,
                               timeout=300)
        except subprocess.TimeoutExpired:
            raise Fail('GStreamer v4l2src did not get 24 frames in 300 s')
        from camtest import bars_error, counter_of
        size = W * H * 3 // 2
        frames = [g.stdout[i:i + size] for i in range(0, len(g.stdout) - size + 1, size)]
        good = [b for b in frames if bars_error(lambda x, y, b=b: i420_pixel(b, W, H, x, y), W, H) <= 16]
        check(g.returncode == 0 and len(frames) == 24 and len(good) >= 16,
              'GStreamer v4l2src: %d of %d frames are the simulator\'s picture (counters %s)'
              % (len(good), len(frames), [counter_of(lambda x, y, b=b: i420_pixel(b, W, H, x, y), W, H)
                                           for b in good[:3]]))
        c = Consumer(a.excl, W, H)
        wait_until(lambda: len(c.rd.snapshot()) >= 1, 60)
        time.sleep(14)
        real = [(t, n) for t, n in c.rd.snapshot() if n is not None]
        # How many depends on how fast the emulated guest runs the simulator
        # (the rate check compares with what it served).
        check(len(real) >= 15, 'ffmpeg -f v4l2 reads the simulator\'s picture (%d frames)' % len(real))
        body = real[len(real) // 4:]
        ours = (len(body) - 1) / (body[-1][0] - body[0][0])
        theirs = sim.rate_between(body[0][0], body[-1][0])  # checked last: the drops below say more
        fds0 = cr.fds()
        worst, ph_min = 0.0, 99
        for i in range(10):
            start = len(sim.lines)
            t = time.monotonic()
            sim.send('droplv')
            sim.wait_for('LV end dropped', 10, start)
            n_real = len([1 for _, n in c.rd.since(t) if n is not None])
            if not wait_until(lambda: len([1 for _, n in c.rd.since(t) if n is not None]) >= n_real + 4, 20):
                raise Fail('drop %d: the picture did not come back within 20 s' % i)
            gap, ph = real_gaps(c.rd.snapshot(), t)
            worst, ph_min = max(worst, gap), min(ph_min, ph)
        check(worst <= BACK and ph_min >= 1, '10 live-view drops: back within %.2f s each (limit %.1f), %d or more '
              'placeholder frames meanwhile' % (worst, BACK, ph_min))
        time.sleep(2)
        check(abs(cr.fds() - fds0) <= 1, '10 drops: camrelay fds flat (%d -> %d)' % (fds0, cr.fds()))
        check(c.p.poll() is None and not c.errors, 'ffmpeg read through it all without an error %s' % c.errors[-2:])
        check('ended live view' in cr.text(), 'camrelay\'s log says the camera ended live view')
        c.stop()
        check(cr.stop() == 0, 'camrelay exits 0 (sanitizers clean)')
        check(abs(ours / theirs - 1) <= 0.05, 'ffmpeg got %.2f fps = the simulator\'s %.2f fps within 5%%'
              % (ours, theirs))
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


def unplug_cycle(name, c, stop, start, real_of):
    n0 = len(c.rd.snapshot())
    stop()
    t = time.monotonic()
    time.sleep(5)
    during = [f for f in c.rd.since(t + 1.5)]
    start()
    t_back = time.monotonic()
    back = wait_until(lambda: real_of(c.rd.since(t_back)), 30)
    ph = sum(1 for _, n in during if n is None)
    check(ph >= 5 and len(c.rd.snapshot()) > n0, '%s killed for 5 s: the consumer kept reading, %d placeholders'
          % (name, ph))
    check(back, '%s back: the picture returns (%.1f s after the server)' % (name, time.monotonic() - t_back))


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
        unplug_cycle('the HTTP camera', c, cam.stop, cam.start,
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
    unplug_cycle('the RTSP server', c, stop, restart, lambda fr: smpte_frames(mark.get('n', len(errs))) >= 3)
    c.stop()
    check(cr.stop() == 0, 'camrelay exits 0')


# ---- files ----

def check_file_timing(name, frames, vfr=False):
    real = [(t, n) for t, n in frames if n is not None]
    counters = [n for _, n in real]
    steps = [(b - a) % clips_n for a, b in zip(counters, counters[1:])]
    # v4l2loopback (2 buffers) lets a reader that falls behind skip ahead, and
    # hands a buffer again now and then; under emulation on a loaded host the
    # reader does fall behind: skips and repeats are counted, order is checked.
    missed, repeats = sum(s - 1 for s in steps if s > 0), steps.count(0)
    check(len(real) >= 60 and all(s < clips_n // 2 for s in steps) and missed <= len(real) * 2 // 5,
          '%s: %d frames in order, %d loops (%d skipped and %d repeated by the reader)'
          % (name, len(real), counters.count(0), missed, repeats))
    period = 1.0 / clips.FPS
    sections = {}
    for (ta, na), (tb, nb) in zip(real, real[1:]):
        if nb == (na + 1) % clips_n and nb != 0:
            sections.setdefault(2 * period if vfr and na >= clips.VFR_AT else period, []).append(tb - ta)
    for want, got in sorted(sections.items()):
        med = sorted(got)[len(got) // 2]
        check(abs(med / want - 1) <= 0.05, '%s: %d frame intervals of %.0f ms at the consumer, median %.1f ms '
              '(within 5%%)' % (name, len(got), want * 1000, med * 1000))
    wraps = [tb - ta for (ta, na), (tb, nb) in zip(real, real[1:]) if nb == 0 and na == clips_n - 1]
    check(wraps and max(wraps) <= 2 * period + 0.004, '%s: looped %d times, the longest step at the loop %.0f ms '
          '(at most %.0f ms)' % (name, len(wraps), 1000 * max(wraps or [0]), 2000 * period))


clips_n = 75


def v4l2_read(dev, n, w, h):
    """v4l2-ctl as the consumer of a file's frames (cheap under emulation, unlike
    ffmpeg + Python): n buffers into a file, their timestamps from --verbose;
    (buffer time, counter or None) per frame."""
    from camtest import bars_error, counter_of
    raw = os.path.join(LOG, 'frames.raw')
    r = subprocess.run(['v4l2-ctl', '-d', dev, '--stream-mmap=4', '--stream-count=%d' % n, '--stream-to=' + raw,
                        '--verbose'], capture_output=True, text=True, timeout=120)
    ts = [float(t) for t in re.findall(r'seq:\s*\d+.*?ts:\s*([0-9.]+)', r.stdout + r.stderr)]
    size = w * h * 3 // 2
    with open(raw, 'rb') as f:
        data = f.read()
    os.unlink(raw)
    out = []
    for i, t in enumerate(ts[:len(data) // size]):
        b = data[i * size:(i + 1) * size]
        px = lambda x, y, b=b: i420_pixel(b, w, h, x, y)  # noqa: E731
        out.append((t, counter_of(px, w, h) if bars_error(px, w, h) <= 16 else None))
    if not out:
        raise Fail('v4l2-ctl read no frame with a timestamp (rc %d): %s' % (r.returncode, (r.stdout + r.stderr)[-300:]))
    return out


def play_file(a, path, n):
    """camrelay webcam --from path; n frames read at the size the webcam took
    (320x240 from the clips; a file that never opens gives placeholders at
    camrelay's default size)."""
    cr = Camrelay(a.camrelay, '--from', path, '--to', a.loop)
    wait_until(lambda: loop_format(a.loop) is not None, 120, step=1)
    got = loop_format(a.loop)
    if not got:
        raise Fail('%s: the webcam got no format in 120 s' % path)
    time.sleep(1)
    return cr, got, v4l2_read(a.loop, n, got[0], got[1])


def test_file(a, key, vfr=False):
    path = os.path.join(a.clipdir, os.path.basename(a.clips[key]))
    cr, got, frames = play_file(a, path, 200)
    check(got == (320, 240, 'YU12'), '%s: webcam 320x240 from the file' % key)
    check_file_timing(os.path.basename(path), frames, vfr)
    check(cr.stop() == 0, 'camrelay exits 0')


def test_damaged(a):
    cr, _, frames = play_file(a, os.path.join(a.clipdir, 'cut.mp4'), 150)
    counters = [n for _, n in frames if n is not None]
    steps = [b - a for a, b in zip(counters, counters[1:]) if b != 0]
    check(counters and counters.count(0) >= 2 and max(counters) < clips_n - 1 and cr.p.poll() is None and
          all(0 <= s < clips_n // 2 for s in steps),
          'cut file: plays to the cut (frame %d) and loops (%d passes)' % (max(counters or [0]), counters.count(0)))
    check(cr.stop() == 0, 'camrelay exits 0')
    cr, _, frames = play_file(a, os.path.join(a.clipdir, 'nomoov.mp4'), 40)
    msgs = [l for l in cr.text().splitlines() if 'is it a complete video file?' in l and 'reconnecting' in l]
    check(frames and all(n is None for _, n in frames) and len(msgs) == 1 and cr.p.poll() is None,
          'file without its index: placeholders (%d) and one clear message: %s' % (len(frames), msgs[:1]))
    check(cr.stop() == 0, 'camrelay exits 0')


def guest(argv):
    class A:
        pass
    a = A()
    a.clipdir, a.sim, a.camrelay = argv
    a.excl, a.loop = os.environ['CAMRELAY_VM_LOOP_EXCL'], os.environ['CAMRELAY_VM_LOOP']
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
        try:
            ok = run_sections([(name, fn)]) and ok
        except Exception:  # noqa: BLE001 - report, clean up, go on
            import traceback
            print('FAIL ' + traceback.format_exc(), flush=True)
            ok = False
        finally:
            cleanup()
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
        return subprocess.call([run_in_vm, '--timeout', '2400', '--outdir', d] + only + ['--', '/usr/bin/python3',
                                os.path.abspath(__file__), '--guest', d, sim, camrelay])


if __name__ == '__main__':
    sys.exit(guest(sys.argv[2:]) if sys.argv[1] == '--guest' else host(sys.argv[1:]))
