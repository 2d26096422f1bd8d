#!/bin/sh
# Builds the libFuzzer targets with clang in their own build directory and
# runs each for a share of SECONDS (default 60 in total). Exits non-zero if
# any target finds a crash, leak or failed invariant; the input is kept as
# $BUILD/crash-<target>-* - turn it into a file in tests/config/bad/ or a
# case in tests/config/test_toml.c.
#
#   tests/fuzz/run-fuzz.sh [SECONDS]
#   FUZZ_BUILD_DIR=... CC=clang-15 tests/fuzz/run-fuzz.sh 600
set -eu

total=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
cc=${CC:-clang}
here=$root/tests/fuzz
cflags="-std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -I$root/src
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
toml_src="$root/src/config/toml.c $root/src/config/toml_lex.c"
targets="fuzz_config fuzz_toml"

mkdir -p "$build"
# fuzz_config: the schema walks the backends' own option tables (each backend
# file declares its keys, core/options.h), so it links the library core, built
# by meson with clang here with libFuzzer's coverage (-fsanitize=fuzzer-no-link).
lib_build=$build/meson
if [ ! -f "$lib_build/build.ninja" ]; then
	CC=$cc CXX=${CXX:-clang++} meson setup "$lib_build" "$root" -Dfuzz=true -Dbuildtype=debug \
		-Doptimization=1 -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link >"$build/meson-setup.log" 2>&1 ||
		{ tail -20 "$build/meson-setup.log"; exit 1; }
fi
ninja -C "$lib_build" tests/fuzz/fuzz_config >"$build/meson-build.log" 2>&1 || { tail -30 "$build/meson-build.log"; exit 1; }
cp "$lib_build/tests/fuzz/fuzz_config" "$build/fuzz_config"
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_toml" "$here/fuzz_toml.c" $toml_src -lm

# SECONDS is shared by these, the WebRTC/RTSP targets and fuzz_auth further down.
webrtc_targets="fuzz_sdp fuzz_stun fuzz_rtcp fuzz_dtls fuzz_rtsp fuzz_whip_answer fuzz_whip_frag fuzz_turn fuzz_dcep fuzz_talk"
n=$(echo "$targets $webrtc_targets fuzz_auth" | wc -w)
each=$((total / n))
[ "$each" -ge 1 ] || each=1
status=0
for t in $targets; do
	# New inputs go to the build directory, so the checked-in seed corpus
	# stays small and reviewed.
	mkdir -p "$build/corpus-$t"
	echo "== $t: $each s"
	if ! "$build/$t" -max_total_time="$each" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-dict="$here/toml.dict" -artifact_prefix="$build/crash-$t-" -print_final_stats=1 \
		"$build/corpus-$t" "$here/corpus/config" 2>"$build/$t.log"; then
		echo "== $t FAILED; see $build/$t.log and $build/crash-$t-*"
		status=1
	fi
	grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ +DONE)' "$build/$t.log" || true
done
# WebRTC and RTSP parsers of outside input (SDP offers, STUN, RTCP, payloader
# input, DTLS records, RTSP messages; RTSP seeds in tests/rtsp/corpus/):
# each gets the same share, seeds in tests/webrtc/corpus/.
wsrc=$root/src
webrtc_corpus=$root/tests/webrtc/corpus
rtp_src="$wsrc/rtp/rtp.c $wsrc/rtp/nal.c $wsrc/rtp/h264.c $wsrc/rtp/h265.c $wsrc/rtp/vp8.c $wsrc/rtp/vp9.c $wsrc/rtp/av1.c $wsrc/rtp/jpeg.c
$wsrc/rtp/audio.c $wsrc/rtp/opus.c $wsrc/rtp/g711.c $wsrc/rtp/aac.c"
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_sdp" "$here/fuzz_sdp.c" "$wsrc/net/sdp.c" $rtp_src
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_stun" "$here/fuzz_stun.c" "$wsrc/net/stun.c" "$wsrc/net/hash.c" -lcrypto -largon2 -lz
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_rtcp" "$here/fuzz_rtcp.c" "$wsrc/rtp/rtcp.c" "$wsrc/net/gcc.c" "$wsrc/core/h264.c" $rtp_src -lm
$cc $cflags -o "$build/fuzz_rtsp" "$here/fuzz_rtsp.c" "$wsrc/net/rtsp_msg.c"
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_dtls" "$here/fuzz_dtls.c" "$wsrc/net/dtls.c" -lssl -lcrypto
# WHIP: the server's answer (net/whip_sdp.c on net/sdp.c); seeds in corpus/whip_answer.
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_whip_answer" "$here/fuzz_whip_answer.c" "$wsrc/net/whip_sdp.c" "$wsrc/net/sdp.c" $rtp_src
# WHIP: the server's trickle / ICE restart fragment (PATCH answers); seeds in corpus/whip_frag.
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_whip_frag" "$here/fuzz_whip_frag.c" "$wsrc/net/whip_sdp.c" "$wsrc/net/sdp.c" $rtp_src
# WHIP's TURN/STUN client (net/turn.c): what a TURN server sends; seeds in corpus/turn.
$cc $cflags -o "$build/fuzz_turn" "$here/fuzz_turn.c" "$wsrc/net/turn.c" "$wsrc/net/stun.c" "$wsrc/net/hash.c" -lcrypto -largon2 -lz
# Data channels: DCEP OPEN and the bridge's text test (net/dcep.c); seeds in corpus/dcep.
$cc $cflags -o "$build/fuzz_dcep" "$here/fuzz_dcep.c" "$wsrc/net/dcep.c"
# Talk-back: a WHEP viewer's RTP/Opus into the playout buffer and libopus (audio/talk_jb.c); seeds in corpus/talk.
$cc $cflags -o "$build/fuzz_talk" "$here/fuzz_talk.c" "$wsrc/audio/talk_jb.c" -lopus -lm
# Access control: Authorization header / ?token= values (Bearer, Basic, JWT);
# its seeds are in tests/fuzz/corpus/auth.
# shellcheck disable=SC2086
$cc $cflags -o "$build/fuzz_auth" "$here/fuzz_auth.c" "$wsrc/net/auth.c" "$wsrc/net/hash.c" -lcrypto -ljansson -largon2
for t in fuzz_sdp:sdp fuzz_stun:stun fuzz_rtcp:rtcp fuzz_dtls:dtls fuzz_auth:auth fuzz_rtsp:../../rtsp/corpus fuzz_whip_answer:whip_answer fuzz_whip_frag:whip_frag fuzz_turn:turn fuzz_dcep:dcep fuzz_talk:talk; do
	name=${t%%:*}
	seeds=$webrtc_corpus/${t##*:}
	[ -d "$seeds" ] || seeds=$here/corpus/${t##*:}
	mkdir -p "$build/corpus-$name"
	echo "== $name: $each s"
	if ! "$build/$name" -max_total_time="$each" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$build/crash-$name-" -print_final_stats=1 \
		"$build/corpus-$name" "$seeds" 2>"$build/$name.log"; then
		echo "== $name FAILED; see $build/$name.log and $build/crash-$name-* (add the input to $seeds)"
		status=1
	fi
	grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ +DONE)' "$build/$name.log" || true
done
exit $status
