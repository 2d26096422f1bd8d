# Automatic negotiation runs on TRY formats: when it fails, the ACTIVE state
# (formats, selections, links) is exactly as before.
. "$(dirname "$0")/vm_lib.sh"
RGB=$(node 'RGB/YUV Capture')

conf "$O/ok.toml" "$RGB" 320 240 rgb24
"$B/tests/media/mc_capture" -c "$O/ok.toml" --prepare-only || fail "baseline configuration failed"
state() { media-ctl -d "$M" --get-v4l2 '"Scaler":0'; media-ctl -d "$M" -p; }
state > "$O/before.txt"
grep -q "RGB888_1X24/320x240" "$O/before.txt" || fail "baseline is not 320x240"

# vimc has no YUV media bus code: no sensor code gives YUYV at the end.
conf "$O/yuyv.toml" "$RGB" 320 240 yuyv
if "$B/tests/media/mc_capture" -c "$O/yuyv.toml" --prepare-only 2> "$O/yuyv.err"; then fail "yuyv accepted"; fi
cat "$O/yuyv.err"
grep -q "nothing was changed on the device" "$O/yuyv.err" || fail "no TRY-failure message"
grep -q '"Scaler":1' "$O/yuyv.err" || fail "message does not name the pad"
grep "that pad offers" "$O/yuyv.err" | grep -q "RGB3" && grep "that pad offers" "$O/yuyv.err" | grep -q "BGR3" || fail "message does not say what the pipeline can give"

# Larger than the scaler's 4096x2160 maximum: TRY clamps, the end does not fit.
conf "$O/big.toml" "$RGB" 4800 2400 rgb24
if "$B/tests/media/mc_capture" -c "$O/big.toml" --prepare-only 2> "$O/big.err"; then fail "4800x2400 accepted"; fi
cat "$O/big.err"
grep -q "4800x2400" "$O/big.err" || fail "message does not say the size asked"

# RGB straight from the sensor to Raw Capture 0 would leave Debayer A, which
# streams along (the sensor feeds both), with a code it cannot take.
conf "$O/rawrgb.toml" "$(node 'Raw Capture 0')" 320 240 rgb24
if "$B/tests/media/mc_capture" -c "$O/rawrgb.toml" --prepare-only 2> "$O/rawrgb.err"; then fail "rgb24 raw accepted"; fi
cat "$O/rawrgb.err"
grep -q 'streams together with this pipeline' "$O/rawrgb.err" || fail "sibling failure not explained"
grep -q '"Debayer A":0' "$O/rawrgb.err" || fail "sibling failure does not name the pad"

state > "$O/after.txt"
diff -u "$O/before.txt" "$O/after.txt" || fail "ACTIVE state changed by failed negotiations"
echo "Scaler:0 ACTIVE unchanged: $(media-ctl -d "$M" --get-v4l2 '"Scaler":0' | head -1)"

# The comparison can see a change: a successful run does change it.
conf "$O/ok2.toml" "$RGB" 640 360 rgb24
"$B/tests/media/mc_capture" -c "$O/ok2.toml" --prepare-only || fail "second configuration failed"
state > "$O/changed.txt"
if diff -q "$O/before.txt" "$O/changed.txt" > /dev/null; then fail "successful run left no trace"; fi
echo "PASS"
