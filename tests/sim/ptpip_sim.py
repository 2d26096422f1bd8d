#!/usr/bin/python3
"""A PTP/IP camera simulator: enough of a Nikon DSLR for libgphoto2's ptp2
driver to open a session, list and set a few settings, and stream live view
(Nikon StartLiveView 0x9201 / DeviceReady 0x90C8 / GetLiveViewImage 0x9203,
as camlibs/ptp2/library.c camera_capture_preview does for PTP_VENDOR_NIKON),
so the real libgphoto2 can be tested without a camera. Stdlib + python3-pil.
With --vendor canon it is a Canon EOS body instead (ptpip_eos.py: remote and
event mode, GetEvent polling, the EVF output device, GetViewFinderData, a
mirror that answers busy, live view that times out, auto power-off), by
default a 1200D: "Canon EOS 1200D", 1056x704 at 6 fps.

Written by hand: no packaged PTP/IP responder exists in Debian.

Usage:
  ptpip_sim.py [--port 15740] [--size 1056x704] [--fps 25] [--fail-all] [--cache K]
               [--vendor nikon|canon] [--lv-timeout S] [--auto-off S] [--mirror-ms MS]
Prints "READY port=N" once listening (--port 0 picks a free port). libgphoto2
reaches it as  --port ptpip:127.0.0.1:N:N  (command and event port).

Commands on stdin (one per line), for fault tests:
  sleep N      stop answering for N seconds (camera asleep); sessions are
               dropped when it wakes up
  unplug N     close every connection and the listening socket for N seconds
  errors on|off  answer every operation with GeneralError (0x2002)
  slowset S    SetDevicePropValue answers after S seconds (a DSLR busy with
               a setting; 0: at once again)
  droplv       live view breaks: GetLiveViewImage fails with GeneralError
               while the camera still answers, until EndLiveView (0x9202);
               Canon: the body ends live view after the next frame
  poweron      Canon: switch a camera that powered itself off on again
  notlv        live view turns off: GetLiveViewImage answers NotLiveView
               (0xA00B), which libgphoto2 handles by restarting it
  stats        print "STATS frames=N sessions=N" (Canon: keepalives=N lv_starts=N)
  quit
Events are printed on stdout: "SESSION open", "SET 0x500f 800", "LV start",
"LV end", "FRAME n t" (only with --verbose; t = CLOCK_MONOTONIC seconds
when the frame was handed to the host); Canon also "LV end timeout|dropped|
by the host|session closed", "REMOTE n", "POWER off", "POWER on".

Each frame: eight colour bars (top 3/4; BARS below, RGB), a dark band with the
frame number as text and as 16 blocks (bit 15 first; white = 1) across the
bottom eighth, so a consumer can check colours and read frame numbers back
after JPEG and YUV conversions (see decode_counter()).
"""

import argparse
import io
import select
import socket
import struct
import sys
import threading
import time

from PIL import Image, ImageDraw

BARS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0),
        (192, 0, 192), (192, 0, 0), (0, 0, 192), (0, 0, 0)]
COUNTER_BITS = 16

# PTP/IP packet types
INIT_CMD_REQ, INIT_CMD_ACK, INIT_EVT_REQ, INIT_EVT_ACK, INIT_FAIL = 1, 2, 3, 4, 5
CMD_REQ, CMD_RESP, EVENT, START_DATA, DATA, CANCEL, END_DATA = 6, 7, 8, 9, 10, 11, 12

RC_OK, RC_GENERAL, RC_SESSION_NOT_OPEN = 0x2001, 0x2002, 0x2003
RC_OP_NOT_SUPPORTED, RC_PARAM_NOT_SUPPORTED = 0x2005, 0x2006
RC_PROP_NOT_SUPPORTED, RC_INVALID_VALUE = 0x200A, 0x201C
RC_SESSION_ALREADY_OPEN, RC_NIKON_NOT_LIVEVIEW = 0x201E, 0xA00B

OP_GET_DEVICE_INFO, OP_OPEN_SESSION, OP_CLOSE_SESSION = 0x1001, 0x1002, 0x1003
OP_GET_STORAGE_IDS, OP_GET_PROP_DESC, OP_GET_PROP_VALUE = 0x1004, 0x1014, 0x1015
OP_SET_PROP_VALUE = 0x1016
OP_NIKON_DEVICE_READY, OP_NIKON_START_LV, OP_NIKON_END_LV = 0x90C8, 0x9201, 0x9202
OP_NIKON_GET_LV_IMAGE = 0x9203

