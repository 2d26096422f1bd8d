/* The HTTP server: pages, JSON API, MJPEG, snapshots, metrics (and later the
 * WHEP endpoints). One libevent loop on its own thread. */
#ifndef CR_HTTP_H
#define CR_HTTP_H

#include <stddef.h>

#include "core/config.h"

struct cr_stream_s;
struct cr_http_s;

/* Binds cfg->http.listen and starts serving the given streams. */
struct cr_http_s *cr_http_start(const struct cr_config_s *cfg, struct cr_stream_s **streams,
				int n_streams, char *err, size_t errlen);
void cr_http_stop(struct cr_http_s *http);

/* Live reload (camrelay serve). A reload function runs on the HTTP loop
 * thread, where every reader of the stream list (HTTP, WHEP, RTSP) runs, so
 * they see the change between two events; it returns 0 or a negative errno
 * with msg saying what happened or why the config was refused. */
typedef int (*cr_http_reload_fn)(void *ctx, char *msg, size_t len);
/* Makes POST /api/reload (admin right) call fn; with HTTPS the certificate is
 * re-read first. */
void cr_http_set_reload(struct cr_http_s *h, cr_http_reload_fn fn, void *ctx);
/* From another thread (serve's SIGHUP): re-reads the certificate, runs the
 * reload function on the loop and waits for it; its result. */
int cr_http_reload(struct cr_http_s *h, char *msg, size_t len);
/* On the loop thread only (from a reload function): serves one more stream
 * over HTTP, WHEP and RTSP. -ENOSPC past CR_MAX_STREAMS. */
int cr_http_add_stream(struct cr_http_s *h, struct cr_stream_s *s);

/* A non-blocking listening TCP socket on "host:port", "[v6]:port" or
 * ":port" (HTTP and RTSP); -1 with the reason in err. */
int cr_net_listen_socket(const char *addr, char *err, size_t errlen);

#endif
