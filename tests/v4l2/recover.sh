#!/bin/bash
# In the VM: the device fails while streaming — vivid's `disconnect` control,
# its `inject_fatal_streaming_error`, and an unplug (driver unbound, module
# removed and loaded again with other /dev numbers). Consumers keep getting
# (placeholder) frames, the picture comes back, the stream configured by card
# name finds the device at its new node, and fds/mappings are as before.
# Args: V4L2_CHECK
set -u
CHECK="$1"
D="$CAMRELAY_VM_VIVID_CAP"
W="$(mktemp -d)"
MP=(modprobe -d "$CAMRELAY_VM_MODROOT")
fails=0
cat >"$W/c.toml" <<EOT
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "vivid"
width = 320
height = 240
fps = 10
pixel_format = "yuyv"
prefer_dmabuf = true
EOT
run() {
  echo "== $1"
  shift
  "$@" || { echo "FAILED: $*"; fails=$((fails + 1)); }
}
run "vivid disconnect control" "$CHECK" "$W/c.toml" recover "v4l2-ctl -d $D -c disconnect=1"
run "fatal streaming error" "$CHECK" "$W/c.toml" recover "v4l2-ctl -d $D -c inject_fatal_streaming_error=1"

# Unplug: unbind the platform device (what a USB unplug does to uvcvideo), remove
# the module once camrelay has let go, take low /dev numbers with more
# v4l2loopback devices, load vivid again.
dev="$(basename "$(readlink -f /sys/class/video4linux/${D#/dev/}/device)")"
unplug="echo $dev > /sys/bus/platform/drivers/vivid/unbind &&
  for i in \$(seq 100); do rmmod vivid 2>/dev/null && break; sleep 0.1; done && ! grep -q '^vivid ' /proc/modules &&
  rmmod v4l2loopback && ${MP[*]} v4l2loopback devices=6 && sleep 1 && ${MP[*]} vivid $CAMRELAY_VM_VIVID_PARAMS &&
  v4l2-ctl --list-devices | grep -A1 '^vivid'"
run "unbind, rmmod, modprobe with new numbers" env EXPECT_DEVICE_CHANGE=1 EXPECT_PLACEHOLDERS=1 "$CHECK" "$W/c.toml" recover "$unplug"
echo "recover: $fails failed"
[ "$fails" = 0 ]
