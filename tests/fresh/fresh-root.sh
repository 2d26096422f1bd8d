#!/usr/bin/env bash
# The fresh-machine check: a minimal Debian 12 root made by debootstrap, in
# which scripts/install-deps must install everything that building camrelay
# and the suites that need no VM take. A package missing from install-deps
# fails here however the machine running CI was set up by hand.
#   tests/fresh/fresh-root.sh [MESON-TEST-ARGS...]
# Default: the suites unit config e2e url libcamera, then the tests
# gphoto2-sim (libgphoto2's camlibs, the gphoto2 CLI), webrtc-aiortc-h264 and
# webrtc-chromium (aiortc, Chromium): everything that runs without the VM.
# Needs root (debootstrap, chroot, mounts) and Debian's package mirror.
# Cache: ${CAMRELAY_FRESH_CACHE:-$HOME/.cache/camrelay-fresh}:
#   base-<k1>/  debootstrap --variant=minbase bookworm (k1: this recipe, the mirror)
#   deps-<k2>/  base + scripts/install-deps (k2: k1 and install-deps' content)
# A warm run (install-deps unchanged) copies the tree in, runs install-deps
# again (it must find nothing missing), builds with -Werror and runs the
# suites in a network namespace of their own (no clashes with ports on the
# host, no network: loopback plus a veth pair on 192.0.2.0/24, a documentation
# range that exists only there, because WebRTC peers ignore loopback-only hosts). Last line: "fresh-root: N passed, N failed".
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd -P)
# the root recipe, the cache and in_root: tests/fresh/root.sh (tests/pkg uses them too)
. "$SRC/tests/fresh/root.sh"

log() { echo "fresh-root: $*" >&2; }
finish() { # RC: the closing line
	if [ "$1" -eq 0 ]; then echo "fresh-root: 1 passed, 0 failed"; else echo "fresh-root: 0 passed, 1 failed"; fi
	exit "$1"
}
[ "$(id -u)" -eq 0 ] || { log "needs root (chroot, mounts)"; finish 1; }
for t in debootstrap chroot unshare ip sha256sum tar git; do
	command -v "$t" >/dev/null || { log "$t not found: run scripts/install-deps"; finish 1; }
done

# install-deps and what it runs (npm packages of the tests: package.json, setup)
k2=$( (echo "$k1"; cd "$SRC" && cat scripts/install-deps $(git ls-files '*package.json' '*package-lock.json' \
	'*/setup')) | sha256sum | cut -c1-12)
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# copy_tree ROOT: the repository's tracked files (as in the work tree) into ROOT/src.
copy_tree() {
	rm -rf "$1/src"
	mkdir -p "$1/src"
	(cd "$SRC" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$1/src"
}

base=$(fresh_base) || finish 1

deps=$CACHE/deps-$k2
if [ ! -e "$deps/.ready" ]; then
	log "scripts/install-deps in a copy of the fresh root ($deps)"
	rm -rf "$deps"
	cp -a "$base" "$deps"
	rm -f "$deps/.ready"
	copy_tree "$deps"
	if ! in_root "$deps" net /bin/bash /src/scripts/install-deps >"$CACHE/install-deps.log" 2>&1; then
		tail -30 "$CACHE/install-deps.log" >&2
		log "scripts/install-deps failed in the fresh root (log: $CACHE/install-deps.log)"
		rm -rf "$deps"
		finish 1
	fi
	in_root "$deps" net apt-get clean >/dev/null 2>&1 || true
	# What install-deps put into the tree (npm's node_modules for tests) is kept
	# for the test runs, which have no network.
	(cd "$deps/src" && find . -name node_modules -type d -prune -print0 | tar --null -T - -cf "$deps/root/tree-installed.tar")
	rm -rf "$deps/src"
	touch "$deps/.ready"
	# Roots of older install-deps versions are not needed any more.
	for d in "$CACHE"/deps-*; do [ "$d" = "$deps" ] || rm -rf "$d"; done
fi

log "building and testing in $deps"
copy_tree "$deps" || finish 1
[ ! -f "$deps/root/tree-installed.tar" ] || tar -xf "$deps/root/tree-installed.tar" -C "$deps/src" || finish 1
in_root "$deps" lo /bin/bash -c '
	set -uo pipefail
	cd /src
	# Everything must be there already: install-deps may not find anything missing
	# (and has no network here to fetch it).
	out=$(scripts/install-deps 2>&1) || { echo "$out"; echo "install-deps failed inside the root"; exit 1; }
	[ -z "$out" ] || { echo "$out"; echo "install-deps still finds packages missing after installing them"; exit 1; }
	scripts/build ci || exit 1
	t() { meson test -C build/ci --print-errorlogs --num-processes 2 --timeout-multiplier 2 "$@"; }
	if [ $# -gt 0 ]; then
		t "$@"
	else
		rc=0
		t --suite unit --suite config --suite e2e --suite url --suite libcamera || rc=1
		t gphoto2-sim webrtc-aiortc-h264 webrtc-chromium || rc=1
		exit $rc
	fi
' fresh "$@"
rc=$?
rm -rf "$deps/src"
finish $rc
