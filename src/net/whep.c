/* WHEP sessions, the shared WebRTC UDP port, and per-viewer RTP/RTCP; see
 * whep.h. Runs entirely on the HTTP server's event loop; the only thing
 * other threads do is the subscribers' notify, which writes an eventfd. */
#include "net/whep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <net/if.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "encode/encoder.h"
#include "net/dtls.h"
#include "net/sdp.h"
#include "net/srtp.h"
#include "net/stun.h"
#include "rtp/rtp.h"

#define _HIST 1024      /* packets kept per viewer for NACK (~4 s at 2 Mbit/s) */
#define _BATCH 32       /* datagrams per sendmmsg */
#define _DEPTH 16       /* subscriber queue depth */
#define _MAX_ADDRS 4    /* validated remote addresses per viewer */
#define _TICK_MS 50
#define _KEYFRAME_GAP_NS 500000000LL
#define _SR_GAP_NS 1000000000LL
#define _PKT_CAP (CR_RTP_MAX_PACKET + CR_SRTP_MAX_TRAILER + 16)

enum _state_e { _CONNECTING = 0, _DTLS, _SENDING };

/* Control data for IP_PKTINFO, aligned as CMSG_FIRSTHDR expects. */
union _cmsg_u {
	uint8_t buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

struct _hist_s {
	uint16_t seq;
	uint16_t len;
	bool used;
	uint8_t data[CR_RTP_MAX_PACKET];
};

struct _route_s {
	struct cr_whep_s *w;
	int stream;
};

struct _viewer_s {
	struct cr_whep_s *w;
	struct _viewer_s *next;
	char id[33];
	char path[128];
	char name[96];
	int stream;
	enum _state_e state;
	char ufrag[12], pwd[28];
	char remote_ufrag[64];
	struct sockaddr_in addrs[_MAX_ADDRS];
	int n_addrs;
	struct sockaddr_in addr; /* where media goes */
	struct in_addr local;    /* our address it wrote to: replies come from it */
	bool has_addr, nominated;
	int64_t created_ns, consent_ns;
	struct cr_dtls_s *dtls;
	struct cr_srtp_s *srtp;
	struct cr_sub_s *sub;
	struct cr_encoder_cfg_s enc;
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	int pt, rtx_pt;
	uint32_t rtx_ssrc;
	uint16_t rtx_seq;
	bool wait_key;
	int64_t last_sr_ns;
	struct cr_whep_viewer_info_s info;
	struct _hist_s *hist;
};

struct cr_whep_s {
	struct event_base *base;
	struct evhttp *http;
	const struct cr_config_s *cfg;
	struct cr_stream_s *streams[CR_MAX_STREAMS];
	int n_streams;
	struct _route_s routes[CR_MAX_STREAMS];
	int fd, efd;
	int port;
	struct event *udp_ev, *wake_ev, *tick_ev;
	struct cr_dtls_ctx_s *dtls;
	char candidates[CR_MAX_CANDIDATES * 2][64];
	int n_candidates;
	int64_t timeout_ns;
	int64_t last_keyframe_ns[CR_MAX_STREAMS];
	struct _viewer_s *viewers;
	struct cr_whep_stats_s stats;
	/* Outgoing batch. */
	uint8_t batch[_BATCH][_PKT_CAP];
	size_t batch_len[_BATCH];
	struct _viewer_s *batch_viewer[_BATCH];
	int batch_n;
	union _cmsg_u batch_cmsg[_BATCH];
};

/* ---- helpers ---- */

static void _random_text(char *out, size_t n)
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

static uint32_t _random32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

static void _addr_text(const struct sockaddr_in *a, char *out, size_t n)
{
	char ip[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
}

static bool _same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static struct _viewer_s *_viewer_by_addr(struct cr_whep_s *w, const struct sockaddr_in *from)
{
	for (struct _viewer_s *v = w->viewers; v; v = v->next)
		for (int i = 0; i < v->n_addrs; i++)
			if (_same_addr(&v->addrs[i], from))
				return v;
	return NULL;
}

static void _cors(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Access-Control-Allow-Origin", "*");
	evhttp_add_header(h, "Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS");
	evhttp_add_header(h, "Access-Control-Allow-Headers", "Content-Type, Authorization, If-Match");
	evhttp_add_header(h, "Access-Control-Expose-Headers", "Location, ETag, Accept-Patch");
}

static void _reply(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void _reply(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
{
	struct evbuffer *b = evbuffer_new();
	_cors(req);
	if (b && fmt) {
		va_list ap;
		va_start(ap, fmt);
		evbuffer_add_vprintf(b, fmt, ap);
		va_end(ap);
		evbuffer_add(b, "\n", 1);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "text/plain; charset=utf-8");
	}
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

/* ---- sending ---- */

/* The socket is bound to every address: say which one a datagram leaves
 * from, or a reply to 127.0.0.1:port could leave from another address and
 * be ignored by the peer's ICE agent. */
static void _set_source(struct msghdr *h, union _cmsg_u *cbuf, struct in_addr local)
{
	memset(cbuf, 0, sizeof(*cbuf));
	h->msg_control = cbuf->buf;
	h->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
	struct cmsghdr *c = CMSG_FIRSTHDR(h);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	struct in_pktinfo pi = {.ipi_spec_dst = local};
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
}

static void _sendto(struct cr_whep_s *w, const void *p, size_t len, const struct sockaddr_in *to,
		    struct in_addr local)
{
	struct iovec iov = {(void *)p, len};
	struct msghdr h = {.msg_name = (void *)to, .msg_namelen = sizeof(*to), .msg_iov = &iov,
			   .msg_iovlen = 1};
	union _cmsg_u cbuf;
	_set_source(&h, &cbuf, local);
	if (sendmsg(w->fd, &h, 0) < 0)
		CR_LOG_D("whep", "sendmsg: %s", strerror(errno));
}

static void _flush(struct cr_whep_s *w)
{
	if (w->batch_n == 0)
		return;
	struct mmsghdr msgs[_BATCH];
	struct iovec iov[_BATCH];
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < w->batch_n; i++) {
		iov[i].iov_base = w->batch[i];
		iov[i].iov_len = w->batch_len[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &w->batch_viewer[i]->addr;
		msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
		_set_source(&msgs[i].msg_hdr, &w->batch_cmsg[i], w->batch_viewer[i]->local);
	}
	int done = 0;
	while (done < w->batch_n) {
		int r = sendmmsg(w->fd, msgs + done, (unsigned)(w->batch_n - done), 0);
		if (r > 0) {
			for (int i = done; i < done + r; i++) {
				w->batch_viewer[i]->info.packets_sent++;
				w->batch_viewer[i]->info.bytes_sent += w->batch_len[i];
				w->stats.packets_sent++;
				w->stats.bytes_sent += w->batch_len[i];
			}
			done += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* Socket full (or the address unreachable): the rest is lost for
		 * those viewers; they resume on a keyframe. */
		struct _viewer_s *v = w->batch_viewer[done];
		if (!v->wait_key && v->sub) {
			v->wait_key = true;
			cr_sub_drop(v->sub);
		}
		done++;
	}
	w->batch_n = 0;
}

static void _queue(struct _viewer_s *v, const uint8_t *pkt, size_t len, bool rtcp)
{
	struct cr_whep_s *w = v->w;
	if (!v->srtp || !v->has_addr || len > CR_RTP_MAX_PACKET)
		return;
	if (w->batch_n == _BATCH)
		_flush(w);
	uint8_t *b = w->batch[w->batch_n];
	size_t l = len;
	memcpy(b, pkt, len);
	int r = rtcp ? cr_srtp_protect_rtcp(v->srtp, b, &l) : cr_srtp_protect(v->srtp, b, &l);
	if (r < 0)
		return;
	w->batch_len[w->batch_n] = l;
	w->batch_viewer[w->batch_n] = v;
	w->batch_n++;
}

/* Called by the payloader for each RTP packet. */
static void _on_rtp(void *opaque, uint8_t *pkt, size_t len)
{
	struct _viewer_s *v = opaque;
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	struct _hist_s *h = &v->hist[seq % _HIST];
	h->seq = seq;
	h->len = (uint16_t)len;
	h->used = true;
	memcpy(h->data, pkt, len);
	_queue(v, pkt, len, false);
}

static void _request_keyframe(struct _viewer_s *v, const char *why)
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

static void _drain(struct _viewer_s *v)
{
	struct cr_packet_s *pkt;
	int popped = 0;
	while (v->sub && (pkt = cr_sub_pop(v->sub, 0))) {
		popped++;
		bool key = pkt->flags & CR_PACKET_KEYFRAME;
		if (v->wait_key && !key) {
			cr_sub_drop(v->sub);
			v->info.frames_dropped++;
			cr_sub_unref_item(v->sub, pkt);
			continue;
		}
		v->wait_key = false;
		uint32_t ts = (uint32_t)pkt->pts + v->ts_offset;
		int n = cr_rtp_payload(&v->rtp, pkt->data, pkt->size, ts, key, pkt->width, pkt->height);
		_flush(v->w);
		if (n > 0) {
			v->info.frames_sent++;
			v->info.keyframes_sent += key;
			cr_sub_sent(v->sub, pkt->ts_capture_ns);
		}
		cr_sub_unref_item(v->sub, pkt);
	}
	/* A full queue may have dropped frames the decoder needs: start again
	 * from a keyframe rather than send what cannot be decoded. */
	if (popped >= _DEPTH) {
		v->wait_key = true;
		_request_keyframe(v, "queue overflow");
	}
}

static void _on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whep_s *w = arg;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		CR_LOG_W("whep", "eventfd read: %s", strerror(errno));
	for (struct _viewer_s *v = w->viewers; v; v = v->next)
		if (v->state == _SENDING)
			_drain(v);
	_flush(w);
}

/* Pipeline threads: wake the loop. */
static void _notify(void *opaque)
{
	struct cr_whep_s *w = opaque;
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the loop will wake. */
	}
}

/* ---- viewers ---- */

static void _on_session(struct evhttp_request *req, void *arg);

static void _viewer_free(struct _viewer_s *v)
{
	struct cr_whep_s *w = v->w;
	for (struct _viewer_s **p = &w->viewers; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	/* Nothing of this viewer may stay in the send batch. */
	int k = 0;
	for (int i = 0; i < w->batch_n; i++)
		if (w->batch_viewer[i] != v) {
			if (k != i) {
				memcpy(w->batch[k], w->batch[i], w->batch_len[i]);
				w->batch_len[k] = w->batch_len[i];
				w->batch_viewer[k] = w->batch_viewer[i];
			}
			k++;
		}
	w->batch_n = k;
	if (v->sub)
		cr_stream_unsubscribe(v->sub);
	evhttp_del_cb(w->http, v->path);
	cr_dtls_free(v->dtls);
	cr_srtp_free(v->srtp);
	w->stats.sessions_active--;
	free(v->hist);
	free(v);
}

static void _dtls_send(void *opaque, const uint8_t *p, size_t len)
{
	struct _viewer_s *v = opaque;
	if (v->has_addr)
		_sendto(v->w, p, len, &v->addr, v->local);
}

static int _start_media(struct _viewer_s *v)
{
	struct cr_whep_s *w = v->w;
	struct cr_srtp_keys_s keys;
	char err[256];
	if (cr_dtls_srtp_keys(v->dtls, &keys) < 0) {
		CR_LOG_W("whep", "viewer %s: %s", v->id, cr_dtls_error(v->dtls));
		return -EPROTO;
	}
	v->srtp = cr_srtp_new(&keys, err, sizeof(err));
	if (!v->srtp) {
		CR_LOG_W("whep", "viewer %s: %s", v->id, err);
		return -EPROTO;
	}
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = v->enc, .depth = _DEPTH,
				   .notify = _notify, .opaque = w, .name = v->name};
	v->sub = cr_stream_subscribe(w->streams[v->stream], &req);
	if (!v->sub) {
		CR_LOG_W("whep", "viewer %s: cannot subscribe to stream %s", v->id,
			 cr_stream_name(w->streams[v->stream]));
		return -ENOMEM;
	}
	v->state = _SENDING;
	v->last_sr_ns = cr_now_ns();
	CR_LOG_D("whep", "viewer %s: SRTP profile %s", v->id,
		 keys.profile == CR_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80");
	char a[64];
	_addr_text(&v->addr, a, sizeof(a));
	CR_LOG_I("whep", "viewer %s of stream %s: sending %s to %s", v->id,
		 cr_stream_name(w->streams[v->stream]), cr_codec_name(v->enc.codec), a);
	return 0;
}

/* ---- UDP: STUN, DTLS, SRTCP ---- */

static void _on_stun(struct cr_whep_s *w, uint8_t *p, size_t len, const struct sockaddr_in *from,
		     struct in_addr local)
{
	struct cr_stun_msg_s m;
	if (cr_stun_parse(p, len, &m) < 0) {
		w->stats.stun_bad++;
		return;
	}
	if (m.type != CR_STUN_BINDING_REQUEST)
		return; /* indications keep NAT bindings; nothing to do */
	const uint8_t *colon = m.username ? memchr(m.username, ':', m.username_len) : NULL;
	if (!colon) {
		w->stats.stun_bad++;
		return;
	}
	size_t ll = (size_t)(colon - m.username), rl = m.username_len - ll - 1;
	struct _viewer_s *v;
	for (v = w->viewers; v; v = v->next)
		if (strlen(v->ufrag) == ll && memcmp(v->ufrag, m.username, ll) == 0)
			break;
	if (!v || (v->remote_ufrag[0] && (strlen(v->remote_ufrag) != rl ||
					  memcmp(v->remote_ufrag, colon + 1, rl) != 0)) ||
	    !cr_stun_check_integrity(p, len, &m, v->pwd, strlen(v->pwd))) {
		w->stats.stun_bad++;
		return;
	}
	uint8_t out[256];
	size_t n = cr_stun_binding_response(out, sizeof(out), m.tid, (const struct sockaddr *)from,
					    v->pwd, strlen(v->pwd));
	if (n)
		_sendto(w, out, n, from, local);
	v->consent_ns = cr_now_ns();
	int i;
	for (i = 0; i < v->n_addrs; i++)
		if (_same_addr(&v->addrs[i], from))
			break;
	if (i == v->n_addrs) {
		if (v->n_addrs < _MAX_ADDRS)
			v->addrs[v->n_addrs++] = *from;
		else
			v->addrs[_MAX_ADDRS - 1] = *from;
	}
	if (!v->has_addr || (m.use_candidate && !(v->nominated && _same_addr(&v->addr, from)))) {
		v->addr = *from;
		v->local = local;
		v->has_addr = true;
		v->nominated = m.use_candidate;
		_addr_text(from, v->info.remote, sizeof(v->info.remote));
	}
}

static void _on_rtcp(struct _viewer_s *v, uint8_t *p, size_t len)
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
		for (int i = 0; i < ri.n_nack; i++) {
			struct _hist_s *h = &v->hist[ri.nack_seqs[i] % _HIST];
			if (!h->used || h->seq != ri.nack_seqs[i])
				continue;
			if (v->rtx_pt >= 0) {
				/* RFC 4588: own SSRC and sequence, the original sequence first. */
				uint8_t rtx[CR_RTP_MAX_PACKET + 2];
				if (h->len + 2u > sizeof(rtx))
					continue;
				memcpy(rtx, h->data, CR_RTP_HEADER);
				rtx[1] = (uint8_t)((h->data[1] & 0x80) | v->rtx_pt);
				rtx[2] = (uint8_t)(v->rtx_seq >> 8);
				rtx[3] = (uint8_t)v->rtx_seq;
				v->rtx_seq++;
				rtx[8] = (uint8_t)(v->rtx_ssrc >> 24);
				rtx[9] = (uint8_t)(v->rtx_ssrc >> 16);
				rtx[10] = (uint8_t)(v->rtx_ssrc >> 8);
				rtx[11] = (uint8_t)v->rtx_ssrc;
				rtx[12] = h->data[2];
				rtx[13] = h->data[3];
				memcpy(rtx + 14, h->data + CR_RTP_HEADER, h->len - CR_RTP_HEADER);
				_queue(v, rtx, h->len + 2u, false);
			} else {
				_queue(v, h->data, h->len, false);
			}
			v->info.retransmits++;
			w->stats.retransmits++;
		}
		_flush(w);
	}
}

static void _on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whep_s *w = arg;
	for (int round = 0; round < 64; round++) {
		uint8_t buf[2048];
		struct sockaddr_in from;
		union _cmsg_u cbuf;
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr h = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				   .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf)};
		ssize_t n = recvmsg(fd, &h, 0);
		if (n < 0)
			break;
		struct in_addr local = {0};
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				local = pi.ipi_addr;
			}
		if (n == 0 || from.sin_family != AF_INET)
			continue;
		size_t len = (size_t)n;
		uint8_t b0 = buf[0];
		/* RFC 7983: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP. */
		if (b0 < 4) {
			_on_stun(w, buf, len, &from, local);
			continue;
		}
		struct _viewer_s *v = _viewer_by_addr(w, &from);
		if (!v) {
			w->stats.udp_garbage++;
			continue;
		}
		if (!v->nominated && !_same_addr(&v->addr, &from)) {
			v->addr = from;
			v->local = local;
			_addr_text(&from, v->info.remote, sizeof(v->info.remote));
		}
		if (b0 >= 20 && b0 <= 63) {
			if (v->state == _CONNECTING)
				v->state = _DTLS;
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
				_viewer_free(v);
			}
		} else if (b0 >= 128 && b0 <= 191 && v->srtp && cr_rtp_is_rtcp(buf, len)) {
			_on_rtcp(v, buf, len);
		} else {
			w->stats.udp_garbage++;
		}
	}
}

