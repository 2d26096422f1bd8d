#!/bin/bash
# Host (no V4L2 M2M device here): a v4l2-m2m encoder fails at open with a
# message naming the codec and what was found; with fallback = "software" the
# same config encodes on the CPU. `camrelay serve` says both at start-up,
# before any consumer opens the encoder.   nodevice.sh M2M_DRIVE CAMRELAY
set -u
DRIVE=$1
CAMRELAY=$2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
mk() {
	cat >"$W/$1.toml" <<EOT
[http]
listen = "127.0.0.1:$(cd "$(dirname "$0")/.." && /usr/bin/python3 -c 'import ports; print(ports.free_port())')"
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "test"
width = 320
height = 240
fps = 30
[stream.cam.sources.encoder]
backend = "v4l2-m2m"
codec = "h264"
$2
EOT
}
mk plain ""
M2M_DRIVE_SECONDS=4 "$DRIVE" "$W/plain.toml" "$W/plain.out" 3 "$W/plain.done" >"$W/plain.log" 2>&1
rc=$?
cat "$W/plain.log"
if [ $rc -ne 0 ] && grep -q 'no V4L2 M2M encoder for h264; found: ' "$W/plain.log"; then
	echo "ok: no M2M device: clear message, no packets"
else
	echo "FAIL: expected the 'no V4L2 M2M encoder for h264; found: ...' message (exit $rc)"; fail=1
fi
mk named 'device = "/dev/null"'
M2M_DRIVE_SECONDS=4 "$DRIVE" "$W/named.toml" "$W/named.out" 3 "$W/named.done" >"$W/named.log" 2>&1
cat "$W/named.log"
grep -q '/dev/null' "$W/named.log" && echo "ok: a named device that is no encoder is named" || { echo "FAIL: device not named"; fail=1; }
mk fallback 'fallback = "software"'
M2M_DRIVE_SECONDS=10 "$DRIVE" "$W/fallback.toml" "$W/fallback.out" 3 "$W/fallback.done" >"$W/fallback.log" 2>&1
rc=$?
cat "$W/fallback.log"
if grep -q 'encoding h264 in software' "$W/fallback.log"; then
	if [ $rc -eq 0 ] && [ -s "$W/fallback.out" ]; then echo "ok: fallback = software encodes"
	else echo "FAIL: software fallback gave no packets (exit $rc)"; fail=1; fi
elif grep -q 'no software h264 encoder in this build' "$W/fallback.log"; then
	echo "ok: fallback asked, no software h264 in this build, said so"
else
	echo "FAIL: fallback = software not taken"; fail=1
fi

# camrelay serve: the missing device is a start-up error naming file:line
# (the encoder's backend key is line 11 of what mk writes), exit 1.
mk plain ""
timeout 20 "$CAMRELAY" serve -c "$W/plain.toml" >"$W/serve-plain.log" 2>&1
rc=$?
cat "$W/serve-plain.log"
if [ $rc -eq 1 ] && grep -q "$W/plain.toml:11: stream \"cam\": encoder backend \"v4l2-m2m\": no V4L2 M2M encoder for h264; found: none" "$W/serve-plain.log" &&
   grep -q 'fallback = "software"' "$W/serve-plain.log" && ! grep -q 'serving' "$W/serve-plain.log"; then
	echo "ok: serve stops at start-up with file:line, what was found and the fix"
else
	echo "FAIL: serve without an M2M device: expected exit 1 and the file:line message (exit $rc)"; fail=1
fi
# With fallback = "software": one start-up warning, then it serves (and encodes on first use).
mk fallback 'fallback = "software"'
"$CAMRELAY" serve -c "$W/fallback.toml" >"$W/serve-fallback.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'serving' "$W/serve-fallback.log" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -TERM $pid 2>/dev/null; wait $pid
rc=$?
cat "$W/serve-fallback.log"
n=$(grep -c "$W/fallback.toml:11: stream \"cam\": no V4L2 M2M encoder for h264.*encoding h264 in software" "$W/serve-fallback.log")
if [ "$n" -eq 1 ] && grep -q 'serving 1 stream' "$W/serve-fallback.log" && [ $rc -eq 0 ]; then
	echo "ok: fallback = software: said once at start-up, serves"
elif grep -q 'no software h264 encoder in this build' "$W/serve-fallback.log" && [ $rc -eq 1 ]; then
	echo "ok: fallback asked, no software h264 in this build: start-up error"
else
	echo "FAIL: serve with fallback = software: expected one start-up line and serving (lines $n, exit $rc)"; fail=1
fi
exit $fail
