/* The RTSP server's media: one encoded subscription per session (shared
 * encoder stages in the core), payloaded per client and sent over UDP (one
 * server port pair for all), TCP interleaved (the connection's own bounded
 * buffer) or a stream's multicast group (one send for all its sessions);
 * RTCP sender reports on the video's 90 kHz clock, receiver reports read
 * into per-client figures. See rtsp.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/rtsp_priv.h"
#include "net/sdp.h"

#define _DEPTH 16
#define _KEYFRAME_GAP_NS 500000000LL
#define _SR_GAP_NS 2000000000LL

uint32_t cr_rtsp_random32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

static uint8_t _pt(enum cr_codec_e codec)
{
	return codec == CR_CODEC_MJPEG ? 26 : 96; /* JPEG's static payload type (RFC 3551) */
}

int cr_rtsp_media_for(struct cr_rtsp_s *r, const char *path, struct cr_rtsp_media_s *m)
{
	char name[128];
	snprintf(name, sizeof(name), "%s", path);
	size_t n = strlen(name);
	memset(m, 0, sizeof(*m));
	if (n > 6 && strcmp(name + n - 6, "/mjpeg") == 0) {
		m->mjpeg = true;
		name[n - 6] = 0;
	}
	m->stream = -1;
	for (int i = 0; i < r->n_streams; i++)
		if (!cr_stream_removed(r->streams[i]) && strcmp(cr_stream_name(r->streams[i]), name) == 0)
			m->stream = i;
	if (m->stream < 0)
		return -ENOENT;
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(r->streams[m->stream]);
	const struct cr_encoder_cfg_s *e = sc->n_sources ? &sc->sources[0].encoder : NULL;
	if (m->mjpeg) {
		/* The MJPEG view's settings (net/http.c), so its stage is shared. */
		m->enc = (struct cr_encoder_cfg_s){.present = true, .codec = CR_CODEC_MJPEG};
		m->enc.quality = sc->mjpeg.quality > 0 ? sc->mjpeg.quality : 80;
	} else if (e && e->present && e->codec == CR_CODEC_MJPEG) {
		m->enc = *e;
	} else {
		cr_rtp_stream_encoder(sc, CR_CODEC_H264, &m->enc);
	}
	return 0;
}

/* ---- sending ---- */

void cr_rtsp_tcp_send(struct cr_rtsp_client_s *c, int channel, const uint8_t *p, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->conn->bev);
	if (c->slow)
		return;
	if (evbuffer_get_length(out) + len + 4 > c->r->tcp_buffer) {
		c->slow = true;
		return;
	}
	uint8_t h[4] = {'$', (uint8_t)channel, (uint8_t)(len >> 8), (uint8_t)len};
	evbuffer_add(out, h, 4);
	evbuffer_add(out, p, len);
}

bool cr_rtsp_send_rtp(struct cr_rtsp_client_s *c, int channel, const struct sockaddr_storage *to, const uint8_t *pkt,
		      size_t len)
{
	struct cr_rtsp_s *r = c->r;
	if (c->tr == CR_RTSP_TCP) {
		cr_rtsp_tcp_send(c, channel, pkt, len);
		if (c->slow) {
			c->info.packets_dropped++;
			return false;
		}
	} else if (sendto(r->rtp_fd, pkt, len, MSG_DONTWAIT, (const struct sockaddr *)to, c->addr_len) < 0) {
		c->info.packets_dropped++;
		return false;
	}
	c->info.packets_sent++;
	c->info.bytes_sent += len;
	r->stats.packets_sent++;
	r->stats.bytes_sent += len;
	return true;
}

static void _emit(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_rtsp_client_s *c = opaque;
	cr_rtsp_send_rtp(c, c->channel[0], &c->rtp_addr, pkt, len);
}

