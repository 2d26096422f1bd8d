/* The RTSP server's connections and requests; see rtsp.h. Hand-written: no
 * Debian C library serves RTSP from packets we make ourselves (live555 and
 * gst-rtsp-server want to own the media pipeline), so this file speaks the
 * protocol on libevent, in the HTTP server's loop. */
#include "net/rtsp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hostport.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/http.h"
#include "net/rtsp_msg.h"
#include "net/rtsp_priv.h"

#define _PUBLIC "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
#define _DESCRIBE_WAIT_TICKS 60 /* of 50 ms: how long DESCRIBE waits for the parameter sets */

static const char *_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Request Entity Too Large";
	case 453: return "Not Enough Bandwidth";
	case 454: return "Session Not Found";
	case 455: return "Method Not Valid in This State";
	case 459: return "Aggregate Operation Not Allowed";
	case 461: return "Unsupported Transport";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "RTSP Version Not Supported";
	default: return "Error";
	}
}

/* The status line, CSeq (when known), the extra headers (each ending in
 * CRLF) and the body. */
static void _reply(struct cr_rtsp_conn_s *c, int cseq, int code, const char *body, size_t body_len,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void _reply(struct cr_rtsp_conn_s *c, int cseq, int code, const char *body, size_t body_len,
		   const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add_printf(out, "RTSP/1.0 %d %s\r\n", code, _reason(code));
	if (cseq >= 0)
		evbuffer_add_printf(out, "CSeq: %d\r\n", cseq);
	evbuffer_add_printf(out, "Server: camrelay\r\n");
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		evbuffer_add_vprintf(out, fmt, ap);
		va_end(ap);
	}
	if (body_len)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", body_len);
	evbuffer_add(out, "\r\n", 2);
	if (body_len)
		evbuffer_add(out, body, body_len);
	if (code >= 400 && code != 401)
		c->r->stats.bad_requests++;
}

/* A short text reason goes into the log only: RTSP clients show the status. */
static void _fail(struct cr_rtsp_conn_s *c, int cseq, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void _fail(struct cr_rtsp_conn_s *c, int cseq, int code, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	CR_LOG_D("rtsp", "%s: %d %s: %s", c->remote, code, _reason(code), why);
	if (code == 401) {
		char challenge[512];
		cr_rtsp_challenge(c, challenge, sizeof(challenge));
		c->r->stats.unauthorized++;
		_reply(c, cseq, code, NULL, 0, "%s", challenge);
		return;
	}
	_reply(c, cseq, code, NULL, 0, NULL);
}

static void _session_header(char *out, size_t cap, const struct cr_rtsp_client_s *cl)
{
	snprintf(out, cap, "Session: %s;timeout=%lld\r\n", cl->session,
		 (long long)(cl->r->timeout_ns / 1000000000LL));
}

/* The path a request names, without "trackID=N" (*track: 0 video, 1 audio)
 * and slashes at the end. Clients join the control URL to a Content-Base
 * that has a query (?token=...) in two ways: ".../cam/trackID=0?q" and
 * ".../cam?q/trackID=0"; both name the track. */
static int _path(const char *uri, char *path, size_t cap, char *query, size_t qcap, int *track)
{
	struct cr_rtsp_url_s u;
	if (cr_rtsp_parse_url(uri, &u) < 0)
		return -EINVAL;
	char *slash = strchr(u.query, '/');
	snprintf(path, cap, "%s%s", u.path, slash ? slash : "");
	if (slash)
		*slash = 0;
	snprintf(query, qcap, "%s", u.query);
	size_t n = strlen(path);
	*track = 0;
	if (n >= 9 && strncmp(path + n - 9, "trackID=", 8) == 0 && (path[n - 1] == '0' || path[n - 1] == '1')) {
		*track = path[n - 1] - '0';
		path[n -= 9] = 0;
	}
	while (n && path[n - 1] == '/')
		path[--n] = 0;
	return 0;
}

static void _local_ip(struct cr_rtsp_conn_s *c, char *out, size_t cap)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->local;
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
}

/* ---- requests ---- */

