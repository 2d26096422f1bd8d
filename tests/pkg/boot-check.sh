#!/bin/bash
# Runs inside the fresh root booted by systemd-nspawn -b (systemd as PID 1),
# as the oneshot unit camrelay-boot-check.service that tests/pkg/pkg-test.sh
# adds: starts the installed camrelay.service with systemctl (Type=notify:
# systemctl returns when camrelay sent READY=1) three times, reloads it once,
# stops it, writes what it saw to /root/boot-check.out (key=value lines that
# pkg-test.sh checks) and powers the container off.
out=/root/boot-check.out
: >"$out"
for i in 1 2 3; do
	t0=$(date +%s%N)
	systemctl start camrelay.service
	rc=$?
	t1=$(date +%s%N)
	pid=$(systemctl show -p MainPID --value camrelay.service)
	{
		echo "start$i.rc=$rc"
		echo "start$i.ms=$(((t1 - t0) / 1000000))"
		echo "start$i.active=$(systemctl is-active camrelay.service)"
		echo "start$i.status=$(systemctl show -p StatusText --value camrelay.service)"
		echo "start$i.user=$(stat -c %U "/proc/$pid" 2>/dev/null)"
	} >>"$out"
	if [ "$i" = 3 ]; then
		systemctl reload camrelay.service
		echo "reload.rc=$?" >>"$out"
		# ExecReload sends SIGHUP: wait (up to 20 s) for camrelay's answer in the journal
		for _ in $(seq 40); do
			journalctl -u camrelay.service --no-pager -o cat | grep -q 'camrelay.toml reloaded' && break
			sleep 0.5
		done
		journalctl -u camrelay.service --no-pager -o cat | grep 'reload' | sed 's/^/reload.log=/' >>"$out"
		echo "reload.samepid=$([ "$(systemctl show -p MainPID --value camrelay.service)" = "$pid" ] && echo yes || echo no)" >>"$out"
		echo "reload.active=$(systemctl is-active camrelay.service)" >>"$out"
	fi
	systemctl stop camrelay.service
	{
		echo "stop$i.rc=$?"
		echo "stop$i.result=$(systemctl show -p Result --value camrelay.service)"
		echo "stop$i.active=$(systemctl is-active camrelay.service)"
	} >>"$out"
done
echo "done=1" >>"$out"
systemctl poweroff
