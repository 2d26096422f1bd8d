#!/bin/bash
# In the VM: capture from vimc's "RGB/YUV Capture" node, a media-controller
# device (V4L2_CAP_IO_MC): the backend has src/media configure the sensor ->
# debayer -> scaler chain for what it negotiated on the node, streams, and the
# MJPEG shows vimc's colour bars. vimc reports no frame rate: rate not checked.
# Args: V4L2_CHECK
set -u
CHECK="$1"
W="$(mktemp -d)"
cat >"$W/c.toml" <<EOT
[stream.mc]
[[stream.mc.sources]]
[stream.mc.sources.capture]
backend = "v4l2"
device = "$CAMRELAY_VM_VIMC_RGB"
width = 640
height = 480
pixel_format = "rgb888"
EOT
RATE_INFO_ONLY=1 "$CHECK" "$W/c.toml" bars 2
