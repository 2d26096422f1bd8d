/* SCTP associations on usrsctp; see sctp.h. */
#include "net/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include "core/clock.h"
#include "core/log.h"

#define _STREAMS 1024   /* each way; a viewer's channels are capped far below */
#define _SCTP_MTU 1180  /* + DTLS record overhead stays under 1280 (IPv6's minimum path MTU) */
#define _READ_CHUNK 16384
#define _PR_ALL 0x000f  /* SCTP_PR_SCTP_ALL (RFC 7496 4.3), which usrsctp.h lacks: every policy together */

struct cr_sctp_s {
	struct cr_sctp_s *next; /* the live list: usrsctp's callbacks are checked against it */
	struct socket *so;
	struct cr_sctp_cb_s cb;
	void *opaque;
	size_t max_message;
	bool up, pending, dead;
	/* The message being reassembled (usrsctp hands large ones in parts). */
	uint8_t *msg;
	size_t msg_len, msg_cap, msg_total;
	bool discarding;
	uint16_t msg_sid;
	uint32_t msg_ppid;
};

/* usrsctp's callbacks may come from its iterator thread too; the list they
 * check is guarded, the rest runs on the owner's thread. */
static pthread_mutex_t _lock = PTHREAD_MUTEX_INITIALIZER;
static struct cr_sctp_s *_live;
static int _users;
static int64_t _last_tick_ns;

static bool _is_live(const struct cr_sctp_s *s)
{
	for (const struct cr_sctp_s *i = _live; i; i = i->next)
		if (i == s)
			return true;
	return false;
}

/* usrsctp: send one packet to the AF_CONN address, which is our object. */
static int _conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
	struct cr_sctp_s *s = addr;
	pthread_mutex_lock(&_lock);
	bool ok = _is_live(s) && !s->dead;
	pthread_mutex_unlock(&_lock);
	if (ok)
		s->cb.output(s->opaque, buf, len);
	return 0;
}

/* Inside usrsctp (its locks may be held): only note that there is work. */
static void _upcall(struct socket *so, void *arg, int flags)
{
	struct cr_sctp_s *s = arg;
	s->pending = true;
}

static void _global_ref(void)
{
	if (_users++ == 0) {
		usrsctp_init_nothreads(0, _conn_output, NULL);
		/* Browsers' stacks do not use ECN; the rest are usrsctp's defaults. */
		usrsctp_sysctl_set_sctp_ecn_enable(0);
		usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
		_last_tick_ns = cr_now_ns();
	}
}

static void _global_unref(void)
{
	if (--_users > 0)
		return;
	/* Closed sockets are freed by usrsctp's timers: run them until it lets go. */
	for (int i = 0; i < 500; i++) {
		if (usrsctp_finish() == 0)
			return;
		usrsctp_handle_timers(100);
	}
	CR_LOG_W("sctp", "usrsctp did not finish (sockets still open)");
}

bool cr_sctp_active(void) { return _live != NULL; }
bool cr_sctp_up(const struct cr_sctp_s *s) { return s->up; }

static void _notification(struct cr_sctp_s *s, const uint8_t *p, size_t len)
{
	union sctp_notification n;
	if (len < sizeof(n.sn_header))
		return;
	memset(&n, 0, sizeof(n));
	memcpy(&n, p, len < sizeof(n) ? len : sizeof(n));
	if (n.sn_header.sn_type == SCTP_ASSOC_CHANGE && len >= sizeof(struct sctp_assoc_change)) {
		uint16_t st = n.sn_assoc_change.sac_state;
		bool up = st == SCTP_COMM_UP || st == SCTP_RESTART;
		if (up != s->up) {
			s->up = up;
			s->cb.state(s->opaque, up);
		}
	} else if (n.sn_header.sn_type == SCTP_STREAM_RESET_EVENT && len >= sizeof(struct sctp_stream_reset_event)) {
		const struct sctp_stream_reset_event *e = (const void *)p;
		uint16_t flags;
		memcpy(&flags, &e->strreset_flags, sizeof(flags));
		if (!(flags & SCTP_STREAM_RESET_INCOMING_SSN) || (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)))
			return;
		size_t k = (len - sizeof(*e)) / sizeof(uint16_t);
		for (size_t i = 0; i < k; i++) {
			uint16_t sid;
			memcpy(&sid, p + sizeof(*e) + i * sizeof(uint16_t), sizeof(sid));
			s->cb.stream_reset(s->opaque, sid);
		}
	}
}

