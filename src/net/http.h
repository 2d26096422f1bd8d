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

/* A non-blocking listening TCP socket on "host:port", "[v6]:port" or
 * ":port" (HTTP and RTSP); -1 with the reason in err. */
int cr_net_listen_socket(const char *addr, char *err, size_t errlen);

#endif
