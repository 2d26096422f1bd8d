/* WHEP sessions, the shared WebRTC UDP port, and per-viewer RTP/RTCP; see
 * whep.h. Runs entirely on the HTTP server's event loop; the only thing
 * other threads do is the subscribers' notify, which writes an eventfd. */
#include "net/whep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/dtls.h"
#include "net/srtp.h"
#include "net/stun.h"
#include "net/whep_priv.h"
#include "rtp/rtp.h"

#define _DEPTH 16 /* subscriber queue depth */
#define _TICK_MS 50
#define _KEYFRAME_GAP_NS 500000000LL
#define _SR_GAP_NS 1000000000LL

/* ---- helpers ---- */

void cr_whep_random_text(char *out, size_t n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	uint8_t r[64];
	if (n > sizeof(r))
		n = sizeof(r);
	if (getrandom(r, n, 0) != (ssize_t)n)
		for (size_t i = 0; i < n; i++)
			r[i] = (uint8_t)rand();
	for (size_t i = 0; i + 1 < n; i++)
		out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
	out[n - 1] = 0;
}

uint32_t cr_whep_random32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

void cr_whep_addr_text(const struct sockaddr_in6 *a, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
		inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof(ip));
		snprintf(out, n, "%s:%u", ip, ntohs(a->sin6_port));
	} else {
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, n, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

socklen_t cr_whep_plain(const struct sockaddr_in6 *a, bool v4, struct sockaddr_storage *out)
{
	if (!v4) {
		memcpy(out, a, sizeof(*a));
		return sizeof(*a);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = a->sin6_port;
	memcpy(&sin->sin_addr, &a->sin6_addr.s6_addr[12], 4);
	return sizeof(*sin);
}

static void _v4_mapped(struct in6_addr *out, const struct in_addr *a)
{
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12], a, 4);
}

static void _request_keyframe(struct cr_whep_viewer_s *v, const char *why)
{
	struct cr_whep_s *w = v->w;
	int64_t now = cr_now_ns();
	if (!v->sub || now - w->last_keyframe_ns[v->stream] < _KEYFRAME_GAP_NS)
		return;
	w->last_keyframe_ns[v->stream] = now;
	cr_sub_request_keyframe(v->sub);
	v->info.keyframes_requested++;
	w->stats.keyframes_requested++;
	CR_LOG_D("whep", "viewer %s: keyframe requested (%s)", v->id, why);
}

static void _drain(struct cr_whep_viewer_s *v)
{
	struct cr_packet_s *pkt;
	while (v->sub && (pkt = cr_sub_pop(v->sub, 0))) {
		bool key = pkt->flags & CR_PACKET_KEYFRAME;
		if (v->wait_key && !key) {
			cr_sub_drop(v->sub);
			v->own_drops++;
			v->info.frames_dropped++;
			cr_sub_unref_item(v->sub, pkt);
			continue;
		}
		v->wait_key = false;
		if (cr_whep_cc_skip(v, key, pkt->size)) { /* keyframes on demand */
			cr_sub_unref_item(v->sub, pkt);
			continue;
		}
		/* Payloaded once for all the stream's viewers (whep_fan.c), sent
		 * with v's headers in this wake-up's batch, microseconds later; the
		 * frame's last packet (marker) carries its stamps there. */
		const struct cr_whep_fan_frame_s *fr = cr_whep_fan_frame(v->fan, pkt);
		if (fr->count > 0) {
			cr_whep_send_frame(v, fr);
			v->info.frames_sent++;
			v->info.keyframes_sent += key;
			cr_sub_sent(v->sub, pkt->ts_capture_ns);
		}
		cr_sub_unref_item(v->sub, pkt);
	}
}

static void _on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whep_s *w = arg;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		CR_LOG_W("whep", "eventfd read: %s", strerror(errno));
	/* Cleared before the queues are read: a packet pushed after this
	 * writes the eventfd again, one pushed before is drained below. */
	atomic_store(&w->woken, false);
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (v->state == CR_WHEP_SENDING) {
			_drain(v);
			cr_whep_audio_drain(v);
		}
	cr_whep_flush(w);
	cr_whep_pace_schedule(w);
}

