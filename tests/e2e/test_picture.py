#!/usr/bin/python3
"""The picture that comes out of /snapshot/test is the test source's: eight
75% colour bars (white, yellow, cyan, green, magenta, red, blue, black) side
by side over the top three quarters, a dark band below."""

import e2e
from e2e import check

# 75% bars in RGB. The test source draws BT.601 limited-range YUV (75% white
# is Y 180, black Y 16); a JPEG is full range (JFIF), so the encoder expands
# it and PIL (libjpeg, an independent decoder) shows 191 and 0, as for any
# full-range picture. Not expanded, white would come out ~180 and black ~16:
# the tolerance is far below that.
BARS = [("white", (191, 191, 191)), ("yellow", (191, 191, 0)), ("cyan", (0, 191, 191)),
        ("green", (0, 191, 0)), ("magenta", (191, 0, 191)), ("red", (191, 0, 0)),
        ("blue", (0, 0, 191)), ("black", (0, 0, 0))]
TOLERANCE = 4


def mean_rgb(img, x0, y0, x1, y1):
    px = [img.getpixel((x, y)) for y in range(y0, y1, 2) for x in range(x0, x1, 2)]
    return tuple(sum(p[c] for p in px) / len(px) for c in range(3))


def main(exe):
    with e2e.Server(exe) as srv:
        status, headers, body = e2e.get(srv.url + "/snapshot/test")
        check(status == 200, f"/snapshot/test: HTTP {status}")
        img = e2e.decode_jpeg(body).convert("RGB")
        w, h = img.size
        check((w, h) == (1280, 720), f"snapshot size {img.size}")
        for i, (name, want) in enumerate(BARS):
            # The middle of each bar, well inside it (JPEG blurs edges), in
            # the upper part of the bar area (the frame counter is drawn at
            # its bottom edge).
            cx = w * (2 * i + 1) // 16
            got = mean_rgb(img, cx - 24, h // 4, cx + 24, h // 2)  # below the timecode block (top 20%)
            print(f"bar {i} {name}: {tuple(round(v) for v in got)}")
            check(all(abs(g - e) <= TOLERANCE for g, e in zip(got, want)),
                  f"bar {i} at x={cx} should be {name} {want}, is {tuple(round(v) for v in got)}")
        # Below the bars: the dark band (the moving box is at most h/8 wide).
        band = mean_rgb(img, 0, h * 3 // 4 + 4, w, h - 4)
        print(f"bottom band: {tuple(round(v) for v in band)}")
        check(all(v < 90 for v in band), f"bottom quarter should be dark, is {band}")


if __name__ == "__main__":
    e2e.run(main)