static void _send_sr(struct _viewer_s *v, int64_t now)
{
	uint8_t sr[128];
	uint32_t ts = (uint32_t)(now * 9 / 100000) + v->ts_offset;
	char cname[80];
	snprintf(cname, sizeof(cname), "camrelay-%s", cr_stream_name(v->w->streams[v->stream]));
	size_t n = cr_rtcp_sender_report(sr, sizeof(sr), v->rtp.ssrc, cr_ntp_now(), ts, v->rtp.packets,
					 v->rtp.octets, cname);
	if (n)
		_queue(v, sr, n, true);
	v->last_sr_ns = now;
}

static void _on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cr_whep_s *w = arg;
	int64_t now = cr_now_ns();
	struct _viewer_s *v = w->viewers, *next;
	for (; v; v = next) {
		next = v->next;
		int64_t since = v->consent_ns ? v->consent_ns : v->created_ns;
		if (now - since > w->timeout_ns) {
			CR_LOG_I("whep", "viewer %s of stream %s: no ICE consent for %lld s; dropped", v->id,
				 cr_stream_name(w->streams[v->stream]), (long long)(w->timeout_ns / 1000000000LL));
			w->stats.sessions_timed_out++;
			_viewer_free(v);
			continue;
		}
		if (v->state == _DTLS)
			cr_dtls_tick(v->dtls);
		if (v->state == _SENDING && now - v->last_sr_ns >= _SR_GAP_NS && v->rtp.packets > 0)
			_send_sr(v, now);
	}
	_flush(w);
}

