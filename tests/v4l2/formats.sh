#!/bin/bash
# In the VM: every pixel format vivid offers among camrelay's, at 640x480 (webcam
# input, asking 15 fps) and 1280x720 (webcam input, the device's rate: 12.5 fps):
# camrelay's MJPEG shows the colour bars where vivid draws them and the capture
# rate matches what the device reports. (25 fps and more are possible but
# under the VM's emulated CPU vivid itself cannot generate frames that fast.)
# Then `camrelay serve`: an HTTP snapshot and the MJPEG stream show the bars;
# and MJPEG input through v4l2loopback (fed by ffmpeg's 75% bars) passes
# through without decoding or copying.
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
  cat >"$W/s.toml" <<EOT
[http]
listen = "127.0.0.1:18932"
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "$D"
width = 640
height = 480
fps = 15
pixel_format = "yuyv"
EOT
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
echo "formats: $fails failed"
[ "$fails" = 0 ]