/* A connection's client for the media a URL names (made when missing). */
static struct cr_rtsp_client_s *_client_for(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m, int *code,
					     int *track)
{
	char path[512], query[512];
	struct cr_rtsp_media_s media;
	*code = 404;
	if (_path(m->uri, path, sizeof(path), query, sizeof(query), track) < 0) {
		*code = 400;
		return NULL;
	}
	if (cr_rtsp_media_for(c->r, path, &media) < 0 || (*track == 1 && !cr_rtsp_audio_offered(c->r, media.stream)))
		return NULL;
	if (cr_rtsp_authorize(c, m, cr_stream_name(c->r->streams[media.stream]), query, code) < 0)
		return NULL;
	struct cr_rtsp_client_s *cl = c->client;
	if (cl && (cl->media.stream != media.stream || cl->media.mjpeg != media.mjpeg)) {
		if (cl->session[0]) {
			*code = 459; /* one session per connection, for one stream */
			return NULL;
		}
		cr_rtsp_client_free(cl);
		c->client = cl = NULL;
	}
	if (cl)
		return cl;
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		*code = 500;
		return NULL;
	}
	cl->r = c->r;
	cl->conn = c;
	cl->media = media;
	cl->last_seen_ns = cr_now_ns();
	snprintf(cl->info.stream, sizeof(cl->info.stream), "%s", cr_stream_name(c->r->streams[media.stream]));
	snprintf(cl->info.remote, sizeof(cl->info.remote), "%s", c->remote);
	cl->info.codec = cr_codec_name(media.enc.codec);
	c->client = cl;
	if (cr_rtsp_client_subscribe(cl) < 0) {
		cr_rtsp_client_free(cl);
		c->client = NULL;
		*code = 500;
		return NULL;
	}
	return cl;
}

static bool _describe(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m, bool last)
{
	int code, track;
	struct cr_rtsp_client_s *cl = _client_for(c, m, &code, &track);
	if (!cl) {
		_fail(c, m->cseq, code, "DESCRIBE %s", m->uri);
		return true;
	}
	char ip[INET6_ADDRSTRLEN], sdp[4096];
	_local_ip(c, ip, sizeof(ip));
	int n = cr_rtsp_media_sdp(c->r, &cl->media, ip, sdp, sizeof(sdp), last);
	if (n == -EAGAIN)
		return false;
	if (n < 0) {
		_fail(c, m->cseq, 500, "no SDP for %s", m->uri);
		return true;
	}
	/* Content-Base: the URL as asked for (its query too: a token in it must
	 * come back with SETUP and PLAY), ending in '/' before any query. */
	char base[1100];
	const char *q = strchr(m->uri, '?');
	size_t pl = q ? (size_t)(q - m->uri) : strlen(m->uri);
	snprintf(base, sizeof(base), "%.*s%s%s", (int)pl, m->uri, pl && m->uri[pl - 1] == '/' ? "" : "/", q ? q : "");
	_reply(c, m->cseq, 200, sdp, (size_t)n, "Content-Type: application/sdp\r\nContent-Base: %s\r\n", base);
	return true;
}

/* Session header check: the connection's session, or 454. */
static struct cr_rtsp_client_s *_session(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m)
{
	struct cr_rtsp_client_s *cl = c->client;
	if (!cl || !cl->session[0] || strcmp(m->session, cl->session) != 0) {
		_fail(c, m->cseq, 454, "%s with session \"%.40s\"", m->method, m->session);
		return NULL;
	}
	cl->last_seen_ns = cr_now_ns();
	return cl;
}

/* A track's transport (its channels or addresses into ch, rtp, rtcp).
 * Every track of a session goes the same way: the first SETUP chooses;
 * the audio track has no multicast (461). */
