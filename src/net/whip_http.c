/* WHIP signalling (POST, PATCH, DELETE) over libevent's HTTP client (evhttp_connection /
 * evhttp_make_request); https through bufferevent_openssl (net/tls.h) with the
 * system's CA store and the URL's host checked. See whip.h. */
#include "net/whip.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/tls.h"

#define _MAX_BODY (64 * 1024)
#define _TIMEOUT_S 10

struct cr_whip_http_s {
	struct event_base *base;
	struct cr_tls_s *ssl_ctx;
	struct evhttp_connection *conn;
	struct evhttp_request *req; /* in flight */
	cr_whip_http_fn done;
	void *opaque;
	char url[512];
	enum evhttp_request_error error;
	bool errored;
};

struct cr_whip_http_s *cr_whip_http_new(struct event_base *base)
{
	struct cr_whip_http_s *h = calloc(1, sizeof(*h));
	if (h)
		h->base = base;
	return h;
}

static void _drop_conn(struct cr_whip_http_s *h)
{
	if (h->conn)
		evhttp_connection_free(h->conn); /* frees a request still queued, without its callback */
	h->conn = NULL;
	h->req = NULL;
}

void cr_whip_http_free(struct cr_whip_http_s *h)
{
	if (!h)
		return;
	_drop_conn(h);
	cr_tls_free(h->ssl_ctx);
	free(h);
}

bool cr_whip_http_busy(const struct cr_whip_http_s *h) { return h->req != NULL; }

static const char *_error_text(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		return "no answer within 10 s";
	case EVREQ_HTTP_EOF:
		return "the server closed the connection without an answer";
	case EVREQ_HTTP_INVALID_HEADER:
		return "the answer's headers are not HTTP";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "cannot connect (refused, unreachable, or the TLS handshake failed)";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "the answer is longer than 64 KiB";
	default:
		return "the request failed";
	}
}

static void _on_error(enum evhttp_request_error e, void *arg)
{
	struct cr_whip_http_s *h = arg;
	h->error = e;
	h->errored = true;
}

/* Location may be absolute, absolute-path or relative (RFC 9110 10.2.2). */
static void _resolve(const char *base, const char *loc, char *out, size_t n)
{
	if (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0) {
		snprintf(out, n, "%s", loc);
		return;
	}
	const char *host = strstr(base, "://");
	host = host ? host + 3 : base;
	const char *path = strchr(host, '/');
	size_t root = path ? (size_t)(path - base) : strlen(base);
	if (loc[0] == '/') {
		snprintf(out, n, "%.*s%s", (int)root, base, loc);
		return;
	}
	const char *q = strchr(base, '?'), *dir = NULL;
	for (const char *p = base + root; *p && (!q || p < q); p++)
		if (*p == '/')
			dir = p;
	size_t keep = dir ? (size_t)(dir - base) + 1 : root;
	snprintf(out, n, "%.*s%s%s", (int)keep, base, dir ? "" : "/", loc);
}

static void _copy_header(struct evkeyvalq *hd, const char *name, char *out, size_t n)
{
	const char *v = evhttp_find_header(hd, name);
	snprintf(out, n, "%s", v ? v : "");
}

static void _on_done(struct evhttp_request *req, void *arg)
{
	struct cr_whip_http_s *h = arg;
	struct cr_whip_reply_s *r = calloc(1, sizeof(*r));
	cr_whip_http_fn done = h->done;
	h->req = NULL;
	if (!r)
		return;
	r->status = req ? evhttp_request_get_response_code(req) : 0;
	if (r->status == 0) {
		snprintf(r->error, sizeof(r->error), "%s", h->errored ? _error_text(h->error) : "cannot connect (refused or unreachable)");
	} else {
		const char *reason = evhttp_request_get_response_code_line(req);
		snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
		struct evkeyvalq *hd = evhttp_request_get_input_headers(req);
		_copy_header(hd, "Content-Type", r->content_type, sizeof(r->content_type));
		_copy_header(hd, "ETag", r->etag, sizeof(r->etag));
		const char *loc = evhttp_find_header(hd, "Location");
		if (loc && loc[0])
			_resolve(h->url, loc, r->location, sizeof(r->location));
		struct evbuffer *b = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(b);
		r->body = malloc(len + 1);
		if (r->body) {
			evbuffer_copyout(b, r->body, len);
			r->body[len] = 0;
			r->body_len = strlen(r->body) < len ? strlen(r->body) : len;
		}
	}
	if (done)
		done(h->opaque, r);
	free(r->body);
	free(r);
}

