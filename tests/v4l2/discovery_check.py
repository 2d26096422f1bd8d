#!/usr/bin/python3
"""Compares camrelay list/probe JSON with v4l2-ctl's text for the same devices."""
import glob
import json
import os
import re
import sys

W, devs = sys.argv[1], sys.argv[2:]
fails = 0


def check(ok, msg):
    global fails
    print(("ok: " if ok else "FAIL: ") + msg)
    if not ok:
        fails += 1


def load(name):
    with open(os.path.join(W, name)) as f:
        return json.load(f) if name.endswith(".json") else f.read()


# ---- list vs v4l2-ctl --list-devices ----
lst = load("list.json")
blocks = {}  # path -> (card, bus)
for block in load("devices.txt").strip().split("\n\n"):
    lines = block.split("\n")
    m = re.match(r"^(.*) \(([^()]*)\):$", lines[0])
    if not m:
        continue
    for p in lines[1:]:
        blocks[p.strip()] = (m.group(1), m.group(2))
ours = {v["path"]: v for v in lst["video"]}
theirs = {p for p in blocks if p.startswith("/dev/video")}
check(set(ours) == theirs, f"video nodes: camrelay {sorted(ours)} vs v4l2-ctl {sorted(theirs)}")
for p in sorted(theirs & set(ours)):
    card, bus = blocks[p]
    check(ours[p].get("card") == card and ours[p].get("bus_info") == bus,
          f"{p}: card/bus {ours[p].get('card')!r}/{ours[p].get('bus_info')!r} vs {card!r}/{bus!r}")
media = {m["path"]: m for m in lst["media"]}
check(set(media) == {p for p in blocks if p.startswith("/dev/media")},
      f"media nodes: {sorted(media)}")
for p, m in media.items():
    check(m.get("bus_info") == blocks[p][1], f"{p}: media bus_info {m.get('bus_info')!r} vs {blocks[p][1]!r}")
subs = {s["path"] for s in lst["subdevs"]}
check(subs == set(glob.glob("/dev/v4l-subdev*")) and len(subs) > 0, f"sub-devices: {sorted(subs)}")
kinds = {v["path"]: v.get("kind") for v in lst["video"]}
check(kinds.get(devs[0]) == "capture" and kinds.get(devs[1]) == "m2m",
      f"kinds: {devs[0]} {kinds.get(devs[0])}, {devs[1]} {kinds.get(devs[1])}")
# v4l2loopback devices: the nodes whose driver v4l2-ctl --info names "v4l2
# loopback" (they have no parent device in sysfs, so no device/driver link),
# with the card label it shows and sysfs's name for the node. The bench loads
# two (run-in-vm: card_label=EXCL,LOOP exclusive_caps=1,0), at the nodes
# guest-run found as CAMRELAY_VM_LOOP_EXCL and CAMRELAY_VM_LOOP.
loop_ref = {}
for info_file in sorted(glob.glob(os.path.join(W, "info-video*.txt"))):
    info = dict(re.findall(r"^\s*(Driver name|Card type)\s*: (.*)$", open(info_file).read(), re.M))
    if info.get("Driver name") == "v4l2 loopback":
        node = os.path.basename(info_file)[len("info-"):-len(".txt")]
        loop_ref["/dev/" + node] = info.get("Card type")
        with open(f"/sys/class/video4linux/{node}/name") as f:
            sysname = f.read().strip()
        check(sysname == info.get("Card type"), f"/dev/{node}: sysfs name {sysname!r} vs v4l2-ctl card {info.get('Card type')!r}")
labels = dict(re.findall(r"(card_label|exclusive_caps)=(\S+)", os.environ.get("CAMRELAY_VM_LOOPBACK_PARAMS", "")))
excl_label, plain_label = (labels.get("card_label", ",") + ",").split(",")[:2]
want = {os.environ.get("CAMRELAY_VM_LOOP_EXCL"): excl_label, os.environ.get("CAMRELAY_VM_LOOP"): plain_label}
check(len(loop_ref) >= 2 and all(p and lab for p, lab in want.items()) and
      all(loop_ref.get(p) == lab for p, lab in want.items()),
      f"v4l2-ctl --info finds the bench's v4l2loopback devices {want}: {loop_ref}")
