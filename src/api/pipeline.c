/* The public pipeline API (include/camrelay/pipeline.h) over the stream core:
 * one stream, one encoded subscriber and optionally one raw subscriber, both
 * delivered directly on their stage's thread (no queue: the packet reaches
 * the callback as soon as the encoder made it, so a keyframe request is
 * answered by the next frame encoded). The daemon runs the same core. */
#include "camrelay/pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/stream.h"
#include "encode/encoder.h"
#include "rtp/rtp.h"

struct camrelay_pipeline {
	struct cr_config_s *all; /* owns the blocks cfg points into (a media pipeline) */
	struct cr_stream_cfg_s cfg;
	struct cr_encoder_cfg_s enc; /* what the packet subscriber asks for */
	uint32_t clock_rate;
	uint8_t payload_type;

	camrelay_packet_fn on_packet;
	void *packet_opaque;
	camrelay_rtp_fn on_rtp;
	void *rtp_opaque;
	camrelay_frame_fn on_frame;
	void *frame_opaque;
	camrelay_caps_fn on_caps;
	void *caps_opaque;
	/* Each output's caps (generation 0: none yet), under caps_lock. */
	pthread_mutex_t caps_lock;
	camrelay_caps caps[2];

	struct cr_stream_s *stream;
	struct cr_sub_s *pkt_sub, *raw_sub;
	/* On the encoder's thread only. */
	struct cr_rtp_s rtp;
	const camrelay_encoded_packet *rtp_from;

	atomic_uint_least64_t packets, bytes, rtp_packets;
	struct cr_latency_s delivered;

	pthread_mutex_t err_lock;
	char error[512];
	bool error_from_source; /* error[] is the source's state message */
};

/* The pipeline whose callback this thread is running, if any. */
static _Thread_local const camrelay_pipeline *_in_callback;

static void _set_error_from(camrelay_pipeline *p, const char *msg, bool source)
{
	pthread_mutex_lock(&p->err_lock);
	snprintf(p->error, sizeof(p->error), "%s", msg);
	p->error_from_source = source;
	pthread_mutex_unlock(&p->err_lock);
}

static void _set_error(camrelay_pipeline *p, const char *msg) { _set_error_from(p, msg, false); }

/* ---- creation ---- */

static camrelay_pipeline *_from_config(const struct cr_config_s *all, const char *name, const char *stream,
				       char *err, size_t errlen)
{
	const struct cr_stream_cfg_s *sc = NULL;
	for (int i = 0; i < all->n_streams && !sc; i++)
		if (!stream || strcmp(all->streams[i]->name, stream) == 0)
			sc = all->streams[i];
	if (!sc) {
		char names[256] = "";
		for (int i = 0; i < all->n_streams; i++)
			cr_msgf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
				all->streams[i]->name);
		snprintf(err, errlen, "%s: no stream \"%s\" (streams: %s)", name, stream ? stream : "",
			 names[0] ? names : "none");
		return NULL;
	}
	camrelay_pipeline *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *sc;
	const struct cr_encoder_cfg_s *e = &sc->sources[0].encoder;
	if (e->present && !cr_rtp_supported(e->codec))
		p->enc = *e; /* MJPEG, FWHT: as configured */
	else
		cr_rtp_stream_encoder(sc, CR_CODEC_H264, &p->enc);
	if (p->enc.codec == CR_CODEC_MJPEG && !p->enc.quality)
		p->enc.quality = sc->mjpeg.quality ? sc->mjpeg.quality : 80;
	const struct cr_output_cfg_s *o = &sc->sources[0].output;
	p->clock_rate = o->present && o->clock_rate > 0 ? (uint32_t)o->clock_rate : 90000;
	p->payload_type = o->present && o->payload_type ? (uint8_t)o->payload_type : 96;
	pthread_mutex_init(&p->err_lock, NULL);
	pthread_mutex_init(&p->caps_lock, NULL);
	cr_latency_init(&p->delivered);
	return p;
}

camrelay_pipeline *camrelay_pipeline_create_toml(const char *toml, const char *name, const char *stream,
						 char *err, size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!toml) {
		snprintf(err, errlen, "camrelay_pipeline_create_toml: no TOML text");
		return NULL;
	}
	name = name ? name : "<toml>";
	struct cr_config_s *all = calloc(1, sizeof(*all));
	if (!all) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	camrelay_pipeline *p = NULL;
	if (cr_config_parse(name, toml, strlen(toml), all, err, errlen) == 0)
		p = _from_config(all, name, stream, err, errlen);
	if (p) {
		p->all = all;
		p->cfg.n_sinks = 0; /* the library opens no sinks */
		return p;
	}
	cr_config_free(all);
	free(all);
	return NULL;
}