DTC_UINT8, DTC_UINT16, DTC_UINT32 = 0x0002, 0x0004, 0x0006
_FMT = {DTC_UINT8: '<B', DTC_UINT16: '<H', DTC_UINT32: '<I'}

PROP_LIVEVIEW_STATUS = 0xD1A2


_print_lock = threading.Lock()


def say(*args):
    """print() for several threads: one whole line at a time."""
    with _print_lock:
        print(*args, flush=True)


def ptp_string(s):
    if not s:
        return b'\0'
    u = (s + '\0').encode('utf-16-le')
    return struct.pack('<B', len(s) + 1) + u


def ptp_array16(values):
    return struct.pack('<I', len(values)) + b''.join(struct.pack('<H', v) for v in values)


def decode_counter(luma_at, width, height):
    """Reads the frame number back. luma_at(x, y) -> 0..255."""
    n = 0
    y = height - height // 16
    for i in range(COUNTER_BITS):
        x = (2 * i + 1) * width // (2 * COUNTER_BITS)
        n = (n << 1) | (1 if luma_at(x, y) > 128 else 0)
    return n


def picture_base(w, h):
    """The bars on dark grey, without the counter (PIL RGB image)."""
    img = Image.new('RGB', (w, h), (32, 32, 32))
    d = ImageDraw.Draw(img)
    for i, c in enumerate(BARS):
        d.rectangle([w * i // 8, 0, w * (i + 1) // 8 - 1, h * 3 // 4 - 1], fill=c)
    return img


def picture(base, n, text):
    """Frame n: the base with a caption and the counter blocks (see decode_counter)."""
    w, h = base.size
    img = base.copy()
    d = ImageDraw.Draw(img)
    d.text((8, h * 3 // 4 + 8), text, fill=(235, 235, 235))
    bw = w // COUNTER_BITS
    y0 = h - h // 8
    for i in range(COUNTER_BITS):
        bit = (n >> (COUNTER_BITS - 1 - i)) & 1
        x0 = i * w // COUNTER_BITS
        d.rectangle([x0 + bw // 6, y0, x0 + bw - bw // 6, h - 1], fill=(235, 235, 235) if bit else (16, 16, 16))
    return img


class Camera:
    def __init__(self, args):
        self.args = args
        self.width, self.height = args.size
        self.lock = threading.Lock()
        self.props = {
            # code: [datatype, writable, default, current, form]
            0x5001: [DTC_UINT8, False, 100, 87, ('range', 0, 100, 1)],
            0x5005: [DTC_UINT16, True, 2, 2, ('enum', [2, 4, 5, 6])],
            0x5007: [DTC_UINT16, True, 560, 560, ('enum', [280, 400, 560, 800, 1100])],
            0x500D: [DTC_UINT32, True, 100, 100, ('enum', [40, 100, 333, 10000])],
            0x500F: [DTC_UINT16, True, 100, 100, ('enum', [100, 200, 400, 800, 1600, 3200])],
            PROP_LIVEVIEW_STATUS: [DTC_UINT8, False, 0, 0, ('range', 0, 1, 1)],
        }
        self.errors = args.fail_all
        self.slow_set = 0.0
        self.sleep_until = 0.0
        self.unplugged_until = 0.0
        self.lv_broken = False
        self.lv_notlv = False
        self.frames = 0
        self.sessions = 0
        self.next_frame_t = 0.0
        self.conns = []
        self.listener = None
        self.base = self._render_base()
        self.cache = {}
        for i in range(args.cache):  # before READY: no stalls once serving
            self.cache[i] = self.render(i)

    def _render_base(self):
        return picture_base(self.width, self.height)

    def render(self, n):
        img = picture(self.base, n, 'camrelay ptpip sim  frame %d  %dx%d@%g' %
                      (n, self.width, self.height, self.args.fps))
        out = io.BytesIO()
        img.save(out, 'JPEG', quality=self.args.quality)
        return out.getvalue()

    def frame(self, n):
        """Frame n's JPEG; with --cache K the K pictures of counter n % K are
        rendered once (for slow machines: under QEMU/TCG a render takes
        ~170 ms)."""
        k = self.args.cache
        if not k:
            return self.render(n)
        if n % k not in self.cache:
            self.cache[n % k] = self.render(n % k)
        return self.cache[n % k]

    # ---- PTP datasets ----

    def device_info(self):
        ops = [OP_GET_DEVICE_INFO, OP_OPEN_SESSION, OP_CLOSE_SESSION, OP_GET_STORAGE_IDS,
               OP_GET_PROP_DESC, OP_GET_PROP_VALUE, OP_SET_PROP_VALUE,
               OP_NIKON_DEVICE_READY, OP_NIKON_START_LV, OP_NIKON_END_LV, OP_NIKON_GET_LV_IMAGE]
        return (struct.pack('<HIH', 100, 0x0000000A, 100) + ptp_string('') +
                struct.pack('<H', 0) + ptp_array16(ops) + ptp_array16([]) +
                ptp_array16(sorted(self.props)) + ptp_array16([0x3801]) +
                ptp_array16([0x3801]) + ptp_string('Nikon Corporation') +
                ptp_string(self.args.model) + ptp_string('V1.00') + ptp_string('000000001'))

    def prop_desc(self, code):
        dt, rw, default, cur, form = self.props[code]
        f = _FMT[dt]
        b = struct.pack('<HHB', code, dt, 1 if rw else 0) + struct.pack(f, default) + struct.pack(f, cur)
        if form[0] == 'range':
            b += struct.pack('<B', 1) + b''.join(struct.pack(f, v) for v in form[1:])
        else:
            b += struct.pack('<BH', 2, len(form[1])) + b''.join(struct.pack(f, v) for v in form[1])
        return b

    def session_closed(self):
        """The host's command connection ended (dialects reset their state)."""

    def paced_jpeg(self):
        """Waits for the next frame slot, returns its JPEG."""
        interval = 1.0 / self.args.fps
        now = time.monotonic()
        with self.lock:
            t = max(self.next_frame_t, now)
            self.next_frame_t = t + interval
            if self.next_frame_t < now - interval:  # behind (stall): no burst
                self.next_frame_t = now + interval
            n = self.frames
            self.frames += 1
        if t > now:
            time.sleep(t - now)
        jpeg = self.frame(n)
        if self.args.verbose:
            say('FRAME %d %.6f' % (n, time.monotonic()))
        return jpeg

    def lv_image(self):
        """The Nikon LV data: header + the next JPEG."""
        jpeg = self.paced_jpeg()
        # Nikon D800-style 384-byte header: we fill the sizes, the rest zeros.
        hdr = bytearray(384)
        struct.pack_into('>HH', hdr, 0, self.width, self.height)
        return bytes(hdr) + jpeg

    def operation(self, code, params, data_in):
        """Returns (response code, data or None, response params)."""
        if self.errors:
            return RC_GENERAL, None, []
        if code == OP_GET_DEVICE_INFO:
            return RC_OK, self.device_info(), []
        if code == OP_OPEN_SESSION:
            self.sessions += 1
            say('SESSION open')
            return RC_OK, None, []
        if code == OP_CLOSE_SESSION:
            say('SESSION close')
            return RC_OK, None, []
        if code == OP_GET_STORAGE_IDS:
            return RC_OK, struct.pack('<I', 0), []
        if code in (OP_GET_PROP_DESC, OP_GET_PROP_VALUE, OP_SET_PROP_VALUE):
            prop = params[0] if params else 0
            if prop not in self.props:
                return RC_PROP_NOT_SUPPORTED, None, []
            if code == OP_GET_PROP_DESC:
                return RC_OK, self.prop_desc(prop), []
            dt, rw, _default, cur, form = self.props[prop]
            if code == OP_GET_PROP_VALUE:
                return RC_OK, struct.pack(_FMT[dt], cur), []
            size = struct.calcsize(_FMT[dt])
            if not rw or data_in is None or len(data_in) < size:
                return RC_INVALID_VALUE, None, []
            v = struct.unpack(_FMT[dt], data_in[:size])[0]
            ok = form[1] <= v <= form[2] if form[0] == 'range' else v in form[1]
            if not ok:
                return RC_INVALID_VALUE, None, []
            if self.slow_set:
                say('SLOWSET 0x%04x start' % prop)
                time.sleep(self.slow_set)
            self.props[prop][3] = v
            say('SET 0x%04x %d' % (prop, v))
            return RC_OK, None, []
        if code == OP_NIKON_DEVICE_READY:
            return RC_OK, None, []
        if code == OP_NIKON_START_LV:
            self.props[PROP_LIVEVIEW_STATUS][3] = 1
            self.lv_broken = self.lv_notlv = False
            say('LV start')
            return RC_OK, None, []
        if code == OP_NIKON_END_LV:
            self.props[PROP_LIVEVIEW_STATUS][3] = 0
            self.lv_broken = False
            say('LV end')
            return RC_OK, None, []
        if code == OP_NIKON_GET_LV_IMAGE:
            if self.lv_notlv:
                self.props[PROP_LIVEVIEW_STATUS][3] = 0
                return RC_NIKON_NOT_LIVEVIEW, None, []
            if self.props[PROP_LIVEVIEW_STATUS][3] != 1:
                return RC_NIKON_NOT_LIVEVIEW, None, []
            if self.lv_broken:
                time.sleep(1.0 / self.args.fps)
                return RC_GENERAL, None, []
            return RC_OK, self.lv_image(), []
        return RC_OP_NOT_SUPPORTED, None, []


def recv_exact(sock, n):
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError('closed')
        buf += chunk
    return buf


def recv_packet(sock):
    length, ptype = struct.unpack('<II', recv_exact(sock, 8))
    if length < 8 or length > 64 * 1024 * 1024:
        raise ConnectionError('bad packet length %d' % length)
    return ptype, recv_exact(sock, length - 8)


def send_packet(sock, ptype, payload):
    sock.sendall(struct.pack('<II', 8 + len(payload), ptype) + payload)


class Server:
    def __init__(self, cam, args):
        self.cam = cam
        self.args = args
        self.port = args.port
        self.stop = False

    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', self.port))
        s.listen(8)
        self.port = s.getsockname()[1]
        self.cam.listener = s
        return s

    def wait_awake(self):
        """Blocks while the camera sleeps; True if it slept (sessions are stale)."""
        slept = False
        while time.monotonic() < self.cam.sleep_until and not self.stop:
            slept = True
            time.sleep(0.05)
        return slept

    def serve_conn(self, sock):
        cam = self.cam
        try:
            ptype, payload = recv_packet(sock)
            if self.wait_awake():
                return
            if ptype == INIT_CMD_REQ:
                name = ptp_string(self.args.model)[1:]  # UTF-16LE, NUL-terminated
                send_packet(sock, INIT_CMD_ACK, struct.pack('<I', 1) + b'\x11' * 16 + name +
                            struct.pack('<I', 0x00010000))
                try:
                    self.command_loop(sock)
                finally:
                    cam.session_closed()
            elif ptype == INIT_EVT_REQ:
                send_packet(sock, INIT_EVT_ACK, b'')
                while not self.stop:  # nothing to report: hold the connection
                    r, _, _ = select.select([sock], [], [], 0.2)
                    if r and not sock.recv(4096):
                        break
            else:
                send_packet(sock, INIT_FAIL, struct.pack('<I', 1))
        except (ConnectionError, OSError):
            pass
        finally:
            with cam.lock:
                if sock in cam.conns:
                    cam.conns.remove(sock)
            try:
                sock.close()
            except OSError:
                pass

    def command_loop(self, sock):
        cam = self.cam
        while not self.stop:
            ptype, payload = recv_packet(sock)
            if ptype != CMD_REQ:
                continue
            dataphase, code, tid = struct.unpack_from('<IHI', payload, 0)
            nparams = (len(payload) - 10) // 4
            params = list(struct.unpack_from('<%dI' % nparams, payload, 10))
            data_in = None
            if dataphase == 2:  # the initiator sends data: StartData, Data..., EndData
                chunks = []
                while True:
                    t, p = recv_packet(sock)
                    if t in (DATA, END_DATA):
                        chunks.append(p[4:])
                    if t == END_DATA:
                        break
                data_in = b''.join(chunks)
            if self.wait_awake():
                return  # asleep mid-session: the host has given up on it
            rc, data, rparams = cam.operation(code, params, data_in)
            if data is not None and rc == RC_OK:
                send_packet(sock, START_DATA, struct.pack('<IQ', tid, len(data)))
                send_packet(sock, END_DATA, struct.pack('<I', tid) + data)
            send_packet(sock, CMD_RESP, struct.pack('<HI', rc, tid) +
                        b''.join(struct.pack('<I', p) for p in rparams))

    def accept_loop(self):
        while not self.stop:
            s = self.cam.listener
            if s is None:
                time.sleep(0.05)
                continue
            try:
                r, _, _ = select.select([s], [], [], 0.2)
                if not r:
                    continue
                conn, _ = s.accept()
            except (OSError, ValueError):
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.cam.lock:
                self.cam.conns.append(conn)
            threading.Thread(target=self.serve_conn, args=(conn,), daemon=True).start()

    def drop_all(self):
        with self.cam.lock:
            conns, self.cam.conns = self.cam.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def unplug(self, seconds):
        s, self.cam.listener = self.cam.listener, None
        if s:
            s.close()
        self.drop_all()
        say('UNPLUGGED %g' % seconds)

        def replug():
            time.sleep(seconds)
            self.listen()
            say('PLUGGED')
        threading.Thread(target=replug, daemon=True).start()

    def power_off(self):
        """The camera switched itself off: gone until power_on()."""
        s, self.cam.listener = self.cam.listener, None
        if s:
            s.close()
        say('POWER off')
        self.drop_all()

    def power_on(self):
        if self.cam.listener is None:
            self.cam.powered = True
            for _ in range(50):  # a connection of the last session may still hold the port
                try:
                    self.listen()
                    break
                except OSError:
                    time.sleep(0.2)
            say('POWER on')

    def sleep(self, seconds):
        self.cam.sleep_until = time.monotonic() + seconds
        say('ASLEEP %g' % seconds)

        def wake():
            time.sleep(seconds)
            self.drop_all()  # a camera waking up has no session any more
            say('AWAKE')
        threading.Thread(target=wake, daemon=True).start()


def parse_size(s):
    w, h = s.lower().split('x')
    return int(w), int(h)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--port', type=int, default=15740)
    ap.add_argument('--size', type=parse_size, default=(1056, 704))
    ap.add_argument('--fps', type=float, default=None, help='default 25 (Nikon), 6 (Canon)')
    ap.add_argument('--quality', type=int, default=85)
    ap.add_argument('--model', default=None, help='default camrelay-sim (Nikon), Canon EOS 1200D')
    ap.add_argument('--vendor', choices=('nikon', 'canon'), default='nikon',
                    help='live-view dialect: Nikon, or Canon EOS (ptpip_eos.py)')
    ap.add_argument('--lv-timeout', type=float, default=0, metavar='S',
                    help='Canon: the body ends live view after S seconds (0: never)')
    ap.add_argument('--auto-off', type=float, default=0, metavar='S',
                    help='Canon: power off after S seconds without KeepDeviceOn (0: never)')
    ap.add_argument('--mirror-ms', type=float, default=1200, metavar='MS',
                    help='Canon: DeviceBusy for MS after live view starts (the mirror)')
    ap.add_argument('--fail-all', action='store_true', help='answer every operation with an error')
    ap.add_argument('--cache', type=int, default=0, metavar='K',
                    help='render K pictures once and cycle through them (frame counter n %% K)')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    canon = args.vendor == 'canon'
    if args.fps is None:
        args.fps = 6.0 if canon else 25.0
    if args.model is None:
        args.model = 'Canon EOS 1200D' if canon else 'camrelay-sim'

    if canon:
        sys.modules.setdefault('ptpip_sim', sys.modules[__name__])  # one module, one print lock
        import ptpip_eos
        cam = ptpip_eos.CanonEOS(args)
    else:
        cam = Camera(args)
    srv = Server(cam, args)
    srv.listen()
    threading.Thread(target=srv.accept_loop, daemon=True).start()
    if canon:
        ptpip_eos.start(cam, srv)
    say('READY port=%d' % srv.port)

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        try:
            if cmd == 'sleep':
                srv.sleep(float(words[1]))
            elif cmd == 'unplug':
                srv.unplug(float(words[1]))
            elif cmd == 'errors':
                cam.errors = words[1] == 'on'
                say('ERRORS %s' % words[1])
            elif cmd == 'slowset':
                cam.slow_set = float(words[1])
                say('SLOWSET %s' % words[1])
            elif cmd == 'droplv':
                if canon:
                    cam.drop_lv()
                else:
                    cam.lv_broken = True
                say('LV dropped')
            elif cmd == 'poweron' and canon:
                srv.power_on()
            elif cmd == 'notlv':
                cam.lv_notlv = True
                say('LV off')
            elif cmd == 'stats':
                extra = ' keepalives=%d lv_starts=%d' % (cam.keepalives, cam.lv_starts) if canon else ''
                say('STATS frames=%d sessions=%d%s' % (cam.frames, cam.sessions, extra))
            elif cmd == 'quit':
                break
            else:
                say('ERROR unknown command %r' % cmd)
        except (IndexError, ValueError):
            say('ERROR bad arguments: %r' % line.strip())
    srv.stop = True
    srv.drop_all()


if __name__ == '__main__':
    main()
