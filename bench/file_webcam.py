#!/usr/bin/python3
"""A video file into the webcam: camrelay side by side with the ffmpeg line
users run instead, on the same 1080p H.264 file, into the real v4l2loopback
in the project's VM (one run-in-vm boot for both):

    ffmpeg -re -stream_loop -1 -i clip.mp4 -f v4l2 -pix_fmt yuv420p /dev/videoN
    camrelay webcam --from clip.mp4 --to /dev/videoN --no-keep-format

    bench/file_webcam.py CAMRELAY [--seconds 15] [--warmup 4] [--clip-seconds 10] [--json FILE]

The clip (1920x1080, 25 fps, H.264 High with B-frames, SMPTE-like bars with
motion: ffmpeg's testsrc2) is made on the host once per run. In the guest,
one producer at a time (ffmpeg first) writes into the exclusive_caps=0
loopback device while `ffmpeg -f v4l2 -i DEV -f null -` reads it (the
consumer is not measured). After a warm-up, over the window: the producer's
CPU (utime+stime of the whole process, /proc/PID/stat) divided by the frames
it wrote in the window (ffmpeg: its -progress frame count; camrelay: the
stream's frames_captured from /api/streams, --http on loopback), fps, RSS.

QEMU TCG (software-emulated CPU): absolute ms/frame are several times real
hardware's and move with the host's load; the camrelay/ffmpeg ratio on the
same file in the same VM is the result. Use a release build of camrelay."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mjpeg import cpu_seconds, free_port, status_kb  # noqa: E402  (bench/mjpeg.py)


class BenchError(Exception):
    pass


def ffmpeg_frames(progress):
    """The last frame= of an ffmpeg -progress file."""
    try:
        with open(progress) as f:
            n = [int(line.split('=')[1]) for line in f if line.startswith('frame=')]
        return n[-1] if n else 0
    except OSError:
        return 0


def camrelay_frames(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/api/streams' % port, timeout=10) as r:
        return json.load(r)['streams'][0]['counters']['frames_captured']


def measure(name, cmd, frames_of, dev, a, workdir):
    log = open(os.path.join(workdir, name + '.log'), 'w')
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    consumer = None
    try:
        deadline = time.monotonic() + 120
        while True:  # the producer has written its first frames
            if p.poll() is not None:
                raise BenchError('%s exited (%d) at start: see %s' % (name, p.returncode, log.name))
            try:
                if frames_of() > 0:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError('%s wrote no frame in 120 s' % name)
            time.sleep(0.5)
        consumer = subprocess.Popen(['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'v4l2',
                                     '-i', dev, '-f', 'null', '-'], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        time.sleep(a.warmup)
        c0, f0, t0 = cpu_seconds(p.pid), frames_of(), time.monotonic()
        time.sleep(a.seconds)
        c1, f1, t1 = cpu_seconds(p.pid), frames_of(), time.monotonic()
        rss = status_kb(p.pid, 'VmRSS')
        if f1 <= f0:
            raise BenchError('%s wrote no frame in the window' % name)
        return {'name': name, 'cpu_ms_per_frame': 1000 * (c1 - c0) / (f1 - f0), 'fps': (f1 - f0) / (t1 - t0),
                'frames': f1 - f0, 'cpu_percent': 100 * (c1 - c0) / (t1 - t0), 'rss_kb': rss}
    finally:
        for q in (consumer, p):
            if q and q.poll() is None:
                q.terminate()
                try:
                    q.wait(30)
                except subprocess.TimeoutExpired:
                    q.kill()
                    q.wait()


def guest_main(a):
    dev = os.environ['CAMRELAY_VM_LOOP']
    work = tempfile.mkdtemp(prefix='fbench-')
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'])
    progress = os.path.join(work, 'progress')
    res = [measure('ffmpeg', ['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error', '-progress', progress,
                              '-re', '-stream_loop', '-1', '-i', a.clip, '-f', 'v4l2', '-pix_fmt', 'yuv420p', dev],
                   lambda: ffmpeg_frames(progress), dev, a, work)]
    port = free_port()
    res.append(measure('camrelay', [a.camrelay, 'webcam', '--from', a.clip, '--to', dev, '--no-keep-format',
                                    '--http', '127.0.0.1:%d' % port],
                       lambda: camrelay_frames(port), dev, a, work))
    with open(a.out, 'w') as f:
        json.dump(res, f)


def host_main(a):
    camrelay = os.path.realpath(a.camrelay)
    if not os.access(camrelay, os.X_OK):
        raise BenchError('%s: no camrelay executable there (scripts/build release)' % a.camrelay)
    outdir = tempfile.mkdtemp(prefix='fbench-out-')
    clip = os.path.join(outdir, 'clip.mp4')
    subprocess.run(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i',
                    'testsrc2=size=1920x1080:rate=25', '-t', str(a.clip_seconds), '-c:v', 'libx264', '-preset',
                    'veryfast', '-profile:v', 'high', '-bf', '3', '-b:v', '6M', '-pix_fmt', 'yuv420p', clip],
                   check=True)
    out = os.path.join(outdir, 'results.json')
    cmd = [os.path.join(REPO, 'tests/vm/run-in-vm'), '--timeout', str(int(300 + 2 * (a.seconds + a.warmup + 120))),
           '--outdir', outdir, '--', '/usr/bin/python3', os.path.realpath(__file__), '--guest', camrelay,
           '--clip', clip, '--out', out, '--seconds', str(a.seconds), '--warmup', str(a.warmup)]
    load = os.getloadavg()
    rc = subprocess.run(cmd, cwd=os.path.dirname(camrelay)).returncode
    if not os.path.exists(out):
        raise BenchError('the benchmark in the VM failed (run-in-vm exit status %d, see above)' % rc)
    with open(out) as f:
        res = json.load(f)
    print('file -> webcam, 1920x1080 H.264 25 fps (testsrc2, B-frames), %g s window, QEMU TCG; host load %.1f'
          % (a.seconds, load[0]))
    print('%-10s %12s %8s %8s %10s' % ('producer', 'CPU ms/frame', 'fps', 'CPU %', 'RSS MB'))
    for r in res:
        print('%-10s %12.2f %8.2f %8.1f %10.1f' % (r['name'], r['cpu_ms_per_frame'], r['fps'], r['cpu_percent'],
                                                   r['rss_kb'] / 1024))
    ff, cr = res[0], res[1]
    print('camrelay/ffmpeg CPU per frame: %.2f' % (cr['cpu_ms_per_frame'] / ff['cpu_ms_per_frame']))
    if a.json:
        shutil.copy(out, a.json)
    shutil.rmtree(outdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('camrelay', help='camrelay executable (a release build)')
    ap.add_argument('--seconds', type=float, default=15, help='measured window per producer')
    ap.add_argument('--warmup', type=float, default=4)
    ap.add_argument('--clip-seconds', type=float, default=10)
    ap.add_argument('--json', help='also write the results here')
    ap.add_argument('--guest', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--clip', help=argparse.SUPPRESS)
    ap.add_argument('--out', help=argparse.SUPPRESS)
    a = ap.parse_args()
    try:
        if a.guest:
            guest_main(a)
        else:
            host_main(a)
    except BenchError as e:
        print('fbench: FAILED: %s' % e, file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