camrelay_pipeline *camrelay_pipeline_create(const camrelay_pipeline_config *cfg, char *err, size_t errlen)
{
	char *toml = cfg ? cr_api_config_toml(cfg) : NULL;
	if (!toml) {
		if (err && errlen)
			snprintf(err, errlen, "camrelay_pipeline_create: %s", cfg ? "out of memory" : "no config");
		return NULL;
	}
	camrelay_pipeline *p = camrelay_pipeline_create_toml(toml, "camrelay_pipeline_config", NULL, err, errlen);
	free(toml);
	return p;
}

/* ---- callbacks ---- */

#define _SET_CB(p, field, op_field, fn, opaque) \
	do { \
		if (!(p)) \
			return -EINVAL; \
		if ((p)->stream) \
			return -EBUSY; \
		(p)->field = (fn); \
		(p)->op_field = (opaque); \
		return 0; \
	} while (0)

int camrelay_pipeline_set_packet_callback(camrelay_pipeline *p, camrelay_packet_fn fn, void *opaque)
{
	_SET_CB(p, on_packet, packet_opaque, fn, opaque);
}

int camrelay_pipeline_set_rtp_callback(camrelay_pipeline *p, camrelay_rtp_fn fn, void *opaque)
{
	_SET_CB(p, on_rtp, rtp_opaque, fn, opaque);
}

int camrelay_pipeline_set_frame_callback(camrelay_pipeline *p, camrelay_frame_fn fn, void *opaque)
{
	_SET_CB(p, on_frame, frame_opaque, fn, opaque);
}

int camrelay_pipeline_set_caps_callback(camrelay_pipeline *p, camrelay_caps_fn fn, void *opaque)
{
	_SET_CB(p, on_caps, caps_opaque, fn, opaque);
}

int camrelay_pipeline_caps_get(camrelay_pipeline *p, camrelay_caps_kind kind, camrelay_caps *out, size_t size)
{
	if (!p || !out || (kind != CAMRELAY_CAPS_ENCODED && kind != CAMRELAY_CAPS_RAW))
		return -EINVAL;
	pthread_mutex_lock(&p->caps_lock);
	camrelay_caps c = p->caps[kind];
	pthread_mutex_unlock(&p->caps_lock);
	if (!c.generation)
		return -EAGAIN;
	memcpy(out, &c, size < sizeof(c) ? size : sizeof(c));
	return 0;
}

static void _rtp_emit(void *opaque, uint8_t *data, size_t len)
{
	camrelay_pipeline *p = opaque;
	camrelay_rtp_packet r = {
		.data = data,
		.size = len,
		.timestamp = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7],
		.sequence = (uint16_t)(data[2] << 8 | data[3]),
		.marker = (data[1] & 0x80) != 0,
		.packet = p->rtp_from,
	};
	atomic_fetch_add(&p->rtp_packets, 1);
	p->on_rtp(&r, p->rtp_opaque);
}

static const camrelay_codec _codecs[CR_CODEC_COUNT] = {
	[CR_CODEC_H264] = CAMRELAY_CODEC_H264, [CR_CODEC_H265] = CAMRELAY_CODEC_H265,
	[CR_CODEC_AV1] = CAMRELAY_CODEC_AV1,   [CR_CODEC_VP8] = CAMRELAY_CODEC_VP8,
	[CR_CODEC_VP9] = CAMRELAY_CODEC_VP9,   [CR_CODEC_MJPEG] = CAMRELAY_CODEC_MJPEG,
	[CR_CODEC_FWHT] = CAMRELAY_CODEC_FWHT,
};

/* The core's caps event of one output (stream.h: on that output's thread,
 * before its first packet or frame with these caps): kept for caps_get and
 * handed on. The core numbers the generations. */
static void _caps_event(const struct cr_caps_s *in, void *opaque)
{
	camrelay_pipeline *p = opaque;
	camrelay_caps c = {.generation = in->generation, .width = in->width, .height = in->height,
			   .fps_num = in->fps_num, .fps_den = in->fps_den, .profile = in->profile, .level = in->level};
	if (in->kind == CR_SUB_RAW) {
		c.kind = CAMRELAY_CAPS_RAW;
		c.format = cr_pixfmt_name(in->format);
		c.full_range = in->full_range;
	} else {
		c.kind = CAMRELAY_CAPS_ENCODED;
		c.format = cr_codec_name(in->codec);
		c.codec = (unsigned)in->codec < CR_CODEC_COUNT ? _codecs[in->codec] : 0;
		c.clock_rate = p->clock_rate;
	}
	pthread_mutex_lock(&p->caps_lock);
	p->caps[c.kind] = c;
	pthread_mutex_unlock(&p->caps_lock);
	if (p->on_caps) {
		_in_callback = p;
		p->on_caps(&c, p->caps_opaque);
		_in_callback = NULL;
	}
}

