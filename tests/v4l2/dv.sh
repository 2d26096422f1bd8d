#!/bin/bash
# In the VM: vivid's HDMI input changes its DV timings while camrelay streams
# (the source side changes, as when a laptop on an HDMI grabber changes mode):
# camrelay gets V4L2_EVENT_SOURCE_CHANGE, queries and sets the new timings,
# renegotiates and goes on without reopening the device.
# (v4l2-ctl --set-dv-bt-timings sets the receiver's timings and is refused
# with EBUSY while another process streams; vivid's "DV Timings Signal Mode" and
# "DV Timings" controls change what the source sends.)
# Args: V4L2_CHECK
set -u
CHECK="$1"
D="$CAMRELAY_VM_VIVID_CAP"
W="$(mktemp -d)"
v4l2-ctl -d "$D" -i 3 >/dev/null || exit 1
# Source sends 640x480p59 (menu index 0), receiver follows.
v4l2-ctl -d "$D" -c dv_timings_signal_mode=4 -c dv_timings=0 || exit 1
cat >"$W/c.toml" <<EOT
[stream.hdmi]
[[stream.hdmi.sources]]
[stream.hdmi.sources.capture]
backend = "v4l2"
device = "$D"
pixel_format = "yuyv"
EOT
# 720x576p50 is menu index 4.
"$CHECK" "$W/c.toml" follow "v4l2-ctl -d $D -c dv_timings=4 && v4l2-ctl -d $D --query-dv-timings | head -3"
rc=$?
v4l2-ctl -d "$D" -i 0 >/dev/null
exit $rc
