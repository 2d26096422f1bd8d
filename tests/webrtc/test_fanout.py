#!/usr/bin/python3
"""Fan-out (issue 20): 100 WHEP viewers of one 640x360 H.264 stream, received
by bench_webrtc_client (ICE, DTLS-SRTP as a browser does; it checks every
packet's SRTP authentication with the keys of its own handshake). Counters
only, no timings: the sendmmsg counters in /metrics must show more than one
datagram per call on average, every session must receive authenticated
packets and none may fail authentication, and what the viewers counted must
match what the server says it sent (GSO segments arrive as datagrams).

gso-refused: the server in a network namespace of its own behind a veth
whose MTU (1000) is below the packets' size, so the kernel refuses UDP GSO
(EINVAL) where single datagrams go out as IP fragments: camrelay must say so
once per viewer, send that viewer's packets one by one and deliver them.

nack-shared: two viewers joining 2 s apart NACK every 20th packet; each
retransmission must be the packet NACKed, byte for byte (the stream's shared
packets mapped through each viewer's own sequence numbers).

    test_fanout.py BUILD_DIR CLIENT [fanout-100 | gso-refused | nack-shared]"""
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
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
                 "packets_sent_total", "fan_units_total", "fan_sends_total", "retransmits_total"):
        m = re.search(r"^camrelay_webrtc_%s (\d+)$" % name, text, re.M)
        out[name] = int(m.group(1)) if m else None
    m = re.search(r'^camrelay_webrtc_send_latency_seconds_count\{path="capture_to_sent"\} (\d+)$', text, re.M)
    out["latency_count"] = int(m.group(1)) if m else None
    return out


def fanout_100(build, client):
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
        # One packetization per access unit for all the viewers (whep_fan.c),
        # not one per viewer (that would make the ratio 1).
        units = (after["fan_units_total"] or 0) - (before["fan_units_total"] or 0)
        sends = (after["fan_sends_total"] or 0) - (before["fan_sends_total"] or 0)
        wt.check(units > 0 and sends / units >= 10,
                 "each access unit payloaded once for many viewers (%d units sent %d times: %.1f per unit)"
                 % (units, sends, sends / units if units else 0))
    finally:
        srv.stop()