static int _transport(struct cr_rtsp_conn_s *c, struct cr_rtsp_client_s *cl, const struct cr_rtsp_transport_s *t,
		      int track, int ch[2], struct sockaddr_storage *rtp, struct sockaddr_storage *rtcp)
{
	struct cr_rtsp_s *r = c->r;
	enum cr_rtsp_tr_e tr = t->tcp ? CR_RTSP_TCP : t->multicast ? CR_RTSP_MCAST : CR_RTSP_UDP;
	if (t->record || (cl->session[0] && tr != cl->tr) || (track == 1 && tr == CR_RTSP_MCAST))
		return 461;
	cl->tr = tr;
	if (tr == CR_RTSP_TCP) {
		ch[0] = t->interleaved[0] >= 0 ? t->interleaved[0] : 2 * track;
		ch[1] = t->interleaved[0] >= 0 ? t->interleaved[1] : 2 * track + 1;
		/* The other track's channels are its own. */
		const int *o = track == 1 ? (cl->video_set ? cl->channel : NULL) : (cl->audio ? cl->audio->channel : NULL);
		if (o && (ch[0] == o[0] || ch[0] == o[1] || ch[1] == o[0] || ch[1] == o[1]))
			return 461;
		return 0;
	}
	if (tr == CR_RTSP_MCAST)
		return r->cfg->rtsp.multicast_group[0] ? 0 : 461;
	if (t->client_port[0] < 0)
		return 461;
	/* Media goes to the address the request came from, never elsewhere
	 * (a destination= parameter would make us a traffic reflector). */
	memcpy(rtp, &c->peer, c->peer_len);
	memcpy(rtcp, &c->peer, c->peer_len);
	cl->addr_len = c->peer_len;
	uint16_t *p0 = c->peer.ss_family == AF_INET6 ? &((struct sockaddr_in6 *)rtp)->sin6_port
						     : &((struct sockaddr_in *)rtp)->sin_port;
	uint16_t *p1 = c->peer.ss_family == AF_INET6 ? &((struct sockaddr_in6 *)rtcp)->sin6_port
						     : &((struct sockaddr_in *)rtcp)->sin_port;
	*p0 = htons((uint16_t)t->client_port[0]);
	*p1 = htons((uint16_t)t->client_port[1]);
	return 0;
}

static bool _limits(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m, struct cr_rtsp_client_s *cl)
{
	struct cr_rtsp_s *r = c->r;
	int code = 0;
	if (r->n_sessions >= r->max_clients)
		code = 503;
	else if (r->per_stream[cl->media.stream] >= r->max_per_stream)
		code = 453;
	if (!code)
		return true;
	r->stats.rejected_limit++;
	CR_LOG_W("rtsp", "%s: SETUP of %s refused with %d %s: %d sessions in total (max_clients %d), %d on "
			 "this stream (max_clients_per_stream %d)",
		 c->remote, cl->info.stream, code, _reason(code), r->n_sessions, r->max_clients,
		 r->per_stream[cl->media.stream], r->max_per_stream);
	_reply(c, m->cseq, code, NULL, 0, NULL);
	return false;
}

