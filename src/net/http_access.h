/* Access control at the HTTP door: the caller's rights from its
 * Authorization header or ?token= (net/auth.h), the 401/403 replies, the
 * Host header check (DNS rebinding) and CORS for configured origins. Used by
 * the HTTP server and the WHEP routes; on the event loop thread. */
#ifndef CR_NET_HTTP_ACCESS_H
#define CR_NET_HTTP_ACCESS_H

#include <event2/http.h>
#include <stdbool.h>

#include "core/config.h"

/* The rights req has on stream (NULL: on every stream). Without [auth]:
 * every right from loopback peers, view only from others (controls and
 * details stay local). Returns 0 or a CR_AUTH_* code (rights 0). */
int cr_http_rights(const struct cr_config_s *cfg, struct evhttp_request *req, const char *stream,
		   unsigned *rights);
/* True when req holds every right in need on stream; otherwise replies
 * 401 (with WWW-Authenticate) or 403 and returns false. */
bool cr_http_allowed(const struct cr_config_s *cfg, struct evhttp_request *req, const char *stream, unsigned need);
/* The same for the page (/ and /play/<stream>): its 401 is a small HTML form
 * that asks for the token once and opens the URL again with ?token=. */
bool cr_http_allowed_page(const struct cr_config_s *cfg, struct evhttp_request *req, const char *stream,
			  unsigned need);
/* True when the peer is a loopback address. */
bool cr_http_peer_loopback(struct evhttp_request *req);
/* False (after a 421 reply) when the Host header names a host this server
 * does not answer for: a DNS-rebinding page's. IP literals, localhost, the
 * listen host and [http] server_names pass. */
bool cr_http_host_ok(const struct cr_config_s *cfg, struct evhttp_request *req);
/* CORS headers when the request's Origin is in [http] cors_origins (echoed,
 * with Vary: Origin); none otherwise, so browsers keep other origins out. */
void cr_http_cors(const struct cr_config_s *cfg, struct evhttp_request *req);
/* The ?token= value of req, URL-decoded, into out ("" when none). */
void cr_http_query_token(struct evhttp_request *req, char *out, size_t size);

#endif
