#!/bin/bash
# In the VM: `camrelay list --json` and `camrelay probe --json` say what
# v4l2-ctl says about the same devices (vivid, vimc, vicodec, vim2m,
# v4l2loopback), and list's cameras what `gphoto2 --auto-detect` says (the
# bench's emulated USB camera, run-in-vm --usb-camera); the text forms run too.
# Under ASan a leak in list (libgphoto2's probe leaks) fails it here.
# Args: CAMRELAY
set -u
CAMRELAY="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
W="$(mktemp -d)"
D="$CAMRELAY_VM_VIVID_CAP"
set -e
# Under TCG libgphoto2 takes ~10 s to load its camlibs, more under ASan: the
# probe's default 15 s limit is for real machines.
export CAMRELAY_GPHOTO2_PROBE_TIMEOUT=300
"$CAMRELAY" list --json >"$W/list.json"
"$CAMRELAY" list >"$W/list.txt"
"$CAMRELAY" --version >"$W/version.txt"
gphoto2 --auto-detect >"$W/gphoto2.txt" 2>&1
v4l2-ctl --list-devices >"$W/devices.txt"
# Each node's driver and card (the reference for list's v4l2loopback webcams).
for dev in /dev/video*; do v4l2-ctl -d "$dev" --info >"$W/info-$(basename "$dev").txt"; done
for dev in "$D" "$CAMRELAY_VM_VICODEC_ENC" "$CAMRELAY_VM_VIMC_RGB"; do
  n="$(basename "$dev")"
  "$CAMRELAY" probe --json "$dev" >"$W/probe-$n.json"
  "$CAMRELAY" probe "$dev" >"$W/probe-$n.txt"
  v4l2-ctl -d "$dev" --list-formats-ext >"$W/formats-$n.txt"
  v4l2-ctl -d "$dev" --list-formats-out-ext >"$W/formats-out-$n.txt" 2>/dev/null || true
  v4l2-ctl -d "$dev" --list-ctrls >"$W/ctrls-$n.txt"
done
# probe by card name finds the capture node
"$CAMRELAY" probe --json vivid >"$W/probe-byname.json"
set +e
head -30 "$W/list.txt"
grep -A4 '^Cameras' "$W/list.txt" || true
cat "$W/gphoto2.txt"
python3 "$HERE/discovery_check.py" "$W" "$D" "$CAMRELAY_VM_VICODEC_ENC" "$CAMRELAY_VM_VIMC_RGB"
