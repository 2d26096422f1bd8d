/* The HTTP server: listening socket, routing, the index page and error
 * replies. libevent's evhttp on one event loop thread; the API lives in
 * http_api.c, MJPEG and snapshots in http_mjpeg.c.
 *
 * Paths:
 *   /                          index page (live previews, state, links)
 *   /?action=stream|snapshot   mjpg-streamer compatibility (first stream)
 *   /stream, /snapshot, /state µStreamer compatibility (first stream)
 *   /mjpeg/NAME, /snapshot/NAME
 *   /api/streams[/NAME[/controls]]
 *   /api/sessions/ID           DELETE: end a WebRTC viewer (control right)
 *   /metrics                   Prometheus text format */
#include "net/http.h"

#include <errno.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hostport.h"
#include "core/log.h"
#include "net/http_access.h"
#include "net/http_conn.h"
#include "net/http_priv.h"
#include "net/rtsp.h"
#include "net/whep.h"

#define _ALL_METHODS \
	(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
	 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH)

static const char *const _reasons[][2] = {
	{"200", "OK"},
	{"400", "Bad Request"},
	{"401", "Unauthorized"},
	{"403", "Forbidden"},
	{"404", "Not Found"},
	{"405", "Method Not Allowed"},
	{"421", "Misdirected Request"},
	{"429", "Too Many Requests"},
	{"500", "Internal Server Error"},
	{"503", "Service Unavailable"},
};

static const char *_reason(int code)
{
	char c[8];
	snprintf(c, sizeof(c), "%d", code);
	for (size_t i = 0; i < sizeof(_reasons) / sizeof(_reasons[0]); i++)
		if (strcmp(_reasons[i][0], c) == 0)
			return _reasons[i][1];
	return "Error";
}

void cr_http_reply_text(struct evhttp_request *req, int code, const char *fmt, ...)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (code != 200)
		evbuffer_add_printf(b, "%d %s: ", code, _reason(code));
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
	evbuffer_add(b, "\n", 1);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, _reason(code), b);
	evbuffer_free(b);
}

int cr_http_stream_index(struct cr_http_s *h, const char *name)
{
	for (int i = 0; i < h->n_streams; i++)
		if (!cr_stream_removed(h->streams[i]) && strcmp(cr_stream_name(h->streams[i]), name) == 0)
			return i;
	return -1;
}

struct cr_encoder_cfg_s cr_http_mjpeg_encoder(const struct cr_http_s *h, int i)
{
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(h->streams[i]);
	struct cr_encoder_cfg_s e = {.present = true, .codec = CR_CODEC_MJPEG};
	e.quality = sc->mjpeg.quality > 0 ? sc->mjpeg.quality : 80;
	return e;
}

/* Lists only the streams the caller may see; without valid credentials a
 * 401, so that names cannot be probed. */
static void _no_stream(struct cr_http_s *h, struct evhttp_request *req, const char *name)
{
	char list[512] = "";
	size_t n = 0;
	unsigned rights;
	if (cr_http_rights(h->cfg, req, NULL, &rights) < 0) {
		cr_http_allowed(h->cfg, req, NULL, CR_RIGHT_VIEW);
		return;
	}
	for (int i = 0; i < h->n_streams && n < sizeof(list); i++)
		if (!cr_stream_removed(h->streams[i]) &&
		    cr_http_rights(h->cfg, req, cr_stream_name(h->streams[i]), &rights) == 0 &&
		    (rights & CR_RIGHT_VIEW))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
					      cr_stream_name(h->streams[i]));
	cr_http_reply_text(req, 404, "no stream \"%s\" (streams: %s)", name, n ? list : "none");
}

static bool _may(struct cr_http_s *h, struct evhttp_request *req, int i, unsigned need)
{
	return cr_http_allowed(h->cfg, req, i >= 0 ? cr_stream_name(h->streams[i]) : NULL, need);
}

static void _bad_method(struct evhttp_request *req, const char *path, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	cr_http_reply_text(req, 405, "%s accepts %s only", path, allow);
}

/* ---- routing ---- */

static bool _is_get(struct evhttp_request *req)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	return m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
}

/* "/prefix/NAME" → NAME (still encoded), or NULL. */
static const char *_after(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && path[n] ? path + n : NULL;
}