webcams = {w["path"]: w for w in lst.get("webcams", [])}
loops = {p: w["label"] for p, w in webcams.items()}
check(len(loop_ref) > 0 and loops == loop_ref, f"webcams: camrelay {loops} vs v4l2-ctl --info {loop_ref}")
flags = {p: (w.get("exclusive_caps"), w.get("fed")) for p, w in webcams.items() if p in want}
check(flags == {p: (p == os.environ.get("CAMRELAY_VM_LOOP_EXCL"), False) for p in want},
      f"webcams' (exclusive_caps, fed): {flags} (exclusive_caps={labels.get('exclusive_caps')}, nothing feeds them)")
for p, lab in loop_ref.items():
    check(re.search(rf"^  {re.escape(p)}\s+\"{re.escape(lab)}\"", load("list.txt"), re.M) is not None,
          f"text list shows webcam {p} \"{lab}\"")
# ---- list's cameras vs gphoto2 --auto-detect (the bench's usb-mtp camera) ----
text = load("list.txt")
if re.search(r"^sources:.*\bgphoto2\b", load("version.txt"), re.M):
    ref = []  # gphoto2 prints "%-30s %-16s": model, then the port (no spaces)
    for line in load("gphoto2.txt").split("\n")[2:]:
        m = re.match(r"^(.*\S)\s+(\S+)\s*$", line)
        if m:
            ref.append((m.group(1), m.group(2)))
    cams = [(c.get("model"), c.get("port")) for c in lst.get("gphoto2", [])]
    usb = os.environ.get("CAMRELAY_VM_USB_CAMERA", "")
    check(usb != "" and usb in [p for _, p in ref], f"gphoto2 --auto-detect sees the VM's camera at {usb!r}: {ref}")
    check(sorted(cams) == sorted(ref) and len(cams) > 0, f"list's gphoto2 cameras {cams} vs gphoto2 --auto-detect {ref}")
    check("gphoto2_error" not in lst, f"no gphoto2_error: {lst.get('gphoto2_error')}")
    check(all(c.get("from") == "gphoto2:" + c.get("port", "") for c in lst.get("gphoto2", [])),
          f"each camera says how to pick it: {[c.get('from') for c in lst.get('gphoto2', [])]}")
    for model, port in ref:
        check(re.search(rf"^  {re.escape(port)}\s+\"{re.escape(model)}\"\s+\(camrelay webcam --from gphoto2:{re.escape(port)}\)$",
                        text, re.M) is not None, f"text list shows {model!r} at {port} with --from")
else:
    check("gphoto2" not in lst and "libgphoto2" not in text, "a build without libgphoto2 lists no gphoto2 cameras")
vcap = ours.get(devs[0], {})
check("YUYV" in [f["fourcc"] for f in vcap.get("formats", {}).get("capture", [])], "list shows vivid's capture formats")


# ---- probe vs v4l2-ctl --list-formats-ext ----
def parse_formats(text):
    """[{fourcc, sizes: [(kind, w, h or range), intervals: [fps...]]}]"""
    fmts = []
    size = None
    for line in text.split("\n"):
        m = re.match(r"^\s*\[\d+\]: '([^']+)'", line)
        if m:
            fmts.append({"fourcc": m.group(1).replace(" ", ""), "sizes": []})
            continue
        m = re.match(r"^\s*Size: Discrete (\d+)x(\d+)", line)
        if m:
            size = {"type": "discrete", "w": int(m.group(1)), "h": int(m.group(2)), "fps": []}
            fmts[-1]["sizes"].append(size)
            continue
        m = re.match(r"^\s*Size: (Stepwise|Continuous) (\d+)x(\d+) - (\d+)x(\d+)", line)
        if m:
            fmts[-1]["sizes"].append({"type": m.group(1).lower(), "min": (int(m.group(2)), int(m.group(3))),
                                      "max": (int(m.group(4)), int(m.group(5)))})
            continue
        m = re.match(r"^\s*Interval: Discrete [0-9.]+s \(([0-9.]+) fps\)", line)
        if m and size is not None:
            size["fps"].append(float(m.group(1)))
    return fmts


