/* MJPEG over HTTP (multipart/x-mixed-replace) and single snapshots.
 *
 * Every client is an encoded subscriber of its stream with the stream's
 * MJPEG settings, so the stream core encodes each frame once however many
 * clients watch. The subscriber's notify (on the encoder thread) only
 * activates the client's event; everything else happens on the loop thread.
 *
 * A stream takes over the connection's bufferevent and writes a plain
 * (non-chunked) HTTP/1.0 multipart body itself, as µStreamer does, so
 * clients that expect mjpg-streamer's format work. JPEGs go into the output
 * buffer by reference (evbuffer_add_reference) holding a packet reference:
 * no copy. A client with two frames still unwritten gets no more until they
 * drain: the frames it misses are counted as its drops, and a stalled
 * client costs at most two packets of memory. A frame counts as delivered
 * when its last byte has gone to the socket; one still unwritten when the
 * client goes counts as dropped. */
#include <errno.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "net/http_conn.h"
#include "net/http_priv.h"
#include "net/limits.h"

#define _BOUNDARY "boundarydonotcross"
#define _MAX_INFLIGHT 2
#define _SNAPSHOT_TIMEOUT_S 5
#define _WRITE_TIMEOUT_S 30

/* One JPEG in a client's output buffer. Allocated on its own: the buffer
 * (and so the cleanup call) can outlive the client, since a socket
 * bufferevent is finalised after evhttp_connection_free() returns and its
 * output cannot be drained from outside. */
struct _slot_s {
	struct _mjpeg_client_s *client; /* NULL once the client has closed */
	struct cr_packet_s *pkt;
};

struct _mjpeg_client_s {
	struct cr_http_s *h;
	int stream;
	struct evhttp_connection *conn;
	struct bufferevent *bev;
	struct cr_sub_s *sub;
	struct event *wake;
	struct _slot_s *slots[_MAX_INFLIGHT];
	int inflight;
	int64_t interval_ns, last_ts;
	struct _mjpeg_client_s *next;
};

/* A client that goes away while waiting is no matter: libevent detaches the
 * request from the dead connection, and replying to it then just frees it. */
struct _snapshot_s {
	struct cr_http_s *h;
	int stream;
	struct evhttp_request *req;
	struct cr_sub_s *sub;
	struct event *wake, *timeout;
	struct _snapshot_s *next;
};

/* Pipeline thread: wake the loop. The stream core never calls this after
 * cr_stream_unsubscribe() has returned. */
static void _notify(void *opaque)
{
	event_active(opaque, EV_READ, 0);
}

static double _wallclock_s(int64_t ts_mono_ns)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	int64_t now_rt = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec;
	return (double)(now_rt - (cr_now_ns() - ts_mono_ns)) / 1e9;
}

static void _peer_name(struct evhttp_connection *conn, const char *what, char *out, size_t n)
{
	char *addr = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(conn, &addr, &port);
	snprintf(out, n, "%s %s%s%s:%u", what, addr && strchr(addr, ':') ? "[" : "", addr ? addr : "?",
		 addr && strchr(addr, ':') ? "]" : "", port);
}

static struct cr_sub_s *_subscribe(struct cr_http_s *h, int stream, struct event *wake, int depth,
				   const char *name)
{
	struct cr_sub_req_s req = {
		.kind = CR_SUB_ENCODED,
		.encoder = cr_http_mjpeg_encoder(h, stream),
		.depth = depth,
		.notify = _notify,
		.opaque = wake,
		.name = name,
	};
	return cr_stream_subscribe(h->streams[stream], &req);
}

/* ---- MJPEG streams ---- */