/* Pipeline threads: wake the loop, once until it has woken. */
void cr_whep_notify(struct cr_whep_s *w)
{
	uint64_t one = 1;
	if (atomic_exchange(&w->woken, true))
		return;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the loop will wake. */
	}
}

static void _notify(void *opaque) { cr_whep_notify(opaque); }

/* ---- viewers ---- */

void cr_whep_viewer_close(struct cr_whep_viewer_s *v)
{
	struct cr_whep_s *w = v->w;
	for (struct cr_whep_viewer_s **p = &w->viewers; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	cr_whep_batch_forget(w, v); /* nothing of it may stay in the send batch */
	if (v->sub)
		cr_stream_unsubscribe(v->sub);
	cr_whep_audio_free(v);
	cr_whep_pace_free(v);
	cr_whep_cc_free(v);
	evhttp_del_cb(w->http, v->path);
	cr_dc_peer_free(v->dc); /* its ABORT leaves through the DTLS session, freed next */
	cr_dtls_free(v->dtls);
	cr_srtp_free(v->srtp);
	w->stats.sessions_active--;
	cr_whep_fan_put(w, v->fan);
	free(v->sent);
	free(v);
}

void cr_whep_dtls_send(void *opaque, const uint8_t *p, size_t len)
{
	struct cr_whep_viewer_s *v = opaque;
	if (v->has_dtls_addr)
		cr_whep_sendto(v->w, p, len, &v->dtls_addr, &v->dtls_local);
}

void cr_whep_dc_out(void *opaque, const uint8_t *p, size_t len)
{
	struct cr_whep_viewer_s *v = opaque;
	cr_dtls_write(v->dtls, p, len);
}

void cr_whep_dc_in(void *opaque, const uint8_t *p, size_t len)
{
	struct cr_whep_viewer_s *v = opaque;
	if (v->dc && v->state == CR_WHEP_SENDING)
		cr_dc_peer_input(v->dc, p, len);
}

/* About one second of packets at the encoder's bitrate (NACKs come within
 * an RTT or two), a power of two between CR_WHEP_HIST_MIN and CR_WHEP_HIST;
 * 512 (~4 Mbit/s for 1 s) when the bitrate is the backend's default. A
 * viewer's sent map has this many entries (16 bytes each); the stream's
 * shared ring twice as many packets (whep_fan.c): its NACK history and what
 * the viewers' pacer queues wait on. */
static int _history_size(const struct cr_encoder_cfg_s *enc)
{
	int64_t want = enc->bitrate > 0 ? enc->bitrate / 8 / 1100 : 512;
	int n = CR_WHEP_HIST_MIN;
	while (n < want && n < CR_WHEP_HIST)
		n *= 2;
	return n;
}

static int _start_media(struct cr_whep_viewer_s *v)
{
	struct cr_whep_s *w = v->w;
	struct cr_srtp_keys_s keys;
	char err[256];
	if (cr_dtls_srtp_keys(v->dtls, &keys) < 0) {
		CR_LOG_W("whep", "viewer %s: %s", v->id, cr_dtls_error(v->dtls));
		return -EPROTO;
	}
	/* The stream's packets and the sent map are allocated only for viewers
	 * that got this far, so offers that never connect cost little. */
	v->n_sent = _history_size(&v->enc);
	v->sent = calloc((size_t)v->n_sent, sizeof(*v->sent));
	v->fan = cr_whep_fan_get(w, v->stream, &v->enc, 2 * v->n_sent);
	v->rtx_credit = CR_WHEP_RTX_BURST / 8;
	if (!v->sent || !v->fan || cr_whep_pace_new(v) < 0)
		return -ENOMEM;
	v->srtp = cr_srtp_new(&keys, err, sizeof(err));
	if (!v->srtp) {
		CR_LOG_W("whep", "viewer %s: %s", v->id, err);
		return -EPROTO;
	}
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = v->enc, .depth = _DEPTH,
				   .notify = _notify, .opaque = w, .name = v->name};
	if (cr_whep_audio_start(v) < 0)
		CR_LOG_W("whep", "viewer %s: out of memory: no audio", v->id);
	v->sub = cr_stream_subscribe(w->streams[v->stream], &req);
	if (!v->sub) {
		CR_LOG_W("whep", "viewer %s: cannot subscribe to stream %s", v->id,
			 cr_stream_name(w->streams[v->stream]));
		return -ENOMEM;
	}
	v->state = CR_WHEP_SENDING;
	v->last_sr_ns = cr_now_ns();
	/* Data channels are extra: without them the video still plays. */
	if (v->dc && cr_dc_peer_start(v->dc, err, sizeof(err)) < 0) {
		CR_LOG_W("whep", "viewer %s: no data channels: %s", v->id, err);
		cr_dc_peer_free(v->dc);
		v->dc = NULL;
	}
	CR_LOG_D("whep", "viewer %s: SRTP profile %s", v->id,
		 keys.profile == CR_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80");
	char a[64];
	cr_whep_addr_text(&v->dtls_addr, a, sizeof(a));
	CR_LOG_I("whep", "viewer %s of stream %s: sending %s to %s", v->id,
		 cr_stream_name(w->streams[v->stream]), cr_codec_name(v->enc.codec), a);
	return 0;
}

/* ---- UDP: STUN, DTLS, SRTCP ---- */

static void _on_rtcp(struct cr_whep_viewer_s *v, uint8_t *p, size_t len)
{
	struct cr_whep_s *w = v->w;
	if (cr_srtp_unprotect_rtcp(v->srtp, p, &len) < 0)
		return;
	struct cr_rtcp_info_s ri;
	cr_rtcp_parse(p, len, &ri); /* keep what parsed before any error */
	for (int i = 0; i < ri.n_rr; i++) {
		if (ri.rr[i].ssrc != v->rtp.ssrc)
			continue;
		v->info.fraction_lost = ri.rr[i].fraction_lost / 256.0;
		v->info.packets_lost = ri.rr[i].cumulative_lost;
		v->info.jitter_ms = ri.rr[i].jitter / 90.0;
		int64_t rtt = cr_rtcp_rtt_us(cr_ntp_now(), ri.rr[i].lsr, ri.rr[i].dlsr);
		if (rtt >= 0)
			v->info.rtt_ms = rtt / 1000.0;
	}
	cr_whep_cc_rtcp(v, &ri);
	if (ri.pli) {
		v->info.plis += (uint64_t)ri.pli;
		w->stats.plis += (uint64_t)ri.pli;
		_request_keyframe(v, "PLI");
	}
	if (ri.fir) {
		v->info.firs += (uint64_t)ri.fir;
		w->stats.firs += (uint64_t)ri.fir;
		_request_keyframe(v, "FIR");
	}
	if (ri.n_nack && ri.media_ssrc == v->rtp.ssrc) {
		v->info.nacks += (uint64_t)ri.n_nack;
		w->stats.nacks += (uint64_t)ri.n_nack;
		int64_t now = cr_now_ns(), rtt = v->info.rtt_ms > 0 ? (int64_t)(v->info.rtt_ms * 1e6) : 100000000LL;
		rtt = rtt < 10000000LL ? 10000000LL : rtt > 500000000LL ? 500000000LL : rtt;
		for (int i = 0; i < ri.n_nack; i++) {
			/* Its own number -> the stream's packet, if the ring still has it. */
			struct cr_whep_sent_s *h = &v->sent[ri.nack_seqs[i] & (v->n_sent - 1)];
			const struct cr_whep_fan_slot_s *s =
				h->used && h->seq == ri.nack_seqs[i] ? cr_whep_fan_slot(v->fan, h->idx) : NULL;
			if (!s)
				continue;
			uint16_t len = (uint16_t)(CR_RTP_HEADER + s->len);
			if (v->nack_floor_ns && now - v->nack_floor_ns < 2000000000LL &&
			    (int16_t)(h->seq - v->nack_floor) < 0) {
				v->info.retransmits_refused++; /* made for the rate before a cut */
				w->stats.retransmits_refused++;
				continue;
			}
			/* Budget: a share of the media sent, and once per RTT per packet. */
			if ((h->resent_ns && now - h->resent_ns < rtt) || v->rtx_credit < len) {
				v->info.retransmits_refused++;
				w->stats.retransmits_refused++;
				continue;
			}
			h->resent_ns = now;
			v->rtx_credit -= len;
			w->stats.retransmit_bytes += len;
			cr_whep_resend(v, h, len); /* paced, RTX when negotiated */
			v->info.retransmits++;
			w->stats.retransmits++;
		}
		cr_whep_flush(w);
		cr_whep_pace_schedule(w);
	}
}

static void _on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whep_s *w = arg;
	for (int round = 0; round < 64; round++) {
		uint8_t buf[2048];
		struct sockaddr_storage ss;
		union cr_whep_cmsg_u cbuf;
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr h = {.msg_name = &ss, .msg_namelen = sizeof(ss), .msg_iov = &iov,
				   .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf)};
		ssize_t n = recvmsg(fd, &h, 0);
		if (n < 0)
			break;
		struct in6_addr local = IN6ADDR_ANY_INIT;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
			if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				local = pi.ipi6_addr;
			} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				_v4_mapped(&local, &pi.ipi_addr);
			}
		}
		struct sockaddr_in6 from = {.sin6_family = AF_INET6};
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
			from.sin6_port = sin->sin_port;
			_v4_mapped(&from.sin6_addr, &sin->sin_addr);
		} else if (ss.ss_family == AF_INET6) {
			memcpy(&from, &ss, sizeof(from));
		} else {
			continue;
		}
		if (n == 0)
			continue;
		if (!cr_whep_ice_announced(w, &local)) {
			w->stats.udp_garbage++; /* media only on the addresses announced */
			continue;
		}
		size_t len = (size_t)n;
		uint8_t b0 = buf[0];
		/* RFC 7983: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP. */
		if (b0 < 4) {
			cr_whep_ice_stun(w, buf, len, &from, &local);
			continue;
		}
		/* Only from a pair's address; media goes where ICE consent says. */
		struct cr_whep_viewer_s *v = cr_whep_ice_viewer_by_addr(w, &from);
		if (!v) {
			w->stats.udp_garbage++;
			continue;
		}
		if (b0 >= 20 && b0 <= 63) {
			v->dtls_addr = from; /* handshake replies go back where it came from */
			v->dtls_local = local;
			v->has_dtls_addr = true;
			if (v->state == CR_WHEP_CONNECTING)
				v->state = CR_WHEP_DTLS;
			int r = cr_dtls_input(v->dtls, buf, len);
			if (r == 1 && _start_media(v) < 0)
				r = -EPROTO;
			if (r < 0) {
				if (r != -EPIPE) {
					w->stats.dtls_failed++;
					CR_LOG_W("whep", "viewer %s: %s; closing", v->id,
						 cr_dtls_error(v->dtls)[0] ? cr_dtls_error(v->dtls) : "DTLS failed");
				} else {
					CR_LOG_I("whep", "viewer %s closed the connection", v->id);
				}
				cr_whep_viewer_close(v);
			}
		} else if (b0 >= 128 && b0 <= 191 && v->srtp && cr_rtp_is_rtcp(buf, len)) {
			_on_rtcp(v, buf, len);
		} else if (b0 >= 128 && b0 <= 191 && v->srtp) {
			cr_whep_audio_in(v, buf, len); /* talk-back */
		} else {
			w->stats.udp_garbage++;
		}
	}
}

