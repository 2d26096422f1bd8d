#!/bin/sh
# meson wrapper for media tests in the real-kernel VM:
#   vm-test.sh SCRIPT BUILD_DIR [ARGS...]
# Boots tests/vm/run-in-vm (vimc loaded) and runs tests/media/SCRIPT inside,
# with a shared scratch directory (SCRIPT BUILD_DIR SCRATCH ARGS...). QEMU
# missing is a failure naming the package.
set -u
SCRIPT=$1
BUILD=$2
shift 2
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "FAIL: qemu-system-x86_64 not found: install qemu-system-x86 (scripts/install-deps)"; exit 1; }
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/camrelay-media.XXXXXX")
cd "$SRC" || exit 1
tests/vm/run-in-vm --timeout "${CAMRELAY_MEDIA_VM_TIMEOUT:-540}" --outdir "$OUT" -- sh "tests/media/$SCRIPT" "$BUILD" "$OUT" "$@"
rc=$?
rm -rf "$OUT"
exit $rc
