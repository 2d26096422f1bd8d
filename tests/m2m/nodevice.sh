#!/bin/bash
# Host (no V4L2 M2M device here): a v4l2-m2m encoder fails at open with a
# message naming the codec and what was found; with fallback = "software" the
# same config encodes on the CPU.   nodevice.sh M2M_DRIVE
set -u
DRIVE=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
mk() {
	cat >"$W/$1.toml" <<EOT
[http]
listen = "127.0.0.1:$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
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
exit $fail
