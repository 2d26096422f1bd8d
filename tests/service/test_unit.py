"""dist/camrelay.service: `systemd-analyze verify` accepts it (with this
build's camrelay in place of @BINDIR@, the shipped config under a temporary
@SYSCONFDIR@ and the built man pages on MANPATH for Documentation=), its
ExecStartPre check-config passes on the shipped dist/camrelay.toml, and it
says what issue 21 asks: Type=notify, WatchdogSec, the camrelay user in
video and audio, the sandbox, DeviceAllow, RestrictAddressFamilies, a reload
by SIGHUP. (The installed unit is verified again inside a Debian root with
the package installed: tests/pkg.)
  test_unit.py CAMRELAY_BUILD_DIR SOURCE_DIR MAN1 MAN5"""
import os
import shutil
import subprocess
import sys
import tempfile

from common import check, finish

BUILD, SRC, MAN1, MAN5 = sys.argv[1:5]


def main():
    sa = shutil.which("systemd-analyze")
    check(sa is not None, "systemd-analyze is installed (package systemd)")
    with open(os.path.join(SRC, "dist", "camrelay.service")) as f:
        unit = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        etc = os.path.join(tmp, "etc")
        os.makedirs(os.path.join(etc, "camrelay"))
        shutil.copy(os.path.join(SRC, "dist", "camrelay.toml"), os.path.join(etc, "camrelay", "camrelay.toml"))
        for page, sec in ((MAN1, "man1"), (MAN5, "man5")):
            os.makedirs(os.path.join(tmp, "man", sec), exist_ok=True)
            shutil.copy(page, os.path.join(tmp, "man", sec))
        path = os.path.join(tmp, "camrelay.service")
        with open(path, "w") as f:
            f.write(unit.replace("@BINDIR@", os.path.abspath(BUILD)).replace("@SYSCONFDIR@", etc))
        if sa:
            r = subprocess.run([sa, "verify", path], capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, MANPATH=os.path.join(tmp, "man"), SYSTEMD_LOG_LEVEL="notice"))
            out = (r.stdout + r.stderr).strip()
            check(r.returncode == 0 and "camrelay.service" not in out,
                  f"systemd-analyze verify accepts the unit (rc {r.returncode}): {out[-600:]}")
        r = subprocess.run([os.path.join(BUILD, "camrelay"), "check-config", os.path.join(etc, "camrelay", "camrelay.toml")],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "http on 127.0.0.1:8080" in r.stdout and "stream test: test" in r.stdout,
              f"ExecStartPre's check-config passes on the shipped config, loopback only: {r.stdout.strip()}")
    keys = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    want = {
        "Type": ["notify"], "User": ["camrelay"], "ProtectSystem": ["strict"], "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"], "NoNewPrivileges": ["yes"], "ExecReload": ["/bin/kill -HUP $MAINPID"],
        "DevicePolicy": ["closed"],
    }
    for k, v in want.items():
        check(keys.get(k) == v, f"{k}={v[0]} ({keys.get(k)})")
    check("WatchdogSec" in keys, f"WatchdogSec is set ({keys.get('WatchdogSec')})")
    groups = " ".join(keys.get("SupplementaryGroups", [])).split()
    check("video" in groups and "audio" in groups, f"SupplementaryGroups has video and audio ({groups})")
    devs = " ".join(keys.get("DeviceAllow", []))
    for d in ("char-video4linux", "char-media", "char-drm"):
        check(d in devs, f"DeviceAllow {d}")
    check(keys.get("ExecStartPre", [""])[0].endswith("camrelay check-config @SYSCONFDIR@/camrelay/camrelay.toml"),
          f"ExecStartPre runs check-config ({keys.get('ExecStartPre')})")
    fams = " ".join(keys.get("RestrictAddressFamilies", [])).split()
    check(set(fams) == {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}, f"RestrictAddressFamilies {fams}")


main()
finish()
