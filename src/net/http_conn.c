/* HTTPS and connection limits for the HTTP server; see http_conn.h. */
#include "net/http_conn.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/log.h"
#include "net/crypto.h"
#include "net/limits.h"
#include "net/tls.h"

/* Over a cap on the TLS port, a connection still gets its handshake and a
 * 503/429 with Retry-After in the TLS stream, as plain HTTP gets one on the
 * socket: at most _REFUSING such connections at once, each for at most
 * _REFUSE_BUDGET_NS (beyond either: closed at once, as before). A handshake
 * costs a signature: this bounds what refusing can cost. */
#define _REFUSING 64
#define _REFUSE_BUDGET_NS 2000000000LL

struct _conn_s {
	bool used, long_lived;
	bool answering; /* a request dispatched, its response not yet all written */
	int refuse; /* 1 + the cr_limit_e it is refused for; 0: admitted */
	struct sockaddr_in6 peer; /* IPv4 peers v4-mapped */
	int64_t since_ns;         /* accepted, or its last request dispatched */
};

struct cr_http_conns_s {
	struct event_base *base;
	const struct cr_config_s *cfg;
	struct cr_tls_s *ssl; /* NULL: plain HTTP */
	struct event *check, *sweep;
	struct bufferevent **fresh; /* accepted, not yet checked against the caps */
	int n_fresh, cap_fresh;
	struct _conn_s *conns; /* by file descriptor */
	int cap, n_open;
	int n_refusing; /* TLS connections being refused (handshake, then 503/429) */
};

/* One HTTP server per process: the WHEP routes reach it through this. */
static struct cr_http_conns_s *_current;

void cr_http_conns_reload_tls(struct cr_http_conns_s *c)
{
	if (!c || !c->ssl)
		return;
	char err[512];
	struct cr_tls_s *ctx = cr_tls_server_new(c->cfg->http.tls_cert, c->cfg->http.tls_key, err, sizeof(err));
	if (!ctx) {
		CR_LOG_E("http", "SIGHUP: %s; still serving the previous certificate", err);
		return;
	}
	cr_tls_free(c->ssl); /* connections keep their own reference */
	c->ssl = ctx;
	CR_LOG_I("http", "SIGHUP: certificate %s re-read", c->cfg->http.tls_cert);
}

static struct bufferevent *_new_bev(struct event_base *base, void *arg)
{
	struct cr_http_conns_s *c = arg;
	struct bufferevent *bev;
	if (c->ssl)
		bev = cr_tls_accept_bev(c->ssl, base);
	else
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	/* evhttp gives it the socket after this returns; the check runs before
	 * the loop polls again, so before anything can free it. */
	if (c->n_fresh == c->cap_fresh) {
		int n = c->cap_fresh ? c->cap_fresh * 2 : 64;
		struct bufferevent **f = realloc(c->fresh, sizeof(*f) * (size_t)n);
		if (!f)
			return bev;
		c->fresh = f;
		c->cap_fresh = n;
	}
	c->fresh[c->n_fresh++] = bev;
	event_active(c->check, EV_TIMEOUT, 0);
	return bev;
}

static bool _peer(int fd, struct sockaddr_in6 *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
		out->sin6_addr.s6_addr[10] = out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
		out->sin6_port = s4->sin_port;
	} else if (ss.ss_family == AF_INET6) {
		memcpy(out, &ss, sizeof(*out));
	} else {
		return false;
	}
	return true;
}

static bool _grow(struct cr_http_conns_s *c, int fd)
{
	if (fd < c->cap)
		return true;
	int n = c->cap ? c->cap : 256;
	while (n <= fd)
		n *= 2;
	struct _conn_s *m = realloc(c->conns, sizeof(*m) * (size_t)n);
	if (!m)
		return false;
	memset(m + c->cap, 0, sizeof(*m) * (size_t)(n - c->cap));
	c->conns = m;
	c->cap = n;
	return true;
}

/* A descriptor's old entry (its connection closed, the number reused) is
 * no longer counted. */
