"""What the service tests share: check() prints ok/FAIL per check and keeps
going; finish() prints the total and exits 1 after any failure."""
import sys

failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def finish():
    print(f"{'FAILED' if failures else 'all passed'}: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)
