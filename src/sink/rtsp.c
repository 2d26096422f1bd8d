/* RTSP push ([[stream.X.sinks]] type = "rtsp", url = "rtsp://server:8554/path"):
 * publishes the stream's encoded video to an RTSP server (MediaMTX,
 * gst-rtsp-server in record mode) as RFC 2326 clients record: ANNOUNCE with
 * the SDP (net/sdp.c's, with the parameter sets of the first keyframe),
 * SETUP with mode=record over TCP interleaved, RECORD, then RTP and RTCP
 * sender reports on channels 0 and 1 of the same connection. Credentials in
 * the URL answer a 401 with Basic or Digest (each later request signed for
 * its own method and URI). When the server goes away it reconnects with a
 * backoff (0.25 s doubling to 2 s; 1 s doubling to 30 s while the server
 * refuses the credentials: each attempt costs the encoder a keyframe) and
 * starts again at a keyframe. Shares the stream's encoder with the other RTP consumers.
 * Hand-written (blocking sockets on the sink's own thread): no Debian C
 * library records RTSP from our own packets without its own pipeline. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/schema_get.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/rtsp_msg.h"
#include "net/sdp.h"
#include "rtp/rtp.h"
#include "sink/sink.h"

#define _IO_TIMEOUT_MS 3000
#define _SR_GAP_NS 2000000000LL

/* The sink's own keys (its block of the config; the option table below). */
struct cr_rtsp_sink_opts_s {
	char url[512]; /* rtsp://[user:pass@]server[:port]/path */
};

struct _push_s {
	struct cr_sink_s *sink;
	const char *name; /* stream */
	struct cr_rtsp_url_s url;
	char url_text[600]; /* without credentials, for requests and logs */
	int fd;
	int cseq;
	char session[128];
	char challenge[512];     /* the server's WWW-Authenticate, once challenged */
	char authorization[512]; /* the answer to it for the request being sent */
	struct cr_sub_s *sub;
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	bool io_failed;
	int64_t last_sr_ns;
	pthread_t thread;
	atomic_bool running;
	uint64_t connects;
	uint8_t in[CR_RTSP_MAX_HEAD + CR_RTSP_MAX_BODY];
	size_t in_len;
};

/* ---- I/O ---- */

