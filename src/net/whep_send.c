/* The WHEP send path: every viewer's RTP and RTCP is SRTP-protected into
 * one batch on the event loop (video: the stream's packets, payloaded once
 * in whep_fan.c, each with the viewer's own header), which leaves through sendmmsg: across viewers
 * (one call for up to CR_WHEP_BATCH datagrams) and, where the kernel takes
 * UDP_SEGMENT (generic segmentation offload, Linux 4.18), a viewer's
 * consecutive datagrams of one size go as one message the kernel splits, so
 * the stack is walked once per run instead of once per packet. A viewer
 * with a bandwidth estimate is paced (the pacer below). Nothing here
 * allocates per packet. Counters: sendmmsg calls / datagrams (/metrics) and each
 * viewer's frame latency up to the moment its last packet went out. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/crypto.h"
#include "net/srtp.h"
#include "net/srtp_tx.h"
#include "net/whep_priv.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libc headers lack it */
#endif

#define _GSO_MAX_BYTES 60000 /* a GSO message's payload stays under 64 KiB */

/* Upper bounds of the latency histograms, in microseconds. */
static const int64_t _lat_le_us[CR_WHEP_LAT_BUCKETS] = {100,  250,  500,   1000,  2000,  3000,   4000,
							 5000, 6000, 8000,  10000, 12000, 15000,  20000,
							 30000, 50000, 100000, 250000, 500000, 1000000};

static void _on_pace(evutil_socket_t fd, short what, void *arg);

int cr_whep_send_init(struct cr_whep_s *w)
{
	int v = 0;
	socklen_t l = sizeof(v);
	const char *off = getenv("CAMRELAY_WHEP_NO_GSO"); /* benchmarks: the path without GSO */
	w->gso = !(off && *off == '1') && getsockopt(w->fd, SOL_UDP, UDP_SEGMENT, &v, &l) == 0;
	off = getenv("CAMRELAY_WHEP_NO_PACER"); /* benchmarks, tests: every frame as one burst */
	w->no_pacer = off && *off == '1';
	CR_LOG_D("whep", "UDP GSO %s, pacer %s", w->gso ? "on" : "off", w->no_pacer ? "off" : "on");
	w->pace_ev = evtimer_new(w->base, _on_pace, w);
	return w->pace_ev ? 0 : -1;
}

void cr_whep_send_free(struct cr_whep_s *w)
{
	if (w->pace_ev)
		event_free(w->pace_ev);
	w->pace_ev = NULL;
}

/* The socket is bound to every address: say which one a datagram leaves
 * from, or a reply to 127.0.0.1:port could leave from another address and
 * be ignored by the peer's ICE agent. segment > 0 adds UDP_SEGMENT. */
static void _control(const struct cr_whep_s *w, struct msghdr *h, union cr_whep_cmsg_u *cbuf,
		     const struct in6_addr *local, uint16_t segment)
{
	memset(cbuf, 0, sizeof(*cbuf));
	h->msg_control = cbuf->buf;
	h->msg_controllen = sizeof(cbuf->buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(h);
	size_t used = 0;
	if (IN6_IS_ADDR_UNSPECIFIED(local)) {
		/* the kernel picks */
	} else if (w->v4_only) {
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = {0};
		memcpy(&pi.ipi_spec_dst, &local->s6_addr[12], 4);
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
		c = (struct cmsghdr *)(cbuf->buf + used);
	} else {
		/* Linux takes this for v4-mapped destinations too (ip_cmsg_send). */
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
		struct in6_pktinfo pi = {.ipi6_addr = *local};
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
		c = (struct cmsghdr *)(cbuf->buf + used);
	}
	if (segment) {
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(segment));
		memcpy(CMSG_DATA(c), &segment, sizeof(segment));
		used += CMSG_SPACE(sizeof(segment));
	}
	h->msg_controllen = used;
	if (!used)
		h->msg_control = NULL;
}

