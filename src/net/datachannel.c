/* The DataChannel <-> UDP bridge; see datachannel.h. */
#include "net/datachannel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hostport.h"
#include "core/log.h"
#include "net/dcep.h"
#include "net/sctp.h"

const bool cr_dc_available = true;

#define _SCTP_PORT 5000   /* ours, as every WebRTC stack answers */
#define _MAX_CHANNELS 64  /* the config's max_channels is at most this */
#define _TIMER_MS 10      /* usrsctp's clock (retransmissions, delayed SACKs) */
#define _UDP_ROUNDS 64    /* datagrams read per wake-up */

/* Arrival stamps of a reliable channel's messages that usrsctp has not sent
 * yet, oldest first: its stream sends them in that order (RFC 9260 6.6). */
struct _stamp_s {
	int64_t arrival, read; /* the kernel's receipt, the loop's read (monotonic ns) */
};
struct _stamps_s {
	struct _stamp_s *t;
	uint32_t head, n, cap;
	bool off; /* grew past _MAX_STAMPS: this channel's delays are not measured */
};
#define _MAX_STAMPS 65536

struct _chan_s {
	uint16_t sid;
	bool ordered;
	int pr_policy; /* 0 reliable, 1 retransmissions, 2 milliseconds */
	uint32_t pr_value;
	struct _stamps_s q;
};

struct _bridge_s {
	const struct cr_datachannel_cfg_s *cfg;
	char name[64];
	int fd;      /* bound to listen, or -1 */
	int send_fd; /* datagrams out (fd when the families match) */
	struct event *ev;
	struct sockaddr_storage fwd, last;
	socklen_t fwd_len, last_len;
	struct cr_dc_stats_s st;
	struct cr_dc_peer_s *peers;
};

struct cr_dc_s {
	struct event_base *base;
	int n;
	struct _bridge_s b[CR_MAX_STREAMS];
	struct event *timer;
	bool timer_on, held;
};

struct cr_dc_peer_s {
	struct cr_dc_s *dc;
	struct _bridge_s *b;
	struct cr_dc_peer_s *next;
	char id[40];
	uint16_t remote_port;
	uint64_t peer_max;
	cr_dc_send_fn send;
	void *opaque;
	struct cr_sctp_s *sctp;
	bool up, tsn_seen;
	uint32_t tsn_high; /* the highest TSN sent: lower ones are retransmissions */
	int n_ch;
	struct _chan_s ch[_MAX_CHANNELS];
	double tokens; /* messages this viewer may still send (viewer_rate per second) */
	int64_t tokens_ns;
	struct cr_dc_stats_s st;
};

/* Every count of a viewer also counts for its stream. */
#define _ADD(p, field, n) ((p)->st.field += (n), (p)->b->st.field += (n))

/* ---- addresses ---- */

static socklen_t _sockaddr(const char *text, struct sockaddr_storage *out)
{
	char host[128], port[16];
	memset(out, 0, sizeof(*out));
	if (cr_hostport_split(text, host, sizeof(host), port, sizeof(port)) < 0)
		return 0;
	struct sockaddr_in *a4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)atoi(port));
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)atoi(port));
		return sizeof(*a6);
	}
	return 0;
}