/* ---- HTTP ---- */

static void _body(struct evhttp_request *req, char **text, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	*len = evbuffer_get_length(in);
	*text = (char *)evbuffer_pullup(in, -1);
}

static bool _content_type(struct evhttp_request *req, const char *want)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	return ct && strncasecmp(ct, want, strlen(want)) == 0;
}

static int _negotiate(struct cr_whep_s *w, int stream, const struct cr_sdp_media_s *m,
		      struct cr_encoder_cfg_s *enc, char *fmtp, size_t fmtp_len, int *rtx_pt)
{
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(w->streams[stream]);
	static const enum cr_codec_e fallbacks[] = {CR_CODEC_H264, CR_CODEC_VP8, CR_CODEC_VP9,
						    CR_CODEC_AV1};
	for (size_t i = 0; i < sizeof(fallbacks) / sizeof(fallbacks[0]); i++) {
		bool configured = cr_rtp_stream_encoder(sc, fallbacks[i], enc);
		if (!configured && !cr_encoder_find(enc->backend, enc->codec))
			continue;
		struct cr_sdp_want_s want = {enc->codec, enc->profile_idc, enc->constraint_flags};
		int idx = cr_sdp_match(m, &want, fmtp, fmtp_len, rtx_pt);
		if (idx >= 0)
			return m->fmts[idx].pt;
		if (configured)
			return -1;
	}
	return -1;
}