static void _mcast_emit(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_rtsp_s *r = opaque;
	for (int i = 0; i < r->n_streams; i++) {
		struct cr_rtsp_mcast_s *g = &r->mcast[i];
		if (&g->rtp.buf[0] != pkt)
			continue;
		if (sendto(r->mcast_fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&g->group, sizeof(g->group)) < 0)
			return; /* nobody to count it for: multicast has no per-client figures */
		r->stats.packets_sent++;
		r->stats.bytes_sent += len;
		return;
	}
}

static void _request_keyframe(struct cr_rtsp_s *r, int stream, struct cr_sub_s *sub)
{
	int64_t now = cr_now_ns();
	if (now - r->last_keyframe_ns[stream] < _KEYFRAME_GAP_NS)
		return;
	r->last_keyframe_ns[stream] = now;
	cr_sub_request_keyframe(sub);
}

static void _note_config(struct cr_rtsp_s *r, const struct cr_rtsp_media_s *m, const struct cr_packet_s *pkt)
{
	struct cr_rtsp_ps_s *ps = &r->ps[m->stream][m->mjpeg];
	size_t n = cr_annexb_param_sets(m->enc.codec, pkt->data, pkt->size, ps->data, sizeof(ps->data));
	if (n)
		ps->len = n;
}

/* Pops what the client's queue holds; sends it when playing. */
static void _drain(struct cr_rtsp_client_s *c)
{
	struct cr_packet_s *pkt;
	while (c->sub && (pkt = cr_sub_pop(c->sub, 0))) {
		bool key = pkt->flags & CR_PACKET_KEYFRAME;
		if (pkt->flags & CR_PACKET_CONFIG)
			_note_config(c->r, &c->media, pkt);
		if (c->state != CR_RTSP_PLAYING || c->tr == CR_RTSP_MCAST || !c->video_set) {
			cr_sub_unref_item(c->sub, pkt);
			continue;
		}
		if (c->wait_key && !key) {
			cr_sub_drop(c->sub);
			c->info.frames_dropped++;
			cr_sub_unref_item(c->sub, pkt);
			continue;
		}
		c->wait_key = false;
		uint32_t ts = (uint32_t)pkt->pts + c->ts_offset;
		if (cr_rtp_payload(&c->rtp, pkt->data, pkt->size, ts, key, pkt->width, pkt->height) > 0 && !c->slow) {
			c->info.frames_sent++;
			cr_sub_sent(c->sub, pkt->ts_capture_ns);
		} else {
			cr_sub_drop(c->sub);
			c->info.frames_dropped++;
		}
		cr_sub_unref_item(c->sub, pkt);
		if (c->slow)
			break;
	}
}

static void _mcast_drain(struct cr_rtsp_s *r, int i)
{
	struct cr_rtsp_mcast_s *g = &r->mcast[i];
	struct cr_packet_s *pkt;
	while (g->sub && (pkt = cr_sub_pop(g->sub, 0))) {
		bool key = pkt->flags & CR_PACKET_KEYFRAME;
		if (!(g->wait_key && !key)) {
			g->wait_key = false;
			cr_rtp_payload(&g->rtp, pkt->data, pkt->size, (uint32_t)pkt->pts + g->ts_offset, key, pkt->width,
				       pkt->height);
			cr_sub_sent(g->sub, pkt->ts_capture_ns);
		}
		cr_sub_unref_item(g->sub, pkt);
	}
}

static void _on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct cr_rtsp_s *r = arg;
	(void)what;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		CR_LOG_W("rtsp", "eventfd read: %s", strerror(errno));
	for (struct cr_rtsp_conn_s *c = r->conns; c; c = c->next)
		if (c->client && !c->closing) {
			_drain(c->client);
			cr_rtsp_audio_drain(c->client);
		}
	for (int i = 0; i < r->n_streams; i++)
		_mcast_drain(r, i);
	for (struct cr_rtsp_conn_s *c = r->conns, *next; c; c = next) {
		next = c->next;
		if (c->client && c->client->slow) {
			r->stats.clients_dropped_slow++;
			CR_LOG_W("rtsp", "%s: session %s of %s dropped: it does not read and its %zu KB send buffer "
					 "is full",
				 c->remote, c->client->session, c->client->info.stream, r->tcp_buffer / 1024);
			struct evbuffer *out = bufferevent_get_output(c->bev);
			evbuffer_drain(out, evbuffer_get_length(out)); /* nobody will read it */
			cr_rtsp_conn_close(c, NULL);
		}
	}
}