static void _stream_route(struct cr_http_s *h, struct evhttp_request *req, const char *path,
			  const char *enc_name, void (*fn)(struct cr_http_s *, struct evhttp_request *, int))
{
	char *name = evhttp_uridecode(enc_name, 0, NULL);
	if (!name) {
		cr_http_reply_text(req, 400, "cannot decode the stream name in %s", path);
		return;
	}
	int i = cr_http_stream_index(h, name);
	if (i < 0)
		_no_stream(h, req, name);
	else if (fn == cr_http_page ? !cr_http_allowed_page(h->cfg, req, cr_stream_name(h->streams[i]), CR_RIGHT_VIEW)
				    : !_may(h, req, i, CR_RIGHT_VIEW)) {
		/* replied */
	} else if (!_is_get(req))
		_bad_method(req, path, "GET, HEAD");
	else
		fn(h, req, i);
	free(name);
}

static void _api_route(struct cr_http_s *h, struct evhttp_request *req, const char *path)
{
	const char *rest = path + strlen("/api/streams");
	unsigned rights;
	if (*rest == 0 || strcmp(rest, "/") == 0) {
		if (cr_http_rights(h->cfg, req, NULL, &rights) < 0)
			cr_http_allowed(h->cfg, req, NULL, CR_RIGHT_VIEW); /* the 401 */
		else if (!_is_get(req))
			_bad_method(req, path, "GET, HEAD");
		else
			cr_http_api_streams(h, req, -1);
		return;
	}
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", rest + 1);
	bool controls = false, g2g = false;
	size_t n = strlen(buf);
	if (n > 9 && strcmp(buf + n - 9, "/controls") == 0) {
		buf[n - 9] = 0;
		controls = true;
	} else if (n > 4 && strcmp(buf + n - 4, "/g2g") == 0) {
		buf[n - 4] = 0; /* viewers' glass-to-glass reports (http_g2g.c) */
		g2g = true;
	}
	char *name = evhttp_uridecode(buf, 0, NULL);
	int i = name ? cr_http_stream_index(h, name) : -1;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if (!name)
		cr_http_reply_text(req, 400, "cannot decode the stream name in %s", path);
	else if (i < 0)
		_no_stream(h, req, name);
	else if (!_may(h, req, i, controls && !_is_get(req) ? CR_RIGHT_VIEW | CR_RIGHT_CONTROL : CR_RIGHT_VIEW)) {
		/* replied */
	} else if (g2g && m != EVHTTP_REQ_POST)
		_bad_method(req, path, "POST");
	else if (g2g)
		cr_http_g2g_post(h, req, i);
	else if (controls && !_is_get(req) && m != EVHTTP_REQ_POST && m != EVHTTP_REQ_PUT)
		_bad_method(req, path, "GET, HEAD, POST, PUT");
	else if (controls)
		cr_http_api_controls(h, req, i);
	else if (!_is_get(req))
		_bad_method(req, path, "GET, HEAD");
	else
		cr_http_api_streams(h, req, i);
	free(name);
}