static void _client_close(struct _mjpeg_client_s *c)
{
	struct cr_http_s *h = c->h;
	for (struct _mjpeg_client_s **p = &h->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	CR_LOG_D("http", "mjpeg client of %s gone", cr_stream_name(h->streams[c->stream]));
	for (int i = 0; i < _MAX_INFLIGHT; i++)
		if (c->slots[i]) {
			c->slots[i]->client = NULL; /* freed unwritten with the connection */
			cr_sub_drop(c->sub);
		}
	cr_stream_unsubscribe(c->sub);
	event_free(c->wake);
	evhttp_connection_free(c->conn);
	free(c);
}

/* The JPEG of a slot has left the output buffer (written, or dropped at close). */
static void _slot_done(const void *data, size_t len, void *extra)
{
	struct _slot_s *slot = extra;
	struct _mjpeg_client_s *c = slot->client;
	if (c) {
		cr_sub_sent(c->sub, slot->pkt->ts_capture_ns);
		for (int i = 0; i < _MAX_INFLIGHT; i++)
			if (c->slots[i] == slot)
				c->slots[i] = NULL;
		c->inflight--;
		event_active(c->wake, EV_READ, 0); /* what waits in the queue goes next */
	}
	cr_packet_unref(slot->pkt);
	free(slot);
}

static void _client_write(struct _mjpeg_client_s *c, struct cr_packet_s *p)
{
	int free_i = -1;
	for (int i = 0; i < _MAX_INFLIGHT && free_i < 0; i++)
		if (!c->slots[i])
			free_i = i;
	struct _slot_s *slot = free_i >= 0 ? malloc(sizeof(*slot)) : NULL;
	if (!slot) { /* out of memory (a full client never gets here) */
		cr_sub_drop(c->sub);
		cr_packet_unref(p);
		return;
	}
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add_printf(out,
			    "Content-Type: image/jpeg\r\nContent-Length: %zu\r\nX-Timestamp: %.06f\r\n\r\n",
			    p->size, _wallclock_s(p->ts_capture_ns));
	slot->client = c;
	slot->pkt = p;
	c->slots[free_i] = slot;
	c->inflight++;
	if (evbuffer_add_reference(out, p->data, p->size, _slot_done, slot) < 0) {
		slot->client = NULL;
		c->slots[free_i] = NULL;
		c->inflight--;
		_slot_done(NULL, 0, slot);
		cr_sub_drop(c->sub);
		return;
	}
	evbuffer_add(out, "\r\n--" _BOUNDARY "\r\n", strlen("\r\n--" _BOUNDARY "\r\n"));
	c->last_ts = p->ts_capture_ns;
}

static void _client_wake(evutil_socket_t fd, short what, void *arg)
{
	struct _mjpeg_client_s *c = arg;
	struct cr_packet_s *p;
	/* With _MAX_INFLIGHT pictures not yet in the socket, the rest wait in
	 * the subscriber's queue, whose depth bounds what a slow client costs:
	 * it keeps the newest (2 of a device's, 10 of a URL camera's burst) and
	 * counts the older ones dropped, so what such a client gets next is at
	 * most that many pictures old. (Dropping here instead lost the third
	 * picture of every burst: two written in one wake-up are both still in
	 * the output buffer.) */
	while (c->inflight < _MAX_INFLIGHT && (p = cr_sub_pop(c->sub, 0))) {
		if (c->interval_ns && c->last_ts &&
		    p->ts_capture_ns - c->last_ts < c->interval_ns - c->interval_ns / 4)
			cr_packet_unref(p); /* above the configured MJPEG rate: not a drop */
		else
			_client_write(c, p);
	}
}

static void _client_read(struct bufferevent *bev, void *arg)
{
	/* The client has nothing more to say; don't let it fill our memory. */
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void _client_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		_client_close(arg);
}

void cr_http_mjpeg_start(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD || !conn) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "multipart/x-mixed-replace;boundary=" _BOUNDARY);
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	int n = 0, cap = cr_limit(&h->cfg->limits, CR_LIMIT_MJPEG_PER_STREAM);
	for (struct _mjpeg_client_s *o = h->clients; o; o = o->next)
		n += o->stream == stream;
	if (n >= cap) {
		char msg[128];
		snprintf(msg, sizeof(msg), "stream \"%s\" has %d MJPEG clients already", cr_stream_name(h->streams[stream]),
			 n);
		cr_limit_reply(req, CR_LIMIT_MJPEG_PER_STREAM, msg);
		return;
	}
	struct _mjpeg_client_s *c = calloc(1, sizeof(*c));
	if (!c) {
		cr_http_reply_text(req, 500, "out of memory");
		return;
	}
	c->h = h;
	c->stream = stream;
	c->conn = conn;
	c->bev = evhttp_connection_get_bufferevent(conn);
	/* Each part leaves when it is ready. With Nagle a part waits while the
	 * previous one is unacknowledged (and the viewer delays its ACK): on a
	 * link with 100 ms each way (page-vm's netem check) glass-to-glass rose
	 * by 214 ms instead of 100. */
	int one = 1;
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		CR_LOG_D("http", "TCP_NODELAY on an MJPEG connection: %s", strerror(errno));
	int fps = cr_stream_cfg(h->streams[stream])->mjpeg.fps;
	c->interval_ns = fps > 0 ? 1000000000LL / fps : 0;
	char name[96];
	_peer_name(conn, "mjpeg", name, sizeof(name));
	c->wake = event_new(h->base, -1, 0, _client_wake, c);
	if (c->wake)
		c->sub = _subscribe(h, stream, c->wake, 2, name);
	if (!c->sub) {
		if (c->wake)
			event_free(c->wake);
		free(c);
		cr_http_reply_text(req, 500, "cannot subscribe to stream \"%s\" (out of memory?)",
				   cr_stream_name(h->streams[stream]));
		return;
	}
	cr_http_conn_dispatched(h->conns, req, true); /* streams: no request deadline */
	/* From here on the connection is ours: evhttp will not touch it again,
	 * and evhttp_connection_free() at close frees the request with it. */
	bufferevent_setcb(c->bev, _client_read, NULL, _client_event, c);
	struct timeval wt = {_WRITE_TIMEOUT_S, 0};
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "HTTP/1.0 200 OK\r\n"
			    "Server: camrelay\r\n"
			    "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\n"
			    "Pragma: no-cache\r\n"
			    "Connection: close\r\n"
			    "Content-Type: multipart/x-mixed-replace;boundary=" _BOUNDARY "\r\n"
			    "\r\n"
			    "--" _BOUNDARY "\r\n");
	c->next = h->clients;
	h->clients = c;
	CR_LOG_D("http", "%s: watching %s", name, cr_stream_name(h->streams[stream]));
}

