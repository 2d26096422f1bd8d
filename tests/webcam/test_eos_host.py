#!/usr/bin/python3
"""Host test: the PTP/IP simulator as a Canon EOS 1200D (--vendor canon:
1056x704 live view at 6 fps) against the real libgphoto2, first through the
gphoto2 command line (--capture-preview, --set-config), then through
camrelay's gphoto2 source (tests/webcam/rawpipe): the picture and rate, live
view that the body ends by itself (timeout, and the "droplv" command ten times:
back within 3 s, placeholders meanwhile, the same session, fds flat), and auto
power-off (the body stays on while camrelay streams; a host that keeps a
session idle sees it switch off).

Usage: test_eos_host.py SIM RAWPIPE"""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camtest import RawPipe, Sim, bars_error, check, counter_of, run_sections  # noqa: E402

SIM, RAWPIPE = sys.argv[1], sys.argv[2]
W, H, FPS = 1056, 704, 6
BAR_TOLERANCE = 5
BACK = 3.0  # live view back this long after the body dropped it (the brief)


def eos(**kw):
    extra = ['--vendor', 'canon']
    for k, v in kw.items():
        extra += ['--' + k.replace('_', '-'), str(v)]
    return Sim(SIM, size='%dx%d' % (W, H), fps=FPS, extra=extra)


def rawpipe(sim, seconds=0, *extra):
    return RawPipe([RAWPIPE, '--backend', 'gphoto2', '--device', sim.gp_port, '--header',
                    '--seconds', str(seconds)] + list(extra))


def test_gphoto2_cli(sim):
    start = len(sim.lines)
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(['gphoto2', '--port', sim.gp_port, '--capture-preview', '--force-overwrite',
                            '--filename', os.path.join(d, 'preview.jpg')], cwd=d, capture_output=True,
                           text=True, timeout=60)
        files = [f for f in os.listdir(d) if f.endswith('.jpg')]
        check(r.returncode == 0 and files, 'gphoto2 --capture-preview gets a JPEG from the EOS simulator (%s)'
              % (r.stderr.strip()[-200:] or 'rc 0'))
        im = Image.open(os.path.join(d, files[0])).convert('YCbCr')
        check(im.size == (W, H), 'the preview is %dx%d, the 1200D\'s live-view size' % im.size)
        px = lambda x, y: im.getpixel((x, y))  # noqa: E731
        err = bars_error(px, W, H, limited=False)
        check(err <= BAR_TOLERANCE, 'preview colour bars match the simulator (max error %.1f)' % err)
        check(counter_of(px, W, H) in sim.frames, 'the preview is a frame the simulator served')
    lines = sim.lines[start:]
    # ptp2 took the EOS path: remote mode, event mode with the bulk of
    # properties, EVFMode and the EVF output device set to PC, then frames.
    want = ['REMOTE 1', 'SET 0xd1b1 1', 'LV start', 'SET 0xd1b0 2']
    check(all(w in lines for w in want), 'libgphoto2 spoke EOS: %s (got %s)' % (', '.join(want), lines))
    start = len(sim.lines)
    r = subprocess.run(['gphoto2', '--port', sim.gp_port, '--set-config', 'iso=400'],
                       capture_output=True, text=True, timeout=60)
    sim.wait_for('SET 0xd103 88', 5, start)  # Canon's ISO code for 400 is 0x58
    check(r.returncode == 0, 'gphoto2 --set-config iso=400 reaches the camera through SetDevicePropValueEx')