void cr_whep_sendto(struct cr_whep_s *w, const void *p, size_t len, const struct sockaddr_in6 *to,
		    const struct in6_addr *local)
{
	struct sockaddr_storage ss;
	struct iovec iov = {(void *)p, len};
	struct msghdr h = {.msg_name = &ss, .msg_namelen = cr_whep_plain(to, w->v4_only, &ss), .msg_iov = &iov,
			   .msg_iovlen = 1};
	union cr_whep_cmsg_u cbuf;
	_control(w, &h, &cbuf, local, 0);
	if (sendmsg(w->fd, &h, 0) < 0)
		CR_LOG_D("whep", "sendmsg: %s", strerror(errno));
}

static void _lat_add(uint64_t *hist, uint64_t *sum_us, int64_t us)
{
	int i = 0;
	while (i < CR_WHEP_LAT_BUCKETS && us > _lat_le_us[i])
		i++;
	hist[i]++;
	*sum_us += (uint64_t)(us > 0 ? us : 0);
}

/* Datagrams first..end-1 left: count them, and the frames they ended. */
static void _sent(struct cr_whep_s *w, int first, int end, int64_t now)
{
	for (int i = first; i < end; i++) {
		struct cr_whep_viewer_s *v = w->batch_viewer[i];
		v->info.packets_sent++;
		v->info.bytes_sent += w->batch_len[i];
		w->stats.packets_sent++;
		w->stats.bytes_sent += w->batch_len[i];
		if (w->batch_capture_ns[i])
			_lat_add(w->lat_capture, &w->lat_capture_sum_us, (now - w->batch_capture_ns[i]) / 1000);
		if (w->batch_encoded_ns[i])
			_lat_add(w->lat_encoded, &w->lat_encoded_sum_us, (now - w->batch_encoded_ns[i]) / 1000);
	}
	w->stats.sendmmsg_packets += (uint64_t)(end - first);
}

/* How many datagrams from i on go in one message: a GSO run is one
 * viewer's datagrams, all of the first one's size but the last, which may
 * be shorter. */
static int _run(const struct cr_whep_s *w, int i)
{
	int j = i + 1;
	size_t seg = w->batch_len[i], total = seg;
	if (!w->gso || w->batch_viewer[i]->no_gso)
		return 1;
	while (j < w->batch_n && w->batch_viewer[j] == w->batch_viewer[i] && w->batch_len[j - 1] == seg &&
	       w->batch_len[j] <= seg && total + w->batch_len[j] <= _GSO_MAX_BYTES) {
		total += w->batch_len[j];
		j++;
	}
	return j - i;
}

/* The kernel refused a viewer's GSO message: EMSGSIZE/EINVAL when the
 * route's MTU is below the segment size (single datagrams still leave, as IP
 * fragments), EIO with IPsec. That viewer's packets go one by one from now
 * on (the others keep GSO), this message's too. True when they all left. */
static bool _gso_refused(struct cr_whep_s *w, struct msghdr *h, int first, int end)
{
	struct cr_whep_viewer_s *v = w->batch_viewer[first];
	CR_LOG_I("whep", "viewer %s: UDP GSO refused by the kernel (%s): its packets go one by one", v->id,
		 strerror(errno));
	v->no_gso = true;
	w->stats.gso_refused++;
	union cr_whep_cmsg_u cbuf;
	_control(w, h, &cbuf, &v->local, 0);
	struct iovec *iov = h->msg_iov;
	for (int i = first; i < end; i++) {
		h->msg_iov = &iov[i - first];
		h->msg_iovlen = 1;
		if (sendmsg(w->fd, h, 0) < 0)
			return false;
		w->stats.sendmmsg_calls++; /* counted as calls of one message */
		_sent(w, i, i + 1, cr_now_ns());
	}
	return true;
}

