#!/usr/bin/python3
"""Checks camrelay's software encoders with ffprobe/ffmpeg.

usage: check_encode.py TEST_ENCODE CASE
  CASE: h264 | h265 | vp8 | vp9 | av1   size, frame count, keyframe interval,
                                        bitrate, request_keyframe, set_bitrate,
                                        codec parameters
        h264-profiles                   SPS profile_idc/level_idc from the config
        input-formats                   I420, NV12 and YUYV input give the same picture
        example ENCODE_EXAMPLE          examples/encode_example.c's output
        stream TEST_STREAM_ENCODE       each encoder as a stage of the stream core;
                                        x264 as congestion control drives it

TEST_ENCODE is tests/encode/test_encode: test-source frames -> public encoder
API -> file. Frames are stamped at 30 fps but fed as fast as possible, so
nothing depends on wall-clock time.
"""
import json
import os
import subprocess
import sys
import tempfile

W, H, FPS = 640, 360, 30
GOP = 60
# The test pattern (colour bars, a moving box, a frame counter) is mostly
# static: at 640x360 each encoder reaches near-lossless quality at some rate
# and stops spending (measured: x264 ~60 kbit/s, x265 ~120, VP9 ~170, libaom
# ~150), and below some rate it cannot go (libvpx VP8 needs ~180 for the
# motion, x265 ~30, VP9 ~60). Each codec is checked between the two, where
# rate control decides the size; set_bitrate() goes from twice that rate
# (content-limited) down to it.
RATES = {"h264": 30000, "h265": 80000, "vp8": 250000, "vp9": 100000, "av1": 80000}
EXT = {"h264": "h264", "h265": "h265", "vp8": "ivf", "vp9": "ivf", "av1": "ivf"}
DEMUX = {"h264": ["-f", "h264"], "h265": ["-f", "hevc"]}

failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def run_encoder(exe, codec, path, **opts):
    args = [exe, "--codec", codec, "--out", path, "--size", f"{W}x{H}", "--fps", str(FPS)]
    for k, v in opts.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        raise SystemExit(f"FAIL  {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    pkts, params = [], None
    for line in p.stdout.splitlines():
        f = line.split()
        if f[0] == "pkt":
            pkts.append({"size": int(f[2]), "key": f[3] == "1", "config": f[4] == "1"})
        elif f[0] == "params":
            params = (int(f[1]), f[2])
    return pkts, params


def probe_frames(codec, path):
    out = subprocess.run(["ffprobe", "-v", "error"] + DEMUX.get(codec, []) +
                         ["-i", path, "-select_streams", "v:0", "-show_frames", "-show_entries",
                          "frame=key_frame,pict_type,width,height,pkt_size", "-of", "json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out).get("frames", [])


def probe_packet_sizes(codec, path):
    out = subprocess.run(["ffprobe", "-v", "error"] + DEMUX.get(codec, []) +
                         ["-i", path, "-select_streams", "v:0", "-show_entries", "packet=size", "-of", "json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [int(p["size"]) for p in json.loads(out).get("packets", [])]


def kbps(sizes, lo, hi):
    return sum(sizes[lo:hi]) * 8 * FPS / (hi - lo) / 1000


def keys(frames):
    return [i for i, f in enumerate(frames) if int(f["key_frame"])]


def codec_case(exe, codec, tmp):
    rate = RATES[codec]
    path = os.path.join(tmp, "main." + EXT[codec])
    pkts, params = run_encoder(exe, codec, path, bitrate=rate, gop=GOP, frames=300)
    frames = probe_frames(codec, path)
    check(len(pkts) == 300, f"{codec}: one packet per frame ({len(pkts)} packets for 300 frames)")
    check(len(frames) == 300, f"{codec}: ffprobe decodes 300 frames (got {len(frames)})")
    sizes = {(int(f["width"]), int(f["height"])) for f in frames}
    check(sizes == {(W, H)}, f"{codec}: every frame is {W}x{H} (got {sorted(sizes)})")
    want = list(range(0, 300, GOP))
    check(keys(frames) == want, f"{codec}: keyframes every {GOP} frames: {keys(frames)}")
    check([i for i, p in enumerate(pkts) if p["key"]] == want,
          f"{codec}: packets flagged keyframe where ffprobe sees them")
    sizes = probe_packet_sizes(codec, path)
    check(len(sizes) == 300, f"{codec}: ffprobe reads 300 packets (got {len(sizes)})")
    got = kbps(sizes, 0, 300)
    check(abs(got / (rate / 1000) - 1) <= 0.15,
          f"{codec}: {got:.1f} kbit/s over 10 s for {rate // 1000} kbit/s configured (within 15%)")
    if codec in ("h264", "h265", "av1"):
        check(all(p["config"] == p["key"] for p in pkts),
              f"{codec}: every keyframe, and only keyframes, carry the parameter sets")
        check(params[0] > 0, f"{codec}: codec parameters exposed ({params[0]} bytes)")
    else:
        check(not any(p["config"] for p in pkts) and params[0] == 0,
              f"{codec}: no parameter sets (none exist for {codec})")
    if codec == "h264":
        check(params[1][:2] == "42" and params[1][4:] == "1f",
              f"h264: default profile-level-id is baseline 3.1 ({params[1]})")

    # request_keyframe(): a keyframe within 2 frames, none before.
    path = os.path.join(tmp, "kf." + EXT[codec])
    run_encoder(exe, codec, path, bitrate=rate, gop=GOP, frames=100, keyframe_at=45)
    k = keys(probe_frames(codec, path))
    check(k[0] == 0 and k[1] in (45, 46) and all(i == 0 or i >= 45 for i in k),
          f"{codec}: request_keyframe() before frame 45 gives a keyframe at 45..46 (keyframes {k})")

    # set_bitrate(): from twice the rate down to the rate at frame 150.
    path = os.path.join(tmp, "rate." + EXT[codec])
    run_encoder(exe, codec, path, bitrate=2 * rate, gop=GOP, frames=300, bitrate_at=f"150:{rate}")
    sizes = probe_packet_sizes(codec, path)
    # Frames 30..149 and 180..299: four keyframes each, away from the switch.
    before, after = kbps(sizes, 30, 150), kbps(sizes, 180, 300)
    check(abs(after / (rate / 1000) - 1) <= 0.2 and before / after >= 1.3,
          f"{codec}: set_bitrate({rate // 1000} kbit/s) from {2 * rate // 1000}: "
          f"{before:.1f} kbit/s before, {after:.1f} after (after within 20%, drop >= 1.3x)")


def sps_profile_level(path):
    data = open(path, "rb").read()
    i = data.find(b"\x00\x00\x01\x67")
    if i < 0:
        i = data.find(b"\x00\x00\x01\x27")
    return (data[i + 4], data[i + 6]) if i >= 0 else (None, None)


def profiles_case(exe, tmp):
    cases = [({"profile": "baseline", "level": "3.1"}, 66, 31),
             ({"profile": "42001f"}, 66, 31),
             ({"profile": "main", "level": "4"}, 77, 40),
             ({"profile": "high", "level": "4.1"}, 100, 41)]
    for n, (opts, pidc, lidc) in enumerate(cases):
        path = os.path.join(tmp, f"p{n}.h264")
        _, params = run_encoder(exe, "h264", path, bitrate=500000, gop=30, frames=10, **opts)
        got = sps_profile_level(path)
        check(got == (pidc, lidc), f"h264 {opts}: SPS profile_idc/level_idc {got}, want {(pidc, lidc)}")
        st = json.loads(subprocess.run(["ffprobe", "-v", "error", "-f", "h264", "-i", path, "-show_entries",
                                        "stream=profile,level", "-of", "json"], capture_output=True,
                                       text=True, check=True).stdout)["streams"][0]
        check(st["level"] == lidc, f"h264 {opts}: ffprobe level {st['level']} ({st['profile']})")
        check(params[1][:2] == f"{pidc:02x}" and params[1][4:] == f"{lidc:02x}",
              f"h264 {opts}: exposed profile-level-id {params[1]}")
    for opts, msg in [({"profile": "foo", "level": "3.1"}, "unknown H.264 profile"),
                      ({"profile": "42001f", "level": "4"}, "contradicts"),
                      ({"profile": "baseline", "level": "9.9"}, "unknown H.264 level")]:
        p = subprocess.run([exe, "--codec", "h264", "--out", os.path.join(tmp, "bad.h264"), "--frames", "1"] +
                           [a for k, v in opts.items() for a in ("--" + k, v)], capture_output=True, text=True)
        check(p.returncode != 0 and msg in p.stderr, f"h264 {opts} is refused: {p.stderr.strip()}")


def first_frame(codec, path):
    """The first decoded frame as I420 bytes."""
    return subprocess.run(["ffmpeg", "-v", "error"] + DEMUX.get(codec, []) +
                          ["-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                          capture_output=True, check=True).stdout


def formats_case(exe, tmp):
    for codec in ("h264", "vp8"):
        ref = None
        for fmt in ("yuv420", "nv12", "yuyv"):
            path = os.path.join(tmp, f"{fmt}.{EXT[codec]}")
            run_encoder(exe, codec, path, bitrate=1000000, gop=10, frames=30, pixfmt=fmt)
            frames = probe_frames(codec, path)
            check(len(frames) == 30 and keys(frames) == [0, 10, 20],
                  f"{codec} from {fmt}: 30 frames, keyframes every 10 ({keys(frames)})")
            pic = first_frame(codec, path)
            if ref is None:
                # The reference is this same encoder's output: it must be the
                # test pattern, or a broken encode would agree with itself. The
                # 75% bars in BT.601 limited range, luma at mid-height:
                lum = [pic[W * (H // 2) + (2 * i + 1) * W // 16] if len(pic) == W * H * 3 // 2 else -99
                       for i in range(8)]
                check(all(abs(a - b) <= 10 for a, b in zip(lum, (180, 162, 131, 112, 84, 65, 35, 16))),
                      f"{codec} from {fmt}: the reference picture is {W}x{H} with the bars (luma {lum})")
                ref = pic
            else:
                # Mean absolute difference over Y, U and V: swapped or
                # misaligned planes would differ by tens.
                mad = sum(abs(a - b) for a, b in zip(pic, ref)) / max(len(ref), 1)
                check(len(pic) == len(ref) and mad < 2,
                      f"{codec} from {fmt}: same picture as from yuv420 (mean abs difference {mad:.2f})")


def example_case(example, tmp):
    for codec, demux in (("h264", ["-f", "h264"]), ("vp8", [])):
        path = os.path.join(tmp, "example." + ("h264" if codec == "h264" else "ivf"))
        p = subprocess.run([example, path, codec], capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"encode_example {codec} runs ({p.stderr.strip()})")
        st = json.loads(subprocess.run(["ffprobe", "-v", "error"] + demux +
                                       ["-i", path, "-count_frames", "-show_entries",
                                        "stream=codec_name,width,height,nb_read_frames", "-of", "json"],
                                       capture_output=True, text=True, check=True).stdout)["streams"][0]
        check(st["codec_name"] == codec and int(st["nb_read_frames"]) == 60 and
              (st["width"], st["height"]) == (320, 240), f"encode_example {codec}: {st}")


def stream_case(exe, tmp):
    """Each software encoder as a stage of the stream core (YUYV test source)."""
    for codec in RATES:
        path = os.path.join(tmp, "stream." + EXT[codec])
        p = subprocess.run([exe, codec, path, "45"], capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"stream {codec}: 45 packets from the stream core" +
              (f" ({p.stderr.strip()})" if p.returncode else ""))
        pkts, request = [], None
        for line in p.stdout.splitlines():
            f = line.split()
            if f[0] == "pkt":
                pkts.append((f[3] == "1", f[4] == "1"))
            elif f[0] == "request":
                request = int(f[1])
        check(pkts and pkts[0][0] and (pkts[0][1] or codec in ("vp8", "vp9")),
              f"stream {codec}: the first packet is a keyframe with its parameters")
        check(request is not None and any(k for k, _ in pkts[request:request + 5]),
              f"stream {codec}: keyframe within 5 packets of cr_sub_request_keyframe() at packet {request}")
        frames = probe_frames(codec, path)
        check(len(frames) == 45 and {(int(f["width"]), int(f["height"])) for f in frames} == {(320, 240)},
              f"stream {codec}: ffprobe decodes 45 frames of 320x240 (got {len(frames)})")


def stream_cc_case(exe, tmp):
    """x264 driven as congestion control drives it (whep_cc.c): the keyframe
    asked for at a cut to 400 kbit/s fits a quarter second of the new rate,
    the small one (after a cut for a link that fell) an eighth; a rate set
    as a user's call keeps half a second (as at start). Noise pattern: every
    keyframe is as large as the rate buffer lets it be. Sizes, not times."""
    path = os.path.join(tmp, "cc.h264")
    p = subprocess.run([exe, "h264", path, "180", "cc"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "stream h264 cc: 180 packets from the stream core" +
          (f" ({p.stderr.strip()})" if p.returncode else ""))
    key = {f[1]: int(f[2]) for f in (line.split() for line in p.stdout.splitlines()) if f and f[0] == "key"}
    print(f"      keyframes at a cut to 400 kbit/s (bytes): {key}")
    net, small, user = key.get("network", 0), key.get("small", 0), key.get("user", 0)
    check(0 < net <= 400000 / 8 / 4 * 1.25, f"stream h264 cc: keyframe at a congestion cut within a quarter "
          f"second of 400 kbit/s ({net} bytes)")
    check(0 < small <= 0.6 * net, f"stream h264 cc: the small keyframe at most 0.6 x that ({small} bytes)")
    check(user >= 1.2 * net, f"stream h264 cc: a user's set_bitrate keeps the half-second buffer: its keyframe "
          f">= 1.2 x the congestion one ({user} bytes)")


def main():
    exe, case = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="camrelay-encode-") as tmp:
        if case in RATES:
            codec_case(exe, case, tmp)
        elif case == "h264-profiles":
            profiles_case(exe, tmp)
        elif case == "input-formats":
            formats_case(exe, tmp)
        elif case == "stream":
            stream_case(sys.argv[3], tmp)
            stream_cc_case(sys.argv[3], tmp)
        elif case == "example":
            example_case(sys.argv[3], tmp)
        else:
            raise SystemExit(f"unknown case {case}")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
