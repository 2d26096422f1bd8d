#!/usr/bin/env bash
# Software encoders side by side, in one run, on the same raw frames:
# camrelay (bench_encode, the public encoder API) vs ffmpeg with the same
# library and settings, and GStreamer's x264enc for H.264.
#
#   bench/encode.sh BUILD_DIR [FRAMES] [SIZES] [CODECS]
#     FRAMES  frames per size (default 150), dumped once from the test source
#     SIZES   default "1280x720 1920x1080"
#     CODECS  default "h264 h265 vp8 vp9 av1"
#
# CPU is user+system time of each child process (/usr/bin/time), not wall
# clock; each figure is the least of REPEAT runs (default 3), the tools
# taking turns. Encode
# latency (frame in -> packet out) comes from bench_encode. Use a release or
# debugoptimized build; the encoders themselves are the Debian libraries.
set -euo pipefail

BUILD=${1:?usage: bench/encode.sh BUILD_DIR [FRAMES] [SIZES] [CODECS]}
FRAMES=${2:-150}
SIZES=${3:-"1280x720 1920x1080"}
CODECS=${4:-"h264 h265 vp8 vp9 av1"}
REPEAT=${REPEAT:-3}
DRV=$BUILD/bench/bench_encode
# the encoder modules (camrelay-x264.so, ...) are in the build's root, not beside bench_encode
export CAMRELAY_MODULE_DIR=${CAMRELAY_MODULE_DIR:-$BUILD}
GOP=60
FPS=30
[ -x "$DRV" ] || { echo "no $DRV: build it first (ninja -C $BUILD bench/bench_encode)" >&2; exit 1; }
for t in ffmpeg gst-launch-1.0 /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "$t not found (scripts/install-deps installs it)" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/camrelay-bench-encode.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
THREADS=$(nproc); [ "$THREADS" -gt 8 ] && THREADS=8

# The settings camrelay's backends use at >= 720p (src/encode/*.c, preset
# ultrafast), spelled as ffmpeg options. ffmpeg 5.1 caps -cpu-used at 8 for
# libvpx-vp9 (camrelay uses 8 too) and libaom (cpu-used=10 goes through
# -aom-params, which libaom applies after ffmpeg's own controls).
ffmpeg_args() { # codec width bitrate height
	local br=$3 tiles=0 w=$2 h=$4 vp8t=1 cpus
	cpus=$(nproc)
	# H.264 level as src/encode/x264.c picks it: 3.1 while the picture fits, else x264's choice
	local level="-level 3.1"
	[ $(((w + 15) / 16 * ((h + 15) / 16))) -le 3600 ] || level=""
	# VP8 threads as src/encode/vpx.c picks them
	if [ $((w * h)) -ge $((1920 * 1080)) ] && [ "$cpus" -gt 8 ]; then vp8t=8
	elif [ $((w * h)) -gt $((1280 * 960)) ] && [ "$cpus" -ge 6 ]; then vp8t=3
	elif [ $((w * h)) -gt $((640 * 480)) ] && [ "$cpus" -ge 3 ]; then vp8t=2; fi
	while [ $((2 << tiles)) -le "$THREADS" ] && [ $((w >> (tiles + 1))) -ge 256 ]; do tiles=$((tiles + 1)); done
	case $1 in
	h264) echo "-c:v libx264 -preset ultrafast -tune zerolatency -profile:v baseline $level
		-b:v $br -maxrate $br -bufsize $((br / 2)) -g $GOP -keyint_min $GOP -sc_threshold 0" ;;
	h265) echo "-c:v libx265 -preset ultrafast -tune zerolatency -b:v $br -maxrate $br -bufsize $((br / 2))
		-g $GOP -keyint_min $GOP -x265-params scenecut=0:open-gop=0:repeat-headers=1:log-level=error" ;;
	vp8) echo "-c:v libvpx -deadline realtime -cpu-used -12 -b:v $br -minrate $br -maxrate $br
		-bufsize $br -rc_init_occupancy $((br / 2)) -qmin 2 -qmax 56 -undershoot-pct 50 -overshoot-pct 50
		-g $GOP -keyint_min $GOP -lag-in-frames 0 -error-resilient 1 -static-thresh 1
		-noise-sensitivity 0 -threads $vp8t -slices $([ "$vp8t" -gt 1 ] && echo 2 || echo 1)" ;;
	vp9) echo "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v $br -minrate $br -maxrate $br
		-bufsize $br -rc_init_occupancy $((br / 2)) -qmin 2 -qmax 56 -undershoot-pct 50 -overshoot-pct 50
		-g $GOP -keyint_min $GOP -lag-in-frames 0 -error-resilient 1 -static-thresh 1
		-noise-sensitivity 0 -row-mt 1 -tile-columns $tiles -aq-mode 3 -threads $THREADS" ;;
	av1) echo "-c:v libaom-av1 -usage realtime -cpu-used 8 -b:v $br -minrate $br -maxrate $br
		-bufsize $br -qmin 10 -qmax 56 -undershoot-pct 50 -overshoot-pct 50 -g $GOP -keyint_min $GOP
		-lag-in-frames 0 -row-mt 1 -tile-columns $tiles -aq-mode 3 -threads $THREADS -enable-cdef 1
		-enable-global-motion 0
		-aom-params cpu-used=10:enable-tpl-model=0:deltaq-mode=0:enable-order-hint=0:enable-warped-motion=0:enable-obmc=0:coeff-cost-upd-freq=3:mode-cost-upd-freq=3:mv-cost-upd-freq=3" ;;
	esac
}

