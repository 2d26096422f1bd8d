#!/bin/sh
# meson wrapper: vm-test.sh SCRIPT BUILD_DIR boots tests/vm/run-in-vm (vimc
# loaded) and runs tests/libcamera/SCRIPT inside with a scratch directory.
# QEMU missing is a failure naming the package, not a skip.
set -u
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "FAIL: qemu-system-x86_64 not found: install qemu-system-x86 (scripts/install-deps)"; exit 1; }
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/camrelay-libcamera.XXXXXX")
cd "$SRC" || exit 1
tests/vm/run-in-vm --timeout 400 --outdir "$OUT" -- sh "tests/libcamera/$1" "$2" "$OUT"
rc=$?
rm -rf "$OUT"
exit $rc