void cr_rtsp_notify(void *opaque)
{
	struct cr_rtsp_s *r = opaque;
	uint64_t one = 1;
	if (write(r->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already signalled. */
	}
}

/* ---- sessions ---- */

int cr_rtsp_client_subscribe(struct cr_rtsp_client_s *c)
{
	struct cr_rtsp_s *r = c->r;
	cr_rtp_init(&c->rtp, c->media.enc.codec, _pt(c->media.enc.codec), cr_rtsp_random32(), (uint16_t)cr_rtsp_random32());
	c->rtp.emit = _emit;
	c->rtp.opaque = c;
	c->rtp.vp9_minimal = true; /* what ffmpeg's and GStreamer's depayloaders take */
	c->ts_offset = cr_rtsp_random32();
	char name[96];
	snprintf(name, sizeof(name), "rtsp %s", c->conn->remote);
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = c->media.enc, .depth = _DEPTH,
				   .notify = cr_rtsp_notify, .opaque = r, .name = name};
	c->sub = cr_stream_subscribe(r->streams[c->media.stream], &req);
	if (!c->sub) {
		CR_LOG_W("rtsp", "%s: cannot subscribe to stream %s", c->conn->remote, c->info.stream);
		return -ENOMEM;
	}
	return 0;
}

static int _mcast_join(struct cr_rtsp_s *r, int i)
{
	struct cr_rtsp_mcast_s *g = &r->mcast[i];
	if (g->refs++ > 0)
		return 0;
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(r->streams[i]);
	struct cr_rtsp_media_s m;
	cr_rtsp_media_for(r, sc->name, &m);
	cr_rtp_init(&g->rtp, m.enc.codec, _pt(m.enc.codec), cr_rtsp_random32(), (uint16_t)cr_rtsp_random32());
	g->rtp.emit = _mcast_emit;
	g->rtp.opaque = r;
	g->rtp.vp9_minimal = true;
	g->ts_offset = cr_rtsp_random32();
	g->wait_key = true;
	char name[96];
	snprintf(name, sizeof(name), "rtsp multicast %s", sc->name);
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = m.enc, .depth = _DEPTH,
				   .notify = cr_rtsp_notify, .opaque = r, .name = name};
	g->sub = cr_stream_subscribe(r->streams[i], &req);
	if (!g->sub) {
		g->refs = 0;
		return -ENOMEM;
	}
	cr_sub_request_keyframe(g->sub);
	return 0;
}

static void _mcast_leave(struct cr_rtsp_s *r, int i)
{
	struct cr_rtsp_mcast_s *g = &r->mcast[i];
	if (g->refs <= 0 || --g->refs > 0)
		return;
	cr_stream_unsubscribe(g->sub);
	g->sub = NULL;
}

void cr_rtsp_client_play(struct cr_rtsp_client_s *c)
{
	if (c->state == CR_RTSP_PLAYING)
		return;
	c->state = CR_RTSP_PLAYING;
	c->info.state = "playing";
	if (c->tr == CR_RTSP_MCAST) {
		if (_mcast_join(c->r, c->media.stream) < 0)
			CR_LOG_W("rtsp", "session %s: cannot join the multicast sender", c->session);
		return;
	}
	/* Every client starts at a keyframe. */
	c->wait_key = true;
	c->last_sr_ns = cr_now_ns() - _SR_GAP_NS + 200000000LL;
	if (c->sub)
		_request_keyframe(c->r, c->media.stream, c->sub);
}

