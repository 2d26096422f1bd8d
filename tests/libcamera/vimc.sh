# camrelay's libcamera source on vimc, inside the real-kernel VM:
#   sh tests/libcamera/vimc.sh BUILD_DIR SCRATCH_DIR
# libcamera's vimc pipeline handler finds the camera ('Sensor B'); camrelay
# serve with backend = "libcamera", device = "0" captures frames (counted),
# the snapshot decodes to the sensor's 75% colour bars, the controls list
# names libcamera's controls and setting brightness changes the picture.
set -eu
B=$1
O=$2
T=$(cd "$(dirname "$0")" && pwd -P)
fail() { echo "FAIL: $*"; exit 1; }
ip link set lo up 2>/dev/null || true
sh "$T/udev-db.sh"
cam --list > "$O/cam.txt" 2>&1 || true
cat "$O/cam.txt"
grep -q "Sensor B" "$O/cam.txt" || fail "libcamera does not see vimc's camera"

# Without IPA modules (package libcamera-ipa not installed: libcamera0.0.3 only
# suggests it) libcamera sees vimc but cannot use it. camrelay must say so in
# one line naming the package, not leave libcamera's warnings in a loop. An
# empty tmpfs over the IPA directory, in a mount namespace of its own, is the
# machine without the package.
# libcamera is NEEDed by the module camrelay-libcamera.so (issue 20), not by
# camrelay itself (a build without modules: camrelay).
LCLIB=$(ldd "$B/camrelay-libcamera.so" "$B/camrelay" 2>/dev/null | awk '$1 ~ /^libcamera\.so/ {print $3; exit}')
IPA=$(dirname "$(readlink -f "$LCLIB")")/libcamera
ls "$IPA"/ipa_*.so >/dev/null 2>&1 || fail "no IPA modules in $IPA: install libcamera-ipa (scripts/install-deps)"
cat > "$O/noipa.toml" <<EOT
[http]
listen = "127.0.0.1:18462"
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "libcamera"
device = "0"
EOT
rc=0
unshare -m sh -c "mount -t tmpfs none '$IPA' && exec timeout -s INT 45 '$B/camrelay' serve -c '$O/noipa.toml'" \
	> "$O/noipa.log" 2>&1 || rc=$?
cat "$O/noipa.log"
# 124: still serving (placeholder frames, retrying) when the 45 s were up (libcamera starts slowly under TCG)
[ "$rc" -eq 124 ] || fail "without IPA modules camrelay exited with $rc instead of retrying"
n=$(grep -c "install the libcamera-ipa package" "$O/noipa.log" || true)
[ "$n" -eq 1 ] || fail "without IPA modules: $n lines naming libcamera-ipa (want exactly 1)"
loop=$(grep -c "No IPA found" "$O/noipa.log" || true)
[ "$loop" -le 1 ] || fail "libcamera's 'No IPA found' logged $loop times: camrelay restarts libcamera in a loop"
echo "without IPA: one message naming libcamera-ipa, libcamera's warning $loop time(s)"

PORT=18461
U=http://127.0.0.1:$PORT
W=640
H=480
cat > "$O/c.toml" <<EOT
[http]
listen = "127.0.0.1:$PORT"
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "libcamera"
device = "0"
width = $W
height = $H
pixel_format = "rgb24"
EOT
"$B/camrelay" serve -c "$O/c.toml" > "$O/camrelay.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; cat "$O/camrelay.log"' EXIT

# field PATH.TO.VALUE: one value from /api/streams' first stream
field() {
	curl -sf "$U/api/streams" | /usr/bin/python3 -c "import json,sys
v=json.load(sys.stdin)['streams'][0]
for k in sys.argv[1].split('.'): v=v[k]
print(v)" "$1"
}
n=0
for _ in $(seq 1 90); do
	n=$(field counters.frames_captured 2>/dev/null || echo 0)
	[ "$n" -ge 10 ] && break
	sleep 1
done
echo "frames captured: $n; state $(field state) ($(field message)); $(field format) $(field width)x$(field height)"
[ "$n" -ge 10 ] || fail "fewer than 10 frames from libcamera in 90 s"
[ "$(field state)" = running ] || fail "stream not running"
# vimc's pipeline handler may round the size (640 -> 636 wide): then the
# source says so in its note, and the frame is what the camera gives.
GW=$(field width)
GH=$(field height)
[ "$(field format)" = rgb888 ] || fail "negotiated $(field format), asked rgb24 (rgb888)"
[ $((GW - W)) -le 0 ] && [ $((GW - W)) -ge -8 ] && [ "$GH" = $H ] || fail "negotiated ${GW}x$GH, asked ${W}x$H"
if [ "$GW" != $W ]; then
	echo "note: $(field note)"
	field note | grep -q "it gives" || fail "size changed to ${GW}x$GH without a note"
fi
W=$GW

snap() { # NAME: a snapshot decoded to RGB24
	curl -sf -o "$O/$1.jpg" "$U/snapshot/cam" || fail "$1: no snapshot"
	ffmpeg -loglevel error -y -i "$O/$1.jpg" -f rawvideo -pix_fmt rgb24 "$O/$1.rgb" || fail "$1: not a JPEG"
}
snap bars
/usr/bin/python3 "$T/../media/check_frame.py" rgb "$O/bars.rgb" $W $H || fail "snapshot is not vimc's colour bars"

curl -sf "$U/api/streams/cam/controls" > "$O/controls.json" || fail "no controls list"
head -c 600 "$O/controls.json"; echo
grep -q '"brightness"' "$O/controls.json" || fail "libcamera's Brightness is not in the controls list"
curl -sf -X POST -H 'Content-Type: application/json' -d '{"brightness": "0.5"}' \
	"$U/api/streams/cam/controls" > /dev/null || fail "setting brightness failed"
curl -s -X POST -H 'Content-Type: application/json' -d '{"no_such_control": "1"}' \
	"$U/api/streams/cam/controls" > "$O/bad.txt" || true
grep -q "no control" "$O/bad.txt" || fail "an unknown control was not refused by name: $(cat "$O/bad.txt")"
sleep 3
snap bright
# The black bar (the eighth) is lifted by brightness.
/usr/bin/python3 - "$O/bars.rgb" "$O/bright.rgb" $W $H <<'PY' || fail "brightness 0.5 did not lift the black bar"
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
w, h = int(sys.argv[3]), int(sys.argv[4])
x, y = 15 * w // 16, h * 3 // 4
o = (y * w + x) * 3
before, after = sum(a[o:o + 3]) / 3, sum(b[o:o + 3]) / 3
print(f"black bar at ({x},{y}): {before:.0f} -> {after:.0f}")
sys.exit(0 if after > before + 30 else 1)
PY
n2=$(field counters.frames_captured)
[ "$n2" -gt "$n" ] || fail "capture stopped after the control change ($n -> $n2 frames)"
echo "frames captured: $n2"
echo PASS
