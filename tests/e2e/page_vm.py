#!/usr/bin/python3
"""VM test, one boot: the page against the real kernel (issue 18, "Done
means"). `page_vm.py CAMRELAY --vm ...` runs on this machine and boots the VM
(tests/vm/run-in-vm) with this script's guest part; meson runs
`--vm --netem --netem-page`.

controls  (guest) camrelay serves vivid's capture node; headless Chromium
          opens /play/cam, opens "camera controls", moves the brightness
          slider (input + change events, as a drag that ends) and picks
          another test pattern in its menu; v4l2-ctl reads both back from the
          driver.
netem     (guest, --netem) in a network namespace the test creates (its own
          loopback), camrelay (the test source, 320x180 at 5 fps) and a
          viewer that is not a browser: MJPEG connections read by this
          script, each part's arrival time (the guest's wall clock, the clock
          the test source writes into the picture) minus the capture time
          read from its timecode block by the project's C decoder
          (test_timecode read) is its glass-to-glass figure (arrival, not
          display). Windows of 5 s alternate without and with `tc qdisc add
          dev lo root netem delay 100ms` (4 each); the median over the
          cycles of the rise of each window's lower quartile (load only adds
          to a reading) must be 100 +- 20 ms.
netem-page (--netem-page) the same with the page's own meter in Chromium as
          the viewer. Chromium runs on this machine (inside the TCG guest it
          read 0-2 frames per 10 s) and opens the guest's /play/t?output=mjpeg
          (320x180, 15 fps) through QEMU's port forwarding (run-in-vm
          --hostfwd); the delay is netem on the guest's network card (egress:
          the picture's way out), added and removed at the host's request
          (this host's kernel has no sch_netem, so not on a loopback here).
          The page syncs its clock before any delay and the test then stops
          its re-sync (see host_page). 5 + 5 windows of 6 s, each a fresh
          MJPEG connection; the median of the 5 rises of the lower quartile
          of the meter's readings must be 100 +- 20 ms.

Under TCG a connection that lives through the change reads about twice the
delay (VM runs: 74.7 -> 288.8 ms p50, +214 ms; +196 ms with TCP_NODELAY):
TCP settling after its round trip jumped from ~0 to 200 ms, not the picture's
way. So each window is a connection of its own, opened after the delay was
set or removed, alternating without and with (VM runs: +94.2, +91.0 ms).

    page_vm.py CAMRELAY --vm [--netem] [--netem-only] [--netem-page] [--page-only]
    (--netem-only: no controls part; --page-only: the netem-page part alone)"""
import json
import os
import signal
import statistics
import subprocess
import threading
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "webrtc"))
import chromium_whep  # noqa: E402
import e2e  # noqa: E402  (tests/e2e/e2e.py)

CAMRELAY = os.path.abspath(sys.argv[1])
VIVID = os.environ.get("CAMRELAY_VM_VIVID_CAP", "/dev/video0")
TMP = tempfile.mkdtemp(prefix="page-vm-")
FAILS = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what, flush=True)
    if not ok:
        FAILS.append(what)
    return ok


