#!/usr/bin/env bash
# Host-side test of the test bench: builds it (tests/vm/build-bench), boots the VM
# and runs tests/vm/smoke.sh in it (tests/vm/run-in-vm), checks the file it left
# in the output dir. Ends with "vm: N passed, M failed".
# Usage: tests/vm/test-bench.sh [--timeout SEC]   (default 420)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TIMEOUT=420
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
    *) echo "test-bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

passed=0
failed=0
OUT="$(mktemp -d "${TMPDIR:-/tmp}/camrelay-vm-out.XXXXXXXX")"
trap 'rm -rf "$OUT"' EXIT

t0=$(date +%s)
if ! "$HERE/build-bench"; then
  echo "test-bench: FAIL - tests/vm/build-bench failed"
  echo "vm: 0 passed, 1 failed"
  exit 1
fi
t1=$(date +%s)
set +e
CAMRELAY_VM_NO_BUILD=1 "$HERE/run-in-vm" --timeout "$TIMEOUT" --outdir "$OUT" --verbose -- "$HERE/smoke.sh"
rc=$?
set -e
t2=$(date +%s)
if [ "$rc" -ne 0 ]; then
  echo "test-bench: FAIL - smoke.sh in the VM exited with $rc"
  failed=$((failed + 1))
elif ! grep -q 'vivid' "$OUT/smoke-devices.txt" 2>/dev/null; then
  echo "test-bench: FAIL - smoke.sh left no $OUT/smoke-devices.txt (output dir share)"
  failed=$((failed + 1))
else
  echo "test-bench: ok - smoke.sh passed in the VM"
  passed=$((passed + 1))
fi
echo "test-bench: build-bench $((t1 - t0)) s, run-in-vm smoke.sh $((t2 - t1)) s"
echo "vm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
