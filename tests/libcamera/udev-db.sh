#!/bin/sh
# The VM has no udevd; libcamera's device enumerator only takes devices udev
# has "initialized" (a /run/udev/data/cMAJ:MIN entry with an I: line). Write
# those entries for the media, video and sub-device nodes, as udevd would.
mkdir -p /run/udev/data
for d in /sys/bus/media/devices/* /sys/class/video4linux/*; do
  [ -r "$d/dev" ] || continue
  read -r devnum <"$d/dev"
  printf 'I:1\n' >"/run/udev/data/c$devnum"
done
