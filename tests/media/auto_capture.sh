# Each vimc capture node streams at the size asked, configured automatically
# from a config naming only the node, size and format; the frames are the
# sensor's colour bars (after debayer and scaler) or its Bayer mosaic.
. "$(dirname "$0")/vm_lib.sh"

run() { # NAME NODE W H FORMAT CHECK...
	name=$1 dev=$2 w=$3 h=$4 fmt=$5
	shift 5
	conf "$O/$name.toml" "$dev" "$w" "$h" "$fmt"
	"$B/tests/media/mc_capture" -c "$O/$name.toml" -n 3 -o "$O/$name.raw" > "$O/$name.log" 2>&1 ||
		{ cat "$O/$name.log"; fail "$name: capture from $dev failed"; }
	cat "$O/$name.log"
	python3 "$T/check_frame.py" "$@" || fail "$name: wrong pixels"
}

run raw0 "$(node 'Raw Capture 0')" 320 240 srggb8 bayer "$O/raw0.raw" 320 240 RGGB
run raw1 "$(node 'Raw Capture 1')" 640 360 sgbrg8 bayer "$O/raw1.raw" 640 360 GBRG
run raw0b "$(node 'Raw Capture 0')" 160 120 sbggr8 bayer "$O/raw0b.raw" 160 120 BGGR
run rgb "$(node 'RGB/YUV Capture')" 320 240 rgb24 rgb "$O/rgb.raw" 320 240
run rgb2 "$(node 'RGB/YUV Capture')" 640 360 rgb24 rgb "$O/rgb2.raw" 640 360
# The pipeline really was configured for the size asked.
media-ctl -d "$M" --get-v4l2 '"Scaler":1' | grep -q "RGB888_1X24/640x360" || fail "Scaler:1 is not 640x360"
media-ctl -d "$M" --get-v4l2 '"Sensor A":0' | grep -q "/640x360" || fail "speed: Sensor A should run at 640x360"
echo "PASS"