static void _forget(struct cr_http_conns_s *c, int fd)
{
	struct _conn_s *k = &c->conns[fd];
	if (k->used && k->refuse)
		c->n_refusing--;
	else if (k->used)
		c->n_open--;
	k->used = false;
}

/* Over a cap: a plain answer when the connection is plain HTTP, then the
 * socket is shut down (evhttp sees the end and frees it). Over TLS, while
 * the budget allows, the connection is kept for its handshake and its first
 * request is answered (cr_http_conn_dispatched). */
static void _refuse(struct cr_http_conns_s *c, int fd, enum cr_limit_e why, const char *detail, int64_t now,
		    const struct sockaddr_in6 *peer)
{
	cr_limit_refused(why, detail);
	if (c->ssl && c->n_refusing < _REFUSING) {
		_forget(c, fd);
		c->n_refusing++;
		c->conns[fd] = (struct _conn_s){.used = true, .refuse = 1 + (int)why, .peer = *peer, .since_ns = now};
		return;
	}
	if (!c->ssl) {
		char msg[256];
		int code = why == CR_LIMIT_HTTP_PER_IP ? 429 : 503;
		int n = snprintf(msg, sizeof(msg),
				 "HTTP/1.1 %d %s\r\nRetry-After: %d\r\nContent-Type: text/plain\r\nConnection: close\r\n"
				 "Content-Length: %zu\r\n\r\n%s\n",
				 code, code == 429 ? "Too Many Requests" : "Service Unavailable", code == 429 ? 30 : 10,
				 strlen(detail) + 1, detail);
		if (send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* nothing more to do: the socket goes down anyway */
		}
	}
	shutdown(fd, SHUT_RDWR);
}

static void _on_check(evutil_socket_t unused, short what, void *arg)
{
	struct cr_http_conns_s *c = arg;
	const struct cr_limits_cfg_s *l = &c->cfg->limits;
	int64_t now = cr_now_ns();
	for (int i = 0; i < c->n_fresh; i++) {
		int fd = (int)bufferevent_getfd(c->fresh[i]);
		struct sockaddr_in6 peer;
		if (fd < 0 || !_peer(fd, &peer) || !_grow(c, fd))
			continue;
		int same = 0;
		for (int k = 0; k < c->cap; k++)
			same += c->conns[k].used && !c->conns[k].refuse && k != fd &&
				IN6_ARE_ADDR_EQUAL(&c->conns[k].peer.sin6_addr, &peer.sin6_addr);
		if (c->n_open >= cr_limit(l, CR_LIMIT_HTTP_CONNECTIONS)) {
			_refuse(c, fd, CR_LIMIT_HTTP_CONNECTIONS, "too many HTTP connections; try again later", now, &peer);
		} else if (same >= cr_limit(l, CR_LIMIT_HTTP_PER_IP)) {
			_refuse(c, fd, CR_LIMIT_HTTP_PER_IP, "too many HTTP connections from this address", now, &peer);
		} else {
			_forget(c, fd);
			c->n_open++;
			c->conns[fd] = (struct _conn_s){.used = true, .peer = peer, .since_ns = now};
		}
	}
	c->n_fresh = 0;
}

/* Once a second: forget closed connections (the descriptor's peer is gone
 * or another), and shut down those that sent no complete request within
 * header_timeout of being accepted or of their last request. */
static void _on_sweep(evutil_socket_t unused, short what, void *arg)
{
	struct cr_http_conns_s *c = arg;
	int64_t now = cr_now_ns(), deadline = cr_limit(&c->cfg->limits, CR_LIMIT_HEADER_TIMEOUT) * 1000000000LL;
	for (int fd = 0; fd < c->cap; fd++) {
		struct _conn_s *k = &c->conns[fd];
		struct sockaddr_in6 peer;
		if (!k->used)
			continue;
		bool gone = !_peer(fd, &peer) || !IN6_ARE_ADDR_EQUAL(&peer.sin6_addr, &k->peer.sin6_addr) ||
			    peer.sin6_port != k->peer.sin6_port;
		if (k->refuse) {
			/* Answered and closed, or out of its budget. */
			if (!gone && now - k->since_ns <= _REFUSE_BUDGET_NS)
				continue;
			if (!gone)
				shutdown(fd, SHUT_RDWR);
			_forget(c, fd);
		} else if (gone) {
			_forget(c, fd);
		} else if (!k->long_lived && !k->answering && now - k->since_ns > deadline) {
			cr_limit_refused(CR_LIMIT_HEADER_TIMEOUT, "no complete request in time; connection closed");
			shutdown(fd, SHUT_RDWR);
			k->used = false;
			c->n_open--;
		}
	}
}

