#!/usr/bin/python3
"""Compares `media-ctl -p` text with `camrelay media --json` for one device:
entity ids, names, device nodes, pads (number, direction), sub-device pad
formats (code and size) and crop rectangles, and data links (ends, enabled,
immutable). Exit 1 with the first difference."""
import json
import re
import sys


def parse_media_ctl(text):
    ents, links, cur, pad = {}, set(), None, None
    for line in text.splitlines():
        m = re.match(r"^- entity (\d+): (.*) \((\d+) pads?, (\d+) links?\)$", line)
        if m:
            cur = {"name": m.group(2), "n_pads": int(m.group(3)), "devnode": None, "pads": {}}
            ents[int(m.group(1))] = cur
            continue
        m = re.match(r"^\s+device node name (\S+)", line)
        if m and cur is not None:
            cur["devnode"] = m.group(1)
            continue
        m = re.match(r"^\tpad(\d+): (Sink|Source)", line)
        if m and cur is not None:
            pad = {"direction": m.group(2).lower(), "format": None, "crop": None}
            cur["pads"][int(m.group(1))] = pad
            continue
        m = re.match(r"^\t\t\[fmt:([^/\s]+)/(\d+)x(\d+)", line)
        if m and pad is not None:
            pad["format"] = (m.group(1), int(m.group(2)), int(m.group(3)))
        m = re.search(r"\bcrop:\((\d+),(\d+)\)/(\d+)x(\d+)", line)
        if m and pad is not None:
            pad["crop"] = tuple(int(x) for x in m.groups())
        m = re.match(r'^\t\t-> "(.*)":(\d+) \[(.*)\]$', line)
        if m and cur is not None:
            flags = m.group(3).split(",") if m.group(3) else []
            src_pad = [k for k, v in cur["pads"].items() if v is pad][0]
            links.add((cur["name"], src_pad, m.group(1), int(m.group(2)), "ENABLED" in flags, "IMMUTABLE" in flags))
    return ents, links


def main():
    ents, links = parse_media_ctl(open(sys.argv[1]).read())
    # Every media device has an entity: none parsed means the reference is not
    # media-ctl -p's text (and would agree with an empty answer).
    if not ents:
        sys.exit(f"{sys.argv[1]}: no entities in media-ctl's output")
    j = json.load(open(sys.argv[2]))
    jents = {e["id"]: e for e in j["entities"]}
    if set(jents) != set(ents):
        sys.exit(f"entity ids differ: media-ctl {sorted(ents)}, camrelay {sorted(jents)}")
    for eid, e in ents.items():
        c = jents[eid]
        if c["name"] != e["name"]:
            sys.exit(f"entity {eid}: name {c['name']!r} vs media-ctl {e['name']!r}")
        if c.get("devnode") != e["devnode"]:
            sys.exit(f"entity {eid} ({e['name']}): devnode {c.get('devnode')} vs media-ctl {e['devnode']}")
        if len(c["pads"]) != e["n_pads"]:
            sys.exit(f"entity {eid}: {len(c['pads'])} pads vs media-ctl {e['n_pads']}")
        for p in c["pads"]:
            mp = e["pads"].get(p["index"])
            if mp is None or mp["direction"] != p["direction"]:
                sys.exit(f"{e['name']} pad {p['index']}: {p['direction']} vs media-ctl {mp}")
            f = p.get("format")
            cf = (f["code"], f["width"], f["height"]) if f else None
            if cf != mp["format"]:
                sys.exit(f"{e['name']} pad {p['index']}: format {cf} vs media-ctl {mp['format']}")
            cr = p.get("crop")
            ccr = (cr["left"], cr["top"], cr["width"], cr["height"]) if cr else None
            if ccr != mp["crop"]:
                sys.exit(f"{e['name']} pad {p['index']}: crop {ccr} vs media-ctl {mp['crop']}")
    jl = {(l["source"]["entity"], l["source"]["pad"], l["sink"]["entity"], l["sink"]["pad"], l["enabled"],
           l["immutable"]) for l in j["links"]}
    if jl != links:
        sys.exit(f"links differ: only camrelay {sorted(jl - links)}, only media-ctl {sorted(links - jl)}")
    print(f"{j['path']}: {len(ents)} entities, {sum(len(e['pads']) for e in ents.values())} pads, "
          f"{len(links)} links agree with media-ctl")


main()
