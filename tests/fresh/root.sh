# The fresh Debian 12 root shared by tests/fresh/fresh-root.sh and tests/pkg:
# sourced, with SRC set. Cache: ${CAMRELAY_FRESH_CACHE:-$HOME/.cache/camrelay-fresh}
#   base-<k1>/  debootstrap --variant=minbase bookworm (k1: RECIPE, the mirror)
# Defines CACHE, RECIPE, mirror, k1, log(), in_root ROOT NET CMD... and
# fresh_base (makes base-<k1> once, prints its path; needs the cache lock fd 9).
CACHE=${CAMRELAY_FRESH_CACHE:-${HOME:?set CAMRELAY_FRESH_CACHE}/.cache/camrelay-fresh}
RECIPE=1 # bump when the root recipe below changes

log() { echo "${LOG_TAG:-fresh-root}: $*" >&2; }

# The host's Debian mirror (deb822 .sources or one-line sources.list).
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
k1=$(printf '%s\n' "$RECIPE" "$mirror" | sha256sum | cut -c1-12)

# in_root ROOT NET CMD...: runs CMD in ROOT with /proc, /sys, /dev, a fresh
# /tmp, in a mount namespace of its own (mounts vanish with it). NET=net
# shares the host's network (apt), NET=lo gives only a loopback.
in_root() {
	local root=$1 net=$2
	shift 2
	local nsopt=(-m --propagation private)
	[ "$net" = lo ] && nsopt+=(-n)
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	# npm (install-deps installs test packages with it) trusts the CAs the host's
	# Node is told to (NODE_EXTRA_CA_CERTS, e.g. a proxy's): the root gets a copy.
	local extra=()
	if [ "$net" = net ] && [ -r "${NODE_EXTRA_CA_CERTS:-}" ]; then
		# a new root has no /etc/ssl until ca-certificates is installed in it
		mkdir -p "$root/etc/ssl" && cp -L "$NODE_EXTRA_CA_CERTS" "$root/etc/ssl/host-extra-ca.crt" &&
			extra=(NODE_EXTRA_CA_CERTS=/etc/ssl/host-extra-ca.crt)
	fi
	EXTRA_ENV="${extra[*]}" NETNS=$net unshare "${nsopt[@]}" /bin/bash -c '
		set -e
		r=$1; shift
		if [ "$NETNS" = lo ]; then
			ip link set lo up
			ip link add cr0 type veth peer name cr1
			ip addr add 192.0.2.1/24 dev cr0
			ip addr add 192.0.2.2/24 dev cr1
			ip link set cr0 up
			ip link set cr1 up
		fi
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o size=2g tmpfs "$r/tmp"
		exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" $EXTRA_ENV \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' in_root "$root" "$@"
}

# fresh_base: the cached minimal root (debootstrap once), its path on stdout.
fresh_base() {
	local base=$CACHE/base-$k1
	if [ ! -e "$base/.ready" ]; then
		log "debootstrap bookworm from $mirror into $base (once)"
		rm -rf "$base"
		debootstrap --variant=minbase bookworm "$base" "$mirror" >"$CACHE/debootstrap.log" 2>&1 || {
			tail -20 "$CACHE/debootstrap.log" >&2
			log "debootstrap failed (log: $CACHE/debootstrap.log)"
			return 1
		}
		# The host's package sources and apt settings (a pinned snapshot mirror
		# needs Check-Valid-Until off); no service starts inside the root.
		rm -f "$base/etc/apt/sources.list"
		cp /etc/apt/sources.list "$base/etc/apt/" 2>/dev/null || true
		cp /etc/apt/sources.list.d/*.sources "$base/etc/apt/sources.list.d/" 2>/dev/null || true
		echo 'Acquire::Check-Valid-Until "false";' >"$base/etc/apt/apt.conf.d/99camrelay-fresh"
		printf '#!/bin/sh\nexit 101\n' >"$base/usr/sbin/policy-rc.d"
		chmod +x "$base/usr/sbin/policy-rc.d"
		touch "$base/.ready"
	fi
	echo "$base"
}