def compare_formats(name, probe_list, text):
    ref = parse_formats(text)
    got = probe_list or []
    check(len(ref) > 0 and [f["fourcc"] for f in got] == [f["fourcc"] for f in ref],
          f"{name}: fourccs {[f['fourcc'] for f in got]} vs v4l2-ctl {[f['fourcc'] for f in ref]}")
    n_sizes = n_ivals = 0
    for g, r in zip(got, ref):
        gs = []
        for s in g["sizes"]:
            if s["type"] == "discrete":
                gs.append(("discrete", s["width"], s["height"],
                           [round(i["fps"], 3) for i in s["intervals"] if i["type"] == "discrete"]))
            else:
                gs.append((s["type"], (s["min_width"], s["min_height"]), (s["max_width"], s["max_height"])))
        rs = []
        for s in r["sizes"]:
            if s["type"] == "discrete":
                rs.append(("discrete", s["w"], s["h"], [round(x, 3) for x in s["fps"]]))
            else:
                rs.append((s["type"], s["min"], s["max"]))
        check(gs == rs, f"{name} {g['fourcc']}: {len(gs)} sizes" + ("" if gs == rs else f": {gs[:3]} vs {rs[:3]}"))
        n_sizes += len(gs)
        n_ivals += sum(len(s[3]) for s in gs if s[0] == "discrete")
    print(f"   ({name}: {len(got)} formats, {n_sizes} sizes, {n_ivals} intervals compared)")


# ---- probe vs v4l2-ctl --list-ctrls ----
def parse_ctrls(text):
    out = {}
    for line in text.split("\n"):
        m = re.match(r"^\s*(\S+) 0x([0-9a-f]{8}) \((\w+)\)\s*: ?(.*)$", line)
        if not m:
            continue
        fields = dict(re.findall(r"(\w+)=(-?(?:0x[0-9a-f]+|\d+))", m.group(4)))
        out[m.group(1)] = {"type": m.group(3), "id": int(m.group(2), 16), "array": "dims=" in m.group(4),
                           "flags": m.group(4).split("flags=")[1] if "flags=" in m.group(4) else "",
                           **{k: int(v, 0) for k, v in fields.items()}}
    return out


TYPES = {"int": "int", "bool": "bool", "menu": "menu", "intmenu": "intmenu", "button": "button",
         "int64": "int64", "str": "string", "bitmask": "bitmask"}


def compare_ctrls(name, probe_ctrls, text, some=False):
    """some: the device has controls (v4l2-ctl's list must not come out empty)."""
    ref = parse_ctrls(text)
    got = {c["name"]: c for c in probe_ctrls}
    plain = {k: v for k, v in ref.items() if v["type"] in TYPES and not v["array"]}
    missing = sorted(set(plain) - set(got))
    extra = sorted(set(got) - set(ref))
    check(not missing and not extra and (len(got) > 0 or not plain) and (len(plain) > 0 or not some),
          f"{name}: {len(got)} controls named as v4l2-ctl names them" + (f"; missing {missing}, extra {extra}" if missing or extra else ""))
    bad = []
    for k, c in got.items():
        r = ref.get(k)
        if not r:
            continue
        if TYPES.get(r["type"]) != c["type"] or r["id"] != c["id"]:
            bad.append(f"{k} type {c['type']}/{r['type']}")
            continue
        for f in ("min", "max", "step", "default", "value"):
            if f not in r or c["type"] in ("string", "button"):
                continue
            if f == "value" and ("volatile" in r["flags"] or "write-only" in r["flags"]):
                continue  # changes by itself (e.g. gain under autogain), or cannot be read
            mine, theirs = c.get(f), r[f]
            if c["type"] == "bitmask" and mine is not None:
                mine, theirs = mine & 0xffffffff, theirs & 0xffffffff
            if mine != theirs:
                bad.append(f"{k}.{f} {mine} vs {theirs}")
    check(not bad, f"{name}: type/min/max/step/default/value agree" + (f": {bad[:8]}" if bad else ""))


for dev in devs:
    n = os.path.basename(dev)
    p = load(f"probe-{n}.json")
    kind = "m2m" if "m2m" in " ".join(p["caps"]) else "capture"
    compare_formats(f"{dev} capture", p["formats"].get("capture"), load(f"formats-{n}.txt"))
    if kind == "m2m":
        compare_formats(f"{dev} output", p["formats"].get("output"), load(f"formats-out-{n}.txt"))
    # vivid and vicodec have controls on the video node; vimc's are on its sub-devices.
    compare_ctrls(dev, p["controls"], load(f"ctrls-{n}.txt"), some=dev != devs[2])
    menus = [c for c in p["controls"] if c["type"] == "menu"]
    # vivid has menu controls (Test Pattern, ...): there they must be listed.
    check((len(menus) > 0 or dev != devs[0]) and all(len(c["menu"]) > 0 for c in menus),
          f"{dev}: {len(menus)} menu controls, each with its items")

byname = load("probe-byname.json")
check(byname["path"] == devs[0], f"probe vivid (by card name) opens {byname['path']}")
print(f"discovery: {fails} failed")
sys.exit(1 if fails else 0)
