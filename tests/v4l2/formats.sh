#!/bin/bash
# In the VM: every pixel format vivid offers among camrelay's, at 640x480 (webcam
# input) and 1280x720 (HDMI input at 1280x720p25): camrelay's MJPEG shows the
# colour bars where vivid draws them and the capture rate matches the device.
# Args: V4L2_CHECK [FORMATS...]
set -u
CHECK="$1"; shift
FORMATS="${*:-yuyv uyvy yvyu nv12 yuv420 rgb888 grey mjpeg}"
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
  if [ "$size" = 640x480 ]; then
    v4l2-ctl -d "$D" -i 0 >/dev/null || exit 1
  else
    # HDMI input: 720p at 25 fps (the webcam input gives at most 12.5 fps there)
    v4l2-ctl -d "$D" -i 3 >/dev/null && v4l2-ctl -d "$D" --set-dv-bt-timings index=6 >/dev/null || exit 1
  fi
  for f in $FORMATS; do
    if ! grep -q "'$(fourcc "$f")'" <<<"$offered"; then
      echo "SKIP: $f: vivid does not offer $(fourcc "$f") (vivid has no compressed formats)"
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
EOT
    echo "== $f $size"
    if ! "$CHECK" "$W/c.toml" bars "${SECONDS_PER_FORMAT:-3}"; then
      echo "FAILED: $f $size"
      fails=$((fails + 1))
    fi
  done
done
v4l2-ctl -d "$D" -i 0 >/dev/null
echo "formats: $fails failed"
[ "$fails" = 0 ]