void cr_rtsp_client_position(struct cr_rtsp_client_s *c, uint16_t *seq, uint32_t *rtptime)
{
	const struct cr_rtp_s *rtp = &c->rtp;
	uint32_t off = c->ts_offset;
	if (c->tr == CR_RTSP_MCAST) {
		rtp = &c->r->mcast[c->media.stream].rtp;
		off = c->r->mcast[c->media.stream].ts_offset;
	}
	*seq = rtp->seq;
	*rtptime = (uint32_t)(cr_now_ns() * 9 / 100000) + off;
}

void cr_rtsp_client_free(struct cr_rtsp_client_s *c)
{
	struct cr_rtsp_s *r = c->r;
	if (c->sub)
		cr_stream_unsubscribe(c->sub);
	cr_rtsp_audio_free(c);
	if (c->tr == CR_RTSP_MCAST && c->state == CR_RTSP_PLAYING)
		_mcast_leave(r, c->media.stream);
	if (c->counted) {
		r->n_sessions--;
		r->per_stream[c->media.stream]--;
	}
	if (c->conn && c->conn->client == c)
		c->conn->client = NULL;
	free(c);
}

/* ---- RTCP ---- */

static void _reports(struct cr_rtsp_client_s *c, const struct cr_rtcp_info_s *ri)
{
	for (int i = 0; i < ri->n_rr; i++) {
		if (ri->rr[i].ssrc != c->rtp.ssrc)
			continue;
		c->info.fraction_lost = ri->rr[i].fraction_lost / 256.0;
		c->info.packets_lost = ri->rr[i].cumulative_lost;
		c->info.jitter_ms = ri->rr[i].jitter / 90.0;
		c->info.receiver_reports++;
		c->r->stats.receiver_reports++;
		c->last_seen_ns = cr_now_ns();
	}
	for (int i = 0; c->audio && i < ri->n_rr; i++)
		if (ri->rr[i].ssrc == c->audio->rtp.ssrc) {
			c->info.receiver_reports++;
			c->r->stats.receiver_reports++;
			c->last_seen_ns = cr_now_ns();
		}
}

void cr_rtsp_client_rtcp(struct cr_rtsp_client_s *c, const uint8_t *p, size_t len)
{
	struct cr_rtcp_info_s ri;
	cr_rtcp_parse(p, len, &ri); /* what parsed before an error still counts */
	_reports(c, &ri);
}

static bool _same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
		      16) == 0;
}

/* Receiver reports to the server's RTCP port: by the reported SSRC, from
 * the address the session's media goes to. */
static void _on_rtcp(evutil_socket_t fd, short what, void *arg)
{
	struct cr_rtsp_s *r = arg;
	(void)what;
	uint8_t buf[1500];
	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			return;
		struct cr_rtcp_info_s ri;
		cr_rtcp_parse(buf, (size_t)n, &ri);
		for (struct cr_rtsp_conn_s *c = r->conns; c; c = c->next) {
			struct cr_rtsp_client_s *cl = c->client;
			if (cl && cl->session[0] && cl->tr == CR_RTSP_UDP && _same_host(&from, &c->peer))
				_reports(cl, &ri);
		}
	}
}

void cr_rtsp_send_sr(const struct cr_rtp_s *rtp, uint32_t rtp_now, int tcp_channel, struct cr_rtsp_client_s *c,
		     const struct sockaddr *to, socklen_t to_len, int fd)
{
	uint8_t sr[128];
	size_t n = cr_rtcp_sender_report(sr, sizeof(sr), rtp->ssrc, cr_ntp_now(), rtp_now, rtp->packets, rtp->octets,
					 "camrelay");
	if (!n)
		return;
	if (c && tcp_channel >= 0)
		cr_rtsp_tcp_send(c, tcp_channel, sr, n);
	else if (sendto(fd, sr, n, MSG_DONTWAIT, to, to_len) < 0)
		CR_LOG_D("rtsp", "sender report: %s", strerror(errno));
}

