#!/usr/bin/python3
"""VM test (run through tests/vm/run-in-vm): V4L2 overlays on vivid (seed 003).

vivid (node_types=0xf1d3d) has a capture node with a destructive overlay,
an output node with a non-destructive output overlay (OSD) and /dev/fb0, the
framebuffer both use. Checked:
 1. `camrelay overlay DEV --json` reports what `v4l2-ctl --get-fbuf` reports,
    for both nodes.
 2. capture overlay set by camrelay (framebuffer, window, clips; then a
    clip bitmap): while vivid captures, /dev/fb0 holds the captured picture
    in the window, pixel for pixel, and nothing in the clip rectangles,
    outside the window or (bitmap) where the bitmap is clear.
 3. the daemon with an output overlay sink (osd, chroma key, global alpha):
    v4l2-ctl reads the flags, key and alpha back; the OSD is in /dev/fb0
    and the rest of it is the key colour.
 3b. the same destructive overlay set up by an overlay sink in serve's config.
 4. a flag the device does not offer is refused with the reason (config and
    command line); a non-root destructive overlay gets the CAP_SYS_ADMIN
    explanation.

Usage (inside the VM): test_overlay_vm.py CAMRELAY"""

import json
import mmap
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

CAMRELAY = sys.argv[1]
CAP = os.environ['CAMRELAY_VM_VIVID_CAP']
OUT = os.environ['CAMRELAY_VM_VIVID_OUT']
FB = '/dev/fb0'
TMP = tempfile.mkdtemp(prefix='overlay-vm-')
failures = []

# v4l2-ctl's names (utils/common/v4l2-info.cpp) -> camrelay's (seed 003 without prefix)
CAP_NAMES = {'Extern Overlay': 'externoverlay', 'Chromakey': 'chromakey', 'Source Chromakey': 'src_chromakey',
             'Global Alpha': 'global_alpha', 'Local Alpha': 'local_alpha',
             'Local Inverted Alpha': 'local_inv_alpha', 'Clipping List': 'list_clipping',
             'Clipping Bitmap': 'bitmap_clipping'}
FLAG_NAMES = {'Primary Graphics Surface': 'primary', 'Overlay Matches Capture/Output Size': 'overlay',
              'Chromakey': 'chromakey', 'Source Chromakey': 'src_chromakey', 'Global Alpha': 'global_alpha',
              'Local Alpha': 'local_alpha', 'Local Inverted Alpha': 'local_inv_alpha'}


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def v4l2ctl(*args):
    r = run(['v4l2-ctl'] + list(args))
    return r.stdout + r.stderr


def parse_get_fbuf(text):
    """v4l2-ctl --get-fbuf -> dict; capability/flag lists mapped to our names."""
    d, key = {'capabilities': [], 'flags': []}, None
    for line in text.splitlines():
        m = re.match(r'\s*([A-Za-z ]+?)\s*:\s*(.*)$', line)
        if m and m.group(1) in ('Capability', 'Flags', 'Base', 'Width', 'Height', 'Pixel Format',
                                'Bytes per Line', 'Size image', 'Colorspace'):
            key, val = m.group(1), m.group(2).strip()
            if key == 'Capability':
                d['capabilities'].append(CAP_NAMES.get(val, '?' + val))
            elif key == 'Flags':
                d['flags'].append(FLAG_NAMES.get(val, '?' + val))
            else:
                d[key] = val
                key = None
        elif key in ('Capability', 'Flags') and line.strip():
            val = line.strip()
            if key == 'Capability':
                d['capabilities'].append(CAP_NAMES.get(val, '?' + val))
            else:
                d['flags'].append(FLAG_NAMES.get(val, '?' + val))
    return d