void cr_whep_flush(struct cr_whep_s *w)
{
	if (w->batch_n == 0)
		return;
	struct mmsghdr msgs[CR_WHEP_BATCH];
	struct iovec iov[CR_WHEP_BATCH];
	struct sockaddr_storage names[CR_WHEP_BATCH];
	int first[CR_WHEP_BATCH + 1], m = 0;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < w->batch_n; i++) {
		iov[i].iov_base = w->batch[i];
		iov[i].iov_len = w->batch_len[i];
	}
	for (int i = 0; i < w->batch_n; m++) {
		int n = _run(w, i);
		struct cr_whep_viewer_s *v = w->batch_viewer[i];
		struct msghdr *h = &msgs[m].msg_hdr;
		h->msg_iov = &iov[i];
		h->msg_iovlen = (size_t)n;
		h->msg_name = &names[m];
		h->msg_namelen = cr_whep_plain(&v->addr, w->v4_only, &names[m]);
		_control(w, h, &w->batch_cmsg[m], &v->local, n > 1 ? (uint16_t)w->batch_len[i] : 0);
		first[m] = i;
		i += n;
	}
	first[m] = w->batch_n;
	int done = 0;
	while (done < m) {
		int r = sendmmsg(w->fd, msgs + done, (unsigned)(m - done), 0);
		if (r > 0) {
			int64_t now = cr_now_ns();
			w->stats.sendmmsg_calls++;
			for (int k = done; k < done + r; k++)
				w->stats.gso_messages += first[k + 1] - first[k] > 1;
			_sent(w, first[done], first[done + r], now);
			done += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EMSGSIZE || errno == EINVAL || errno == EIO) && first[done + 1] - first[done] > 1 &&
		    _gso_refused(w, &msgs[done].msg_hdr, first[done], first[done + 1])) {
			done++;
			continue;
		}
		/* Socket full (or the address unreachable): the rest is lost for
		 * those viewers; they resume on a keyframe. */
		struct cr_whep_viewer_s *v = w->batch_viewer[first[done]];
		if (!v->wait_key && v->sub) {
			v->wait_key = true;
			cr_sub_drop(v->sub);
			v->own_drops++;
		}
		done++;
	}
	w->batch_n = 0;
}

void cr_whep_batch_forget(struct cr_whep_s *w, struct cr_whep_viewer_s *v)
{
	int k = 0;
	for (int i = 0; i < w->batch_n; i++)
		if (w->batch_viewer[i] != v) {
			if (k != i) {
				memcpy(w->batch[k], w->batch[i], w->batch_len[i]);
				w->batch_len[k] = w->batch_len[i];
				w->batch_viewer[k] = w->batch_viewer[i];
				w->batch_capture_ns[k] = w->batch_capture_ns[i];
				w->batch_encoded_ns[k] = w->batch_encoded_ns[i];
			}
			k++;
		}
	w->batch_n = k;
}

/* The datagram just written at the batch's end, l bytes, is v's. */
static void _batch_add(struct cr_whep_s *w, struct cr_whep_viewer_s *v, size_t l, int64_t capture_ns,
		       int64_t encoded_ns)
{
	w->batch_len[w->batch_n] = l;
	w->batch_viewer[w->batch_n] = v;
	w->batch_capture_ns[w->batch_n] = capture_ns;
	w->batch_encoded_ns[w->batch_n] = encoded_ns;
	w->batch_n++;
}

/* SRTP-protects one packet of v into the send batch (a video packet gets
 * its transport-wide sequence number here: its send time is now). */
static void _protect(struct cr_whep_viewer_s *v, const uint8_t *pkt, size_t len, bool rtcp, int64_t capture_ns,
		     int64_t encoded_ns)
{
	struct cr_whep_s *w = v->w;
	if (!v->srtp || !v->has_addr || len > CR_RTP_MAX_PACKET)
		return;
	if (w->batch_n == CR_WHEP_BATCH)
		cr_whep_flush(w);
	uint8_t *b = w->batch[w->batch_n];
	size_t l = len;
	int r;
	if (rtcp) {
		memcpy(b, pkt, len);
		r = cr_crypto->srtp_protect_rtcp(v->srtp, b, &l);
	} else {
		/* The header into the batch, the payload encrypted straight from
		 * the payloader's packet (no copy of it first). */
		size_t from = 12, h = v->cc ? cr_whep_cc_header(v, b, pkt, len) : 0; /* + transport-wide seq */
		if (!h) {
			h = from = cr_rtp_header_len(pkt, len);
			if (!h)
				return;
			memcpy(b, pkt, h);
		}
		r = cr_crypto->srtp_protect_from(v->srtp, b, h, pkt + from, len - from, &l);
	}
	if (r >= 0)
		_batch_add(w, v, l, capture_ns, encoded_ns);
}

