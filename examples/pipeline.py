#!/usr/bin/python3
"""libcamrelay's pipeline from Python, with ctypes only (no compiled module).

    python3 pipeline.py [CONFIG.toml [STREAM]]

Finds the library through pkg-config (PKG_CONFIG_PATH for a private
install). Without CONFIG: the test source, 640x480@30, pattern "noise",
H.264 (x264) at 2 Mbit/s, a keyframe every 30 frames. Packets arrive on the
encoder's thread in the callback; their bytes are copied there and handed to
the main thread through a queue.Queue. It checks what an embedding program
relies on (order, keyframes, request_keyframe, set_bitrate, no thread left)
and exits 1 when a check fails."""
import ctypes
import os
import queue
import subprocess
import sys
import time

API_MAJOR = 0
KEYFRAME, CONFIG = 1, 2
CODEC_H264 = 100


class Config(ctypes.Structure):
    """camrelay_pipeline_config (include/camrelay/pipeline.h), field for field."""
    _fields_ = [("name", ctypes.c_char_p), ("capture_backend", ctypes.c_char_p), ("device", ctypes.c_char_p),
                ("width", ctypes.c_int), ("height", ctypes.c_int), ("fps", ctypes.c_int),
                ("pixel_format", ctypes.c_char_p), ("prefer_dmabuf", ctypes.c_int), ("pattern", ctypes.c_char_p),
                ("encoder_backend", ctypes.c_char_p), ("codec", ctypes.c_char_p), ("bitrate", ctypes.c_int64),
                ("profile", ctypes.c_char_p), ("level", ctypes.c_char_p), ("gop", ctypes.c_int),
                ("encoder_device", ctypes.c_char_p), ("fallback", ctypes.c_char_p),
                ("encoder_prefer_dmabuf", ctypes.c_int), ("payload_type", ctypes.c_int),
                ("clock_rate", ctypes.c_int)]


class Packet(ctypes.Structure):
    """camrelay_encoded_packet."""
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint8)), ("size", ctypes.c_size_t),
                ("capture_time_ns", ctypes.c_int64), ("pts", ctypes.c_int64), ("clock_rate", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("codec", ctypes.c_int), ("width", ctypes.c_int),
                ("height", ctypes.c_int), ("sequence", ctypes.c_uint64), ("encoded_time_ns", ctypes.c_int64)]


PACKET_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(Packet), ctypes.c_void_p)


