# Shared by the tests/media/*.sh scripts run inside the VM.
# Sets B (build dir), O (scratch dir), T (this dir), M (vimc's media device)
# and fails the test on any error.
set -eu
B=$1
O=$2
T=$(cd "$(dirname "$0")" && pwd -P)
fail() { echo "FAIL: $*"; exit 1; }
M=
for m in /dev/media*; do
	if media-ctl -d "$m" -p 2>/dev/null | grep -q "^driver *vimc"; then M=$m; fi
done
[ -n "$M" ] || fail "no vimc media device in the VM"
node() { media-ctl -d "$M" -e "$1"; }

# conf FILE DEVICE W H FORMAT [extra TOML appended under the capture table]
conf() {
	cat > "$1" <<EOT
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "$2"
width = $3
height = $4
pixel_format = "$5"
EOT
	if [ $# -ge 6 ]; then printf '%s\n' "$6" >> "$1"; fi
}
