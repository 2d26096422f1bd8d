"""Runs a command with NOTIFY_SOCKET set to a listener of its own (an AF_UNIX
datagram socket, as systemd's) and prints its first READY=1 message as one
line ("READY=1 STATUS=..."), then stops it with SIGTERM and prints its exit
status. Exit 1 when no READY=1 came within 60 s.
  notify_ready.py CMD..."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(tmp, 0o755)
    os.chmod(path, 0o777)  # the command may run as another user
    t0 = time.monotonic()
    p = subprocess.Popen(sys.argv[1:], env=dict(os.environ, NOTIFY_SOCKET=path))
    s.settimeout(60)
    ready = None
    try:
        while ready is None:
            msg = s.recv(4096).decode()
            if "READY=1" in msg.split("\n"):
                ready = msg
    except socket.timeout:
        pass
    if ready:
        print(" ".join(ready.split("\n")))
        print(f"figure: exec to READY=1 {1000 * (time.monotonic() - t0):.0f} ms")
    p.send_signal(signal.SIGTERM)
    print(f"exit status {p.wait(30)}")
    sys.exit(0 if ready else 1)