void cr_rtsp_media_tick(struct cr_rtsp_s *r, int64_t now)
{
	for (struct cr_rtsp_conn_s *c = r->conns, *next; c; c = next) {
		next = c->next;
		struct cr_rtsp_client_s *cl = c->client;
		if (!cl || !cl->session[0] || c->closing)
			continue;
		if (cl->tr != CR_RTSP_TCP && now - cl->last_seen_ns > r->timeout_ns) {
			r->stats.sessions_timed_out++;
			CR_LOG_I("rtsp", "%s: session %s of %s timed out (no request or receiver report for %lld s)",
				 c->remote, cl->session, cl->info.stream, (long long)(r->timeout_ns / 1000000000LL));
			cr_rtsp_conn_close(c, NULL);
			continue;
		}
		cr_rtsp_audio_tick(cl, now);
		if (cl->state != CR_RTSP_PLAYING || cl->tr == CR_RTSP_MCAST || cl->rtp.packets == 0 ||
		    now - cl->last_sr_ns < _SR_GAP_NS)
			continue;
		cl->last_sr_ns = now;
		cr_rtsp_send_sr(&cl->rtp, (uint32_t)(now * 9 / 100000) + cl->ts_offset,
				cl->tr == CR_RTSP_TCP ? cl->channel[1] : -1, cl, (struct sockaddr *)&cl->rtcp_addr,
				cl->addr_len, r->rtcp_fd);
	}
	for (int i = 0; i < r->n_streams; i++) {
		struct cr_rtsp_mcast_s *g = &r->mcast[i];
		if (!g->sub || g->rtp.packets == 0 || now - g->last_sr_ns < _SR_GAP_NS)
			continue;
		g->last_sr_ns = now;
		struct sockaddr_in to = g->group;
		to.sin_port = htons((uint16_t)(ntohs(g->group.sin_port) + 1));
		cr_rtsp_send_sr(&g->rtp, (uint32_t)(now * 9 / 100000) + g->ts_offset, -1, NULL, (struct sockaddr *)&to,
				sizeof(to), r->mcast_fd);
	}
}

/* ---- SDP ---- */

int cr_rtsp_media_sdp(struct cr_rtsp_s *r, const struct cr_rtsp_media_s *m, const char *local_ip, char *out,
		      size_t cap, bool last)
{
	const struct cr_rtsp_ps_s *ps = &r->ps[m->stream][m->mjpeg];
	enum cr_codec_e codec = m->enc.codec;
	if ((codec == CR_CODEC_H264 || codec == CR_CODEC_H265) && !ps->len && !last)
		return -EAGAIN;
	const char *name = cr_stream_name(r->streams[m->stream]);
	int n = cr_sdp_plain_rtp(out, cap, name, local_ip, 0, codec, _pt(codec), 90000, ps->len ? ps->data : NULL,
				 ps->len);
	if (n < 0)
		return n;
	if ((n = cr_rtsp_sdp_control(out, cap, n, 0)) < 0 || !cr_rtsp_audio_offered(r, m->stream))
		return n;
	int k = cr_rtsp_audio_sdp(r, m->stream, out + n, cap - (size_t)n);
	return k < 0 ? k : n + k;
}

int cr_rtsp_sdp_control(char *out, size_t cap, int n, int track)
{
	/* The plain RTP SDP describes a receiver (a=recvonly); here it is the
	 * server's track, with its control URL. */
	char *dir = strstr(out, "a=recvonly\r\n");
	if (dir)
		n = (int)(dir - out);
	int k = snprintf(out + n, cap - (size_t)n, "a=control:trackID=%d\r\n", track);
	if (k < 0 || (size_t)k >= cap - (size_t)n)
		return -ENOSPC;
	return n + k;
}

/* ---- set-up ---- */

