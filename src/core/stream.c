#include "core/stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "convert/convert.h"
#include "core/clock.h"
#include "core/h264.h"
#include "core/log.h"
#include "core/placeholder.h"
#include "core/pool.h"
#include "core/queue.h"
#include "core/timecode.h"
#include "encode/encoder.h"

#define _STAGE_DEPTH 2
/* While an encode stage opens its encoder (x264 took 80-170 ms at 640x360
 * when a URL camera went away and placeholders replaced its passed-through
 * H.264: 2-5 frames dropped at each switch, and under load tens), frames
 * wait here instead of being dropped; the backlog drains at encoding speed,
 * then the depth is _STAGE_DEPTH again. */
#define _STAGE_OPEN_DEPTH 10
/* A URL source's frames arrive as its network delivers them, after a hiccup
 * all at once (an RTSP camera stalling 300 ms sends 9 frames in a few ms when
 * it catches up: the soak's pass-through viewers lost frames to a 2-deep
 * queue while the stage thread waited its turn for a core, and url-stall
 * counted 21 of them over 8 such stalls). A dropped access unit of a
 * passed-through stream stops its viewers until the sender's next keyframe,
 * and a re-encoding stage had rather take a few ms to drain a burst than skip
 * its pictures: frames carrying an access unit rest in a queue that holds a
 * 300 ms stall's frames at 30 fps (it fills only in a burst; a device's
 * frames, steady and holding its few buffers, keep _STAGE_DEPTH). */
#define _STAGE_BURST_DEPTH 10

enum _stage_kind_e { _STAGE_CONVERT = 1, _STAGE_ENCODE };

struct _stage_s {
	struct cr_stream_s *stream;
	enum _stage_kind_e kind;
	/* Key: convert → format/size; encode → encoder settings. */
	enum cr_pixfmt_e format;
	int width, height;
	struct cr_encoder_cfg_s enc_cfg;

	struct cr_queue_s in;
	pthread_t thread;
	/* Held by the stage thread while it calls direct subscribers (outside
	 * the stream's lock), so that unsubscribing waits for a call to end. */
	pthread_mutex_t deliver_lock;
	int n_subs;
	struct _stage_s *next;

	/* Owned by the stage thread. */
	struct cr_convert_step_s cv;  /* convert stages */
	struct cr_encode_step_s es;   /* encode stages */
	bool failed_logged;
	int base_depth; /* of `in` for a device's frames (1 for an encoder importing DMA-BUFs) */
	int depth;      /* of `in` at rest: base_depth, or _STAGE_BURST_DEPTH for a URL source's */
	bool deep;    /* `in` is _STAGE_OPEN_DEPTH deep: the encoder opened, its backlog draining */
	bool passing; /* passing a URL source's access units through */
	uint64_t pass_seq; /* seq of the last frame passed through */
};

struct cr_sub_s {
	struct cr_stream_s *stream;
	struct _stage_s *stage;
	enum cr_sub_kind_e kind;
	struct cr_queue_s queue;
	void (*deliver)(void *item, void *opaque); /* direct: no queue */
	void *deliver_opaque;
	void (*caps_fn)(const struct cr_caps_s *caps, void *opaque);
	/* Caps of the last item handed over: written by the thread that hands
	 * items to this subscriber, read by others under caps_lock. */
	pthread_mutex_t caps_lock;
	struct cr_caps_s caps;
	char name[96];
	bool wait_keyframe; /* packets: deliver nothing before the first keyframe */
	int base_depth; /* of `queue` as asked for */
	int depth;      /* of `queue` now: see _sub_rest_depth (stage thread, under the stream's lock) */
	atomic_uint_least64_t delivered, self_dropped;
	struct cr_sub_s *next;
};

struct cr_stream_s {
	struct cr_stream_cfg_s cfg;
	struct cr_stream_stats_s stats;
	pthread_mutex_t lock;
	struct _stage_s *stages;
	struct cr_sub_s *subs;
	int n_subs;

	struct cr_source_s src;
	struct cr_audio_s *audio; /* [stream.X.audio], or NULL */
	struct cr_converter_s *tc_conv; /* timecode = true on an MJPEG source */
	pthread_mutex_t src_lock; /* open/close vs. control calls */
	struct cr_stream_status_s src_snap; /* the source part of the last status read (under lock) */
	bool src_open;
	pthread_t capture_thread;
	bool capture_started;
	atomic_bool running;
	atomic_bool removed; /* taken out of the config by a reload: stopped, hidden */
	bool audio_started;

	/* Status, under lock. */
	enum cr_source_state_e state;
	char message[256];
	int64_t fps_window_start;
	uint64_t fps_window_frames;
	double fps_measured;
	/* The open source's frame rate for caps: num << 32 | den, 0 when unknown
	 * (written by the capture thread, read where items are handed over). */
	atomic_uint_least64_t caps_fps;
};

