"""Canon EOS dialect for the PTP/IP camera simulator (ptpip_sim.py --vendor canon).

What libgphoto2's ptp2 camlib (2.5.30, camlibs/ptp2/library.c, config.c, ptp.c,
ptp-pack.c) does with a Canon EOS body, and what this answers:
  - DeviceInfo with VendorExtensionID 0x0000000B (Canon) and the EOS operations
    (SetRemoteMode 0x9114, SetEventMode 0x9115, GetEvent 0x9116, KeepDeviceOn
    0x911D, SetDevicePropValueEx 0x9110, GetViewFinderData 0x9153, RemoteRelease
    0x910F, EOS GetStorageIDs 0x9101): ptp2 then treats the body as an EOS
    (camera_prepare_canon_eos_capture; a model not starting "Canon EOS M").
  - No GetDevicePropDesc: EOS bodies report their properties through GetEvent
    polling, as records {u32 size, u32 type, ...} ended by {8, 0}:
    PropValueChanged (0xC189: u32 prop, u32 value) and AvailListChanged
    (0xC18A: u32 prop, u32 3, u32 count, u32 values[]). The first GetEvent after
    SetEventMode(1) carries every property; later ones only changes.
  - SetDevicePropValueEx (data {u32 12, u32 prop, u32 value}) sets one; the
    change is echoed as an event.
  - Live view: EVFOutputDevice (0xD1B0) with bit 1 (PC) set turns it on and
    routes it to the host; the mirror then moves and GetViewFinderData answers
    DeviceBusy (0x2019) for --mirror-ms; after that each call returns the next
    frame as blobs {u32 len, u32 type, data}: type 1 = the JPEG, then an
    information blob. With live view off it answers 0xA102 (not ready).
  - The body ends live view by itself after --lv-timeout seconds (and on the
    "droplv" command), between two frames: EVFOutputDevice goes back to 0 and
    the change is queued as an event. A host that polls events sees it at once.
  - Auto power-off: --auto-off seconds without KeepDeviceOn (libgphoto2 sends it
    with every preview and event poll) and the camera switches off: every
    connection closes and it stays off until the "poweron" command.
Written by hand from those sources (facts only), like ptpip_sim.py."""

import struct
import threading
import time

import ptpip_sim as sim

VENDOR_CANON = 0x0000000B
RC_DEVICE_BUSY, RC_CANON_NOT_READY = 0x2019, 0xA102

OP_EOS_GET_STORAGE_IDS, OP_EOS_GET_STORAGE_INFO = 0x9101, 0x9102
OP_EOS_REMOTE_RELEASE, OP_EOS_SET_PROP_EX = 0x910F, 0x9110
OP_EOS_SET_REMOTE_MODE, OP_EOS_SET_EVENT_MODE, OP_EOS_GET_EVENT = 0x9114, 0x9115, 0x9116
OP_EOS_KEEP_DEVICE_ON, OP_EOS_GET_VIEWFINDER_DATA = 0x911D, 0x9153

EC_EOS_PROP_VALUE_CHANGED, EC_EOS_AVAIL_LIST_CHANGED = 0xC189, 0xC18A

PROP_APERTURE, PROP_SHUTTER, PROP_ISO, PROP_WB = 0xD101, 0xD102, 0xD103, 0xD109
PROP_AUTO_POWER_OFF, PROP_EVF_OUTPUT, PROP_EVF_MODE = 0xD114, 0xD1B0, 0xD1B1
EVF_TFT, EVF_PC = 1, 2

BLOB_JPEG, BLOB_INFO = 1, 4


def record(rtype, *words):
    return struct.pack('<II', 8 + 4 * len(words), rtype) + b''.join(struct.pack('<I', w) for w in words)


