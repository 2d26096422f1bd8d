# `camrelay media --json` agrees with `media-ctl -p` on entities, pads,
# formats and links, for vimc (sub-devices) and every other media device.
. "$(dirname "$0")/vm_lib.sh"
RGB=$(node 'RGB/YUV Capture')
conf "$O/ok.toml" "$RGB" 320 240 rgb24
"$B/tests/media/mc_capture" -c "$O/ok.toml" --prepare-only > /dev/null || fail "configuration failed"
n=0
for m in /dev/media*; do
	media-ctl -d "$m" -p > "$O/mc.txt" 2>&1 || fail "media-ctl -p $m failed"
	"$B/camrelay" media "$m" --json > "$O/cr.json" || fail "camrelay media $m --json failed"
	python3 "$T/compare_media_ctl.py" "$O/mc.txt" "$O/cr.json" || fail "$m differs"
	n=$((n + 1))
done
"$B/camrelay" media "$M" > "$O/text.txt" || fail "text output failed"
grep -q '"Scaler":1' "$O/text.txt" || fail "text output lacks links"
"$B/camrelay" media "$RGB" --dot > "$O/g.dot" || fail "--dot on a video node failed"
grep -q -- "->" "$O/g.dot" || fail "dot has no edges"
echo "PASS ($n media devices)"
