#!/bin/sh
# meson wrapper: vm-test.sh SCRIPT BUILD_DIR boots tests/vm/run-in-vm (vimc
# loaded) and runs tests/libcamera/SCRIPT inside with a scratch directory.
# Exit 77 (skip) only when QEMU is missing.
set -u
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "qemu-system-x86_64 not installed: skipping"; exit 77; }
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/camrelay-libcamera.XXXXXX")
cd "$SRC" || exit 1
tests/vm/run-in-vm --timeout 400 --outdir "$OUT" -- sh "tests/libcamera/$1" "$2" "$OUT"
rc=$?
rm -rf "$OUT"
exit $rc