static void _header(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	b[2] = (uint8_t)(seq >> 8), b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24), b[5] = (uint8_t)(ts >> 16), b[6] = (uint8_t)(ts >> 8), b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24), b[9] = (uint8_t)(ssrc >> 16), b[10] = (uint8_t)(ssrc >> 8), b[11] = (uint8_t)ssrc;
}

/* The fan's packet s with v's header (sequence number seq) into the send
 * batch: the header (and transport-cc number) written there, the payload
 * encrypted from the fan's ring. */
static void _protect_media(struct cr_whep_viewer_s *v, const struct cr_whep_fan_slot_s *s, uint16_t seq,
			   int64_t capture_ns, int64_t encoded_ns)
{
	struct cr_whep_s *w = v->w;
	if (!v->srtp || !v->has_addr)
		return;
	if (w->batch_n == CR_WHEP_BATCH)
		cr_whep_flush(w);
	uint8_t *b = w->batch[w->batch_n];
	_header(b, v->rtp.pt, s->marker, seq, s->ts + v->ts_offset, v->rtp.ssrc);
	size_t len = CR_RTP_HEADER + s->len, l;
	size_t h = v->cc ? cr_whep_cc_header(v, b, b, len) : 0; /* + transport-wide seq */
	if (!h)
		h = CR_RTP_HEADER;
	if (cr_crypto->srtp_protect_from(v->srtp, b, h, cr_whep_fan_data(v->fan, s), s->len, &l) >= 0)
		_batch_add(w, v, l, capture_ns, encoded_ns);
}

/* v's packet seq (its sent map), while the fan's ring still holds it. */
static const struct cr_whep_fan_slot_s *_sent_slot(const struct cr_whep_viewer_s *v, uint16_t seq)
{
	const struct cr_whep_sent_s *e = &v->sent[seq & (v->n_sent - 1)];
	return e->used && e->seq == seq ? cr_whep_fan_slot(v->fan, e->idx) : NULL;
}

/* ---- The pacer ----
 *
 * A viewer with a delay-based estimate (transport-cc negotiated) gets
 * its video, keyframes and retransmissions at CR_WHEP_PACE_FACTOR (1.5) x its
 * estimate (libwebrtc's pacer: 2.5; through tc tbf's 20 ms bucket that
 * made every keyframe an overuse at 0.85 x the link), instead of each frame as one burst at
 * line rate that a shallow bottleneck queue (a router's, tc tbf's) would
 * mostly drop. Two leaky buckets: pace_debt counts the bytes sent ahead of
 * that peak rate, packets leave while it is below CR_WHEP_PACE_BURST_NS
 * (5 ms) of it, so they go in small bursts (still one GSO message each, and
 * one sendmmsg across the viewers due at the same tick); pace_avg_debt
 * counts them against the estimate itself with a depth of
 * CR_WHEP_PACE_DEPTH_NS (40 ms): a frame leaves at the peak rate, but a
 * backlog (a large keyframe, retransmissions, the frames encoded before the
 * encoder followed a cut) at no more than the estimate, which a link just
 * found full can take. A packet that finds the queue empty and the bucket below
 * that level leaves at once, with no delay. The queue (whose entries point
 * into the stream's shared packets through the viewer's sent map, nothing
 * copied) is bounded: half the sent map's entries, and 1 s at the estimate (CR_WHEP_PACE_STALE_NS); beyond either the
 * queue's media is dropped (counted) and the viewer waits for a keyframe. Audio, RTCP and
 * data channels are never queued behind video: they leave at once and only
 * count against the bucket. Viewers without transport-cc are not paced: a
 * REMB / receiver-report estimate (aiortc's) is too coarse to hold a viewer
 * to, and the pacer's own drops would read as loss there and pull it down
 * further (webrtc-viewers-20 under load: 17 of 20 aiortc viewers fell to
 * 75-100 kbit/s estimates under a 150 kbit/s stream). The
 * loop's own timer (libevent, 1 ms resolution) runs it; nothing blocks. */

static bool _paced(const struct cr_whep_viewer_s *v)
{
	return v->pq != NULL && !v->w->no_pacer && cr_whep_cc_estimate(v) > 0;
}