/* A UDP socket bound to text; -errno. */
static int _bind(const char *text)
{
	struct sockaddr_storage a;
	socklen_t len = _sockaddr(text, &a);
	if (!len)
		return -EINVAL;
	int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int buf = 1 << 20, one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)); /* for the delay counters */
	if (bind(fd, (struct sockaddr *)&a, len) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int cr_dc_check_config(const struct cr_config_s *cfg, char *err, size_t errlen)
{
	for (int i = 0; i < cfg->n_streams; i++) {
		const struct cr_datachannel_cfg_s *d = &cfg->streams[i]->datachannel;
		if (!d->present || !d->listen[0])
			continue;
		int fd = _bind(d->listen);
		if (fd < 0) {
			snprintf(err, errlen,
				 "%s:%d:%d: stream.%s.datachannel.listen: cannot bind UDP %s: %s (another program "
				 "uses it? choose another port)",
				 cfg->path, d->listen_line, d->listen_col, cfg->streams[i]->name, d->listen, strerror(-fd));
			return fd;
		}
		close(fd);
	}
	return 0;
}

/* ---- viewers: channels and messages ---- */

/* ---- how long messages stay inside camrelay ---- */

static void _stamp_push(struct _stamps_s *q, struct _stamp_s at)
{
	if (q->off)
		return;
	if (q->n == q->cap) {
		uint32_t cap = q->cap ? 2 * q->cap : 64;
		struct _stamp_s *t = cap <= _MAX_STAMPS ? malloc(cap * sizeof(*t)) : NULL;
		if (!t) {
			free(q->t);
			*q = (struct _stamps_s){.off = true};
			return;
		}
		for (uint32_t i = 0; i < q->n; i++)
			t[i] = q->t[(q->head + i) % q->cap];
		free(q->t);
		q->t = t;
		q->head = 0;
		q->cap = cap;
	}
	q->t[(q->head + q->n++) % q->cap] = at;
}

static void _chan_close(struct _chan_s *c)
{
	free(c->q.t);
	c->q = (struct _stamps_s){0};
}

static void _delay(struct cr_dc_peer_s *p, struct _stamp_s at)
{
	int64_t ns = cr_now_ns() - at.arrival;
	uint64_t ms = ns > 0 ? (uint64_t)(ns / 1000000) : 0;
	_ADD(p, delay_count, 1);
	_ADD(p, delay_le_10ms, ns <= 10000000);
	_ADD(p, delay_le_100ms, ns <= 100000000);
	_ADD(p, delay_le_1s, ns <= 1000000000);
	_ADD(p, delay_sum_us, ns > 0 ? (uint64_t)(ns / 1000) : 0);
	if (ms > p->st.delay_max_ms)
		p->st.delay_max_ms = ms;
	if (ms > p->b->st.delay_max_ms)
		p->b->st.delay_max_ms = ms;
}

static struct _chan_s *_chan(struct cr_dc_peer_s *p, uint16_t sid)
{
	for (int i = 0; i < p->n_ch; i++)
		if (p->ch[i].sid == sid)
			return &p->ch[i];
	return NULL;
}

static void _refuse(struct cr_dc_peer_s *p, uint16_t sid, const char *why)
{
	_ADD(p, channels_refused, 1);
	CR_LOG_D("datachannel", "viewer %s: channel on stream %u refused: %s", p->id, sid, why);
	cr_sctp_reset_stream(p->sctp, sid);
}

static void _on_dcep(struct cr_dc_peer_s *p, uint16_t sid, const uint8_t *d, size_t len)
{
	if (len == 1 && d[0] == CR_DCEP_ACK)
		return; /* we open no channels ourselves; nothing to acknowledge */
	struct cr_dcep_open_s o;
	int r = cr_dcep_parse_open(d, len, &o);
	const struct cr_datachannel_cfg_s *cfg = p->b->cfg;
	if (r < 0) {
		_ADD(p, dcep_bad, 1);
		_refuse(p, sid, r == -E2BIG ? "label too long" : "malformed DATA_CHANNEL_OPEN");
		return;
	}
	if (_chan(p, sid)) {
		_ADD(p, dcep_bad, 1); /* a second OPEN on an open channel: the channel stays as it is */
		return;
	}
	if (cfg->label[0] && strcmp(o.label, cfg->label) != 0) {
		_refuse(p, sid, "label not bridged");
		return;
	}
	if (p->n_ch >= cfg->max_channels || p->n_ch >= _MAX_CHANNELS) {
		_refuse(p, sid, "too many channels");
		return;
	}
	static const uint8_t ack = CR_DCEP_ACK;
	if (cr_sctp_send(p->sctp, sid, CR_PPID_DCEP, false, 0, 0, &ack, 1) < 0) {
		_refuse(p, sid, "cannot acknowledge");
		return;
	}
	struct _chan_s *c = &p->ch[p->n_ch++];
	*c = (struct _chan_s){0};
	c->sid = sid;
	c->ordered = o.ordered;
	c->pr_policy = (int)o.reliability;
	c->pr_value = o.reliability_param;
	_ADD(p, channels_opened, 1);
	_ADD(p, channels_open, 1);
	CR_LOG_I("datachannel", "viewer %s of stream %s: channel \"%s\" open (%s, %s)", p->id, p->b->name, o.label,
		 o.ordered ? "ordered" : "unordered",
		 o.reliability == CR_DCEP_RELIABLE ? "reliable" : o.reliability == CR_DCEP_REXMIT ? "max retransmits" : "max lifetime");
}

static bool _take_token(struct cr_dc_peer_s *p)
{
	int64_t now = cr_now_ns();
	double rate = p->b->cfg->viewer_rate;
	p->tokens += (double)(now - p->tokens_ns) * rate / 1e9;
	p->tokens_ns = now;
	if (p->tokens > rate)
		p->tokens = rate; /* a burst of one second's worth */
	if (p->tokens < 1)
		return false;
	p->tokens -= 1;
	return true;
}

static void _on_message(void *opaque, uint16_t sid, uint32_t ppid, const uint8_t *d, size_t len)
{
	struct cr_dc_peer_s *p = opaque;
	struct _bridge_s *b = p->b;
	if (ppid == CR_PPID_DCEP) {
		_on_dcep(p, sid, d, len);
		return;
	}
	if (!_chan(p, sid) || (ppid != CR_PPID_STRING && ppid != CR_PPID_BINARY && ppid != CR_PPID_STRING_EMPTY &&
			       ppid != CR_PPID_BINARY_EMPTY)) {
		_ADD(p, dcep_bad, 1); /* data before an OPEN, or of no WebRTC type */
		return;
	}
	if (!_take_token(p)) {
		_ADD(p, rate_limited, 1);
		return;
	}
	if (ppid == CR_PPID_STRING_EMPTY || ppid == CR_PPID_BINARY_EMPTY)
		len = 0;
	_ADD(p, from_viewers, 1);
	_ADD(p, from_viewers_bytes, len);
	const struct sockaddr_storage *to = b->fwd_len ? &b->fwd : &b->last;
	socklen_t to_len = b->fwd_len ? b->fwd_len : b->last_len;
	if (b->cfg->direction == CR_DC_TO_VIEWERS || !to_len || b->send_fd < 0) {
		_ADD(p, no_target, 1);
		return;
	}
	if (sendto(b->send_fd, d, len, 0, (const struct sockaddr *)to, to_len) < 0) {
		if (errno == EMSGSIZE)
			_ADD(p, oversized, 1);
		else
			_ADD(p, udp_errors, 1);
		return;
	}
	b->st.udp_out++;
	b->st.udp_out_bytes += len;
}

static void _on_oversized(void *opaque, uint16_t sid, size_t len)
{
	struct cr_dc_peer_s *p = opaque;
	_ADD(p, oversized, 1);
	CR_LOG_D("datachannel", "viewer %s: a message of %zu bytes refused (max_message_size %d)", p->id, len,
		 p->b->cfg->max_message_size);
}

static void _on_reset(void *opaque, uint16_t sid)
{
	struct cr_dc_peer_s *p = opaque;
	struct _chan_s *c = _chan(p, sid);
	if (!c)
		return; /* the answer to a reset of ours */
	_chan_close(c);
	*c = p->ch[--p->n_ch];
	_ADD(p, channels_open, (uint64_t)-1);
	cr_sctp_reset_stream(p->sctp, sid); /* closes our half too (RFC 8831 6.7) */
}

static void _on_state(void *opaque, bool up)
{
	struct cr_dc_peer_s *p = opaque;
	if (up == p->up)
		return;
	p->up = up;
	p->b->st.viewers += up ? 1 : (uint64_t)-1;
	if (!up) {
		_ADD(p, channels_open, (uint64_t)-(int64_t)p->n_ch);
		for (int i = 0; i < p->n_ch; i++)
			_chan_close(&p->ch[i]);
		p->n_ch = 0;
	}
	CR_LOG_I("datachannel", "viewer %s of stream %s: SCTP association %s", p->id, p->b->name, up ? "up" : "ended");
}

/* A DATA chunk leaving: the first transmission of a bridged message's last
 * piece ends that message's time inside camrelay. */
static void _on_chunk(void *opaque, const struct cr_sctp_data_s *d)
{
	struct cr_dc_peer_s *p = opaque;
	if (p->tsn_seen && (int32_t)(d->tsn - p->tsn_high) <= 0)
		return; /* a retransmission */
	p->tsn_seen = true;
	p->tsn_high = d->tsn;
	struct _chan_s *c = _chan(p, d->sid);
	if (!c || !(d->flags & CR_SCTP_DATA_END) || d->ppid == CR_PPID_DCEP || c->pr_policy || !c->q.n)
		return;
	struct _stamp_s at = c->q.t[c->q.head];
	c->q.head = (c->q.head + 1) % c->q.cap;
	c->q.n--;
	_delay(p, at);
}

static void _on_output(void *opaque, const uint8_t *d, size_t len)
{
	struct cr_dc_peer_s *p = opaque;
	p->send(p->opaque, d, len);
	cr_sctp_data_chunks(d, len, _on_chunk, p);
}

/* ---- UDP side ---- */

static void _broadcast(struct _bridge_s *b, const uint8_t *d, size_t len, struct _stamp_s at)
{
	static const uint8_t zero = 0;
	bool text = b->cfg->message_type == CR_DC_TEXT || (b->cfg->message_type == CR_DC_AUTO && cr_dcep_is_text(d, len));
	uint32_t ppid = text ? CR_PPID_STRING : CR_PPID_BINARY;
	const uint8_t *data = d;
	size_t n = len;
	if (len == 0) { /* an empty message is sent as one byte of its own type (RFC 8831 6.6) */
		ppid = text ? CR_PPID_STRING_EMPTY : CR_PPID_BINARY_EMPTY;
		data = &zero;
		n = 1;
	}
	for (struct cr_dc_peer_s *p = b->peers; p; p = p->next) {
		for (int i = 0; p->up && i < p->n_ch; i++) {
			if (p->peer_max && len > p->peer_max) {
				_ADD(p, oversized, 1);
				continue;
			}
			struct _chan_s *c = &p->ch[i];
			if (!c->pr_policy) /* before: the message may leave inside cr_sctp_send */
				_stamp_push(&c->q, at);
			bool prompt = cr_now_ns() - at.read <= 100000000;
			int r = cr_sctp_send(p->sctp, c->sid, ppid, !c->ordered, c->pr_policy, c->pr_value, data, n);
			if (r < 0 && !c->pr_policy && c->q.n)
				c->q.n--; /* not queued: its stamp goes again */
			else if (r == 0 && !c->pr_policy && c->q.n)
				_ADD(p, window_waits, 1); /* usrsctp holds it for the viewer's window */
			if (r == 0) {
				_ADD(p, to_viewers, 1);
				_ADD(p, handed_le_100ms, prompt);
				_ADD(p, to_viewers_bytes, len);
			} else {
				_ADD(p, dropped_full, 1); /* its buffer is full (or its association is going) */
			}
		}
	}
}

/* When the kernel received the datagram (SO_TIMESTAMPNS, the wall clock),
 * on the monotonic clock; now when it did not say. */
static int64_t _arrival(struct msghdr *mh)
{
	int64_t now = cr_now_ns();
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts, wall;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			clock_gettime(CLOCK_REALTIME, &wall);
			int64_t age = (wall.tv_sec - ts.tv_sec) * 1000000000LL + (wall.tv_nsec - ts.tv_nsec);
			return age > 0 ? now - age : now;
		}
	return now;
}

