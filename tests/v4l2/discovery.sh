#!/bin/bash
# In the VM: `camrelay list --json` and `camrelay probe --json` say what
# v4l2-ctl says about the same devices (vivid, vimc, vicodec, vim2m,
# v4l2loopback); the text forms run too.
# Args: CAMRELAY
set -u
CAMRELAY="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
W="$(mktemp -d)"
D="$CAMRELAY_VM_VIVID_CAP"
set -e
"$CAMRELAY" list --json >"$W/list.json"
"$CAMRELAY" list >"$W/list.txt"
v4l2-ctl --list-devices >"$W/devices.txt"
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
python3 "$HERE/discovery_check.py" "$W" "$D" "$CAMRELAY_VM_VICODEC_ENC" "$CAMRELAY_VM_VIMC_RGB"
