# The two strategies of seed 002's example, and an explicit link choice:
#  quality: the sensor at its full size, the scaler scales (and crops to the
#           output's aspect ratio so nothing is stretched);
#  speed:   the sensor at the size asked, every block after it at 1:1;
#  links:   the scaler fed from Sensor B's branch instead of Sensor A's.
. "$(dirname "$0")/vm_lib.sh"
RGB=$(node 'RGB/YUV Capture')
get() { media-ctl -d "$M" --get-v4l2 "$1"; }

conf "$O/quality.toml" "$RGB" 320 240 rgb24 '[stream.cam.sources.capture.media]
strategy = "quality"'
# One frame: at 4096x2160 vimc's software sensor and debayer are slow under TCG.
"$B/tests/media/mc_capture" -c "$O/quality.toml" -n 1 -o "$O/quality.raw" || fail "quality capture failed"
get '"Sensor A":0' | grep -q "/4096x2160" || fail "quality: Sensor A is not at its full 4096x2160"
get '"Scaler":0' | tee "$O/q.txt"
grep -q "crop:(608,0)/2880x2160" "$O/q.txt" || fail "quality: no centred 4:3 crop on Scaler:0"
get '"Scaler":1' | grep -q "RGB888_1X24/320x240" || fail "quality: Scaler:1 is not 320x240"
python3 "$T/check_frame.py" rgbview "$O/quality.raw" 320 240 4096 608 2880 || fail "quality: wrong pixels"

conf "$O/speed.toml" "$RGB" 320 240 rgb24 '[stream.cam.sources.capture.media]
strategy = "speed"'
"$B/tests/media/mc_capture" -c "$O/speed.toml" -n 2 -o "$O/speed.raw" || fail "speed capture failed"
get '"Sensor A":0' | grep -q "/320x240" || fail "speed: Sensor A is not at 320x240"
get '"Scaler":0' | grep -q "crop:(0,0)/320x240" || fail "speed: Scaler:0 crops"
python3 "$T/check_frame.py" rgb "$O/speed.raw" 320 240 || fail "speed: wrong pixels"

conf "$O/links.toml" "$RGB" 320 240 rgb24 '[[stream.cam.sources.capture.media.links]]
source = "Debayer B:1"
sink = "Scaler:0"
enabled = true'
"$B/tests/media/mc_capture" -c "$O/links.toml" -n 2 -o "$O/links.raw" | tee "$O/links.log" || fail "links capture failed"
grep -q '"Sensor B":0' "$O/links.log" || fail "links: the pipeline does not start at Sensor B"
"$B/camrelay" media "$M" --json > "$O/g.json"
python3 - "$O/g.json" <<'PY' || fail "links: wrong link state"
import json, sys
links = {(l["source"]["entity"], l["sink"]["entity"]): l["enabled"] for l in json.load(open(sys.argv[1]))["links"]}
want = {("Debayer B", "Scaler"): True, ("Debayer A", "Scaler"): False, ("RGB/YUV Input", "Scaler"): False}
bad = {k: links.get(k) for k in want if links.get(k) != want[k]}
print("links into Scaler:", {k: links.get(k) for k in want})
sys.exit(1 if bad else 0)
PY
get '"Sensor B":0' | grep -q "/320x240" || fail "links: Sensor B not configured"
python3 "$T/check_frame.py" rgb "$O/links.raw" 320 240 || fail "links: wrong pixels"

# Disabling the only enabled link into the scaler: camrelay picks another way
# up to a sensor on its own (not the link the config disabled).
conf "$O/relink.toml" "$RGB" 320 240 rgb24 '[[stream.cam.sources.capture.media.links]]
source = "Debayer B:1"
sink = "Scaler:0"
enabled = false'
"$B/tests/media/mc_capture" -c "$O/relink.toml" --prepare-only | tee "$O/relink.log" || fail "relink failed"
grep -q '"Sensor A":0' "$O/relink.log" || fail "relink: the pipeline does not start at Sensor A"
echo "PASS"