def test_stream(sim):
    rp = rawpipe(sim, 8)
    rc = rp.p.wait(60)
    frames, err = rp.snapshot()
    check(rc == 0, 'rawpipe on the EOS simulator exits 0')
    real = [f for f in frames if not f['placeholder']]
    check(len(real) >= 5 * FPS, '%d live-view frames in 8 s' % len(real))
    check(all((f['w'], f['h']) == (W, H) for f in real), 'frames are %dx%d (from the JPEG, no size typed)' % (W, H))
    worst = max(f['bars'] for f in real)
    check(worst <= BAR_TOLERANCE, 'colour bars survive MJPEG -> I420 (max error %.1f)' % worst)
    counters = [f['counter'] for f in real]
    check(all(b > a for a, b in zip(counters, counters[1:])) and all(c in sim.frames for c in counters),
          'frame counters increase, every frame is one the simulator served')
    body = real[len(real) // 4:]
    ours = (len(body) - 1) / (body[-1]['ts_capture'] - body[0]['ts_capture'])
    theirs = sim.rate(body[0]['counter'], body[-1]['counter'])
    check(abs(ours / theirs - 1) <= 0.05, 'rate %.2f fps = simulator %.2f fps within 5%%' % (ours, theirs))


def gaps(frames):
    """Outages: (last real frame before, first real after, placeholders between)."""
    out, last, ph = [], None, 0
    for f in frames:
        if f['placeholder']:
            ph += 1
            continue
        if last is not None and f['arrival'] - last > 3.0 / FPS:
            out.append((last, f['arrival'], ph))
        last, ph = f['arrival'], 0
    return out


def test_lv_timeout():
    sim = eos(lv_timeout=3)
    try:
        rp = rawpipe(sim, 14)
        rp.p.wait(60)
        frames, err = rp.snapshot()
        ends = sim.count('LV end timeout')
        check(ends >= 2, 'the body ended live view by itself %d times in 14 s (--lv-timeout 3)' % ends)
        out = gaps([f for f in frames if f['arrival'] > frames[0]['arrival'] + 2])
        worst = max([b - a for a, b, _ in out] or [0])
        check(len(out) >= 2 and worst <= BACK,
              'live view back each time, the longest gap %.2f s (limit %.1f s, mirror 1.2 s)' % (worst, BACK))
        check(all(ph >= 1 for _, _, ph in out), 'placeholder frames meanwhile (%s)' % [ph for _, _, ph in out])
        check(sim.count('SESSION open') == 1, 'without re-opening the camera session')
        check(any('ended live view (camera output now "Off"); switching it on again' in l for l in err),
              'the log says the camera ended live view')
    finally:
        sim.close()


def test_drops(sim):
    rp = rawpipe(sim, 0, '--quiet')
    check(rp.wait_frames(10, 30), 'live view running')
    time.sleep(1.5)
    fds0 = int(rp.stats()['fds'])
    worst = 0
    for i in range(10):
        n = len([f for f in rp.snapshot()[0] if not f['placeholder']])
        start = len(sim.lines)
        sim.send('droplv')
        sim.wait_for('LV end dropped', 5, start)
        check(rp.wait_frames(n + 4, 15), 'drop %d: live view back' % i)
        fr, _ = rp.snapshot()
        real = [f for f in fr if not f['placeholder']]
        gap = max(b['arrival'] - a['arrival'] for a, b in zip(real[n - 1:], real[n:]))
        worst = max(worst, gap)
    check(worst <= BACK, '10 drops: the longest gap without the camera\'s picture %.2f s (limit %.1f)' % (worst, BACK))
    time.sleep(2)
    st = rp.stats()
    check(abs(int(st['fds']) - fds0) <= 1, 'open fds flat across 10 drops (%s -> %s)' % (fds0, st['fds']))
    check(int(st['frames_alive']) <= 8, 'frames alive stay bounded (%s)' % st['frames_alive'])
    check(rp.stop() == 0, 'rawpipe stops cleanly')


def idle_session(port, seconds):
    """A host that opens a session and then says nothing (no KeepDeviceOn)."""
    s = socket.create_connection(('127.0.0.1', port), 5)
    name = ('host\0').encode('utf-16-le')
    s.sendall(struct.pack('<II', 8 + 16 + len(name) + 4, 1) + b'\x22' * 16 + name + struct.pack('<I', 0x10000))
    s.recv(4096)
    s.sendall(struct.pack('<IIIHII', 22, 6, 1, 0x1002, 1, 1))  # OpenSession
    s.recv(4096)
    s.settimeout(seconds)
    try:
        closed = s.recv(4096) == b''
    except socket.timeout:
        closed = False
    s.close()
    return closed


def test_power_off():
    sim = eos(auto_off=3)
    try:
        rp = rawpipe(sim, 9)
        rp.p.wait(60)
        frames, _ = rp.snapshot()
        real = [f for f in frames if not f['placeholder']]
        check(sim.count('POWER off') == 0 and len(real) >= 6 * FPS,
              'auto power-off after 3 s: the body stays on while camrelay streams 9 s (%d frames)' % len(real))
        sim.send('stats')
        st = sim.wait_for('STATS', 5)
        check(int(st.split('keepalives=')[1].split()[0]) > 0, 'KeepDeviceOn kept it awake (%s)' % st)
        closed = idle_session(sim.port, 8)
        check(closed and sim.wait_for('POWER off', 5),
              'an idle session instead: the body switches itself off (the check above can fail)')
        sim.send('poweron')
        sim.wait_for('POWER on', 5)
    finally:
        sim.close()


def main():
    sim = eos()
    try:
        ok = run_sections([('gphoto2 CLI', lambda: test_gphoto2_cli(sim)),
                           ('stream', lambda: test_stream(sim)),
                           ('live view timeout', test_lv_timeout),
                           ('10 live-view drops', lambda: test_drops(sim)),
                           ('auto power-off', test_power_off)])
    finally:
        sim.close()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
