/* The media side of one WHIP publication; see whip.h. One UDP socket
 * (dual-stack), one 20 ms timer. ICE: camrelay is the controlling full
 * agent with aggressive nomination: every check carries USE-CANDIDATE, the
 * first candidate that answers is the pair (what an ICE-lite server, the
 * common case, expects); requests from a full agent's checks are answered.
 * Then the UDP socket is connected to that pair, so that an ICMP port
 * unreachable (the server went away) ends the session at once; consent
 * (RFC 7675) is refreshed every 2 s. Written by hand on net/stun.c: libnice
 * would bring GLib and a second event loop for the part used here.
 *
 * With ice_servers, candidates are gathered while the offer (with the host
 * candidates) goes out and the first checks run (at most 3 s; the sink
 * trickles them in a PATCH): the server-reflexive address from the first
 * stun: URL (or the TURN server's mapped address), and a relayed one from
 * the first turn: URL (net/turn.c). An ICE restart (consent lost, the sink
 * got the server's new credentials) checks again on the same socket with
 * DTLS and SRTP kept. Every server candidate is then checked directly and through
 * the relay (Send indications, after a CreatePermission for all of them);
 * a relayed pair, once chosen, gets a channel (ChannelData) and the socket
 * is connected to the TURN server. A direct pair gives the allocation back. */
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

#include "audio/audio.h"
#include "core/clock.h"
#include "core/config.h"
#include "net/dtls.h"
#include "net/srtp.h"
#include "net/stun.h"
#include "net/turn.h"
#include "rtp/rtp.h"

#define _TICK_MS 20
#define _CHECK_GAP_NS 50000000LL
#define _ICE_TIMEOUT_NS 10000000000LL
#define _DTLS_TIMEOUT_NS 10000000000LL
#define _CONSENT_GAP_NS 2000000000LL
#define _CONSENT_LOST_NS 8000000000LL
#define _SR_GAP_NS 1000000000LL
#define _HIST 1024
#define _GATHER_NS 3000000000LL

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
	uint8_t tids[CR_WHIP_MAX_CANDS][12];  /* checks sent directly */
	uint8_t rtids[CR_WHIP_MAX_CANDS][12]; /* the same through the relay */
	struct cr_turn_s *turn, *stun;         /* NULL when not configured / given up */
	bool gathering, sel_relay;
	int64_t gather_ns;
	char note[240]; /* what went wrong with the ICE servers */
	uint8_t consent_tid[12];
	int next_check, sel;
	int64_t started_ns, state_ns, last_check_ns, consent_tx_ns, consent_rx_ns, last_sr_ns, last_frame_ns;
	struct cr_dtls_s *dtls;
	struct cr_srtp_s *srtp;
	struct cr_rtp_s rtp;
	struct cr_rtp_s artp; /* Opus, when the answer took the audio */
	uint32_t ats_offset;
	uint32_t rtx_ssrc;
	uint16_t rtx_seq;
	int rtx_pt;
	int twcc_id; /* transport-cc header extension id, 0 when not negotiated */
	uint16_t twcc_seq, twcc_next;
	bool twcc_counted;
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
		_fail(p, p->sel_relay ? "the TURN server's port refused the packets (ICMP port unreachable): it went away"
				      : "the server's media port refused the packets (ICMP port unreachable): it went away");
}

/* TURN/STUN requests and relayed datagrams: always to the server's address
 * (also on a socket connected to it). */
static void _turn_send(void *opaque, const struct sockaddr_in6 *to, const uint8_t *b, size_t len)
{
	_send_raw(opaque, b, len, to);
}

/* To `to` directly, or through the TURN relay. */
static void _send_via(struct cr_whip_peer_s *p, const void *b, size_t len, const struct sockaddr_in6 *to, bool relay)
{
	if (relay) {
		if (p->turn)
			cr_turn_send(p->turn, to, b, len);
		return;
	}
	_send_raw(p, b, len, p->sel >= 0 ? NULL : to);
}

/* To the selected pair. */
static void _send(struct cr_whip_peer_s *p, const void *b, size_t len)
{
	_send_via(p, b, len, &p->ans.cands[p->sel].addr, p->sel_relay);
}

