# Preparing a pipeline that streams: the same format again is a no-op, another
# one fails with the busy pipeline named.
. "$(dirname "$0")/vm_lib.sh"
# While the pipeline streams, preparing it again for the same format is a
# no-op (the driver's EBUSY on an unchanged pad is fine); another size fails
# with the busy pipeline named. (Raw Capture 0: no debayer work under TCG.)
RAW=$(node 'Raw Capture 0')
conf "$O/raw.toml" "$RAW" 320 240 srggb8
conf "$O/raw2.toml" "$RAW" 640 360 srggb8
"$B/tests/media/mc_capture" -c "$O/raw.toml" -n 1000000 > "$O/stream.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do grep -q "^format:" "$O/stream.log" && break; sleep 1; done
sleep 1
"$B/tests/media/mc_capture" -c "$O/raw.toml" --prepare-only || fail "same format while streaming refused"
if "$B/tests/media/mc_capture" -c "$O/raw2.toml" --prepare-only 2> "$O/busy.err"; then fail "640x360 while streaming accepted"; fi
kill "$pid"; wait "$pid" || true
cat "$O/busy.err"
grep -q "Device or resource busy; the pipeline is streaming" "$O/busy.err" || fail "busy not explained"
echo "PASS"
