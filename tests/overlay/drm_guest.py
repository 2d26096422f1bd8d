#!/usr/bin/python3
"""Guest half of the display test (host half: test_drm_vm.py).

camrelay serve streams vivid into a drm sink on bochs-drm (Virtual-1) at a
rectangle; at each phase this script writes OUTDIR/<phase> and waits for the
host's OUTDIR/<phase>.ack (the host has taken its screendump by then):
  bars         vivid's colour bars are flowing to the drm sink (atomic)
  placeholder  vivid unplugged (platform device unbound): placeholder frames
  back         vivid loaded again (rmmod + modprobe): real frames again
  legacy       camrelay restarted with the legacy modesetting path forced and
               mode = "1024x768"
  takeover     a second camrelay (preferred mode, another rectangle) waits while
               the first has the screen, and takes it over when it exits
Then a connector that does not exist, which serve refuses.

Usage (inside the VM, started with --bochs): drm_guest.py CAMRELAY OUTDIR"""

import json
import os
import subprocess
import sys
import time
import urllib.request

CAMRELAY, OUT = sys.argv[1], sys.argv[2]
CAP = os.environ['CAMRELAY_VM_VIVID_CAP']
PORT = 18093
CFG = '/tmp/drm.toml'


def write_cfg(extra=''):
    with open(CFG, 'w') as f:
        f.write(f'[http]\nlisten = "127.0.0.1:{PORT}"\n[stream.cam]\n[[stream.cam.sources]]\n'
                f'[stream.cam.sources.capture]\nbackend = "v4l2"\ndevice = "vivid"\nwidth = 640\nheight = 360\n'
                'pixel_format = "yuyv"\n'
                '[[stream.cam.sinks]]\ntype = "drm"\ndevice = "/dev/dri/card0"\nconnector = "Virtual-1"\n'
                'rect = [100, 80, 640, 360]\n' + extra)


write_cfg()


def api(port=PORT):
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/streams', timeout=5) as r:
            j = json.load(r)
    except Exception:
        return None
    streams = j.get('streams', j) if isinstance(j, dict) else j
    return streams[0] if streams else None


def drm_delivered(s):
    return sum(c['delivered'] for c in s['clients'] if c['name'].startswith('drm')) if s else 0


def wait(cond, timeout=150, port=PORT):
    end = time.time() + timeout
    while time.time() < end:
        s = api(port)
        if s and cond(s):
            return s
        time.sleep(0.5)
    return api(port)


def phase(name, s):
    print(f'guest: phase {name}: state {s and s["state"]}, drm delivered {drm_delivered(s)}, counters '
          f'{s and s["counters"]}', flush=True)
    with open(f'{OUT}/{name}.json', 'w') as f:
        json.dump(s, f)
    os.rename(f'{OUT}/{name}.json', f'{OUT}/{name}')
    end = time.time() + 120
    while time.time() < end and not os.path.exists(f'{OUT}/{name}.ack'):
        time.sleep(0.2)


def serve(env_extra, log, cfg=CFG):
    env = dict(os.environ, **env_extra)
    return subprocess.Popen([CAMRELAY, 'serve', '-c', cfg], stdout=log, stderr=subprocess.STDOUT, env=env)


log = open(f'{OUT}/serve.log', 'w')
p = serve({}, log)
s = wait(lambda s: s['state'] == 'running' and drm_delivered(s) >= 10)
phase('bars', s)

base = s['counters']['frames_placeholder'] if s else 0
# Unplug: unbind the platform device (what a USB unplug does to uvcvideo).
dev = os.path.basename(os.path.realpath(f'/sys/class/video4linux/{os.path.basename(CAP)}/device'))
with open('/sys/bus/platform/drivers/vivid/unbind', 'w') as f:
    f.write(dev)
d0 = drm_delivered(s)
s = wait(lambda s: s['state'] != 'running' and s['counters']['frames_placeholder'] >= base + 5 and
         drm_delivered(s) >= d0 + 5)
phase('placeholder', s)

for _ in range(20):
    if subprocess.run(['rmmod', 'vivid'], capture_output=True).returncode == 0:
        break
    time.sleep(0.5)
subprocess.run(['modprobe', 'vivid'])
cap0 = s['counters']['frames_captured'] if s else 0
s = wait(lambda s: s['state'] == 'running' and s['counters']['frames_captured'] >= cap0 + 10, timeout=120)
phase('back', s)

p.terminate()
p.wait(timeout=30)
log.write('--- restart with CAMRELAY_DRM_LEGACY=1, mode 1024x768\n')
log.flush()
write_cfg('mode = "1024x768"\n')
p = serve({'CAMRELAY_DRM_LEGACY': '1'}, log)
s = wait(lambda s: s['state'] == 'running' and drm_delivered(s) >= 10)
phase('legacy', s)
p.terminate()
p.wait(timeout=30)

# Takeover: A (1024x768) has the screen; B (the preferred mode, another
# rectangle, the test source) waits for it, and takes it when A exits.
log.write('--- takeover: A\n')
log.flush()
p = serve({}, log)
wait(lambda s: s['state'] == 'running' and drm_delivered(s) >= 10)
CFG_B = '/tmp/drm_b.toml'
with open(CFG_B, 'w') as f:
    f.write('[http]\nlisten = "127.0.0.1:18095"\n[stream.b]\n[[stream.b.sources]]\n'
            '[stream.b.sources.capture]\nbackend = "test"\nwidth = 640\nheight = 360\nfps = 10\n'
            '[[stream.b.sinks]]\ntype = "drm"\ndevice = "/dev/dri/card0"\nrect = [300, 200, 640, 360]\n')
log_b = open(f'{OUT}/serve_b.log', 'w')
pb = serve({}, log_b, CFG_B)
end = time.time() + 120
while time.time() < end and 'waiting for the screen' not in open(f'{OUT}/serve_b.log').read():
    time.sleep(0.5)
d_b = drm_delivered(api(18095))
p.terminate()
p.wait(timeout=30)
s = wait(lambda s: drm_delivered(s) >= d_b + 10, port=18095)
phase('takeover', s)
pb.terminate()
pb.wait(timeout=30)
log_b.close()

# A connector that is not there: refused, naming the ones there are.
write_cfg()
with open(CFG) as f:
    text = f.read().replace('connector = "Virtual-1"', 'connector = "HDMI-A-9"')
with open(CFG, 'w') as f:
    f.write(text)
r = subprocess.run([CAMRELAY, 'serve', '-c', CFG], capture_output=True, text=True, timeout=120)
log.write(f'--- connector HDMI-A-9: exit {r.returncode}\n{r.stdout}{r.stderr}')
log.close()
print(open(f'{OUT}/serve.log').read())
