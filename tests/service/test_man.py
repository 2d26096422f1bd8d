"""The man pages against the program: every command `camrelay --help` lists
and every option each command's --help shows is in camrelay(1); exit codes,
signals, files and the environment are there; every key the valid configs in
tests/config/good use is in camrelay.toml(5). Both pages are generated from
README.md (dist/man.py), so this also holds the README to the program.
  test_man.py CAMRELAY camrelay.1 camrelay.toml.5 tests/config/good"""
import glob
import re
import subprocess
import sys
import tomllib

from common import check, finish

CAMRELAY, MAN1, MAN5, GOOD = sys.argv[1:5]


def roff_text(path):
    """the page's words without roff requests' escapes (font changes, \\-, \\&)"""
    with open(path, encoding="utf-8") as f:
        s = f.read()
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    s = s.replace("\\-", "-").replace("\\&", "").replace("\\(bu", "").replace("\\\\", "\\")
    return s


def helptext(*args):
    r = subprocess.run([CAMRELAY, *args], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"camrelay {' '.join(args)} exits 0")
    return r.stdout


OPT = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def main():
    man1, man5 = roff_text(MAN1), roff_text(MAN5)
    top = helptext("--help")
    cmds = re.findall(r"^  ([a-z][a-z-]+) ", top, re.M)
    check(len(cmds) >= 7, f"camrelay --help lists the commands: {cmds}")
    for opt in ("--version", "-V", "--help", "-h"):
        check(opt in man1, f"camrelay(1) has the top-level option {opt}")
    for c in cmds:
        check(re.search(rf"camrelay {re.escape(c)}\b", man1) is not None, f"camrelay(1) has the command {c}")
        opts = sorted(set(OPT.findall(helptext(c, "--help"))))
        missing = [o for o in opts if re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", man1) is None]
        check(not missing, f"camrelay {c} --help options {opts} are all in camrelay(1) (missing: {missing})")
    for what in ("Exit codes", "`3` configuration error", "SIGHUP", "SIGTERM", "/etc/camrelay/camrelay.toml",
                 "JOURNAL_STREAM", "NOTIFY_SOCKET", "WatchdogSec", "camrelay.toml(5)"):
        check(what.replace("`", "") in man1, f"camrelay(1) mentions {what}")
    check(".TH camrelay 1" in open(MAN1).read() and ".TH camrelay.toml 5" in open(MAN5).read(),
          "both pages have their .TH title and section")

    keys = set()

    def walk(d):
        for k, v in d.items():
            if k == "controls" and isinstance(v, dict):
                continue  # camera control names are the camera's, not the schema's
            keys.add(k)
            if isinstance(v, dict):
                walk(v)
            elif isinstance(v, list):
                for x in v:
                    if isinstance(x, dict):
                        walk(x)

    for f in sorted(glob.glob(GOOD + "/*.toml")):
        with open(f, "rb") as fh:
            try:
                doc = tomllib.load(fh)
            except tomllib.TOMLDecodeError:
                continue
        for name, s in doc.get("stream", {}).items():
            walk(s)
        walk({k: v for k, v in doc.items() if k != "stream"})
    missing = sorted(k for k in keys if re.search(rf"(^|[\s\[.]){re.escape(k)}( =|\]|\.)", man5, re.M) is None)
    check(len(keys) > 30 and not missing,
          f"camrelay.toml(5) has the {len(keys)} keys of tests/config/good (missing: {missing})")


main()
finish()