/* ns * rate / 1e9 without overflowing at any uptime. */
static int64_t _to_clock(int64_t ns, uint32_t rate)
{
	return ns / 1000000000LL * rate + ns % 1000000000LL * rate / 1000000000LL;
}

static void _deliver_packet(void *item, void *opaque)
{
	struct cr_packet_s *pkt = item;
	camrelay_pipeline *p = opaque;
	camrelay_encoded_packet out = {
		.data = pkt->data,
		.size = pkt->size,
		.capture_time_ns = pkt->ts_capture_ns,
		.pts = _to_clock(pkt->ts_capture_ns, p->clock_rate),
		.clock_rate = p->clock_rate,
		.flags = pkt->flags & (CR_PACKET_KEYFRAME | CR_PACKET_CONFIG),
		.codec = (unsigned)pkt->codec < CR_CODEC_COUNT ? _codecs[pkt->codec] : 0,
		.width = pkt->width,
		.height = pkt->height,
		.sequence = pkt->seq,
		.encoded_time_ns = pkt->ts_encoded_ns,
	};
	_in_callback = p;
	if (p->on_packet)
		p->on_packet(&out, p->packet_opaque);
	if (p->on_rtp) {
		p->rtp_from = &out;
		cr_rtp_payload(&p->rtp, pkt->data, pkt->size, (uint32_t)out.pts, pkt->flags & CR_PACKET_KEYFRAME,
			       pkt->width, pkt->height);
		p->rtp_from = NULL;
	}
	_in_callback = NULL;
	atomic_fetch_add(&p->packets, 1);
	atomic_fetch_add(&p->bytes, pkt->size);
	if (pkt->ts_capture_ns)
		cr_latency_add_ns(&p->delivered, cr_now_ns() - pkt->ts_capture_ns);
}

static void _deliver_frame(void *item, void *opaque)
{
	struct cr_frame_s *f = item;
	camrelay_pipeline *p = opaque;
	camrelay_raw_frame out = {
		.format = cr_pixfmt_name(f->format),
		.width = f->width,
		.height = f->height,
		.n_planes = f->n_planes,
		.size = f->size,
		.dmabuf_fd = f->dmabuf_fd,
		.capture_time_ns = f->ts_capture_ns,
		.sequence = f->seq,
		.placeholder = f->placeholder,
		.full_range = cr_frame_full_range(f),
	};
	for (int i = 0; i < 3 && i < f->n_planes; i++) {
		out.planes[i] = f->data[i];
		out.strides[i] = f->stride[i];
	}
	_in_callback = p;
	p->on_frame(&out, p->frame_opaque);
	_in_callback = NULL;
}

/* ---- lifecycle ---- */

static int _fail(camrelay_pipeline *p, int r, const char *msg)
{
	_set_error(p, msg);
	camrelay_pipeline_stop(p);
	return r;
}

int camrelay_pipeline_start(camrelay_pipeline *p)
{
	if (!p)
		return -EINVAL;
	if (p->stream)
		return -EALREADY;
	char err[512];
	_set_error(p, "");
	bool encode = p->on_packet || p->on_rtp;
	if (p->on_rtp && !cr_rtp_supported(p->enc.codec)) {
		snprintf(err, sizeof(err), "stream \"%s\": no RTP payload format for %s (RTP: h264, h265, vp8, vp9, av1)",
			 p->cfg.name, cr_codec_name(p->enc.codec));
		return _fail(p, -ENOTSUP, err);
	}
	/* As the daemon does before it opens anything: a hardware encoder that
	 * cannot exist here is said now. */
	int r = encode ? cr_encoder_check(&p->enc, err, sizeof(err)) : 0;
	if (r < 0) {
		char msg[512];
		cr_msgf(msg, sizeof(msg), "stream \"%s\": encoder backend \"%s\": %s", p->cfg.name, p->enc.backend,
			err);
		return _fail(p, r, msg);
	}
	if (p->on_rtp) {
		uint32_t rnd[2] = {0};
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd[0] = (uint32_t)cr_now_ns();
		cr_rtp_init(&p->rtp, p->enc.codec, p->payload_type, rnd[0], (uint16_t)rnd[1]);
		p->rtp.emit = _rtp_emit;
		p->rtp.opaque = p;
	}
	pthread_mutex_lock(&p->caps_lock); /* caps are learnt again after each start */
	memset(p->caps, 0, sizeof(p->caps));
	pthread_mutex_unlock(&p->caps_lock);
	if (!(p->stream = cr_stream_new(&p->cfg)))
		return _fail(p, -ENOMEM, "out of memory");
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = p->enc, .deliver = _deliver_packet,
				   .caps = _caps_event, .opaque = p, .name = "library packets"};
	if (encode && !(p->pkt_sub = cr_stream_subscribe(p->stream, &req)))
		return _fail(p, -ENOMEM, "cannot start the encoder thread");
	struct cr_sub_req_s raw = {.kind = CR_SUB_RAW, .deliver = _deliver_frame, .caps = _caps_event, .opaque = p,
				   .name = "library frames"};
	if (p->on_frame && !(p->raw_sub = cr_stream_subscribe(p->stream, &raw)))
		return _fail(p, -ENOMEM, "cannot start the frame thread");
	if ((r = cr_stream_start(p->stream, err, sizeof(err))) < 0)
		return _fail(p, r, err);
	return 0;
}