/* One part of a message: kept (growing the buffer up to max_message) or,
 * past the limit, dropped until its end. */
static void _part(struct cr_sctp_s *s, const uint8_t *p, size_t n)
{
	s->msg_total += n;
	if (s->discarding)
		return;
	if (s->msg_len + n > s->max_message) {
		s->discarding = true;
		return;
	}
	if (s->msg_len + n > s->msg_cap) {
		size_t cap = s->msg_cap ? s->msg_cap : 4096;
		while (cap < s->msg_len + n)
			cap *= 2;
		if (cap > s->max_message)
			cap = s->max_message;
		uint8_t *m = realloc(s->msg, cap);
		if (!m) {
			s->discarding = true;
			return;
		}
		s->msg = m;
		s->msg_cap = cap;
	}
	memcpy(s->msg + s->msg_len, p, n);
	s->msg_len += n;
}

static void _process(struct cr_sctp_s *s)
{
	static uint8_t buf[_READ_CHUNK]; /* one thread */
	s->pending = false;
	while (s->so && !s->dead) {
		struct sctp_rcvinfo rcv;
		socklen_t infolen = sizeof(rcv), fromlen = sizeof(struct sockaddr_conn);
		struct sockaddr_conn from;
		unsigned infotype = 0;
		int flags = 0;
		memset(&rcv, 0, sizeof(rcv));
		ssize_t n = usrsctp_recvv(s->so, buf, sizeof(buf), (struct sockaddr *)&from, &fromlen, &rcv, &infolen,
					  &infotype, &flags);
		if (n < 0)
			break; /* EWOULDBLOCK: nothing more now */
		if (n == 0) {
			if (s->up) {
				s->up = false;
				s->cb.state(s->opaque, false);
			}
			break;
		}
		if (flags & MSG_NOTIFICATION) {
			_notification(s, buf, (size_t)n);
			continue;
		}
		if (s->msg_total == 0) {
			s->msg_sid = rcv.rcv_sid;
			s->msg_ppid = ntohl(rcv.rcv_ppid);
		}
		_part(s, buf, (size_t)n);
		if (!(flags & MSG_EOR))
			continue;
		if (s->discarding)
			s->cb.oversized(s->opaque, s->msg_sid, s->msg_total);
		else
			s->cb.message(s->opaque, s->msg_sid, s->msg_ppid, s->msg, s->msg_len);
		s->msg_len = s->msg_total = 0;
		s->discarding = false;
	}
}

/* Reads of every association usrsctp flagged, after it has returned. */
static void _run_pending(void)
{
	struct cr_sctp_s *s;
	do {
		for (s = _live; s && !s->pending; s = s->next)
			;
		if (s)
			_process(s);
	} while (s);
}

void cr_sctp_hold(void) { _global_ref(); }
void cr_sctp_release(void) { _global_unref(); }

void cr_sctp_timers(void)
{
	if (_users == 0)
		return;
	int64_t now = cr_now_ns(), ms = (now - _last_tick_ns) / 1000000;
	if (ms <= 0)
		return;
	_last_tick_ns += ms * 1000000;
	usrsctp_handle_timers((uint32_t)(ms > 10000 ? 10000 : ms));
	_run_pending();
}

static int _opt(struct cr_sctp_s *s, int level, int name, const void *v, socklen_t len, const char *what,
		char *err, size_t errlen)
{
	if (usrsctp_setsockopt(s->so, level, name, v, len) == 0)
		return 0;
	snprintf(err, errlen, "SCTP: cannot set %s: %s", what, strerror(errno));
	return -EIO;
}

