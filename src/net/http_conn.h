/* The HTTP server's connections: HTTPS through libevent's bufferevent_openssl
 * when [http] tls_cert/tls_key are set (TLS 1.2 and 1.3; the PEM files are
 * read again on reload (SIGHUP); a plain HTTP request on the TLS port gets a plain
 * answer saying to use https://), and [limits] on connections: in total,
 * per client address, and a deadline for a request to arrive
 * (header_timeout), so trickling clients (slowloris) cannot hold sockets.
 * Refusals answer 503/429 with Retry-After, over TLS too (after the
 * handshake, within a budget: see http_conn.c).
 *
 * libevent 2.1's evhttp accepts by itself; this module sees each connection
 * through evhttp's bufferevent callback and tracks it by file descriptor
 * (checked against the peer address before it acts on one). Everything
 * runs on the HTTP event loop thread. */
#ifndef CR_NET_HTTP_CONN_H
#define CR_NET_HTTP_CONN_H

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

struct cr_http_conns_s;

/* Hooks into http (bevcb, a sweep timer). NULL with
 * a message (e.g. an unreadable certificate) on failure. */
struct cr_http_conns_s *cr_http_conns_new(struct event_base *base, struct evhttp *http,
					  const struct cr_config_s *cfg, char *err, size_t errlen);
void cr_http_conns_free(struct cr_http_conns_s *c);
/* A request of this connection reached a handler; long_lived: it now
 * streams (MJPEG) and the request deadline no longer applies. True when
 * the connection was over a cap (a TLS one, kept for its handshake): it
 * has been answered 503/429 with Retry-After, the handler does nothing. */
bool cr_http_conn_dispatched(struct cr_http_conns_s *c, struct evhttp_request *req, bool long_lived);
/* Reads tls_cert/tls_key again (SIGHUP, POST /api/reload; on the loop
 * thread); a pair that fails keeps the previous one, logged. No-op without TLS. */
void cr_http_conns_reload_tls(struct cr_http_conns_s *c);
/* Open connections, for /metrics. */
int cr_http_conns_open(const struct cr_http_conns_s *c);

#endif
