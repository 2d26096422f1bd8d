#!/usr/bin/python3
"""Host test: video files as a source (the "file" backend) through the stream
core's raw path (tests/webcam/rawpipe, the webcam sink's work with a pipe for
the v4l2loopback device). Clips come from the real ffmpeg (clips.py): H.264
with B-frames in mp4, VP9 in mkv, a 25 fps file with a 12.5 fps section, an
odd-sized FFV1 4:4:4 file, one cut short and one without its index. Each must
show its own frames in order at its own pace (the median interval between capture
timestamps, +-5% per section), loop with no gap over two frame periods, and a
damaged file must loop cleanly or end in one clear message.

Also `camrelay webcam --from`: a file, a URL and the camera forms (gphoto2,
usb:, ptpip: with its dotted address, /dev/videoN, test) each reach the right
source; a missing file exits 3 naming it.

Usage: test_file_host.py RAWPIPE CAMRELAY"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clips  # noqa: E402
from camtest import Fail, RawPipe, check, run_sections, sanitizer_env  # noqa: E402

RAWPIPE, CAMRELAY = sys.argv[1], sys.argv[2]
W, H, N = 320, 240, 75
PERIOD = 1.0 / clips.FPS


def play(path, seconds):
    rp = RawPipe([RAWPIPE, '--backend', 'file', '--device', path, '--header', '--seconds', str(seconds)])
    if rp.p.wait(60 + seconds) != 0:
        raise Fail('rawpipe on %s exited %d: %s' % (path, rp.p.returncode, rp.snapshot()[1][-3:]))
    return rp.snapshot()


def period_of(counter, vfr):
    return 2 * PERIOD if vfr and counter >= clips.VFR_AT else PERIOD


def check_timing(name, real, vfr=False):
    """Frames in order, at the file's pace, looped without a gap."""
    counters = [f['counter'] for f in real]
    steps = [(b - a) % N for a, b in zip(counters, counters[1:])]
    # The pipe's queue keeps the newest frame: a reader starved by a loaded
    # machine may miss a few (counted), never get them out of order.
    # A step of 0 (a repeat) or backwards fails; a forward gap is a frame the
    # reader missed, and a loaded machine (the fresh-root run at load 8) made
    # one of 4 frames: bound the total, not the single gap.
    missed = sum(s - 1 for s in steps)
    check(all(1 <= s <= 8 for s in steps) and missed <= len(real) // 15,
          '%s: the frames in order (%d frames, counters %d..%d, %d loops, %d missed by the reader)'
          % (name, len(real), min(counters), max(counters), counters.count(0), missed))
    sections = {}
    for a, b in zip(real, real[1:]):
        if b['counter'] != (a['counter'] + 1) % N or b['counter'] == 0:
            continue  # a missed frame, or the loop (checked below)
        want = period_of(a['counter'], vfr)
        sections.setdefault(want, []).append(b['ts_capture'] - a['ts_capture'])
    for want, got in sorted(sections.items()):
        # The median: one frame late on a busy machine makes one interval
        # long and the next short; a wrong pace moves them all.
        med = sorted(got)[len(got) // 2]
        check(abs(med / want - 1) <= 0.05, '%s: %d intervals of %.1f ms, median %.2f ms (within 5%%)'
              % (name, len(got), want * 1000, med * 1000))
    wraps = [b['ts_capture'] - a['ts_capture'] for a, b in zip(real, real[1:]) if b['counter'] == 0 and
             a['counter'] == N - 1]
    check(wraps and max(wraps) <= 2 * PERIOD + 0.005, '%s: looped %d times, the longest step at the loop %.1f ms '
          '(at most two frame periods, %.0f ms)' % (name, len(wraps), max(wraps or [0]) * 1000, 2000 * PERIOD))


def test_clip(path, name, size=(W, H), vfr=False):
    frames, err = play(path, 7.5)
    real = [f for f in frames if not f['placeholder']]
    check(len(real) >= 100 and all((f['w'], f['h']) == size for f in real),
          '%s: %d frames at %dx%d, the file\'s size (%d placeholders)' % (name, len(real), size[0], size[1],
                                                                          len(frames) - len(real)))
    worst = max(f['bars'] for f in real)
    check(worst <= 12, '%s: the colour bars come through (max error %.1f)' % (name, worst))
    check_timing(name, real[1:], vfr)


def test_cut(c):
    frames, err = play(c['cut'], 6)
    real = [f for f in frames if not f['placeholder']]
    counters = [f['counter'] for f in real]
    last = max(counters)
    check(0 < last < N - 1 and counters.count(0) >= 2,
          'cut file: plays frames 0..%d (of %d) and loops (%d passes)' % (last, N, counters.count(0)))
    steps = [(b - a) % (last + 1) for a, b in zip(counters, counters[1:])]
    check(all(1 <= s <= 8 for s in steps) and sum(s - 1 for s in steps) <= len(real) // 15,
          'cut file: in order, no frame from past the cut (%d missed by the reader)' % sum(s - 1 for s in steps))
    frames, err = play(c['nomoov'], 4)
    msgs = [l for l in err if 'source reconnecting' in l]
    check(not [f for f in frames if not f['placeholder']] and len(msgs) == 1 and
          'is it a complete video file?' in msgs[0],
          'unreadable file (index missing): placeholders and one clear message: %s' % (msgs or err[-2:]))


def test_from(c):
    """What --from chose, before any device opens (the loopback is missing: exit 1)."""
    for arg, want in ((c['h264'], 'source video file ' + c['h264']),
                      ('rtsp://127.0.0.1:1/x', 'source IP camera rtsp://127.0.0.1:1/x'),
                      ('http://127.0.0.1:1/video.mjpg', 'source IP camera http://127.0.0.1:1/video.mjpg'),
                      ('ptpip:192.168.1.1:15740:15740', 'source gphoto2 ptpip:192.168.1.1:15740:15740'),
                      ('usb:001,004', 'source gphoto2 usb:001,004'), ('gphoto2:usb:001,004', 'source gphoto2 usb:001,004'),
                      ('/dev/video99', 'source v4l2 /dev/video99'), ('test', 'source test pattern')):
        # (sanitizer_env: the gphoto2 forms start libgphoto2 before the sink fails.)
        r = subprocess.run([CAMRELAY, 'webcam', '--from', arg, '--to', '/dev/video99'], capture_output=True,
                           text=True, timeout=60, env=sanitizer_env())
        check(r.returncode == 1 and want in r.stdout, 'webcam --from %s: "%s", exit 1 (no loopback here; got %d%s)'
              % (arg, want, r.returncode, '' if r.returncode == 1 else ': ' + r.stderr[-300:]))
    r = subprocess.run([CAMRELAY, 'webcam', '--from', '/nonexistent/clip.mkv'], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 3 and 'cannot read it as a video file: No such file or directory' in r.stderr,
          'webcam --from a missing file: exit 3, %s' % r.stderr.strip())


def main():
    with tempfile.TemporaryDirectory() as d:
        c = clips.make_all(d, W, H, N)
        ok = run_sections([('H.264 mp4 with B-frames', lambda: test_clip(c['h264'], 'h264.mp4')),
                           ('VP9 mkv', lambda: test_clip(c['vp9'], 'vp9.mkv')),
                           ('25 fps with a 12.5 fps section', lambda: test_clip(c['vfr'], 'vfr.mkv', vfr=True)),
                           ('odd size, FFV1 4:4:4', lambda: test_clip(c['odd'], 'odd.mkv', (W + 1, H + 1))),
                           ('damaged files', lambda: test_cut(c)),
                           ('webcam --from', lambda: test_from(c))])
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