static void _whep_post(struct cr_whep_s *w, struct evhttp_request *req, int stream)
{
	const char *sname = cr_stream_name(w->streams[stream]);
	if (!_content_type(req, "application/sdp")) {
		_reply(req, 415, "Unsupported Media Type",
		       "POST /whep/%s takes an SDP offer with Content-Type: application/sdp", sname);
		return;
	}
	char *text;
	size_t len;
	_body(req, &text, &len);
	static struct cr_sdp_offer_s offer; /* large; the loop is single-threaded */
	char err[256];
	if (cr_sdp_parse_offer(text ? text : "", text ? len : 0, &offer, err, sizeof(err)) < 0) {
		_reply(req, 400, "Bad Request", "%s", err);
		return;
	}
	int mi = -1;
	for (int i = 0; i < offer.n_media && mi < 0; i++)
		if (strcmp(offer.media[i].type, "video") == 0 && offer.media[i].port != 0 &&
		    strcmp(offer.media[i].direction, "sendonly") != 0 &&
		    strcmp(offer.media[i].direction, "inactive") != 0)
			mi = i;
	if (mi < 0) {
		_reply(req, 400, "Bad Request", "the offer has no video section that can receive (m=video, recvonly or sendrecv)");
		return;
	}
	const struct cr_sdp_media_s *m = &offer.media[mi];
	if (!m->ufrag[0] || !m->pwd[0]) {
		_reply(req, 400, "Bad Request", "the offer has no a=ice-ufrag / a=ice-pwd");
		return;
	}
	if (!m->fingerprint[0]) {
		_reply(req, 400, "Bad Request", "the offer has no a=fingerprint (DTLS-SRTP is required)");
		return;
	}
	if (strcmp(m->setup, "passive") == 0) {
		_reply(req, 400, "Bad Request", "the offer says a=setup:passive; this server is passive too (use actpass or active)");
		return;
	}
	if (!strstr(m->proto, "SAVPF")) {
		_reply(req, 400, "Bad Request", "the video section's protocol is %s; WebRTC needs UDP/TLS/RTP/SAVPF", m->proto);
		return;
	}
	struct _viewer_s *v = calloc(1, sizeof(*v));
	if (v)
		v->hist = calloc(_HIST, sizeof(*v->hist));
	if (!v || !v->hist) {
		free(v);
		_reply(req, 503, "Service Unavailable", "out of memory");
		return;
	}
	char fmtp[256] = "";
	v->rtx_pt = -1;
	v->pt = _negotiate(w, stream, m, &v->enc, fmtp, sizeof(fmtp), &v->rtx_pt);
	if (v->pt < 0) {
		char offered[200] = "";
		size_t o = 0;
		for (int i = 0; i < m->n_fmts && o + 20 < sizeof(offered); i++)
			if (m->fmts[i].name[0] && !strstr(offered, m->fmts[i].name))
				o += (size_t)snprintf(offered + o, sizeof(offered) - o, "%s%s", o ? " " : "",
						      m->fmts[i].name);
		struct cr_encoder_cfg_s e;
		cr_rtp_stream_encoder(cr_stream_cfg(w->streams[stream]), CR_CODEC_H264, &e);
		_reply(req, 400, "Bad Request",
		       "no codec in common: stream %s sends %s, the offer has %s", sname,
		       cr_codec_name(e.codec), offered[0] ? offered : "no video formats");
		free(v->hist);
		free(v);
		return;
	}
	v->w = w;
	v->stream = stream;
	v->created_ns = cr_now_ns();
	v->info.rtt_ms = -1;
	_random_text(v->id, 17);
	_random_text(v->ufrag, 9);
	_random_text(v->pwd, 25);
	snprintf(v->remote_ufrag, sizeof(v->remote_ufrag), "%s", m->ufrag);
	snprintf(v->path, sizeof(v->path), "/session/%s/%s", sname, v->id);
	snprintf(v->name, sizeof(v->name), "whep %s", v->id);
	snprintf(v->info.id, sizeof(v->info.id), "%s", v->id);
	snprintf(v->info.stream, sizeof(v->info.stream), "%s", sname);
	v->info.codec = cr_codec_name(v->enc.codec);
	cr_rtp_init(&v->rtp, v->enc.codec, (uint8_t)v->pt, _random32(), (uint16_t)_random32());
	v->rtp.emit = _on_rtp;
	v->rtp.opaque = v;
	v->ts_offset = _random32();
	v->rtx_ssrc = _random32();
	v->rtx_seq = (uint16_t)_random32();
	const char *fp = strcasecmp(m->fp_alg, "sha-256") == 0 ? m->fingerprint : "";
	v->dtls = cr_dtls_new(w->dtls, fp, _dtls_send, v);
	const char *cands[CR_MAX_CANDIDATES * 2];
	for (int i = 0; i < w->n_candidates; i++)
		cands[i] = w->candidates[i];
	struct cr_sdp_answer_s a = {
		.media = mi, .pt = v->pt, .rtx_pt = v->rtx_pt, .codec = v->enc.codec, .fmtp = fmtp,
		.ssrc = v->rtp.ssrc, .rtx_ssrc = v->rtx_ssrc, .ufrag = v->ufrag, .pwd = v->pwd,
		.fingerprint = cr_dtls_fingerprint(w->dtls), .stream = sname,
		.session_id = ((uint64_t)_random32() << 20) ^ _random32(), .candidates = cands,
		.n_candidates = w->n_candidates, .port = w->port};
	char *answer = malloc(16384);
	int alen = answer ? cr_sdp_build_answer(&offer, &a, answer, 16384) : -ENOMEM;
	if (!v->dtls || alen < 0 || evhttp_set_cb(w->http, v->path, _on_session, v) != 0) {
		_reply(req, 500, "Internal Server Error", "cannot create the session");
		cr_dtls_free(v->dtls);
		free(answer);
		free(v->hist);
		free(v);
		return;
	}
	v->next = w->viewers;
	w->viewers = v;
	w->stats.sessions_total++;
	w->stats.sessions_active++;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	_cors(req);
	evhttp_add_header(h, "Content-Type", "application/sdp");
	evhttp_add_header(h, "Location", v->path);
	evhttp_add_header(h, "Accept-Patch", "application/trickle-ice-sdpfrag");
	char etag[40];
	snprintf(etag, sizeof(etag), "\"%s\"", v->id);
	evhttp_add_header(h, "ETag", etag);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, answer, (size_t)alen);
	evhttp_send_reply(req, 201, "Created", b);
	evbuffer_free(b);
	free(answer);
	CR_LOG_I("whep", "viewer %s of stream %s: answered (%s, payload type %d%s)", v->id, sname,
		 cr_codec_name(v->enc.codec), v->pt, v->rtx_pt >= 0 ? ", rtx" : "");
}

