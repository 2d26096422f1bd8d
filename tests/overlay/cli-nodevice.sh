#!/bin/bash
# `camrelay overlay` without a device: usage errors exit 2 and say what was
# wrong; a non-V4L2 node exits 1 naming the ioctl and the node.
set -u
C="$1"
fails=0
expect() { # CODE PATTERN CMD...
  local code="$1" pat="$2"; shift 2
  out="$("$@" 2>&1)"; rc=$?
  if [ "$rc" != "$code" ] || ! grep -qF -- "$pat" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output: $out"; fails=$((fails + 1))
  else
    echo "ok   $* -> $rc: $(head -1 <<<"$out")"
  fi
}
expect 0 "Usage: camrelay overlay DEVICE" "$C" overlay --help
expect 2 "Usage: camrelay overlay DEVICE" "$C" overlay
expect 2 'unknown flag "inv_alpha" (allowed: primary, overlay, chromakey' "$C" overlay /dev/video0 --flags chromakey,inv_alpha
expect 2 'a rectangle is X,Y,W,H with W and H > 0, got "1,2,0,4"' "$C" overlay /dev/video0 --clip 1,2,0,4
expect 2 '--chromakey wants 0xRRGGBB, got "0x1000000"' "$C" overlay /dev/video0 --chromakey 0x1000000
expect 2 '--global-alpha wants 0..255, got "300"' "$C" overlay /dev/video0 --global-alpha 300
expect 1 "/dev/null" "$C" overlay /dev/null
echo "overlay-cli-nodevice: $fails failed"
[ "$fails" = 0 ]