/* ---- ICE ---- */

static void _send_check(struct cr_whip_peer_s *p, int i, uint8_t tid[12], bool nominate, bool relay)
{
	char user[200];
	uint8_t buf[512];
	snprintf(user, sizeof(user), "%s:%s", p->ans.ufrag, p->ufrag);
	if (getrandom(tid, 12, 0) != 12)
		for (int k = 0; k < 12; k++)
			tid[k] = (uint8_t)rand();
	size_t n = cr_stun_binding_request(buf, sizeof(buf), tid, user, p->ans.pwd, strlen(p->ans.pwd), nominate);
	if (n)
		_send_via(p, buf, n, &p->ans.cands[i].addr, relay);
}

static void _on_selected(struct cr_whip_peer_s *p, int i, bool relay)
{
	const struct cr_whip_cand_s *c = &p->ans.cands[i];
	if (!relay && p->turn) {
		cr_turn_release(p->turn); /* before connect(): it goes to the TURN server */
		cr_turn_free(p->turn);
		p->turn = NULL;
	}
	p->sel = i;
	p->sel_relay = relay;
	const struct sockaddr_in6 *to = relay ? cr_turn_server(p->turn) : &c->addr;
	if (connect(p->fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		_fail(p, "cannot use the candidate pair: %s", strerror(errno));
		return;
	}
	char a[64], r[64], t[64];
	cr_whip_addr_text(&c->addr, a, sizeof(a));
	if (relay) {
		cr_turn_bind(p->turn, &c->addr);
		cr_whip_addr_text(cr_turn_relayed(p->turn), r, sizeof(r));
		cr_whip_addr_text(cr_turn_server(p->turn), t, sizeof(t));
		snprintf(p->fig.pair, sizeof(p->fig.pair), "relay %s (TURN %s) -> %s %s", r, t, c->type, a);
	} else {
		snprintf(p->fig.pair, sizeof(p->fig.pair), "host *:%u -> %s %s",
			 p->n_local ? ntohs(p->local[0].addr.sin6_port) : 0, c->type, a);
	}
	p->fig.relayed = relay || strcmp(c->type, "relay") == 0;
	p->consent_rx_ns = p->consent_tx_ns = cr_now_ns();
	if (p->srtp) { /* an ICE restart: DTLS and SRTP carry on */
		p->state = CR_WHIP_PEER_MEDIA;
		p->cbs.state(p->cbs.opaque, p->state);
		return;
	}
	p->state = CR_WHIP_PEER_DTLS;
	p->state_ns = cr_now_ns();
	p->cbs.state(p->cbs.opaque, p->state);
	/* The server's ClientHello starts the handshake when it answered active. */
	if (strcmp(p->ans.setup, "active") != 0 && cr_dtls_connect(p->dtls) < 0)
		_fail(p, "%s", cr_dtls_error(p->dtls));
}

static void _on_stun(struct cr_whip_peer_s *p, const uint8_t *b, size_t len, const struct sockaddr_in6 *from,
		     bool relay)
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
			_send_via(p, out, n, from, relay);
		return;
	}
	if (m.type != CR_STUN_BINDING_SUCCESS || !cr_stun_check_integrity(b, len, &m, p->ans.pwd, strlen(p->ans.pwd)))
		return;
	if (p->sel >= 0) {
		if (memcmp(m.tid, p->consent_tid, 12) == 0 ||
		    memcmp(m.tid, p->sel_relay ? p->rtids[p->sel] : p->tids[p->sel], 12) == 0)
			p->consent_rx_ns = cr_now_ns();
		return;
	}
	for (int i = 0; i < p->ans.n_cands && p->state == CR_WHIP_PEER_ICE && p->started_ns; i++)
		if (memcmp(m.tid, relay ? p->rtids[i] : p->tids[i], 12) == 0) {
			_on_selected(p, i, relay);
			return;
		}
}

static void _dtls_send(void *opaque, const uint8_t *b, size_t len)
{
	_send(opaque, b, len);
}

/* ---- media ---- */