static struct bufferevent *_tls_bev(struct cr_whip_http_s *h, const char *host, char *err, size_t errlen)
{
	if (!h->ssl_ctx && !(h->ssl_ctx = cr_tls_client_new(err, errlen)))
		return NULL;
	return cr_tls_connect_bev(h->ssl_ctx, h->base, host, err, errlen);
}

static int _connect(struct cr_whip_http_s *h, const struct evhttp_uri *u, char *err, size_t errlen)
{
	const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
	bool tls = scheme && strcasecmp(scheme, "https") == 0;
	if (!host || !*host || !scheme || (!tls && strcasecmp(scheme, "http") != 0)) {
		snprintf(err, errlen, "not an http:// or https:// URL with a host");
		return -EINVAL;
	}
	int port = evhttp_uri_get_port(u);
	if (port <= 0)
		port = tls ? 443 : 80;
	/* "[::1]" arrives without its brackets from evhttp_uri_get_host. */
	struct bufferevent *bev = tls ? _tls_bev(h, host, err, errlen) : NULL;
	if (tls && !bev)
		return -EPROTO;
	h->conn = evhttp_connection_base_bufferevent_new(h->base, NULL, bev, host, (unsigned short)port);
	if (!h->conn) {
		if (bev)
			bufferevent_free(bev);
		snprintf(err, errlen, "cannot create an HTTP connection");
		return -ENOMEM;
	}
	evhttp_connection_set_timeout(h->conn, _TIMEOUT_S);
	evhttp_connection_set_max_body_size(h->conn, _MAX_BODY);
	evhttp_connection_set_max_headers_size(h->conn, 16384);
	return 0;
}

int cr_whip_http_request(struct cr_whip_http_s *h, const char *method, const char *url, const char *token,
			 const char *ctype, const char *if_match, const char *body, size_t len, cr_whip_http_fn done,
			 void *opaque, char *err, size_t errlen)
{
	enum evhttp_cmd_type cmd = strcmp(method, "POST") == 0     ? EVHTTP_REQ_POST
				   : strcmp(method, "DELETE") == 0 ? EVHTTP_REQ_DELETE
								   : EVHTTP_REQ_PATCH;
	_drop_conn(h);
	snprintf(h->url, sizeof(h->url), "%s", url);
	h->done = done;
	h->opaque = opaque;
	h->errored = false;
	struct evhttp_uri *u = evhttp_uri_parse(url);
	if (!u) {
		snprintf(err, errlen, "cannot parse the URL");
		return -EINVAL;
	}
	int rc = _connect(h, u, err, errlen);
	if (rc < 0) {
		evhttp_uri_free(u);
		return rc;
	}
	char target[600];
	const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
	snprintf(target, sizeof(target), "%s%s%s", path && *path ? path : "/", query ? "?" : "", query ? query : "");
	struct evhttp_request *req = evhttp_request_new(_on_done, h);
	evhttp_request_set_error_cb(req, _on_error);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
	char hostport[300];
	int port = evhttp_uri_get_port(u);
	const char *host = evhttp_uri_get_host(u);
	bool v6 = strchr(host, ':') != NULL;
	if (port > 0)
		snprintf(hostport, sizeof(hostport), "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
	else
		snprintf(hostport, sizeof(hostport), "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
	evhttp_add_header(hd, "Host", hostport);
	evhttp_add_header(hd, "User-Agent", "camrelay");
	evhttp_add_header(hd, "Connection", "close");
	if (token && token[0]) {
		char auth[1100];
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		evhttp_add_header(hd, "Authorization", auth);
	}
	if (ctype)
		evhttp_add_header(hd, "Content-Type", ctype);
	if (if_match)
		evhttp_add_header(hd, "If-Match", if_match);
	if (body && len) {
		/* libevent adds Content-Length by itself for POST and PUT only */
		char cl[24];
		snprintf(cl, sizeof(cl), "%zu", len);
		evhttp_add_header(hd, "Content-Length", cl);
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	}
	evhttp_uri_free(u);
	h->req = req;
	if (evhttp_make_request(h->conn, req, cmd, target) != 0) {
		h->req = NULL; /* libevent freed it */
		snprintf(err, errlen, "cannot send the request");
		return -EIO;
	}
	return 0;
}
