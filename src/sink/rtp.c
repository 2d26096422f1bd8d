/* Plain RTP output ([[stream.X.sinks]] type = "rtp", address = "host:port"):
 * the stream's encoded video as RTP over UDP, unicast or multicast. A
 * sender report goes to port + 1 every second from the same socket (RFC
 * 3550's pair), and RTCP coming back to that socket is read: a receiver's
 * PLI or FIR (Janus's streaming plugin sends one for each new viewer when
 * its mountpoint has a videortcpport) becomes a keyframe request, REMB and
 * receiver reports are shown (cr_rtp_sink_foreach, /api/streams). GET /sdp/<stream> (net/http_sdp.c) serves the SDP this sink writes,
 * for ffplay, ffprobe or GStreamer's sdpdemux, with the H.264/H.265 parameter sets this sink last
 * sent (sprop-*), so a receiver decodes from the first keyframe it gets.
 * Shares its encoder with the WHEP viewers.
 *
 * With [stream.X.audio], the stream's Opus packets go to port + 2 (RTCP
 * + 3), one more m-line in the SDP. Both sender reports map RTP time to the
 * NTP time of the moment it was captured (video: from the capture time of
 * the last frame sent; audio: its timestamps are the capture clock's), so a
 * receiver that lines the two up by their reports (ffmpeg, GStreamer) plays
 * them in sync. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audio/audio.h"
#include "core/hostport.h"
#include "config/schema_get.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/sdp.h"
#include "rtp/rtp.h"
#include "sink/rtp_sink.h"
#include "sink/sink.h"

/* The sink's address key, from its own block. */
#define _ADDRESS(sink) (((const struct cr_rtp_sink_opts_s *)(sink)->cfg->opts)->address)

struct _rtp_sink_s {
	struct cr_sink_s *sink;
	int fd;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	struct cr_sub_s *sub;
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	pthread_t thread;
	atomic_bool running;
	bool failed_logged;
	pthread_mutex_t ps_lock; /* the sink thread writes, the HTTP thread reads */
	uint8_t ps[1024];        /* parameter sets, Annex-B */
	size_t ps_len;
	/* RTCP: SR to port + 1, feedback read back (the sink thread). */
	struct sockaddr_storage rtcp_dst;
	int64_t last_sr_ns, last_capture_ns, last_key_ns;
	int64_t key_asked_rt_ns; /* CLOCK_REALTIME arrival of the PLI/FIR not yet answered, 0: none */
	/* Audio (the audio thread's): Opus to port + 2, RTCP to port + 3. */
	struct cr_audio_sub_s *asub;
	struct cr_rtp_s artp;
	uint32_t ats_offset;
	struct sockaddr_storage adst, artcp_dst;
	int64_t alast_sr_ns;
	bool afailed_logged;
	struct cr_rtp_sink_info_s info; /* under ps_lock */
	struct _rtp_sink_s *next;
};

static const struct cr_sink_caps_s _caps; /* below: what it takes */

static pthread_mutex_t _reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct _rtp_sink_s *_all;

static void _send(void *opaque, uint8_t *pkt, size_t len)
{
	struct _rtp_sink_s *r = opaque;
	if (sendto(r->fd, pkt, len, 0, (struct sockaddr *)&r->dst, r->dst_len) < 0)
		CR_LOG_ONCE(r->failed_logged, CR_LOG_WARN, cr_stream_name(r->sink->stream),
			    "rtp sink: sending to %s failed: %s", _ADDRESS(r->sink), strerror(errno));
}