def wait_for(fn, timeout, step=0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def serve(name, toml, netns=None):
    path = os.path.join(TMP, name + ".toml")
    with open(path, "w") as f:
        f.write(toml)
    pre = ["ip", "netns", "exec", netns] if netns else []
    log = open(os.path.join(TMP, name + ".log"), "w")
    return subprocess.Popen(pre + [CAMRELAY, "serve", "-c", path], stdout=log, stderr=subprocess.STDOUT)


def browser(port):
    """Headless Chromium (in whatever network namespace this process is)
    and a DevTools client of it; Chromium under TCG takes a while to start."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=TMP)
    proc, ws = chromium_whep.start_chromium(port, profile, ["--autoplay-policy=no-user-gesture-required"],
                                            wait=180)
    cdp = chromium_whep.Cdp(ws)
    cdp.ws.settimeout(120)  # a busy emulated guest answers slowly
    return proc, profile, cdp


def v4l2_ctl(*args):
    return subprocess.run(["v4l2-ctl", "-d", VIVID, *args], capture_output=True, text=True, timeout=30).stdout


def test_controls():
    print("== controls: the page's slider and menu reach vivid", flush=True)
    srv = serve("vivid", f"""[http]
listen = "127.0.0.1:18941"
[stream.cam]
[[stream.cam.sources]]
[stream.cam.sources.capture]
backend = "v4l2"
device = "{VIVID}"
width = 320
height = 240
fps = 5
""")
    proc = None
    try:
        up = wait_for(lambda: _get("http://127.0.0.1:18941/api/streams/cam/controls"), 60)
        if not check(up, "camrelay serves vivid's controls"):
            return
        before = v4l2_ctl("--get-ctrl", "brightness", "--get-ctrl", "test_pattern")
        print("     before: " + before.replace("\n", " "), flush=True)
        proc, profile, cdp = browser(19241)
        cdp.call("Page.navigate", url="http://127.0.0.1:18941/play/cam?output=mjpeg&meter=0")
        wait_for(lambda: cdp.evaluate("!!document.querySelector('.card details')"), 120)
        # Open the controls as a user does (the page loads the list on toggle).
        cdp.evaluate("document.querySelector('.card details').open = true")
        # 64 rows through the controls worker and TCG Chromium: 60 s was not enough at
        # host load 17 (the rows came just after: the values below were set)
        rows = wait_for(lambda: cdp.evaluate(
            "[...document.querySelectorAll('.ctl')].map(r => r.dataset.name)"), 240)
        check(rows and "brightness" in rows and "test_pattern" in rows,
              f"the page built the controls from /controls ({len(rows or [])} rows, e.g. {(rows or [])[:6]})")
        kinds = cdp.evaluate("""(() => { const k = n => { const r = document.querySelector(`.ctl[data-name="${n}"]`);
            const i = r && r.querySelector('input,select'); return i ? i.tagName + ':' + (i.type || '') : null; };
            return {brightness: k('brightness'), test_pattern: k('test_pattern')}; })()""")
        check(kinds == {"brightness": "INPUT:range", "test_pattern": "SELECT:select-one"},
              f"brightness is a slider, test_pattern a menu ({kinds})")
        # A drag of the slider to 77, and the menu's 3rd item, through the page's own handlers.
        cdp.evaluate("""(() => { const i = document.querySelector('.ctl[data-name="brightness"] input');
            i.value = 77; i.dispatchEvent(new Event('input')); i.dispatchEvent(new Event('change'));
            const s = document.querySelector('.ctl[data-name="test_pattern"] select');
            s.value = '3'; s.dispatchEvent(new Event('change')); })()""")
        got = wait_for(lambda: (lambda o: o if "brightness: 77" in o and "test_pattern: 3" in o else None)(
            v4l2_ctl("--get-ctrl", "brightness", "--get-ctrl", "test_pattern")), 30)
        after = v4l2_ctl("--get-ctrl", "brightness", "--get-ctrl", "test_pattern")
        check(got, "v4l2-ctl reads back what the page set: " + after.replace("\n", " "))
        shown = cdp.evaluate("[...document.querySelectorAll('.ctl small')].filter(s => s.className === 'bad')"
                             ".map(s => s.textContent)")
        check(not shown, f"the page shows no error for its changes ({shown})")
    finally:
        if proc:
            chromium_whep.stop_chromium(proc, profile)
        srv.terminate()
        srv.wait(timeout=30)


def _get(url, timeout=5):
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()
    except OSError:
        return None


NS = "g2gnetem"
CYCLES_NS = 4  # in_ns_viewer: windows without and with the delay, alternating


TEST_TOML = """[http]
listen = "{listen}"
[stream.t]
[[stream.t.sources]]
[stream.t.sources.capture]
backend = "test"
width = 320
height = 180
fps = {fps}
"""
NETEM_TOML = TEST_TOML.format(listen="127.0.0.1:18942", fps=5)


def set_delay(on):
    """tc qdisc add/del dev lo root netem delay 100ms (in this namespace)."""
    r = subprocess.run(["tc", "qdisc", "add" if on else "del", "dev", "lo", "root", "netem", "delay", "100ms"],
                       capture_output=True, text=True)
    return check(r.returncode == 0, f"tc qdisc {'add' if on else 'del'} dev lo root netem delay 100ms "
                 f"({r.stderr.strip()})")


def add_delay():
    if not set_delay(True):
        return False
    print("     " + subprocess.run(["tc", "qdisc", "show", "dev", "lo"], capture_output=True,
                                   text=True).stdout.strip(), flush=True)
    return True


def _window(secs):
    """Arrival figures of one MJPEG connection opened now, read for secs
    after its first second (the latest frame comes at once)."""
    stop, parts = threading.Event(), []
    th = threading.Thread(target=e2e.mjpeg_arrivals, args=(18942, "/mjpeg/t", parts, stop), daemon=True)
    th.start()
    time.sleep(1)
    t0 = time.time() * 1000
    time.sleep(secs)
    stop.set()
    th.join(timeout=30)
    return [p for p in parts if p[0] >= t0]


def in_ns_viewer():
    """The netem part with a non-browser viewer, inside the namespace. Each
    window is a connection of its own opened after the delay was set or
    removed: a connection that lives through the change reads about twice
    the delay for many seconds (TCP's state from the ~0 ms round trip before
    the change: VM runs +196 to +214 ms), which is TCP settling, not the
    picture's way. Windows alternate (4 without, 4 with) so that the
    emulated machine's drift falls on both sides alike."""
    reader = os.path.join(os.path.dirname(CAMRELAY), "tests", "unit", "test_timecode")
    srv = serve("netem", NETEM_TOML)
    try:
        if not check(wait_for(lambda: _get("http://127.0.0.1:18942/api/streams/t"), 60), "camrelay serves (netns)"):
            return
        # Judged: the median over the cycles of (the lower quartile with the
        # delay - the one of the window just before without). A loaded host
        # only ever adds to a reading, so a window's lower quartile is its
        # floor plus the way; pooled medians read +145 ms in a loaded CI run
        # (run9: min 22.6 -> 120.8 ms, p50 96.8 -> 242.2 ms).
        got, bad, rises = {False: [], True: []}, {False: 0, True: 0}, []
        for cycle in range(CYCLES_NS):
            q = {}
            for on in (False, True):
                if on and not (add_delay() if cycle == 0 else set_delay(True)):
                    return
                figs, unread = e2e.timecode_g2g(_window(5), reader)
                if on and not set_delay(False):
                    return
                got[on] += figs
                bad[on] += unread
                if len(figs) >= 8:
                    q[on] = statistics.quantiles(figs, n=4)[0]
                print(f"     cycle {cycle + 1} {'with' if on else 'without'} the delay: {len(figs)} parts "
                      f"({unread} unreadable), p25 {q.get(on, float('nan')):.1f} ms, p50 "
                      f"{statistics.median(figs) if figs else float('nan'):.1f} ms", flush=True)
            if len(q) == 2:
                rises.append(q[True] - q[False])
        base, delayed, bad0, bad1 = got[False], got[True], bad[False], bad[True]
        print(f"     without delay: {len(base)} parts read ({bad0} unreadable), "
              f"with delay: {len(delayed)} ({bad1} unreadable)", flush=True)
        if check(len(base) >= 30 and len(delayed) >= 30 and bad0 + bad1 <= (len(base) + len(delayed)) // 10
                 and len(rises) == CYCLES_NS,
                 f"the viewer reads the parts' codes (at most 1 in 10 unreadable), at least 30 with and 30 "
                 f"without the delay, 8 in every window ({len(base)}+{bad0} and {len(delayed)}+{bad1} unreadable)"):
            p0, p1 = statistics.median(base), statistics.median(delayed)
            print(f"     all windows: p50 {p0:.1f} ms (min {min(base):.1f}, max {max(base):.1f}) -> {p1:.1f} ms "
                  f"(min {min(delayed):.1f}, max {max(delayed):.1f})", flush=True)
            rise = statistics.median(rises)
            check(80 <= rise <= 120, f"glass-to-glass rises by {rise:.1f} ms with netem delay 100ms (median of the "
                  f"cycles' lower-quartile rises {', '.join(f'{x:.1f}' for x in rises)}; want 100 +- 20)")
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def guest_page(ports):
    """In the VM (--page-ports G,C): camrelay on 0.0.0.0:G for the host's
    Chromium and a small control server on 0.0.0.0:C through which the host
    adds and removes `netem delay 100ms` on the guest's network card (egress:
    the picture's way to the host) and says when it is done."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    gp, cp = ports
    print("== netem-page: the page's meter in Chromium on the host, netem on the guest's card", flush=True)
    nic = next((n for n in sorted(os.listdir("/sys/class/net"))
                if os.path.exists(f"/sys/class/net/{n}/device")), None)
    mp = subprocess.run(["modprobe", "sch_netem"], capture_output=True, text=True)
    if not check(nic and mp.returncode == 0, f"a network card ({nic}) and sch_netem ({mp.stderr.strip()})"):
        return
    srv = serve("page", TEST_TOML.format(listen=f"0.0.0.0:{gp}", fps=15))
    done = threading.Event()

    class Ctl(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path in ("/delay/on", "/delay/off"):
                on, cmd = self.path == "/delay/on", ["tc", "qdisc", "show", "dev", nic]
                if on or "netem" in subprocess.run(cmd, capture_output=True, text=True).stdout:
                    cmd = ["tc", "qdisc", "add" if on else "del", "dev", nic, "root", "netem", "delay", "100ms"]
                r = subprocess.run(cmd, capture_output=True, text=True)  # (off without netem: only show)
                out = {"cmd": " ".join(cmd), "rc": r.returncode, "err": r.stderr.strip()}
            else:  # /state, /done
                out = {}
                if self.path == "/done":
                    done.set()
            out["qdisc"] = subprocess.run(["tc", "qdisc", "show", "dev", nic], capture_output=True,
                                          text=True).stdout.strip()
            body = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    httpd = None
    try:
        if not check(wait_for(lambda: _get(f"http://127.0.0.1:{gp}/api/streams/t"), 60), "camrelay serves (0.0.0.0)"):
            return
        httpd = ThreadingHTTPServer(("0.0.0.0", cp), Ctl)  # answering = ready for the host
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        check(done.wait(900), "the host's Chromium said it is done")
    finally:
        if httpd:
            httpd.shutdown()
        subprocess.run(["tc", "qdisc", "del", "dev", nic, "root"], capture_output=True)
        srv.terminate()
        srv.wait(timeout=30)


def _offset(port):
    """The guest's clock minus this machine's (ms), the tightest of 8
    exchanges with /api/time, as the page does it."""
    best = None
    for _ in range(8):
        t0 = time.time() * 1000
        j = json.loads(_get(f"http://127.0.0.1:{port}/api/time") or b"null")
        t1 = time.time() * 1000
        if j and (best is None or t1 - t0 < best[0]):
            best = (t1 - t0, j["ms"] - (t0 + t1) / 2)
    return best or (float("nan"), float("nan"))


CYCLES = 5  # host_page: windows without and with the delay, alternating


def host_page(vm, ports):
    """On this machine, while the VM runs guest_page: Debian's headless
    Chromium opens the guest's /play/t?output=mjpeg through QEMU's port
    forwarding, and the page's own meter is the viewer. The page aligns its
    clock to the guest's once, with no delay; the test then stops its 30 s
    re-sync (syncClock replaced in the page): an exchange under a one-way
    delay would move the offset by half of it. Windows alternate 5 without
    and 5 with the delay; each is a fresh MJPEG connection (the page's
    show(): a new <img> and meter) opened after the change, read for 6 s after
    2 s, counted only when camrelay has exactly one MJPEG viewer."""
    gp, cp = ports
    ctl = f"http://127.0.0.1:{cp}"
    end = time.monotonic() + 1300
    while time.monotonic() < end and vm.poll() is None and not _get(f"{ctl}/state"):
        time.sleep(1)
    if not check(vm.poll() is None and _get(f"{ctl}/state"), "the guest's camrelay and control server answer"):
        return
    profile = tempfile.mkdtemp(prefix="chromium-host-", dir=TMP)
    proc, ws = chromium_whep.start_chromium(e2e.free_port(), profile, wait=60)
    try:
        cdp = chromium_whep.Cdp(ws)
        cdp.ws.settimeout(120)
        cdp.call("Page.navigate", url=f"http://127.0.0.1:{gp}/play/t?output=mjpeg")
        first = wait_for(lambda: cdp.evaluate(
            "typeof cards !== 'undefined' && cards.length && cards[0].meter && clock.offset !== null && "
            "cards[0].meter.frames > 0 ? clock : null"), 90)
        if not check(first, f"the page's meter reads the guest's picture, clock synced ({first})"):
            return
        t_start = time.monotonic()
        cdp.evaluate("syncClock = async () => {}; true")  # no re-sync from now on
        time.sleep(1)  # a re-sync under way when replaced has ended
        c0 = cdp.evaluate("({...clock})")
        d0 = _offset(gp)
        got, bad, p50s = {False: [], True: []}, {False: 0, True: 0}, {}
        for cycle in range(CYCLES):
            for on in (False, True):
                r = json.loads(_get(f"{ctl}/delay/{'on' if on else 'off'}", 120) or b"null")
                if not check(r and r["rc"] == 0, f"in the guest: {r and r['cmd']} ({r and r['err']}); "
                             f"qdisc: {r and r['qdisc']}"):
                    return
                cdp.evaluate("(async () => { const c = cards[0]; c.el.querySelector('.pic').src = ''; "
                             "await show(c, 'mjpeg'); return true; })()")
                time.sleep(2)
                t0 = cdp.evaluate("perfNow()")
                time.sleep(3)
                st = json.loads(_get(f"http://127.0.0.1:{gp}/api/streams/t") or b"null")
                viewers = len([c for c in (st or {}).get("clients", []) if c["name"].startswith("mjpeg")])
                time.sleep(3)
                w = cdp.evaluate(f"(() => {{ const m = cards[0].meter; return {{v: m.samples.filter(s => s[0] >= "
                                 f"{t0}).map(s => s[1]), unreadable: m.unreadable}}; }})()")
                print(f"     window {cycle + 1} {'with' if on else 'without'} the delay: {len(w['v'])} readings, "
                      f"p25 {statistics.quantiles(w['v'], n=4)[0] if len(w['v']) > 1 else float('nan'):.1f} ms, "
                      f"p50 {statistics.median(w['v']) if w['v'] else float('nan'):.1f} ms, "
                      f"{w['unreadable']} unreadable, {viewers} MJPEG viewer(s)", flush=True)
                if check(viewers == 1 and len(w["v"]) >= 10,
                         f"camrelay has one MJPEG viewer, the meter 10 readings or more ({viewers}, {len(w['v'])})"):
                    got[on] += w["v"]
                    bad[on] += w["unreadable"]
                    p50s[cycle, on] = statistics.quantiles(w["v"], n=4)[0]  # the lower quartile
        r = json.loads(_get(f"{ctl}/delay/off", 120) or b"null")
        check(r and r["rc"] == 0, f"the delay removed ({r and r['err']})")
        print(f"     {2 * CYCLES} windows in {time.monotonic() - t_start:.0f} s", flush=True)
        c1 = cdp.evaluate("({...clock})")
        d1 = _offset(gp)
        check(c1 == c0, f"the page's clock offset stayed as synced before the delay ({c0} -> {c1})")
        print(f"     guest clock - host clock by this script (tightest of 8): {d0[1]:.1f} ms (rtt {d0[0]:.1f}) "
              f"before, {d1[1]:.1f} ms (rtt {d1[0]:.1f}) after the windows; the page's {c0['offset']:.1f} ms "
              f"(rtt {c0['rtt']:.1f})", flush=True)
        n0, n1 = len(got[False]), len(got[True])
        rises = [p50s[c, True] - p50s[c, False] for c in range(CYCLES) if (c, True) in p50s and (c, False) in p50s]
        if check(len(rises) == CYCLES and bad[False] + bad[True] <= (n0 + n1) // 10,
                 f"the meter read every window, at most 1 in 10 unreadable ({n0} + {bad[False]} and "
                 f"{n1} + {bad[True]} unreadable)"):
            p0, p1 = statistics.median(got[False]), statistics.median(got[True])
            print(f"     all windows: p50 {p0:.1f} ms (min {min(got[False]):.1f}, max {max(got[False]):.1f}) -> "
                  f"{p1:.1f} ms (min {min(got[True]):.1f}, max {max(got[True]):.1f}): +{p1 - p0:.1f} ms", flush=True)
            # Judged: the median of the cycles' rises (each window's lower quartile with the delay
            # minus the one just before without; load only adds to a reading): a window or two slowed by the loaded host or the emulated
            # machine (one run: 229.6 ms without the delay in the first window, 111 in the others)
            # do not decide it.
            rise = statistics.median(rises)
            check(80 <= rise <= 120, f"the page's meter rises by {rise:.1f} ms with netem delay 100ms (median of "
                  f"the cycles' lower-quartile rises {', '.join(f'{x:.1f}' for x in rises)}; want 100 +- 20)")
    finally:
        _get(f"{ctl}/done", 120)
        chromium_whep.stop_chromium(proc, profile)


def host_main():
    """--vm: boots the VM (tests/vm/run-in-vm, one boot) with the guest's
    part of this script; with --netem-page the guest's camrelay and control
    server are forwarded to this machine's loopback (the same port numbers)
    and host_page runs here."""
    guest = [a for a in sys.argv[2:] if a in ("--netem", "--netem-only", "--page-only")]
    fwd, ports = [], []
    if "--netem-page" in sys.argv:
        ports = [e2e.free_port(), e2e.free_port()]
        fwd = [x for p in ports for x in ("--hostfwd", f"tcp:127.0.0.1:{p}-:{p}")]
        guest += ["--page-ports", ",".join(map(str, ports))]
    vm = subprocess.Popen([os.path.join(HERE, "..", "vm", "run-in-vm"), "--timeout", "1500"] + fwd +
                          ["--", "/usr/bin/python3", os.path.abspath(__file__), CAMRELAY] + guest,
                          start_new_session=True)
    try:
        if ports:
            host_page(vm, ports)
        rc = vm.wait(timeout=1500)
    finally:
        if vm.poll() is None:
            os.killpg(vm.pid, signal.SIGTERM)  # run-in-vm stops QEMU on TERM
            vm.wait()
    check(rc == 0, f"the guest's part (run-in-vm exit {rc})")


def test_netem(inner):
    print(f"== netem: 100 ms more on the loopback, 100 ms more glass-to-glass ({inner})", flush=True)
    mp = subprocess.run(["modprobe", "sch_netem"], capture_output=True, text=True)
    if not check(mp.returncode == 0, f"modprobe sch_netem ({mp.stderr.strip()})"):
        return
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", NS], capture_output=True, text=True)
    if not check(r.returncode == 0, f"ip netns add {NS} ({r.stderr.strip()})"):
        return
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        r = subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__), CAMRELAY,
                            inner], timeout=600)
        check(r.returncode == 0, "the netem part in its namespace")
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def main():
    if "--vm" in sys.argv:
        host_main()
    elif "--in-netns-viewer" in sys.argv:
        in_ns_viewer()
    else:
        if "--netem-only" not in sys.argv and "--page-only" not in sys.argv:
            test_controls()
        if "--netem" in sys.argv or "--netem-only" in sys.argv:
            test_netem("--in-netns-viewer")
        if "--page-ports" in sys.argv:
            guest_page([int(x) for x in sys.argv[sys.argv.index("--page-ports") + 1].split(",")])
    print(f"page-vm: {len(FAILS)} failed" + (": " + "; ".join(FAILS) if FAILS else ""), flush=True)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