/* The transport-wide sequence number as a one-byte header extension (RFC
 * 8285) into a packet of the payloader (no CSRC, no extension yet), in
 * place: the buffer has room for 8 more bytes. Retransmissions get their
 * own number, as transport-cc asks. */
static size_t _stamp(struct cr_whip_peer_s *p, uint8_t *pkt, size_t len)
{
	if (!p->twcc_id || len < 12 || (pkt[0] & 0x1f))
		return len;
	memmove(pkt + 20, pkt + 12, len - 12);
	pkt[0] |= 0x10;
	pkt[12] = 0xbe, pkt[13] = 0xde, pkt[14] = 0, pkt[15] = 1;
	pkt[16] = (uint8_t)(p->twcc_id << 4 | 1); /* id, 2 bytes */
	pkt[17] = (uint8_t)(p->twcc_seq >> 8), pkt[18] = (uint8_t)p->twcc_seq, pkt[19] = 0;
	p->twcc_seq++;
	return len + 8;
}

/* Counts each transport sequence number once, as the first feedback that
 * covers it reported it (a later report of a late arrival is not recounted). */
static void _on_twcc(struct cr_whip_peer_s *p, const struct cr_rtcp_info_s *ri)
{
	p->fig.twcc_feedbacks++;
	for (unsigned k = 0; k < ri->twcc_count; k++) {
		uint16_t seq = (uint16_t)(ri->twcc_base + k);
		if (p->twcc_counted && (int16_t)(seq - p->twcc_next) < 0)
			continue;
		if (ri->twcc_recv[k / 8] & (1u << (k % 8)))
			p->fig.twcc_received++;
		else
			p->fig.twcc_lost++;
	}
	uint16_t end = (uint16_t)(ri->twcc_base + ri->twcc_count);
	if (!p->twcc_counted || (int16_t)(end - p->twcc_next) > 0)
		p->twcc_next = end;
	p->twcc_counted = true;
}

static void _on_rtp(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_whip_peer_s *p = opaque;
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	struct _hist_s *h = &p->hist[seq % _HIST];
	h->seq = seq;
	h->len = (uint16_t)len;
	h->used = true;
	memcpy(h->data, pkt, len);
	memcpy(p->out, pkt, len);
	size_t l = _stamp(p, p->out, len);
	if (cr_srtp_protect(p->srtp, p->out, &l) < 0)
		return;
	_send(p, p->out, l);
	p->fig.packets_sent++;
	p->fig.bytes_sent += l;
}

/* Audio: no NACK history, no transport-cc numbers (not offered for it). */
static void _on_audio_rtp(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_whip_peer_s *p = opaque;
	memcpy(p->out, pkt, len);
	if (cr_srtp_protect(p->srtp, p->out, &len) < 0)
		return;
	_send(p, p->out, len);
	p->fig.packets_sent++;
	p->fig.audio_packets_sent++;
	p->fig.bytes_sent += len;
}