def load():
    """The installed libcamrelay, as pkg-config finds it."""
    libdir = subprocess.run(["pkg-config", "--variable=libdir", "camrelay"], capture_output=True, text=True,
                            check=True).stdout.strip()
    lib = ctypes.CDLL(os.path.join(libdir, "libcamrelay.so.0"))
    vp = ctypes.c_void_p
    sigs = {
        "camrelay_api_version": (ctypes.c_uint, []),
        "camrelay_version_string": (ctypes.c_char_p, []),
        "camrelay_pipeline_create_toml": (vp, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                               ctypes.c_char_p, ctypes.c_size_t]),
        "camrelay_pipeline_create": (vp, [ctypes.POINTER(Config), ctypes.c_char_p, ctypes.c_size_t]),
        "camrelay_pipeline_set_packet_callback": (ctypes.c_int, [vp, PACKET_FN, vp]),
        "camrelay_pipeline_start": (ctypes.c_int, [vp]),
        "camrelay_pipeline_stop": (ctypes.c_int, [vp]),
        "camrelay_pipeline_destroy": (None, [vp]),
        "camrelay_pipeline_request_keyframe": (ctypes.c_int, [vp]),
        "camrelay_pipeline_set_bitrate": (ctypes.c_int, [vp, ctypes.c_int64]),
        "camrelay_pipeline_last_error": (ctypes.c_char_p, [vp]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


class Pipeline:
    """One pipeline; packets (seq, pts, flags, codec, bytes) come out of .packets."""

    def __init__(self, lib, toml=None, config=None, name=None, stream=None):
        self.lib = lib
        err = ctypes.create_string_buffer(1024)
        if toml is not None:
            self.p = lib.camrelay_pipeline_create_toml(toml.encode(), name and name.encode(),
                                                        stream and stream.encode(), err, len(err))
        else:
            self.p = lib.camrelay_pipeline_create(ctypes.byref(config), err, len(err))
        if not self.p:
            raise ValueError(err.value.decode())
        self.packets = queue.Queue()
        self._cb = PACKET_FN(self._on_packet)  # kept alive as long as the pipeline
        lib.camrelay_pipeline_set_packet_callback(self.p, self._cb, None)

    def _on_packet(self, pkt, _opaque):
        # The encoder's thread; data is valid only now: copy it.
        p = pkt.contents
        self.packets.put((p.sequence, p.pts, p.flags, p.codec, ctypes.string_at(p.data, p.size)))

    def start(self):
        if self.lib.camrelay_pipeline_start(self.p) < 0:
            raise RuntimeError(self.lib.camrelay_pipeline_last_error(self.p).decode())

    def request_keyframe(self):
        self.lib.camrelay_pipeline_request_keyframe(self.p)

    def set_bitrate(self, bps):
        return self.lib.camrelay_pipeline_set_bitrate(self.p, bps)

    def close(self):
        if self.p:
            self.lib.camrelay_pipeline_destroy(self.p)
            self.p = None


DEFAULT = """[stream.example]
[[stream.example.sources]]
[stream.example.sources.capture]
backend = "test"
width = 640
height = 480
fps = 30
pattern = "noise"
[stream.example.sources.encoder]
backend = "x264"
codec = "h264"
bitrate = 2_000_000
gop = 30
"""

failed = passed = 0


def check(ok, what, detail=""):
    global failed, passed
    print(("ok: " if ok else "FAIL: ") + what + (": " + detail if detail else ""), flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


def main():
    lib = load()
    print(f"libcamrelay {lib.camrelay_version_string().decode()}, API {lib.camrelay_api_version() >> 16}."
          f"{lib.camrelay_api_version() & 0xffff}")
    if lib.camrelay_api_version() >> 16 != API_MAJOR:
        sys.exit("library API major differs")
    toml = open(sys.argv[1]).read() if len(sys.argv) > 1 else DEFAULT
    threads_before = len(os.listdir("/proc/self/task"))
    pipe = Pipeline(lib, toml=toml, name=sys.argv[1] if len(sys.argv) > 1 else None,
                    stream=sys.argv[2] if len(sys.argv) > 2 else None)
    pipe.start()
    got = []

    def take(n):
        while len(got) < n:
            got.append(pipe.packets.get(timeout=30))

    gop = 30
    take(100)
    check(all(b[0] > a[0] and b[1] > a[1] for a, b in zip(got, got[1:])), "100 packets in order")
    check(all(p[3] == CODEC_H264 and p[4][:3] in (b"\0\0\1", b"\0\0\0") for p in got), "all Annex-B H.264")
    check(got[0][2] & KEYFRAME and got[0][2] & CONFIG, "first packet: keyframe with configuration",
          f"flags {got[0][2]}")
    keys = [i for i, p in enumerate(got) if p[2] & KEYFRAME]
    check(keys == list(range(0, len(got), gop)), "keyframes every gop packets", f"at {keys}")
    while len(got) % gop != gop // 2:
        take(len(got) + 1)
    at = len(got) + pipe.packets.qsize()  # packets made before the request
    pipe.request_keyframe()
    take(at + 3)
    key_at = next((i - at + 1 for i in range(at, len(got)) if got[i][2] & KEYFRAME), None)
    check(key_at in (1, 2), "request_keyframe: keyframe within 2 frames", f"packet {key_at} after")
    take(len(got) + pipe.packets.qsize())
    end = len(got)
    before = sum(len(p[4]) for p in got[end - 60:end] if not p[2] & KEYFRAME)
    r = pipe.set_bitrate(500000)
    take(end + pipe.packets.qsize() + 60)
    start = end + 0
    after = sum(len(p[4]) for p in got[start:start + 60] if not p[2] & KEYFRAME)
    check(r == 0 and after * 2 <= before, "set_bitrate 2 -> 0.5 Mbit/s halves the bytes within 2 s",
          f"{before} bytes in 60 packets before, {after} after")
    pipe.close()
    # A joined thread leaves /proc a moment after pthread_join returns: wait up to 2 s.
    for _ in range(100):
        threads_after = len(os.listdir("/proc/self/task"))
        if threads_after == threads_before:
            break
        time.sleep(0.02)
    check(threads_after == threads_before, "destroy leaves no thread", f"{threads_before} -> {threads_after}")
    print(f"pipeline.py: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
