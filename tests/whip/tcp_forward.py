#!/usr/bin/python3
"""TCP forwarder for the TURN test (whip_turn.py): in the middle namespace
it carries camrelay's HTTP to the WHIP server, as a reverse proxy in front
of an SFU would, while UDP between them has no route.

    tcp_forward.py LISTEN_ADDR PORT TARGET_ADDR TARGET_PORT"""
import socket
import sys
import threading


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    la, lp, ta, tp = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((la, lp))
    srv.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = srv.accept()
        try:
            t = socket.create_connection((ta, tp), timeout=5)
        except OSError:
            c.close()
            continue
        t.settimeout(None)
        for x, y in ((c, t), (t, c)):
            threading.Thread(target=pipe, args=(x, y), daemon=True).start()


if __name__ == "__main__":
    main()