static void _setup(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m)
{
	struct cr_rtsp_s *r = c->r;
	struct cr_rtsp_transport_s t;
	if (cr_rtsp_parse_transport(m->transport, &t) < 0)
		return _fail(c, m->cseq, 461, "Transport \"%.100s\"", m->transport);
	if (m->session[0] && !_session(c, m))
		return;
	int code, track;
	struct cr_rtsp_client_s *cl = _client_for(c, m, &code, &track);
	if (!cl)
		return _fail(c, m->cseq, code, "SETUP %s", m->uri);
	if (cl->session[0] && !m->session[0])
		return _fail(c, m->cseq, 459, "a second SETUP on one connection");
	if (!cl->counted && !_limits(c, m, cl))
		return;
	bool fresh = track == 1 && !cl->audio;
	struct cr_rtsp_audio_s *a = track == 1 ? cr_rtsp_audio_new(cl) : NULL;
	if (track == 1 && !a)
		return _fail(c, m->cseq, 500, "SETUP %s: out of memory", m->uri);
	if ((code = _transport(c, cl, &t, track, a ? a->channel : cl->channel, a ? &a->rtp_addr : &cl->rtp_addr,
			       a ? &a->rtcp_addr : &cl->rtcp_addr)) != 0 ||
	    (a && cr_rtsp_audio_start(cl) < 0)) {
		if (fresh)
			cr_rtsp_audio_free(cl);
		return _fail(c, m->cseq, code ? code : 500, "Transport \"%.100s\" of track %d", m->transport, track);
	}
	if (!cl->session[0]) {
		uint64_t id;
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)rand() << 32 | (uint64_t)rand();
		snprintf(cl->session, sizeof(cl->session), "%016llx", (unsigned long long)id);
		memcpy(cl->info.session, cl->session, sizeof(cl->session));
		cl->counted = true;
		r->n_sessions++;
		r->per_stream[cl->media.stream]++;
		r->stats.sessions++;
	}
	char tr[256], sess[64];
	const int *ch = a ? a->channel : cl->channel;
	uint32_t ssrc = a ? a->rtp.ssrc : cl->rtp.ssrc;
	if (cl->tr == CR_RTSP_TCP) {
		snprintf(tr, sizeof(tr), "RTP/AVP/TCP;unicast;interleaved=%d-%d;ssrc=%08X", ch[0], ch[1], ssrc);
	} else if (cl->tr == CR_RTSP_UDP) {
		snprintf(tr, sizeof(tr), "RTP/AVP;unicast;client_port=%d-%d;server_port=%d-%d;ssrc=%08X",
			 t.client_port[0], t.client_port[1], r->rtp_port, r->rtp_port + 1, ssrc);
	} else {
		const struct cr_rtsp_mcast_s *g = &r->mcast[cl->media.stream];
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &g->group.sin_addr, a, sizeof(a));
		int port = ntohs(g->group.sin_port);
		snprintf(tr, sizeof(tr), "RTP/AVP;multicast;destination=%s;port=%d-%d;ttl=%d", a, port, port + 1,
			 r->cfg->rtsp.multicast_ttl ? r->cfg->rtsp.multicast_ttl : 4);
	}
	/* for RTP-Info */
	snprintf(a ? a->track_url : cl->track_url, sizeof(cl->track_url), "%s", m->uri);
	cl->video_set |= track == 0;
	cl->info.transport = cl->tr == CR_RTSP_TCP ? "tcp" : cl->tr == CR_RTSP_UDP ? "udp" : "multicast";
	cl->info.state = "ready";
	_session_header(sess, sizeof(sess), cl);
	_reply(c, m->cseq, 200, NULL, 0, "Transport: %s\r\n%s", tr, sess);
	CR_LOG_I("rtsp", "%s: session %s of %s: %s over %s (%.200s)", c->remote, cl->session, cl->info.stream,
		 a ? "Opus" : cl->info.codec, cl->info.transport, m->uri);
}

static void _play(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m)
{
	struct cr_rtsp_client_s *cl = _session(c, m);
	if (!cl)
		return;
	cr_rtsp_client_play(cl);
	/* RTP-Info: each track set up, in SDP order. */
	char info[2200] = "", sess[64];
	uint16_t seq;
	uint32_t rtptime;
	if (cl->video_set) {
		cr_rtsp_client_position(cl, &seq, &rtptime);
		snprintf(info, sizeof(info), "url=%s;seq=%u;rtptime=%u", cl->track_url, seq, rtptime);
	}
	if (cl->audio) {
		cr_rtsp_audio_position(cl, &seq, &rtptime);
		size_t n = strlen(info);
		snprintf(info + n, sizeof(info) - n, "%surl=%s;seq=%u;rtptime=%u", n ? "," : "", cl->audio->track_url,
			 seq, rtptime);
	}
	_session_header(sess, sizeof(sess), cl);
	_reply(c, m->cseq, 200, NULL, 0, "Range: npt=0.000-\r\nRTP-Info: %s\r\n%s", info, sess);
}

static void _teardown(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m)
{
	struct cr_rtsp_client_s *cl = _session(c, m);
	if (!cl)
		return;
	CR_LOG_I("rtsp", "%s: session %s of %s: TEARDOWN after %llu frames sent, %llu dropped", c->remote, cl->session,
		 cl->info.stream, (unsigned long long)cl->info.frames_sent, (unsigned long long)cl->info.frames_dropped);
	cr_rtsp_client_free(cl);
	c->client = NULL;
	_reply(c, m->cseq, 200, NULL, 0, NULL);
}

