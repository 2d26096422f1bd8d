#!/usr/bin/python3
"""Checks vicodec FWHT output of the v4l2-m2m backend.

  check_fwht.py headers FILE W H   every packet is one FWHT frame: the
                                   header's magic, size and W x H, and the
                                   packets tile the file exactly
  check_fwht.py bars FILE W H      FILE holds YU12 frames decoded by vicodec;
                                   the last one shows vivid's 75% colour bars
                                   (luma falls bar by bar, white to black)
"""
import struct
import sys

# struct fwht_cframe_hdr (drivers/media/test-drivers/vicodec/codec-fwht.h):
# magic1, magic2, then big-endian version, width, height, flags, colorspace,
# xfer_func, ycbcr_enc, quantization, size.
HDR = struct.Struct(">IIIIIIIIIII")
MAGIC1, MAGIC2 = 0x4F4F4F4F, 0xFFFFFFFF


def headers(path, w, h):
    data = open(path, "rb").read()
    off = n = 0
    while off < len(data):
        if off + HDR.size > len(data):
            print(f"{path}: truncated header at byte {off}")
            return False
        m1, m2, ver, fw, fh, flags, _, _, _, _, size = HDR.unpack_from(data, off)
        if (m1, m2) != (MAGIC1, MAGIC2):
            print(f"{path}: packet {n} at byte {off}: magic {m1:#x} {m2:#x}, not FWHT")
            return False
        if (fw, fh) != (w, h):
            print(f"{path}: packet {n}: {fw}x{fh}, expected {w}x{h}")
            return False
        if n == 0:
            print(f"{path}: FWHT version {ver}, {fw}x{fh}, flags {flags:#x}")
        off += HDR.size + size
        n += 1
    if off != len(data) or n == 0:
        print(f"{path}: {n} packets do not tile the file ({off} != {len(data)})")
        return False
    print(f"{path}: {n} FWHT packets, {len(data)} bytes")
    return True


def _bars_row(lum):
    return all(lum[i] > lum[i + 1] + 5 for i in range(7)) and lum[0] > 150 and lum[7] < 40


def bars(path, w, h):
    """The decoder picks its raw format from the stream (4:2:0 or 4:2:2):
    the last frame is read as YU12, YUYV and 422P; one must show the bars."""
    try:
        data = open(path, "rb").read()
    except OSError as e:
        print(f"{path}: {e}")
        return False
    y = h * 7 // 8  # below vivid's text lines
    for name, fsize, bpp in (("YU12", w * h * 3 // 2, 1), ("YUYV", w * h * 2, 2), ("422P", w * h * 2, 1)):
        if len(data) < fsize or len(data) % fsize:
            continue
        frame = data[(len(data) // fsize - 1) * fsize:][:fsize]
        row = frame[y * w * bpp:(y + 1) * w * bpp:bpp]
        lum = [sum(row[int((i + 0.5) * w / 8) - 4:int((i + 0.5) * w / 8) + 4]) / 8 for i in range(8)]
        print(f"{path}: as {name}: {len(data) // fsize} frames; bar luma at row {y}: {[round(v) for v in lum]}")
        if _bars_row(lum):
            return True
    print(f"{path}: {len(data)} bytes: no {w}x{h} frame with vivid's colour bars")
    return False


def main():
    what, path, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ok = headers(path, w, h) if what == "headers" else bars(path, w, h)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