static int _send_all(struct _push_s *p, const void *data, size_t len)
{
	const uint8_t *b = data;
	while (len) {
		ssize_t n = send(p->fd, b, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errno ? -errno : -EIO;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int _connect(struct _push_s *p, char *why, size_t cap)
{
	char port[8];
	snprintf(port, sizeof(port), "%d", p->url.port ? p->url.port : 554);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int r = getaddrinfo(p->url.host, port, &hints, &ai);
	if (r != 0) {
		snprintf(why, cap, "cannot resolve %s: %s", p->url.host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timeval tv = {_IO_TIMEOUT_MS / 1000, 0};
		if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
				connect(fd, a->ai_addr, a->ai_addrlen) < 0)) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(why, cap, "cannot connect to %s:%s: %s", p->url.host, port, strerror(e));
		return -e;
	}
	p->fd = fd;
	p->in_len = 0;
	return 0;
}

/* The next response (interleaved data from the server is skipped). */
static int _response(struct _push_s *p, struct cr_rtsp_msg_s *m)
{
	for (;;) {
		while (p->in_len >= 4 && p->in[0] == '$') {
			size_t n = 4 + ((size_t)p->in[2] << 8 | p->in[3]);
			if (p->in_len < n)
				break;
			memmove(p->in, p->in + n, p->in_len - n);
			p->in_len -= n;
		}
		if (p->in_len && p->in[0] != '$') {
			int n = cr_rtsp_parse(p->in, p->in_len, m);
			if (n < 0 || (n > 0 && !m->response))
				return -EPROTO;
			if (n > 0) {
				/* m points into p->in: callers use it before the next read. */
				p->in_len -= (size_t)n;
				memmove(p->in, p->in + n, p->in_len);
				return 0;
			}
		}
		if (p->in_len == sizeof(p->in))
			return -EPROTO;
		ssize_t r = recv(p->fd, p->in + p->in_len, sizeof(p->in) - p->in_len, 0);
		if (r <= 0)
			return r == 0 ? -ECONNRESET : -errno;
		p->in_len += (size_t)r;
	}
}

/* ---- authentication ---- */

/* The Authorization for method on uri after a challenge (Digest or Basic). */
static int _answer(struct _push_s *p, const char *challenge, const char *method, const char *uri)
{
	if (!p->url.user[0])
		return -EACCES;
	if (strncasecmp(challenge, "Digest", 6) == 0) {
		char realm[128], nonce[128], text[1024], ha1[33], ha2[33], resp[33];
		if (!cr_rtsp_header_param(challenge, "realm", realm, sizeof(realm)) ||
		    !cr_rtsp_header_param(challenge, "nonce", nonce, sizeof(nonce)))
			return -EPROTO;
		snprintf(text, sizeof(text), "%s:%s:%s", p->url.user, realm, p->url.pass);
		cr_rtsp_md5_hex(text, ha1);
		snprintf(text, sizeof(text), "%s:%s", method, uri);
		cr_rtsp_md5_hex(text, ha2);
		snprintf(text, sizeof(text), "%s:%s:%s", ha1, nonce, ha2);
		cr_rtsp_md5_hex(text, resp);
		snprintf(p->authorization, sizeof(p->authorization),
			 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\"", p->url.user,
			 realm, nonce, uri, resp);
		return 0;
	}
	char pair[300], b64[420];
	int n = snprintf(pair, sizeof(pair), "%s:%s", p->url.user, p->url.pass);
	cr_rtsp_base64(pair, n < (int)sizeof(pair) ? (size_t)n : sizeof(pair) - 1, b64);
	snprintf(p->authorization, sizeof(p->authorization), "Basic %s", b64);
	return 0;
}

/* Sends a request and reads its response; answers one 401 when the URL has
 * credentials. Returns the status, or a negative errno. */
static int _request(struct _push_s *p, const char *method, const char *uri, const char *headers, const char *body,
		    struct cr_rtsp_msg_s *m)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		char head[2048];
		p->authorization[0] = 0;
		if (p->challenge[0] && _answer(p, p->challenge, method, uri) < 0)
			p->authorization[0] = 0;
		size_t bl = body ? strlen(body) : 0;
		int n = snprintf(head, sizeof(head), "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: camrelay\r\n%s%s%s%s%s%s",
				 method, uri, ++p->cseq, p->authorization[0] ? "Authorization: " : "", p->authorization,
				 p->authorization[0] ? "\r\n" : "", p->session[0] ? "Session: " : "", p->session,
				 p->session[0] ? "\r\n" : "");
		if (n < 0 || (size_t)n >= sizeof(head))
			return -ENOSPC;
		n += snprintf(head + n, sizeof(head) - (size_t)n, "%s", headers ? headers : "");
		if (bl)
			n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", bl);
		n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
		int rc = _send_all(p, head, (size_t)n);
		if (rc == 0 && bl)
			rc = _send_all(p, body, bl);
		if (rc == 0)
			rc = _response(p, m);
		if (rc < 0)
			return rc;
		if (m->status != 401 || attempt > 0 || !p->url.user[0])
			return m->status;
		snprintf(p->challenge, sizeof(p->challenge), "%s", m->www_authenticate);
	}
	return 401;
}

/* What a refusal of method says to the user; -EACCES for credentials. */
static int _refused(struct _push_s *p, const char *method, const char *uri, int st, char *why, size_t cap)
{
	if (st < 0) {
		snprintf(why, cap, "%s %s: %s", method, uri, strerror(-st));
		return st;
	}
	if (st == 401 && !p->url.user[0]) {
		snprintf(why, cap, "%s %s: 401 Unauthorized: the server asks for credentials; put them in the sink's "
				   "url (rtsp://USER:PASSWORD@host/path)", method, uri);
		return -EACCES;
	}
	if (st == 401 || st == 403) {
		snprintf(why, cap, "%s %s: %d %s: the server refused user \"%s\" (%s); check the user and password "
				   "in the sink's url", method, uri, st, st == 401 ? "Unauthorized" : "Forbidden",
			 p->url.user, strncasecmp(p->challenge, "Digest", 6) == 0 ? "Digest" : "Basic");
		return -EACCES;
	}
	snprintf(why, cap, "%s %s: refused with status %d", method, uri, st);
	return -EPROTO;
}