/* false: wait (DESCRIBE before the parameter sets are known). */
static bool _request(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m, bool last)
{
	struct cr_rtsp_s *r = c->r;
	char sess[64];
	if (m->response) {
		_fail(c, -1, 400, "a response from a client");
		cr_rtsp_conn_close(c, NULL);
		return true;
	}
	r->stats.requests++;
	if (strcmp(m->method, "OPTIONS") == 0) {
		_reply(c, m->cseq, 200, NULL, 0, "Public: %s\r\n", _PUBLIC);
	} else if (strcmp(m->method, "DESCRIBE") == 0) {
		return _describe(c, m, last);
	} else if (strcmp(m->method, "SETUP") == 0) {
		_setup(c, m);
	} else if (strcmp(m->method, "PLAY") == 0) {
		_play(c, m);
	} else if (strcmp(m->method, "PAUSE") == 0) {
		struct cr_rtsp_client_s *cl = _session(c, m);
		if (cl) {
			cl->state = CR_RTSP_PAUSED;
			cl->info.state = "paused";
			_session_header(sess, sizeof(sess), cl);
			_reply(c, m->cseq, 200, NULL, 0, "%s", sess);
		}
	} else if (strcmp(m->method, "TEARDOWN") == 0) {
		_teardown(c, m);
	} else if (strcmp(m->method, "GET_PARAMETER") == 0 || strcmp(m->method, "SET_PARAMETER") == 0) {
		struct cr_rtsp_client_s *cl = m->session[0] ? _session(c, m) : NULL;
		if (!m->session[0] || cl) {
			if (cl)
				_session_header(sess, sizeof(sess), cl);
			_reply(c, m->cseq, 200, NULL, 0, "%s", cl ? sess : "");
		}
	} else if (strcmp(m->method, "ANNOUNCE") == 0 || strcmp(m->method, "RECORD") == 0) {
		_reply(c, m->cseq, 405, NULL, 0, "Allow: %s\r\n", _PUBLIC);
	} else {
		_fail(c, m->cseq, 501, "method %s", m->method);
	}
	return true;
}

/* ---- connections ---- */

static void _conn_free(struct cr_rtsp_conn_s *c)
{
	struct cr_rtsp_s *r = c->r;
	for (struct cr_rtsp_conn_s **p = &r->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (c->client)
		cr_rtsp_client_free(c->client);
	bufferevent_free(c->bev);
	r->n_conns--;
	free(c);
}

static void _on_written(struct bufferevent *bev, void *arg)
{
	struct cr_rtsp_conn_s *c = arg;
	(void)bev;
	if (c->closing)
		_conn_free(c);
}

void cr_rtsp_conn_close(struct cr_rtsp_conn_s *c, const char *why)
{
	if (why)
		CR_LOG_I("rtsp", "%s: connection closed: %s", c->remote, why);
	if (c->client) {
		cr_rtsp_client_free(c->client);
		c->client = NULL;
	}
	/* Freed by _on_written once the last reply is out, or by the tick
	 * (callers may still hold c). */
	c->closing = true;
	c->closing_ns = cr_now_ns();
	bufferevent_disable(c->bev, EV_READ);
}

/* Interleaved data: "$", channel, 16-bit length, data. 1 when consumed,
 * 0 when incomplete, -1 when the connection was closed. */
static int _interleaved(struct cr_rtsp_conn_s *c, struct evbuffer *in, size_t len)
{
	uint8_t h[4];
	if (len < 4 || evbuffer_copyout(in, h, 4) != 4)
		return 0;
	size_t n = (size_t)h[2] << 8 | h[3];
	if (len < 4 + n)
		return 0;
	struct cr_rtsp_client_s *cl = c->client;
	const int *ach = cl && cl->audio ? cl->audio->channel : NULL;
	bool video_ch = cl && cl->video_set && (h[1] == cl->channel[0] || h[1] == cl->channel[1]);
	bool audio_ch = ach && (h[1] == ach[0] || h[1] == ach[1]);
	if (!cl || !cl->session[0] || cl->tr != CR_RTSP_TCP || (!video_ch && !audio_ch)) {
		c->r->stats.bad_channel++;
		cr_rtsp_conn_close(c, "interleaved data on a channel it did not set up");
		return -1;
	}
	uint8_t *p = evbuffer_pullup(in, (ssize_t)(4 + n));
	if (p && ((video_ch && h[1] == cl->channel[1]) || (audio_ch && h[1] == ach[1])))
		cr_rtsp_client_rtcp(cl, p + 4, n);
	evbuffer_drain(in, 4 + n);
	return 1;
}

/* Handles what has arrived; returns false when c was freed. */
static void _process(struct cr_rtsp_conn_s *c, bool last)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	while (!c->closing) {
		size_t len = evbuffer_get_length(in);
		if (!len)
			return;
		uint8_t first;
		evbuffer_copyout(in, &first, 1);
		if (first == '$') {
			int rc = _interleaved(c, in, len);
			if (rc <= 0)
				return;
			continue;
		}
		size_t want = len < CR_RTSP_MAX_HEAD + CR_RTSP_MAX_BODY ? len : CR_RTSP_MAX_HEAD + CR_RTSP_MAX_BODY;
		const uint8_t *p = evbuffer_pullup(in, (ssize_t)want);
		static struct cr_rtsp_msg_s m; /* large; the loop is single-threaded */
		int rc = cr_rtsp_parse(p, want, &m);
		if (rc == 0)
			return;
		if (rc < 0) {
			_reply(c, m.cseq, -rc, NULL, 0, NULL);
			cr_rtsp_conn_close(c, NULL);
			return;
		}
		if (!_request(c, &m, last)) {
			bufferevent_disable(c->bev, EV_READ); /* DESCRIBE waits; the tick retries */
			return;
		}
		evbuffer_drain(in, (size_t)rc);
		last = false;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > c->r->tcp_buffer) {
			cr_rtsp_conn_close(c, "it does not read its replies");
			return;
		}
	}
}