static void _send_sr(struct cr_whep_viewer_s *v, int64_t now)
{
	uint8_t sr[128];
	uint32_t ts = (uint32_t)(now * 9 / 100000) + v->ts_offset;
	char cname[80];
	snprintf(cname, sizeof(cname), "camrelay-%s", cr_stream_name(v->w->streams[v->stream]));
	size_t n = cr_rtcp_sender_report(sr, sizeof(sr), v->rtp.ssrc, cr_ntp_now(), ts, v->rtp.packets,
					 v->rtp.octets, cname);
	if (n)
		cr_whep_queue(v, sr, n, true);
	v->last_sr_ns = now;
}

/* The core drops the oldest packet of a full subscriber queue: a viewer that
 * lost one waits for a keyframe, which it asks for, instead of sending what
 * its decoder cannot use. Each viewer reads its own subscriber's count (one
 * walk of the viewers, not one of the stream's subscribers per viewer). */
static void _check_drops(struct cr_whep_s *w)
{
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next) {
		if (!v->sub)
			continue;
		uint64_t dropped = cr_sub_dropped(v->sub);
		uint64_t queue = dropped > v->own_drops ? dropped - v->own_drops : 0;
		if (queue > v->queue_drops) {
			v->info.frames_dropped += queue - v->queue_drops;
			v->queue_drops = queue;
			v->overflowed = true;
		}
	}
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (v->overflowed) {
			v->overflowed = false;
			v->wait_key = true;
			_request_keyframe(v, "frames dropped from its queue");
		}
}