static int _udp_pair(struct cr_rtsp_s *r, const struct sockaddr_storage *local, socklen_t len, char *err,
		     size_t errlen)
{
	int want = r->cfg->rtsp.rtp_port;
	for (int attempt = 0; attempt < 64; attempt++) {
		int port = want ? want : 20000 + (int)(cr_rtsp_random32() % 20000) * 2;
		int fds[2] = {-1, -1};
		for (int k = 0; k < 2; k++) {
			struct sockaddr_storage a = *local;
			if (a.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)(port + k));
			else
				((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)(port + k));
			fds[k] = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fds[k] < 0 || bind(fds[k], (struct sockaddr *)&a, len) < 0)
				break;
		}
		if (fds[1] >= 0) {
			r->rtp_fd = fds[0];
			r->rtcp_fd = fds[1];
			r->rtp_port = port;
			int buf = 4 << 20;
			setsockopt(r->rtp_fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
			return 0;
		}
		int e = errno;
		for (int k = 0; k < 2; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		if (want) {
			snprintf(err, errlen, "[rtsp] rtp_port %d/%d: %s", port, port + 1, strerror(e));
			return -e;
		}
	}
	snprintf(err, errlen, "[rtsp]: no free UDP port pair for RTP/RTCP");
	return -EADDRINUSE;
}

static int _mcast_init(struct cr_rtsp_s *r, char *err, size_t errlen)
{
	const struct cr_rtsp_cfg_s *c = &r->cfg->rtsp;
	struct in_addr base;
	if (!c->multicast_group[0])
		return 0;
	if (inet_pton(AF_INET, c->multicast_group, &base) != 1) {
		snprintf(err, errlen, "[rtsp] multicast_group \"%s\" is not an IPv4 address", c->multicast_group);
		return -EINVAL;
	}
	r->mcast_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->mcast_fd < 0) {
		snprintf(err, errlen, "[rtsp] multicast socket: %s", strerror(errno));
		return -errno;
	}
	int ttl = c->multicast_ttl ? c->multicast_ttl : 4, loop = 1;
	setsockopt(r->mcast_fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
	setsockopt(r->mcast_fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
	for (int i = 0; i < r->n_streams; i++) {
		/* Stream i gets the group's address + i, all on one port. */
		struct sockaddr_in *g = &r->mcast[i].group;
		g->sin_family = AF_INET;
		g->sin_addr.s_addr = htonl(ntohl(base.s_addr) + (uint32_t)i);
		g->sin_port = htons((uint16_t)(c->multicast_port ? c->multicast_port : 5004));
	}
	return 0;
}

int cr_rtsp_media_init(struct cr_rtsp_s *r, char *err, size_t errlen)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	r->rtp_fd = r->rtcp_fd = r->mcast_fd = r->efd = -1;
	if (getsockname(evconnlistener_get_fd(r->lev), (struct sockaddr *)&local, &len) < 0) {
		snprintf(err, errlen, "[rtsp]: getsockname: %s", strerror(errno));
		return -errno;
	}
	int rc = _udp_pair(r, &local, len, err, errlen);
	if (rc < 0 || (rc = _mcast_init(r, err, errlen)) < 0)
		return rc;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->wake_ev = r->efd >= 0 ? event_new(r->base, r->efd, EV_READ | EV_PERSIST, _on_wake, r) : NULL;
	r->rtcp_ev = event_new(r->base, r->rtcp_fd, EV_READ | EV_PERSIST, _on_rtcp, r);
	if (!r->wake_ev || !r->rtcp_ev) {
		snprintf(err, errlen, "[rtsp]: cannot create its events");
		return -ENOMEM;
	}
	event_add(r->wake_ev, NULL);
	event_add(r->rtcp_ev, NULL);
	return 0;
}

void cr_rtsp_media_free(struct cr_rtsp_s *r)
{
	for (int i = 0; i < r->n_streams; i++)
		if (r->mcast[i].sub) {
			cr_stream_unsubscribe(r->mcast[i].sub);
			r->mcast[i].sub = NULL;
		}
	if (r->wake_ev)
		event_free(r->wake_ev);
	if (r->rtcp_ev)
		event_free(r->rtcp_ev);
	int fds[] = {r->rtp_fd, r->rtcp_fd, r->mcast_fd, r->efd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}
