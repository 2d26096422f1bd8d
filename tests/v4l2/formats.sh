#!/bin/bash
# In the VM: every pixel format vivid offers among camrelay's, at 640x480 (webcam
# input, asking 15 fps) and 1280x720 (webcam input, the device's rate: 12.5 fps):
# camrelay's MJPEG shows the colour bars where vivid draws them and the capture
# rate matches what the device reports. (25 fps and more are possible but
# under the VM's emulated CPU vivid itself cannot generate frames that fast.)
# Then `camrelay serve`: an HTTP snapshot and the MJPEG stream show the bars;
# and MJPEG input through v4l2loopback (fed by ffmpeg's 75% bars) passes
# through without decoding or copying. Last, the colour range (single- and
# multi-planar): with vivid's Quantization control at "Full Range" its YUYV
# bars carry full-range luma, and camrelay's snapshot (decoded by ffmpeg)
# must show the same bar luma as with limited range (no double expansion).
# Args: V4L2_CHECK CAMRELAY [mplane]  (FORMATS in the environment to pick some)
set -u
CHECK="$1" CAMRELAY="$2" MODE="${3:-}"
# vivid has no compressed formats: MJPEG input is tested below through v4l2loopback.
FORMATS="${FORMATS:-yuyv uyvy yvyu nv12 yuv420 rgb888 grey}"
D="$CAMRELAY_VM_VIVID_CAP"
W="$(mktemp -d)"
fails=0
# vivid's fourcc for each config name (what --list-formats shows)
fourcc() {
  case "$1" in
    yuyv) echo YUYV ;; uyvy) echo UYVY ;; yvyu) echo YVYU ;; nv12) echo NV12 ;;
    yuv420) echo YU12 ;; rgb888) echo RGB3 ;; grey) echo GREY ;; mjpeg) echo MJPG ;;
  esac
}
# `camrelay serve` of vivid's yuyv 640x480 at 15 fps on HTTP port $1.
serve_toml() {
  printf '[http]\nlisten = "127.0.0.1:%s"\n[stream.cam]\n[[stream.cam.sources]]\n' "$1"
  printf '[stream.cam.sources.capture]\nbackend = "v4l2"\ndevice = "%s"\n' "$D"
  printf 'width = 640\nheight = 480\nfps = 15\npixel_format = "yuyv"\n'
}
offered="$(v4l2-ctl -d "$D" --list-formats)"
for size in 640x480 1280x720; do
  fps=0
  [ "$size" = 640x480 ] && fps=15
  for f in $FORMATS; do
    [ "$f" = none ] && continue
    # vivid has no compressed formats: MJPEG is tested below, through v4l2loopback.
    if [ "$f" = mjpeg ] && [ "$MODE" != mplane ]; then
      echo "== mjpeg $size: vivid has none; tested through v4l2loopback below"
      continue
    fi
    # Each other format asked for must be tested: one vivid does not offer is a failure.
    if [ -z "$(fourcc "$f")" ] || ! grep -q "'$(fourcc "$f")'" <<<"$offered"; then
      echo "FAILED: $f: vivid does not offer '$(fourcc "$f")' (see v4l2-ctl -d $D --list-formats)"
      fails=$((fails + 1))
      continue
    fi
    cat >"$W/c.toml" <<EOT
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "$D"
width = ${size%x*}
height = ${size#*x}
pixel_format = "$f"
fps = $fps
prefer_dmabuf = true
EOT
    echo "== $f $size"
    if ! "$CHECK" "$W/c.toml" bars "${SECONDS_PER_FORMAT:-8}"; then
      echo "FAILED: $f $size"
      fails=$((fails + 1))
    fi
  done
done
if [ "$MODE" != mplane ]; then
  echo "== camrelay serve: snapshot and MJPEG stream (yuyv 640x480)"
  serve_toml 18932 >"$W/s.toml"
  "$CAMRELAY" serve -c "$W/s.toml" >"$W/serve.log" 2>&1 &
  pid=$!
  ok=0
  for _ in $(seq 60); do
    if curl -sf -o "$W/snap.jpg" http://127.0.0.1:18932/snapshot/cam && [ -s "$W/snap.jpg" ]; then ok=1; break; fi
    sleep 0.5
  done
  curl -s --max-time 4 -o "$W/stream.mjpeg" http://127.0.0.1:18932/mjpeg/cam
  kill -TERM "$pid"; wait "$pid"
  n="$(grep -c -a 'Content-Type: image/jpeg' "$W/stream.mjpeg")"
  if [ "$ok" = 1 ] && "$CHECK" jpeg "$W/snap.jpg" "$D" yuyv; then echo "ok: HTTP snapshot shows the bars"
  else echo "FAIL: HTTP snapshot"; tail -5 "$W/serve.log"; fails=$((fails + 1)); fi
  if [ "$n" -ge 10 ]; then echo "ok: /mjpeg/cam sent $n JPEG parts in 4 s"
  else echo "FAIL: /mjpeg/cam sent $n JPEG parts in 4 s"; fails=$((fails + 1)); fi

  echo "== mjpeg 640x480 from v4l2loopback (ffmpeg pal75bars)"
  L="$CAMRELAY_VM_LOOP"
  ffmpeg -nostdin -loglevel error -re -f lavfi -i pal75bars=size=640x480:rate=10 -c:v mjpeg -q:v 2 \
    -f v4l2 "$L" &
  fpid=$!
  for _ in $(seq 50); do v4l2-ctl -d "$L" --list-formats 2>/dev/null | grep -q MJPG && break; sleep 0.2; done
  cat >"$W/m.toml" <<EOT
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "$L"
width = 640
height = 480
fps = 10
pixel_format = "mjpeg"
EOT
  # The rate is ffmpeg's (under the emulated CPU), not a device's: reported only.
  if ! RATE_INFO_ONLY=1 "$CHECK" "$W/m.toml" bars "${SECONDS_PER_FORMAT:-3}"; then
    echo "FAILED: mjpeg 640x480 (v4l2loopback)"
    fails=$((fails + 1))
  fi
  kill "$fpid"; wait "$fpid" 2>/dev/null
fi

# Bar luma of a JPEG, decoded by ffmpeg: the mean of 5x5 at the middle row of
# each of vivid's eight bars (640x480), as "Y0 Y1 ... Y7".
bar_luma() {
  ffmpeg -nostdin -v error -i "$1" -f rawvideo -pix_fmt yuvj420p -y "$1.yuv" &&
    python3 -c '
import sys
w, h = 640, 480
y = open(sys.argv[1], "rb").read()[: w * h]
if len(y) < w * h:
    sys.exit("short decode")
out = []
for b in range(8):
    x = w * (2 * b + 1) // 16
    out.append(round(sum(y[(h // 2 + dy) * w + x + dx] for dy in range(-2, 3) for dx in range(-2, 3)) / 25))
print(*out)' "$1.yuv"
}
# Frames the stream has captured (from /api/streams), or 0.
captured() {
  curl -sf "http://127.0.0.1:$1/api/streams/cam" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["frames_captured"])' 2>/dev/null || echo 0
}
echo "== colour range: vivid Quantization limited vs full range (yuyv 640x480, snapshot decoded by ffmpeg)"
serve_toml 18933 >"$W/r.toml"
v4l2-ctl -d "$D" -c quantization=2 # Limited Range
"$CAMRELAY" serve -c "$W/r.toml" >"$W/range.log" 2>&1 &
pid=$!
lim="" full=""
for _ in $(seq 60); do
  curl -sf -o "$W/lim.jpg" http://127.0.0.1:18933/snapshot/cam && [ -s "$W/lim.jpg" ] && break
  sleep 0.5
done
lim="$(bar_luma "$W/lim.jpg")"
# The control change is a source change (vivid sends V4L2_EVENT_SOURCE_CHANGE):
# camrelay renegotiates on the same fd; the snapshot comes from frames after it.
v4l2-ctl -d "$D" -c quantization=1 # Full Range
for _ in $(seq 40); do grep -q 'source changed, renegotiating' "$W/range.log" && break; sleep 0.25; done
c0="$(captured 18933)"
for _ in $(seq 80); do [ "$(captured 18933)" -ge $((c0 + 10)) ] && break; sleep 0.25; done
curl -sf -o "$W/full.jpg" http://127.0.0.1:18933/snapshot/cam && full="$(bar_luma "$W/full.jpg")"
v4l2-ctl -d "$D" -c quantization=0 # back to Default
kill -TERM "$pid"; wait "$pid"
echo "bar luma, limited-range vivid: ${lim:-none}; full-range vivid: ${full:-none}"
read -r -a L <<<"$lim"
read -r -a F <<<"$full"
if [ "${#L[@]}" = 8 ] && [ "${L[0]}" -ge 187 ] && [ "${L[0]}" -le 195 ] && [ "${L[7]}" -le 4 ]; then
  echo "ok: limited range: 75% white $((L[0])) (191 +-4), black ${L[7]} (<= 4)"
else
  echo "FAIL: limited range: bar luma '${lim}' is not 75% bars (white 191 +-4, black <= 4)"
  tail -5 "$W/range.log"; fails=$((fails + 1))
fi
bad=""
if [ "${#F[@]}" != 8 ]; then bad="no snapshot"; else
  for b in 0 1 2 3 4 5 6 7; do
    d=$((F[b] - L[b])); [ "${d#-}" -le 4 ] || bad="$bad bar $b: ${F[b]} vs ${L[b]};"
  done
fi
if [ -z "$bad" ] && [ "${#L[@]}" = 8 ]; then echo "ok: full range: the same bar luma (+-4)"
else echo "FAIL: full range: bar luma differs from limited range:${bad}"; tail -5 "$W/range.log"; fails=$((fails + 1)); fi
if grep -q 'yuyv 640x480 in full range (V4L2 quantization full range' "$W/range.log"; then
  echo "ok: the log says full range: $(grep -o 'yuyv 640x480 in full range.*' "$W/range.log" | head -1)"
else echo "FAIL: no 'yuyv 640x480 in full range' line in camrelay's log"; fails=$((fails + 1)); fi

echo "formats: $fails failed"
[ "$fails" = 0 ]