static void _route(struct evhttp_request *req, void *arg)
{
	struct cr_http_s *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *s;
	if (!path || !*path)
		path = "/";
	/* Never the query: it may hold a ?token=. */
	CR_LOG_D("http", "%s %s%s", evhttp_request_get_command(req) == EVHTTP_REQ_GET ? "GET" : "(other)", path,
		 query ? "?..." : "");
	if (cr_http_conn_dispatched(h->conns, req, false))
		return; /* over a connection cap: answered */
	if (!cr_http_host_ok(h->cfg, req))
		return;
	cr_http_cors(h->cfg, req);

	if (strcmp(path, "/") == 0 || strcmp(path, "/stream") == 0 || strcmp(path, "/snapshot") == 0) {
		/* mjpg-streamer's /?action=stream|snapshot and µStreamer's paths: first stream. */
		const char *action = path[1] ? path + 1 : NULL;
		struct evkeyvalq q = {0}; /* an empty list; parse_query_str fills it */
		if (!action && query && evhttp_parse_query_str(query, &q) == 0)
			action = evhttp_find_header(&q, "action");
		char act[32];
		snprintf(act, sizeof(act), "%s", action ? action : "");
		evhttp_clear_headers(&q);
		unsigned rights;
		if (!_is_get(req)) {
			_bad_method(req, path, "GET, HEAD");
		} else if (!act[0]) {
			if (cr_http_rights(h->cfg, req, NULL, &rights) < 0)
				cr_http_allowed_page(h->cfg, req, NULL, CR_RIGHT_VIEW); /* the 401: a token form */
			else
				cr_http_page(h, req, -1);
		} else if (strcmp(act, "stream") != 0 && strcmp(act, "snapshot") != 0) {
			cr_http_reply_text(req, 400, "unknown action \"%s\" (allowed: stream, snapshot)", act);
		} else if (h->n_streams == 0) {
			cr_http_reply_text(req, 404, "no streams configured");
		} else if (!_may(h, req, 0, CR_RIGHT_VIEW)) {
		} else if (strcmp(act, "stream") == 0) {
			cr_http_mjpeg_start(h, req, 0);
		} else {
			cr_http_snapshot_start(h, req, 0);
		}
	} else if ((s = _after(path, "/mjpeg/"))) {
		_stream_route(h, req, path, s, cr_http_mjpeg_start);
	} else if ((s = _after(path, "/snapshot/"))) {
		_stream_route(h, req, path, s, cr_http_snapshot_start);
	} else if ((s = _after(path, "/play/"))) {
		_stream_route(h, req, path, s, cr_http_page);
	} else if (strcmp(path, "/api/time") == 0) {
		unsigned rights;
		if (!_is_get(req))
			_bad_method(req, path, "GET, HEAD");
		else if (cr_http_rights(h->cfg, req, NULL, &rights) < 0)
			cr_http_allowed(h->cfg, req, NULL, CR_RIGHT_VIEW); /* the 401 */
		else
			cr_http_time(req);
	} else if ((s = _after(path, "/sdp/"))) {
		_stream_route(h, req, path, s, cr_http_sdp_start);
	} else if (strncmp(path, "/api/streams", 12) == 0 && (path[12] == 0 || path[12] == '/')) {
		_api_route(h, req, path);
	} else if ((s = _after(path, "/api/sessions/"))) {
		cr_http_api_end_session(h, req, s);
	} else if (strcmp(path, "/api/reload") == 0) {
		if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
			_bad_method(req, path, "POST");
		else if (_may(h, req, -1, CR_RIGHT_ADMIN))
			cr_http_api_reload(h, req);
	} else if (strcmp(path, "/state") == 0) {
		if (!_is_get(req))
			_bad_method(req, path, "GET, HEAD");
		else if (h->n_streams == 0)
			cr_http_reply_text(req, 404, "no streams configured");
		else if (_may(h, req, 0, CR_RIGHT_VIEW))
			cr_http_ustreamer_state(h, req);
	} else if (strcmp(path, "/metrics") == 0) {
		if (!_is_get(req))
			_bad_method(req, path, "GET, HEAD");
		else if (_may(h, req, -1, CR_RIGHT_ADMIN))
			cr_http_metrics(h, req);
	} else {
		cr_http_reply_text(req, 404, "no such page: %s (see / for the list)", path);
	}
}

/* ---- listening ---- */

int cr_net_listen_socket(const char *addr, char *err, size_t errlen)
{
	char host[128], port[16];
	if (cr_hostport_split(addr, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen,
			 "listen address \"%s\" is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, "
			 ":8080)",
			 addr);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
			*res = NULL;
	int r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "listen address %s: cannot resolve \"%s\": %s", addr, host,
			 gai_strerror(r));
		return -1;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	if (e == EADDRINUSE)
		snprintf(err, errlen, "address %s is in use: is another camrelay running? (%s)", addr,
			 strerror(e));
	else if (e == EACCES)
		snprintf(err, errlen,
			 "cannot listen on %s: %s (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
			 addr, strerror(e));
	else if (e == EADDRNOTAVAIL)
		snprintf(err, errlen, "cannot listen on %s: %s (not an address of this machine)", addr,
			 strerror(e));
	else
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(e));
	return -1;
}

/* Every MJPEG client holds a socket: let the process have what the hard
 * limit allows (often 1024 soft against 500k+ hard). */
static void _raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max < (1 << 20) ? rl.rlim_max : (1 << 20);
		if (want > rl.rlim_cur) {
			rl.rlim_cur = want;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
}