static void _send_rtcp(struct cr_whip_peer_s *p, const uint8_t *b, size_t len)
{
	size_t l = len;
	memcpy(p->out, b, len);
	if (cr_srtp_protect_rtcp(p->srtp, p->out, &l) == 0)
		_send(p, p->out, l);
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
	len = _stamp(p, p->out, len);
	if (cr_srtp_protect(p->srtp, p->out, &len) < 0)
		return;
	_send(p, p->out, len);
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
	if (ri.twcc)
		_on_twcc(p, &ri);
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

/* One datagram from the server, directly or out of the relay. */
static void _on_packet(struct cr_whip_peer_s *p, uint8_t *buf, size_t n, const struct sockaddr_in6 *from, bool relay)
{
	uint8_t b0 = buf[0];
	if (b0 < 4) {
		_on_stun(p, buf, n, from, relay);
	} else if (b0 >= 20 && b0 <= 63 && p->dtls && p->sel >= 0 && relay == p->sel_relay) {
		int r = cr_dtls_input(p->dtls, buf, n);
		if (r == 1)
			_start_media(p);
		else if (r == -EPIPE)
			_fail(p, "the server closed the DTLS session");
		else if (r < 0)
			_fail(p, "%s", cr_dtls_error(p->dtls)[0] ? cr_dtls_error(p->dtls) : "DTLS failed");
	} else if (b0 >= 128 && b0 <= 191 && p->srtp && relay == p->sel_relay && cr_rtp_is_rtcp(buf, n)) {
		_on_rtcp(p, buf, n);
	}
}

static void _on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whip_peer_s *p = arg;
	(void)what;
	for (int round = 0; round < 64 && p->state != CR_WHIP_PEER_FAILED; round++) {
		uint8_t buf[2048], *d = buf;
		struct sockaddr_in6 from, peer;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == ECONNREFUSED && p->sel >= 0)
				_fail(p, "the %s port refused the packets (ICMP port unreachable): it went away",
				      p->sel_relay ? "TURN server's" : "server's media");
			break;
		}
		if (n == 0 || from.sin6_family != AF_INET6)
			continue;
		size_t dl = (size_t)n;
		int r = 0;
		if (p->turn && cr_turn_from(p->turn, &from))
			r = cr_turn_input(p->turn, buf, (size_t)n, cr_now_ns(), &d, &dl, &peer);
		if (r == 0 && p->stun && cr_turn_from(p->stun, &from))
			r = cr_turn_input(p->stun, buf, (size_t)n, cr_now_ns(), &d, &dl, &peer) == 1 ? -1 : 0;
		if (r == 1 && dl)
			_on_packet(p, d, dl, &peer, true);
		else if (r == 0 && !(p->turn && cr_turn_from(p->turn, &from)) && !(p->stun && cr_turn_from(p->stun, &from)))
			_on_packet(p, buf, (size_t)n, &from, false);
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
	/* The audio's RTP time is the capture clock's (audio/audio.h). */
	n = p->artp.packets ? cr_rtcp_sender_report(sr, sizeof(sr), p->artp.ssrc, cr_ntp_now(),
						    cr_audio_rtp_ts(now) + p->ats_offset, p->artp.packets,
						    p->artp.octets, "camrelay")
			    : 0;
	if (n)
		_send_rtcp(p, sr, n);
	p->last_sr_ns = now;
}

static void _ice_tick(struct cr_whip_peer_s *p, int64_t now)
{
	if (!p->started_ns)
		return; /* gathered, the answer not there yet */
	if (now - p->started_ns > _ICE_TIMEOUT_NS) {
		char list[160] = "";
		for (int i = 0; i < p->ans.n_cands && strlen(list) < 120; i++) {
			char a[64];
			cr_whip_addr_text(&p->ans.cands[i].addr, a, sizeof(a));
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", a);
		}
		_fail(p, "ICE failed: none of the server's %d candidates (%s) answered in 10 s%s%s%s", p->ans.n_cands,
		      list, p->turn ? " directly or through TURN" : "", p->note[0] ? "; " : "", p->note);
		return;
	}
	if (now - p->last_check_ns >= _CHECK_GAP_NS) {
		/* every candidate directly, then every one through the relay */
		bool via = p->turn && cr_turn_state(p->turn) == CR_TURN_READY;
		int pairs = p->ans.n_cands * (via ? 2 : 1), k = p->next_check++ % pairs, i = k % p->ans.n_cands;
		bool relay = k >= p->ans.n_cands;
		_send_check(p, i, relay ? p->rtids[i] : p->tids[i], true, relay);
		p->last_check_ns = now;
	}
}

/* Retransmissions and refreshes; a TURN failure ends a relayed session
 * and only drops the relayed pairs of one still checking. */
static void _turn_tick(struct cr_whip_peer_s *p, int64_t now)
{
	if (p->stun)
		cr_turn_tick(p->stun, now);
	if (!p->turn)
		return;
	cr_turn_tick(p->turn, now);
	if (cr_turn_state(p->turn) != CR_TURN_FAILED || p->gathering)
		return;
	if (p->sel_relay) {
		_fail(p, "%s", cr_turn_error(p->turn));
		return;
	}
	snprintf(p->note, sizeof(p->note), "%s", cr_turn_error(p->turn));
	cr_turn_free(p->turn);
	p->turn = NULL;
}

static void _gather_tick(struct cr_whip_peer_s *p, int64_t now);

