#!/bin/sh
# meson wrapper for one media test in the real-kernel VM:
#   vm-test.sh SCRIPT BUILD_DIR
# Boots tests/vm/run-in-vm (vimc loaded) and runs tests/media/SCRIPT inside,
# with a shared scratch directory. Exit 77 (skip) only when QEMU is missing.
set -u
SCRIPT=$1
BUILD=$2
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "qemu-system-x86_64 not installed: skipping"; exit 77; }
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/camrelay-media.XXXXXX")
cd "$SRC" || exit 1
tests/vm/run-in-vm --timeout 540 --outdir "$OUT" -- sh "tests/media/$SCRIPT" "$BUILD" "$OUT"
rc=$?
rm -rf "$OUT"
exit $rc
