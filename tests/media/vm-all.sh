#!/bin/sh
# Inside the VM: every tests/media script given, one after another in the same
# boot (a boot costs about a minute under TCG; eight boots were ~6 min of CI):
#   vm-all.sh BUILD_DIR OUT_DIR SCRIPT...
# Each script gets a scratch directory of its own and starts from vimc's
# defaults, as on a fresh boot: vimc is unloaded and loaded again between
# scripts (its links, pad formats and selections are the driver's initial
# ones; the scripts find the media device and nodes by name). A script's
# failure does not stop the others; the exit status is 1 when any failed.
set -u
B=$1
O=$2
shift 2
T=$(cd "$(dirname "$0")" && pwd -P)
vimc_dev() {
	for m in /dev/media*; do
		if media-ctl -d "$m" -p 2>/dev/null | grep -q "^driver *vimc"; then echo "$m"; return 0; fi
	done
	return 1
}
vimc_dev > /dev/null || { echo "FAIL: no vimc media device in the VM"; exit 1; }
failed=""
n=0
for s in "$@"; do
	n=$((n + 1))
	mkdir -p "$O/$s.d"
	if [ $n -gt 1 ]; then
		ok=0
		if modprobe -r vimc && modprobe vimc; then
			for _ in $(seq 1 50); do
				if vimc_dev > /dev/null && [ -n "$(media-ctl -d "$(vimc_dev)" -e 'Raw Capture 0' 2>/dev/null)" ]; then ok=1; break; fi
				sleep 0.2
			done
		fi
		if [ $ok -ne 1 ]; then
			echo "FAIL: vimc could not be reloaded before $s (lsmod: $(lsmod | grep vimc))"
			failed="$failed $s"
			continue
		fi
	fi
	echo "== media-$s"
	t0=$(date +%s)
	if sh "$T/$s.sh" "$B" "$O/$s.d"; then
		echo "== media-$s: ok ($(($(date +%s) - t0)) s)"
	else
		echo "== media-$s: FAILED ($(($(date +%s) - t0)) s)"
		failed="$failed $s"
	fi
done
if [ -n "$failed" ]; then
	echo "FAIL: media scripts failed:$failed"
	exit 1
fi
echo "PASS: $n media scripts in one boot"