/* The server's candidates may reach us through the relay. */
static void _permit(struct cr_whip_peer_s *p)
{
	struct sockaddr_in6 peers[CR_WHIP_MAX_CANDS];
	if (!p->turn || !p->started_ns)
		return;
	for (int i = 0; i < p->ans.n_cands; i++)
		peers[i] = p->ans.cands[i].addr;
	cr_turn_permit(p->turn, peers, p->ans.n_cands);
}

static void _on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whip_peer_s *p = arg;
	(void)fd, (void)what;
	int64_t now = cr_now_ns();
	_turn_tick(p, now);
	if (p->gathering)
		_gather_tick(p, now); /* beside the checks: its candidates are trickled */
	if (p->state == CR_WHIP_PEER_ICE) {
		_ice_tick(p, now);
		return;
	}
	if (p->state == CR_WHIP_PEER_FAILED || p->state == CR_WHIP_PEER_LOST)
		return;
	if (p->state == CR_WHIP_PEER_DTLS) {
		if (now - p->state_ns > _DTLS_TIMEOUT_NS) {
			_fail(p, "DTLS handshake with the server did not finish in 10 s");
			return;
		}
		cr_dtls_tick(p->dtls);
	}
	if (now - p->consent_rx_ns > _CONSENT_LOST_NS) {
		if (p->state != CR_WHIP_PEER_MEDIA) {
			_fail(p, "ICE consent lost: no answer to connectivity checks for 8 s");
			return;
		}
		snprintf(p->error, sizeof(p->error), "ICE consent lost: no answer to connectivity checks for 8 s");
		p->state = CR_WHIP_PEER_LOST; /* the sink restarts ICE or gives up */
		p->cbs.state(p->cbs.opaque, p->state);
		return;
	}
	if (now - p->consent_tx_ns >= _CONSENT_GAP_NS) {
		_send_check(p, p->sel, p->consent_tid, false, p->sel_relay);
		p->consent_tx_ns = now;
	}
	if (p->state == CR_WHIP_PEER_MEDIA && now - p->last_sr_ns >= _SR_GAP_NS && p->rtp.packets)
		_send_sr(p, now);
}

/* ---- set-up ---- */

/* Type preference (RFC 8445 5.1.2.2): host 126, srflx 100, relay 0. */
static void _add_cand(struct cr_whip_peer_s *p, const struct sockaddr_in6 *a, const char *type)
{
	if (p->n_local >= CR_WHIP_MAX_LOCAL)
		return;
	struct cr_whip_cand_s *c = &p->local[p->n_local];
	memset(c, 0, sizeof(*c));
	c->addr = *a;
	unsigned pref = strcmp(type, "host") == 0 ? 126u : strcmp(type, "srflx") == 0 ? 100u : 0u;
	c->priority = (pref << 24) | ((65535u - (unsigned)p->n_local) << 8) | 255u;
	snprintf(c->type, sizeof(c->type), "%s", type);
	p->n_local++;
}

static void _add_local(struct cr_whip_peer_s *p, const struct sockaddr *sa, uint16_t port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	if (sa->sa_family == AF_INET) {
		a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&a.sin6_addr.s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		a.sin6_addr = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	}
	_add_cand(p, &a, "host");
}