static void _on_read(struct bufferevent *bev, void *arg)
{
	struct cr_rtsp_conn_s *c = arg;
	(void)bev;
	c->last_rx_ns = cr_now_ns();
	if (c->client)
		c->client->last_seen_ns = c->last_rx_ns;
	_process(c, false);
}

static void _on_event(struct bufferevent *bev, short what, void *arg)
{
	struct cr_rtsp_conn_s *c = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->client && c->client->session[0])
			CR_LOG_I("rtsp", "%s: session %s of %s: connection closed after %llu frames sent, %llu dropped",
				 c->remote, c->client->session, c->client->info.stream,
				 (unsigned long long)c->client->info.frames_sent,
				 (unsigned long long)c->client->info.frames_dropped);
		_conn_free(c);
	}
}

static void _on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct cr_rtsp_s *r = arg;
	(void)lev;
	static int64_t last_log;
	if (r->n_conns >= 2 * r->max_clients + 16) {
		r->stats.rejected_limit++;
		if (cr_now_ns() - last_log > 10000000000LL) {
			CR_LOG_W("rtsp", "connection refused: %d open (limit 2 x max_clients + 16)", r->n_conns);
			last_log = cr_now_ns();
		}
		close(fd);
		return;
	}
	struct cr_rtsp_conn_s *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->r = r;
	/* The kernel's share of a client's backlog is bounded too (autotuning
	 * would let it grow to megabytes before our own buffer fills). */
	int sndbuf = (int)r->tcp_buffer;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	c->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	memcpy(&c->peer, sa, (size_t)salen);
	c->peer_len = (socklen_t)salen;
	c->local_len = sizeof(c->local);
	getsockname(fd, (struct sockaddr *)&c->local, &c->local_len);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
		snprintf(c->remote, sizeof(c->remote), "[%s]:%d", ip, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
		port = ntohs(((struct sockaddr_in *)sa)->sin_port);
		snprintf(c->remote, sizeof(c->remote), "%s:%d", ip, port);
	}
	c->last_rx_ns = cr_now_ns();
	c->next = r->conns;
	r->conns = c;
	r->n_conns++;
	r->stats.connections++;
	bufferevent_setcb(c->bev, _on_read, _on_written, _on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Every 50 ms: waiting DESCRIBEs, then (each second) timeouts and RTCP. */
static void _on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cr_rtsp_s *r = arg;
	(void)fd;
	(void)what;
	int64_t now = cr_now_ns();
	for (struct cr_rtsp_conn_s *c = r->conns, *next; c; c = next) {
		next = c->next;
		if (c->closing) {
			/* A peer that does not take the last reply within 2 s loses it. */
			if (!evbuffer_get_length(bufferevent_get_output(c->bev)) || now - c->closing_ns > 2000000000LL)
				_conn_free(c);
			continue;
		}
		if (!(bufferevent_get_enabled(c->bev) & EV_READ)) {
			bool last = now - c->last_rx_ns > _DESCRIBE_WAIT_TICKS * 50000000LL;
			bufferevent_enable(c->bev, EV_READ);
			_process(c, last);
			continue;
		}
		bool idle = !c->client || !c->client->session[0];
		if (idle && now - c->last_rx_ns > r->timeout_ns)
			cr_rtsp_conn_close(c, "no request within the session timeout");
	}
	cr_rtsp_media_tick(r, now);
}

