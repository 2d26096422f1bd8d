# camrelay itself (`camrelay serve`, V4L2 backend) streams from vimc's capture
# nodes configured from a config naming only node, size and format; the JPEG
# snapshots decode (ffmpeg) to the sensor's colour bars, also from the raw
# Bayer node through camrelay's demosaic.
. "$(dirname "$0")/vm_lib.sh"
ip link set lo up 2>/dev/null || true
PORT=18437

snap() { # NAME NODE W H FORMAT
	name=$1
	conf "$O/$name.toml" "$2" "$3" "$4" "$5"
	printf '[http]\nlisten = "127.0.0.1:%s"\n' "$PORT" >> "$O/$name.toml"
	"$B/camrelay" serve -c "$O/$name.toml" > "$O/$name.log" 2>&1 &
	pid=$!
	ok=0
	for _ in $(seq 1 60); do
		if curl -sf -o "$O/$name.jpg" "http://127.0.0.1:$PORT/snapshot/cam"; then ok=1; break; fi
		sleep 1
	done
	# A second snapshot: the first may be a placeholder while the device opens.
	sleep 2
	curl -sf -o "$O/$name.jpg" "http://127.0.0.1:$PORT/snapshot/cam" || ok=0
	kill "$pid"; wait "$pid" || true
	cat "$O/$name.log"
	[ $ok = 1 ] || fail "$name: no snapshot from camrelay serve"
	ffmpeg -loglevel error -y -i "$O/$name.jpg" -f rawvideo -pix_fmt rgb24 "$O/$name.rgb" || fail "$name: snapshot is not a JPEG"
	python3 "$T/check_frame.py" rgb "$O/$name.rgb" "$3" "$4" || fail "$name: snapshot is not the colour bars"
}

snap rgb "$(node 'RGB/YUV Capture')" 640 360 rgb24
snap raw "$(node 'Raw Capture 0')" 320 240 srggb8
snap raw1 "$(node 'Raw Capture 1')" 320 240 sgbrg8
echo "PASS"
