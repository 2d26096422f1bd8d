#!/usr/bin/env python3
"""camrelay's man pages from README.md, the one source of the reference (no
second copy to drift): camrelay(1) is the README's "Command line", "HTTP
endpoints" and "Running as a service" sections, camrelay.toml(5) its
"Configuration" section, under the NAME and SEE ALSO a man page needs.
Debian's go-md2man turns the Markdown into roff.
  man.py README.md PAGE VERSION GO-MD2MAN OUT     (PAGE: camrelay.1, camrelay.toml.5)
"""
import subprocess
import sys

PAGES = {
    "camrelay.1": ("camrelay", 1,
                   "camrelay - take video from cameras and deliver it: MJPEG, WebRTC (WHEP), "
                   "RTP, virtual webcam, screen",
                   ["Command line", "HTTP endpoints", "Running as a service"],
                   "camrelay.toml(5), journalctl(1), systemctl(1), v4l2-ctl(1)"),
    "camrelay.toml.5": ("camrelay.toml", 5, "camrelay.toml - camrelay configuration file",
                        ["Configuration"], "camrelay(1)"),
}


def sections(readme):
    """{title: [lines]} for the README's "## " sections (code fences skipped)."""
    out, cur, fence = {}, None, False
    for line in readme.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            cur = out.setdefault(line[3:].strip(), [])
            continue
        if cur is not None:
            cur.append(line)
    return out


def page_markdown(readme, page, version):
    name, num, title, wanted, see_also = PAGES[page]
    secs = sections(readme)
    md = [f'% {name} {num} "" "camrelay {version}"', "", "# NAME", "", title, ""]
    for w in wanted:
        if w not in secs:
            sys.exit(f"man.py: README.md has no section \"## {w}\" for {page}")
        md += [f"# {w.upper()}", ""] + secs[w]
    md += ["# SEE ALSO", "", see_also, ""]
    return "\n".join(md)


# the requests go-md2man writes; any other line it leaves starting with . or '
# is README text (a sentence starting "...") that roff would take as a request
REQUESTS = {"TH", "SH", "SS", "PP", "RS", "RE", "IP", "TP", "nf", "fi", "TS", "TE", "nh", "ad", "sp",
            "br", "B", "I", "BR", "IR", "EX", "EE", "UR", "UE", "LP", "HP", "in", "ft", "ti", "PD"}


def escape_text_lines(roff):
    out = []
    for line in roff.split("\n"):
        if line[:1] in (".", "'") and line[1:].split(" ", 1)[0] not in REQUESTS:
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def main():
    readme_path, page, version, md2man, out = sys.argv[1:6]
    with open(readme_path, encoding="utf-8") as f:
        md = page_markdown(f.read(), page, version)
    roff = subprocess.run([md2man], input=md.encode(), capture_output=True, check=True).stdout.decode()
    with open(out, "w", encoding="utf-8") as f:
        f.write(escape_text_lines(roff))


if __name__ == "__main__":
    main()