static int _setup(struct cr_sctp_s *s, const struct cr_sctp_opts_s *o, char *err, size_t errlen)
{
	int one = 1;
	struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close = ABORT: nothing lingers after a viewer */
	struct sctp_assoc_value reset = {.assoc_id = SCTP_ALL_ASSOC, .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
	struct sctp_initmsg init = {.sinit_num_ostreams = _STREAMS, .sinit_max_instreams = _STREAMS};
	struct sctp_paddrparams pp;
	memset(&pp, 0, sizeof(pp));
	pp.spp_flags = SPP_PMTUD_DISABLE;
	pp.spp_pathmtu = _SCTP_MTU;
	if (usrsctp_set_non_blocking(s->so, 1) < 0 || usrsctp_set_upcall(s->so, _upcall, s) < 0) {
		snprintf(err, errlen, "SCTP: cannot make the socket non-blocking: %s", strerror(errno));
		return -EIO;
	}
	int rc;
	if ((rc = _opt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), "SO_LINGER", err, errlen)) < 0 ||
	    (rc = _opt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof(reset), "stream reset", err, errlen)) < 0 ||
	    (rc = _opt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &one, sizeof(one), "RECVRCVINFO", err, errlen)) < 0 ||
	    (rc = _opt(s, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one), "NODELAY", err, errlen)) < 0 ||
	    (rc = _opt(s, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init), "INITMSG", err, errlen)) < 0 ||
	    (rc = _opt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp), "path MTU", err, errlen)) < 0 ||
	    (rc = _opt(s, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(int), "SO_SNDBUF", err, errlen)) < 0 ||
	    (rc = _opt(s, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(int), "SO_RCVBUF", err, errlen)) < 0)
		return rc;
	static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT};
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
		if ((rc = _opt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "SCTP_EVENT", err, errlen)) < 0)
			return rc;
	}
	struct sockaddr_conn a = {.sconn_family = AF_CONN, .sconn_port = htons(o->local_port), .sconn_addr = s};
	if (usrsctp_bind(s->so, (struct sockaddr *)&a, sizeof(a)) < 0) {
		snprintf(err, errlen, "SCTP: bind: %s", strerror(errno));
		return -EIO;
	}
	a.sconn_port = htons(o->remote_port);
	if (usrsctp_connect(s->so, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "SCTP: connect: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

struct cr_sctp_s *cr_sctp_new(const struct cr_sctp_opts_s *o, const struct cr_sctp_cb_s *cb, void *opaque,
			      char *err, size_t errlen)
{
	struct cr_sctp_s *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cb = *cb;
	s->opaque = opaque;
	s->max_message = o->max_message;
	_global_ref();
	pthread_mutex_lock(&_lock);
	s->next = _live;
	_live = s;
	pthread_mutex_unlock(&_lock);
	usrsctp_register_address(s);
	s->so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (!s->so) {
		snprintf(err, errlen, "SCTP: cannot create a socket: %s", strerror(errno));
		cr_sctp_free(s);
		return NULL;
	}
	if (_setup(s, o, err, errlen) < 0) {
		cr_sctp_free(s);
		return NULL;
	}
	_run_pending();
	return s;
}

void cr_sctp_free(struct cr_sctp_s *s)
{
	if (!s)
		return;
	if (s->so) {
		usrsctp_set_upcall(s->so, NULL, NULL);
		usrsctp_close(s->so); /* sends the ABORT through _conn_output while s is live */
	}
	usrsctp_deregister_address(s);
	pthread_mutex_lock(&_lock);
	for (struct cr_sctp_s **p = &_live; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	pthread_mutex_unlock(&_lock);
	free(s->msg);
	free(s);
	_global_unref();
}

static uint32_t _dropped_packets(void)
{
	struct sctpstat st;
	memset(&st, 0, sizeof(st));
	usrsctp_get_stat(&st);
	return st.sctps_hdrops + st.sctps_badsum + st.sctps_badvtag + st.sctps_checksumerrors;
}

int cr_sctp_input(struct cr_sctp_s *s, const uint8_t *p, size_t len)
{
	uint32_t before = _dropped_packets();
	usrsctp_conninput(s, p, len, 0);
	bool dropped = _dropped_packets() != before || len < 12;
	_run_pending();
	return dropped ? -EBADMSG : 0;
}

int cr_sctp_send(struct cr_sctp_s *s, uint16_t sid, uint32_t ppid, bool unordered, int pr_policy,
		 uint32_t pr_value, const void *p, size_t len)
{
	if (!s->up)
		return -ENOTCONN;
	struct sctp_sendv_spa spa;
	memset(&spa, 0, sizeof(spa));
	spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
	spa.sendv_sndinfo.snd_sid = sid;
	spa.sendv_sndinfo.snd_ppid = htonl(ppid);
	spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
	if (pr_policy == 1 || pr_policy == 2) {
		spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
		spa.sendv_prinfo.pr_policy = pr_policy == 1 ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
		spa.sendv_prinfo.pr_value = pr_value;
	}
	ssize_t r = usrsctp_sendv(s->so, p, len, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
	int e = errno;
	_run_pending();
	if (r >= 0)
		return 0;
	return e == EWOULDBLOCK || e == EAGAIN ? -EAGAIN : e == EMSGSIZE ? -EMSGSIZE : e == ENOTCONN ? -ENOTCONN : -EIO;
}

int cr_sctp_reset_stream(struct cr_sctp_s *s, uint16_t sid)
{
	if (!s->up)
		return -ENOTCONN;
	size_t n = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
	uint8_t buf[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)];
	struct sctp_reset_streams *rs = (struct sctp_reset_streams *)buf;
	memset(buf, 0, sizeof(buf));
	rs->srs_assoc_id = SCTP_ALL_ASSOC;
	rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
	rs->srs_number_streams = 1;
	memcpy(buf + sizeof(*rs), &sid, sizeof(sid));
	int r = usrsctp_setsockopt(s->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs, (socklen_t)n);
	int e = errno;
	_run_pending();
	return r == 0 ? 0 : -e;
}

int cr_sctp_abandoned(const struct cr_sctp_s *s, uint16_t sid, uint64_t *out)
{
	struct sctp_prstatus st;
	memset(&st, 0, sizeof(st));
	st.sprstat_assoc_id = SCTP_ALL_ASSOC;
	st.sprstat_sid = sid;
	st.sprstat_policy = _PR_ALL;
	socklen_t len = sizeof(st);
	*out = 0;
	if (!s->up || usrsctp_getsockopt(s->so, IPPROTO_SCTP, SCTP_PR_STREAM_STATUS, &st, &len) < 0)
		return -errno;
	*out = st.sprstat_abandoned_sent + st.sprstat_abandoned_unsent;
	return 0;
}

/* Written by hand: usrsctp does not say when a message leaves, so the
 * packets it hands out are read (RFC 9260 3.2, 3.3.1). */
void cr_sctp_data_chunks(const uint8_t *p, size_t len, void (*fn)(void *opaque, const struct cr_sctp_data_s *d),
			 void *opaque)
{
	size_t off = 12; /* the common header */
	while (off + 4 <= len) {
		size_t clen = (size_t)p[off + 2] << 8 | p[off + 3];
		if (clen < 4 || clen > len - off)
			return;
		if (p[off] == 0 && clen >= 16) { /* DATA */
			const uint8_t *c = p + off;
			struct cr_sctp_data_s d = {
				.tsn = (uint32_t)c[4] << 24 | (uint32_t)c[5] << 16 | (uint32_t)c[6] << 8 | c[7],
				.sid = (uint16_t)(c[8] << 8 | c[9]),
				.ppid = (uint32_t)c[12] << 24 | (uint32_t)c[13] << 16 | (uint32_t)c[14] << 8 | c[15],
				.flags = c[1],
			};
			fn(opaque, &d);
		}
		off += (clen + 3) & ~(size_t)3;
	}
}