static socklen_t _salen(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* A sender report for rtp, whose RTP time `ts` is CLOCK_MONOTONIC `now`. */
static void _send_sr_of(struct _rtp_sink_s *r, const struct cr_rtp_s *rtp, uint32_t ts,
			const struct sockaddr_storage *to)
{
	uint8_t sr[128];
	char cname[80];
	snprintf(cname, sizeof(cname), "camrelay-%s", cr_stream_name(r->sink->stream));
	size_t n = cr_rtcp_sender_report(sr, sizeof(sr), rtp->ssrc, cr_ntp_now(), ts, rtp->packets, rtp->octets,
					 cname);
	if (n)
		sendto(r->fd, sr, n, 0, (const struct sockaddr *)to, _salen(to));
}

static void _send_sr(struct _rtp_sink_s *r, int64_t now)
{
	/* The last frame's RTP time was its capture time: count on from there. */
	int64_t d = now - r->last_capture_ns;
	uint32_t ts = r->rtp.last_ts + (uint32_t)(d / 100000 * 9 + d % 100000 * 9 / 100000);
	_send_sr_of(r, &r->rtp, ts, &r->rtcp_dst);
	r->last_sr_ns = now;
}

/* On the audio thread, for each packet (audio/audio.h): Opus, or the
 * source's G.711 / AAC passed through (what /sdp says: cr_audio_format). */
static void _audio_deliver(const struct cr_audio_packet_s *p, void *opaque)
{
	struct _rtp_sink_s *r = opaque;
	int64_t now = cr_now_ns();
	/* A report before the first packet (and the first of another codec),
	 * then each second: receivers line audio up with video from their
	 * first packets. */
	uint8_t pt = (uint8_t)cr_rtp_audio_pt(p->codec, p->clock_rate, p->channels);
	bool other = r->artp.pt != pt;
	if (r->alast_sr_ns == 0 || other || now - r->alast_sr_ns >= 1000000000LL) {
		r->artp.pt = pt;
		_send_sr_of(r, &r->artp, cr_audio_rtp_ts_at(now, p->clock_rate) + r->ats_offset, &r->artcp_dst);
		r->alast_sr_ns = now;
	}
	cr_rtp_audio(&r->artp, p->codec, p->clock_rate, p->channels, p->data, p->size, p->ts + r->ats_offset,
		     p->talkspurt);
}

static void _send_audio(void *opaque, uint8_t *pkt, size_t len)
{
	struct _rtp_sink_s *r = opaque;
	if (sendto(r->fd, pkt, len, 0, (struct sockaddr *)&r->adst, _salen(&r->adst)) < 0)
		CR_LOG_ONCE(r->afailed_logged, CR_LOG_WARN, cr_stream_name(r->sink->stream),
			    "rtp sink: sending audio to %s + 2 failed: %s", _ADDRESS(r->sink), strerror(errno));
}

static int64_t _realtime_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* When the datagram reached the socket (SO_TIMESTAMPNS, CLOCK_REALTIME);
 * now when the kernel gave no stamp. */
static int64_t _arrival_ns(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec t;
			memcpy(&t, CMSG_DATA(c), sizeof(t));
			return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
		}
	return _realtime_ns();
}

/* The first keyframe sent after a receiver's PLI/FIR: how long after the
 * request reached the socket its first packet left (the encoder's next
 * frame, its encoding and the payloader). */
static void _key_answered(struct _rtp_sink_s *r)
{
	double ms = (_realtime_ns() - r->key_asked_rt_ns) / 1e6;
	r->key_asked_rt_ns = 0;
	pthread_mutex_lock(&r->ps_lock);
	r->info.keyframes_answered++;
	r->info.keyframe_delay_ms = ms;
	if (ms > r->info.keyframe_delay_max_ms)
		r->info.keyframe_delay_max_ms = ms;
	pthread_mutex_unlock(&r->ps_lock);
}

/* RTCP the receiver sent back to this socket (outside input: parsed by the
 * fuzzed rtcp.c; what fails to parse is dropped). */