static void _on_whep(struct evhttp_request *req, void *arg)
{
	struct _route_s *r = arg;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_OPTIONS:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Accept-Post", "application/sdp");
		_reply(req, 204, "No Content", NULL);
		break;
	case EVHTTP_REQ_POST:
		_whep_post(r->w, req, r->stream);
		break;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST, OPTIONS");
		_reply(req, 405, "Method Not Allowed", "use POST with an SDP offer");
	}
}

static void _on_session(struct evhttp_request *req, void *arg)
{
	struct _viewer_s *v = arg;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_OPTIONS:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Accept-Patch",
				  "application/trickle-ice-sdpfrag");
		_reply(req, 204, "No Content", NULL);
		break;
	case EVHTTP_REQ_DELETE:
		CR_LOG_I("whep", "viewer %s: session deleted by the client", v->id);
		_reply(req, 200, "OK", NULL);
		_viewer_free(v);
		break;
	case EVHTTP_REQ_PATCH: {
		if (!_content_type(req, "application/trickle-ice-sdpfrag")) {
			_reply(req, 415, "Unsupported Media Type",
			       "PATCH takes application/trickle-ice-sdpfrag");
			break;
		}
		/* ICE-lite: the client's candidates are learnt from its STUN
		 * requests, so trickled ones are accepted and need no action. An
		 * ICE restart (new credentials) is not supported. */
		char *text;
		size_t len;
		_body(req, &text, &len);
		char frag[64];
		bool restart = false;
		for (size_t i = 0; text && i + 12 < len; i++)
			if (memcmp(text + i, "a=ice-ufrag:", 12) == 0) {
				size_t k = 0;
				i += 12;
				while (i < len && k + 1 < sizeof(frag) && text[i] != '\r' && text[i] != '\n')
					frag[k++] = text[i++];
				frag[k] = 0;
				restart = strcmp(frag, v->remote_ufrag) != 0;
				break;
			}
		if (restart)
			_reply(req, 422, "Unprocessable Content", "ICE restarts are not supported; start a new session");
		else
			_reply(req, 204, "No Content", NULL);
		break;
	}
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
				  "PATCH, DELETE, OPTIONS");
		_reply(req, 405, "Method Not Allowed", "use DELETE to end the session");
	}
}

