/* Congestion control of WHEP viewers: each viewer's feedback feeds its own
 * estimator (net/gcc.c: transport-cc delay + loss, REMB, receiver-report
 * loss when it sends no transport-cc), and every 250 ms each stream's
 * encoder bitrate is set from the viewers' estimates by the stream's
 * [stream.X.sources.encoder] bitrate_policy, between min_bitrate and bitrate:
 *
 * - "lowest" (default): rank the viewers by estimate, fastest first; the
 *   encoder follows viewer number ceil(N x bitrate_share / 100) (share 75 by
 *   default: with 4 viewers the 3rd fastest, so one slow viewer of four cannot
 *   drag the others down; with 1-3 viewers, the slowest).
 * - "median": follows viewer number ceil(N / 2) (of 2, the faster).
 * - "fixed": the encoder keeps `bitrate`; estimates are only reported.
 * The encoder gets 95 % of the followed estimate (room for audio, RTCP,
 * retransmissions; the estimate counts headers). A viewer whose own share (95 % of its
 * estimate) is below what the encoder sends gets keyframes on demand instead
 * of the stream: only keyframes, one asked for when it has had time to take
 * the last one at its estimate (and at most one a second); it rejoins the
 * stream at a keyframe once its estimate is up again (an estimate keeps
 * growing while no delay or loss is seen: that is how it finds out). Viewers
 * without transport-cc or REMB have no estimate and are left out. One target
 * per stream: the stream's encoders for other codecs get the same. After a
 * queue-ramp or heavy-loss cut (gcc.c) the encoder follows at once, not at
 * the next tick, and the viewer resumes at a small keyframe made at the new
 * rate (_resume_at_key). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "encode/encoder.h"
#include "net/gcc.h"
#include "net/sdp.h"
#include "net/whep_priv.h"

#define _TICK_NS 250000000LL
#define _HEADROOM 0.95
#define _DEFAULT_MIN 150000
#define _DEFAULT_MAX 2000000
#define _DEFAULT_SHARE 75

struct cr_whep_cc_s {
	int ext; /* transport-cc header extension id, 0 = REMB only */
	uint16_t seq;
	bool keyframes_only;
	int64_t last_key_ns;
	size_t last_key_size;
	uint64_t frames_skipped, keyframe_demands;
	uint64_t seen_cuts; /* the estimator's loss_cuts acted on */
	uint64_t seen_ramp_cuts; /* and its ramp_cuts (for the log) */
	bool cut_pending;
	int64_t cut_key_ns;  /* the last keyframe asked for at a cut */
	int64_t cut_key_bps; /* and the estimate it was made for */
	struct cr_gcc_s g;
};

static int64_t _min_bps(const struct cr_encoder_cfg_s *e)
{
	return e->min_bitrate > 0 ? e->min_bitrate : _DEFAULT_MIN;
}

static int64_t _max_bps(const struct cr_encoder_cfg_s *e)
{
	int64_t m = e->bitrate > 0 ? e->bitrate : _DEFAULT_MAX;
	return m > _min_bps(e) ? m : _min_bps(e);
}

void cr_whep_cc_new(struct cr_whep_viewer_s *v, const struct cr_sdp_media_s *m, struct cr_sdp_answer_s *a)
{
	const struct cr_sdp_fmt_s *f = NULL;
	for (int k = 0; k < m->n_fmts; k++)
		if (m->fmts[k].pt == v->pt)
			f = &m->fmts[k];
	bool twcc = f && f->twcc && m->twcc_ext > 0, remb = f && f->remb;
	if (!twcc && !remb)
		return;
	v->cc = calloc(1, sizeof(*v->cc));
	if (!v->cc)
		return; /* served without congestion control */
	v->cc->ext = twcc ? m->twcc_ext : 0;
	v->cc->seq = (uint16_t)cr_whep_random32();
	/* Estimates are in bit/s on the wire: the encoder gets 95 % of them. */
	cr_gcc_init(&v->cc->g, (int64_t)((double)_max_bps(&v->enc) / _HEADROOM), _min_bps(&v->enc) / 2,
		     (int64_t)((double)_max_bps(&v->enc) / _HEADROOM * 1.5));
	a->twcc_ext = v->cc->ext;
	a->twcc_fb = twcc;
	a->remb = remb;
	v->info.bwe.active = true;
	v->info.bwe.transport_cc = twcc;
	v->info.bwe.remb = remb;
}

