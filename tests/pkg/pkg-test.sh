#!/usr/bin/env bash
# The Debian packages that scripts/package built (build/pkg), checked as a
# user gets them:
#  - dpkg -c: camrelay has the binary, the unit, /etc/camrelay/camrelay.toml
#    and both man pages; libcamrelay0 the shared library; libcamrelay-dev the
#    headers and camrelay.pc (amd64 and arm64); lintian: no errors.
#  - arm64: the binary is an AArch64 ELF; under qemu-aarch64 (Debian's
#    qemu-user) it prints --version and check-config passes on the shipped
#    config; the unit and config suites of the cross build tree run under
#    qemu-aarch64 (meson's exe_wrapper) and pass, but for the four tests of
#    V4L2 ioctl answers that qemu-user cannot give (see arm64()).
#  - amd64 in a fresh Debian 12 root (tests/fresh/root.sh's cached debootstrap
#    root, copied): apt-get install ./camrelay_*.deb (with the encoder
#    modules it depends on, camrelay-x264, camrelay-vpx and camrelay-alsa) pulls its dependencies
#    from Debian; the camrelay user is in video and audio; check-config passes
#    on /etc/camrelay/camrelay.toml; camrelay serve reaches READY=1 on a
#    NOTIFY_SOCKET; systemd-analyze verify accepts the installed unit (--man=no:
#    the root has no man-db; tests/service checks Documentation= with man);
#    booted by systemd-nspawn -b (systemd as PID 1, see boot_check), systemctl
#    start/reload/stop camrelay work under the unit's sandbox as the camrelay
#    user (figure: systemctl start to READY);
#    apt-get remove leaves only the config; purge removes that too;
#    without the module package camrelay-x265 an x265 config stops with one
#    message naming it, and serves once it is installed (modules_check).
# Prints figures (package sizes, install footprint) and ends with
# "pkg-test: N passed, N failed".
#   tests/pkg/pkg-test.sh [amd64|arm64|all]
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
OUT=$SRC/build/pkg
archs=${1:-all}
[ "$archs" = all ] && archs="amd64 arm64"
LOG_TAG=pkg-test
pass=0
fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
check() { # MSG CMD...
	local msg=$1
	shift
	if "$@"; then ok "$msg"; else bad "$msg"; fi
}
finish() {
	echo "pkg-test: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}
ver=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
# the module packages (camrelay-x265, ...): one debian/camrelay-NAME.install each
modpkgs=$(cd "$SRC/debian" && ls camrelay-*.install | sed 's/\.install$//' | tr '\n' ' ')

contents() { # ARCH
	local a=$1 c
	for p in camrelay $modpkgs libcamrelay0 libcamrelay-dev; do
		[ -f "$OUT/${p}_${ver}_$a.deb" ] || { bad "$a: $OUT/${p}_${ver}_$a.deb exists (run scripts/package $a)"; return; }
		printf 'figure: %s_%s_%s.deb %d bytes, installed %s KiB\n' "$p" "$ver" "$a" \
			"$(stat -c %s "$OUT/${p}_${ver}_$a.deb")" "$(dpkg-deb -f "$OUT/${p}_${ver}_$a.deb" Installed-Size)"
	done
	c=$(dpkg -c "$OUT/camrelay_${ver}_$a.deb" | awk '{print $6}')
	for f in ./usr/bin/camrelay ./lib/systemd/system/camrelay.service ./etc/camrelay/camrelay.toml \
		./usr/share/man/man1/camrelay.1.gz ./usr/share/man/man5/camrelay.toml.5.gz; do
		check "$a: dpkg -c camrelay has $f" grep -qx "$f" <<<"$c"
	done
	check "$a: /etc/camrelay/camrelay.toml is a conffile" \
		bash -c "dpkg-deb --ctrl-tarfile '$OUT/camrelay_${ver}_$a.deb' | tar -xO ./conffiles | grep -qx /etc/camrelay/camrelay.toml"
	local triplet
	triplet=$(dpkg-architecture -a "$a" -qDEB_HOST_MULTIARCH 2>/dev/null)
	# WebRTC/TLS's libraries are a module in camrelay itself (src/net/crypto.h)
	check "$a: camrelay has usr/lib/$triplet/camrelay/camrelay-crypto.so" \
		grep -q "^./usr/lib/$triplet/camrelay/camrelay-crypto.so" <<<"$(dpkg -c "$OUT/camrelay_${ver}_$a.deb" | awk '{print $6}')"
	c=$(dpkg -c "$OUT/libcamrelay0_${ver}_$a.deb" | awk '{print $6}')
	check "$a: libcamrelay0 has usr/lib/$triplet/libcamrelay.so.0" grep -q "^./usr/lib/$triplet/libcamrelay.so.0" <<<"$c"
	for p in ${modpkgs//camrelay-/}; do
		c=$(dpkg -c "$OUT/camrelay-${p}_${ver}_$a.deb" | awk '{print $6}')
		check "$a: camrelay-$p has usr/lib/$triplet/camrelay/camrelay-$p.so" grep -q "^./usr/lib/$triplet/camrelay/camrelay-$p.so" <<<"$c"
	done
	c=$(dpkg -c "$OUT/libcamrelay-dev_${ver}_$a.deb" | awk '{print $6}')
	for f in ./usr/include/camrelay/pipeline.h ./usr/lib/$triplet/pkgconfig/camrelay.pc ./usr/lib/$triplet/libcamrelay.so; do
		check "$a: libcamrelay-dev has $f" grep -qx "$f" <<<"$c"
	done
	local l
	l=$(lintian --fail-on error --suppress-tags bad-distribution-in-changes-file "$OUT/camrelay_${ver}_$a.changes" 2>&1)
	local rc=$?
	[ -z "$l" ] || echo "$l"
	check "$a: lintian reports no errors ($(grep -c '^E:' <<<"$l") E:, $(grep -c '^W:' <<<"$l") W:)" test $rc -eq 0
}

# e_machine of an ELF file (183: EM_AARCH64, 62: EM_X86_64)
elf_machine() { od -An -t u2 -j 18 -N 2 "$1" | tr -d ' '; }

arm64() {
	local root
	root=$(cat "$OUT/cross-root-arm64" 2>/dev/null)
	if [ -z "$root" ] || [ ! -d "$root/build" ]; then
		bad "arm64: the cross-build root with the build tree (run scripts/package arm64)"
		return
	fi
	[ "$(id -u)" -eq 0 ] || { bad "arm64: running in the cross-build root needs root (chroot)"; return; }
	. "$SRC/tests/fresh/root.sh"
	local x=$root/pkg-x
	rm -rf "$x"
	dpkg -x "$OUT/camrelay_${ver}_arm64.deb" "$x"
	check "arm64: usr/bin/camrelay is an AArch64 ELF (e_machine $(elf_machine "$x/usr/bin/camrelay"))" \
		test "$(elf_machine "$x/usr/bin/camrelay")" = 183
	# Debian's qemu-user and the arm64 libraries live in the cross-build root
	local v
	v=$(in_root "$root" lo qemu-aarch64 /pkg-x/usr/bin/camrelay --version 2>&1)
	echo "$v" | sed 's/^/  qemu-aarch64: /'
	check "arm64: qemu-aarch64 camrelay --version prints camrelay $ver" grep -q "^camrelay $ver" <<<"$v"
	check "arm64: the package has the DataChannel bridge (--version: datachannel: yes)" grep -q "^datachannel: yes" <<<"$v"
	v=$(in_root "$root" lo qemu-aarch64 /pkg-x/usr/bin/camrelay check-config /pkg-x/etc/camrelay/camrelay.toml 2>&1)
	check "arm64: qemu-aarch64 camrelay check-config on the shipped config: $(head -1 <<<"$v")" grep -q ": ok: 1 stream" <<<"$v"
	rm -rf "$x"
	local obj=/build/camrelay-$ver/obj-aarch64-linux-gnu
	check "arm64: the test programs are AArch64 ELFs" test "$(elf_machine "$root$obj/tests/config/test_toml")" = 183
	# The unit and config suites, run by meson through the cross file's
	# exe_wrapper (qemu-aarch64), except what qemu-user cannot run: suite lib
	# builds examples with the host's compilers against the installed library;
	# v4l2-util, v4l2-cli-nodevice, overlay-cli-nodevice and m2m-nodevice check
	# the kernel's answers to V4L2 ioctls on non-V4L2 nodes (ENOTTY), which
	# qemu-user does not pass through (it answers ENOSYS), and the shell
	# scripts among them exec ./camrelay directly (no binfmt_misc here);
	# timecode encodes and decodes through ffmpeg, which the cross-build root
	# does not have (it holds only what building needs).
	local skip=" v4l2-util v4l2-cli-nodevice overlay-cli-nodevice m2m-nodevice timecode " names=() t
	while read -r t; do
		[[ "$t" == camrelay:* ]] || continue
		t=${t##*/ }
		[[ "$skip" == *" $t "* ]] || names+=("$t")
	done < <(in_root "$root" lo meson test -C "$obj" --no-rebuild --list --suite unit --suite config --no-suite lib 2>/dev/null)
	echo "  arm64: not run under qemu-user:$skip"
	local out
	out=$(in_root "$root" lo meson test -C "$obj" --no-rebuild --print-errorlogs "${names[@]}" 2>&1)
	local rc=$?
	grep -E '^ *[0-9]+/[0-9]+ ' <<<"$out" | sed 's/^/  arm64 /'
	local n
	n=$(grep -cE '^ *[0-9]+/[0-9]+ .* OK ' <<<"$out")
	check "arm64: unit and config suites under qemu-aarch64 pass ($n of ${#names[@]}: ${names[*]})" test $rc -eq 0 -a "$n" -eq ${#names[@]} -a "$n" -gt 0
}

# modules_check ROOT: camrelay installed without its recommended module
# packages: a config that encodes with x265 stops at start with one message
# naming the package, and --version says the module is not installed; with
# camrelay-x265 installed (apt pulls libx265), the same config serves (READY=1
# comes after the encoder's start-up check, which loads the module).
modules_check() {
	local root=$1 out
	cat >"$root/root/x265.toml" <<-'EOF'
		[http]
		listen = "127.0.0.1:8081"
		[stream.cam]
		[[stream.cam.sources]]
		[stream.cam.sources.capture]
		backend = "test"
		width = 320
		height = 240
		fps = 10
		[stream.cam.sources.encoder]
		backend = "x265"
		codec = "h265"
		[[stream.cam.sinks]]
		type = "rtp"
		address = "127.0.0.1:5004"
	EOF
	out=$(in_root "$root" net /bin/bash -c '
		export DEBIAN_FRONTEND=noninteractive
		echo "--- version"; camrelay --version | grep "^modules:"
		echo "--- serve"; timeout 30 camrelay serve -c /root/x265.toml 2>&1; echo "exit status $?"
		echo "--- install"
		apt-get install -y -qq --no-install-recommends ./root/camrelay-x265_*.deb >/tmp/apt.log 2>&1 || { tail -5 /tmp/apt.log; exit 1; }
		echo "--- version"; camrelay --version | grep "^modules:"
		echo "--- serve"; python3 /root/notify_ready.py camrelay serve -c /root/x265.toml
	' 2>&1)
	echo "$out" | sed 's/^/  root: /'
	local before after d=/usr/lib/x86_64-linux-gnu/camrelay
	before=$(sed -n '1,/^--- install/p' <<<"$out")
	after=$(sed -n '/^--- install/,$p' <<<"$out")
	check "amd64 root: without camrelay-x265, --version says x265(not installed: package camrelay-x265)" \
		grep -q "^modules:.* x265(not installed: package camrelay-x265)" <<<"$before"
	check "amd64 root: without camrelay-x265, serve of an x265 config exits 1 with one message naming the file, $d and the package" \
		bash -c "grep -q 'the x265 module is not installed: no camrelay-x265.so in $d (install the package camrelay-x265)' <<<'$before' &&
			grep -qx 'exit status 1' <<<'$before' && test \$(sed -n '/^--- serve/,/^exit status/p' <<<'$before' | wc -l) -eq 3"
	check "amd64 root: with camrelay-x265 installed, --version names $d/camrelay-x265.so" \
		grep -q "^modules:.* x265($d/camrelay-x265.so)" <<<"$after"
	check "amd64 root: with camrelay-x265 installed, the x265 config serves (READY=1)" grep -q "^READY=1 " <<<"$after"
}

# boot_check ROOT: ROOT (camrelay and systemd installed) booted by
# systemd-nspawn -b, systemd as PID 1, without network (a loopback only):
# tests/pkg/boot-check.sh, run there by a oneshot unit, starts camrelay.service
# three times (systemctl returns at READY=1), reloads it once (SIGHUP), stops
# it, and powers off; its key=value answers are checked here.
boot_check() {
	local root=$1 b
	command -v systemd-nspawn >/dev/null || { bad "amd64 root: systemd-nspawn found (scripts/install-deps: systemd-container)"; return; }
	cp "$SRC/tests/pkg/boot-check.sh" "$root/root/"
	printf '[Unit]\nDescription=tests/pkg: systemctl start, reload, stop camrelay.service\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/bin/bash /root/boot-check.sh\n' \
		>"$root/etc/systemd/system/camrelay-boot-check.service"
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/camrelay-boot-check.service "$root/etc/systemd/system/multi-user.target.wants/"
	# no system bus on the host: no machined registration, the caller's own unit
	local t0=$SECONDS
	(cd / && timeout 300 systemd-nspawn -q -D "$root" -b --private-network --register=no --keep-unit \
		--console=pipe </dev/null >"$OUT/boot-check-nspawn.log" 2>&1)
	local rc=$?
	b=$(cat "$root/root/boot-check.out" 2>/dev/null)
	sed 's/^/  boot: /' <<<"$b"
	echo "  boot: systemd-nspawn -b, the checks and poweroff took $((SECONDS - t0)) s"
	check "amd64 root: booted by systemd-nspawn -b, the check ran to its end (nspawn exit $rc, log $OUT/boot-check-nspawn.log)" \
		grep -qx "done=1" <<<"$b"
	local i ok=1 ms=()
	for i in 1 2 3; do
		grep -qx "start$i.rc=0" <<<"$b" && grep -qx "start$i.active=active" <<<"$b" &&
			grep -qx "start$i.status=serving 1 stream (test) on http://127.0.0.1:8080/" <<<"$b" &&
			grep -qx "start$i.user=camrelay" <<<"$b" || ok=0
		ms+=("$(sed -n "s/^start$i.ms=//p" <<<"$b") ms")
	done
	check "amd64 root: systemd (PID 1) starts camrelay.service 3 times: active at READY, STATUS=serving 1 stream, user camrelay" test $ok = 1
	echo "figure: systemctl start camrelay to READY (systemd-nspawn, systemd as PID 1, ExecStartPre check-config included): ${ms[*]}"
	ok=1
	grep -qx "reload.rc=0" <<<"$b" && grep -qx "reload.samepid=yes" <<<"$b" &&
		grep -qx "reload.active=active" <<<"$b" && grep -q "^reload.log=.*camrelay.toml reloaded" <<<"$b" || ok=0
	check "amd64 root: systemctl reload: camrelay re-reads its config (journal), same process, still active" test $ok = 1
	ok=1
	for i in 1 2 3; do
		grep -qx "stop$i.rc=0" <<<"$b" && grep -qx "stop$i.result=success" <<<"$b" &&
			grep -qx "stop$i.active=inactive" <<<"$b" || ok=0
	done
	check "amd64 root: systemctl stop camrelay: inactive, Result=success (3 times)" test $ok = 1
	rm -f "$root/etc/systemd/system/multi-user.target.wants/camrelay-boot-check.service" \
		"$root/etc/systemd/system/camrelay-boot-check.service" "$root/root/boot-check.sh" "$root/root/boot-check.out"
}

# KiB in a root without apt's package lists and cache: apt-get update fills the
# lists and apt-get clean empties the cache, so counting either made the
# install footprint wrong (negative, beside a base root with its own).
size_without_apt() {
	local all lists cache
	all=$(du -sxk "$1" | cut -f1)
	lists=$(du -sxk "$1/var/lib/apt/lists" 2>/dev/null | cut -f1)
	cache=$(du -sxk "$1/var/cache/apt" 2>/dev/null | cut -f1)
	echo $((all - ${lists:-0} - ${cache:-0}))
}

fresh_install() {
	[ "$(id -u)" -eq 0 ] || { bad "amd64 fresh install needs root (chroot)"; return; }
	. "$SRC/tests/fresh/root.sh"
	mkdir -p "$CACHE"
	local base root
	base=$( (exec 9>"$CACHE/.lock"; flock 9; fresh_base)) || { bad "the fresh Debian 12 root (debootstrap)"; return; }
	root=$(mktemp -d "$CACHE/pkg-XXXXXX")
	cp -a "$base/." "$root/"
	# camrelay depends on the encoder modules camrelay-x264 and camrelay-vpx
	# and on the ALSA module camrelay-alsa
	cp "$OUT/camrelay_${ver}_amd64.deb" "$OUT/camrelay-x265_${ver}_amd64.deb" "$OUT/camrelay-x264_${ver}_amd64.deb" \
		"$OUT/camrelay-vpx_${ver}_amd64.deb" "$OUT/camrelay-alsa_${ver}_amd64.deb" "$root/root/"
	cp "$SRC/tests/pkg/notify_ready.py" "$root/root/"
	local before after out
	before=$(size_without_apt "$root")
	out=$(in_root "$root" net /bin/bash -c '
		set -e
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends ./root/camrelay_*.deb ./root/camrelay-x264_*.deb \
			./root/camrelay-vpx_*.deb ./root/camrelay-alsa_*.deb >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }
		apt-get clean
		echo "newly installed: $(grep -c "^Setting up" /tmp/apt.log) packages"
	' 2>&1)
	local rc=$?
	echo "$out" | sed 's/^/  root: /'
	check "amd64: apt-get install ./camrelay_${ver}_amd64.deb in a fresh Debian 12 root pulls its dependencies" test $rc -eq 0
	[ $rc -eq 0 ] || { rm -rf "$root"; return; }
	after=$(size_without_apt "$root")
	echo "figure: install footprint in a minimal Debian 12 root: $((after - before)) KiB (camrelay and the packages it pulls; apt's lists and cache not counted, before or after)"
	out=$(in_root "$root" lo /bin/bash -c '
		camrelay check-config /etc/camrelay/camrelay.toml && echo "groups: $(id -nG camrelay)" &&
		echo "home: $(getent passwd camrelay | cut -d: -f6)" &&
		python3 --version >/dev/null 2>&1 && echo has-python3' 2>&1)
	echo "$out" | sed 's/^/  root: /'
	check "amd64 root: camrelay check-config /etc/camrelay/camrelay.toml passes" grep -q "camrelay.toml: ok: 1 stream, http on 127.0.0.1:8080" <<<"$out"
	check "amd64 root: the camrelay system user is in video and audio" \
		bash -c "grep '^groups:' <<<'$out' | grep -qw video && grep '^groups:' <<<'$out' | grep -qw audio"
	# serve as the service would: the camrelay user, READY=1 on a NOTIFY_SOCKET
	out=$(in_root "$root" net /bin/bash -c '
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq --no-install-recommends python3-minimal systemd >/tmp/apt.log 2>&1 || { tail -5 /tmp/apt.log; exit 1; }
		echo "--- serve"
		python3 /root/notify_ready.py setpriv --reuid=camrelay --regid=camrelay --init-groups \
			/usr/bin/camrelay serve -c /etc/camrelay/camrelay.toml
		echo "--- verify"
		SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no /lib/systemd/system/camrelay.service 2>&1 && echo verify-ok
	' 2>&1)
	echo "$out" | sed 's/^/  root: /'
	check "amd64 root: camrelay serve as the camrelay user sends READY=1 with STATUS" grep -q "^READY=1 STATUS=serving 1 stream (test) on http://127.0.0.1:8080/" <<<"$out"
	check "amd64 root: and exits 0 on the SIGTERM right after READY" grep -qx "exit status 0" <<<"$out"
	check "amd64 root: systemd-analyze verify accepts the installed unit" grep -qx "verify-ok" <<<"$out"
	modules_check "$root"
	boot_check "$root"
	# remove: everything but the conffile; purge: that too
	out=$(in_root "$root" net /bin/bash -c '
		export DEBIAN_FRONTEND=noninteractive
		apt-get remove -y -qq camrelay >/dev/null 2>&1 || exit 1
		echo "after remove: $(dpkg-query -W -f="\${db:Status-Status}" camrelay)"
		ls /usr/bin/camrelay /lib/systemd/system/camrelay.service /usr/share/man/man1/camrelay.1.gz /etc/camrelay/camrelay.toml 2>/dev/null | sed "s/^/left: /"
		apt-get purge -y -qq camrelay >/dev/null 2>&1 || exit 1
		echo "after purge: $(dpkg-query -W -f="\${db:Status-Status}" camrelay 2>&1 | head -1)"
		ls -d /etc/camrelay /var/lib/camrelay /usr/bin/camrelay 2>/dev/null | sed "s/^/left: /"
		true
	' 2>&1)
	echo "$out" | sed 's/^/  root: /'
	check "amd64 root: apt-get remove leaves the config only" \
		test "$(sed -n '/^after remove/,/^after purge/p' <<<"$out" | grep '^left:')" = "left: /etc/camrelay/camrelay.toml"
	check "amd64 root: apt-get purge removes the config and the state directory too" \
		bash -c "grep -q '^after purge' <<<'$out' && ! sed -n '/^after purge/,\$p' <<<'$out' | grep -q '^left:'"
	rm -rf "$root"
}

for a in $archs; do
	contents "$a"
	[ "$a" = arm64 ] && arm64
	[ "$a" = amd64 ] && fresh_install
done
finish