int cr_whep_pace_new(struct cr_whep_viewer_s *v)
{
	if (!cr_whep_cc_transport_cc(v) || v->w->no_pacer)
		return 0;
	v->pq_cap = v->n_sent / 2;
	v->pq = calloc((size_t)v->pq_cap, sizeof(*v->pq));
	return v->pq ? 0 : -1;
}

void cr_whep_pace_free(struct cr_whep_viewer_s *v)
{
	free(v->pq);
	v->pq = NULL;
	v->pq_n = 0;
}

/* Bytes per second: the peak rate its queue leaves at (1.5 x the estimate)
 * and the average it may keep (the estimate) beyond a depth of
 * CR_WHEP_PACE_DEPTH_NS of it. */
static double _pace_rate(const struct cr_whep_viewer_s *v)
{
	return CR_WHEP_PACE_FACTOR * (double)cr_whep_cc_estimate(v) / 8.0;
}

static double _pace_avg_rate(const struct cr_whep_viewer_s *v)
{
	return (double)cr_whep_cc_estimate(v) / 8.0;
}

static void _pace_decay(struct cr_whep_viewer_s *v, double rate, int64_t now)
{
	if (v->pace_last_ns && now > v->pace_last_ns) {
		double dt = (double)(now - v->pace_last_ns) / 1e9;
		v->pace_debt -= rate * dt;
		v->pace_avg_debt -= _pace_avg_rate(v) * dt;
		v->pace_debt = v->pace_debt < 0 ? 0 : v->pace_debt;
		v->pace_avg_debt = v->pace_avg_debt < 0 ? 0 : v->pace_avg_debt;
	}
	/* A debt run up at a higher estimate does not hold the queue at the new
	 * one (after a cut from 4.4 to 0.55 Mbit/s the average debt took 2 s to
	 * decay: the viewer froze 3 s, its keyframe behind it): at most one
	 * packet (or 20 ms) beyond where the current rates start to wait. */
	double avg = _pace_avg_rate(v);
	double cap = rate * (double)CR_WHEP_PACE_BURST_NS / 1e9 + (rate * 0.02 > 1500 ? rate * 0.02 : 1500);
	double avg_cap = avg * (double)CR_WHEP_PACE_DEPTH_NS / 1e9 + (avg * 0.02 > 1500 ? avg * 0.02 : 1500);
	v->pace_debt = v->pace_debt > cap ? cap : v->pace_debt;
	v->pace_avg_debt = v->pace_avg_debt > avg_cap ? avg_cap : v->pace_avg_debt;
	v->pace_last_ns = now;
}

/* Nanoseconds until the next packet may leave (after _pace_decay), 0 = now. */
static int64_t _pace_wait(const struct cr_whep_viewer_s *v)
{
	double rate = _pace_rate(v), avg = _pace_avg_rate(v);
	double over = v->pace_debt - rate * (double)CR_WHEP_PACE_BURST_NS / 1e9;
	double avg_over = v->pace_avg_debt - avg * (double)CR_WHEP_PACE_DEPTH_NS / 1e9;
	double w = over > 0 ? over / (rate > 1 ? rate : 1) : 0;
	double wa = avg_over > 0 ? avg_over / (avg > 1 ? avg : 1) : 0;
	w = w > wa ? w : wa;
	int64_t ns = w > 0 ? (int64_t)(w * 1e9) + 1 : 0;
	int64_t hold = v->pace_hold_ns - v->pace_last_ns; /* _pace_decay set pace_last_ns to now */
	return hold > ns ? hold : ns;
}

static void _pace_charge(struct cr_whep_viewer_s *v, size_t len)
{
	v->pace_debt += (double)len;
	v->pace_avg_debt += (double)len;
}

static void _pace_delay(struct cr_whep_s *w, int64_t us)
{
	_lat_add(w->pace_delay, &w->pace_delay_sum_us, us);
}

/* A retransmission of v's packet seq: RFC 4588 (own SSRC and sequence, the
 * original sequence first) when RTX was negotiated. Rare: built in a copy. */
