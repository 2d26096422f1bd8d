#!/usr/bin/python3
"""Pixel checks on frames from vimc (raw files written by mc_capture or
decoded snapshots).

vimc's sensor draws the TPG's default "75% Colorbar" pattern: eight vertical
bars of equal width, left to right white, yellow, cyan, green, magenta, red,
blue, black, at 75% intensity (about 191 of 255). The debayer block turns a
Bayer mosaic back into RGB, averaging a 3x3 window, so values are checked in
the middle of each bar, away from the edges and from the on-screen text in
the top rows.

  check_frame.py rgb FILE W H            RGB24 frame: the eight bars
  check_frame.py rgbview FILE W H SW CX CW
                                         RGB24 frame showing columns CX..CX+CW of a
                                         sensor frame SW wide (a crop, then scaled): each
                                         sampled column has its bar's colour
  check_frame.py bayer FILE W H ORDER    8-bit Bayer (ORDER = RGGB, BGGR, GRBG, GBRG):
                                         per bar, the R, G and B sites of 2x2 cells
  check_frame.py crop FULL CROPPED W H X Y CW CH
                                         CROPPED (W x H RGB24) is the (X,Y,CW,CH) region of
                                         FULL (W x H RGB24) scaled to W x H by nearest
                                         neighbour, as vimc's scaler does: every pixel equal
Exit 0 when the frame matches, 1 with the first difference otherwise.
"""
import sys

BARS = [("white", (1, 1, 1)), ("yellow", (1, 1, 0)), ("cyan", (0, 1, 1)), ("green", (0, 1, 0)),
        ("magenta", (1, 0, 1)), ("red", (1, 0, 0)), ("blue", (0, 0, 1)), ("black", (0, 0, 0))]
HIGH, LOW = 150, 60  # 75% bars are ~191; off channels ~0


def load(path, size):
    data = open(path, "rb").read()
    if len(data) != size:
        sys.exit(f"{path}: {len(data)} bytes, expected {size}")
    return data


def level_ok(v, on):
    return v >= HIGH if on else v <= LOW


def check_rgb(path, w, h):
    d = load(path, w * h * 3)
    rows = [h * 5 // 8, h * 3 // 4, h * 7 // 8]
    for i, (name, want) in enumerate(BARS):
        x = (2 * i + 1) * w // 16
        for y in rows:
            o = (y * w + x) * 3
            px = d[o:o + 3]
            if not all(level_ok(px[c], want[c]) for c in range(3)):
                sys.exit(f"bar {i} ({name}) at ({x},{y}): RGB {tuple(px)}, expected channels {want} "
                         f"(on >= {HIGH}, off <= {LOW})")
    print(f"rgb ok: 8 bars at rows {rows}")


def check_view(path, w, h, sw, cx, cw):
    d = load(path, w * h * 3)
    y = h * 3 // 4
    seen = set()
    for x in range(w // 64, w, w // 32):
        sx = cx + x * cw // w
        bar = sx * 8 // sw
        edge = min(sx - bar * sw // 8, (bar + 1) * sw // 8 - sx)
        if edge < sw // 64 or x < 2 or x > w - 3:
            continue  # the debayer averages across bar edges
        name, want = BARS[bar]
        o = (y * w + x) * 3
        px = d[o:o + 3]
        if not all(level_ok(px[c], want[c]) for c in range(3)):
            sys.exit(f"({x},{y}) shows sensor column {sx}, bar {bar} ({name}): RGB {tuple(px)}, expected {want}")
        seen.add(bar)
    # The columns shown cover several bars (a crop of 8 bars); none checked is no check.
    if len(seen) < 2:
        sys.exit(f"view: only bars {sorted(seen)} checked: columns {cx}..{cx + cw} of {sw} leave nothing to compare")
    print(f"view ok: columns {cx}..{cx + cw} of {sw}: bars {sorted(seen)}")


def check_bayer(path, w, h, order):
    d = load(path, w * h)
    order = order.upper()
    if sorted(order) != sorted("RGGB"):
        sys.exit(f"bad Bayer order {order}")
    for i, (name, want) in enumerate(BARS):
        x = ((2 * i + 1) * w // 16) & ~1
        y = (h * 3 // 4) & ~1
        cell = [d[y * w + x], d[y * w + x + 1], d[(y + 1) * w + x], d[(y + 1) * w + x + 1]]
        for site, colour in zip(cell, order):
            c = "RGB".index(colour)
            if not level_ok(site, want[c]):
                sys.exit(f"bar {i} ({name}): {order} cell at ({x},{y}) is {cell}; the {colour} site is {site}, "
                         f"expected {'on' if want[c] else 'off'}")
    print(f"bayer {order} ok: 8 bars")


def check_crop(full, cropped, w, h, cx, cy, cw, ch):
    a, b = load(full, w * h * 3), load(cropped, w * h * 3)
    for y in range(h):
        sy = y * ch // h + cy
        for x in range(w):
            sx = x * cw // w + cx
            o, p = (y * w + x) * 3, (sy * w + sx) * 3
            if b[o:o + 3] != a[p:p + 3]:
                sys.exit(f"cropped ({x},{y}) = {tuple(b[o:o + 3])} but full ({sx},{sy}) = {tuple(a[p:p + 3])}")
    # A crop that shows something else would differ from the full frame itself.
    if a == b:
        sys.exit("cropped frame is identical to the full frame")
    print(f"crop ok: {w}x{h} frame is ({cx},{cy})/{cw}x{ch} of the full frame, pixel for pixel")


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "rgb":
        check_rgb(a[1], int(a[2]), int(a[3]))
    elif len(a) == 7 and a[0] == "rgbview":
        check_view(a[1], *map(int, a[2:]))
    elif len(a) == 5 and a[0] == "bayer":
        check_bayer(a[1], int(a[2]), int(a[3]), a[4])
    elif len(a) == 9 and a[0] == "crop":
        check_crop(a[1], a[2], *map(int, a[3:]))
    else:
        sys.exit(__doc__)


main()