void cr_whep_cc_free(struct cr_whep_viewer_s *v)
{
	free(v->cc);
	v->cc = NULL;
}

static uint32_t _ssrc(const uint8_t *p)
{
	return (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
}

size_t cr_whep_cc_header(struct cr_whep_viewer_s *v, uint8_t *dst, const uint8_t *pkt, size_t len)
{
	struct cr_whep_cc_s *c = v->cc;
	/* Only the video (and its RTX): no CSRC or extension of the payloader's yet. */
	if (!c || !c->ext || len < 12 || (pkt[0] & 0x1f) ||
	    (_ssrc(pkt) != v->rtp.ssrc && _ssrc(pkt) != v->rtx_ssrc))
		return 0;
	if (dst != pkt) /* the fan-out path writes the header in place first */
		memcpy(dst, pkt, 12);
	dst[0] |= 0x10;
	/* RFC 8285 one-byte form: 0xBEDE, one word; id, length-1 = 1, the number, padding. */
	dst[12] = 0xbe, dst[13] = 0xde, dst[14] = 0, dst[15] = 1;
	dst[16] = (uint8_t)(c->ext << 4 | 1);
	dst[17] = (uint8_t)(c->seq >> 8), dst[18] = (uint8_t)c->seq, dst[19] = 0;
	/* Its size on the wire: + the SRTP tag, UDP and IPv4 headers. */
	cr_gcc_sent(&c->g, c->seq, len + 8 + 38, cr_now_ns() / 1000);
	c->seq++;
	return 20;
}

bool cr_whep_cc_transport_cc(const struct cr_whep_viewer_s *v)
{
	return v->cc && v->cc->ext;
}

int64_t cr_whep_cc_estimate(const struct cr_whep_viewer_s *v)
{
	return v->cc ? v->cc->g.estimate_bps : 0;
}

void cr_whep_cc_rtcp(struct cr_whep_viewer_s *v, const struct cr_rtcp_info_s *ri)
{
	struct cr_whep_cc_s *c = v->cc;
	if (!c)
		return;
	cr_gcc_feedback(&c->g, ri, v->rtp.ssrc, cr_now_ns() / 1000);
	if (c->g.loss_cuts != c->seen_cuts) {
		c->seen_cuts = c->g.loss_cuts;
		CR_LOG_D("whep", "viewer %s: %s, estimate cut to %lld bit/s", v->id,
			 c->g.ramp_cuts != c->seen_ramp_cuts ? "queue ramp" : "heavy loss", (long long)c->g.estimate_bps);
		c->seen_ramp_cuts = c->g.ramp_cuts;
		c->cut_pending = true;
		v->w->cc_tick_ns = 0; /* the encoder follows now, not at the next tick */
		cr_whep_cc_tick(v->w, cr_now_ns());
	}
}

/* After a cut for a queue ramp or heavy loss, for a viewer the stream is sent to: what was
 * made for the old rate is dropped (its pacer queue, the frames up to the
 * next keyframe, retransmissions of it) and a keyframe at the new rate is
 * asked for at once: waiting for the viewer's PLI costs seconds (Chromium
 * asks only once it has had no decodable frame for a while). */
static void _resume_at_key(struct cr_whep_viewer_s *v, int64_t now)
{
	/* The cuts that follow within a second only cut: the keyframe asked for
	 * at the first may be through already, and dropping what follows it
	 * would freeze the viewer until the next. Unless it was made for over
	 * 1.4 x the new estimate: then it hardly got through either. */
	if (v->cc->cut_key_ns && now - v->cc->cut_key_ns < 1000000000LL &&
	    (double)v->cc->cut_key_bps <= 1.4 * (double)v->cc->g.estimate_bps)
		return;
	v->cc->cut_key_ns = now;
	v->cc->cut_key_bps = v->cc->g.estimate_bps;
	/* The keyframe waits for half the queue seen behind the cut to drain
	 * (at most 150 ms): the bottleneck stays busy, and it is not sent into
	 * a full queue (the first packet of one sent 23 ms after a cut was
	 * lost there; its retransmission came 0.3 s later, behind the queue). */
	int64_t hold = v->cc->g.queue_us / 2 * 1000;
	cr_whep_pace_cut(v, hold < 0 ? 0 : hold > 150000000LL ? 150000000LL : hold);
	v->nack_floor = v->rtp.seq;
	v->nack_floor_ns = now;
	/* Even when one was asked for just before: that one was made at the old
	 * rate (cuts are 200 ms apart at least, so this is no storm). */
	v->wait_key = true;
	v->w->last_keyframe_ns[v->stream] = now;
	cr_sub_request_small_keyframe(v->sub); /* it goes through the queue the cut found */
	v->info.keyframes_requested++;
	CR_LOG_D("whep", "viewer %s: keyframe requested at the cut to %lld bit/s", v->id,
		 (long long)v->cc->g.estimate_bps);
}

bool cr_whep_cc_skip(struct cr_whep_viewer_s *v, bool key, size_t size)
{
	struct cr_whep_cc_s *c = v->cc;
	if (!c)
		return false;
	if (key) {
		c->last_key_ns = cr_now_ns();
		c->last_key_size = size;
		return false;
	}
	if (c->keyframes_only)
		c->frames_skipped++;
	return c->keyframes_only;
}

static void _fill_info(struct cr_whep_viewer_s *v)
{
	const struct cr_gcc_s *g = &v->cc->g;
	struct cr_whep_bwe_info_s *b = &v->info.bwe;
	b->estimate_bps = g->estimate_bps, b->delay_bps = g->delay_bps, b->loss_bps = g->loss_bps;
	b->remb_bps = g->remb_bps, b->acked_bps = g->acked_bps;
	b->loss = g->loss, b->trend = g->trend, b->threshold_ms = g->threshold_ms;
	b->usage = cr_gcc_usage_name(g->usage);
	b->feedbacks = g->feedbacks, b->overuses = g->overuses;
	b->packets_acked = g->packets_acked, b->packets_lost = g->packets_lost;
	b->keyframes_only = v->cc->keyframes_only;
	b->frames_skipped = v->cc->frames_skipped, b->keyframe_demands = v->cc->keyframe_demands;
	b->pacer_queued = v->pq_n, b->pacer_drops = v->pace_drops;
}

static int _desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static bool _estimating(const struct cr_whep_viewer_s *v, int stream)
{
	return v->stream == stream && v->cc && v->sub && v->state == CR_WHEP_SENDING &&
	       (v->cc->g.feedbacks > 0 || v->cc->g.remb_packets > 0);
}

/* The estimate the stream's policy follows; 0 when none or "fixed". */
static int64_t _followed(struct cr_whep_s *w, int stream, const struct cr_encoder_cfg_s **enc, int *n_out)
{
	int n = 0;
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (_estimating(v, stream)) {
			n++;
			*enc = &v->enc;
		}
	*n_out = n;
	if (n == 0 || (*enc)->bitrate_policy == CR_BITRATE_FIXED)
		return 0;
	int64_t *e = malloc(sizeof(*e) * (size_t)n);
	if (!e)
		return 0;
	int i = 0;
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (_estimating(v, stream))
			e[i++] = v->cc->g.estimate_bps;
	qsort(e, (size_t)n, sizeof(*e), _desc);
	int share = (*enc)->bitrate_share > 0 ? (*enc)->bitrate_share : _DEFAULT_SHARE;
	int k = (*enc)->bitrate_policy == CR_BITRATE_MEDIAN ? (n + 1) / 2 : (n * share + 99) / 100;
	k = k < 1 ? 1 : k > n ? n : k;
	int64_t r = e[k - 1];
	free(e);
	return r;
}

/* Sets the encoder of every viewer's subscription of the stream; the note
 * says why it cannot follow (an encoder without run-time bitrate, or a
 * stream passed through as the camera encodes it). */
static void _apply(struct cr_whep_s *w, int stream, int64_t bps, const struct cr_encoder_cfg_s *enc)
{
	struct cr_whep_cc_stream_s *st = &w->cc[stream];
	const struct cr_encoder_ops_s *ops = cr_encoder_find(enc->backend, enc->codec);
	if (ops && !ops->set_bitrate) {
		if (!st->note)
			CR_LOG_W("whep", "stream %s: encoder %s cannot change its bitrate while it runs: viewers below %lld bit/s get keyframes on demand",
				 cr_stream_name(w->streams[stream]), ops->name, (long long)_max_bps(enc));
		st->note = "the encoder cannot change its bitrate while it runs";
		st->target_bps = _max_bps(enc);
		return;
	}
	int64_t d = bps > st->target_bps ? bps - st->target_bps : st->target_bps - bps;
	if (st->target_bps && d * 50 < st->target_bps)
		return; /* within 2 %: not worth a change */
	bool ok = false;
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (v->stream == stream && v->sub)
			ok |= cr_sub_set_network_bitrate(v->sub, bps) == 0;
	if (!ok) {
		st->note = "the stream is sent as the source encodes it (no encoder to drive)";
		st->target_bps = _max_bps(enc);
		return;
	}
	st->note = NULL;
	st->target_bps = bps;
	st->changes++;
	CR_LOG_D("whep", "stream %s: encoder bitrate %lld bit/s", cr_stream_name(w->streams[stream]), (long long)bps);
}

/* Keyframes on demand for a viewer below what the encoder sends. */
static void _serve_below(struct cr_whep_viewer_s *v, int64_t target, int64_t now)
{
	struct cr_whep_cc_s *c = v->cc;
	double own = (double)c->g.estimate_bps * _HEADROOM;
	bool below = c->keyframes_only ? own < (double)target : own < 0.9 * (double)target;
	if (c->keyframes_only && !below) {
		v->wait_key = true; /* it missed frames: back at the next keyframe */
		cr_sub_request_keyframe(v->sub);
		v->info.keyframes_requested++;
	}
	c->keyframes_only = below;
	c->g.app_limited = below; /* its estimate may grow past what it gets */
	if (!below)
		return;
	int64_t gap = c->g.estimate_bps > 0 ? (int64_t)c->last_key_size * 8 * 1000000000LL / c->g.estimate_bps : 0;
	gap = gap < 1000000000LL ? 1000000000LL : gap;
	if (now - c->last_key_ns >= gap && now - v->w->last_keyframe_ns[v->stream] >= 1000000000LL) {
		v->w->last_keyframe_ns[v->stream] = now;
		cr_sub_request_keyframe(v->sub);
		c->keyframe_demands++;
		v->info.keyframes_requested++;
	}
}

void cr_whep_cc_tick(struct cr_whep_s *w, int64_t now)
{
	if (now - w->cc_tick_ns < _TICK_NS)
		return;
	w->cc_tick_ns = now;
	for (int i = 0; i < w->n_streams; i++) {
		struct cr_whep_cc_stream_s *st = &w->cc[i];
		const struct cr_encoder_cfg_s *enc = NULL;
		int n = 0;
		int64_t f = _followed(w, i, &enc, &n);
		st->estimating = n;
		st->keyframes_only = 0;
		if (n == 0)
			continue;
		st->followed_bps = f;
		int64_t target = _max_bps(enc);
		if (f > 0) {
			double t = (double)f * _HEADROOM;
			target = t < (double)_min_bps(enc) ? _min_bps(enc) : t > (double)target ? target : (int64_t)t;
			_apply(w, i, target, enc);
			target = st->target_bps;
		}
		for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next) {
			if (!_estimating(v, i))
				continue;
			if (enc->bitrate_policy != CR_BITRATE_FIXED || st->note)
				_serve_below(v, target, now);
			if (v->cc->cut_pending && !v->cc->keyframes_only)
				_resume_at_key(v, now);
			v->cc->cut_pending = false;
			v->cc->g.encoder_bps = v->cc->keyframes_only ? 0 : target;
			st->keyframes_only += v->cc->keyframes_only;
		}
	}
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (v->cc)
			_fill_info(v);
}