static void _on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whep_s *w = arg;
	int64_t now = cr_now_ns();
	if (now - w->last_drop_check_ns >= 200000000LL) {
		w->last_drop_check_ns = now;
		_check_drops(w);
	}
	struct cr_whep_viewer_s *v = w->viewers, *next;
	for (; v; v = next) {
		next = v->next;
		int64_t since = v->consent_ns ? v->consent_ns : v->created_ns;
		if (now - since > w->timeout_ns) {
			CR_LOG_I("whep", "viewer %s of stream %s: no ICE consent for %lld s; dropped", v->id,
				 cr_stream_name(w->streams[v->stream]), (long long)(w->timeout_ns / 1000000000LL));
			w->stats.sessions_timed_out++;
			cr_whep_viewer_close(v);
			continue;
		}
		/* An offer that never connects holds a slot only briefly. */
		if (v->state != CR_WHEP_SENDING && now - v->created_ns > w->pending_ns) {
			CR_LOG_D("whep", "viewer %s: not connected within %lld s; dropped", v->id,
				 (long long)(w->pending_ns / 1000000000LL));
			w->stats.sessions_pending_expired++;
			cr_whep_viewer_close(v);
			continue;
		}
		cr_whep_ice_tick(v, now);
		if (v->state == CR_WHEP_DTLS)
			cr_dtls_tick(v->dtls);
		if (v->state == CR_WHEP_SENDING && now - v->last_sr_ns >= _SR_GAP_NS && v->rtp.packets > 0)
			_send_sr(v, now);
		if (v->state == CR_WHEP_SENDING)
			cr_whep_audio_tick(v, now);
	}
	cr_whep_cc_tick(w, now);
	cr_whep_flush(w);
	cr_whep_pace_schedule(w);
}

