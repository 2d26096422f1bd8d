# Explicit pad formats that do not fit fail before streaming, with the link
# and both formats named, and leave the device as it was; a mismatch made
# behind camrelay's back is explained when STREAMON fails with EPIPE.
. "$(dirname "$0")/vm_lib.sh"
RGB=$(node 'RGB/YUV Capture')
conf "$O/ok.toml" "$RGB" 320 240 rgb24
"$B/tests/media/mc_capture" -c "$O/ok.toml" --prepare-only || fail "baseline configuration failed"
media-ctl -d "$M" -p > "$O/before.txt"

expect_fail() { # NAME EXTRA-TOML GREP-PATTERNS...
	name=$1 extra=$2
	shift 2
	conf "$O/$name.toml" "$RGB" 320 240 rgb24 "$extra"
	if "$B/tests/media/mc_capture" -c "$O/$name.toml" -n 1 2> "$O/$name.err"; then fail "$name: accepted"; fi
	cat "$O/$name.err"
	for p in "$@"; do grep -qF -- "$p" "$O/$name.err" || fail "$name: message lacks: $p"; done
}

PADS='[[stream.cam.sources.capture.media.pads]]
entity = "Sensor A"
pad = 0
format = "SGRBG8_1X8"
width = 320
height = 240
[[stream.cam.sources.capture.media.pads]]
entity = "Debayer A"
pad = 0
format = "SRGGB8_1X8"
width = 320
height = 240'
expect_fail off "[stream.cam.sources.capture.media]
strategy = \"off\"
$PADS" 'link "Sensor A":0 -> "Debayer A":0' 'SGRBG8_1X8/320x240' 'SRGGB8_1X8/320x240' 'nothing was changed'
expect_fail auto "$PADS" 'link "Sensor A":0 -> "Debayer A":0' 'SGRBG8_1X8/320x240' 'SRGGB8_1X8/320x240'
expect_fail immutable '[[stream.cam.sources.capture.media.links]]
source = "Sensor A:0"
sink = "Debayer A:0"
enabled = false' '"Sensor A":0 -> "Debayer A":0 is immutable'
expect_fail noentity '[[stream.cam.sources.capture.media.pads]]
entity = "Scalar"
pad = 0
width = 640' 'no entity "Scalar"' '"Scaler"'
media-ctl -d "$M" -p > "$O/after.txt"
diff -u "$O/before.txt" "$O/after.txt" || fail "a refused config changed the device"

# Behind camrelay's back: the debayer's sink no longer matches the sensor.
media-ctl -d "$M" -V '"Debayer A":0 [fmt:SGRBG8_1X8/320x240]'
if "$B/tests/media/mc_capture" -c "$O/ok.toml" --no-prepare -n 1 2> "$O/epipe.err"; then fail "STREAMON succeeded"; fi
cat "$O/epipe.err"
for p in 'Broken pipe' 'link "Sensor A":0 -> "Debayer A":0' 'SBGGR8_1X8/320x240' 'SGRBG8_1X8/320x240'; do
	grep -qF -- "$p" "$O/epipe.err" || fail "EPIPE explanation lacks: $p"
done
# strategy = "off" configures nothing by itself: the same mismatch is found
# before streaming, and left for the user to fix.
conf "$O/off.toml" "$RGB" 320 240 rgb24 '[stream.cam.sources.capture.media]
strategy = "off"'
if "$B/tests/media/mc_capture" -c "$O/off.toml" --prepare-only 2> "$O/off.err"; then fail "off: mismatch accepted"; fi
cat "$O/off.err"
for p in 'link "Sensor A":0 -> "Debayer A":0' 'SBGGR8_1X8/320x240' 'SGRBG8_1X8/320x240'; do
	grep -qF -- "$p" "$O/off.err" || fail "off: message lacks: $p"
done
media-ctl -d "$M" --get-v4l2 '"Debayer A":0' | grep -q SGRBG8_1X8 || fail "off: changed the device"
echo "PASS"