static const char *_state_name(enum _state_e s)
{
	return s == _SENDING ? "sending" : s == _DTLS ? "dtls" : "connecting";
}

void cr_whep_foreach_viewer(struct cr_whep_s *w,
			    void (*fn)(const struct cr_whep_viewer_info_s *, void *), void *opaque)
{
	for (struct _viewer_s *v = w->viewers; v; v = v->next) {
		v->info.state = _state_name(v->state);
		fn(&v->info, opaque);
	}
}

void cr_whep_stats(struct cr_whep_s *w, struct cr_whep_stats_s *out) { *out = w->stats; }

void cr_whep_metrics(struct cr_whep_s *w, struct evbuffer *out)
{
	const struct cr_whep_stats_s *s = &w->stats;
	evbuffer_add_printf(out,
			    "camrelay_webrtc_sessions_total %llu\ncamrelay_webrtc_sessions_active %llu\n"
			    "camrelay_webrtc_sessions_timed_out_total %llu\n"
			    "camrelay_webrtc_packets_sent_total %llu\ncamrelay_webrtc_bytes_sent_total %llu\n"
			    "camrelay_webrtc_retransmits_total %llu\ncamrelay_webrtc_nacks_total %llu\n"
			    "camrelay_webrtc_plis_total %llu\ncamrelay_webrtc_firs_total %llu\n"
			    "camrelay_webrtc_keyframes_requested_total %llu\n"
			    "camrelay_webrtc_stun_rejected_total %llu\ncamrelay_webrtc_dtls_failed_total %llu\n"
			    "camrelay_webrtc_udp_garbage_total %llu\n",
			    (unsigned long long)s->sessions_total, (unsigned long long)s->sessions_active,
			    (unsigned long long)s->sessions_timed_out, (unsigned long long)s->packets_sent,
			    (unsigned long long)s->bytes_sent, (unsigned long long)s->retransmits,
			    (unsigned long long)s->nacks, (unsigned long long)s->plis,
			    (unsigned long long)s->firs, (unsigned long long)s->keyframes_requested,
			    (unsigned long long)s->stun_bad, (unsigned long long)s->dtls_failed,
			    (unsigned long long)s->udp_garbage);
	for (struct _viewer_s *v = w->viewers; v; v = v->next)
		evbuffer_add_printf(out,
				    "camrelay_webrtc_viewer_packets_sent{stream=\"%s\",id=\"%s\"} %llu\n"
				    "camrelay_webrtc_viewer_fraction_lost{stream=\"%s\",id=\"%s\"} %.4f\n"
				    "camrelay_webrtc_viewer_jitter_ms{stream=\"%s\",id=\"%s\"} %.2f\n"
				    "camrelay_webrtc_viewer_rtt_ms{stream=\"%s\",id=\"%s\"} %.2f\n",
				    v->info.stream, v->id, (unsigned long long)v->info.packets_sent,
				    v->info.stream, v->id, v->info.fraction_lost, v->info.stream, v->id,
				    v->info.jitter_ms, v->info.stream, v->id, v->info.rtt_ms);
}