/* ---- set-up ---- */

/* One dual-stack socket for IPv6 and (v4-mapped) IPv4 viewers; a plain
 * IPv4 socket where the kernel has no IPv6. */
static int _open_udp(struct cr_whep_s *w, char *err, size_t errlen)
{
	int one = 1, zero = 0, buf = 4 << 20;
	w->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd >= 0 && setsockopt(w->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) {
		close(w->fd);
		w->fd = -1;
	}
	w->v4_only = w->fd < 0;
	if (w->v4_only)
		w->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0) {
		snprintf(err, errlen, "WebRTC: cannot create a UDP socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(w->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	int r;
	if (w->v4_only) {
		setsockopt(w->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->port),
					.sin_addr.s_addr = htonl(INADDR_ANY)};
		r = bind(w->fd, (struct sockaddr *)&a, sizeof(a));
	} else {
		/* IPv4 packets on this socket report their address both ways. */
		setsockopt(w->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		setsockopt(w->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)w->port),
					 .sin6_addr = IN6ADDR_ANY_INIT};
		r = bind(w->fd, (struct sockaddr *)&a, sizeof(a));
	}
	if (r < 0) {
		int e = errno;
		snprintf(err, errlen,
			 "WebRTC: cannot bind UDP port %d: %s (another camrelay or go2rtc running? set [webrtc] port)",
			 w->port, strerror(e));
		return -e;
	}
	return 0;
}

