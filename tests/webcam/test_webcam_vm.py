#!/usr/bin/python3
"""VM test (run through tests/vm/run-in-vm): the real v4l2loopback module.

The PTP/IP simulator (a Nikon in live view) -> camrelay webcam (gphoto2
source, libgphoto2 over TCP on 127.0.0.1) -> v4l2loopback (exclusive_caps=1)
-> real consumers: ffmpeg -f v4l2 and GStreamer v4l2src, whose frames are
checked against the simulator's picture (colour bars, frame counter) and rate.
Then: camrelay restarted under a running consumer, a consumer started before
camrelay (keep_format) and camrelay killed under it (the "not running"
timeout image), the camera unplugged and asleep for 5 s, shortened cycles with fd and memory counts, vivid's HDMI input
changing size under the webcam, and bad inputs.

Usage (inside the VM): test_webcam_vm.py SIM CAMRELAY"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camtest import PROCS, Fail, FrameReader, Sim, check, cleanup, sanitizer_env, sh, wait_until  # noqa: E402

SIM, CAMRELAY = sys.argv[1], sys.argv[2]
EXCL = os.environ['CAMRELAY_VM_LOOP_EXCL']  # exclusive_caps=1, as Chrome needs
LOOP = os.environ['CAMRELAY_VM_LOOP']       # exclusive_caps=0
VIVID = os.environ['CAMRELAY_VM_VIVID_CAP']
VIVID_OUT = os.environ['CAMRELAY_VM_VIVID_OUT']
W, H, FPS, K = 320, 240, 6, 40  # small, slow, K pre-rendered pictures: the VM runs ~10x slower (TCG)
# Picture back after the camera returns: within 3 s (the brief), for sleep and
# unplug alike (the stream core's reconnect backoff is capped at 1 s,
# src/core/stream.c).
BACK_SLEEP, BACK_UNPLUG = 3.0, 3.0
LOG = tempfile.mkdtemp(prefix='webcam-vm-')


class Camrelay:
    n = 0

    def __init__(self, *args):
        Camrelay.n += 1
        self.log = os.path.join(LOG, 'camrelay-%d.log' % Camrelay.n)
        self.p = subprocess.Popen([CAMRELAY, 'webcam'] + list(args), stdout=open(self.log, 'w'),
                                  stderr=subprocess.STDOUT, env=sanitizer_env())
        PROCS.append(self.p)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def fds(self):
        return len(os.listdir('/proc/%d/fd' % self.p.pid))

    def rss_kb(self):
        with open('/proc/%d/status' % self.p.pid) as f:
            return int(re.search(r'VmRSS:\s+(\d+)', f.read()).group(1))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            # Under ASan, LeakSanitizer's exit check over libgphoto2's leaks
            # takes seconds, and tens of them under TCG on a busy host.
            return self.p.wait(90)
        except subprocess.TimeoutExpired:
            # Hung on the way out: where, for the log printed on failure.
            bt = sh('gdb -p %d -batch -ex "thread apply all bt" 2>&1' % self.p.pid, timeout=120).stdout
            with open(self.log, 'a') as f:
                f.write('\n==== still running 90 s after SIGTERM; threads:\n' + bt[-6000:])
            self.p.kill()
            self.p.wait()
            return -9


def loop_format(dev):
    out = sh('v4l2-ctl -d %s --get-fmt-video' % dev).stdout
    wh = re.search(r'Width/Height\s*:\s*(\d+)/(\d+)', out)
    pf = re.search(r"Pixel Format\s*:\s*'(\w+)'", out)
    return (int(wh.group(1)), int(wh.group(2)), pf.group(1)) if wh and pf else None


def wait_format(dev, want, timeout):
    """Polls with v4l2-ctl, which opens the device: a slow poll leaves it
    closed most of the time (camrelay needs that to take back a kept format)."""
    end = time.monotonic() + timeout
    got = None
    while time.monotonic() < end:
        got = loop_format(dev)
        if got == want:
            return got
        time.sleep(1)
    return got


def ffmpeg(dev, w, h):
    p = subprocess.Popen(['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'warning', '-f', 'v4l2', '-i', dev,
                          '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'rawvideo', '-pix_fmt',
                          'yuv420p', '-'],
                         stdout=subprocess.PIPE, stderr=open(os.path.join(LOG, 'ffmpeg-%s.log' % dev[-2:]), 'w'))
    PROCS.append(p)
    return p, FrameReader(p, w, h)


def ffmpeg_errors(dev):
    """What ffmpeg said about the device (v4l2 input); muxer timestamp
    remarks on our raw output are not about the webcam."""
    out, skip = [], False
    with open(os.path.join(LOG, 'ffmpeg-%s.log' % dev[-2:])) as f:
        for line in f.read().splitlines():
            # (ffmpeg's "Last message repeated N times" follows the remark it repeats)
            if 'monotonically increasing dts' in line or (skip and 'Last message repeated' in line):
                skip = True
                continue
            skip = False
            out.append(line)
    return '\n'.join(out).strip()


def camrelay_says(args, want):
    r = sh('%s webcam %s' % (CAMRELAY, args), timeout=120)
    line = [l for l in r.stderr.splitlines() if l.startswith('camrelay webcam:')]
    return r.returncode == 1 and line and want in line[0], (line or [r.stderr[-200:]])[0]


def test_bad_inputs(sim_fail):
    ok, line = camrelay_says('--from test --to /dev/video99', 'does not exist; load v4l2loopback: sudo modprobe')
    check(ok, 'nonexistent device: exit 1, "%s"' % line)
    ok, line = camrelay_says('--from test --to %s' % VIVID_OUT, 'is not a v4l2loopback device (driver "vivid")')
    check(ok, 'not a loopback: exit 1, "%s"' % line)
    ok, line = camrelay_says('--from test --to no-such-label', 'no v4l2loopback device with card label')
    check(ok, 'unknown card label: exit 1, "%s"' % line)
    # A camera that errors on every call: camrelay keeps the webcam alive with
    # placeholders and says once what is wrong.
    cr = Camrelay('--from', sim_fail.gp_port, '--to', LOOP, '--size', '%dx%d' % (W, H))
    fmt = wait_format(LOOP, (W, H, 'YU12'), 20)
    p, rd = ffmpeg(LOOP, W, H)
    wait_until(lambda: len(rd.snapshot()) >= 5, 60)
    fr = rd.snapshot()
    check(len(fr) >= 5 and all(n is None for _, n in fr),
          'failing camera: the webcam (%s) shows placeholders (%d frames)' % (fmt, len(fr)))
    # One message, the same at every retry (under emulation the camera's
    # start outlasts open()'s wait, so each retry logs it again).
    # (Lines are matched loosely: log lines of several threads can interleave.)
    want = 'refuses to open a session (PTP General Error); switch it off and on'
    wait_until(lambda: want in cr.text(), 180)  # the camera's first answer can take long under TCG
    text = cr.text()
    check(want in text and 'source stopped' not in text,
          'failing camera: the message says what to do (%d times): ...%s...' % (text.count(want), want))
    check(cr.p.poll() is None, 'failing camera: camrelay keeps retrying (still running)')
    check(cr.stop() == 0, 'camrelay exits 0 on SIGTERM')


def test_main(sim):
    gp = sim.gp_port
    check(loop_format(EXCL) is None, 'before camrelay the exclusive_caps device offers no capture format')
    cr = Camrelay('--from', gp, '--to', EXCL)
    got = wait_format(EXCL, (W, H, 'YU12'), 150)
    check(got == (W, H, 'YU12'), 'camrelay set the loopback to the camera\'s live-view size: %s' % (got,))
    caps = sh('v4l2-ctl -d %s --info' % EXCL).stdout
    check('Video Capture' in caps, 'the exclusive_caps device now lists as a capture device (Chrome sees it)')

    # GStreamer v4l2src
    try:
        g = subprocess.run('gst-launch-1.0 -q v4l2src device=%s num-buffers=30 ! video/x-raw,format=I420,width=%d,'
                           'height=%d ! fdsink fd=1' % (EXCL, W, H), shell=True, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise Fail('GStreamer v4l2src did not get 30 frames in 300 s')
    size = W * H * 3 // 2
    frames = [g.stdout[i:i + size] for i in range(0, len(g.stdout) - size + 1, size)]
    from camtest import bars_error, counter_of, i420_pixel
    good, placeholders, other = [], 0, 0
    for b in frames:
        px = lambda x, y, b=b: i420_pixel(b, W, H, x, y)  # noqa: E731
        if bars_error(px, W, H) <= 16:
            good.append(counter_of(px, W, H))
        elif 24 <= b[2 * W + 2] <= 40 and max(b[0:W * H:3]) >= 200:
            placeholders += 1  # the camera re-connecting (live view restarts under TCG): camrelay's placeholder
        else:
            other += 1
    check(g.returncode == 0 and len(frames) == 30, 'GStreamer v4l2src read 30 frames (rc %d)' % g.returncode)
    check(len(good) >= 20 and other == 0 and all(n < K for n in good),
          'GStreamer frames are the simulator\'s picture (%d with bars, counters %s..%s; %d placeholders, %d other)'
          % (len(good), good[:1], good[-1:], placeholders, other))

    # ffmpeg, kept running through everything below
    p, rd = ffmpeg(EXCL, W, H)
    wait_until(lambda: len(rd.snapshot()) >= 1, 60)
    time.sleep(12)
    real = [(a, n) for a, n in rd.snapshot() if n is not None]
    # How many depends on how fast the guest runs the simulator (the rate
    # check below compares with what it served).
    check(len(real) >= 15, 'ffmpeg -f v4l2 reads the simulator\'s picture (%d frames)' % len(real))
    body = real[len(real) // 4:]
    ours = (len(body) - 1) / (body[-1][0] - body[0][0])
    theirs = sim.rate_between(body[0][0], body[-1][0])
    check(abs(ours / theirs - 1) <= 0.05, 'ffmpeg gets %.2f fps = the simulator\'s %.2f fps within 5%%' % (ours, theirs))
    counters = [n for _, n in body]
    # In order; a repeat is the sink's once-a-second keep-alive when the
    # guest stalls, counted but allowed.
    steps = [(b - a) % K for a, b in zip(counters, counters[1:])]
    check(all(d < K // 2 for d in steps), 'frames arrive in order (%d repeated by the keep-alive)'
          % steps.count(0))

    # camrelay restarted under the running consumer
    check(cr.stop() == 0, 'camrelay #1 exits 0 on SIGTERM')
    t = time.monotonic()
    time.sleep(1)
    cr = Camrelay('--from', gp, '--to', EXCL)
    back = rd.first_real_after(t + 1, 90)
    check(back is not None, 'after restarting camrelay the consumer gets the picture again (%.1f s)'
          % ((back or t) - t))
    time.sleep(2)
    check(p.poll() is None and not ffmpeg_errors(EXCL), 'ffmpeg kept reading, without an error (%r)'
          % ffmpeg_errors(EXCL)[-200:])
    check(loop_format(EXCL) == (W, H, 'YU12'), 'the loopback format did not change')

    # 5 s outages
    for cmd, limit in (('unplug', BACK_UNPLUG), ('sleep', BACK_SLEEP)):
        n0 = len(rd.snapshot())
        sim.send('%s 5' % cmd)
        t = time.monotonic()
        time.sleep(5)
        # Frames already on their way may still arrive in the first second.
        during = [f for f in rd.since(t + 1.5)]
        back_at = rd.first_real_after(time.monotonic() - 0.05, 15)
        back = back_at - (t + 5) if back_at else 99
        ph = sum(1 for _, n in during if n is None)
        check(ph >= 3 and ph >= len(during) - 2,
              '%s 5 s: the consumer keeps getting frames: %d placeholders of %d' % (cmd, ph, len(during)))
        check(back <= limit, '%s 5 s: picture back %.2f s after the camera returned (limit %.1f)' % (cmd, back, limit))
        check(len(rd.snapshot()) > n0 and p.poll() is None, '%s: ffmpeg still running' % cmd)

    # shortened cycles: resources stay flat
    time.sleep(2)
    fds0, rss0 = cr.fds(), cr.rss_kb()
    for i in range(10):
        sim.send('unplug 1.2')
        time.sleep(1.2)
        if not rd.first_real_after(time.monotonic(), 15):
            raise Fail('cycle %d: the picture did not come back' % i)
        time.sleep(0.5)
    time.sleep(3)
    fds1, rss1 = cr.fds(), cr.rss_kb()
    check(abs(fds1 - fds0) <= 1, '10 unplug cycles: camrelay fds flat (%d -> %d)' % (fds0, fds1))
    # Under ASan the 16 MB quarantine (camtest.sanitizer_env) fills as memory
    # is freed; leaks themselves are LSan's job at exit.
    with open(CAMRELAY, 'rb') as f:
        asan = b'__asan_init' in f.read()
    slack = 4096 + (16384 if asan else 0)
    check(rss1 - rss0 <= slack, '10 unplug cycles: camrelay RSS flat (%d -> %d kB, allowed +%d)'
          % (rss0, rss1, slack))
    check(p.poll() is None and not ffmpeg_errors(EXCL), 'ffmpeg read through all of it without an error %r' % ffmpeg_errors(EXCL)[-300:])
    rc = cr.stop()
    check(rc == 0, 'camrelay exits 0 on SIGTERM (%d)' % rc)


def placeholders_since(rd, t):
    return sum(1 for _, n in rd.since(t) if n is None) if not [a for a in rd.others if a >= t] else -1


def test_consumer_first(sim):
    """v4l2loopback 0.12 refuses readers before a producer set a format:
    camrelay sets keep_format, so from its first run on the device stays a
    camera, and uploads a "not running" timeout image for when it is gone."""
    check(loop_format(EXCL) == (W, H, 'YU12'), 'after camrelay exited the device kept its format (%s)'
          % (loop_format(EXCL),))
    check('Video Capture' in sh('v4l2-ctl -d %s --info' % EXCL).stdout,
          'with camrelay gone the exclusive_caps device still lists as a camera')
    p, rd = ffmpeg(EXCL, W, H)
    wait_until(lambda: placeholders_since(rd, 0) >= 2, 30)
    # Both counts from one snapshot: the reader thread adds frames meanwhile
    # (a clean-clone run read 2 placeholders, then 3 frames in all).
    frames = rd.snapshot()
    n = sum(1 for _, c in frames if c is None)
    # The loopback may first hand out the last picture camrelay wrote before
    # it exited (still in its buffers; a clean-clone run read one camera
    # frame among 3, the order not printed): camera frames only before
    # the first "not running" one, none after it.
    first = next((i for i, (_, c) in enumerate(frames) if c is None), len(frames))
    stale = first
    check(n >= 2 and n == len(frames) - stale and not rd.others,
          'a consumer started before camrelay reads camrelay\'s "not running" picture (%d frames, %d of them '
          'the picture, %d before it the last one camrelay wrote, %d other)'
          % (len(frames), n, stale, len(rd.others)))
    t = time.monotonic()
    cr = Camrelay('--from', sim.gp_port, '--to', EXCL)
    back = rd.first_real_after(t, 120)
    check(back is not None, 'camrelay started under that consumer: it gets the camera\'s picture (%.1f s)'
          % ((back or t) - t))
    wait_until(lambda: len([1 for _, n in rd.since(back or t) if n is not None]) >= 5, 30)
    # Killed: no chance to clean up; the loopback's timeout shows the picture.
    cr.p.kill()
    cr.p.wait()
    t = time.monotonic()
    wait_until(lambda: placeholders_since(rd, t + 0.5) >= 2, 30)
    n = placeholders_since(rd, t + 0.5)
    check(n >= 2, 'camrelay killed: the consumer gets the "not running" picture, no freeze (%d frames)' % n)
    t = time.monotonic()
    cr = Camrelay('--from', sim.gp_port, '--to', EXCL)
    back = rd.first_real_after(t, 120)
    check(back is not None, 'camrelay started again after the kill: picture back (%.1f s)' % ((back or t) - t))
    time.sleep(2)
    check(p.poll() is None and not ffmpeg_errors(EXCL) and not rd.others,
          'ffmpeg read through all of it without an error or a foreign frame (%r)' % ffmpeg_errors(EXCL)[-200:])
    check(loop_format(EXCL) == (W, H, 'YU12'), 'the loopback format did not change')
    check(cr.stop() == 0, 'camrelay exits 0 on SIGTERM')


def test_vivid_size_change():
    # vivid's HDMI input: the source sends 640x480, then 720x576 (see tests/v4l2/dv.sh).
    sh('v4l2-ctl -d %s -i 3' % VIVID)
    sh('v4l2-ctl -d %s -c dv_timings_signal_mode=4 -c dv_timings=0' % VIVID)
    cr = Camrelay('--from', VIVID, '--to', LOOP)
    got = wait_format(LOOP, (640, 480, 'YU12'), 90)
    check(got == (640, 480, 'YU12'), 'vivid HDMI 640x480 -> webcam %s' % (got,))
    p, rd = ffmpeg(LOOP, 640, 480)
    wait_until(lambda: len(rd.snapshot()) >= 3, 60)
    n0 = len(rd.snapshot())
    r = sh('v4l2-ctl -d %s -c dv_timings=4' % VIVID)
    check(r.returncode == 0, 'vivid now sends 720x576')
    time.sleep(6)
    n1 = len(rd.snapshot())
    vf = sh('v4l2-ctl -d %s --get-fmt-video' % VIVID).stdout
    check('720/576' in vf, 'camrelay followed the source to 720x576 (vivid\'s format now)')
    check(loop_format(LOOP) == (640, 480, 'YU12'), 'the webcam format stayed 640x480 (scaled)')
    check(n1 - n0 >= 5 and p.poll() is None and not ffmpeg_errors(LOOP),
          'the consumer kept reading (%d frames since the change, no error)' % (n1 - n0))
    check(cr.stop() == 0, 'camrelay exits 0')
    sh('v4l2-ctl -d %s -i 0' % VIVID)


def main():
    sh('ip link set lo up')
    failed = False
    sims = []
    try:
        sim = Sim(SIM, size='%dx%d' % (W, H), fps=FPS, cache=K)
        sims.append(sim)
        bad = Sim(SIM, size='%dx%d' % (W, H), fps=FPS, extra=['--fail-all'], cache=1)
        sims.append(bad)
        for name, fn in (('main', lambda: test_main(sim)), ('consumer first', lambda: test_consumer_first(sim)),
                         ('bad inputs', lambda: test_bad_inputs(bad)),
                         ('vivid size change', test_vivid_size_change)):
            print('-- ' + name, flush=True)
            try:
                fn()
            except Fail as e:
                print('FAIL ' + str(e), flush=True)
                failed = True
            except Exception:  # noqa: BLE001 - report, clean up, go on
                import traceback
                print('FAIL ' + traceback.format_exc(), flush=True)
                failed = True
            finally:
                cleanup()
    finally:
        for s in sims:
            s.close()
    if failed:
        for f in sorted(os.listdir(LOG)):
            print('==== %s' % f)
            with open(os.path.join(LOG, f)) as fh:
                print(fh.read()[-9000:])
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
