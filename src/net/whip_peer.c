/* The media side of one WHIP publication; see whip.h. One UDP socket
 * (dual-stack), one 20 ms timer. ICE: camrelay is the controlling full
 * agent with aggressive nomination: every check carries USE-CANDIDATE, the
 * first candidate that answers is the pair (what an ICE-lite server, the
 * common case, expects); requests from a full agent's checks are answered.
 * Then the UDP socket is connected to that pair, so that an ICMP port
 * unreachable (the server went away) ends the session at once; consent
 * (RFC 7675) is refreshed every 2 s. Written by hand on net/stun.c: libnice
 * would bring GLib and a second event loop for the part used here. */
#include "net/whip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "net/dtls.h"
#include "net/srtp.h"
#include "net/stun.h"
#include "rtp/rtp.h"

#define _TICK_MS 20
#define _CHECK_GAP_NS 50000000LL
#define _ICE_TIMEOUT_NS 10000000000LL
#define _DTLS_TIMEOUT_NS 10000000000LL
#define _CONSENT_GAP_NS 2000000000LL
#define _CONSENT_LOST_NS 8000000000LL
#define _SR_GAP_NS 1000000000LL
#define _HIST 1024

struct _hist_s {
	uint16_t seq, len;
	bool used;
	uint8_t data[CR_RTP_MAX_PACKET];
};

struct cr_whip_peer_s {
	struct event_base *base;
	struct cr_dtls_ctx_s *dtls_ctx;
	struct cr_whip_peer_cbs_s cbs;
	int fd;
	struct event *udp_ev, *tick_ev;
	enum cr_whip_peer_state_e state;
	char error[256];
	char ufrag[12], pwd[28];
	int n_local;
	struct cr_whip_cand_s local[CR_WHIP_MAX_LOCAL];
	struct cr_whip_answer_s ans;
	uint8_t tids[CR_WHIP_MAX_CANDS][12];
	uint8_t consent_tid[12];
	int next_check, sel;
	int64_t started_ns, state_ns, last_check_ns, consent_tx_ns, consent_rx_ns, last_sr_ns, last_frame_ns;
	struct cr_dtls_s *dtls;
	struct cr_srtp_s *srtp;
	struct cr_rtp_s rtp;
	uint32_t rtx_ssrc;
	uint16_t rtx_seq;
	int rtx_pt;
	struct _hist_s *hist;
	struct cr_whip_figures_s fig;
	uint8_t out[CR_RTP_MAX_PACKET + CR_SRTP_MAX_TRAILER + 16];
};

static void _random_text(char *out, size_t n)
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint8_t r[64];
	if (getrandom(r, n, 0) != (ssize_t)n)
		for (size_t i = 0; i < n; i++)
			r[i] = (uint8_t)rand();
	for (size_t i = 0; i + 1 < n; i++)
		out[i] = a[r[i] % (sizeof(a) - 1)];
	out[n - 1] = 0;
}