int camrelay_pipeline_stop(camrelay_pipeline *p)
{
	if (!p)
		return -EINVAL;
	if (_in_callback == p)
		return -EDEADLK;
	if (!p->stream)
		return 0;
	/* Unsubscribing joins the stage threads (and waits for a call under
	 * way); destroying the stream joins the capture thread. */
	cr_stream_unsubscribe(p->pkt_sub);
	cr_stream_unsubscribe(p->raw_sub);
	p->pkt_sub = p->raw_sub = NULL;
	cr_stream_destroy(p->stream);
	p->stream = NULL;
	return 0;
}

void camrelay_pipeline_destroy(camrelay_pipeline *p)
{
	if (!p || camrelay_pipeline_stop(p) < 0)
		return;
	cr_latency_destroy(&p->delivered);
	pthread_mutex_destroy(&p->err_lock);
	pthread_mutex_destroy(&p->caps_lock);
	if (p->all)
		cr_config_free(p->all);
	free(p->all);
	free(p);
}

/* ---- control and status ---- */

int camrelay_pipeline_request_keyframe(camrelay_pipeline *p)
{
	if (!p)
		return -EINVAL;
	if (p->pkt_sub)
		cr_sub_request_keyframe(p->pkt_sub);
	return 0;
}

int camrelay_pipeline_set_bitrate(camrelay_pipeline *p, int64_t bps)
{
	if (!p || bps <= 0)
		return -EINVAL;
	const struct cr_encoder_ops_s *ops = cr_encoder_find(p->enc.backend, p->enc.codec);
	if (ops && !ops->set_bitrate) {
		char msg[128];
		snprintf(msg, sizeof(msg), "encoder %s cannot change its bitrate while running", ops->name);
		_set_error(p, msg);
		return -ENOTSUP;
	}
	p->enc.bitrate = bps; /* also for the next start */
	return p->pkt_sub ? cr_sub_set_bitrate(p->pkt_sub, bps) : 0;
}

int camrelay_pipeline_stats_get(camrelay_pipeline *p, camrelay_pipeline_stats *out, size_t size)
{
	if (!p || !out)
		return -EINVAL;
	camrelay_pipeline_stats st = {.state = CAMRELAY_SOURCE_STOPPED};
	st.packets = atomic_load(&p->packets);
	st.bytes = atomic_load(&p->bytes);
	st.rtp_packets = atomic_load(&p->rtp_packets);
	st.capture_to_delivered_p50_us = cr_latency_percentile(&p->delivered, 50);
	st.capture_to_delivered_p95_us = cr_latency_percentile(&p->delivered, 95);
	if (p->stream) {
		struct cr_stream_stats_s *s = cr_stream_stats(p->stream);
		st.frames_captured = atomic_load(&s->frames_captured);
		st.frames_placeholder = atomic_load(&s->frames_placeholder);
		st.frames_converted = atomic_load(&s->frames_converted);
		st.bytes_copied = atomic_load(&s->bytes_copied);
		st.reconnects = atomic_load(&s->reconnects);
		st.capture_to_encoded_p50_us = cr_latency_percentile(&s->capture_to_encoded, 50);
		st.capture_to_encoded_p95_us = cr_latency_percentile(&s->capture_to_encoded, 95);
		st.frames_dropped = p->pkt_sub ? cr_sub_stage_dropped(p->pkt_sub) : 0;
		struct cr_stream_status_s ss;
		cr_stream_status(p->stream, &ss);
		st.state = (camrelay_source_state)ss.state;
		st.width = ss.width;
		st.height = ss.height;
		st.fps = ss.fps_measured;
	}
	memcpy(out, &st, size < sizeof(st) ? size : sizeof(st));
	return 0;
}

const char *camrelay_pipeline_last_error(camrelay_pipeline *p)
{
	if (!p)
		return "no pipeline";
	if (p->stream) {
		struct cr_stream_status_s ss;
		cr_stream_status(p->stream, &ss);
		if (ss.state == CR_SOURCE_RECONNECTING || ss.state == CR_SOURCE_NO_SIGNAL)
			_set_error_from(p, ss.message, true);
		else if (p->error_from_source) /* the source is back */
			_set_error_from(p, "", false);
	}
	return p->error;
}