static int _req_fd(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	return bev ? (int)bufferevent_getfd(bev) : -1;
}

/* The response is all written: header_timeout counts again, for the next
 * request on the connection. While it is being written, header_timeout does
 * not apply (a large /api/streams to a reader on a busy server took longer
 * than 10 s and was cut off); evhttp's own write timeout (http.c) bounds a
 * reader that takes nothing. */
static void _answered(struct evhttp_request *req, void *arg)
{
	struct cr_http_conns_s *c = arg;
	int fd = _req_fd(req);
	if (fd < 0 || fd >= c->cap || !c->conns[fd].used)
		return;
	c->conns[fd].answering = false;
	c->conns[fd].since_ns = cr_now_ns();
}

bool cr_http_conn_dispatched(struct cr_http_conns_s *c, struct evhttp_request *req, bool long_lived)
{
	c = c ? c : _current;
	int fd = _req_fd(req);
	if (!c || fd < 0 || fd >= c->cap || !c->conns[fd].used)
		return false;
	if (c->conns[fd].refuse) {
		/* Counted when it was accepted; its one answer, then the end. */
		enum cr_limit_e why = (enum cr_limit_e)(c->conns[fd].refuse - 1);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		cr_limit_answer(req, why, why == CR_LIMIT_HTTP_PER_IP ? "too many HTTP connections from this address"
								     : "too many HTTP connections; try again later");
		return true;
	}
	c->conns[fd].since_ns = cr_now_ns();
	c->conns[fd].long_lived |= long_lived;
	c->conns[fd].answering = true;
	evhttp_request_set_on_complete_cb(req, _answered, c);
	return false;
}

int cr_http_conns_open(const struct cr_http_conns_s *c) { return c ? c->n_open : 0; }

struct cr_http_conns_s *cr_http_conns_new(struct event_base *base, struct evhttp *http,
					  const struct cr_config_s *cfg, char *err, size_t errlen)
{
	struct cr_http_conns_s *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base = base;
	c->cfg = cfg;
	/* TLS and every access check need the crypto module (net/crypto.h):
	 * loaded here, at start, so that a missing one stops serve at once. */
	if ((cfg->http.tls_cert[0] || cfg->auth.present) && !cr_crypto_load(err, errlen))
		goto error;
	if (cfg->http.tls_cert[0] && !(c->ssl = cr_tls_server_new(cfg->http.tls_cert, cfg->http.tls_key, err, errlen)))
		goto error;
	c->check = event_new(base, -1, 0, _on_check, c);
	c->sweep = event_new(base, -1, EV_PERSIST, _on_sweep, c);
	struct timeval second = {1, 0};
	if (!c->check || !c->sweep || event_add(c->sweep, &second) < 0) {
		snprintf(err, errlen, "libevent: cannot set up the HTTP connection checks");
		goto error;
	}
	evhttp_set_bevcb(http, _new_bev, c);
	_current = c;
	return c;
error:
	cr_http_conns_free(c);
	return NULL;
}

void cr_http_conns_free(struct cr_http_conns_s *c)
{
	if (!c)
		return;
	if (_current == c)
		_current = NULL;
	if (c->check)
		event_free(c->check);
	if (c->sweep)
		event_free(c->sweep);
	cr_tls_free(c->ssl);
	free(c->fresh);
	free(c->conns);
	free(c);
}