/* ---- the server ---- */

struct cr_rtsp_s *cr_rtsp_attach(struct event_base *base, const struct cr_config_s *cfg,
				 struct cr_stream_s **streams, int n, char *err, size_t errlen)
{
	const struct cr_rtsp_cfg_s *rc = &cfg->rtsp;
	err[0] = 0;
	if (rc->disabled)
		return NULL;
	struct cr_rtsp_s *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base = base;
	r->cfg = cfg;
	r->n_streams = n < CR_MAX_STREAMS ? n : CR_MAX_STREAMS;
	memcpy(r->streams, streams, sizeof(*streams) * (size_t)r->n_streams);
	r->timeout_ns = (int64_t)(rc->session_timeout ? rc->session_timeout : 60) * 1000000000LL;
	r->tcp_buffer = (size_t)(rc->tcp_buffer_kb ? rc->tcp_buffer_kb : 1024) * 1024;
	r->max_clients = rc->max_clients ? rc->max_clients : 256;
	r->max_per_stream = rc->max_clients_per_stream ? rc->max_clients_per_stream : 100;
	r->rtp_fd = r->rtcp_fd = r->mcast_fd = r->efd = -1;
	const char *listen = rc->listen[0] ? rc->listen : "127.0.0.1:8554";
	snprintf(r->base_url, sizeof(r->base_url), "rtsp://%s", listen[0] == ':' ? "HOST" : listen);
	if (listen[0] == ':')
		snprintf(r->base_url, sizeof(r->base_url), "rtsp://HOST%s", listen);
	char lerr[300];
	int fd = cr_net_listen_socket(listen, lerr, sizeof(lerr));
	if (fd < 0) {
		snprintf(err, errlen, "[rtsp] %s", lerr);
		goto error;
	}
	r->lev = evconnlistener_new(base, _on_accept, r, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!r->lev) {
		close(fd);
		snprintf(err, errlen, "[rtsp] libevent: cannot accept on %s", listen);
		goto error;
	}
	if (cr_rtsp_media_init(r, err, errlen) < 0)
		goto error;
	struct timeval tv = {0, 50000};
	r->tick_ev = event_new(base, -1, EV_PERSIST, _on_tick, r);
	if (!r->tick_ev || event_add(r->tick_ev, &tv) < 0) {
		snprintf(err, errlen, "[rtsp] cannot start its timer");
		goto error;
	}
	CR_LOG_I("rtsp", "serving %d stream%s on %s/<stream> (RTP/RTCP over UDP from ports %d-%d)", r->n_streams,
		 r->n_streams == 1 ? "" : "s", r->base_url, r->rtp_port, r->rtp_port + 1);
	return r;
error:
	cr_rtsp_detach(r);
	return NULL;
}

void cr_rtsp_add_stream(struct cr_rtsp_s *r, struct cr_stream_s *s)
{
	if (r && r->n_streams < CR_MAX_STREAMS)
		r->streams[r->n_streams++] = s;
}

void cr_rtsp_detach(struct cr_rtsp_s *r)
{
	if (!r)
		return;
	while (r->conns)
		_conn_free(r->conns);
	if (r->tick_ev)
		event_free(r->tick_ev);
	if (r->lev)
		evconnlistener_free(r->lev);
	cr_rtsp_media_free(r);
	free(r);
}

const char *cr_rtsp_base_url(const struct cr_rtsp_s *r)
{
	return r ? r->base_url : "";
}

