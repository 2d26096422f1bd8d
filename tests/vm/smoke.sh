#!/usr/bin/env bash
# Smoke test of the test bench, run inside the VM:
#   tests/vm/run-in-vm -- tests/vm/smoke.sh
# Checks that every virtual media driver is there and works a little. Prints one
# line per check and exits non-zero if any failed.
set -uo pipefail

if [ "${CAMRELAY_VM:-}" != 1 ]; then
  echo "smoke.sh: run me inside the VM: tests/vm/run-in-vm -- tests/vm/smoke.sh" >&2
  exit 2
fi

failed=0
passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
bad() { echo "FAIL - $*"; failed=$((failed + 1)); }
T=/tmp/smoke
mkdir -p "$T"

# 1. every driver in v4l2-ctl --list-devices
if timeout 30 v4l2-ctl --list-devices >"$T/devices" 2>&1; then
  for want in "(platform:vivid-000)" "vimc (platform:vimc)" "vicodec (platform:vicodec)" \
    "vim2m (platform:vim2m)" "camrelay-loop-excl (platform:v4l2loopback-000)" \
    "camrelay-loop (platform:v4l2loopback-001)"; do
    if grep -qF "$want" "$T/devices"; then ok "list-devices shows $want"; else bad "list-devices lacks $want"; fi
  done
else
  bad "v4l2-ctl --list-devices failed: $(cat "$T/devices")"
fi

# 2. the nodes found by run-in-vm, and what each one is
check_info() { # VAR expected-driver expected-capability-text
  local var="$1" drv="$2" cap="$3" dev="${!1:-}"
  if [ -z "$dev" ] || [ ! -c "$dev" ]; then
    bad "$var: '$dev' is not a character device"
    return
  fi
  if ! timeout 30 v4l2-ctl -d "$dev" --info >"$T/info" 2>&1; then
    bad "$var ($dev): v4l2-ctl --info failed: $(head -n3 "$T/info")"
  elif ! grep -q "Driver name *: $drv\$" "$T/info"; then
    bad "$var ($dev): driver is not $drv: $(grep 'Driver name' "$T/info")"
  elif ! grep -q "$cap" "$T/info"; then
    bad "$var ($dev): no '$cap' capability"
  else
    ok "$var=$dev is $drv ($cap)"
  fi
}
check_info CAMRELAY_VM_VIVID_CAP vivid "Video Capture"
check_info CAMRELAY_VM_VIVID_OUT vivid "Video Output"
check_info CAMRELAY_VM_VIMC_RGB vimc "Video Capture"
check_info CAMRELAY_VM_VICODEC_ENC vicodec "Video Memory-to-Memory"
check_info CAMRELAY_VM_VICODEC_DEC vicodec "Video Memory-to-Memory"
check_info CAMRELAY_VM_VIM2M vim2m "Video Memory-to-Memory"
check_info CAMRELAY_VM_LOOP_EXCL "v4l2 loopback" "Video Output"
check_info CAMRELAY_VM_LOOP "v4l2 loopback" "Video Capture"
# vicodec: encoder takes raw on OUTPUT, gives FWHT on CAPTURE; the decoder the reverse.
if timeout 30 v4l2-ctl -d "$CAMRELAY_VM_VICODEC_ENC" --list-formats 2>/dev/null | grep -q FWHT &&
  timeout 30 v4l2-ctl -d "$CAMRELAY_VM_VICODEC_DEC" --list-formats-out 2>/dev/null | grep -q FWHT; then
  ok "vicodec encoder produces FWHT and decoder consumes FWHT"
else
  bad "vicodec encoder/decoder formats lack FWHT"
fi

# 3. vivid's overlay framebuffer
if [ -c /dev/fb0 ] && grep -q "vioverlay fb" /sys/class/graphics/fb0/name 2>/dev/null; then
  ok "/dev/fb0 is vivid's framebuffer ($(cat /sys/class/graphics/fb0/name))"
else
  bad "/dev/fb0 missing or not vivid's"
fi

# 4. vimc's media topology
if timeout 30 media-ctl -d "$CAMRELAY_VM_VIMC_MEDIA" -p >"$T/topology" 2>&1 &&
  grep -q "Sensor A" "$T/topology" && grep -q "Debayer A" "$T/topology" &&
  grep -q "Scaler" "$T/topology" && grep -q "RGB/YUV Capture" "$T/topology"; then
  ok "media-ctl -d $CAMRELAY_VM_VIMC_MEDIA -p: $(grep -c '^- entity' "$T/topology") entities (Sensor A, Debayer A, Scaler, RGB/YUV Capture)"
else
  bad "media-ctl -d ${CAMRELAY_VM_VIMC_MEDIA:-?} -p: $(head -n5 "$T/topology")"
fi

# 5. 10 frames from vivid
size="$(timeout 30 v4l2-ctl -d "$CAMRELAY_VM_VIVID_CAP" --get-fmt-video 2>/dev/null | sed -n 's/.*Size Image *: *//p')"
if timeout 60 v4l2-ctl -d "$CAMRELAY_VM_VIVID_CAP" --stream-mmap --stream-count=10 \
  --stream-to="$T/frames.raw" >"$T/stream.log" 2>&1; then
  got="$(stat -c %s "$T/frames.raw")"
  if [ -n "$size" ] && [ "$got" -eq $((size * 10)) ]; then
    ok "captured 10 frames from vivid ($got bytes = 10 x $size)"
  else
    bad "captured $got bytes from vivid, expected 10 x ${size:-?}"
  fi
else
  bad "v4l2-ctl --stream-mmap --stream-count=10 on $CAMRELAY_VM_VIVID_CAP failed: $(tail -n3 "$T/stream.log")"
fi

# 6. drivers can be unloaded and loaded again (guest-bin/modprobe)
if timeout 60 rmmod vivid && timeout 60 modprobe vivid &&
  grep -qx vivid-000-vid-cap "/sys/class/video4linux/${CAMRELAY_VM_VIVID_CAP#/dev/}/name" && [ -c /dev/fb0 ]; then
  ok "rmmod vivid; modprobe vivid: back with the bench's parameters"
else
  bad "rmmod vivid; modprobe vivid failed"
fi

# 7. the output dir, if the run has one
if [ -n "${CAMRELAY_VM_OUTDIR:-}" ]; then
  if cp "$T/devices" "$CAMRELAY_VM_OUTDIR/smoke-devices.txt"; then
    ok "wrote $CAMRELAY_VM_OUTDIR/smoke-devices.txt"
  else
    bad "cannot write to $CAMRELAY_VM_OUTDIR"
  fi
fi

echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