struct cr_whep_s *cr_whep_attach(struct evhttp *http, struct event_base *base,
				 const struct cr_config_s *cfg, struct cr_stream_s **streams, int n,
				 char *err, size_t errlen)
{
	struct cr_whep_s *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->fd = w->efd = -1;
	w->base = base;
	w->http = http;
	w->cfg = cfg;
	w->n_streams = n < CR_MAX_STREAMS ? n : CR_MAX_STREAMS;
	w->port = cfg->webrtc.port > 0 ? cfg->webrtc.port : 8555;
	w->timeout_ns = (cfg->webrtc.timeout > 0 ? cfg->webrtc.timeout : 30) * 1000000000LL;
	w->pending_ns = (cfg->limits.whep_pending_timeout > 0 ? cfg->limits.whep_pending_timeout : 15) * 1000000000LL;
	if (_open_udp(w, err, errlen) < 0) /* the DTLS context comes with the first viewer (whep_http.c) */
		goto error;
	if (cr_whep_send_init(w) < 0) {
		snprintf(err, errlen, "WebRTC: cannot set up the pacer's timer");
		goto error;
	}
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->udp_ev = event_new(base, w->fd, EV_READ | EV_PERSIST, _on_udp, w);
	w->wake_ev = w->efd >= 0 ? event_new(base, w->efd, EV_READ | EV_PERSIST, _on_wake, w) : NULL;
	w->tick_ev = event_new(base, -1, EV_PERSIST, _on_tick, w);
	struct timeval tick = {0, _TICK_MS * 1000};
	if (!w->udp_ev || !w->wake_ev || !w->tick_ev || event_add(w->udp_ev, NULL) < 0 ||
	    event_add(w->wake_ev, NULL) < 0 || event_add(w->tick_ev, &tick) < 0) {
		snprintf(err, errlen, "WebRTC: cannot set up the event loop");
		goto error;
	}
	cr_whep_ice_gather(w);
	const struct cr_stream_cfg_s *scfg[CR_MAX_STREAMS];
	for (int i = 0; i < w->n_streams; i++) {
		w->streams[i] = streams[i];
		scfg[i] = cr_stream_cfg(streams[i]);
	}
	if (!(w->dc = cr_dc_new(base, cfg->path, scfg, w->n_streams, err, errlen)))
		goto error;
	cr_whep_http_register(w);
	CR_LOG_I("whep", "WebRTC on UDP port %d, candidates: %s%s", w->port, w->candidates[0],
		 w->n_candidates > 1 ? " ..." : "");
	return w;
error:
	cr_whep_detach(w);
	return NULL;
}

void cr_whep_detach(struct cr_whep_s *w)
{
	if (!w)
		return;
	while (w->viewers)
		cr_whep_viewer_close(w->viewers);
	cr_dc_free(w->dc);
	cr_whep_audio_talk_free(w);
	if (w->http)
		cr_whep_http_unregister(w);
	if (w->udp_ev)
		event_free(w->udp_ev);
	if (w->wake_ev)
		event_free(w->wake_ev);
	if (w->tick_ev)
		event_free(w->tick_ev);
	cr_whep_send_free(w);
	if (w->fd >= 0)
		close(w->fd);
	if (w->efd >= 0)
		close(w->efd);
	cr_dtls_ctx_free(w->dtls);
	free(w);
}
