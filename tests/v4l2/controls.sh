#!/bin/bash
# In the VM: controls from the config, from the control API and from the HTTP
# API reach the device (read back with v4l2-ctl), and bad requests get
# messages that say what the device accepts.
# Args: V4L2_CHECK CAMRELAY
set -u
CHECK="$1" CAMRELAY="$2"
D="$CAMRELAY_VM_VIVID_CAP"
W="$(mktemp -d)"
fails=0
cat >"$W/c.toml" <<EOT
[http]
listen = "127.0.0.1:18931"

[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "vivid"
width = 320
height = 240
fps = 10

[stream.cam.sources.capture.controls]
brightness = 200
saturation = 30
EOT
echo "== config and control API"
"$CHECK" "$W/c.toml" controls "$D" || fails=$((fails + 1))

echo "== HTTP API"
"$CAMRELAY" serve -c "$W/c.toml" >"$W/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null http://127.0.0.1:18931/api/streams/cam/controls && break
  sleep 0.3
done
for _ in $(seq 50); do
  curl -s http://127.0.0.1:18931/api/streams/cam/controls | grep -q '"brightness"' && break
  sleep 0.3
done
got="$(v4l2-ctl -d "$D" --get-ctrl brightness)"
if [ "$got" = "brightness: 200" ]; then echo "ok: serve applied the config's brightness: $got"
else echo "FAIL: serve: config brightness = 200 but v4l2-ctl says '$got'"; fails=$((fails + 1)); fi
code="$(curl -s -o "$W/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data '{"brightness": 42, "contrast": 99}' http://127.0.0.1:18931/api/streams/cam/controls)"
got="$(v4l2-ctl -d "$D" --get-ctrl brightness --get-ctrl contrast | tr '\n' ' ')"
if [ "$code" = 200 ] && [ "$got" = "brightness: 42 contrast: 99 " ]; then echo "ok: POST {brightness: 42, contrast: 99}: v4l2-ctl says $got"
else echo "FAIL: POST controls: HTTP $code, v4l2-ctl says '$got'"; cat "$W/resp"; fails=$((fails + 1)); fi
if python3 -c 'import json,sys; c={x["name"]:x for x in json.load(open(sys.argv[1]))["controls"]}; sys.exit(0 if c["brightness"]["value"]==42 and c["brightness"]["max"]==255 else 1)' "$W/resp"; then
  echo "ok: the reply lists brightness = 42 (0..255)"
else echo "FAIL: reply does not list brightness = 42"; fails=$((fails + 1)); fi
code="$(curl -s -o "$W/resp" -w '%{http_code}' -X POST --data 'brightness=300' http://127.0.0.1:18931/api/streams/cam/controls)"
if [ "$code" = 400 ] && grep -q "max 255" "$W/resp"; then echo "ok: out of range over HTTP: $(cat "$W/resp")"
else echo "FAIL: brightness=300: HTTP $code: $(cat "$W/resp")"; fails=$((fails + 1)); fi
kill -TERM "$pid"; wait "$pid"
v4l2-ctl -d "$D" -c brightness=128,contrast=128,saturation=128 # vivid's defaults
echo "controls: $fails failed"
[ "$fails" = 0 ]
