# A crop on the scaler's sink pad, from the config: the frames show exactly
# that region of the uncropped picture, scaled to the size asked.
. "$(dirname "$0")/vm_lib.sh"
RGB=$(node 'RGB/YUV Capture')
# No on-screen text (a hidden control on the sensor's sub-device), so that
# two captures of the static colour bars can be compared pixel for pixel.
NOOSD='[[stream.cam.sources.capture.media.controls]]
entity = "Sensor A"
name = "Show Information"
value = "None"'
conf "$O/full.toml" "$RGB" 320 240 rgb24 "$NOOSD"
conf "$O/crop.toml" "$RGB" 320 240 rgb24 "$NOOSD
[[stream.cam.sources.capture.media.pads]]
entity = \"Scaler\"
pad = 0
crop = [80, 60, 160, 120]"
"$B/tests/media/mc_capture" -c "$O/full.toml" -n 3 -o "$O/full.raw" || fail "uncropped capture failed"
python3 "$T/check_frame.py" rgb "$O/full.raw" 320 240 || fail "uncropped frame is not the colour bars"
"$B/tests/media/mc_capture" -c "$O/crop.toml" -n 3 -o "$O/crop.raw" || fail "cropped capture failed"
media-ctl -d "$M" --get-v4l2 '"Scaler":0' | tee "$O/scaler.txt"
grep -q "crop:(80,60)/160x120" "$O/scaler.txt" || fail "Scaler:0 crop is not (80,60)/160x120"
python3 "$T/check_frame.py" crop "$O/full.raw" "$O/crop.raw" 320 240 80 60 160 120 || fail "cropped frame is not the region"
# The control really was set on the sub-device node.
v4l2-ctl -d "$(media-ctl -d "$M" -e 'Sensor A')" -C show_information | grep -q ": 2" || fail "Show Information is not None"
echo "PASS"