static void _resend_now(struct cr_whep_viewer_s *v, uint16_t seq)
{
	const struct cr_whep_fan_slot_s *s = _sent_slot(v, seq);
	if (!s)
		return;
	uint8_t pkt[CR_RTP_MAX_PACKET + 2];
	const uint8_t *data = cr_whep_fan_data(v->fan, s);
	uint32_t ts = s->ts + v->ts_offset;
	if (v->rtx_pt < 0) {
		_header(pkt, v->rtp.pt, s->marker, seq, ts, v->rtp.ssrc);
		memcpy(pkt + CR_RTP_HEADER, data, s->len);
		_protect(v, pkt, CR_RTP_HEADER + s->len, false, 0, 0);
		return;
	}
	_header(pkt, (uint8_t)v->rtx_pt, s->marker, v->rtx_seq++, ts, v->rtx_ssrc);
	pkt[12] = (uint8_t)(seq >> 8);
	pkt[13] = (uint8_t)seq;
	memcpy(pkt + 14, data, s->len);
	_protect(v, pkt, CR_RTP_HEADER + 2u + s->len, false, 0, 0);
}

/* The queue's head goes out (when the stream's ring still holds it). */
static void _pace_release(struct cr_whep_viewer_s *v, int64_t now)
{
	struct cr_whep_s *w = v->w;
	struct cr_whep_paced_s *e = &v->pq[v->pq_head];
	v->pq_head = (v->pq_head + 1) % v->pq_cap;
	v->pq_n--;
	v->pq_bytes -= e->len;
	const struct cr_whep_fan_slot_s *s = _sent_slot(v, e->seq);
	if (!s) {
		v->pace_drops++;
		w->pace_drops++; /* overwritten while it waited */
		return;
	}
	if (e->kind == CR_WHEP_PACED_MEDIA)
		_protect_media(v, s, e->seq, e->capture_ns, e->encoded_ns);
	else
		_resend_now(v, e->seq);
	_pace_charge(v, e->len);
	w->pace_packets++;
	_pace_delay(w, (now - e->queued_ns) / 1000);
}

/* What may leave of v's queue now. */
static void _pace_run(struct cr_whep_viewer_s *v, int64_t now)
{
	_pace_decay(v, _pace_rate(v), now);
	while (v->pq_n > 0 && _pace_wait(v) == 0)
		_pace_release(v, now);
}

static void _pace_enqueue(struct cr_whep_viewer_s *v, struct cr_whep_paced_s e)
{
	v->pq[(v->pq_head + v->pq_n) % v->pq_cap] = e;
	v->pq_n++;
	v->pq_bytes += e.len;
}

/* Into v's queue (or out at once when nothing waits and the bucket has room). */
static void _pace_push(struct cr_whep_viewer_s *v, uint8_t kind, uint16_t seq, uint16_t len, int64_t capture_ns,
		       int64_t encoded_ns)
{
	struct cr_whep_s *w = v->w;
	int64_t now = cr_now_ns();
	if (v->pq_n == 0) {
		_pace_decay(v, _pace_rate(v), now);
		if (_pace_wait(v) == 0) {
			const struct cr_whep_fan_slot_s *s = _sent_slot(v, seq);
			if (kind == CR_WHEP_PACED_MEDIA && s)
				_protect_media(v, s, seq, capture_ns, encoded_ns);
			else if (s)
				_resend_now(v, seq);
			_pace_charge(v, len);
			w->pace_bypassed++;
			_pace_delay(w, 0);
			return;
		}
	}
	/* A backlog that would take over CR_WHEP_PACE_STALE_NS at the estimate
	 * (frames encoded before the encoder followed a cut) is dropped: the
	 * viewer resumes at a keyframe made at the new rate instead. */
	bool stale = kind == CR_WHEP_PACED_MEDIA &&
		     (double)(v->pq_bytes + len) > _pace_avg_rate(v) * (double)CR_WHEP_PACE_STALE_NS / 1e9;
	if (stale) {
		v->pace_drops += (uint64_t)v->pq_n;
		w->pace_drops += (uint64_t)v->pq_n;
		v->pq_n = 0;
		v->pq_bytes = 0;
	}
	if (v->pq_n == v->pq_cap || stale) {
		v->pace_drops++;
		w->pace_drops++;
		if (kind == CR_WHEP_PACED_MEDIA && !v->wait_key && v->sub) {
			v->wait_key = true; /* it resumes at a keyframe, asked for by the tick */
			cr_sub_drop(v->sub);
			v->own_drops++;
			v->overflowed = true;
		}
		return;
	}
	_pace_enqueue(v, (struct cr_whep_paced_s){.queued_ns = now, .capture_ns = capture_ns, .encoded_ns = encoded_ns,
						  .seq = seq, .len = len, .kind = kind});
}