static void _note(struct cr_whip_peer_s *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void _note(struct cr_whip_peer_s *p, const char *fmt, ...)
{
	size_t l = strlen(p->note);
	if (l + 3 >= sizeof(p->note))
		return;
	if (l)
		l += (size_t)snprintf(p->note + l, sizeof(p->note) - l, "; ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->note + l, sizeof(p->note) - l, fmt, ap);
	va_end(ap);
}

/* The first stun: and the first UDP turn: URL of the ice_servers. */
static void _start_servers(struct cr_whip_peer_s *p, const struct cr_ice_server_cfg_s *sv, int n)
{
	int64_t now = cr_now_ns();
	for (int i = 0; i < n; i++)
		for (int k = 0; k < sv[i].n_urls; k++) {
			const char *u = sv[i].urls[k];
			bool turn = strncmp(u, "turn:", 5) == 0, tcp;
			struct sockaddr_in6 a;
			if ((turn && p->turn) || (!turn && p->stun))
				continue;
			if (cr_turn_resolve(u, &a, &tcp) < 0) {
				_note(p, "cannot resolve %s", u);
				continue;
			}
			if (tcp) {
				_note(p, "%s: only TURN over UDP is supported", u);
				continue;
			}
			struct cr_turn_s *t = cr_turn_new(&a, turn ? sv[i].username : NULL,
							  turn ? sv[i].credential : NULL, _turn_send, p);
			if (!t)
				continue;
			*(turn ? &p->turn : &p->stun) = t;
			cr_turn_start(t, now);
		}
	p->gathering = p->turn || p->stun;
	p->gather_ns = now;
}

static bool _is_local(const struct cr_whip_peer_s *p, const struct sockaddr_in6 *a)
{
	for (int i = 0; i < p->n_local; i++)
		if (p->local[i].addr.sin6_port == a->sin6_port && memcmp(&p->local[i].addr.sin6_addr, &a->sin6_addr, 16) == 0)
			return true;
	return false;
}

/* Done when every server answered or failed, or after 3 s: the
 * server-reflexive candidate (unless it is a host one: no NAT), the relayed
 * one, and a note of what failed. */
static void _gather_tick(struct cr_whip_peer_s *p, int64_t now)
{
	bool waiting = (p->stun && cr_turn_state(p->stun) == CR_TURN_WAITING) ||
		       (p->turn && cr_turn_state(p->turn) == CR_TURN_WAITING);
	if (waiting && now - p->gather_ns < _GATHER_NS)
		return;
	p->gathering = false;
	struct sockaddr_in6 srflx = {0};
	struct cr_turn_s *ts[2] = {p->stun, p->turn};
	for (int k = 0; k < 2; k++) {
		struct cr_turn_s *t = ts[k];
		if (t && cr_turn_state(t) == CR_TURN_READY && !srflx.sin6_family)
			srflx = *cr_turn_mapped(t);
		else if (t && cr_turn_state(t) != CR_TURN_READY) {
			char a[64];
			cr_whip_addr_text(cr_turn_server(t), a, sizeof(a));
			if (cr_turn_state(t) == CR_TURN_FAILED)
				_note(p, "%s", cr_turn_error(t));
			else
				_note(p, "%s server %s: no answer in 3 s", k ? "TURN" : "STUN", a);
		}
	}
	char a[64], b[64];
	if (srflx.sin6_family && !_is_local(p, &srflx)) {
		_add_cand(p, &srflx, "srflx");
		cr_whip_addr_text(&srflx, a, sizeof(a));
		snprintf(p->fig.gathered, sizeof(p->fig.gathered), "srflx %s", a);
	} else if (srflx.sin6_family) {
		snprintf(p->fig.gathered, sizeof(p->fig.gathered), "srflx = host (no NAT)");
	}
	if (p->turn && cr_turn_state(p->turn) == CR_TURN_READY) {
		_permit(p);
		_add_cand(p, cr_turn_relayed(p->turn), "relay");
		cr_whip_addr_text(cr_turn_relayed(p->turn), b, sizeof(b));
		size_t l = strlen(p->fig.gathered);
		snprintf(p->fig.gathered + l, sizeof(p->fig.gathered) - l, "%srelay %s", l ? ", " : "", b);
	} else {
		cr_turn_free(p->turn);
		p->turn = NULL;
	}
	cr_turn_free(p->stun);
	p->stun = NULL;
	snprintf(p->fig.ice_note, sizeof(p->fig.ice_note), "%s", p->note);
	p->cbs.gathered(p->cbs.opaque);
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
					const struct cr_ice_server_cfg_s *servers, int n_servers, char *err,
					size_t errlen)
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
	if (o->audio_pt >= 0) {
		o->audio_ssrc = o->ssrc ^ 0x5a5a5a5a; /* differs from both video SSRCs but by chance */
		p->ats_offset = rnd[2] * 2654435761u;
		cr_rtp_init(&p->artp, CR_CODEC_NONE, (uint8_t)o->audio_pt, o->audio_ssrc, (uint16_t)(rnd[3] >> 16));
		p->artp.emit = _on_audio_rtp;
		p->artp.opaque = p;
	}
	p->udp_ev = event_new(base, p->fd, EV_READ | EV_PERSIST, _on_udp, p);
	p->tick_ev = event_new(base, -1, EV_PERSIST, _on_tick, p);
	if (!p->udp_ev || !p->tick_ev || event_add(p->udp_ev, NULL) < 0) {
		snprintf(err, errlen, "cannot set up the event loop");
		goto error;
	}
	_start_servers(p, servers, n_servers);
	struct timeval tv = {0, _TICK_MS * 1000};
	if (p->gathering && event_add(p->tick_ev, &tv) < 0) {
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
	p->twcc_id = a->twcc_id;
	p->fig.twcc = a->twcc_id > 0;
	p->fig.dtls_role = strcmp(a->setup, "active") == 0 ? "server" : "client";
	p->dtls = cr_dtls_new(p->dtls_ctx, "sha-256", a->fingerprint, _dtls_send, p); /* the answer's, checked sha-256 */
	if (!p->dtls)
		return -ENOMEM;
	p->started_ns = p->state_ns = cr_now_ns();
	p->state = CR_WHIP_PEER_ICE;
	_permit(p);
	struct timeval tv = {0, _TICK_MS * 1000};
	return event_add(p->tick_ev, &tv) < 0 ? -EIO : 0;
}

void cr_whip_peer_new_credentials(struct cr_whip_peer_s *p)
{
	_random_text(p->ufrag, sizeof(p->ufrag));
	_random_text(p->pwd, sizeof(p->pwd));
}

void cr_whip_peer_add_remote(struct cr_whip_peer_s *p, const struct cr_whip_frag_s *f)
{
	for (int i = 0; i < f->n_cands && p->ans.n_cands < CR_WHIP_MAX_CANDS; i++)
		p->ans.cands[p->ans.n_cands++] = f->cands[i];
	_permit(p);
}

int cr_whip_peer_restart(struct cr_whip_peer_s *p, const struct cr_whip_frag_s *f)
{
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	if (p->state != CR_WHIP_PEER_LOST || !f->ufrag[0])
		return -EINVAL;
	snprintf(p->ans.ufrag, sizeof(p->ans.ufrag), "%s", f->ufrag);
	snprintf(p->ans.pwd, sizeof(p->ans.pwd), "%s", f->pwd);
	if (f->n_cands) {
		p->ans.n_cands = f->n_cands;
		memcpy(p->ans.cands, f->cands, sizeof(f->cands));
		p->ans.ice_lite = f->ice_lite;
	}
	if (connect(p->fd, &unspec, sizeof(unspec)) < 0) /* checks go to every candidate again */
		return -errno;
	p->sel = -1;
	p->next_check = 0;
	memset(p->fig.pair, 0, sizeof(p->fig.pair));
	_permit(p);
	p->started_ns = p->state_ns = cr_now_ns();
	p->state = CR_WHIP_PEER_ICE;
	return 0;
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
	cr_turn_free(p->turn);
	cr_turn_free(p->stun);
	free(p->hist);
	free(p);
}

enum cr_whip_peer_state_e cr_whip_peer_state(const struct cr_whip_peer_s *p) { return p->state; }
bool cr_whip_peer_gathering(const struct cr_whip_peer_s *p) { return p->gathering; }

void cr_whip_peer_fill_offer(const struct cr_whip_peer_s *p, struct cr_whip_offer_s *o)
{
	o->trickling = p->gathering;
	o->n_local = p->n_local;
	memcpy(o->local, p->local, sizeof(p->local));
}
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

void cr_whip_peer_send_audio(struct cr_whip_peer_s *p, const uint8_t *data, size_t size, uint32_t ts48k,
			     bool talkspurt)
{
	if (p->state == CR_WHIP_PEER_MEDIA && p->ans.audio_pt >= 0)
		cr_rtp_opus(&p->artp, data, size, ts48k + p->ats_offset, talkspurt);
}

void cr_whip_peer_figures(const struct cr_whip_peer_s *p, struct cr_whip_figures_s *out) { *out = p->fig; }
