#!/bin/bash
# Guest side (tests/vm): examples/pipeline_example.c, built against the
# installed libcamrelay, on real drivers. One boot, two cases:
#   vivid   V4L2 capture (vivid's Noise pattern, 640x480@30 YUYV) -> x264:
#           every check of the example (order, keyframes, request_keyframe,
#           set_bitrate, no thread left)
#   m2m     vivid -> vicodec (V4L2 M2M FWHT encoder) with prefer_dmabuf on
#           both sides: packets in order and 0 bytes copied (as m2m-vm shows
#           for the daemon); and without DMA-BUF the same check fails
#   lib-vm.sh EXAMPLE
set -u
EX=$1
CAP=${CAMRELAY_VM_VIVID_CAP:?not in the VM bench}
W=${TMPDIR:-/tmp}/lib-vm
mkdir -p "$W"
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

cat >"$W/vivid.toml" <<EOF2
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "$CAP"
width = 640
height = 480
fps = 30
pixel_format = "yuyv"
[stream.cam.sources.capture.controls]
test_pattern = "Noise"
[stream.cam.sources.encoder]
backend = "x264"
codec = "h264"
bitrate = 2_000_000
gop = 30
preset = "ultrafast"
EOF2
cat >"$W/m2m.toml" <<EOF2
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "$CAP"
width = 640
height = 480
fps = 30
pixel_format = "yuv420"
prefer_dmabuf = true
[stream.cam.sources.encoder]
backend = "v4l2-m2m"
codec = "fwht"
gop = 10
prefer_dmabuf = true
EOF2

echo "--- vivid -> x264 through the library"
if timeout 600 "$EX" "$W/vivid.toml" --wait 240 2>&1; then ok "vivid: every check of the example"; else bad "vivid: the example failed"; fi
echo "--- vivid -> vicodec (DMA-BUF) through the library"
timeout 300 "$EX" "$W/m2m.toml" --fwht --zero-copy --packets 30 --wait 120 >"$W/m2m.log" 2>&1
rc=$?
cat "$W/m2m.log"
if [ $rc = 0 ]; then ok "m2m: FWHT packets, 0 bytes copied"; else bad "m2m: the example failed"; fi
grep -q "not imported as DMA-BUF" "$W/m2m.log" && bad "m2m: fell back to copies" || ok "m2m: imported (no fallback line)"
echo "--- control: the same without DMA-BUF must count copies (the zero-copy check can fail)"
sed 's/prefer_dmabuf = true/prefer_dmabuf = false/' "$W/m2m.toml" >"$W/m2m-copy.toml"
timeout 300 "$EX" "$W/m2m-copy.toml" --fwht --zero-copy --packets 10 --wait 120 >"$W/m2m-copy.log" 2>&1
rc=$?
grep -E "zero copy|^stats" "$W/m2m-copy.log"
if [ $rc = 1 ] && grep -q "^FAIL: zero copy: 0 bytes copied: [1-9]" "$W/m2m-copy.log"; then
	ok "control: copies counted without DMA-BUF"; else bad "control: exit $rc, no copies counted"; fi
echo "lib-vm: $pass passed, $fail failed"
[ $fail = 0 ]