static void _accept_resume(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/* Out of file descriptors, the listening socket stays readable and libevent
 * would retry accept() in a busy loop: pause accepting for a moment and say
 * why, at most every 10 s. */
static void _accept_error(struct evconnlistener *lev, void *arg)
{
	static int64_t last_log;
	int e = errno;
	int64_t now = cr_now_ns();
	if (now - last_log > 10000000000LL) {
		struct rlimit rl = {0};
		getrlimit(RLIMIT_NOFILE, &rl);
		CR_LOG_W("http", "cannot accept a connection: %s (open files limit %llu; raise it with "
				 "ulimit -n or LimitNOFILE=)",
			 strerror(e), (unsigned long long)rl.rlim_cur);
		last_log = now;
	}
	evconnlistener_disable(lev);
	struct timeval tv = {0, 200000};
	event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT, _accept_resume, lev, &tv);
}

/* Listening beyond loopback without [auth]: say who can now do what. */
static void _warn_exposed(const struct cr_config_s *cfg, const char *listen)
{
	char host[128], port[16];
	unsigned char a[16];
	if (cfg->auth.present || cr_hostport_split(listen, host, sizeof(host), port, sizeof(port)) < 0)
		return;
	if ((inet_pton(AF_INET, host, a) == 1 && a[0] == 127) || strcmp(host, "::1") == 0 ||
	    strcmp(host, "localhost") == 0)
		return;
	CR_LOG_W("http", "listening on %s without [auth]: anyone who can reach this port can watch every "
			 "stream; camera controls, /metrics and /api details stay limited to this machine "
			 "(loopback). Add an [auth] table (tokens, secret or accounts) before exposing it",
		 listen);
}

static void *_loop_thread(void *arg)
{
	struct cr_http_s *h = arg;
	event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

struct cr_http_s *cr_http_start(const struct cr_config_s *cfg, struct cr_stream_s **streams,
				int n_streams, char *err, size_t errlen)
{
	struct cr_http_s *h = calloc(1, sizeof(*h));
	int fd = -1;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->cfg = cfg;
	if (!(h->g2g = cr_http_g2g_new())) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->call_lock, NULL);
	pthread_cond_init(&h->call_done, NULL);
	h->n_streams = n_streams < CR_MAX_STREAMS ? n_streams : CR_MAX_STREAMS;
	for (int i = 0; i < h->n_streams; i++)
		h->streams[i] = streams[i];
	const char *listen = cfg->http.listen[0] ? cfg->http.listen : "127.0.0.1:8080";

	/* Subscribers' notify callbacks run on pipeline threads and wake this loop. */
	if (evthread_use_pthreads() < 0) {
		snprintf(err, errlen, "libevent: cannot enable thread support");
		goto error;
	}
	h->base = event_base_new();
	h->http = h->base ? evhttp_new(h->base) : NULL;
	if (!h->http) {
		snprintf(err, errlen, "libevent: cannot create the HTTP server");
		goto error;
	}
	evhttp_set_allowed_methods(h->http, _ALL_METHODS);
	evhttp_set_max_headers_size(h->http, 16384);
	evhttp_set_max_body_size(h->http, 65536);
	evhttp_set_timeout(h->http, 30);
	evhttp_set_gencb(h->http, _route, h);
	if (!(h->conns = cr_http_conns_new(h->base, h->http, cfg, err, errlen)))
		goto error;
	if (!(h->ctl = cr_http_ctl_new(h))) {
		snprintf(err, errlen, "cannot start the camera controls' thread");
		goto error;
	}
	if ((fd = cr_net_listen_socket(listen, err, errlen)) < 0)
		goto error;
	_raise_fd_limit();
	_warn_exposed(cfg, listen);
	struct evconnlistener *lev =
		evconnlistener_new(h->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!lev || !evhttp_bind_listener(h->http, lev)) {
		snprintf(err, errlen, "libevent: cannot accept on %s", listen);
		if (lev)
			evconnlistener_free(lev);
		else
			close(fd);
		goto error;
	}
	evconnlistener_set_error_cb(lev, _accept_error);
	/* WebRTC (WHEP) shares this loop; without its UDP port the rest still serves. */
	char werr[512];
	h->whep = cr_whep_attach(h->http, h->base, cfg, h->streams, h->n_streams, werr, sizeof(werr));
	if (!h->whep)
		CR_LOG_E("http", "WHEP disabled: %s", werr);
	else
		cr_whep_set_g2g(h->whep, cr_http_g2g_viewer, h);
	/* RTSP too. A port that was asked for must be had; the default one may
	 * be taken (another camrelay, MediaMTX): then HTTP serves without it. */
	h->rtsp = cr_rtsp_attach(h->base, cfg, h->streams, h->n_streams, werr, sizeof(werr));
	if (!h->rtsp && werr[0] && cfg->rtsp.listen[0]) {
		snprintf(err, errlen, "%s", werr);
		goto error;
	}
	if (!h->rtsp && werr[0])
		CR_LOG_W("rtsp", "RTSP disabled: %s (set [rtsp] listen, or enabled = false)", werr);
	if (pthread_create(&h->thread, NULL, _loop_thread, h) != 0) {
		snprintf(err, errlen, "cannot start the HTTP thread");
		goto error;
	}
	h->thread_started = true;
	return h;
error:
	cr_http_stop(h);
	return NULL;
}

