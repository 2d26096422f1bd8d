#!/usr/bin/python3
"""Fan-out (issue 20): 100 WHEP viewers of one 640x360 H.264 stream, received
by bench_webrtc_client (ICE, DTLS-SRTP as a browser does; it checks every
packet's SRTP authentication with the keys of its own handshake). Counters
only, no timings: the sendmmsg counters in /metrics must show more than one
datagram per call on average, every session must receive authenticated
packets and none may fail authentication, and what the viewers counted must
match what the server says it sent (GSO segments arrive as datagrams).

    test_fanout.py BUILD_DIR CLIENT"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webrtc_test as wt  # noqa: E402  (Server, check, the failure list)

N = 100


def metrics(srv):
    with urllib.request.urlopen(srv.base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for name in ("sendmmsg_calls_total", "sendmmsg_packets_total", "gso_messages_total", "gso_enabled",
                 "packets_sent_total"):
        m = re.search(r"^camrelay_webrtc_%s (\d+)$" % name, text, re.M)
        out[name] = int(m.group(1)) if m else None
    m = re.search(r'^camrelay_webrtc_send_latency_seconds_count\{path="capture_to_sent"\} (\d+)$', text, re.M)
    out["latency_count"] = int(m.group(1)) if m else None
    return out


def main():
    build, client = sys.argv[1], sys.argv[2]
    toml = wt.stream_toml("cam", "h264", w=640, h=360, fps=30, bitrate=1_000_000)
    toml = "[limits]\nwhep_sessions = %d\nwhep_sessions_per_stream = %d\nwhep_sessions_per_ip = %d\n" \
        % (N + 10, N + 10, N + 10) + toml
    srv = wt.Server(build, toml)
    try:
        before = metrics(srv)
        p = subprocess.run([client, "127.0.0.1", str(srv.http_port), "cam", str(N), "15"],
                           capture_output=True, text=True, timeout=120)
        after = metrics(srv)
        print("client:", p.stdout.strip(), p.stderr.strip()[-500:])
        try:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            wt.check(False, "the client printed its counts")
            return
        print("metrics before:", before, "\nmetrics after: ", after)
        wt.check(r["connected"] == N, "%d of %d viewers connected (DTLS-SRTP done)" % (r["connected"], N))
        wt.check(r["min_packets_per_session"] > 0 and r["auth_ok"] > 0,
                 "every viewer received packets (fewest %d, %d authenticated)"
                 % (r["min_packets_per_session"], r["auth_ok"]))
        wt.check(r["auth_failed"] == 0, "no packet failed SRTP authentication (%d did)" % r["auth_failed"])
        calls = (after["sendmmsg_calls_total"] or 0) - (before["sendmmsg_calls_total"] or 0)
        pkts = (after["sendmmsg_packets_total"] or 0) - (before["sendmmsg_packets_total"] or 0)
        wt.check(calls > 0 and pkts / calls > 1.0,
                 "sendmmsg batches > 1 datagram per call on average (%d datagrams in %d calls: %.2f)"
                 % (pkts, calls, pkts / calls if calls else 0))
        sent = after["packets_sent_total"] - before["packets_sent_total"]
        wt.check(pkts == sent, "every datagram sent went through sendmmsg (%d of %d)" % (pkts, sent))
        # The viewers count RTP only, the server RTCP too (one sender report a
        # second each, ~1 %), and the server goes on sending to the sessions
        # not yet deleted while the client, done counting, deletes them one by
        # one (seconds under ASan): 10 % allowed for both. A GSO message cut
        # wrongly would fail authentication above.
        wt.check(r["packets"] <= sent and r["packets"] >= 0.9 * sent,
                 "the viewers received what was sent (%d RTP of %d datagrams)" % (r["packets"], sent))
        if after["gso_enabled"]:
            wt.check(after["gso_messages_total"] > 0, "the kernel took GSO messages (%d)" % after["gso_messages_total"])
        wt.check((after["latency_count"] or 0) > 0, "capture -> sent counted per viewer frame (%s)"
                 % after["latency_count"])
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
    print("%d failure(s)" % len(wt.failures))
    sys.exit(1 if wt.failures else 0)