class CanonEOS(sim.Camera):
    def __init__(self, args):
        super().__init__(args)
        # code: [value, allowed values or None]; EOS codes, 4 bytes each on the wire.
        self.props = {
            PROP_APERTURE: [0x28, [0x20, 0x23, 0x25, 0x28, 0x2B, 0x2D, 0x30]],
            PROP_SHUTTER: [0x68, [0x60, 0x63, 0x65, 0x68, 0x6B, 0x6D, 0x70]],
            PROP_ISO: [0x48, [0x48, 0x50, 0x58, 0x60, 0x68, 0x70]],
            PROP_WB: [0, [0, 1, 2, 3, 4, 5, 8]],
            PROP_AUTO_POWER_OFF: [int(args.auto_off), None],
            PROP_EVF_OUTPUT: [0, [0, EVF_TFT, EVF_PC, EVF_TFT | EVF_PC]],
            PROP_EVF_MODE: [0, [0, 1]],
        }
        self.events = []  # records not yet fetched by GetEvent
        self.mirror_until = 0.0
        self.lv_since = 0.0
        self.lv_drop = False   # end live view after the next frame
        self.last_keepalive = time.monotonic()
        self.keepalives = 0
        self.lv_starts = 0
        self.powered = True

    # ---- datasets ----

    def device_info(self):
        ops = [sim.OP_GET_DEVICE_INFO, sim.OP_OPEN_SESSION, sim.OP_CLOSE_SESSION, sim.OP_GET_STORAGE_IDS,
               OP_EOS_GET_STORAGE_IDS, OP_EOS_GET_STORAGE_INFO, OP_EOS_REMOTE_RELEASE, OP_EOS_SET_PROP_EX,
               OP_EOS_SET_REMOTE_MODE, OP_EOS_SET_EVENT_MODE, OP_EOS_GET_EVENT, OP_EOS_KEEP_DEVICE_ON,
               OP_EOS_GET_VIEWFINDER_DATA]
        return (struct.pack('<HIH', 100, VENDOR_CANON, 100) + sim.ptp_string('') +
                struct.pack('<H', 0) + sim.ptp_array16(ops) +
                sim.ptp_array16([EC_EOS_PROP_VALUE_CHANGED, EC_EOS_AVAIL_LIST_CHANGED]) +
                sim.ptp_array16([]) + sim.ptp_array16([0x3801]) + sim.ptp_array16([0x3801]) +
                sim.ptp_string('Canon Inc.') + sim.ptp_string(self.args.model) +
                sim.ptp_string('3-1.0.0') + sim.ptp_string('000000001'))

    def _queue_prop(self, code, with_list=False):
        value, allowed = self.props[code]
        self.events.append(record(EC_EOS_PROP_VALUE_CHANGED, code, value))
        if with_list and allowed:
            self.events.append(record(EC_EOS_AVAIL_LIST_CHANGED, code, 3, len(allowed), *allowed))

    def _event_data(self):
        with self.lock:
            data, self.events = b''.join(self.events), []
        return data + struct.pack('<II', 8, 0)

    # ---- live view ----

    def _set_output(self, value, why):
        old = self.props[PROP_EVF_OUTPUT][0]
        self.props[PROP_EVF_OUTPUT][0] = value
        if value & EVF_PC and not old & EVF_PC:
            self.mirror_until = time.monotonic() + self.args.mirror_ms / 1000.0
            self.lv_since = time.monotonic()
            self.lv_drop = False
            self.lv_starts += 1
            sim.say('LV start')
        elif old & EVF_PC and not value & EVF_PC:
            sim.say('LV end %s' % why)

    def drop_lv(self):
        """The body ends live view by itself (between two frames)."""
        self.lv_drop = True

    def session_closed(self):
        with self.lock:
            self.events = []
        if self.props[PROP_EVF_OUTPUT][0] & EVF_PC:
            self._set_output(0, 'session closed')

    def viewfinder_data(self):
        if not self.props[PROP_EVF_OUTPUT][0] & EVF_PC:
            time.sleep(0.01)
            return RC_CANON_NOT_READY, None
        if time.monotonic() < self.mirror_until:
            time.sleep(0.005)
            return RC_DEVICE_BUSY, None
        jpeg = self.paced_jpeg()
        info = struct.pack('<HH', self.width, self.height) + bytes(28)
        data = (struct.pack('<II', 8 + len(jpeg), BLOB_JPEG) + jpeg +
                struct.pack('<II', 8 + len(info), BLOB_INFO) + info)
        timeout = self.args.lv_timeout
        if self.lv_drop or (timeout and time.monotonic() - self.lv_since >= timeout):
            why = 'dropped' if self.lv_drop else 'timeout'
            with self.lock:
                self._set_output(0, why)
                self._queue_prop(PROP_EVF_OUTPUT)
        return sim.RC_OK, data

    # ---- operations ----

    def set_prop_ex(self, data):
        if data is None or len(data) < 12:
            return sim.RC_INVALID_VALUE
        size, code, value = struct.unpack_from('<III', data, 0)
        if code not in self.props or code == PROP_AUTO_POWER_OFF:
            return sim.RC_PROP_NOT_SUPPORTED if code not in self.props else sim.RC_INVALID_VALUE
        allowed = self.props[code][1]
        if allowed and value not in allowed:
            return sim.RC_INVALID_VALUE
        with self.lock:
            if code == PROP_EVF_OUTPUT:
                self._set_output(value, 'by the host')
            else:
                self.props[code][0] = value
            self._queue_prop(code)
        sim.say('SET 0x%04x %d' % (code, value))
        return sim.RC_OK

    def operation(self, code, params, data_in):
        if self.errors:
            return sim.RC_GENERAL, None, []
        if code == sim.OP_GET_DEVICE_INFO:
            return sim.RC_OK, self.device_info(), []
        if code == sim.OP_OPEN_SESSION:
            self.sessions += 1
            self.last_keepalive = time.monotonic()
            sim.say('SESSION open')
            return sim.RC_OK, None, []
        if code == sim.OP_CLOSE_SESSION:
            sim.say('SESSION close')
            return sim.RC_OK, None, []
        if code in (sim.OP_GET_STORAGE_IDS, OP_EOS_GET_STORAGE_IDS):
            return sim.RC_OK, struct.pack('<I', 0), []  # no card
        if code == OP_EOS_SET_REMOTE_MODE:
            sim.say('REMOTE %d' % (params[0] if params else 0))
            return sim.RC_OK, None, []
        if code == OP_EOS_SET_EVENT_MODE:
            if params and params[0] == 1:
                with self.lock:
                    self.events = []
                    for p in self.props:
                        self._queue_prop(p, with_list=True)
            return sim.RC_OK, None, []
        if code == OP_EOS_GET_EVENT:
            return sim.RC_OK, self._event_data(), []
        if code == OP_EOS_KEEP_DEVICE_ON:
            self.last_keepalive = time.monotonic()
            self.keepalives += 1
            return sim.RC_OK, None, []
        if code == OP_EOS_SET_PROP_EX:
            return self.set_prop_ex(data_in), None, []
        if code == OP_EOS_GET_VIEWFINDER_DATA:
            rc, data = self.viewfinder_data()
            return rc, data, []
        if code == OP_EOS_REMOTE_RELEASE:
            return sim.RC_OK, None, []
        return sim.RC_OP_NOT_SUPPORTED, None, []


def power_watchdog(cam, srv):
    """Switches the camera off after --auto-off seconds without KeepDeviceOn
    while a host is connected; "poweron" (stdin) switches it on again."""
    while not srv.stop:
        time.sleep(0.1)
        if not cam.powered or not cam.conns:
            cam.last_keepalive = time.monotonic()
            continue
        if time.monotonic() - cam.last_keepalive > cam.args.auto_off:
            cam.powered = False
            srv.power_off()


def start(cam, srv):
    if cam.args.auto_off:
        threading.Thread(target=power_watchdog, args=(cam, srv), daemon=True).start()