void cr_whep_pace_cut(struct cr_whep_viewer_s *v, int64_t hold_ns)
{
	if (!v->pq)
		return;
	v->pace_drops += (uint64_t)v->pq_n;
	v->w->pace_drops += (uint64_t)v->pq_n;
	v->pq_n = 0;
	v->pq_bytes = 0;
	int64_t now = cr_now_ns();
	_pace_decay(v, _pace_rate(v), now);
	/* What follows leaves at the new estimate, no burst into a full queue. */
	v->pace_avg_debt = _pace_avg_rate(v) * (double)CR_WHEP_PACE_DEPTH_NS / 1e9;
	v->pace_hold_ns = now + hold_ns;
}

void cr_whep_pace_schedule(struct cr_whep_s *w)
{
	if (w->no_pacer || !w->pace_ev)
		return;
	int64_t due = 0, now = cr_now_ns();
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (v->pq_n > 0) {
			_pace_decay(v, _pace_rate(v), now);
			int64_t at = now + _pace_wait(v);
			if (!due || at < due)
				due = at;
		}
	if (!due)
		return;
	if (w->pace_armed && w->pace_due_ns <= due)
		return; /* sooner already */
	int64_t wait = due - now;
	wait = wait < 1000000 ? 1000000 : wait;
	struct timeval tv = {(time_t)(wait / 1000000000LL), (suseconds_t)(wait % 1000000000LL / 1000)};
	if (evtimer_add(w->pace_ev, &tv) == 0) {
		w->pace_armed = true;
		w->pace_due_ns = now + wait;
	}
}

static void _on_pace(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whep_s *w = arg;
	w->pace_armed = false;
	int64_t now = cr_now_ns();
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (v->pq_n > 0)
			_pace_run(v, now);
	cr_whep_flush(w);
	cr_whep_pace_schedule(w);
}

/* RTCP, audio, data: never behind the video queue; counted in the bucket. */
void cr_whep_queue(struct cr_whep_viewer_s *v, const uint8_t *pkt, size_t len, bool rtcp)
{
	if (_paced(v)) {
		_pace_decay(v, _pace_rate(v), cr_now_ns());
		_pace_charge(v, len);
	}
	_protect(v, pkt, len, rtcp, 0, 0);
}

void cr_whep_resend(struct cr_whep_viewer_s *v, const struct cr_whep_sent_s *h, uint16_t len)
{
	if (_paced(v))
		_pace_push(v, v->rtx_pt >= 0 ? CR_WHEP_PACED_RTX : CR_WHEP_PACED_RESEND, h->seq, len, 0, 0);
	else
		_resend_now(v, h->seq);
}

void cr_whep_send_frame(struct cr_whep_viewer_s *v, const struct cr_whep_fan_frame_s *fr)
{
	bool paced = _paced(v);
	/* A paced viewer's retransmission burst: also at most 250 ms of its
	 * estimate (a congested link would lose a burst of them again). */
	int64_t cap = CR_WHEP_RTX_BURST, est = paced ? cr_whep_cc_estimate(v) / 8 / 4 : cap;
	cap = est < cap ? (est > 8192 ? est : 8192) : cap;
	v->w->fan_sends++;
	for (int k = 0; k < fr->count; k++) {
		uint32_t idx = fr->first + (uint32_t)k;
		const struct cr_whep_fan_slot_s *s = cr_whep_fan_slot(v->fan, idx);
		if (!s)
			continue; /* overwritten: a unit larger than the ring */
		uint16_t seq = v->rtp.seq++, len = (uint16_t)(CR_RTP_HEADER + s->len);
		v->rtp.packets++;
		v->rtp.octets += s->len;
		v->sent[seq & (v->n_sent - 1)] = (struct cr_whep_sent_s){.idx = idx, .seq = seq, .used = true};
		v->rtx_credit += len / CR_WHEP_RTX_SHARE;
		if (v->rtx_credit > cap)
			v->rtx_credit = cap;
		/* The marker ends a frame: its last packet carries the frame's stamps. */
		int64_t capture_ns = s->marker ? fr->capture_ns : 0, encoded_ns = s->marker ? fr->encoded_ns : 0;
		if (paced)
			_pace_push(v, CR_WHEP_PACED_MEDIA, seq, len, capture_ns, encoded_ns);
		else
			_protect_media(v, s, seq, capture_ns, encoded_ns);
	}
}