static void _fail(struct cr_whip_peer_s *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void _fail(struct cr_whip_peer_s *p, const char *fmt, ...)
{
	if (p->state == CR_WHIP_PEER_FAILED)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	p->state = CR_WHIP_PEER_FAILED;
	p->cbs.state(p->cbs.opaque, p->state);
}

static void _send_raw(struct cr_whip_peer_s *p, const void *b, size_t len, const struct sockaddr_in6 *to)
{
	ssize_t r = to ? sendto(p->fd, b, len, 0, (const struct sockaddr *)to, sizeof(*to)) : send(p->fd, b, len, 0);
	if (r < 0 && errno == ECONNREFUSED && p->sel >= 0)
		_fail(p, "the server's media port refused the packets (ICMP port unreachable): it went away");
}

/* ---- ICE ---- */

static void _send_check(struct cr_whip_peer_s *p, int i, uint8_t tid[12], bool nominate)
{
	char user[200];
	uint8_t buf[512];
	snprintf(user, sizeof(user), "%s:%s", p->ans.ufrag, p->ufrag);
	if (getrandom(tid, 12, 0) != 12)
		for (int k = 0; k < 12; k++)
			tid[k] = (uint8_t)rand();
	size_t n = cr_stun_binding_request(buf, sizeof(buf), tid, user, p->ans.pwd, strlen(p->ans.pwd), nominate);
	if (n)
		_send_raw(p, buf, n, p->sel >= 0 ? NULL : &p->ans.cands[i].addr);
}

static void _on_selected(struct cr_whip_peer_s *p, int i)
{
	p->sel = i;
	const struct cr_whip_cand_s *c = &p->ans.cands[i];
	if (connect(p->fd, (const struct sockaddr *)&c->addr, sizeof(c->addr)) < 0) {
		_fail(p, "cannot use the candidate pair: %s", strerror(errno));
		return;
	}
	char a[64];
	cr_whip_addr_text(&c->addr, a, sizeof(a));
	snprintf(p->fig.pair, sizeof(p->fig.pair), "host *:%u -> %s %s", p->n_local ? ntohs(p->local[0].addr.sin6_port) : 0,
		 c->type, a);
	p->fig.relayed = strcmp(c->type, "relay") == 0;
	p->consent_rx_ns = p->consent_tx_ns = cr_now_ns();
	p->state = CR_WHIP_PEER_DTLS;
	p->state_ns = cr_now_ns();
	p->cbs.state(p->cbs.opaque, p->state);
	/* The server's ClientHello starts the handshake when it answered active. */
	if (strcmp(p->ans.setup, "active") != 0 && cr_dtls_connect(p->dtls) < 0)
		_fail(p, "%s", cr_dtls_error(p->dtls));
}

static void _on_stun(struct cr_whip_peer_s *p, const uint8_t *b, size_t len, const struct sockaddr_in6 *from)
{
	struct cr_stun_msg_s m;
	if (cr_stun_parse(b, len, &m) < 0)
		return;
	if (m.type == CR_STUN_BINDING_REQUEST) {
		/* A full agent's check: USERNAME is ours:theirs, keyed with our pwd. */
		size_t ul = strlen(p->ufrag);
		if (!m.username || m.username_len <= ul || memcmp(m.username, p->ufrag, ul) != 0 ||
		    m.username[ul] != ':' || !cr_stun_check_integrity(b, len, &m, p->pwd, strlen(p->pwd)))
			return;
		uint8_t out[256];
		struct sockaddr_storage mapped;
		memset(&mapped, 0, sizeof(mapped));
		if (IN6_IS_ADDR_V4MAPPED(&from->sin6_addr)) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&mapped;
			s4->sin_family = AF_INET;
			s4->sin_port = from->sin6_port;
			memcpy(&s4->sin_addr, &from->sin6_addr.s6_addr[12], 4);
		} else {
			memcpy(&mapped, from, sizeof(*from));
		}
		size_t n = cr_stun_binding_response(out, sizeof(out), m.tid, (const struct sockaddr *)&mapped, p->pwd,
						    strlen(p->pwd));
		if (n)
			_send_raw(p, out, n, p->sel >= 0 ? NULL : from);
		return;
	}
	if (m.type != CR_STUN_BINDING_SUCCESS || !cr_stun_check_integrity(b, len, &m, p->ans.pwd, strlen(p->ans.pwd)))
		return;
	if (p->sel >= 0) {
		if (memcmp(m.tid, p->consent_tid, 12) == 0 || memcmp(m.tid, p->tids[p->sel], 12) == 0)
			p->consent_rx_ns = cr_now_ns();
		return;
	}
	for (int i = 0; i < p->ans.n_cands; i++)
		if (memcmp(m.tid, p->tids[i], 12) == 0 && p->state == CR_WHIP_PEER_ICE) {
			_on_selected(p, i);
			return;
		}
}

static void _dtls_send(void *opaque, const uint8_t *b, size_t len)
{
	_send_raw(opaque, b, len, NULL);
}

/* ---- media ---- */

static void _on_rtp(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_whip_peer_s *p = opaque;
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	struct _hist_s *h = &p->hist[seq % _HIST];
	h->seq = seq;
	h->len = (uint16_t)len;
	h->used = true;
	memcpy(h->data, pkt, len);
	size_t l = len;
	memcpy(p->out, pkt, len);
	if (cr_srtp_protect(p->srtp, p->out, &l) < 0)
		return;
	_send_raw(p, p->out, l, NULL);
	p->fig.packets_sent++;
	p->fig.bytes_sent += l;
}

static void _send_rtcp(struct cr_whip_peer_s *p, const uint8_t *b, size_t len)
{
	size_t l = len;
	memcpy(p->out, b, len);
	if (cr_srtp_protect_rtcp(p->srtp, p->out, &l) == 0)
		_send_raw(p, p->out, l, NULL);
}