/* ---- live reload ---- */

void cr_http_set_reload(struct cr_http_s *h, cr_http_reload_fn fn, void *ctx)
{
	h->reload_fn = fn;
	h->reload_ctx = ctx;
}

int cr_http_add_stream(struct cr_http_s *h, struct cr_stream_s *s)
{
	if (h->n_streams >= CR_MAX_STREAMS)
		return -ENOSPC;
	h->streams[h->n_streams++] = s;
	cr_whep_add_stream(h->whep, s);
	cr_rtsp_add_stream(h->rtsp, s);
	return 0;
}

struct _call_s {
	struct cr_http_s *h;
	char *msg;
	size_t len;
	int r;
	bool done;
};

static void _call_cb(evutil_socket_t fd, short what, void *arg)
{
	struct _call_s *c = arg;
	cr_http_conns_reload_tls(c->h->conns);
	c->r = c->h->reload_fn ? c->h->reload_fn(c->h->reload_ctx, c->msg, c->len) : 0;
	pthread_mutex_lock(&c->h->call_lock);
	c->done = true;
	pthread_cond_broadcast(&c->h->call_done);
	pthread_mutex_unlock(&c->h->call_lock);
}

int cr_http_reload(struct cr_http_s *h, char *msg, size_t len)
{
	struct _call_s c = {.h = h, .msg = msg, .len = len};
	const struct timeval now = {0, 0};
	if (len)
		msg[0] = 0;
	if (event_base_once(h->base, -1, EV_TIMEOUT, _call_cb, &c, &now) < 0) {
		snprintf(msg, len, "libevent: cannot reach the HTTP loop");
		return -EIO;
	}
	pthread_mutex_lock(&h->call_lock);
	while (!c.done)
		pthread_cond_wait(&h->call_done, &h->call_lock);
	pthread_mutex_unlock(&h->call_lock);
	return c.r;
}

/* Runs on the loop. event_base_loop clears the break flag when it starts,
 * so a loopbreak from another thread before the loop thread got there was
 * forgotten and stop hung in pthread_join (a SIGTERM right after start: seen
 * under load); an event stays pending until the loop runs it. */
static void _break_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

void cr_http_stop(struct cr_http_s *h)
{
	if (!h)
		return;
	if (h->thread_started) {
		const struct timeval now = {0, 0};
		if (event_base_once(h->base, -1, EV_TIMEOUT, _break_cb, h->base, &now) < 0)
			event_base_loopbreak(h->base);
		pthread_join(h->thread, NULL);
	}
	/* The loop has ended: this thread now owns its state. */
	cr_rtsp_detach(h->rtsp);
	cr_whep_detach(h->whep);
	cr_http_mjpeg_close_all(h);
	cr_http_sdp_stop(h);
	cr_http_ctl_free(h->ctl);
	if (h->http)
		evhttp_free(h->http);
	cr_http_conns_free(h->conns);
	if (h->base)
		event_base_free(h->base);
	pthread_cond_destroy(&h->call_done);
	pthread_mutex_destroy(&h->call_lock);
	cr_http_g2g_free(h->g2g);
	free(h);
}
