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
# Cameras: what `gphoto2 --auto-detect` sees (none on a build machine), with
# libgphoto2's probe in a child process (its leaks must not fail ASan builds).
if "$C" --version | grep -qE '^sources:.* gphoto2([( ]|$)'; then
  W="$(mktemp -d)"
  trap 'rm -rf "$W"' EXIT
  gphoto2 --auto-detect >"$W/gphoto2.txt" 2>&1 || { echo "FAIL: gphoto2 --auto-detect: $(cat "$W/gphoto2.txt")"; fails=1; }
  if python3 - "$out" "$W/gphoto2.txt" <<'PY'
import json, re, sys
j = json.loads(sys.argv[1])
ref = sorted(re.match(r"^(.*\S)\s+(\S+)\s*$", l).groups() for l in open(sys.argv[2]).read().split("\n")[2:] if l.strip())
cams = sorted((c["model"], c["port"]) for c in j["gphoto2"])
print(f"   list: {cams}, gphoto2 --auto-detect: {ref}")
sys.exit(0 if cams == ref and "gphoto2_error" not in j else 1)
PY
  then echo "ok: list --json gphoto2 cameras are gphoto2 --auto-detect's"
  else echo "FAIL: list --json gphoto2: $out"; fails=1; fi
  txt="$("$C" list)"; rc=$?
  if [ $rc = 0 ] && grep -q '^Cameras (libgphoto2):' <<<"$txt"; then echo "ok: list (text) has the libgphoto2 cameras"
  else echo "FAIL: list (text): rc $rc: $txt"; fails=1; fi
  # A probe that hangs (here: libgphoto2 opening a port driver that is a
  # FIFO nobody writes) is stopped after CAMRELAY_GPHOTO2_PROBE_TIMEOUT s.
  mkdir "$W/iolibs" && mkfifo "$W/iolibs/usb1.so"
  hung="$(IOLIBS="$W/iolibs" CAMRELAY_GPHOTO2_PROBE_TIMEOUT=2 "$C" list --json)"; rc=$?
  if [ $rc = 0 ] && python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j["gphoto2"] == [] and "did not finish within 2 s" in j["gphoto2_error"] and isinstance(j["video"], list) else 1)' "$hung"; then
    echo "ok: a hung libgphoto2 probe is stopped; list still answers: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["gphoto2_error"])' "$hung")"
  else echo "FAIL: hung probe: rc $rc: $hung"; fails=1; fi
  # Without the gphoto2 module (camrelay-gphoto2.so) list still lists the
  # rest, and says which package brings the DSLRs.
  mkdir "$W/nomodules"
  nomod="$(CAMRELAY_MODULE_DIR="$W/nomodules" "$C" list --json)"; rc=$?
  if [ $rc = 0 ] && python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j["gphoto2"] == [] and "no camrelay-gphoto2.so in" in j["gphoto2_error"] and "(install the package camrelay-gphoto2)" in j["gphoto2_error"] and all(isinstance(j[k], list) for k in ("video","subdevs","media","audio")) else 1)' "$nomod"; then
    echo "ok: without the gphoto2 module list answers and names the package: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["gphoto2_error"])' "$nomod")"
  else echo "FAIL: list without the gphoto2 module: rc $rc: $nomod"; fails=1; fi
  txt="$(CAMRELAY_MODULE_DIR="$W/nomodules" "$C" list)"; rc=$?
  if [ $rc = 0 ] && grep -q '^  the gphoto2 module is not installed: .*(install the package camrelay-gphoto2)$' <<<"$txt"; then echo "ok: list (text) without the gphoto2 module says so"
  else echo "FAIL: list (text) without the gphoto2 module: rc $rc: $txt"; fails=1; fi
else
  if python3 -c 'import json,sys; sys.exit("gphoto2" in json.loads(sys.argv[1]))' "$out"; then echo "ok: no libgphoto2 in this build: list has no gphoto2 key"
  else echo "FAIL: list --json has gphoto2 without libgphoto2 in the build"; fails=1; fi
fi
"$C" probe 2>/dev/null; rc=$?
if [ $rc = 2 ]; then echo "ok: probe without DEVICE is a usage error"; else echo "FAIL: probe without DEVICE: rc $rc"; fails=1; fi
exit $fails