static void _retransmit(struct cr_whip_peer_s *p, uint16_t seq)
{
	struct _hist_s *h = &p->hist[seq % _HIST];
	if (!h->used || h->seq != seq)
		return;
	size_t len = h->len;
	if (p->rtx_pt < 0)
		memcpy(p->out, h->data, h->len);
	else if (!(len = cr_rtp_rtx_wrap(p->out, CR_RTP_MAX_PACKET + 2, h->data, h->len, p->rtx_pt, p->rtx_ssrc,
					 p->rtx_seq++)))
		return;
	if (cr_srtp_protect(p->srtp, p->out, &len) < 0)
		return;
	_send_raw(p, p->out, len, NULL);
	p->fig.retransmits++;
}

static void _on_rtcp(struct cr_whip_peer_s *p, uint8_t *b, size_t len)
{
	if (cr_srtp_unprotect_rtcp(p->srtp, b, &len) < 0)
		return;
	struct cr_rtcp_info_s ri;
	cr_rtcp_parse(b, len, &ri); /* keep what parsed before any error */
	for (int i = 0; i < ri.n_rr; i++) {
		if (ri.rr[i].ssrc != p->rtp.ssrc)
			continue;
		p->fig.fraction_lost = ri.rr[i].fraction_lost / 256.0;
		p->fig.packets_lost = ri.rr[i].cumulative_lost;
		p->fig.jitter_ms = ri.rr[i].jitter / 90.0;
		int64_t rtt = cr_rtcp_rtt_us(cr_ntp_now(), ri.rr[i].lsr, ri.rr[i].dlsr);
		if (rtt >= 0)
			p->fig.rtt_ms = rtt / 1000.0;
	}
	p->fig.plis += (uint64_t)ri.pli;
	p->fig.firs += (uint64_t)ri.fir;
	if (ri.pli || ri.fir)
		p->cbs.keyframe(p->cbs.opaque);
	if (ri.remb) {
		p->fig.remb_packets++;
		p->fig.remb_bps = ri.remb_bps;
	}
	if (ri.n_nack && ri.media_ssrc == p->rtp.ssrc) {
		p->fig.nacks += (uint64_t)ri.n_nack;
		for (int i = 0; i < ri.n_nack; i++)
			_retransmit(p, ri.nack_seqs[i]);
	}
}

static void _start_media(struct cr_whip_peer_s *p)
{
	struct cr_srtp_keys_s keys;
	char err[256];
	if (cr_dtls_srtp_keys(p->dtls, &keys) < 0) {
		_fail(p, "%s", cr_dtls_error(p->dtls));
		return;
	}
	p->hist = calloc(_HIST, sizeof(*p->hist));
	p->srtp = p->hist ? cr_srtp_new(&keys, err, sizeof(err)) : NULL;
	if (!p->srtp) {
		_fail(p, "SRTP: %s", p->hist ? err : "out of memory");
		return;
	}
	p->state = CR_WHIP_PEER_MEDIA;
	p->last_sr_ns = cr_now_ns();
	p->cbs.state(p->cbs.opaque, p->state);
}

static void _on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whip_peer_s *p = arg;
	(void)what;
	for (int round = 0; round < 64 && p->state != CR_WHIP_PEER_FAILED; round++) {
		uint8_t buf[2048];
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == ECONNREFUSED && p->sel >= 0)
				_fail(p, "the server's media port refused the packets (ICMP port unreachable): it went away");
			break;
		}
		if (n == 0 || from.sin6_family != AF_INET6)
			continue;
		uint8_t b0 = buf[0];
		if (b0 < 4) {
			_on_stun(p, buf, (size_t)n, &from);
		} else if (b0 >= 20 && b0 <= 63 && p->dtls && p->sel >= 0) {
			int r = cr_dtls_input(p->dtls, buf, (size_t)n);
			if (r == 1)
				_start_media(p);
			else if (r == -EPIPE)
				_fail(p, "the server closed the DTLS session");
			else if (r < 0)
				_fail(p, "%s", cr_dtls_error(p->dtls)[0] ? cr_dtls_error(p->dtls) : "DTLS failed");
		} else if (b0 >= 128 && b0 <= 191 && p->srtp && cr_rtp_is_rtcp(buf, (size_t)n)) {
			_on_rtcp(p, buf, (size_t)n);
		}
	}
}