json_t *cr_whep_cc_json(struct cr_whep_s *w)
{
	static const char *const names[] = {"lowest", "median", "fixed"};
	json_t *o = json_object();
	for (int i = 0; o && i < w->n_streams; i++) {
		const struct cr_whep_cc_stream_s *st = &w->cc[i];
		struct cr_encoder_cfg_s e;
		cr_rtp_stream_encoder(cr_stream_cfg(w->streams[i]), CR_CODEC_H264, &e);
		json_t *s = json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:i}", "policy",
				      names[e.bitrate_policy <= CR_BITRATE_FIXED ? e.bitrate_policy : 0], "min_bitrate",
				      (json_int_t)_min_bps(&e), "max_bitrate", (json_int_t)_max_bps(&e), "encoder_bitrate",
				      (json_int_t)(st->target_bps ? st->target_bps : _max_bps(&e)), "followed_estimate",
				      (json_int_t)st->followed_bps, "viewers_estimating", st->estimating,
				      "viewers_keyframes_only", st->keyframes_only, "changes", (json_int_t)st->changes,
				      "share", e.bitrate_share > 0 ? e.bitrate_share : _DEFAULT_SHARE);
		if (s)
			json_object_set_new(s, "note", st->note ? json_string(st->note) : json_null());
		json_object_set_new(o, cr_stream_name(w->streams[i]), s);
	}
	return o;
}