static void _histogram(struct evbuffer *out, const char *name, const char *path, const uint64_t *hist,
		       uint64_t sum_us)
{
	char lab[64], only[64];
	snprintf(lab, sizeof(lab), "%s%s%s", path ? "path=\"" : "", path ? path : "", path ? "\"," : "");
	snprintf(only, sizeof(only), "%s%s%s", path ? "{path=\"" : "", path ? path : "", path ? "\"}" : "");
	uint64_t cum = 0;
	for (int i = 0; i < CR_WHEP_LAT_BUCKETS; i++) {
		cum += hist[i];
		evbuffer_add_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, lab, _lat_le_us[i] / 1e6,
				    (unsigned long long)cum);
	}
	cum += hist[CR_WHEP_LAT_BUCKETS];
	evbuffer_add_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n%s_sum%s %.6f\n%s_count%s %llu\n", name, lab,
			    (unsigned long long)cum, name, only, sum_us / 1e6, name, only, (unsigned long long)cum);
}

void cr_whep_send_metrics(struct cr_whep_s *w, struct evbuffer *out)
{
	uint64_t queued = 0, bytes = 0;
	for (const struct cr_whep_viewer_s *v = w->viewers; v; v = v->next) {
		queued += (uint64_t)v->pq_n;
		bytes += v->pq_bytes;
	}
	evbuffer_add_printf(out,
			    "camrelay_webrtc_sendmmsg_calls_total %llu\ncamrelay_webrtc_sendmmsg_packets_total %llu\n"
			    "camrelay_webrtc_gso_messages_total %llu\ncamrelay_webrtc_gso_refused_total %llu\n"
			    "camrelay_webrtc_gso_enabled %d\n"
			    "camrelay_webrtc_pacer_enabled %d\ncamrelay_webrtc_pacer_queued_packets %llu\n"
			    "camrelay_webrtc_pacer_queued_bytes %llu\ncamrelay_webrtc_pacer_packets_total %llu\n"
			    "camrelay_webrtc_pacer_immediate_total %llu\ncamrelay_webrtc_pacer_drops_total %llu\n"
			    "camrelay_webrtc_fan_units_total %llu\ncamrelay_webrtc_fan_sends_total %llu\n"
			    "# TYPE camrelay_webrtc_send_latency_seconds histogram\n",
			    (unsigned long long)w->stats.sendmmsg_calls, (unsigned long long)w->stats.sendmmsg_packets,
			    (unsigned long long)w->stats.gso_messages, (unsigned long long)w->stats.gso_refused,
			    w->gso ? 1 : 0, w->no_pacer ? 0 : 1, (unsigned long long)queued, (unsigned long long)bytes,
			    (unsigned long long)w->pace_packets, (unsigned long long)w->pace_bypassed,
			    (unsigned long long)w->pace_drops, (unsigned long long)w->fan_units,
			    (unsigned long long)w->fan_sends);
	_histogram(out, "camrelay_webrtc_send_latency_seconds", "capture_to_sent", w->lat_capture,
		   w->lat_capture_sum_us);
	_histogram(out, "camrelay_webrtc_send_latency_seconds", "encoded_to_sent", w->lat_encoded,
		   w->lat_encoded_sum_us);
	/* Paced packets' wait in the queue (0 for those that left at once). */
	evbuffer_add_printf(out, "# TYPE camrelay_webrtc_pacer_delay_seconds histogram\n");
	_histogram(out, "camrelay_webrtc_pacer_delay_seconds", NULL, w->pace_delay, w->pace_delay_sum_us);
}