static void _read_rtcp(struct _rtp_sink_s *r)
{
	for (int i = 0; i < 16; i++) {
		uint8_t b[1500];
		char ctl[CMSG_SPACE(sizeof(struct timespec))];
		struct iovec iov = {b, sizeof(b)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
		ssize_t n = recvmsg(r->fd, &mh, MSG_DONTWAIT);
		if (n <= 0)
			return;
		struct cr_rtcp_info_s ri;
		if (!cr_rtp_is_rtcp(b, (size_t)n) || (cr_rtcp_parse(b, (size_t)n, &ri) < 0 && !ri.pli && !ri.fir))
			continue;
		pthread_mutex_lock(&r->ps_lock);
		r->info.rtcp_packets++;
		r->info.plis += (uint64_t)ri.pli;
		r->info.firs += (uint64_t)ri.fir;
		if (ri.remb)
			r->info.remb_bps = ri.remb_bps;
		for (int k = 0; k < ri.n_rr; k++)
			if (ri.rr[k].ssrc == r->rtp.ssrc) {
				r->info.fraction_lost = ri.rr[k].fraction_lost / 256.0;
				r->info.jitter_ms = ri.rr[k].jitter / 90.0;
			}
		int64_t now = cr_now_ns();
		bool key = (ri.pli || ri.fir) && now - r->last_key_ns > 200000000LL;
		r->info.keyframes_requested += key;
		pthread_mutex_unlock(&r->ps_lock);
		if (key) {
			r->last_key_ns = now;
			if (!r->key_asked_rt_ns)
				r->key_asked_rt_ns = _arrival_ns(&mh);
			cr_sub_request_keyframe(r->sub);
			CR_LOG_D(cr_stream_name(r->sink->stream), "rtp sink %s: keyframe asked for by the receiver (%s)",
				 _ADDRESS(r->sink), ri.pli ? "PLI" : "FIR");
		}
	}
}

/* The core's caps event (inside cr_sub_pop, on the sink thread), before the
 * first packet with new caps (a keyframe carrying its parameter sets): the
 * parameter sets kept for /sdp describe the old caps, so the SDP waits for
 * the new ones. */
static void _on_caps(const struct cr_caps_s *caps, void *opaque)
{
	struct _rtp_sink_s *r = opaque;
	pthread_mutex_lock(&r->ps_lock);
	r->ps_len = 0;
	r->info.width = caps->width;
	r->info.height = caps->height;
	r->info.caps_generation = caps->generation;
	pthread_mutex_unlock(&r->ps_lock);
	if (caps->generation > 1)
		CR_LOG_I(cr_stream_name(r->sink->stream), "rtp sink %s: caps changed to %s %dx%d",
			 _ADDRESS(r->sink), cr_codec_name(caps->codec), caps->width, caps->height);
}

static void *_thread(void *arg)
{
	struct _rtp_sink_s *r = arg;
	while (atomic_load(&r->running)) {
		struct cr_packet_s *pkt = cr_sub_pop(r->sub, 50);
		_read_rtcp(r);
		int64_t now = cr_now_ns();
		if (r->rtp.packets && now - r->last_sr_ns >= 1000000000LL)
			_send_sr(r, now);
		if (!pkt)
			continue;
		if (pkt->flags & CR_PACKET_CONFIG) {
			uint8_t ps[sizeof(r->ps)];
			size_t n = cr_annexb_param_sets(r->rtp.codec, pkt->data, pkt->size, ps, sizeof(ps));
			if (n) {
				pthread_mutex_lock(&r->ps_lock);
				memcpy(r->ps, ps, n);
				r->ps_len = n;
				pthread_mutex_unlock(&r->ps_lock);
			}
		}
		uint32_t ts = (uint32_t)pkt->pts + r->ts_offset;
		bool key = pkt->flags & CR_PACKET_KEYFRAME;
		if (key && r->key_asked_rt_ns)
			_key_answered(r); /* its first packet goes out now */
		if (cr_rtp_payload(&r->rtp, pkt->data, pkt->size, ts, key, pkt->width, pkt->height) > 0) {
			r->last_capture_ns = pkt->ts_capture_ns ? pkt->ts_capture_ns : cr_now_ns();
			cr_sub_sent(r->sub, pkt->ts_capture_ns);
		}
		cr_sub_unref_item(r->sub, pkt);
	}
	return NULL;
}

static int _resolve(struct _rtp_sink_s *r, const char *address)
{
	char host[128], port[8];
	if (cr_hostport_split(address, host, sizeof(host), port, sizeof(port)) < 0)
		return -EINVAL;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	memcpy(&r->dst, ai->ai_addr, ai->ai_addrlen);
	r->dst_len = ai->ai_addrlen;
	/* RTCP on the next port (RFC 3550 11). */
	memcpy(&r->rtcp_dst, ai->ai_addr, ai->ai_addrlen);
	in_port_t *rp = r->rtcp_dst.ss_family == AF_INET ? &((struct sockaddr_in *)&r->rtcp_dst)->sin_port
							 : &((struct sockaddr_in6 *)&r->rtcp_dst)->sin6_port;
	*rp = htons((uint16_t)(ntohs(*rp) + 1));
	/* Audio on the next pair (RFC 3551's even/odd pairs). */
	r->adst = r->artcp_dst = r->rtcp_dst;
	in_port_t *ap = r->adst.ss_family == AF_INET ? &((struct sockaddr_in *)&r->adst)->sin_port
						     : &((struct sockaddr_in6 *)&r->adst)->sin6_port;
	*ap = htons((uint16_t)(ntohs(*ap) + 1));
	in_port_t *acp = r->artcp_dst.ss_family == AF_INET ? &((struct sockaddr_in *)&r->artcp_dst)->sin_port
							   : &((struct sockaddr_in6 *)&r->artcp_dst)->sin6_port;
	*acp = htons((uint16_t)(ntohs(*acp) + 2));
	freeaddrinfo(ai);
	return 0;
}

static int _open(struct cr_sink_s *sink)
{
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(sink->stream);
	struct _rtp_sink_s *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(sink->error, sizeof(sink->error), "out of memory");
		return -ENOMEM;
	}
	r->sink = sink;
	r->fd = -1;
	pthread_mutex_init(&r->ps_lock, NULL);
	if (_resolve(r, _ADDRESS(sink)) < 0) {
		snprintf(sink->error, sizeof(sink->error),
			 "rtp sink (line %d): cannot resolve address \"%s\" (expected host:port)",
			 sink->cfg->line, _ADDRESS(sink));
		goto error;
	}
	r->fd = socket(r->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		snprintf(sink->error, sizeof(sink->error), "rtp sink: socket: %s", strerror(errno));
		goto error;
	}
	int ttl = 4, buf = 1 << 20;
	if (r->dst.ss_family == AF_INET)
		setsockopt(r->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
	else
		setsockopt(r->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl));
	setsockopt(r->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	int one = 1; /* arrival stamps of RTCP: the PLI -> keyframe delay */
	setsockopt(r->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	struct cr_encoder_cfg_s enc;
	cr_rtp_stream_encoder(sc, CR_CODEC_H264, &enc);
	const struct cr_output_cfg_s *o = &sc->sources[0].output;
	uint32_t rnd[3];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd[0] = rnd[1] = rnd[2] = (uint32_t)rand();
	cr_rtp_init(&r->rtp, enc.codec, (uint8_t)(o->present && o->payload_type ? o->payload_type : 96),
		    rnd[0], (uint16_t)rnd[1]);
	r->rtp.emit = _send;
	r->rtp.vp9_minimal = true; /* what ffmpeg's depacketizer understands */
	r->rtp.opaque = r;
	r->ts_offset = rnd[2];
	char name[140];
	snprintf(name, sizeof(name), "rtp %s", _ADDRESS(sink));
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = enc, .depth = 8, .name = name,
				   .caps = _on_caps, .opaque = r};
	r->sub = cr_stream_subscribe(sink->stream, &req);
	if (!r->sub) {
		snprintf(sink->error, sizeof(sink->error), "rtp sink: cannot subscribe to the stream");
		goto error;
	}
	struct cr_audio_s *audio = cr_stream_audio(sink->stream);
	if (audio) {
		uint32_t ar[3];
		if (getrandom(ar, sizeof(ar), 0) != sizeof(ar))
			ar[0] = ar[1] = ar[2] = (uint32_t)rand();
		cr_rtp_init(&r->artp, CR_CODEC_NONE, CR_RTP_OPUS_PT, ar[0], (uint16_t)ar[1]);
		r->artp.emit = _send_audio;
		r->artp.opaque = r;
		r->ats_offset = ar[2];
	}
	atomic_store(&r->running, true);
	if (pthread_create(&r->thread, NULL, _thread, r) != 0) {
		snprintf(sink->error, sizeof(sink->error), "rtp sink: cannot start its thread");
		cr_stream_unsubscribe(r->sub);
		goto error;
	}
	if (audio && !(r->asub = cr_audio_subscribe_takes(audio, _caps.audio, _audio_deliver, r)))
		CR_LOG_E(sc->name, "rtp sink %s: out of memory: no audio", _ADDRESS(sink));
	sink->priv = r;
	snprintf(r->info.stream, sizeof(r->info.stream), "%s", sc->name);
	snprintf(r->info.address, sizeof(r->info.address), "%s", _ADDRESS(sink));
	pthread_mutex_lock(&_reg_lock);
	r->next = _all;
	_all = r;
	pthread_mutex_unlock(&_reg_lock);
	CR_LOG_I(sc->name, "rtp sink: %s to %s%s (SDP at /sdp/%s)", cr_codec_name(enc.codec), _ADDRESS(sink),
		 r->asub ? ", Opus to its port + 2" : "", sc->name);
	return 0;
error:
	if (r->fd >= 0)
		close(r->fd);
	pthread_mutex_destroy(&r->ps_lock);
	free(r);
	return -EINVAL;
}

static void _close(struct cr_sink_s *sink)
{
	struct _rtp_sink_s *r = sink->priv;
	if (!r)
		return;
	pthread_mutex_lock(&_reg_lock);
	for (struct _rtp_sink_s **p = &_all; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	pthread_mutex_unlock(&_reg_lock);
	cr_audio_unsubscribe(r->asub);
	atomic_store(&r->running, false);
	pthread_join(r->thread, NULL);
	cr_stream_unsubscribe(r->sub);
	close(r->fd);
	pthread_mutex_destroy(&r->ps_lock);
	free(r);
	sink->priv = NULL;
}

/* The SDP of what this sink sends (GET /sdp/<stream>, net/http_sdp.c). For
 * H.264/H.265 it carries the parameter sets the sink last sent; before the
 * first keyframe -EAGAIN, unless `last`: then it goes without them
 * (receivers wait for in-band ones, which every keyframe carries). */
static int _sdp(struct cr_sink_s *sink, char *out, size_t cap, bool last)
{
	struct _rtp_sink_s *r = sink->priv;
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(sink->stream);
	char host[128], port[8];
	if (cr_hostport_split(_ADDRESS(sink), host, sizeof(host), port, sizeof(port)) < 0)
		return -EINVAL;
	uint8_t ps[sizeof(r->ps)];
	size_t ps_len = 0;
	if (r->rtp.codec == CR_CODEC_H264 || r->rtp.codec == CR_CODEC_H265) {
		pthread_mutex_lock(&r->ps_lock);
		ps_len = r->ps_len;
		memcpy(ps, r->ps, ps_len);
		pthread_mutex_unlock(&r->ps_lock);
		if (!ps_len && !last)
			return -EAGAIN;
		if (!ps_len)
			CR_LOG_W(sc->name, "/sdp/%s: no keyframe from the encoder yet; the SDP goes without sprop-* "
				 "parameter sets (receivers wait for in-band ones)", sc->name);
	}
	const struct cr_output_cfg_s *o = &sc->sources[0].output;
	int n = cr_sdp_plain_rtp(out, cap, sc->name, host, atoi(port), r->rtp.codec, r->rtp.pt,
				 o->present && o->clock_rate ? o->clock_rate : 90000, ps, ps_len);
	if (n < 0 || !r->asub)
		return n;
	struct cr_audio_format_s f;
	cr_audio_format(cr_stream_audio(r->sink->stream), _caps.audio, &f);
	int m = cr_sdp_plain_audio(out + n, cap - (size_t)n, atoi(port) + 2, &f, sc->audio.channels, sc->audio.fec);
	return m < 0 ? m : n + m;
}

static int _load_address(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			 const struct cr_option_s *o, void *block)
{
	struct cr_rtp_sink_opts_s *sink = block;
	return cr_cfg_get_hostport(c, t, path, o->key, sink->address, sizeof(sink->address));
}

static const struct cr_option_s _options[] = {
	{.key = "address", .type = CR_OPT_CUSTOM, .offset = offsetof(struct cr_rtp_sink_opts_s, address),
	 .size = sizeof(((struct cr_rtp_sink_opts_s *)0)->address), .load = _load_address,
	 .required = " (an rtp sink sends to host:port)", .help = "host:port the RTP goes to (RTCP +1)"},
	CR_OPTS_END,
};

static const struct cr_sink_caps_s _caps = {.codecs = cr_rtp_codecs, .audio = CR_AUDIO_TAKES_RTP};

const struct cr_sink_ops_s cr_sink_rtp = {
	.name = "rtp",
	.type = CR_SINK_RTP,
	.options = _options,
	.opts_size = sizeof(struct cr_rtp_sink_opts_s),
	.caps = &_caps,
	.open = _open,
	.close = _close,
	.sdp = _sdp,
};

void cr_rtp_sink_foreach(void (*fn)(const struct cr_rtp_sink_info_s *, void *), void *opaque)
{
	pthread_mutex_lock(&_reg_lock);
	for (struct _rtp_sink_s *r = _all; r; r = r->next) {
		pthread_mutex_lock(&r->ps_lock);
		struct cr_rtp_sink_info_s i = r->info;
		pthread_mutex_unlock(&r->ps_lock);
		fn(&i, opaque);
	}
	pthread_mutex_unlock(&_reg_lock);
}