/* ---- the session ---- */

/* Waits for a keyframe, its parameter sets into ps; returns it (the caller
 * sends it first) or NULL when stopping. */
static struct cr_packet_s *_keyframe(struct _push_s *p, uint8_t *ps, size_t cap, size_t *ps_len)
{
	cr_sub_request_keyframe(p->sub);
	int64_t asked = cr_now_ns();
	while (atomic_load(&p->running)) {
		struct cr_packet_s *pkt = cr_sub_pop(p->sub, 100);
		if (!pkt) {
			if (cr_now_ns() - asked > 2000000000LL) {
				cr_sub_request_keyframe(p->sub);
				asked = cr_now_ns();
			}
			continue;
		}
		if (pkt->flags & CR_PACKET_KEYFRAME) {
			*ps_len = cr_annexb_param_sets(p->rtp.codec, pkt->data, pkt->size, ps, cap);
			return pkt;
		}
		cr_sub_unref_item(p->sub, pkt);
	}
	return NULL;
}

static int _start(struct _push_s *p, const uint8_t *ps, size_t ps_len, char *why, size_t cap)
{
	struct cr_rtsp_msg_s m;
	char sdp[4096], track[700];
	int n = cr_sdp_plain_rtp(sdp, sizeof(sdp), p->name, "0.0.0.0", 0, p->rtp.codec, p->rtp.pt, 90000,
				 ps_len ? ps : NULL, ps_len);
	char *dir = n > 0 ? strstr(sdp, "a=recvonly\r\n") : NULL;
	if (n < 0)
		return -EINVAL;
	snprintf(dir ? dir : sdp + n, sizeof(sdp) - (size_t)((dir ? dir : sdp + n) - sdp), "a=control:trackID=0\r\n");
	p->session[0] = 0;
	p->challenge[0] = 0; /* a new connection: a new challenge (Digest nonce) */
	int st = _request(p, "ANNOUNCE", p->url_text, "Content-Type: application/sdp\r\n", sdp, &m);
	if (st != 200)
		return _refused(p, "ANNOUNCE", p->url_text, st, why, cap);
	snprintf(track, sizeof(track), "%s/trackID=0", p->url_text);
	st = _request(p, "SETUP", track, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n", NULL, &m);
	if (st != 200)
		return _refused(p, "SETUP", track, st, why, cap);
	snprintf(p->session, sizeof(p->session), "%s", m.session);
	st = _request(p, "RECORD", p->url_text, "Range: npt=0.000-\r\n", NULL, &m);
	if (st != 200)
		return _refused(p, "RECORD", p->url_text, st, why, cap);
	return 0;
}

static void _emit(void *opaque, uint8_t *pkt, size_t len)
{
	struct _push_s *p = opaque;
	uint8_t h[4] = {'$', 0, (uint8_t)(len >> 8), (uint8_t)len};
	if (!p->io_failed && (_send_all(p, h, 4) < 0 || _send_all(p, pkt, len) < 0))
		p->io_failed = true;
}

/* Reads (and drops) what the server sends while recording: RTCP receiver
 * reports, keep-alive answers; 0 when the connection is closed. */
static bool _drain_input(struct _push_s *p)
{
	struct pollfd pf = {.fd = p->fd, .events = POLLIN};
	while (poll(&pf, 1, 0) > 0) {
		uint8_t b[4096];
		ssize_t n = recv(p->fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		if (n < 0)
			break;
	}
	return true;
}

static void _send_packet(struct _push_s *p, struct cr_packet_s *pkt)
{
	uint32_t ts = (uint32_t)pkt->pts + p->ts_offset;
	if (cr_rtp_payload(&p->rtp, pkt->data, pkt->size, ts, pkt->flags & CR_PACKET_KEYFRAME, pkt->width,
			   pkt->height) > 0 && !p->io_failed)
		cr_sub_sent(p->sub, pkt->ts_capture_ns);
	int64_t now = cr_now_ns();
	if (now - p->last_sr_ns >= _SR_GAP_NS && !p->io_failed) {
		uint8_t sr[128 + 4];
		size_t n = cr_rtcp_sender_report(sr + 4, sizeof(sr) - 4, p->rtp.ssrc, cr_ntp_now(),
						 (uint32_t)(now * 9 / 100000) + p->ts_offset, p->rtp.packets, p->rtp.octets,
						 "camrelay");
		sr[0] = '$';
		sr[1] = 1;
		sr[2] = (uint8_t)(n >> 8);
		sr[3] = (uint8_t)n;
		if (n && _send_all(p, sr, n + 4) < 0)
			p->io_failed = true;
		p->last_sr_ns = now;
	}
}

/* One connection: set up, then stream until an error or stop. */
static int _session(struct _push_s *p, char *why, size_t cap)
{
	uint8_t ps[1024];
	size_t ps_len = 0;
	/* Connected first: a server that is down costs no keyframe. */
	int rc = _connect(p, why, cap);
	if (rc < 0)
		return rc;
	struct cr_packet_s *first = _keyframe(p, ps, sizeof(ps), &ps_len);
	if (!first)
		return 0;
	rc = _start(p, ps, ps_len, why, cap);
	if (rc < 0) {
		cr_sub_unref_item(p->sub, first);
		return rc;
	}
	p->connects++;
	CR_LOG_I(p->name, "rtsp sink: recording %s to %s", cr_codec_name(p->rtp.codec), p->url_text);
	p->io_failed = false;
	p->last_sr_ns = 0;
	_send_packet(p, first);
	cr_sub_unref_item(p->sub, first);
	while (atomic_load(&p->running) && !p->io_failed) {
		struct cr_packet_s *pkt = cr_sub_pop(p->sub, 100);
		if (!_drain_input(p)) {
			if (pkt)
				cr_sub_unref_item(p->sub, pkt);
			snprintf(why, cap, "%s closed the connection", p->url_text);
			return -ECONNRESET;
		}
		if (!pkt)
			continue;
		_send_packet(p, pkt);
		cr_sub_unref_item(p->sub, pkt);
	}
	if (p->io_failed) {
		snprintf(why, cap, "sending to %s failed", p->url_text);
		return -EIO;
	}
	struct cr_rtsp_msg_s m;
	_request(p, "TEARDOWN", p->url_text, NULL, NULL, &m);
	return 0;
}

static void *_thread(void *arg)
{
	struct _push_s *p = arg;
	int64_t backoff_ms = 250;
	char last_why[300] = "";
	while (atomic_load(&p->running)) {
		char why[300] = "";
		uint64_t connects = p->connects;
		int rc = _session(p, why, sizeof(why));
		if (p->fd >= 0) {
			close(p->fd);
			p->fd = -1;
		}
		if (rc == 0 || p->connects != connects)
			backoff_ms = 250; /* it was recording: try again soon */
		else if (rc == -EACCES && backoff_ms < 1000)
			backoff_ms = 1000; /* credentials do not fix themselves */
		if (!atomic_load(&p->running))
			break;
		/* Log a failure once until it changes (a server down for an hour is one line). */
		if (strcmp(why, last_why) != 0)
			CR_LOG_W(p->name, "rtsp sink: %s; retrying in %lld ms, then less often (up to every %d s)", why,
				 (long long)backoff_ms, rc == -EACCES ? 30 : 2);
		snprintf(last_why, sizeof(last_why), "%s", why);
		for (int64_t t = 0; t < backoff_ms && atomic_load(&p->running); t += 50)
			cr_sleep_until_ns(cr_now_ns() + 50000000LL);
		int64_t most = rc == -EACCES ? 30000 : 2000;
		backoff_ms = backoff_ms * 2 > most ? most : backoff_ms * 2;
	}
	return NULL;
}

static int _open(struct cr_sink_s *sink)
{
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(sink->stream);
	struct _push_s *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(sink->error, sizeof(sink->error), "out of memory");
		return -ENOMEM;
	}
	p->sink = sink;
	p->fd = -1;
	p->name = sc->name;
	const struct cr_rtsp_sink_opts_s *opts = sink->cfg->opts;
	if (cr_rtsp_parse_url(opts->url, &p->url) < 0 || !p->url.host[0]) {
		snprintf(sink->error, sizeof(sink->error), "rtsp sink (line %d): \"%s\" is not rtsp://[user:pass@]host[:port]/path",
			 sink->cfg->line, opts->url);
		free(p);
		return -EINVAL;
	}
	bool v6 = strchr(p->url.host, ':') != NULL;
	snprintf(p->url_text, sizeof(p->url_text), "rtsp://%s%s%s:%d/%s%s%s", v6 ? "[" : "", p->url.host, v6 ? "]" : "",
		 p->url.port, p->url.path, p->url.query[0] ? "?" : "", p->url.query);
	struct cr_encoder_cfg_s enc;
	cr_rtp_stream_encoder(sc, CR_CODEC_H264, &enc);
	uint32_t rnd[3];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd[0] = rnd[1] = rnd[2] = (uint32_t)rand();
	cr_rtp_init(&p->rtp, enc.codec, 96, rnd[0], (uint16_t)rnd[1]);
	p->rtp.emit = _emit;
	p->rtp.opaque = p;
	p->rtp.vp9_minimal = true;
	p->ts_offset = rnd[2];
	char name[140];
	snprintf(name, sizeof(name), "rtsp push %s", p->url_text);
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = enc, .depth = 8, .name = name};
	p->sub = cr_stream_subscribe(sink->stream, &req);
	atomic_store(&p->running, true);
	if (!p->sub || pthread_create(&p->thread, NULL, _thread, p) != 0) {
		snprintf(sink->error, sizeof(sink->error), "rtsp sink: cannot %s",
			 p->sub ? "start its thread" : "subscribe to the stream");
		if (p->sub)
			cr_stream_unsubscribe(p->sub);
		free(p);
		return -ENOMEM;
	}
	sink->priv = p;
	CR_LOG_I(sc->name, "rtsp sink: publishing %s to %s", cr_codec_name(enc.codec), p->url_text);
	return 0;
}