def nack_shared(build, client):
    """Two viewers of one stream, the second joining 2 s later: their RTP
    sequence numbers start at random and map to the stream's shared packets
    (whep_fan.c) at different offsets. Each takes every 20th packet as lost,
    NACKs it, and checks the RTX that comes back against the packet it kept,
    byte for byte (timestamp, marker, payload): a wrong mapping resends
    another packet's payload and fails."""
    srv = wt.Server(build, wt.stream_toml("cam", "h264", w=640, h=360, fps=30, bitrate=1_000_000))
    try:
        env = dict(os.environ, BENCH_NACK_EVERY="20")
        before = metrics(srv)
        cmd = [client, "127.0.0.1", str(srv.http_port), "cam", "1"]
        a = subprocess.Popen(cmd + ["10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(2)
        b = subprocess.Popen(cmd + ["8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        outs = [p.communicate(timeout=90) for p in (a, b)]
        after = metrics(srv)
        sessions = []
        for name, (out, err) in zip("AB", outs):
            print("client %s:" % name, out.strip(), err.strip()[-300:])
            lines = [json.loads(x) for x in out.strip().splitlines() if x.startswith("{")]
            per = [x for x in lines if "session" in x]
            totals = [x for x in lines if "sessions" in x]
            wt.check(len(per) == 1 and len(totals) == 1 and totals[0]["connected"] == 1,
                     "viewer %s connected and printed its NACK counts" % name)
            if per:
                sessions.append(per[0])
        for name, r in zip("AB", sessions):
            wt.check(r["nacks_sent"] >= 10, "viewer %s NACKed packets (%d)" % (name, r["nacks_sent"]))
            wt.check(r["rtx_ok"] >= 0.8 * r["nacks_sent"] and r["rtx_ok"] >= 8,
                     "viewer %s: retransmissions identical to the packets NACKed (%d of %d NACKs)"
                     % (name, r["rtx_ok"], r["nacks_sent"]))
            wt.check(r["rtx_bad"] == 0, "viewer %s: no retransmission of another packet (%d)" % (name, r["rtx_bad"]))
            wt.check(r["rtx_unknown"] == 0, "viewer %s: no retransmission not asked for (%d)"
                     % (name, r["rtx_unknown"]))
        if len(sessions) == 2:
            wt.check(sessions[0]["first_seq"] != sessions[1]["first_seq"],
                     "the viewers' sequence numbers start apart (%d, %d)"
                     % (sessions[0]["first_seq"], sessions[1]["first_seq"]))
        units = (after["fan_units_total"] or 0) - (before["fan_units_total"] or 0)
        sends = (after["fan_sends_total"] or 0) - (before["fan_sends_total"] or 0)
        wt.check(units > 0 and sends > 1.5 * units,
                 "the two viewers shared the stream's packets (%d units sent %d times)" % (units, sends))
        wt.check((after["retransmits_total"] or 0) - (before["retransmits_total"] or 0) >= 16,
                 "the server counted the retransmissions (%s)"
                 % ((after["retransmits_total"] or 0) - (before["retransmits_total"] or 0)))
    finally:
        srv.stop()


def _setns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/%s" % name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)


def gso_refused(build, client):
    tag = "%d" % (os.getpid() % 100000)
    ns_s, ns_c, dev_s, dev_c = "crgs" + tag, "crgc" + tag, "vgs" + tag, "vgc" + tag
    d = tempfile.mkdtemp(prefix="camrelay-gso-")
    srv = None
    try:
        for c in ("netns add " + ns_s, "netns add " + ns_c, "link add %s type veth peer name %s" % (dev_s, dev_c),
                  "link set %s netns %s" % (dev_s, ns_s), "link set %s netns %s" % (dev_c, ns_c),
                  "-n %s addr add 192.0.2.1/24 dev %s" % (ns_s, dev_s),
                  "-n %s addr add 192.0.2.2/24 dev %s" % (ns_c, dev_c),
                  "-n %s link set %s up" % (ns_s, dev_s), "-n %s link set %s up" % (ns_c, dev_c),
                  "-n %s link set lo up" % ns_s, "-n %s link set lo up" % ns_c):
            subprocess.run(["ip"] + c.split(), check=True)
        # An MTU below the packets' size: single datagrams leave as IP
        # fragments, a GSO message gets EINVAL (udp_send_skb).
        subprocess.run(["ip", "-n", ns_s, "link", "set", dev_s, "mtu", "1000"], check=True)
        cfg = os.path.join(d, "camrelay.toml")
        with open(cfg, "w") as f:
            f.write('[http]\nlisten = "0.0.0.0:8080"\n[webrtc]\nport = 8555\ncandidates = ["192.0.2.1"]\n'
                    + wt.stream_toml("cam", "h264", w=640, h=360, fps=30, bitrate=1_000_000))
        log = open(os.path.join(d, "server.log"), "w+")
        srv = subprocess.Popen(["ip", "netns", "exec", ns_s, os.path.join(build, "camrelay"), "serve", "-c", cfg],
                               stdout=log, stderr=subprocess.STDOUT)
        _setns(ns_c)  # this process and the client: the viewer's side
        base = "http://192.0.2.1:8080"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/streams", timeout=5).close()
                break
            except OSError:
                time.sleep(0.1)
        p = subprocess.run([client, "192.0.2.1", "8080", "cam", "5", "8"], capture_output=True, text=True,
                           timeout=60)
        print("client:", p.stdout.strip(), p.stderr.strip()[-300:])
        # /metrics is for this machine only: read it from the server's namespace.
        text = subprocess.run(["ip", "netns", "exec", ns_s, "curl", "-sf", "http://127.0.0.1:8080/metrics"],
                              capture_output=True, text=True, timeout=30).stdout
        m = {k: int(v) for k, v in re.findall(r"^camrelay_webrtc_(\w+) (\d+)$", text, re.M)}
        try:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            wt.check(False, "the client printed its counts")
            return
        log.seek(0)
        text = log.read()
        refusals = text.count("UDP GSO refused by the kernel")
        wt.check(refusals >= 1 and refusals <= 5, "the refusal is logged once per viewer (%d times)" % refusals)
        wt.check(m.get("gso_refused_total", 0) == refusals, "and counted (camrelay_webrtc_gso_refused_total %s)"
                 % m.get("gso_refused_total"))
        wt.check(r["connected"] == 5 and r["auth_failed"] == 0 and r["min_packets_per_session"] >= 100,
                 "5 viewers connected and each got >= 100 authenticated packets (fewest %d, %d failed)"
                 % (r["min_packets_per_session"], r["auth_failed"]))
        sent = m.get("packets_sent_total", 0)
        wt.check(r["packets"] >= 0.9 * sent, "what was sent arrived (%d RTP of %d datagrams)" % (r["packets"], sent))
    finally:
        if srv:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(timeout=20)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
            wt.check(srv.returncode == 0, "server exited cleanly (status %s)" % srv.returncode)
            with open(os.path.join(d, "server.log")) as f:
                text = f.read()
            wt.check("runtime error" not in text and "Sanitizer" not in text, "no sanitizer report in the server log")
            if wt.failures:
                print("---- server log (tail) ----\n" + "".join(text.splitlines(True)[-30:]))
        for ns in (ns_s, ns_c):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    {"fanout-100": fanout_100, "gso-refused": gso_refused, "nack-shared": nack_shared}[sys.argv[3] if len(sys.argv) > 3 else "fanout-100"](
        sys.argv[1], sys.argv[2])
    print("%d failure(s)" % len(wt.failures))
    sys.exit(1 if wt.failures else 0)
