"""A cheap IP camera for tests: MJPEG over HTTP (multipart/x-mixed-replace, as
most such cameras and mjpg-streamer serve it) at http://127.0.0.1:PORT/stream,
showing the simulator's picture (colour bars + frame counter, K pictures
rendered once and cycled). Stdlib + python3-pil. Written by hand: a test
fixture, not part of camrelay."""

import http.server
import io
import os
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'sim'))
import ptpip_sim  # noqa: E402

BOUNDARY = 'camrelayframe'


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class MjpegCamera:
    def __init__(self, port, w=320, h=240, fps=10, k=20):
        self.port, self.fps = port, fps
        base = ptpip_sim.picture_base(w, h)
        self.jpegs = []
        for i in range(k):
            out = io.BytesIO()
            ptpip_sim.picture(base, i, 'mjpeg camera %d' % i).save(out, 'JPEG', quality=90)
            self.jpegs.append(out.getvalue())
        self.srv = None
        self.stopped = threading.Event()
        # Pauses (seconds) to make in the middle of the next parts' JPEG data,
        # as a camera on a weak Wi-Fi link does; pauses_done counts them.
        self.pauses, self.pauses_done = [], 0

    def start(self):
        cam = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path != '/stream':
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'multipart/x-mixed-replace;boundary=' + BOUNDARY)
                self.send_header('Cache-Control', 'no-cache')
                self.end_headers()
                n, t = 0, time.monotonic()
                while not cam.stopped.is_set():
                    jpeg = cam.jpegs[n % len(cam.jpegs)]
                    part = ('--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n'
                            % (BOUNDARY, len(jpeg))).encode() + jpeg + b'\r\n'
                    try:
                        if cam.pauses:
                            half = len(part) - len(jpeg) // 2
                            self.wfile.write(part[:half])
                            self.wfile.flush()
                            time.sleep(cam.pauses.pop(0))
                            cam.pauses_done += 1
                            part = part[half:]
                            t = time.monotonic()
                        self.wfile.write(part)
                        self.wfile.flush()
                    except OSError:
                        return
                    n += 1
                    t += 1.0 / cam.fps
                    time.sleep(max(0, t - time.monotonic()))

        self.stopped.clear()
        self.srv = _Server(('127.0.0.1', self.port), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """The camera unplugged: the listener and every stream close."""
        self.stopped.set()
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None