static void _send_sr(struct cr_whip_peer_s *p, int64_t now)
{
	uint8_t sr[128];
	/* The RTP time of now: the last frame's, advanced by the 90 kHz clock. */
	uint32_t ts = p->rtp.last_ts + (uint32_t)((now - p->last_frame_ns) * 9 / 100000);
	size_t n = cr_rtcp_sender_report(sr, sizeof(sr), p->rtp.ssrc, cr_ntp_now(), ts, p->rtp.packets,
					 p->rtp.octets, "camrelay");
	if (n)
		_send_rtcp(p, sr, n);
	p->last_sr_ns = now;
}

static void _on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whip_peer_s *p = arg;
	(void)fd, (void)what;
	int64_t now = cr_now_ns();
	if (p->state == CR_WHIP_PEER_ICE) {
		if (now - p->started_ns > _ICE_TIMEOUT_NS) {
			char list[160] = "";
			for (int i = 0; i < p->ans.n_cands && strlen(list) < 120; i++) {
				char a[64];
				cr_whip_addr_text(&p->ans.cands[i].addr, a, sizeof(a));
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", a);
			}
			_fail(p, "ICE failed: none of the server's %d candidates (%s) answered in 10 s", p->ans.n_cands,
			      list);
			return;
		}
		if (now - p->last_check_ns >= _CHECK_GAP_NS) {
			int i = p->next_check++ % p->ans.n_cands;
			_send_check(p, i, p->tids[i], true);
			p->last_check_ns = now;
		}
		return;
	}
	if (p->state == CR_WHIP_PEER_FAILED)
		return;
	if (p->state == CR_WHIP_PEER_DTLS) {
		if (now - p->state_ns > _DTLS_TIMEOUT_NS) {
			_fail(p, "DTLS handshake with the server did not finish in 10 s");
			return;
		}
		cr_dtls_tick(p->dtls);
	}
	if (now - p->consent_rx_ns > _CONSENT_LOST_NS) {
		_fail(p, "ICE consent lost: no answer to connectivity checks for 8 s");
		return;
	}
	if (now - p->consent_tx_ns >= _CONSENT_GAP_NS) {
		_send_check(p, p->sel, p->consent_tid, false);
		p->consent_tx_ns = now;
	}
	if (p->state == CR_WHIP_PEER_MEDIA && now - p->last_sr_ns >= _SR_GAP_NS && p->rtp.packets)
		_send_sr(p, now);
}

/* ---- set-up ---- */

static void _add_local(struct cr_whip_peer_s *p, const struct sockaddr *sa, uint16_t port)
{
	if (p->n_local >= CR_WHIP_MAX_LOCAL)
		return;
	struct cr_whip_cand_s *c = &p->local[p->n_local];
	memset(c, 0, sizeof(*c));
	c->addr.sin6_family = AF_INET6;
	c->addr.sin6_port = htons(port);
	if (sa->sa_family == AF_INET) {
		c->addr.sin6_addr.s6_addr[10] = c->addr.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&c->addr.sin6_addr.s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		c->addr.sin6_addr = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	}
	c->priority = (126u << 24) | ((65535u - (unsigned)p->n_local) << 8) | 255u;
	snprintf(c->type, sizeof(c->type), "host");
	p->n_local++;
}

/* Host candidates: every IPv4 address that is up, global IPv6 ones, then
 * loopback (useful only to a server on this machine). */
static void _gather(struct cr_whip_peer_s *p, uint16_t port)
{
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) == 0) {
		for (int pass = 0; pass < 3; pass++)
			for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
				if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
					continue;
				bool lo = i->ifa_flags & IFF_LOOPBACK;
				int fam = i->ifa_addr->sa_family;
				if (pass == 0 && fam == AF_INET && !lo)
					_add_local(p, i->ifa_addr, port);
				else if (pass == 1 && fam == AF_INET6 && !lo &&
					 !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
					_add_local(p, i->ifa_addr, port);
				else if (pass == 2 && fam == AF_INET && lo)
					_add_local(p, i->ifa_addr, port);
			}
		freeifaddrs(ifs);
	}
}

