#!/usr/bin/python3
"""Measures a recording of camrelay's test source with audio (beep + flash):
when each beep starts against the first frame of its flash, and the tone's
frequency from the decoded spectrum. Prints one JSON object.

    av_analyse.py FILE [--width W --height H] [--skip SECONDS]

The test picture's flash is a white box over the middle of its upper half
(src/source/test.c); the tone is -26 dBFS and the beep -6 dBFS
(src/audio/test.c). Decoding is ffmpeg's/ffprobe's; numpy does the rest."""
import argparse
import json
import subprocess

import numpy as np


def video_flashes(path, w, h):
    """(pts, bright) of each decoded frame, from the mean luma of the flash box."""
    flt = "movie=%s,crop=%d:%d:%d:%d,signalstats" % (path, w // 2 - 8, h // 4 - 8, w // 4 + 4, h // 8 + 4)
    p = subprocess.run(["ffprobe", "-hide_banner", "-v", "error", "-f", "lavfi", flt, "-show_entries",
                        "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "json"],
                       capture_output=True, text=True, timeout=120)
    frames = json.loads(p.stdout or "{}").get("frames", [])
    out = []
    for f in frames:
        y = float(f.get("tags", {}).get("lavfi.signalstats.YAVG", 0))
        out.append((float(f["pts_time"]), y))
    return out


def audio(path):
    """Decoded mono samples and the time of each (from every frame's pts)."""
    p = subprocess.run(["ffprobe", "-hide_banner", "-v", "error", "-select_streams", "a:0", "-show_entries",
                        "frame=pts_time,nb_samples", "-of", "json", path],
                       capture_output=True, text=True, timeout=120)
    frames = json.loads(p.stdout or "{}").get("frames", [])
    p = subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1",
                        "-f", "f32le", "-"], capture_output=True, timeout=120)
    x = np.frombuffer(p.stdout, dtype="<f4")
    t = np.zeros(len(x))
    i = 0
    rate = 48000  # Opus decodes at 48 kHz
    for f in frames:
        n = int(f["nb_samples"])
        t[i:i + n] = float(f["pts_time"]) + np.arange(min(n, len(x) - i)) / rate
        i += n
        if i >= len(x):
            break
    return x[:i], t[:i], rate


def beep_onsets(x, t, rate):
    """Times where |x| first passes 0.25 after 300 ms below it (tone 0.05, beep 0.5)."""
    loud = np.abs(x) > 0.25
    idx = np.flatnonzero(loud)
    out = []
    last = -10**9
    for i in idx:
        if i - last > int(0.3 * rate):
            out.append(float(t[i]))
        last = i
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--skip", type=float, default=1.5)
    a = ap.parse_args()
    vf = video_flashes(a.file, a.width, a.height)
    flashes = [vf[i][0] for i in range(1, len(vf)) if vf[i][1] > 170 and vf[i - 1][1] <= 170]
    x, t, rate = audio(a.file)
    beeps = beep_onsets(x, t, rate)
    start = max(vf[0][0] if vf else 0, t[0] if len(t) else 0) + a.skip
    pairs = []
    for f in flashes:
        if f < start:
            continue
        near = [b for b in beeps if abs(b - f) < 0.5]
        if near:
            pairs.append(round((near[0] - f) * 1000, 1))
    # The tone between beeps: from 300 ms after each beep to 200 ms before the next.
    mask = np.ones(len(x), bool)
    for b in beeps:
        mask &= ~((t > b - 0.25) & (t < b + 0.3))
    seg = x[mask][: rate * 4]
    freq = 0.0
    if len(seg) > rate // 2:
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        freq = float(np.fft.rfftfreq(len(seg), 1.0 / rate)[int(np.argmax(spec))])
    print(json.dumps({"frames": len(vf), "flashes": len(flashes), "beeps": len(beeps), "samples": len(x),
                      "rate": rate, "offsets_ms": pairs, "tone_hz": round(freq, 1),
                      "tone_dbfs": round(20 * np.log10(np.sqrt(np.mean(seg ** 2)) + 1e-9), 1) if len(seg) else None}))


if __name__ == "__main__":
    main()