def compare_json(dev):
    r = run([CAMRELAY, 'overlay', dev, '--json'])
    if not check(r.returncode == 0, f'camrelay overlay {dev} --json exits 0 ({r.stderr.strip()})'):
        return
    j = json.loads(r.stdout)
    fb = j['framebuffer']
    ref = parse_get_fbuf(v4l2ctl('-d', dev, '--get-fbuf'))
    # vivid's overlays have capabilities (clipping, chromakey, alpha): none parsed
    # from v4l2-ctl means the reference is empty and would match an empty answer.
    check(len(ref['capabilities']) > 0 and sorted(fb['capabilities']) == sorted(ref['capabilities']),
          f'{dev}: capabilities {fb["capabilities"]} == v4l2-ctl {ref["capabilities"]}')
    check(sorted(fb['flags']) == sorted(ref['flags']), f'{dev}: flags {fb["flags"]} == v4l2-ctl {ref["flags"]}')
    # v4l2-ctl leaves out a zero base, and bytesperline/sizeimage of output overlays.
    check(int(fb['base'], 16) == int(ref.get('Base', '0x0'), 16), f'{dev}: base {fb["base"]} == {ref.get("Base", "0x0 (not printed)")}')
    for ours, theirs in (('width', 'Width'), ('height', 'Height'), ('bytesperline', 'Bytes per Line'),
                         ('sizeimage', 'Size image')):
        if theirs in ref or ours in ('width', 'height'):
            check(str(fb[ours]) == ref.get(theirs), f'{dev}: {ours} {fb[ours]} == {ref.get(theirs)}')
    check(f"'{fb['pixelformat']}'" == ref.get('Pixel Format', '').split()[0] if ref.get('Pixel Format') else False,
          f'{dev}: pixelformat {fb["pixelformat"]} == {ref.get("Pixel Format")}')
    return j


def fb_info():
    # FBIOGET_VSCREENINFO 0x4600, FBIOGET_FSCREENINFO 0x4602
    import fcntl
    with open(FB, 'rb') as f:
        var = fcntl.ioctl(f, 0x4600, bytes(160))
        fix = fcntl.ioctl(f, 0x4602, bytes(80))
    xres, yres = struct.unpack_from('II', var, 0)
    line_length = struct.unpack_from('I', fix, 48)[0]
    return xres, yres, line_length


def fb_read():
    with open(FB, 'rb') as f:
        return f.read()


