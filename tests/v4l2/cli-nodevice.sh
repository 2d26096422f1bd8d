#!/bin/bash
# Host side: list/probe behave where there is no camera (or no such camera).
# Args: CAMRELAY
set -u
C="$1"
fails=0
out="$("$C" list --json)" || { echo "FAIL: list --json exited $?"; fails=1; }
if python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if all(isinstance(j[k], list) for k in ("video","subdevs","media")) else 1)' "$out"; then
  echo "ok: list --json is JSON with video/subdevs/media arrays"
else echo "FAIL: list --json: $out"; fails=1; fi
msg="$("$C" probe "No Such Camera" 2>&1)"; rc=$?
if [ $rc = 1 ] && grep -q 'no video device with card name or bus info "No Such Camera"' <<<"$msg"; then echo "ok: probe unknown name: $msg"
else echo "FAIL: probe unknown name: rc $rc: $msg"; fails=1; fi
msg="$("$C" probe /dev/null 2>&1)"; rc=$?
if [ $rc = 1 ] && grep -q "/dev/null is not a V4L2 device" <<<"$msg"; then echo "ok: probe /dev/null: $msg"
else echo "FAIL: probe /dev/null: rc $rc: $msg"; fails=1; fi
"$C" probe 2>/dev/null; rc=$?
if [ $rc = 2 ]; then echo "ok: probe without DEVICE is a usage error"; else echo "FAIL: probe without DEVICE: rc $rc"; fails=1; fi
exit $fails