static void _close(struct cr_sink_s *sink)
{
	struct _push_s *p = sink->priv;
	if (!p)
		return;
	atomic_store(&p->running, false); /* blocking calls time out within _IO_TIMEOUT_MS */
	pthread_join(p->thread, NULL);
	cr_stream_unsubscribe(p->sub);
	explicit_bzero(&p->url, sizeof(p->url));
	free(p);
	sink->priv = NULL;
}

static int _load_url(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		     const struct cr_option_s *o, void *block)
{
	struct cr_rtsp_sink_opts_s *sink = block;
	const struct cr_toml_s *url = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_get_str(c, t, path, o->key, sink->url, sizeof(sink->url), &url);
	if (rc > 0 && (strncmp(sink->url, "rtsp://", 7) != 0 || !sink->url[7] || sink->url[7] == '/'))
		return CR_CFG_FAIL(c, url, cr_cfg_sub(sub, sizeof(sub), path, o->key),
				   "\"%.200s\" is not an rtsp:// URL (rtsp://[user:password@]server[:port]/path)", sink->url);
	return rc;
}

static const struct cr_option_s _options[] = {
	{.key = "url", .type = CR_OPT_CUSTOM, .offset = offsetof(struct cr_rtsp_sink_opts_s, url),
	 .size = sizeof(((struct cr_rtsp_sink_opts_s *)0)->url), .load = _load_url,
	 .required = " (an rtsp sink publishes to rtsp://server:8554/path)",
	 .help = "rtsp://[user:password@]server[:port]/path to publish to"},
	CR_OPTS_END,
};

static const struct cr_sink_caps_s _caps = {.codecs = cr_rtp_codecs}; /* video only */

const struct cr_sink_ops_s cr_sink_rtsp = {
	.name = "rtsp",
	.type = CR_SINK_RTSP,
	.options = _options,
	.opts_size = sizeof(struct cr_rtsp_sink_opts_s),
	.caps = &_caps,
	.open = _open,
	.close = _close,
};
