#!/usr/bin/python3
"""WHIP push through a TURN relay (net/turn.c), in network namespaces made
here (root; addresses from the documentation ranges, which exist only inside
them):

    A  camrelay           198.51.100.1 --veth-- 198.51.100.2  T  coturn (Debian),
                                                203.0.113.1       HTTP forwarder
    B  aiortc WHIP server 203.0.113.2 --veth-------------'

T does not route: camrelay's UDP has no way to B except coturn's relay
(203.0.113.1), and the HTTP POST goes through a TCP forwarder in T (as a
reverse proxy in front of an SFU would). First without a TURN server (STUN
only: ICE must fail), then with it: camrelay publishes, /api/streams shows
a relayed pair and the relayed candidate, the server decodes >= 95% of the
frames sent. The relayed candidate, gathered after the POST, reaches the
server in a trickle PATCH (If-Match: the ETag) and aiortc's addIceCandidate.

    whip_turn.py BUILD_DIR"""
import ctypes
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import whip_test as wh  # noqa: E402
from whip_test import check, wait_for, whip_info, whip_toml, wt  # noqa: E402

PY = "/usr/bin/python3"
TOKEN = "test-token-1234"
TURN_USER, TURN_PASS = "camrelay", "s3cret-relay"


class Netns:
    """Three namespaces A, T, B and two veth pairs; removed by close()."""

    def __init__(self):
        tag = "%d" % (os.getpid() % 100000)
        self.ns = {k: "crw%s%s" % (k, tag) for k in "ATB"}
        self.procs = []
        cmds = ["netns add %s" % n for n in self.ns.values()]
        cmds += ["link add wa%s type veth peer name wt%s" % (tag, tag),
                 "link add wb%s type veth peer name wu%s" % (tag, tag),
                 "link set wa%s netns %s" % (tag, self.ns["A"]), "link set wt%s netns %s" % (tag, self.ns["T"]),
                 "link set wu%s netns %s" % (tag, self.ns["T"]), "link set wb%s netns %s" % (tag, self.ns["B"])]
        for c in cmds:
            subprocess.run(["ip"] + c.split(), check=True)
        for ns, dev, addr in (("A", "wa", "198.51.100.1/24"), ("T", "wt", "198.51.100.2/24"),
                              ("T", "wu", "203.0.113.1/24"), ("B", "wb", "203.0.113.2/24")):
            self.ip(ns, "addr add %s dev %s%s" % (addr, dev, tag))
            self.ip(ns, "link set %s%s up" % (dev, tag))
        for ns in "ATB":
            self.ip(ns, "link set lo up")
        self.sh("T", ["sysctl", "-qw", "net.ipv4.ip_forward=0"])

    def ip(self, ns, c):
        subprocess.run(["ip", "-n", self.ns[ns]] + c.split(), check=True)

    def sh(self, ns, cmd, **kw):
        return subprocess.run(["ip", "netns", "exec", self.ns[ns]] + cmd, check=True, **kw)

    def start(self, ns, cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns]] + cmd, **kw)
        self.procs.append(p)
        return p

    def enter(self, ns):
        """This process (and what it starts from now on) into namespace ns."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open("/run/netns/%s" % self.ns[ns], os.O_RDONLY)
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns")
        os.close(fd)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for n in self.ns.values():
            subprocess.run(["ip", "netns", "del", n], check=False)


def turn_toml(url, with_turn, password=TURN_PASS):
    servers = '{ urls = ["stun:198.51.100.2:3478"] }'
    if with_turn:
        servers += ', { urls = ["turn:198.51.100.2:3478?transport=udp"], username = "%s", credential = "%s" }' % (
            TURN_USER, password)
    return whip_toml(url, TOKEN, extra="backoff_max_ms = 1000\nice_servers = [%s]\n" % servers)


def stun_probe():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    req = struct.pack(">HHI12s", 1, 0, 0x2112A442, os.urandom(12))
    try:
        s.sendto(req, ("198.51.100.2", 3478))
        return s.recv(512)[:2] == b"\x01\x01"
    except OSError:
        return False
    finally:
        s.close()


def stats(port):
    with urllib.request.urlopen("http://198.51.100.2:%d/stats" % port, timeout=5) as r:
        return json.loads(r.read())


def run(build, net, tmp):
    log = open(os.path.join(tmp, "turnserver.log"), "w+")
    net.start("T", ["turnserver", "-n", "-v", "--no-cli", "--no-tls", "--no-dtls", "--listening-ip=198.51.100.2",
                    "--listening-ip=203.0.113.1", "--relay-ip=203.0.113.1", "--listening-port=3478",
                    "--min-port=49152", "--max-port=49352", "--lt-cred-mech", "--realm=camrelay.test",
                    "--user=%s:%s" % (TURN_USER, TURN_PASS), "--userdb=%s" % os.path.join(tmp, "turndb"),
                    "--pidfile=%s" % os.path.join(tmp, "turn.pid"), "--log-file=stdout", "--no-software-attribute"],
              stdout=log, stderr=subprocess.STDOUT)
    port = 8089
    fwd = net.start("T", [PY, os.path.join(HERE, "tcp_forward.py"), "198.51.100.2", str(port), "203.0.113.2",
                          str(port)], stdout=subprocess.PIPE, text=True)
    ws = net.start("B", [PY, os.path.join(HERE, "whip_server_aiortc.py"), str(port), "--token", TOKEN,
                         "--bind", "203.0.113.2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check("ready" in fwd.stdout.readline() and "ready" in ws.stdout.readline(), "forwarder and WHIP server up")
    net.enter("A")
    check(wait_for(stun_probe, 10), "coturn answers a STUN Binding on 198.51.100.2:3478")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.sendto(b"x", ("203.0.113.2", 9))
        routed = True
    except OSError:
        routed = False
    check(not routed, "camrelay's namespace has no route to the WHIP server")
    url = "http://198.51.100.2:%d/whip/cam" % port

    # Without TURN: the POST gets through, ICE cannot.
    srv = wt.Server(build, turn_toml(url, False))
    try:
        ok = wait_for(lambda: whip_info(srv).get("failures", 0) >= 1, 40)
        w = whip_info(srv)
        print("     camrelay (STUN only): %s" % json.dumps(w))
        check(ok and "ICE failed" in w.get("last_error", "") and w.get("publishes") == 0,
              "without TURN: ICE fails (%r)" % w.get("last_error"))
        check(w.get("gathered") == "srflx = host (no NAT)", "the STUN server answered (%r)" % w.get("gathered"))
    finally:
        srv.stop()
    check(not any(s["frames"] for s in stats(port)["sessions"]), "without TURN: no frame reached the server")

    # A wrong credential: the TURN server's 401 is named, host candidates go on.
    srv = wt.Server(build, turn_toml(url, True, "wrong"))
    try:
        ok = wait_for(lambda: "401" in whip_info(srv).get("ice_note", ""), 10)
        note = whip_info(srv).get("ice_note", "")
        check(ok and "TURN server 198.51.100.2:3478: Allocate answered 401" in note and "credential" in note,
              "a wrong TURN credential is named (%r)" % note)
    finally:
        srv.stop()

    srv = wt.Server(build, turn_toml(url, True))
    try:
        t0 = time.monotonic()
        ok = wait_for(lambda: any(s["frames"] >= 150 for s in stats(port)["sessions"]), 40)
        check(ok, "through TURN: the aiortc WHIP server decodes frames (%.1f s)" % (time.monotonic() - t0))
        w = whip_info(srv)
        st = stats(port)
        s = st["sessions"][-1] if st["sessions"] else {}
        sent = w.get("frames_sent", 0)
        print("     camrelay: %s" % json.dumps(w))
        print("     server:   %s" % json.dumps(st))
        check(w.get("state") == "publishing" and w.get("publishes") == 1, "state publishing, one publication")
        check(w.get("relayed") is True and w.get("pair", "").startswith("relay 203.0.113.1:") and
              "(TURN 198.51.100.2:3478)" in w.get("pair", ""), "a relayed candidate pair (%r)" % w.get("pair"))
        check("relay 203.0.113.1:" in w.get("gathered", ""), "the relayed candidate (%r)" % w.get("gathered"))
        # Trickle (RFC 9725 4.3): the POST went out before the allocation; the
        # relayed candidate followed in a PATCH that aiortc's addIceCandidate took.
        patches = [p for p in st.get("patches", []) if p.get("session") == s.get("id")]
        check(s.get("offer_cands") and not any(c.endswith("typ relay") for c in s["offer_cands"]),
              "the POST's offer had no relayed candidate (%s)" % s.get("offer_cands"))
        check(any(c.startswith("203.0.113.1 ") and c.endswith(" typ relay") for c in s.get("trickled", [])) and
              w.get("trickled", 0) >= 1, "the relayed candidate was trickled to aiortc's addIceCandidate (%s; %r)"
              % (s.get("trickled"), w.get("trickle")))
        check(len(patches) == 1 and patches[0]["if_match"] == '"%s"' % s["id"] and patches[0]["answer"] == 204 and
              patches[0]["ctype"] == "application/trickle-ice-sdpfrag" and "a=end-of-candidates" in patches[0]["body"],
              "one PATCH, If-Match: the ETag, answered 204 (%s)" % [(p["if_match"], p["answer"]) for p in patches])
        check(sent >= 100 and s.get("frames", 0) >= 0.95 * sent,
              ">= 95%% of the %d frames sent decoded (%d)" % (sent, s.get("frames", 0)))
        check((s.get("width"), s.get("height")) == (320, 240), "frames are 320x240")
        with urllib.request.urlopen(srv.base + "/metrics", timeout=5) as r:
            m = r.read().decode()
        check('camrelay_whip_relayed{stream="cam"} 1' in m, "/metrics shows the relayed pair")
        # The relay's own count: coturn saw the allocation and the peer's data.
        text = open(log.name).read()
        check("ALLOCATE processed, success" in text and "CHANNEL_BIND processed, success" in text,
              "coturn: allocation and channel bound for camrelay")
    finally:
        srv.stop()


def main():
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root")
        sys.exit(77)
    import tempfile
    tmp = tempfile.mkdtemp(prefix="camrelay-turn-")
    net = Netns()
    try:
        run(sys.argv[1], net, tmp)
    finally:
        net.close()
    print("%d failure(s)" % len(wt.failures))
    sys.exit(1 if wt.failures else 0)


if __name__ == "__main__":
    main()
