#!/usr/bin/python3
"""Display sink on a real DRM driver: QEMU's bochs-drm in the VM bench.

Boots the VM with --bochs and a QEMU monitor, runs drm_guest.py there, and at
each of its phases reads the screen from outside (monitor `screendump`) and
checks the pixels: vivid's colour bars inside the configured rectangle
(100,80 640x360) and black around it; the placeholder (dark, with text)
while vivid is disconnected; the bars again after vivid is reloaded; the
bars with legacy modesetting forced and mode = "1024x768"; a second camrelay
that waits while the first has the screen, then takes it over in its own mode
and rectangle. Also the log: which modesetting path
was used, and that the copy path counted its bytes.
qemu-system-x86_64 missing is a failure naming the package, not a skip.

Usage: test_drm_vm.py CAMRELAY"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VM = os.path.join(HERE, '..', 'vm')
CAMRELAY = sys.argv[1]
RX, RY, RW, RH = 100, 80, 640, 360
# vivid's 75% colour bars, each channel above half or not: white, yellow, cyan,
# green, magenta, red, blue, black.
BARS = [(1, 1, 1), (1, 1, 0), (0, 1, 1), (0, 1, 0), (1, 0, 1), (1, 0, 0), (0, 0, 1), (0, 0, 0)]
failures = []


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def read_ppm(path):
    data = open(path, 'rb').read()
    magic, size, maxval, pixels = data.split(b'\n', 3)
    w, h = (int(x) for x in size.split())
    return w, h, pixels


def pixel(img, x, y):
    w, h, p = img
    o = (y * w + x) * 3
    return tuple(p[o:o + 3])


def screendump(mon, path):
    """A screendump of the bochs mode (1280x800); a persistent VGA text mode is the bench's."""
    img = None
    for _ in range(8):
        subprocess.run([os.path.join(VM, 'qemu-monitor'), mon, f'screendump {path}'], capture_output=True,
                       timeout=30)
        try:
            img = read_ppm(path)
        except (OSError, ValueError):
            img = None
        if img and img[0] >= RX + RW and img[1] >= RY + RH:
            return img
        time.sleep(1)
    return img


def bars_row(img, y):
    out = []
    for i in range(8):
        r, g, b = pixel(img, RX + 80 * i + 40, y)
        out.append(tuple(int(c > 110) for c in (r, g, b)))
    return out


def check_bars(img, label):
    rows = [bars_row(img, RY + y) for y in (200, 300)]
    check(all(r == BARS for r in rows), f'{label}: colour bars in the rectangle ({rows[0]})')
    outside = [pixel(img, x, y) for x, y in ((50, 50), (RX - 5, RY + 100), (RX + RW + 5, RY + 100),
                                             (RX + 100, RY + RH + 5), (img[0] - 30, img[1] - 30))]
    check(all(max(p) < 20 for p in outside), f'{label}: black around the rectangle ({outside})')


def check_takeover(img):
    # The test source's bars fill the top 3/4 and a box moves over them: one clean row is enough.
    rows = [[tuple(int(c > 110) for c in pixel(img, 300 + 80 * i + 40, 200 + y)) for i in range(8)]
            for y in (40, 100, 160, 220)]
    check(any(r == BARS for r in rows), f'takeover: the second camrelay\'s bars at 300,200 ({rows})')
    old = [pixel(img, x, y) for x, y in ((150, 100), (250, 400), (120, 300))]
    check(all(max(p) < 20 for p in old), f'takeover: the first one\'s picture is gone ({old})')


def check_placeholder(img):
    rows = [bars_row(img, RY + y) for y in (200, 300)]
    check(all(r != BARS for r in rows), 'placeholder: no colour bars in the rectangle')
    px = [pixel(img, x, y) for y in range(RY, RY + RH, 2) for x in range(RX, RX + RW, 2)]
    dark = sum(1 for p in px if max(p) < 50)
    bright = sum(1 for p in px if min(p) > 180)
    check(dark > len(px) * 0.8 and bright > 30,
          f'placeholder: dark picture with text ({dark}/{len(px)} dark, {bright} bright samples)')


def main():
    if not shutil.which('qemu-system-x86_64'):
        print('FAIL: qemu-system-x86_64 not found: install qemu-system-x86 (scripts/install-deps)')
        return 1
    d = tempfile.mkdtemp(prefix='camrelay-drm-')
    mon = os.path.join(d, 'mon.sock')
    vm = subprocess.Popen([os.path.join(VM, 'run-in-vm'), '--timeout', '900', '--bochs', '--monitor', mon,
                           '--outdir', d, '--', '/usr/bin/python3', os.path.join(HERE, 'drm_guest.py'),
                           CAMRELAY, d])
    try:
        for name in ('bars', 'placeholder', 'back', 'legacy', 'takeover'):
            end = time.time() + 400
            while time.time() < end and vm.poll() is None and not os.path.exists(os.path.join(d, name)):
                time.sleep(0.5)
            if not check(os.path.exists(os.path.join(d, name)), f'guest reached phase {name}'):
                break
            api = json.load(open(os.path.join(d, name)))
            img = screendump(mon, os.path.join(d, name + '.ppm'))
            want = (1024, 768) if name == 'legacy' else (1280, 800)
            if check(img is not None and img[:2] == want, f'{name}: screendump is the {want[0]}x{want[1]} mode ({img and img[:2]})'):
                if name == 'takeover':
                    check_takeover(img)
                elif name == 'placeholder':
                    check(api and api['state'] != 'running', f'placeholder: source state {api and api["state"]}')
                    check_placeholder(img)
                else:
                    check_bars(img, name)
            if name == 'bars':
                # The guest writes null when it could not read /api/streams: that fails too.
                shown = sum(c['delivered'] for c in api['clients'] if c['name'].startswith('drm')) if api else 0
                copied = api['counters']['bytes_copied'] if api else 0
                check(api is not None and shown >= 10 and copied >= shown * RW * RH * 4,
                      f'bars: the copy path is counted in bytes_copied ({copied} bytes for {shown} frames shown)')
            open(os.path.join(d, name + '.ack'), 'w').close()
        rc = vm.wait(timeout=300)
        check(rc == 0, f'guest exited {rc}')
        log = open(os.path.join(d, 'serve.log')).read()
        first, _, second = log.partition('--- restart')
        second, _, third = second.partition('--- connector HDMI-A-9')
        check('exit 0' not in third.splitlines()[0] if third else False, 'serve refuses a connector that is not there')
        check('no "HDMI-A-9" connector with a screen (connectors: Virtual-1 (connected))' in third,
              'the refusal names the connectors there are')
        check('Virtual-1 1024x768' in second, 'mode = "1024x768" was set')
        check('atomic modesetting' in first, 'log says atomic modesetting was used (bochs is an atomic driver)')
        check('legacy modesetting' in second, 'log says legacy modesetting was used when forced')
        log_b = open(os.path.join(d, 'serve_b.log')).read()
        check('waiting for the screen' in log_b and 'set again to 1280x800' in log_b,
              'the second camrelay waited for the screen, then set its mode')
        log += log_b
        check('Sanitizer' not in log and 'runtime error' not in log, 'no sanitizer report from serve')
    finally:
        if vm.poll() is None:
            vm.terminate()
            vm.wait(timeout=60)
    print(f'drm-vm: {"FAILED: " + "; ".join(failures) if failures else "all passed"}')
    if not failures:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print(f'drm-vm: screendumps and log kept in {d}')
    return 1 if failures else 0


sys.exit(main())