/* ---- snapshots ---- */

static void _snapshot_free(struct _snapshot_s *s)
{
	struct cr_http_s *h = s->h;
	for (struct _snapshot_s **p = &h->snapshots; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	cr_stream_unsubscribe(s->sub);
	if (s->wake)
		event_free(s->wake);
	if (s->timeout)
		event_free(s->timeout);
	free(s);
}

static void _packet_unref_cb(const void *data, size_t len, void *extra)
{
	cr_packet_unref(extra);
}

static void _snapshot_wake(evutil_socket_t fd, short what, void *arg)
{
	struct _snapshot_s *s = arg;
	struct cr_packet_s *p = cr_sub_pop(s->sub, 0);
	if (!p)
		return;
	struct evhttp_request *req = s->req;
	s->req = NULL;
	struct evbuffer *b = evbuffer_new();
	if (!b || evbuffer_add_reference(b, p->data, p->size, _packet_unref_cb, p) < 0) {
		cr_packet_unref(p);
		cr_http_reply_text(req, 500, "out of memory");
	} else {
		struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
		char ts[32];
		snprintf(ts, sizeof(ts), "%.06f", _wallclock_s(p->ts_capture_ns));
		evhttp_add_header(hdr, "Content-Type", "image/jpeg");
		evhttp_add_header(hdr, "Cache-Control", "no-store, no-cache, must-revalidate, max-age=0");
		evhttp_add_header(hdr, "X-Timestamp", ts);
		cr_sub_sent(s->sub, p->ts_capture_ns);
		evhttp_send_reply(req, 200, "OK", b);
	}
	if (b)
		evbuffer_free(b);
	_snapshot_free(s);
}

static void _snapshot_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct _snapshot_s *s = arg;
	struct cr_stream_status_s st;
	cr_stream_status(s->h->streams[s->stream], &st);
	struct evhttp_request *req = s->req;
	s->req = NULL;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
	cr_http_reply_text(req, 503, "no JPEG from stream \"%s\" within %d s (source %s%s%s)",
			   cr_stream_name(s->h->streams[s->stream]), _SNAPSHOT_TIMEOUT_S,
			   cr_source_state_name(st.state), st.message[0] ? ": " : "", st.message);
	_snapshot_free(s);
}

void cr_http_snapshot_start(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	struct _snapshot_s *s = calloc(1, sizeof(*s));
	if (!s) {
		cr_http_reply_text(req, 500, "out of memory");
		return;
	}
	s->h = h;
	s->stream = stream;
	s->req = req;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char name[96];
	if (conn)
		_peer_name(conn, "snapshot", name, sizeof(name));
	else
		snprintf(name, sizeof(name), "snapshot");
	s->wake = event_new(h->base, -1, 0, _snapshot_wake, s);
	s->timeout = evtimer_new(h->base, _snapshot_timeout, s);
	if (s->wake && s->timeout)
		s->sub = _subscribe(h, stream, s->wake, 1, name);
	if (!s->sub) {
		s->req = NULL;
		if (s->wake)
			event_free(s->wake);
		if (s->timeout)
			event_free(s->timeout);
		free(s);
		cr_http_reply_text(req, 500, "cannot subscribe to stream \"%s\" (out of memory?)",
				   cr_stream_name(h->streams[stream]));
		return;
	}
	struct timeval tv = {_SNAPSHOT_TIMEOUT_S, 0};
	evtimer_add(s->timeout, &tv);
	s->next = h->snapshots;
	h->snapshots = s;
}

void cr_http_mjpeg_close_all(struct cr_http_s *h)
{
	while (h->clients)
		_client_close(h->clients);
	while (h->snapshots)
		_snapshot_free(h->snapshots); /* their connections go with evhttp_free() */
}