def fb_clear(value=0):
    xres, yres, ll = fb_info()
    with open(FB, 'r+b') as f:
        m = mmap.mmap(f.fileno(), ll * yres)
        m[:] = struct.pack('<H', value) * (ll * yres // 2)
        m.close()


def px(buf, ll, x, y):
    return struct.unpack_from('<H', buf, y * ll + x * 2)[0]


def stop_serve(p):
    p.terminate()
    try:
        p.wait(timeout=60)
        return True
    except subprocess.TimeoutExpired:
        subprocess.run(['sh', '-c', f'cat /proc/{p.pid}/task/*/stack /proc/{p.pid}/task/*/wchan 2>/dev/null | head -60'])
        p.kill()
        p.wait()
        return False


def start_hold(args):
    p = subprocess.Popen([CAMRELAY, 'overlay', CAP] + args + ['--start', '--hold', '60'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()  # first line once the overlay is on
    return p, line


def stop_hold(p):
    p.terminate()
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return err


def capture_frame(path):
    r = run(['v4l2-ctl', '-d', CAP, '--stream-mmap', '--stream-count=4', f"--stream-to={path}"], timeout=120)
    data = open(path, 'rb').read() if os.path.exists(path) else b''
    return r, data


def test_capture_overlay():
    W, H = 320, 180
    WX, WY = 40, 30
    clips = [(60, 50, 40, 40), (200, 100, 30, 30)]
    print(v4l2ctl('-d', CAP, '-v', f'width={W},height={H},pixelformat=AR15'), end='')
    xres, yres, ll = fb_info()
    fb_clear()
    p, line = start_hold(['--framebuffer', FB, '--window', f'{WX},{WY},{W},{H}'] +
                         sum([['--clip', ','.join(map(str, c))] for c in clips], []))
    check('video overlay' in line, f'camrelay overlay --start is holding the overlay ({line.strip()})')
    fmt = v4l2ctl('-d', CAP, '--get-fmt-overlay')
    check(re.search(r'Left/Top\s*:\s*40/30', fmt) and re.search(r'Clip Count\s*:\s*2', fmt) is not None,
          'v4l2-ctl --get-fmt-overlay reads the window 40/30 and 2 clips back')
    r, frames = capture_frame(f'{TMP}/cap.raw')
    err = stop_hold(p)
    fsize = W * H * 2
    check(len(frames) >= fsize, f'captured {len(frames)} bytes while overlaying ({r.stderr.strip()[:200]})')
    buf = fb_read()
    frame = frames[-fsize:] if len(frames) >= fsize else bytes(fsize)

    def in_clip(x, y):
        return any(cx <= x < cx + cw and cy <= y < cy + ch for cx, cy, cw, ch in clips)

    outside_nonzero = sum(1 for y in range(0, yres, 7) for x in range(0, xres, 5)
                          if not (WX <= x < WX + W and WY <= y < WY + H) and px(buf, ll, x, y))
    check(outside_nonzero == 0, f'framebuffer untouched outside the window ({outside_nonzero} sampled pixels set)')
    clip_nonzero = sum(1 for cx, cy, cw, ch in clips for y in range(cy, cy + ch) for x in range(cx, cx + cw)
                       if px(buf, ll, x, y))
    check(clip_nonzero == 0, f'clip rectangles untouched ({clip_nonzero} pixels set)')
    # Rows below vivid's text lines: the fb holds the captured picture there (the
    # colour bars do not move, so any of the captured frames will do).
    same = diff = 0
    for fy in (WY + 90, WY + 150):
        for x in range(W):
            fx = WX + x
            if in_clip(fx, fy):
                continue
            a = px(buf, ll, fx, fy) & 0x7fff
            b = struct.unpack_from('<H', frame, ((fy - WY) * W + x) * 2)[0] & 0x7fff
            same += a == b
            diff += a != b
    check(same > 500 and diff == 0, f'window holds the captured picture ({same} pixels equal, {diff} differ)')
    colours = {px(buf, ll, WX + x, WY + 150) & 0x7fff for x in range(0, W, 4)}
    check(len(colours) >= 6, f'colour bars in the window ({len(colours)} distinct colours on one row)')

    # A clip bitmap: video only in the left half of the window.
    fb_clear()
    p, line = start_hold(['--framebuffer', FB, '--window', f'{WX},{WY},{W},{H}', '--bitmap', f'0,0,{W // 2},{H}'])
    check('video overlay' in line, f'overlay with a clip bitmap on ({line.strip()})')
    capture_frame(f'{TMP}/cap2.raw')
    stop_hold(p)
    buf = fb_read()
    left = sum(1 for y in range(WY + 40, WY + H, 3) for x in range(WX, WX + W // 2, 3) if px(buf, ll, x, y))
    right = sum(1 for y in range(WY, WY + H) for x in range(WX + W // 2, WX + W) if px(buf, ll, x, y))
    check(left > 1000 and right == 0, f'bitmap: video in its set half ({left} sampled pixels), none in the clear half ({right})')
    return err


def test_capture_overlay_sink():
    """The same through the daemon: an overlay sink in the config holds the
    destructive overlay while serve runs; vivid draws while it captures."""
    fb_clear()
    xres, yres, ll = fb_info()
    cfg = f'{TMP}/cap.toml'
    with open(cfg, 'w') as f:
        f.write('[http]\nlisten = "127.0.0.1:18096"\n[stream.t]\n[[stream.t.sources]]\n'
                '[stream.t.sources.capture]\nbackend = "test"\nwidth = 320\nheight = 240\nfps = 5\n'
                f'[[stream.t.sinks]]\ntype = "overlay"\ndevice = "{CAP}"\ndestructive = true\n'
                'framebuffer = "/dev/fb0"\nwindow = [300, 200, 320, 180]\nclips = [[320, 220, 50, 50]]\n')
    log = open(f'{TMP}/cap.log', 'w+')
    p = subprocess.Popen([CAMRELAY, 'serve', '-c', cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.time() + 120
        while time.time() < end and 'destructive overlay on' not in open(f'{TMP}/cap.log').read():
            time.sleep(0.5)
        capture_frame(f'{TMP}/cap3.raw')
    finally:
        stopped = stop_serve(p)
    log.seek(0)
    text = log.read()
    if not check(stopped, 'serve stops on SIGTERM'):
        print(text)
    check('destructive overlay on, window 320x180+300+200' in text, 'serve: the overlay sink started the destructive overlay')
    buf = fb_read()
    inside = sum(1 for y in range(200 + 40, 380, 3) for x in range(300, 620, 3)
                 if not (320 <= x < 370 and 220 <= y < 270) and px(buf, ll, x, y))
    clip = sum(1 for y in range(220, 270) for x in range(320, 370) if px(buf, ll, x, y))
    outside = sum(1 for y in range(0, yres, 7) for x in range(0, xres, 5)
                  if not (300 <= x < 620 and 200 <= y < 380) and px(buf, ll, x, y))
    row = [px(buf, ll, x, 350) & 0x7fff for x in range(300, 620, 20)]
    check(len(set(row)) >= 6 and clip == 0 and outside == 0,
          f'serve: colour bars in the configured window ({len(set(row))} colours: {[hex(v) for v in row]}; '
          f'{inside} sampled pixels set), clip ({clip}) and outside ({outside}) untouched')
    check('Sanitizer' not in text and 'runtime error' not in text, 'no sanitizer report from serve')


def test_refusals():
    r = run([CAMRELAY, 'overlay', CAP, '--flags', 'local_inv_alpha'])
    check(r.returncode == 1 and f'device {CAP} does not offer local_inv_alpha (capabilities: list_clipping, bitmap_clipping)'
          in r.stderr, f'unsupported flag refused by name: {r.stderr.strip()}')
    cfg = f'{TMP}/refuse.toml'
    with open(cfg, 'w') as f:
        f.write('[http]\nlisten = "127.0.0.1:18091"\n[stream.t]\n[[stream.t.sources]]\n'
                '[stream.t.sources.capture]\nbackend = "test"\nwidth = 320\nheight = 240\nfps = 5\n'
                f'[[stream.t.sinks]]\ntype = "overlay"\ndevice = "{CAP}"\nflags = ["chromakey"]\n')
    r = run([CAMRELAY, "serve", "-c", cfg], timeout=120)
    check(r.returncode != 0 and f'device {CAP} does not offer chromakey (capabilities: list_clipping, bitmap_clipping)'
          in r.stderr + r.stdout, f'config asking for chromakey on a capture overlay refused: {(r.stderr + r.stdout).strip()[-300:]}')
    # A destructive overlay as nobody: EPERM, explained.
    os.chmod(CAP, 0o666)
    os.chmod(FB, 0o666)
    r = run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', CAMRELAY, 'overlay', CAP,
             '--framebuffer', FB])
    check(r.returncode == 1 and 'Operation not permitted' in r.stderr and 'CAP_SYS_ADMIN' in r.stderr and
          'setcap cap_sys_admin+ep' in r.stderr, f'non-root destructive overlay explained: {r.stderr.strip()}')


def test_osd():
    print(v4l2ctl('-d', OUT, '-x', 'pixelformat=AR15'), end='')
    fb_clear(0x1234)
    cfg = f'{TMP}/osd.toml'
    with open(cfg, 'w') as f:
        f.write('[http]\nlisten = "127.0.0.1:18092"\n[stream.osdcam]\n[[stream.osdcam.sources]]\n'
                '[stream.osdcam.sources.capture]\nbackend = "test"\nwidth = 320\nheight = 240\nfps = 5\n'
                f'[[stream.osdcam.sinks]]\ntype = "overlay"\ndevice = "{OUT}"\nosd = true\n'
                'flags = ["chromakey", "global_alpha"]\nchromakey = 0x00ff00\nglobal_alpha = 160\n'
                'window = [8, 4, 720, 576]\n')
    log = open(f'{TMP}/osd.log', 'w+')
    p = subprocess.Popen([CAMRELAY, 'serve', '-c', cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        buf = b''
        while time.time() < deadline and p.poll() is None:
            time.sleep(1)
            buf = fb_read()
            if px(buf, 1440, 700, 560) == 0x03e0 and px(buf, 1440, 16, 16) == 0x8000:
                break
        fbuf = parse_get_fbuf(v4l2ctl('-d', OUT, '--get-fbuf'))
        check('chromakey' in fbuf['flags'] and 'global_alpha' in fbuf['flags'],
              f'v4l2-ctl --get-fbuf reads flags chromakey and global_alpha back ({fbuf["flags"]})')
        fmt = v4l2ctl('-d', OUT, '--get-fmt-overlay')
        print(fmt, end='')
        check(re.search(r'Chroma Key\s*:\s*0x000003e0', fmt) is not None,
              'v4l2-ctl reads chroma key 0x00ff00 back as ARGB555 0x03e0')
        check(re.search(r'Global Alpha\s*:\s*0xa0', fmt) is not None, 'v4l2-ctl reads global alpha 160 (0xa0) back')
        check(re.search(r'Left/Top\s*:\s*8/4', fmt) is not None, 'v4l2-ctl reads the OSD window position 8/4 back')
        key = sum(1 for y in range(100, 576, 9) for x in range(0, 720, 7) if px(buf, 1440, x, y) == 0x03e0)
        total = len(range(100, 576, 9)) * len(range(0, 720, 7))
        check(key == total, f'framebuffer outside the OSD is the chroma key colour ({key}/{total})')
        white = sum(1 for y in range(16, 40) for x in range(16, 600) if px(buf, 1440, x, y) == 0xffff)
        black = sum(1 for y in range(16, 40) for x in range(16, 600) if px(buf, 1440, x, y) == 0x8000)
        check(white > 150 and black > 1000, f'OSD text drawn: {white} white, {black} box pixels')
        # The OSD changes: the clock moves on.
        time.sleep(2.5)
        later = fb_read()
        check(later[16 * 1440:40 * 1440] != buf[16 * 1440:40 * 1440], 'OSD is redrawn (time changes)')
    finally:
        p.terminate()
        p.wait(timeout=60)
        log.seek(0)
        text = log.read()
        print('\n'.join('  serve: ' + l for l in text.splitlines()[-8:]))
        check('overlay /dev/' in text and 'OSD in /dev/fb0' in text, 'serve logged the overlay sink with its OSD')
        check('Sanitizer' not in text and 'runtime error' not in text, 'no sanitizer report from serve')


def test_osd_inv_alpha():
    """local_inv_alpha: alpha 1 lets the video through, so the OSD clears to
    alpha 1 and draws its text with alpha 0."""
    fb_clear(0x1234)
    cfg = f'{TMP}/osd2.toml'
    with open(cfg, 'w') as f:
        f.write('[http]\nlisten = "127.0.0.1:18094"\n[stream.inv]\n[[stream.inv.sources]]\n'
                '[stream.inv.sources.capture]\nbackend = "test"\nwidth = 320\nheight = 240\nfps = 5\n'
                f'[[stream.inv.sinks]]\ntype = "overlay"\ndevice = "{OUT}"\nosd = true\n'
                'flags = ["local_inv_alpha"]\n')
    p = subprocess.Popen([CAMRELAY, 'serve', '-c', cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        buf = b''
        while time.time() < deadline and p.poll() is None:
            time.sleep(1)
            buf = fb_read()
            if px(buf, 1440, 700, 560) == 0x8000:
                break
        fbuf = parse_get_fbuf(v4l2ctl('-d', OUT, '--get-fbuf'))
        check('local_inv_alpha' in fbuf['flags'] and 'chromakey' not in fbuf['flags'] and
              'global_alpha' not in fbuf['flags'], f'v4l2-ctl reads flags {fbuf["flags"]} back')
        clear = sum(1 for y in range(100, 576, 9) for x in range(0, 720, 7) if px(buf, 1440, x, y) == 0x8000)
        total = len(range(100, 576, 9)) * len(range(0, 720, 7))
        check(clear == total, f'local_inv_alpha: framebuffer outside the OSD has alpha 1 ({clear}/{total})')
        text = sum(1 for y in range(16, 40) for x in range(16, 600) if px(buf, 1440, x, y) == 0x7fff)
        check(text > 150, f'local_inv_alpha: OSD text drawn with alpha 0 ({text} pixels)')
    finally:
        p.terminate()
        p.wait(timeout=60)


if os.environ.get('OVERLAY_ONLY'):  # one case, for debugging
    globals()[os.environ['OVERLAY_ONLY']]()
    sys.exit(1 if failures else 0)
compare_json(CAP)
compare_json(OUT)
test_capture_overlay()
test_capture_overlay_sink()
test_refusals()
test_osd()
test_osd_inv_alpha()
print(f'overlay-vm: {"FAILED: " + "; ".join(failures) if failures else "all passed"}')
sys.exit(1 if failures else 0)