static int _open_socket(struct cr_whip_peer_s *p, char *err, size_t errlen)
{
	int zero = 0, buf = 2 << 20;
	p->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || setsockopt(p->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) {
		snprintf(err, errlen, "cannot create a UDP socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	socklen_t al = sizeof(a);
	if (bind(p->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(p->fd, (struct sockaddr *)&a, &al) < 0) {
		snprintf(err, errlen, "cannot bind a UDP socket: %s", strerror(errno));
		return -errno;
	}
	_gather(p, ntohs(a.sin6_port));
	return 0;
}

struct cr_whip_peer_s *cr_whip_peer_new(struct event_base *base, struct cr_dtls_ctx_s *dtls,
					const struct cr_whip_peer_cbs_s *cbs, struct cr_whip_offer_s *o,
					char *err, size_t errlen)
{
	struct cr_whip_peer_s *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->base = base;
	p->dtls_ctx = dtls;
	p->cbs = *cbs;
	p->sel = -1;
	p->fd = -1;
	p->fig.rtt_ms = -1;
	p->fig.dtls_role = "";
	_random_text(p->ufrag, sizeof(p->ufrag));
	_random_text(p->pwd, sizeof(p->pwd));
	if (_open_socket(p, err, errlen) < 0)
		goto error;
	uint32_t rnd[4];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd[0] = rnd[1] = rnd[2] = rnd[3] = (uint32_t)rand();
	o->ssrc = rnd[0];
	o->rtx_ssrc = rnd[1] == rnd[0] ? rnd[0] + 1 : rnd[1];
	o->ufrag = p->ufrag;
	o->pwd = p->pwd;
	o->fingerprint = cr_dtls_fingerprint(dtls);
	o->n_local = p->n_local;
	memcpy(o->local, p->local, sizeof(p->local));
	cr_rtp_init(&p->rtp, o->codec, (uint8_t)o->pt, o->ssrc, (uint16_t)rnd[2]);
	p->rtp.emit = _on_rtp;
	p->rtp.opaque = p;
	p->rtx_ssrc = o->rtx_ssrc;
	p->rtx_seq = (uint16_t)rnd[3];
	p->udp_ev = event_new(base, p->fd, EV_READ | EV_PERSIST, _on_udp, p);
	p->tick_ev = event_new(base, -1, EV_PERSIST, _on_tick, p);
	if (!p->udp_ev || !p->tick_ev || event_add(p->udp_ev, NULL) < 0) {
		snprintf(err, errlen, "cannot set up the event loop");
		goto error;
	}
	return p;
error:
	cr_whip_peer_free(p);
	return NULL;
}

int cr_whip_peer_start(struct cr_whip_peer_s *p, const struct cr_whip_answer_s *a)
{
	p->ans = *a;
	p->rtx_pt = a->rtx_pt;
	p->fig.rtx = a->rtx_pt >= 0;
	p->fig.dtls_role = strcmp(a->setup, "active") == 0 ? "server" : "client";
	p->dtls = cr_dtls_new(p->dtls_ctx, "sha-256", a->fingerprint, _dtls_send, p); /* the answer's, checked sha-256 */
	if (!p->dtls)
		return -ENOMEM;
	p->started_ns = p->state_ns = cr_now_ns();
	p->state = CR_WHIP_PEER_ICE;
	struct timeval tv = {0, _TICK_MS * 1000};
	return event_add(p->tick_ev, &tv) < 0 ? -EIO : 0;
}

void cr_whip_peer_free(struct cr_whip_peer_s *p)
{
	if (!p)
		return;
	if (p->udp_ev)
		event_free(p->udp_ev);
	if (p->tick_ev)
		event_free(p->tick_ev);
	if (p->fd >= 0)
		close(p->fd);
	cr_dtls_free(p->dtls);
	cr_srtp_free(p->srtp);
	free(p->hist);
	free(p);
}

enum cr_whip_peer_state_e cr_whip_peer_state(const struct cr_whip_peer_s *p) { return p->state; }
const char *cr_whip_peer_error(const struct cr_whip_peer_s *p) { return p->error; }

void cr_whip_peer_send_frame(struct cr_whip_peer_s *p, const uint8_t *data, size_t size, uint32_t ts90k,
			     bool key, int width, int height)
{
	if (p->state != CR_WHIP_PEER_MEDIA)
		return;
	if (cr_rtp_payload(&p->rtp, data, size, ts90k, key, width, height) > 0) {
		p->last_frame_ns = cr_now_ns();
		p->fig.frames_sent++;
		p->fig.keyframes_sent += key;
	}
}

void cr_whip_peer_figures(const struct cr_whip_peer_s *p, struct cr_whip_figures_s *out) { *out = p->fig; }