static void _on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct _bridge_s *b = arg;
	static uint8_t buf[65536];
	for (int i = 0; i < _UDP_ROUNDS; i++) {
		struct sockaddr_storage from;
		union {
			struct cmsghdr align;
			uint8_t b[CMSG_SPACE(sizeof(struct timespec))];
		} ctl;
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
		ssize_t n = recvmsg(fd, &mh, MSG_TRUNC);
		if (n < 0)
			break;
		socklen_t fl = mh.msg_namelen;
		b->st.udp_in++;
		b->st.udp_in_bytes += (uint64_t)n;
		memcpy(&b->last, &from, fl);
		b->last_len = fl;
		if (b->cfg->direction == CR_DC_FROM_VIEWERS)
			continue;
		if ((size_t)n > sizeof(buf) || n > b->cfg->max_message_size) {
			b->st.oversized++;
			continue;
		}
		struct _stamp_s at = {.arrival = _arrival(&mh), .read = cr_now_ns()};
		uint64_t wait_ms = (uint64_t)((at.read - at.arrival) / 1000000);
		b->st.read_waits_over_100ms += wait_ms > 100;
		if (wait_ms > b->st.read_wait_max_ms)
			b->st.read_wait_max_ms = wait_ms;
		_broadcast(b, buf, (size_t)n, at);
	}
}

