#!/usr/bin/env bash
# Host-side test (and example) of the bench's screen: boots the VM with
# bochs-drm (--bochs) and a QEMU monitor (--monitor), lets the guest paint
# /dev/fb1 green, reads the screen back with `screendump` and checks the pixels.
# Usage: tests/vm/test-display.sh [--timeout SEC]   (default 300)
# Ends with "vm-display: N passed, M failed".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
TIMEOUT=300
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
    *) echo "test-display.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
command -v python3 >/dev/null || { echo "test-display.sh: python3 missing (scripts/install-deps)" >&2; exit 2; }

D="$(mktemp -d "${TMPDIR:-/tmp}/camrelay-vm-display.XXXXXXXX")"
VM_PID=""
cleanup() {
  [ -z "$VM_PID" ] || kill -TERM "$VM_PID" 2>/dev/null || true
  [ -z "$VM_PID" ] || wait "$VM_PID" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT

"$HERE/build-bench" --quiet

# Guest: paint the whole bochs framebuffer (XRGB8888) green, say "ready", then
# stay up until the host says "done" (at most 60 s).
guest_script='
set -e
read -r w h < <(tr "," " " </sys/class/graphics/fb1/virtual_size)
python3 -c "import sys; open(\"/dev/fb1\", \"wb\").write(bytes([0, 255, 0, 0]) * ($w * $h))"
echo "$w $h" >"$CAMRELAY_VM_OUTDIR/ready"
for i in $(seq 600); do [ -e "$CAMRELAY_VM_OUTDIR/done" ] && exit 0; sleep 0.1; done
echo "host never said done" >&2; exit 1
'
CAMRELAY_VM_NO_BUILD=1 "$HERE/run-in-vm" --timeout "$TIMEOUT" --bochs --monitor "$D/mon.sock" --outdir "$D" \
  -- bash -c "$guest_script" &
VM_PID=$!

for _ in $(seq "$TIMEOUT"); do
  [ -s "$D/ready" ] || ! kill -0 "$VM_PID" 2>/dev/null || { sleep 1; continue; }
  break
done
ok=0
if [ -s "$D/ready" ]; then
  read -r w h <"$D/ready"
  # The screen may need a moment after the mode set: retry for a few seconds.
  for _ in 1 2 3 4 5; do
    "$HERE/qemu-monitor" "$D/mon.sock" "screendump $D/screen.ppm" >/dev/null || true
    if python3 - "$D/screen.ppm" "$w" "$h" <<'EOF'; then ok=1; break; fi
import sys
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
magic, size, maxval, pixels = data.split(b"\n", 3)
got = tuple(int(x) for x in size.split())
center = pixels[((h // 2) * w + w // 2) * 3:][:3] if got == (w, h) else b""
print(f"screendump: {got[0]}x{got[1]}, centre pixel {center.hex() or '-'}")
sys.exit(0 if magic == b"P6" and got == (w, h) and pixels[:3] == center == b"\x00\xff\x00" else 1)
EOF
    sleep 1
  done
fi
touch "$D/done"
set +e
wait "$VM_PID"
rc=$?
set -e
VM_PID=""
if [ "$ok" = 1 ] && [ "$rc" = 0 ]; then
  echo "test-display: ok - the guest's green framebuffer came back through screendump"
  echo "vm-display: 1 passed, 0 failed"
else
  echo "test-display: FAIL - screendump did not show the guest's framebuffer (run-in-vm exit $rc)"
  echo "vm-display: 0 passed, 1 failed"
  exit 1
fi
