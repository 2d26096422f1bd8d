/* The WHEP send path: every viewer's RTP and RTCP is SRTP-protected into
 * one batch on the event loop, which leaves through sendmmsg: across viewers
 * (one call for up to CR_WHEP_BATCH datagrams) and, where the kernel takes
 * UDP_SEGMENT (generic segmentation offload, Linux 4.18), a viewer's
 * consecutive datagrams of one size go as one message the kernel splits, so
 * the stack is walked once per run instead of once per packet. Nothing here
 * allocates. Counters: sendmmsg calls / datagrams (/metrics) and each
 * viewer's frame latency up to the moment its last packet went out. */
#include <errno.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/srtp.h"
#include "net/whep_priv.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libc headers lack it */
#endif

#define _GSO_MAX_BYTES 60000 /* a GSO message's payload stays under 64 KiB */

/* Upper bounds of the latency histograms, in microseconds. */
static const int64_t _lat_le_us[CR_WHEP_LAT_BUCKETS] = {100,  250,  500,   1000,  2000,  3000,   4000,
							 5000, 6000, 8000,  10000, 12000, 15000,  20000,
							 30000, 50000, 100000, 250000, 500000, 1000000};

void cr_whep_send_init(struct cr_whep_s *w)
{
	int v = 0;
	socklen_t l = sizeof(v);
	const char *off = getenv("CAMRELAY_WHEP_NO_GSO"); /* benchmarks: the path without GSO */
	w->gso = !(off && *off == '1') && getsockopt(w->fd, SOL_UDP, UDP_SEGMENT, &v, &l) == 0;
	CR_LOG_D("whep", "UDP GSO %s", w->gso ? "on" : "off");
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

/* 12 bytes, the CSRCs and the extension; 0 if longer than the packet. */
static size_t _rtp_header_len(const uint8_t *p, size_t len)
{
	if (len < 12)
		return 0;
	size_t h = 12 + 4u * (p[0] & 0x0f);
	if ((p[0] & 0x10) && h + 4 <= len)
		h += 4 + 4u * (size_t)(p[h + 2] << 8 | p[h + 3]);
	return h <= len ? h : 0;
}

static void _queue(struct cr_whep_viewer_s *v, const uint8_t *pkt, size_t len, bool rtcp, bool frame_end)
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
		r = cr_srtp_protect_rtcp(v->srtp, b, &l);
	} else {
		/* The header into the batch, the payload encrypted straight from
		 * the payloader's packet (no copy of it first). */
		size_t from = 12, h = v->cc ? cr_whep_cc_header(v, b, pkt, len) : 0; /* + transport-wide seq */
		if (!h) {
			h = from = _rtp_header_len(pkt, len);
			if (!h)
				return;
			memcpy(b, pkt, h);
		}
		r = cr_srtp_protect_from(v->srtp, b, h, pkt + from, len - from, &l);
	}
	if (r < 0)
		return;
	w->batch_len[w->batch_n] = l;
	w->batch_viewer[w->batch_n] = v;
	w->batch_capture_ns[w->batch_n] = frame_end ? v->frame_capture_ns : 0;
	w->batch_encoded_ns[w->batch_n] = frame_end ? v->frame_encoded_ns : 0;
	w->batch_n++;
}

void cr_whep_queue(struct cr_whep_viewer_s *v, const uint8_t *pkt, size_t len, bool rtcp)
{
	_queue(v, pkt, len, rtcp, false);
}

/* Called by the payloader for each RTP packet. */
void cr_whep_on_rtp(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_whep_viewer_s *v = opaque;
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	struct cr_whep_hist_s *h = &v->hist[seq % v->n_hist];
	h->seq = seq;
	h->len = (uint16_t)len;
	h->used = len <= v->hist_slot; /* a larger one cannot be resent */
	h->resent_ns = 0;
	if (h->used)
		memcpy(cr_whep_hist_data(v, h), pkt, len);
	v->rtx_credit += (int64_t)len / CR_WHEP_RTX_SHARE;
	if (v->rtx_credit > CR_WHEP_RTX_BURST)
		v->rtx_credit = CR_WHEP_RTX_BURST;
	_queue(v, pkt, len, false, (pkt[1] & 0x80) != 0); /* the marker ends a frame */
}

static void _histogram(struct evbuffer *out, const char *path, const uint64_t *hist, uint64_t sum_us)
{
	uint64_t cum = 0;
	for (int i = 0; i < CR_WHEP_LAT_BUCKETS; i++) {
		cum += hist[i];
		evbuffer_add_printf(out, "camrelay_webrtc_send_latency_seconds_bucket{path=\"%s\",le=\"%g\"} %llu\n",
				    path, _lat_le_us[i] / 1e6, (unsigned long long)cum);
	}
	cum += hist[CR_WHEP_LAT_BUCKETS];
	evbuffer_add_printf(out,
			    "camrelay_webrtc_send_latency_seconds_bucket{path=\"%s\",le=\"+Inf\"} %llu\n"
			    "camrelay_webrtc_send_latency_seconds_sum{path=\"%s\"} %.6f\n"
			    "camrelay_webrtc_send_latency_seconds_count{path=\"%s\"} %llu\n",
			    path, (unsigned long long)cum, path, sum_us / 1e6, path, (unsigned long long)cum);
}

void cr_whep_send_metrics(struct cr_whep_s *w, struct evbuffer *out)
{
	evbuffer_add_printf(out,
			    "camrelay_webrtc_sendmmsg_calls_total %llu\ncamrelay_webrtc_sendmmsg_packets_total %llu\n"
			    "camrelay_webrtc_gso_messages_total %llu\ncamrelay_webrtc_gso_refused_total %llu\n"
			    "camrelay_webrtc_gso_enabled %d\n"
			    "# TYPE camrelay_webrtc_send_latency_seconds histogram\n",
			    (unsigned long long)w->stats.sendmmsg_calls, (unsigned long long)w->stats.sendmmsg_packets,
			    (unsigned long long)w->stats.gso_messages, (unsigned long long)w->stats.gso_refused,
			    w->gso ? 1 : 0);
	_histogram(out, "capture_to_sent", w->lat_capture, w->lat_capture_sum_us);
	_histogram(out, "encoded_to_sent", w->lat_encoded, w->lat_encoded_sum_us);
}
