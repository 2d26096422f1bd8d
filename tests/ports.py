"""Ports for test servers, picked so that a parallel test cannot take them.

A port found by bind(port 0) and close() is in the kernel's ephemeral range:
between the close and the server's own bind, any other process's connect()
or port-0 bind may be handed the same port (seen in CI: "cannot bind UDP
127.0.0.1:42648: Address already in use"). These helpers pick at random
below the ephemeral range, where the kernel hands out nothing, and check
that the port (or run of ports) can be bound for TCP and UDP alike, so one
port does for either kind. What is left is two tests drawing the same
random port at the same moment: about 1 in 20,000 per pair.
"""
import random
import socket

_rng = random.SystemRandom()


def _range():
    """[lo, hi) of ports outside /proc/sys/net/ipv4/ip_local_port_range."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo, eph_hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        eph_lo, eph_hi = 32768, 60999
    if eph_lo - 10000 >= 4000:
        return 10000, eph_lo
    return eph_hi + 1, 65536


def _bindable(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(fam, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_ports(n=1, host="127.0.0.1", align=1):
    """First of n consecutive free ports (the first a multiple of align)."""
    lo, hi = _range()
    for _ in range(1000):
        base = _rng.randrange(lo, hi - n) // align * align
        if base >= lo and all(_bindable(host, base + i) for i in range(n)):
            return base
    raise RuntimeError("no %d free port(s) on %s in %d-%d" % (n, host, lo, hi))


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """One free port (free for TCP and UDP: kind is accepted for the callers'
    sake)."""
    del kind
    return free_ports(1, host)