static void _on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cr_dc_s *dc = arg;
	cr_sctp_timers();
	if (!cr_sctp_active()) {
		event_del(dc->timer);
		dc->timer_on = false;
	}
}

/* ---- life cycle ---- */

static int _open_bridge(struct cr_dc_s *dc, struct _bridge_s *b, char *err, size_t errlen)
{
	const struct cr_datachannel_cfg_s *c = b->cfg;
	b->fd = b->send_fd = -1;
	if (c->forward[0])
		b->fwd_len = _sockaddr(c->forward, &b->fwd);
	if (c->listen[0]) {
		b->fd = _bind(c->listen);
		if (b->fd < 0) {
			snprintf(err, errlen, "stream %s: datachannel listen %s: cannot bind UDP: %s", b->name, c->listen,
				 strerror(-b->fd));
			return b->fd;
		}
		b->ev = event_new(dc->base, b->fd, EV_READ | EV_PERSIST, _on_udp, b);
		if (!b->ev || event_add(b->ev, NULL) < 0) {
			snprintf(err, errlen, "stream %s: datachannel: cannot watch the UDP socket", b->name);
			return -ENOMEM;
		}
	}
	struct sockaddr_storage l;
	bool same = b->fd >= 0 && (!b->fwd_len || (_sockaddr(c->listen, &l) && l.ss_family == b->fwd.ss_family));
	if (same)
		b->send_fd = b->fd; /* replies from the device come back to listen */
	else if (b->fwd_len)
		b->send_fd = socket(b->fwd.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CR_LOG_I("datachannel", "stream %s: data channels%s%s <-> UDP %s%s%s", b->name, c->label[0] ? " labelled " : "",
		 c->label, c->listen[0] ? c->listen : "-", " -> ", c->forward[0] ? c->forward : "last sender");
	return 0;
}

struct cr_dc_s *cr_dc_new(struct event_base *base, const char *cfg_path,
			  const struct cr_stream_cfg_s *const *cfgs, int n, char *err, size_t errlen)
{
	struct cr_dc_s *dc = calloc(1, sizeof(*dc));
	if (!dc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dc->base = base;
	dc->n = n < CR_MAX_STREAMS ? n : CR_MAX_STREAMS;
	for (int i = 0; i < dc->n; i++) {
		struct _bridge_s *b = &dc->b[i];
		b->fd = b->send_fd = -1;
		snprintf(b->name, sizeof(b->name), "%s", cfgs[i]->name);
		if (!cfgs[i]->datachannel.present)
			continue;
		b->cfg = &cfgs[i]->datachannel;
		if (_open_bridge(dc, b, err, errlen) < 0) {
			cr_dc_free(dc);
			return NULL;
		}
		if (!dc->held) {
			cr_sctp_hold();
			dc->held = true;
		}
	}
	dc->timer = event_new(base, -1, EV_PERSIST, _on_timer, dc);
	if (!dc->timer) {
		snprintf(err, errlen, "out of memory");
		cr_dc_free(dc);
		return NULL;
	}
	return dc;
}

void cr_dc_free(struct cr_dc_s *dc)
{
	if (!dc)
		return;
	for (int i = 0; i < dc->n; i++) {
		struct _bridge_s *b = &dc->b[i];
		while (b->peers)
			cr_dc_peer_free(b->peers);
		if (b->ev)
			event_free(b->ev);
		if (b->send_fd >= 0 && b->send_fd != b->fd)
			close(b->send_fd);
		if (b->fd >= 0)
			close(b->fd);
	}
	if (dc->timer)
		event_free(dc->timer);
	if (dc->held)
		cr_sctp_release();
	free(dc);
}

const struct cr_datachannel_cfg_s *cr_dc_config(const struct cr_dc_s *dc, int stream)
{
	return dc && stream >= 0 && stream < dc->n ? dc->b[stream].cfg : NULL;
}

struct cr_dc_peer_s *cr_dc_peer_new(struct cr_dc_s *dc, int stream, const char *viewer_id, uint16_t remote_port,
				    uint64_t peer_max, cr_dc_send_fn send, void *opaque)
{
	if (!cr_dc_config(dc, stream))
		return NULL;
	struct cr_dc_peer_s *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->dc = dc;
	p->b = &dc->b[stream];
	snprintf(p->id, sizeof(p->id), "%s", viewer_id);
	p->remote_port = remote_port ? remote_port : _SCTP_PORT;
	p->peer_max = peer_max;
	p->send = send;
	p->opaque = opaque;
	p->tokens = p->b->cfg->viewer_rate;
	p->tokens_ns = cr_now_ns();
	p->next = p->b->peers;
	p->b->peers = p;
	return p;
}

int cr_dc_peer_start(struct cr_dc_peer_s *p, char *err, size_t errlen)
{
	const struct cr_datachannel_cfg_s *c = p->b->cfg;
	static const struct cr_sctp_cb_s cb = {.output = _on_output, .message = _on_message,
					       .oversized = _on_oversized, .stream_reset = _on_reset,
					       .state = _on_state};
	struct cr_sctp_opts_s o = {.local_port = _SCTP_PORT, .remote_port = p->remote_port,
				   .sndbuf = c->viewer_buffer, .rcvbuf = 2 * c->max_message_size + 65536,
				   .max_message = (size_t)c->max_message_size};
	if (p->sctp)
		return 0;
	p->sctp = cr_sctp_new(&o, &cb, p, err, errlen);
	if (!p->sctp)
		return -EIO;
	if (!p->dc->timer_on) {
		struct timeval tv = {0, _TIMER_MS * 1000};
		event_add(p->dc->timer, &tv);
		p->dc->timer_on = true;
	}
	return 0;
}

void cr_dc_peer_input(struct cr_dc_peer_s *p, const uint8_t *data, size_t len)
{
	if (!p->sctp)
		return;
	if (cr_sctp_input(p->sctp, data, len) < 0)
		_ADD(p, sctp_rejected, 1);
}

void cr_dc_peer_free(struct cr_dc_peer_s *p)
{
	if (!p)
		return;
	if (p->up)
		_on_state(p, false);
	cr_sctp_free(p->sctp);
	for (int i = 0; i < p->n_ch; i++)
		_chan_close(&p->ch[i]);
	for (struct cr_dc_peer_s **q = &p->b->peers; *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	free(p);
}

void cr_dc_peer_stats(const struct cr_dc_peer_s *p, struct cr_dc_stats_s *out)
{
	*out = p->st;
	out->viewers = p->up;
	out->abandoned = 0;
	out->n_channels = 0;
	for (int i = 0; i < p->n_ch; i++) {
		const struct _chan_s *c = &p->ch[i];
		uint64_t n = 0;
		if (c->pr_policy && p->sctp)
			cr_sctp_abandoned(p->sctp, c->sid, &n);
		out->abandoned += n;
		if (out->n_channels < CR_DC_CHANNELS_SHOWN)
			out->channels[out->n_channels++] = (struct cr_dc_chan_info_s){
				.sid = c->sid, .ordered = c->ordered, .reliability = (uint8_t)c->pr_policy,
				.reliability_param = c->pr_value, .abandoned = n};
	}
}

void cr_dc_stream_stats(const struct cr_dc_s *dc, int stream, struct cr_dc_stats_s *out)
{
	memset(out, 0, sizeof(*out));
	if (cr_dc_config(dc, stream))
		*out = dc->b[stream].st;
}

void cr_dc_metrics(const struct cr_dc_s *dc, struct evbuffer *out)
{
	for (int i = 0; dc && i < dc->n; i++) {
		const struct _bridge_s *b = &dc->b[i];
		if (!b->cfg)
			continue;
		const struct cr_dc_stats_s *s = &b->st;
		const struct {
			const char *name;
			uint64_t v;
		} m[] = {
			{"udp_in_total", s->udp_in}, {"udp_in_bytes_total", s->udp_in_bytes},
			{"udp_out_total", s->udp_out}, {"udp_out_bytes_total", s->udp_out_bytes},
			{"to_viewers_total", s->to_viewers}, {"to_viewers_bytes_total", s->to_viewers_bytes},
			{"from_viewers_total", s->from_viewers}, {"from_viewers_bytes_total", s->from_viewers_bytes},
			{"dropped_full_total", s->dropped_full}, {"oversized_total", s->oversized},
			{"rate_limited_total", s->rate_limited}, {"no_target_total", s->no_target},
			{"udp_errors_total", s->udp_errors}, {"channels_opened_total", s->channels_opened},
			{"channels_refused_total", s->channels_refused}, {"dcep_bad_total", s->dcep_bad},
			{"sctp_rejected_total", s->sctp_rejected}, {"channels_open", s->channels_open},
			{"viewers", s->viewers}, {"window_waits_total", s->window_waits},
			{"read_waits_over_100ms_total", s->read_waits_over_100ms},
		};
		for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++)
			evbuffer_add_printf(out, "camrelay_datachannel_%s{stream=\"%s\"} %llu\n", m[k].name, b->name,
					    (unsigned long long)m[k].v);
		const struct {
			const char *le;
			uint64_t v;
		} h[] = {{"0.01", s->delay_le_10ms}, {"0.1", s->delay_le_100ms}, {"1", s->delay_le_1s},
			 {"+Inf", s->delay_count}};
		for (size_t k = 0; k < sizeof(h) / sizeof(h[0]); k++)
			evbuffer_add_printf(out, "camrelay_datachannel_delay_seconds_bucket{stream=\"%s\",le=\"%s\"} %llu\n",
					    b->name, h[k].le, (unsigned long long)h[k].v);
		evbuffer_add_printf(out,
				    "camrelay_datachannel_delay_seconds_sum{stream=\"%s\"} %.6f\n"
				    "camrelay_datachannel_delay_seconds_count{stream=\"%s\"} %llu\n",
				    b->name, (double)s->delay_sum_us / 1e6, b->name, (unsigned long long)s->delay_count);
	}
}