static void _add_viewer_json(const struct cr_whep_viewer_info_s *i, void *opaque)
{
	json_array_append_new(
		opaque,
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:f, s:f}",
			  "id", i->id, "stream", i->stream, "remote", i->remote, "state", i->state,
			  "codec", i->codec, "packets_sent", (json_int_t)i->packets_sent, "bytes_sent",
			  (json_int_t)i->bytes_sent, "frames_sent", (json_int_t)i->frames_sent,
			  "keyframes_sent", (json_int_t)i->keyframes_sent,
			  "frames_dropped", (json_int_t)i->frames_dropped, "nacks", (json_int_t)i->nacks,
			  "retransmits", (json_int_t)i->retransmits, "plis", (json_int_t)i->plis, "firs",
			  (json_int_t)i->firs, "keyframes_requested", (json_int_t)i->keyframes_requested,
			  "fraction_lost", i->fraction_lost, "packets_lost", (json_int_t)i->packets_lost,
			  "jitter_ms", i->jitter_ms, "rtt_ms", i->rtt_ms));
}

static void _on_api(struct evhttp_request *req, void *arg)
{
	struct cr_whep_s *w = arg;
	const struct cr_whep_stats_s *s = &w->stats;
	json_t *viewers = json_array();
	cr_whep_foreach_viewer(w, _add_viewer_json, viewers);
	json_t *root = json_pack(
		"{s:i, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "port",
		w->port, "viewers", viewers, "totals", "sessions", (json_int_t)s->sessions_total,
		"sessions_active", (json_int_t)s->sessions_active, "sessions_timed_out",
		(json_int_t)s->sessions_timed_out, "packets_sent", (json_int_t)s->packets_sent,
		"bytes_sent", (json_int_t)s->bytes_sent, "retransmits", (json_int_t)s->retransmits,
		"nacks", (json_int_t)s->nacks, "plis", (json_int_t)s->plis, "firs",
		(json_int_t)s->firs, "keyframes_requested", (json_int_t)s->keyframes_requested,
		"stun_rejected", (json_int_t)s->stun_bad, "dtls_failed", (json_int_t)s->dtls_failed,
		"udp_garbage", (json_int_t)s->udp_garbage);
	char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	json_decref(root);
	struct evbuffer *b = evbuffer_new();
	_cors(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	if (text)
		evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, text ? 200 : 500, text ? "OK" : "Internal Server Error", b);
	evbuffer_free(b);
	free(text);
}