# cpu1 CMD...: one run's user+sys CPU in ms; stdout goes to $TMP/out.
cpu1() {
	/usr/bin/time -f "%U %S" -o "$TMP/time" "$@" >"$TMP/out" 2>"$TMP/err" ||
		{ echo "failed: $*" >&2; cat "$TMP/err" >&2; return 1; }
	awk '{printf "%.0f", ($1 + $2) * 1000}' "$TMP/time"
}

# cpu_ms CMD...: the least CPU over REPEAT runs. Other processes on the
# machine only ever add CPU time (shared caches, hyperthreads, spinning
# threads), so the minimum is the best estimate of what the work costs.
cpu_ms() {
	local best=
	for _ in $(seq "$REPEAT"); do
		local t
		t=$(cpu1 "$@") || return 1
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

echo "camrelay software encoders vs ffmpeg (same library, same settings) and GStreamer x264enc"
echo "$(nproc) CPUs (load $(cut -d' ' -f1 /proc/loadavg)), $FRAMES frames per size from the test source, CPU = user+sys, least of $REPEAT"
echo "ffmpeg: $(ffmpeg -version | head -1 | cut -d' ' -f1-3); gstreamer: $(gst-launch-1.0 --version | sed -n 2p)"
printf '\n%-5s %-9s %10s %10s %7s %7s %10s %9s %9s %9s\n' codec size camrelay ffmpeg ratio net gstreamer "lat p50" "lat p99" kbit/s
printf '%-5s %-9s %10s %10s %7s %7s %10s %9s %9s %9s\n' "" "" ms/frame ms/frame "" ratio ms/frame ms ms camrelay
for size in $SIZES; do
	w=${size%x*} h=${size#*x}
	br=$((w * h * FPS / 10)) # camrelay's default: ~0.1 bit per pixel
	"$DRV" dump "$w" "$h" "$FRAMES" "$TMP/frames.yuv"
	# What each side spends without encoding (reading the file, process
	# start): subtracted for the "net" ratio, which compares the encoders.
	ffbase=$(cpu_ms ffmpeg -nostdin -v error -f rawvideo -pix_fmt yuv420p -s "${w}x${h}" -r $FPS \
		-i "$TMP/frames.yuv" -c:v rawvideo -f null -)
	cambase=$(cpu_ms "$DRV" read "$w" "$h" "$TMP/frames.yuv")
	awk -v f="$ffbase" -v c="$cambase" -v n="$FRAMES" -v s="$size" 'BEGIN{
		printf "(%s without encoding: camrelay driver %.2f, ffmpeg %.2f ms/frame)\n", s, c / n, f / n}'
	for codec in $CODECS; do
		# camrelay, ffmpeg and GStreamer take turns, so a burst of load
		# elsewhere hits all of them alike; each keeps its least CPU.
		cam= ff= gst= stats=
		for _ in $(seq "$REPEAT"); do
			t=$(cpu1 "$DRV" encode "$codec" "$w" "$h" $FPS $br $GOP "$TMP/frames.yuv")
			if [ -z "$cam" ] || [ "$t" -lt "$cam" ]; then cam=$t stats=$(cat "$TMP/out"); fi
			# shellcheck disable=SC2046
			t=$(cpu1 ffmpeg -nostdin -v error -f rawvideo -pix_fmt yuv420p -s "${w}x${h}" -r $FPS \
				-i "$TMP/frames.yuv" $(ffmpeg_args "$codec" "$w" $br "$h") -f null -)
			if [ -z "$ff" ] || [ "$t" -lt "$ff" ]; then ff=$t; fi
			[ "$codec" = h264 ] || continue
			t=$(cpu1 gst-launch-1.0 -q filesrc location="$TMP/frames.yuv" ! \
				rawvideoparse width="$w" height="$h" format=i420 framerate=$FPS/1 ! \
				x264enc speed-preset=ultrafast tune=zerolatency bitrate=$((br / 1000)) \
				vbv-buf-capacity=500 key-int-max=$GOP option-string="scenecut=0:keyint-min=$GOP" ! \
				video/x-h264,profile=constrained-baseline ! fakesink)
			if [ -z "$gst" ] || [ "$t" -lt "$gst" ]; then gst=$t; fi
		done
		gst=$([ -n "$gst" ] && awk -v c="$gst" -v n="$FRAMES" 'BEGIN{printf "%.2f", c / n}' || echo -)
		awk -v codec="$codec" -v size="$size" -v cam="$cam" -v ff="$ff" -v gst="$gst" -v n="$FRAMES" \
			-v cb="$cambase" -v fb="$ffbase" -v s="$stats" 'BEGIN{
				split(s, f, " "); for (i = 1; i < length(f); i += 2) v[f[i]] = f[i + 1];
				net = (ff - fb > 0) ? (cam - cb) / (ff - fb) : 0;
				printf "%-5s %-9s %10.2f %10.2f %6.2fx %6.2fx %10s %9.2f %9.2f %9.0f\n", codec, size,
					cam / n, ff / n, cam / ff, net, gst, v["latency_p50_ms"], v["latency_p99_ms"], v["kbps"]}'
	done
done