const char *cr_source_state_name(enum cr_source_state_e s)
{
	static const char *const names[] = {"starting", "running", "no-signal", "reconnecting",
					    "stopped"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void _unref_frame(void *item) { cr_frame_unref(item); }
static void _unref_packet(void *item) { cr_packet_unref(item); }

/* ---- delivery to subscribers ---- */

/* Before item reaches sub (on the thread that hands it over): a change of
 * its caps becomes the subscriber's next generation and its caps event. */
static void _caps_check(struct cr_sub_s *sub, const void *item)
{
	struct cr_caps_s c = {.kind = sub->kind};
	if (sub->kind == CR_SUB_RAW) {
		const struct cr_frame_s *f = item;
		c.width = f->width;
		c.height = f->height;
		c.format = f->format;
		c.full_range = cr_frame_full_range(f);
	} else {
		const struct cr_packet_s *p = item;
		c.width = p->width;
		c.height = p->height;
		c.codec = p->codec;
		/* profile/level from a keyframe's SPS; packets between keep the last */
		if (!(p->flags & (CR_PACKET_KEYFRAME | CR_PACKET_CONFIG)) ||
		    cr_sps_profile_level(p->codec, p->data, p->size, &c.profile, &c.level) < 0) {
			c.profile = sub->caps.codec == c.codec ? sub->caps.profile : 0;
			c.level = sub->caps.codec == c.codec ? sub->caps.level : 0;
		}
	}
	uint64_t fps = atomic_load_explicit(&sub->stream->caps_fps, memory_order_relaxed);
	c.fps_num = (int)(fps >> 32);
	c.fps_den = (int)(fps & 0xffffffff);
	const struct cr_caps_s *last = &sub->caps;
	if (last->generation && last->width == c.width && last->height == c.height && last->format == c.format &&
	    last->codec == c.codec && last->full_range == c.full_range && last->fps_num == c.fps_num &&
	    last->fps_den == c.fps_den && last->profile == c.profile && last->level == c.level)
		return;
	c.generation = last->generation + 1;
	CR_LOG_D(sub->stream->cfg.name, "%s: caps #%llu %dx%d %s %d/%d fps profile %d level %d", sub->name,
		 (unsigned long long)c.generation, c.width, c.height,
		 c.kind == CR_SUB_RAW ? cr_pixfmt_name(c.format) : cr_codec_name(c.codec), c.fps_num, c.fps_den, c.profile,
		 c.level);
	pthread_mutex_lock(&sub->caps_lock);
	sub->caps = c;
	pthread_mutex_unlock(&sub->caps_lock);
	if (sub->caps_fn)
		sub->caps_fn(&c, sub->deliver_opaque);
}

#define _MAX_DIRECT 8

/* Calls the direct subscribers collected under s->lock, which is released
 * here: the stage's deliver_lock, taken before, keeps each of them alive
 * until its call returns (cr_stream_unsubscribe waits for it). */
static void _call_direct(struct _stage_s *st, struct cr_sub_s **direct, int n, void *item)
{
	if (n == 0) {
		pthread_mutex_unlock(&st->stream->lock);
		return;
	}
	pthread_mutex_lock(&st->deliver_lock);
	pthread_mutex_unlock(&st->stream->lock);
	for (int i = 0; i < n; i++) {
		_caps_check(direct[i], item);
		direct[i]->deliver(item, direct[i]->deliver_opaque);
		atomic_fetch_add(&direct[i]->delivered, 1);
	}
	pthread_mutex_unlock(&st->deliver_lock);
}

static void _deliver_frame(struct _stage_s *st, struct cr_frame_s *f)
{
	struct cr_stream_s *s = st->stream;
	struct cr_sub_s *direct[_MAX_DIRECT];
	int n = 0;
	pthread_mutex_lock(&s->lock);
	for (struct cr_sub_s *sub = s->subs; sub; sub = sub->next) {
		if (sub->stage != st)
			continue;
		if (sub->deliver && n < _MAX_DIRECT)
			direct[n++] = sub;
		else if (!sub->deliver)
			cr_queue_push(&sub->queue, cr_frame_ref(f));
	}
	_call_direct(st, direct, n, f);
}

/* An encoded subscriber's queue rests as deep as its stage's input: deeper
 * (_STAGE_BURST_DEPTH) while the frames come from a URL source. The stage
 * drains a camera's burst in a few ms, and a 2-deep MJPEG client queue then
 * overflowed before the event loop could write the pictures out (the soak's
 * two healthy MJPEG clients lost 32 frames in an hour, every MJPEG client at
 * the same moments, 4 frames within 100 ms while the loop answered requests
 * in under 60 ms; url-stall: 8 of 8 bursts). Packets are small; raw
 * subscribers keep their depth (their frames hold pool buffers). */
static void _sub_rest_depth(const struct _stage_s *st, struct cr_sub_s *sub)
{
	int depth = sub->base_depth > 1 && st->depth > sub->base_depth ? st->depth : sub->base_depth;
	if (depth == sub->depth)
		return;
	sub->depth = depth;
	cr_queue_set_depth(&sub->queue, depth);
}

static void _emit_packet(struct cr_encoder_s *enc, struct cr_packet_s *pkt)
{
	struct _stage_s *st = enc->emit_opaque;
	struct cr_stream_s *s = st->stream;
	pkt->ts_encoded_ns = cr_now_ns();
	atomic_fetch_add(&s->stats.packets_encoded, 1);
	if (pkt->ts_capture_ns)
		cr_latency_add_ns(&s->stats.capture_to_encoded, pkt->ts_encoded_ns - pkt->ts_capture_ns);
	struct cr_sub_s *direct[_MAX_DIRECT];
	int n = 0;
	pthread_mutex_lock(&s->lock);
	for (struct cr_sub_s *sub = s->subs; sub; sub = sub->next) {
		if (sub->stage != st)
			continue;
		if (sub->wait_keyframe) {
			if (!(pkt->flags & CR_PACKET_KEYFRAME))
				continue;
			sub->wait_keyframe = false;
		}
		if (sub->deliver && n < _MAX_DIRECT) {
			direct[n++] = sub;
		} else if (!sub->deliver) {
			_sub_rest_depth(st, sub);
			cr_queue_push(&sub->queue, cr_packet_ref(pkt));
		}
	}
	_call_direct(st, direct, n, pkt);
}

/* ---- stage threads ---- */

static struct cr_frame_s *_stage_convert(struct _stage_s *st, struct cr_frame_s *in,
					 enum cr_pixfmt_e fmt, int w, int h)
{
	char err[256];
	struct cr_frame_s *out = cr_convert_step_run(&st->cv, in, fmt, w, h, &st->stream->stats, err, sizeof(err));
	if (!out)
		CR_LOG_ONCE(st->failed_logged, CR_LOG_WARN, st->stream->cfg.name, "%s", err);
	return out;
}

static void _stage_convert_frame(struct _stage_s *st, struct cr_frame_s *f)
{
	int w = st->width ? st->width : f->width, h = st->height ? st->height : f->height;
	/* Raw consumers take limited range: a full-range frame (a yuvj picture
	 * from a URL source) goes through the converter, which compresses it,
	 * even when format and size already fit. */
	bool full = f->full_range && f->format != CR_PIXFMT_MJPEG;
	enum cr_pixfmt_e fmt = st->format != CR_PIXFMT_NONE ? st->format : f->format;
	if (!full && (st->format == CR_PIXFMT_NONE || (fmt == f->format && w == f->width && h == f->height))) {
		_deliver_frame(st, f);
		return;
	}
	struct cr_frame_s *out = _stage_convert(st, f, fmt, w, h);
	if (out) {
		_deliver_frame(st, out);
		cr_frame_unref(out);
	}
}

static void _encoder_close(struct _stage_s *st)
{
	cr_encode_step_close(&st->es);
}

static int _encoder_open(struct _stage_s *st, struct cr_frame_s *f)
{
	struct cr_stream_s *s = st->stream;
	const struct cr_encoder_ops_s *ops = cr_encoder_find(st->enc_cfg.backend, st->enc_cfg.codec);
	if (!ops) {
		CR_LOG_ONCE(st->failed_logged, CR_LOG_ERROR, s->cfg.name, "no encoder backend \"%s\" for codec %s in this build",
			    st->enc_cfg.backend, cr_codec_name(st->enc_cfg.codec));
		return -ENOENT;
	}
	memset(&st->es.enc, 0, sizeof(st->es.enc));
	st->es.enc.ops = ops;
	st->es.enc.cfg = st->enc_cfg;
	st->es.enc.width = f->width;
	st->es.enc.height = f->height;
	st->es.enc.fps_num = s->src.fps_num ? s->src.fps_num : 30;
	st->es.enc.fps_den = s->src.fps_num ? s->src.fps_den : 1;
	st->es.enc.emit = _emit_packet;
	st->es.enc.emit_opaque = st;
	st->es.enc.src_format = f->format; /* M2M: take the source's format when the device does */
	st->es.enc.stats = &s->stats;      /* backends that copy frame data count it */
	int r = ops->open(&st->es.enc);
	if (r < 0) {
		CR_LOG_ONCE(st->failed_logged, CR_LOG_ERROR, s->cfg.name, "encoder %s (%s) failed to open at %dx%d: %s",
			    ops->name, cr_codec_name(st->enc_cfg.codec), f->width, f->height, st->es.enc.error);
		return r;
	}
	st->failed_logged = false;
	st->es.open = true;
	atomic_fetch_add(&s->stats.encoders_opened, 1);
	CR_LOG_I(s->cfg.name, "encoder %s: %s %dx%d from %s", st->es.enc.ops->name, /* open() may hand over (fallback) */
		 cr_codec_name(st->enc_cfg.codec), f->width, f->height, cr_pixfmt_name(st->es.enc.in_format));
	return 0;
}

static void _stage_encode_frame(struct _stage_s *st, struct cr_frame_s *f)
{
	/* A JPEG from the camera is already MJPEG: pass it on untouched. */
	if (st->enc_cfg.codec == CR_CODEC_MJPEG && f->format == CR_PIXFMT_MJPEG && f->size > 0) {
		struct cr_packet_s *pkt = cr_packet_wrap_frame(CR_CODEC_MJPEG, f);
		if (pkt) {
			pkt->pts = pkt->dts = f->ts_capture_ns * 9 / 100000;
			_emit_packet(&st->es.enc, pkt);
			cr_packet_unref(pkt);
		}
		return;
	}
	/* A frame decoded from a URL source carries its access unit: a consumer
	 * of the same codec gets it as it came (no re-encode). Keyframe requests
	 * cannot reach the sender, so after a switch back from placeholders the
	 * stage waits for the sender's next keyframe. */
	if (f->coded && f->coded->codec == st->enc_cfg.codec) {
		_encoder_close(st);
		/* A gap in seq: this stage's queue dropped frames, so the next
		 * access units refer to pictures the consumers never got. */
		if (st->passing && f->seq != st->pass_seq + 1)
			st->passing = false;
		st->pass_seq = f->seq;
		if (!st->passing && !(f->coded->flags & CR_PACKET_KEYFRAME))
			return;
		st->passing = true;
		_emit_packet(&st->es.enc, f->coded);
		return;
	}
	st->passing = false;
	if (st->es.open && (st->es.enc.width != f->width || st->es.enc.height != f->height)) {
		CR_LOG_I(st->stream->cfg.name, "size changed to %dx%d: restarting the encoder", f->width,
			 f->height);
		_encoder_close(st);
	}
	if (!st->es.open) {
		if (st->depth > 1) {
			cr_queue_set_depth(&st->in, _STAGE_OPEN_DEPTH);
			st->deep = true;
		}
		if (_encoder_open(st, f) < 0) {
			cr_queue_set_depth(&st->in, st->depth);
			st->deep = false;
			return;
		}
	}
	int queued;
	if (st->deep && (cr_queue_counts(&st->in, NULL, NULL, &queued), queued < st->depth)) {
		cr_queue_set_depth(&st->in, st->depth);
		st->deep = false;
	}
	if (cr_encode_step_run(&st->es, f) < 0) {
		if (st->es.convert_failed)
			CR_LOG_ONCE(st->failed_logged, CR_LOG_WARN, st->stream->cfg.name, "%s", st->es.error);
		else
			CR_LOG_ONCE(st->failed_logged, CR_LOG_ERROR, st->stream->cfg.name, "encoder %s failed: %s",
				    st->es.enc.ops->name, st->es.error);
	}
}

/* The queue's depth at rest for frames like f (see _STAGE_BURST_DEPTH); a
 * deep queue (an encoder opened, its backlog draining) is left to shrink. */
static void _stage_rest_depth(struct _stage_s *st, const struct cr_frame_s *f)
{
	int depth = f->coded && st->base_depth > 1 ? _STAGE_BURST_DEPTH : st->base_depth;
	if (depth == st->depth)
		return;
	st->depth = depth;
	if (!st->deep)
		cr_queue_set_depth(&st->in, depth);
}

static void *_stage_thread(void *arg)
{
	struct _stage_s *st = arg;
	struct cr_frame_s *f;
	while ((f = cr_queue_pop(&st->in, -1))) {
		_stage_rest_depth(st, f);
		if (st->kind == _STAGE_CONVERT)
			_stage_convert_frame(st, f);
		else
			_stage_encode_frame(st, f);
		cr_frame_unref(f);
	}
	_encoder_close(st);
	return NULL;
}

bool cr_encoder_cfg_equal(const struct cr_encoder_cfg_s *a, const struct cr_encoder_cfg_s *b)
{
	return a->codec == b->codec && strcmp(a->backend, b->backend) == 0 && a->bitrate == b->bitrate &&
	       a->profile_idc == b->profile_idc && a->constraint_flags == b->constraint_flags &&
	       a->level_idc == b->level_idc && a->gop == b->gop && a->quality == b->quality &&
	       a->prefer_dmabuf == b->prefer_dmabuf && memcmp(a->opts, b->opts, sizeof(a->opts)) == 0;
}

/* Under s->lock. */
static struct _stage_s *_stage_get(struct cr_stream_s *s, const struct cr_sub_req_s *req)
{
	for (struct _stage_s *st = s->stages; st; st = st->next) {
		if (req->kind == CR_SUB_RAW && st->kind == _STAGE_CONVERT && st->format == req->format &&
		    st->width == req->width && st->height == req->height)
			return st;
		if (req->kind == CR_SUB_ENCODED && st->kind == _STAGE_ENCODE &&
		    cr_encoder_cfg_equal(&st->enc_cfg, &req->encoder))
			return st;
	}
	struct _stage_s *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->stream = s;
	st->kind = req->kind == CR_SUB_RAW ? _STAGE_CONVERT : _STAGE_ENCODE;
	st->format = req->format;
	st->width = req->width;
	st->height = req->height;
	st->enc_cfg = req->encoder;
	st->es.enc.emit_opaque = st; /* MJPEG passthrough emits before any encoder is opened */
	pthread_mutex_init(&st->deliver_lock, NULL);
	/* An encoder importing DMA-BUFs holds capture buffers while frames wait:
	 * one waiting frame keeps the capture driver from running dry (and
	 * copying) with its few buffers. */
	st->base_depth = st->kind == _STAGE_ENCODE && req->encoder.prefer_dmabuf ? 1 : _STAGE_DEPTH;
	st->depth = st->base_depth;
	cr_queue_init(&st->in, st->depth, _unref_frame);
	if (pthread_create(&st->thread, NULL, _stage_thread, st) != 0) {
		cr_queue_destroy(&st->in);
		pthread_mutex_destroy(&st->deliver_lock);
		free(st);
		return NULL;
	}
	st->next = s->stages;
	s->stages = st;
	return st;
}

static void _stage_destroy(struct _stage_s *st)
{
	cr_queue_close(&st->in);
	pthread_join(st->thread, NULL);
	cr_queue_destroy(&st->in);
	cr_convert_step_free(&st->cv);
	cr_encode_step_free(&st->es);
	pthread_mutex_destroy(&st->deliver_lock);
	free(st);
}

/* ---- subscribers ---- */

struct cr_sub_s *cr_stream_subscribe(struct cr_stream_s *s, const struct cr_sub_req_s *req)
{
	struct cr_sub_s *sub = calloc(1, sizeof(*sub));
	if (!sub)
		return NULL;
	sub->stream = s;
	sub->kind = req->kind;
	snprintf(sub->name, sizeof(sub->name), "%s", req->name ? req->name : "?");
	sub->base_depth = sub->depth = req->depth > 0 ? req->depth : 2;
	cr_queue_init(&sub->queue, sub->depth, req->kind == CR_SUB_RAW ? _unref_frame : _unref_packet);
	sub->queue.notify = req->notify;
	sub->queue.notify_opaque = req->opaque;
	sub->deliver = req->deliver;
	sub->deliver_opaque = req->opaque;
	sub->caps_fn = req->caps;
	pthread_mutex_init(&sub->caps_lock, NULL);
	sub->wait_keyframe = req->kind == CR_SUB_ENCODED;
	pthread_mutex_lock(&s->lock);
	sub->stage = _stage_get(s, req);
	if (!sub->stage) {
		pthread_mutex_unlock(&s->lock);
		cr_queue_destroy(&sub->queue);
		pthread_mutex_destroy(&sub->caps_lock);
		free(sub);
		return NULL;
	}
	sub->stage->n_subs++;
	if (sub->kind == CR_SUB_ENCODED)
		atomic_store(&sub->stage->es.keyframe_wanted, true);
	sub->next = s->subs;
	s->subs = sub;
	s->n_subs++;
	pthread_mutex_unlock(&s->lock);
	return sub;
}

void cr_stream_unsubscribe(struct cr_sub_s *sub)
{
	if (!sub)
		return;
	struct cr_stream_s *s = sub->stream;
	struct _stage_s *dead = NULL;
	pthread_mutex_lock(&s->lock);
	for (struct cr_sub_s **p = &s->subs; *p; p = &(*p)->next)
		if (*p == sub) {
			*p = sub->next;
			break;
		}
	s->n_subs--;
	if (--sub->stage->n_subs == 0) {
		dead = sub->stage;
		for (struct _stage_s **p = &s->stages; *p; p = &(*p)->next)
			if (*p == dead) {
				*p = dead->next;
				break;
			}
	}
	pthread_mutex_unlock(&s->lock);
	if (sub->deliver) { /* a call under way ends first */
		pthread_mutex_lock(&sub->stage->deliver_lock);
		pthread_mutex_unlock(&sub->stage->deliver_lock);
	}
	if (dead)
		_stage_destroy(dead);
	/* Nothing is pushed any more: what is still queued never reaches the
	 * consumer, so the final count is exact (offered = delivered + dropped,
	 * less what the consumer skipped by its own choice, e.g. a rate cap). */
	uint64_t offered, dropped;
	int queued;
	cr_queue_counts(&sub->queue, &offered, &dropped, &queued);
	CR_LOG_D(s->cfg.name, "%s gone: offered %llu, delivered %llu, dropped %llu", sub->name,
		 (unsigned long long)offered, (unsigned long long)atomic_load(&sub->delivered),
		 (unsigned long long)(dropped + atomic_load(&sub->self_dropped) + (uint64_t)queued));
	cr_queue_destroy(&sub->queue);
	pthread_mutex_destroy(&sub->caps_lock);
	free(sub);
}

void *cr_sub_pop(struct cr_sub_s *sub, int timeout_ms)
{
	void *item = cr_queue_pop(&sub->queue, timeout_ms);
	if (item)
		_caps_check(sub, item);
	return item;
}

int cr_sub_caps(struct cr_sub_s *sub, struct cr_caps_s *out)
{
	pthread_mutex_lock(&sub->caps_lock);
	*out = sub->caps;
	pthread_mutex_unlock(&sub->caps_lock);
	return out->generation ? 0 : -EAGAIN;
}

void cr_sub_unref_item(struct cr_sub_s *sub, void *item)
{
	sub->queue.unref(item);
}

void cr_sub_sent(struct cr_sub_s *sub, int64_t ts_capture_ns)
{
	atomic_fetch_add(&sub->delivered, 1);
	if (ts_capture_ns)
		cr_latency_add_ns(&sub->stream->stats.capture_to_sent, cr_now_ns() - ts_capture_ns);
}

void cr_sub_drop(struct cr_sub_s *sub)
{
	atomic_fetch_add(&sub->self_dropped, 1);
}

void cr_sub_request_keyframe(struct cr_sub_s *sub)
{
	atomic_store(&sub->stage->es.keyframe_wanted, true);
}

static int _set_bitrate(struct cr_sub_s *sub, int64_t bps, bool network)
{
	if (sub->kind != CR_SUB_ENCODED || bps <= 0)
		return -EINVAL;
	atomic_store(&sub->stage->es.network_rate, network);
	atomic_store(&sub->stage->es.bitrate_wanted, bps);
	return 0;
}

int cr_sub_set_bitrate(struct cr_sub_s *sub, int64_t bps)
{
	return _set_bitrate(sub, bps, false);
}

int cr_sub_set_network_bitrate(struct cr_sub_s *sub, int64_t bps)
{
	return _set_bitrate(sub, bps, true);
}

void cr_sub_request_small_keyframe(struct cr_sub_s *sub)
{
	atomic_store(&sub->stage->es.small_keyframe_wanted, true);
	atomic_store(&sub->stage->es.keyframe_wanted, true);
}

uint64_t cr_sub_stage_dropped(struct cr_sub_s *sub)
{
	return cr_queue_dropped(&sub->stage->in);
}

uint64_t cr_sub_dropped(struct cr_sub_s *sub)
{
	return cr_queue_dropped(&sub->queue) + atomic_load(&sub->self_dropped);
}

void cr_stream_foreach_sub(struct cr_stream_s *s, void (*fn)(const struct cr_sub_info_s *, void *),
			   void *opaque)
{
	pthread_mutex_lock(&s->lock);
	for (struct cr_sub_s *sub = s->subs; sub; sub = sub->next) {
		struct cr_sub_info_s info = {.kind = sub->kind};
		snprintf(info.name, sizeof(info.name), "%s", sub->name);
		info.format = sub->stage->format;
		info.codec = sub->stage->enc_cfg.codec;
		info.delivered = atomic_load(&sub->delivered);
		pthread_mutex_lock(&sub->caps_lock);
		info.caps = sub->caps;
		pthread_mutex_unlock(&sub->caps_lock);
		cr_queue_counts(&sub->queue, &info.offered, &info.dropped, NULL);
		info.dropped += atomic_load(&sub->self_dropped);
		info.stage_dropped = cr_queue_dropped(&sub->stage->in);
		fn(&info, opaque);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- capture thread ---- */

static void _set_state(struct cr_stream_s *s, enum cr_source_state_e state, const char *msg)
{
	pthread_mutex_lock(&s->lock);
	if (s->state != state)
		CR_LOG_I(s->cfg.name, "source %s%s%s", cr_source_state_name(state), msg && *msg ? ": " : "",
			 msg ? msg : "");
	s->state = state;
	snprintf(s->message, sizeof(s->message), "%s", msg ? msg : "");
	pthread_mutex_unlock(&s->lock);
}

static void _dispatch(struct cr_stream_s *s, struct cr_frame_s *f)
{
	int64_t now = cr_now_ns();
	if (!f->ts_capture_ns)
		f->ts_capture_ns = now;
	pthread_mutex_lock(&s->lock);
	for (struct _stage_s *st = s->stages; st; st = st->next)
		cr_queue_push(&st->in, cr_frame_ref(f));
	if (s->fps_window_start == 0)
		s->fps_window_start = now;
	s->fps_window_frames++;
	if (now - s->fps_window_start >= 2000000000LL) {
		s->fps_measured = (double)s->fps_window_frames * 1e9 / (double)(now - s->fps_window_start);
		s->fps_window_start = now;
		s->fps_window_frames = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

/* timecode = true: the capture time drawn into a copy of the frame (the
 * test source draws it itself). */
static struct cr_frame_s *_stamp(struct cr_stream_s *s, struct cr_frame_s *f)
{
	if (!s->cfg.timecode || strcmp(s->src.ops->name, "test") == 0)
		return f;
	if (!f->ts_capture_ns)
		f->ts_capture_ns = cr_now_ns();
	struct cr_frame_s *t = cr_timecode_stamp(f, &s->tc_conv, &s->stats.bytes_copied);
	if (!t)
		return f;
	cr_frame_unref(f);
	return t;
}

static int64_t _frame_interval_ns(const struct cr_stream_s *s)
{
	if (s->src.fps_num > 0 && s->src.fps_den > 0)
		return 1000000000LL * s->src.fps_den / s->src.fps_num;
	if (s->cfg.sources[0].capture.fps > 0)
		return 1000000000LL / s->cfg.sources[0].capture.fps;
	return 1000000000LL / 30;
}

static void _emit_placeholder(struct cr_stream_s *s, uint64_t seq)
{
	int w = s->src.width > 0 ? s->src.width : s->cfg.sources[0].capture.width;
	int h = s->src.height > 0 ? s->src.height : s->cfg.sources[0].capture.height;
	if (w <= 0 || h <= 0) {
		w = 1280;
		h = 720;
	}
	char msg[256];
	pthread_mutex_lock(&s->lock);
	snprintf(msg, sizeof(msg), "%s", s->message);
	pthread_mutex_unlock(&s->lock);
	struct cr_frame_s *f = cr_placeholder_render(w, h, s->cfg.name, msg);
	if (!f)
		return;
	f->seq = seq;
	f->placeholder = true;
	atomic_fetch_add(&s->stats.frames_placeholder, 1);
	_dispatch(s, f);
	cr_frame_unref(f);
}

/* Sleeps until `until`, emitting placeholder frames at the frame rate. */
static void _placeholder_wait(struct cr_stream_s *s, int64_t until, int64_t *next_ph, uint64_t *seq)
{
	while (atomic_load(&s->running)) {
		int64_t now = cr_now_ns();
		if (now >= until)
			return;
		if (now >= *next_ph) {
			_emit_placeholder(s, (*seq)++);
			*next_ph = now + _frame_interval_ns(s);
		}
		int64_t t = *next_ph < until ? *next_ph : until;
		if (t - now > 50000000LL)
			t = now + 50000000LL; /* stay responsive to stop */
		cr_sleep_until_ns(t);
	}
}

static void _source_close(struct cr_stream_s *s)
{
	pthread_mutex_lock(&s->src_lock);
	if (s->src_open)
		s->src.ops->close(&s->src);
	s->src_open = false;
	pthread_mutex_unlock(&s->src_lock);
}

static void *_capture_thread(void *arg)
{
	struct cr_stream_s *s = arg;
	/* Capped at 1 s: a camera that comes back is picked up within ~1 s. */
	const int64_t backoff_min = 250000000LL, backoff_max = 1000000000LL;
	int64_t backoff = backoff_min, next_ph = 0, last_frame = 0;
	uint64_t seq = 0;

	while (atomic_load(&s->running)) {
		if (!s->src_open) {
			pthread_mutex_lock(&s->src_lock);
			s->src.error[0] = 0;
			int r = s->src.ops->open(&s->src);
			s->src_open = r >= 0;
			pthread_mutex_unlock(&s->src_lock);
			if (r < 0) {
				char msg[300];
				snprintf(msg, sizeof(msg), "%s", s->src.error[0] ? s->src.error : strerror(-r));
				_set_state(s, CR_SOURCE_RECONNECTING, msg);
				atomic_fetch_add(&s->stats.reconnects, 1);
				_placeholder_wait(s, cr_now_ns() + backoff, &next_ph, &seq);
				backoff = backoff * 2 > backoff_max ? backoff_max : backoff * 2;
				continue;
			}
			atomic_fetch_add(&s->stats.source_opens, 1);
			if (s->src.note[0])
				CR_LOG_W(s->cfg.name, "%s", s->src.note);
			CR_LOG_I(s->cfg.name, "source %s %s: %s %dx%d @ %d/%d fps", s->src.ops->name,
				 s->src.device_path, cr_pixfmt_name(s->src.format), s->src.width, s->src.height,
				 s->src.fps_num, s->src.fps_den);
			last_frame = cr_now_ns();
		}
		struct cr_frame_s *f = NULL;
		int r = s->src.ops->read(&s->src, &f, 100);
		int64_t now = cr_now_ns();
		if (r < 0) {
			char msg[300];
			snprintf(msg, sizeof(msg), "%s", s->src.error[0] ? s->src.error : strerror(-r));
			CR_LOG_W(s->cfg.name, "source failed: %s; reconnecting", msg);
			cr_frame_unref(f);
			_source_close(s);
			_set_state(s, CR_SOURCE_RECONNECTING, msg);
			backoff = backoff_min;
			_placeholder_wait(s, now + backoff, &next_ph, &seq);
			continue;
		}
		if (f) {
			backoff = backoff_min;
			last_frame = now;
			f->seq = seq++;
			atomic_fetch_add(&s->stats.frames_captured, 1);
			bool rate = s->src.fps_num > 0 && s->src.fps_den > 0;
			atomic_store_explicit(&s->caps_fps,
					      rate ? (uint64_t)s->src.fps_num << 32 | (uint32_t)s->src.fps_den : 0,
					      memory_order_relaxed);
			_set_state(s, CR_SOURCE_RUNNING, NULL);
			f = _stamp(s, f);
			_dispatch(s, f);
			cr_frame_unref(f);
			next_ph = now + _frame_interval_ns(s);
			continue;
		}
		/* No frame: after a while without any, keep consumers fed. */
		int64_t quiet = 3 * _frame_interval_ns(s);
		if (quiet < 1000000000LL)
			quiet = 1000000000LL;
		if (now - last_frame > quiet) {
			_set_state(s, CR_SOURCE_NO_SIGNAL, "no frames from the device");
			if (now >= next_ph) {
				_emit_placeholder(s, seq++);
				next_ph = now + _frame_interval_ns(s);
			}
		}
	}
	_source_close(s);
	_set_state(s, CR_SOURCE_STOPPED, NULL);
	return NULL;
}

/* ---- lifecycle ---- */

struct cr_stream_s *cr_stream_new(const struct cr_stream_cfg_s *cfg)
{
	struct cr_stream_s *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->src_lock, NULL);
	cr_latency_init(&s->stats.capture_to_encoded);
	cr_latency_init(&s->stats.capture_to_sent);
	s->src.cfg = &s->cfg.sources[0].capture;
	s->src.stream_name = s->cfg.name;
	s->src.stats = &s->stats;
	s->src.running = &s->running;
	if (cfg->audio.present && !(s->audio = cr_audio_new(&s->cfg.audio, s->cfg.name))) {
		cr_stream_destroy(s);
		return NULL;
	}
	return s;
}

int cr_stream_start(struct cr_stream_s *s, char *err, size_t errlen)
{
	const struct cr_source_cfg_s *sc = &s->cfg.sources[0];
	if (s->cfg.n_sources < 1) {
		snprintf(err, errlen, "stream \"%s\" has no source", s->cfg.name);
		return -EINVAL;
	}
	/* A URL source runs like any other, by the backend for its scheme. */
	s->src.url = sc->url;
	s->src.ops = cr_source_find(sc->url[0] ? "url" : sc->capture.backend);
	if (!s->src.ops && sc->url[0]) {
		snprintf(err, errlen, "stream \"%s\": URL sources (%s) are not in this build (needs libavformat)",
			 s->cfg.name, sc->url);
		return -ENOTSUP;
	}
	if (!s->src.ops) {
		snprintf(err, errlen, "stream \"%s\": capture backend \"%s\" is not in this build",
			 s->cfg.name, sc->capture.backend);
		return -ENOTSUP;
	}
	char why[768];
	if (s->src.ops->check && s->src.ops->check(why, sizeof(why)) < 0) {
		snprintf(err, errlen, "stream \"%s\": source %s: %s", s->cfg.name, s->src.ops->name, why);
		return -ENOPKG;
	}
	int rc = s->audio && !s->audio_started ? cr_audio_start(s->audio, err, errlen) : 0;
	if (rc < 0)
		return rc;
	s->audio_started = s->audio != NULL;
	atomic_store(&s->running, true);
	if (pthread_create(&s->capture_thread, NULL, _capture_thread, s) != 0) {
		snprintf(err, errlen, "stream \"%s\": cannot start the capture thread", s->cfg.name);
		return -EAGAIN;
	}
	s->capture_started = true;
	return 0;
}

void cr_stream_stop(struct cr_stream_s *s)
{
	atomic_store(&s->running, false);
	if (s->capture_started)
		pthread_join(s->capture_thread, NULL);
	s->capture_started = false;
}

/* The capture thread is stopped while the configuration changes, so only
 * readers on other threads of the name (unchanged) and of cfg remain: the
 * caller runs this where those readers run (the HTTP loop, serve's reload).
 * The audio keeps running as it was (its thread reads s->cfg.audio). */
int cr_stream_reconfigure(struct cr_stream_s *s, const struct cr_stream_cfg_s *cfg, char *err, size_t errlen)
{
	cr_stream_stop(s);
	pthread_mutex_lock(&s->src_lock);
	pthread_mutex_lock(&s->lock);
	struct cr_audio_cfg_s audio = s->cfg.audio;
	s->cfg = *cfg;
	s->cfg.audio = audio;
	memset(&s->src, 0, sizeof(s->src));
	s->src.cfg = &s->cfg.sources[0].capture;
	s->src.stream_name = s->cfg.name;
	s->src.stats = &s->stats;
	s->src_open = false;
	memset(&s->src_snap, 0, sizeof(s->src_snap));
	s->state = CR_SOURCE_STARTING;
	s->message[0] = 0;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->src_lock);
	atomic_store(&s->removed, false);
	return cr_stream_start(s, err, errlen);
}

void cr_stream_set_removed(struct cr_stream_s *s, bool removed) { atomic_store(&s->removed, removed); }
bool cr_stream_removed(const struct cr_stream_s *s) { return atomic_load(&s->removed); }

void cr_stream_destroy(struct cr_stream_s *s)
{
	if (!s)
		return;
	atomic_store(&s->running, false);
	if (s->capture_started)
		pthread_join(s->capture_thread, NULL);
	while (s->subs) /* subscribers left behind by their owners */
		cr_stream_unsubscribe(s->subs);
	cr_audio_destroy(s->audio);
	cr_latency_destroy(&s->stats.capture_to_encoded);
	cr_latency_destroy(&s->stats.capture_to_sent);
	cr_converter_destroy(s->tc_conv);
	pthread_mutex_destroy(&s->src_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *cr_stream_name(const struct cr_stream_s *s) { return s->cfg.name; }
const struct cr_stream_cfg_s *cr_stream_cfg(const struct cr_stream_s *s) { return &s->cfg; }
struct cr_stream_stats_s *cr_stream_stats(struct cr_stream_s *s) { return &s->stats; }
struct cr_audio_s *cr_stream_audio(struct cr_stream_s *s) { return s->audio; }

void cr_stream_status(struct cr_stream_s *s, struct cr_stream_status_s *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	st->state = s->state;
	snprintf(st->message, sizeof(st->message), "%s", s->message);
	st->fps_measured = s->fps_measured;
	st->n_subs = s->n_subs;
	for (struct _stage_s *g = s->stages; g; g = g->next)
		st->n_encoders += g->kind == _STAGE_ENCODE;
	for (struct cr_sub_s *sub = s->subs; sub; sub = sub->next)
		st->drops += cr_queue_dropped(&sub->queue) + atomic_load(&sub->self_dropped);
	/* The source may hold src_lock for seconds (a slow open): status never
	 * waits for it (the HTTP loop asks), it then gives the last snapshot. */
	if (pthread_mutex_trylock(&s->src_lock) != 0) {
		struct cr_stream_status_s *k = &s->src_snap;
		memcpy(st->note, k->note, sizeof(st->note));
		memcpy(st->backend, k->backend, sizeof(st->backend));
		memcpy(st->device, k->device, sizeof(st->device));
		st->format = k->format;
		st->width = k->width;
		st->height = k->height;
		st->buffers = k->buffers;
		st->fps_nominal = k->fps_nominal;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	snprintf(st->note, sizeof(st->note), "%s", s->src.note);
	snprintf(st->backend, sizeof(st->backend), "%s",
		 s->cfg.sources[0].url[0] ? "url" : s->cfg.sources[0].capture.backend);
	snprintf(st->device, sizeof(st->device), "%s",
		 s->src.device_path[0] ? s->src.device_path : s->cfg.sources[0].capture.device);
	st->format = s->src.format;
	st->width = s->src.width;
	st->height = s->src.height;
	st->buffers = s->src_open ? s->src.buffers : 0;
	if (s->src.fps_den > 0)
		st->fps_nominal = (double)s->src.fps_num / s->src.fps_den;
	pthread_mutex_unlock(&s->src_lock);
	s->src_snap = *st;
	pthread_mutex_unlock(&s->lock);
}

int cr_stream_list_controls(struct cr_stream_s *s, struct cr_control_info_s *out, int max)
{
	int r = -ENODEV;
	if (pthread_mutex_trylock(&s->src_lock) != 0)
		return -EBUSY; /* opening: the caller (the HTTP loop) does not wait */
	if (s->src_open)
		r = s->src.ops->list_controls ? s->src.ops->list_controls(&s->src, out, max) : 0;
	pthread_mutex_unlock(&s->src_lock);
	return r;
}

int cr_stream_set_control(struct cr_stream_s *s, const char *name, const char *value, char *err,
			  size_t errlen)
{
	int r;
	if (pthread_mutex_trylock(&s->src_lock) != 0) {
		snprintf(err, errlen, "the source of stream \"%s\" is busy (opening); try again", s->cfg.name);
		return -EBUSY; /* the caller (the HTTP loop) does not wait for a device */
	}
	if (!s->src_open) {
		snprintf(err, errlen, "the source of stream \"%s\" is not open", s->cfg.name);
		r = -ENODEV;
	} else if (!s->src.ops->set_control) {
		snprintf(err, errlen, "backend %s has no controls", s->src.ops->name);
		r = -ENOTSUP;
	} else {
		s->src.error[0] = 0;
		r = s->src.ops->set_control(&s->src, name, value);
		if (r < 0)
			snprintf(err, errlen, "%s", s->src.error[0] ? s->src.error : strerror(-r));
	}
	pthread_mutex_unlock(&s->src_lock);
	return r;
}
