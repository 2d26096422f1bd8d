"""Test clips made with the real ffmpeg from the simulator's picture (colour
bars + frame counter, tests/sim/ptpip_sim.py), so a consumer can tell each
frame and its number after decoding and conversion:

  h264.mp4   H.264 with B-frames (-bf 3), 25 fps, moov in front (faststart)
  vp9.mkv    VP9 in Matroska, 25 fps
  vfr.mkv    H.264, frames 0..VFR_AT-1 at 25 fps, then 12.5 fps (timestamps
             two periods apart: a variable frame rate section)
  odd.mkv    FFV1 4:4:4 at an odd size (W+1)x(H+1): not I420, converted
  cut.mp4    h264.mp4 cut at 60%: plays up to the cut (a damaged tail)
  nomoov.mp4 H.264 mp4 with its index at the end, cut at 60%: unreadable

  clips.py OUTDIR [WxH] [FRAMES]    makes them all, prints their paths"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'sim'))
import ptpip_sim  # noqa: E402

FPS = 25
VFR_AT = 50  # first frame of the 12.5 fps section of vfr.mkv


def frames_rgb(w, h, n):
    base = ptpip_sim.picture_base(w, h)
    for i in range(n):
        yield ptpip_sim.picture(base, i, 'clip frame %d' % i).tobytes()


def encode(path, w, h, n, args, vf=None):
    cmd = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
           '-s', '%dx%d' % (w, h), '-r', str(FPS), '-i', '-'] + (['-vf', vf] if vf else []) + args + [path]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for b in frames_rgb(w, h, n):
        p.stdin.write(b)
    p.stdin.close()
    if p.wait() != 0:
        raise RuntimeError('ffmpeg failed making %s' % path)
    return path


def cut(src, dst, fraction):
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * fraction)])
    return dst


def make_all(out, w=320, h=240, n=75):
    os.makedirs(out, exist_ok=True)
    x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '25', '-crf', '18', '-pix_fmt', 'yuv420p']
    c = {}
    c['h264'] = encode(os.path.join(out, 'h264.mp4'), w, h, n, x264 + ['-movflags', '+faststart'])
    c['vp9'] = encode(os.path.join(out, 'vp9.mkv'), w, h, n,
                      ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-crf', '20', '-b:v', '0',
                       '-g', '25', '-pix_fmt', 'yuv420p'])
    c['vfr'] = encode(os.path.join(out, 'vfr.mkv'), w, h, n, x264 + ['-fps_mode', 'passthrough'],
                      vf="setpts='if(lt(N,%d),N,%d+2*(N-%d))/(%d*TB)'" % (VFR_AT, VFR_AT, VFR_AT, FPS))
    c['odd'] = encode(os.path.join(out, 'odd.mkv'), w + 1, h + 1, n, ['-c:v', 'ffv1', '-pix_fmt', 'yuv444p'],
                      vf='scale=%d:%d' % (w + 1, h + 1))
    c['cut'] = cut(c['h264'], os.path.join(out, 'cut.mp4'), 0.6)
    full = encode(os.path.join(out, 'moov-end.mp4'), w, h, n, x264)
    c['nomoov'] = cut(full, os.path.join(out, 'nomoov.mp4'), 0.6)
    return c


if __name__ == '__main__':
    size = sys.argv[2] if len(sys.argv) > 2 else '320x240'
    w, h = (int(v) for v in size.split('x'))
    for k, v in make_all(sys.argv[1], w, h, int(sys.argv[3]) if len(sys.argv) > 3 else 75).items():
        print(k, v)