/* GET /sdp/<stream>: the SDP of the stream's first plain RTP sink. */
static void _on_sdp(struct evhttp_request *req, void *arg)
{
	struct _route_s *r = arg;
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(r->w->streams[r->stream]);
	for (int i = 0; i < sc->n_sinks; i++) {
		const struct cr_sink_cfg_s *k = &sc->sinks[i];
		if (k->type != CR_SINK_RTP)
			continue;
		char host[128];
		snprintf(host, sizeof(host), "%s", k->address);
		char *colon = strrchr(host, ':');
		if (!colon)
			break;
		*colon = 0;
		char *h = host;
		if (*h == '[') { /* [v6]:port */
			h++;
			char *e = strchr(h, ']');
			if (e)
				*e = 0;
		}
		struct cr_encoder_cfg_s enc;
		cr_rtp_stream_encoder(sc, CR_CODEC_H264, &enc);
		const struct cr_output_cfg_s *o = &sc->sources[0].output;
		char sdp[1024];
		int n = cr_sdp_plain_rtp(sdp, sizeof(sdp), sc->name, h, atoi(colon + 1), enc.codec,
					 o->present && o->payload_type ? o->payload_type : 96,
					 o->present && o->clock_rate ? o->clock_rate : 90000);
		if (n < 0)
			break;
		struct evbuffer *b = evbuffer_new();
		_cors(req);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/sdp");
		evbuffer_add(b, sdp, (size_t)n);
		evhttp_send_reply(req, 200, "OK", b);
		evbuffer_free(b);
		return;
	}
	_reply(req, 404, "Not Found", "stream %s has no RTP sink ([[stream.%s.sinks]] type = \"rtp\")",
	       sc->name, sc->name);
}

/* ---- set-up ---- */

static void _gather_candidates(struct cr_whep_s *w)
{
	const struct cr_webrtc_cfg_s *c = &w->cfg->webrtc;
	w->n_candidates = 0;
	for (int i = 0; i < c->n_candidates && i < CR_MAX_CANDIDATES; i++)
		snprintf(w->candidates[w->n_candidates++], 64, "%s", c->candidates[i]);
	if (w->n_candidates)
		return;
	struct ifaddrs *ifs = NULL, *loop = NULL;
	if (getifaddrs(&ifs) == 0) {
		for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
				continue;
			if (i->ifa_flags & IFF_LOOPBACK) {
				loop = i;
				continue;
			}
			if (w->n_candidates < CR_MAX_CANDIDATES * 2 - 1)
				inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
					  w->candidates[w->n_candidates++], 64);
		}
	}
	/* Loopback last: useful only to a browser on this machine. */
	snprintf(w->candidates[w->n_candidates++], 64, "%s", "127.0.0.1");
	(void)loop;
	freeifaddrs(ifs);
}

static int _open_udp(struct cr_whep_s *w, char *err, size_t errlen)
{
	w->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0) {
		snprintf(err, errlen, "WebRTC: cannot create a UDP socket: %s", strerror(errno));
		return -errno;
	}
	int one = 1, buf = 4 << 20;
	setsockopt(w->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(w->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->port),
				.sin_addr.s_addr = htonl(INADDR_ANY)};
	if (bind(w->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
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
	if (!(w->dtls = cr_dtls_ctx_new(err, errlen)) || _open_udp(w, err, errlen) < 0)
		goto error;
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
	_gather_candidates(w);
	for (int i = 0; i < w->n_streams; i++) {
		char path[128];
		w->streams[i] = streams[i];
		w->routes[i].w = w;
		w->routes[i].stream = i;
		snprintf(path, sizeof(path), "/whep/%s", cr_stream_name(streams[i]));
		evhttp_set_cb(http, path, _on_whep, &w->routes[i]);
		snprintf(path, sizeof(path), "/sdp/%s", cr_stream_name(streams[i]));
		evhttp_set_cb(http, path, _on_sdp, &w->routes[i]);
	}
	evhttp_set_cb(http, "/api/webrtc", _on_api, w);
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
		_viewer_free(w->viewers);
	if (w->http) {
		for (int i = 0; i < w->n_streams; i++) {
			char path[128];
			snprintf(path, sizeof(path), "/whep/%s", cr_stream_name(w->streams[i]));
			evhttp_del_cb(w->http, path);
			snprintf(path, sizeof(path), "/sdp/%s", cr_stream_name(w->streams[i]));
			evhttp_del_cb(w->http, path);
		}
		evhttp_del_cb(w->http, "/api/webrtc");
	}
	if (w->udp_ev)
		event_free(w->udp_ev);
	if (w->wake_ev)
		event_free(w->wake_ev);
	if (w->tick_ev)
		event_free(w->tick_ev);
	if (w->fd >= 0)
		close(w->fd);
	if (w->efd >= 0)
		close(w->efd);
	cr_dtls_ctx_free(w->dtls);
	free(w);
}
