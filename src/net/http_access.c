/* Access control at the HTTP door; see http_access.h. */
#include "net/http_access.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/auth.h"

void cr_http_query_token(struct evhttp_request *req, char *out, size_t size)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq q = {0};
	out[0] = 0;
	if (!query || !strstr(query, "token=") || evhttp_parse_query_str(query, &q) < 0)
		return;
	const char *t = evhttp_find_header(&q, "token");
	if (t && strlen(t) < size)
		snprintf(out, size, "%s", t);
	evhttp_clear_headers(&q);
}

static bool _loopback_text(const char *a)
{
	struct in6_addr v6;
	struct in_addr v4;
	if (inet_pton(AF_INET, a, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, a, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6) ||
		       (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
	return false;
}

bool cr_http_peer_loopback(struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port = 0;
	if (!c)
		return false;
	evhttp_connection_get_peer(c, (char **)&addr, &port);
	return addr && _loopback_text(addr);
}

int cr_http_rights(const struct cr_config_s *cfg, struct evhttp_request *req, const char *stream,
		   unsigned *rights)
{
	if (!cfg->auth.present) {
		*rights = cr_http_peer_loopback(req) ? CR_RIGHTS_ALL : CR_RIGHT_VIEW;
		return 0;
	}
	char token[4097];
	cr_http_query_token(req, token, sizeof(token));
	const char *authz = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	int rc = cr_auth_check(&cfg->auth, authz, token[0] ? token : NULL, stream, (int64_t)time(NULL), rights);
	memset(token, 0, sizeof(token));
	return rc;
}

static void _reply(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	if (b)
		evbuffer_add_printf(b, "%d %s: %s\n", code, reason, text);
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

static const char *_right_name(unsigned need)
{
	return need & CR_RIGHT_ADMIN ? "admin" : need & CR_RIGHT_CONTROL ? "control" : "view";
}

/* The 401 of the page's routes: a browser that opens / or /play/<stream>
 * without a token gets a form that asks for it once (kept in the tab's
 * sessionStorage, as the page keeps it) and opens the same URL with
 * ?token=; nothing of the streams is in it. */
static void _login_page(struct evhttp_request *req, const char *problem)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	if (b) {
		evbuffer_add_printf(
			b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>camrelay: token needed</title>\n"
			   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\n<body>\n"
			   "<form id=\"login\">This server needs a token: <input type=\"password\" "
			   "autocomplete=\"current-password\" autofocus> <button>use it</button></form>\n<p class=\"why\">401 "
			   "Unauthorized: ");
		for (const char *c = problem; *c; c++) /* fixed texts of net/auth.c, escaped all the same */
			evbuffer_add_printf(b, *c == '<' ? "&lt;" : *c == '&' ? "&amp;" : "%c", *c);
		evbuffer_add_printf(
			b, "</p>\n<script>\n'use strict';\nconst f = document.getElementById('login'), q = new URLSearchParams(location.search);\n"
			   "const go = t => { q.set('token', t); location.replace(location.pathname + '?' + q); };\n"
			   "const kept = sessionStorage.getItem('camrelay-token');\n"
			   "if (kept && !q.has('token')) go(kept);\n"
			   "f.onsubmit = e => { e.preventDefault(); const t = f.querySelector('input').value.trim();\n"
			   "  if (t) { sessionStorage.setItem('camrelay-token', t); go(t); } };\n"
			   "</script></body></html>\n");
	}
	evhttp_send_reply(req, 401, "Unauthorized", b);
	if (b)
		evbuffer_free(b);
}

static bool _allowed(const struct cr_config_s *cfg, struct evhttp_request *req, const char *stream, unsigned need,
		     bool page)
{
	unsigned rights = 0;
	int rc = cr_http_rights(cfg, req, stream, &rights);
	if (rc == 0 && (rights & need) == need)
		return true;
	char msg[256];
	if (rc < 0) {
		struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
		evhttp_add_header(hdr, "WWW-Authenticate",
				  rc == CR_AUTH_NONE ? "Bearer realm=\"camrelay\""
						     : "Bearer realm=\"camrelay\", error=\"invalid_token\"");
		if (cfg->auth.n_accounts)
			evhttp_add_header(hdr, "WWW-Authenticate", "Basic realm=\"camrelay\", charset=\"UTF-8\"");
		if (page)
			_login_page(req, cr_auth_problem(rc));
		else
			_reply(req, 401, "Unauthorized", cr_auth_problem(rc));
		return false;
	}
	if (!cfg->auth.present)
		snprintf(msg, sizeof(msg),
			 "the %s right is only given to this machine (loopback) while no [auth] is configured",
			 _right_name(need & ~rights));
	else
		snprintf(msg, sizeof(msg), "these credentials do not give the %s right on %s%s%s",
			 _right_name(need & ~rights), stream ? "stream \"" : "every stream", stream ? stream : "",
			 stream ? "\"" : "");
	_reply(req, 403, "Forbidden", msg);
	return false;
}

bool cr_http_allowed(const struct cr_config_s *cfg, struct evhttp_request *req, const char *stream, unsigned need)
{
	return _allowed(cfg, req, stream, need, false);
}

bool cr_http_allowed_page(const struct cr_config_s *cfg, struct evhttp_request *req, const char *stream,
			  unsigned need)
{
	return _allowed(cfg, req, stream, need, true);
}

/* The host part of a Host header value ("[::1]:8080" → "::1"), or NULL. */
static bool _host_part(const char *v, char *out, size_t size)
{
	const char *end;
	if (v[0] == '[') {
		end = strchr(v, ']');
		if (!end)
			return false;
		v++;
	} else {
		end = strrchr(v, ':');
		end = end ? end : v + strlen(v);
	}
	if ((size_t)(end - v) >= size)
		return false;
	snprintf(out, size, "%.*s", (int)(end - v), v);
	return true;
}

bool cr_http_host_ok(const struct cr_config_s *cfg, struct evhttp_request *req)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	char h[256], listen[256];
	unsigned char addr[16];
	if (!host)
		return true; /* HTTP/1.0 without Host: no browser sends that */
	if (_host_part(host, h, sizeof(h))) {
		/* Rebinding needs a name: an address literal cannot be rebound. */
		if (inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1 ||
		    strcasecmp(h, "localhost") == 0)
			return true;
		if (_host_part(cfg->http.listen, listen, sizeof(listen)) && strcasecmp(h, listen) == 0)
			return true;
		for (int i = 0; i < cfg->http.n_server_names; i++)
			if (strcasecmp(h, cfg->http.server_names[i]) == 0)
				return true;
	}
	char msg[400];
	snprintf(msg, sizeof(msg),
		 "this server does not answer for host \"%.200s\" (add it to [http] server_names if it is "
		 "this machine's name)",
		 host);
	_reply(req, 421, "Misdirected Request", msg);
	return false;
}

void cr_http_cors(const struct cr_config_s *cfg, struct evhttp_request *req)
{
	const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Vary", "Origin");
	for (int i = 0; origin && i < cfg->http.n_cors_origins; i++) {
		if (strcmp(origin, cfg->http.cors_origins[i]) != 0)
			continue;
		evhttp_add_header(h, "Access-Control-Allow-Origin", cfg->http.cors_origins[i]);
		evhttp_add_header(h, "Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
		evhttp_add_header(h, "Access-Control-Allow-Headers", "Content-Type, Authorization, If-Match");
		evhttp_add_header(h, "Access-Control-Expose-Headers", "Location, ETag, Accept-Patch, X-Viewer-Id");
		return;
	}
}