void cr_rtsp_stream_url(const struct cr_rtsp_s *r, const char *http_host, const char *stream, char *out, size_t cap)
{
	const char *listen = r->cfg->rtsp.listen[0] ? r->cfg->rtsp.listen : "127.0.0.1:8554";
	char host[128] = "", port[16] = "8554", hh[128] = "", hp[16];
	cr_hostport_split(listen, host, sizeof(host), port, sizeof(port));
	if (!host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
		/* "name:port", "[v6]:port" or a bare name */
		if (http_host && cr_hostport_split(http_host, hh, sizeof(hh), hp, sizeof(hp)) < 0)
			snprintf(hh, sizeof(hh), "%s", http_host);
		snprintf(host, sizeof(host), "%s", hh[0] ? hh : "localhost");
	}
	bool v6 = strchr(host, ':') != NULL;
	snprintf(out, cap, "rtsp://%s%s%s:%s/%s", v6 ? "[" : "", host, v6 ? "]" : "", port, stream);
}

void cr_rtsp_foreach_client(struct cr_rtsp_s *r, void (*fn)(const struct cr_rtsp_client_info_s *, void *),
			    void *opaque)
{
	for (struct cr_rtsp_conn_s *c = r ? r->conns : NULL; c; c = c->next)
		if (c->client && c->client->session[0])
			fn(&c->client->info, opaque);
}

void cr_rtsp_stats(struct cr_rtsp_s *r, struct cr_rtsp_stats_s *out)
{
	*out = r->stats;
}

void cr_rtsp_metrics(struct cr_rtsp_s *r, struct evbuffer *b)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
#define _C(f, h) {"camrelay_rtsp_" #f "_total", h, offsetof(struct cr_rtsp_stats_s, f)}
		_C(connections, "RTSP connections accepted."),
		_C(requests, "RTSP requests handled."),
		_C(bad_requests, "RTSP requests answered with an error (4xx/5xx but 401)."),
		_C(sessions, "RTSP sessions set up."),
		_C(sessions_timed_out, "RTSP sessions ended by the session timeout."),
		_C(clients_dropped_slow, "TCP clients dropped because their send buffer filled."),
		_C(rejected_limit, "RTSP sessions or connections refused by a client limit (453/503)."),
		_C(bad_channel, "Connections closed for interleaved data on a channel not set up."),
		_C(unauthorized, "RTSP requests answered with 401."),
		_C(packets_sent, "RTP packets sent to RTSP clients."),
		_C(bytes_sent, "RTP bytes sent to RTSP clients."),
		_C(receiver_reports, "RTCP receiver reports from RTSP clients."),
#undef _C
	};
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&r->stats + counters[i].off, sizeof(v));
		evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name, counters[i].help,
				    counters[i].name, counters[i].name, (unsigned long long)v);
	}
	evbuffer_add_printf(b, "# HELP camrelay_rtsp_sessions Open RTSP sessions.\n# TYPE camrelay_rtsp_sessions gauge\n"
			       "camrelay_rtsp_sessions %d\n", r->n_sessions);
	evbuffer_add_printf(b, "# HELP camrelay_rtsp_client_fraction_lost Loss from the client's last receiver report (0..1).\n"
			       "# TYPE camrelay_rtsp_client_fraction_lost gauge\n"
			       "# HELP camrelay_rtsp_client_jitter_ms Jitter from the client's last receiver report.\n"
			       "# TYPE camrelay_rtsp_client_jitter_ms gauge\n"
			       "# HELP camrelay_rtsp_client_packets_lost Cumulative loss from the client's last receiver report.\n"
			       "# TYPE camrelay_rtsp_client_packets_lost gauge\n");
	for (struct cr_rtsp_conn_s *c = r->conns; c; c = c->next) {
		const struct cr_rtsp_client_s *cl = c->client;
		if (!cl || !cl->session[0])
			continue;
		evbuffer_add_printf(b, "camrelay_rtsp_client_fraction_lost{stream=\"%s\",session=\"%s\"} %.4f\n",
				    cl->info.stream, cl->session, cl->info.fraction_lost);
		evbuffer_add_printf(b, "camrelay_rtsp_client_jitter_ms{stream=\"%s\",session=\"%s\"} %.3f\n",
				    cl->info.stream, cl->session, cl->info.jitter_ms);
		evbuffer_add_printf(b, "camrelay_rtsp_client_packets_lost{stream=\"%s\",session=\"%s\"} %lld\n",
				    cl->info.stream, cl->session, (long long)cl->info.packets_lost);
	}
}
