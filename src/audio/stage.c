/* The audio branch of a stream: one capture thread reads 20 ms blocks from
 * the source, one libopus encoder (while anyone listens) turns each into a
 * packet, and every subscriber gets the same packet.
 *
 * A source that passes its track through (url.c: Opus, G.711, AAC) hands
 * its packets as they came: Opus goes to every subscriber; G.711 or AAC to
 * the subscribers that take that codec (plain RTP, RTSP), while the track
 * is also decoded and encoded to Opus for the others (WebRTC). Each kind
 * of packet keeps its own RTP clock (the codec's rate) and drift state.
 *
 * Time: a block's RTP timestamp follows its sample count, anchored to its
 * CLOCK_MONOTONIC capture time (minus the encoder's lookahead, so the
 * decoded sound lines up with that time). A sound card's clock (or a live
 * URL sender's, url.c) drifts against the system's; the drift is absorbed,
 * never accumulated: when the count runs more than one block (or packet)
 * ahead of the clock a block is dropped, when it falls more than one behind
 * the timestamps jump forward to the clock (the receiver conceals the gap).
 * Both are counted, with the samples they left out or skipped. After an
 * overrun (xrun: samples lost, counted as such) the next block starts again
 * on the clock without a drift count.
 *
 * A source that fails is closed and reopened with backoff (250 ms doubling
 * to 2 s, as video does but capped lower: a card that comes back should be
 * heard again within 3 s); meanwhile the stage sends silence on the clock, so
 * receivers keep a running audio track. */
#include "audio/audio.h"

#include <errno.h>
#include <math.h>
#include <opus/opus.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stats.h"

#define _BLOCK_NS 20000000LL
#define _BLOCK_TS 960 /* 20 ms of the 48 kHz RTP clock */
#define _MAX_PACKET 1500
#define _MAX_CODED 8192 /* a passed-through packet (an AAC access unit is at most 6144 bits per channel) */

/* One kind of packet's RTP clock: the next timestamp, and the drift it
 * absorbed (samples counted on the 48 kHz clock). */
struct _clock_s {
	int rate;
	bool have_ts, talkspurt, after_xrun;
	uint32_t next_ts;
	uint64_t drift_gaps, drift_drops, drift_gap_samples, drift_drop_samples;
	int32_t offset; /* the last kept block's RTP time minus its capture time's (this clock's samples) */
};

struct cr_audio_sub_s {
	struct cr_audio_s *audio;
	unsigned takes; /* CR_AUDIO_TAKES_* */
	void (*deliver)(const struct cr_audio_packet_s *p, void *opaque);
	void *opaque;
	struct cr_audio_sub_s *next;
};

struct cr_audio_s {
	struct cr_audio_cfg_s cfg;
	char stream[64];
	struct cr_audio_source_s src;
	OpusEncoder *enc;
	int64_t lookahead_ns;
	pthread_t thread;
	bool started;
	atomic_bool running;

	pthread_mutex_t lock; /* subscribers (held while delivering) and status */
	struct cr_audio_sub_s *subs;
	struct cr_audio_status_s st;
	struct cr_latency_s latency; /* capture of a block's first sample → sent to every subscriber */

	/* The capture thread's. */
	bool open, logged;
	int64_t retry_ns, backoff_ms, silence_ns;
	struct _clock_s ck;  /* Opus: encoded or passed through (its drift is what /api counts) */
	struct _clock_s nck; /* a passed-through G.711/AAC track's packets */
	int16_t *pcm;
	/* Under lock: the codec passed through to the outputs that take it
	 * (not Opus, which everyone gets), while native is set. */
	bool native;
	struct cr_audio_format_s native_fmt;
};

const char *cr_audio_codec_name(enum cr_audio_codec_e c)
{
	static const char *const names[] = {"opus", "pcmu", "pcma", "aac"};
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

/* Whether subscriber s gets packets of codec c (under lock). */
static bool _gets(const struct cr_audio_s *a, const struct cr_audio_sub_s *s, enum cr_audio_codec_e c)
{
	if (c != CR_AUDIO_OPUS)
		return a->native && a->native_fmt.codec == c && (s->takes & CR_AUDIO_TAKES(c));
	return !a->native || !(s->takes & CR_AUDIO_TAKES(a->native_fmt.codec));
}

static bool _listened(const struct cr_audio_s *a, enum cr_audio_codec_e c)
{
	for (const struct cr_audio_sub_s *s = a->subs; s; s = s->next)
		if (_gets(a, s, c))
			return true;
	return false;
}

const struct cr_audio_ops_s *cr_audio_find(const char *name)
{
	for (int i = 0; cr_audio_backends[i]; i++)
		if (strcmp(cr_audio_backends[i]->name, name) == 0)
			return cr_audio_backends[i];
	return NULL;
}

static double _level_dbfs(const int16_t *pcm, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += (double)pcm[i] * pcm[i];
	double rms = sqrt(sum / (n > 0 ? n : 1)) / 32768.0;
	return rms > 1e-5 ? 20.0 * log10(rms) : -100.0;
}

/* The RTP timestamp (at c->rate) for a block of dur samples of that clock
 * captured at ts_ns, or false to drop it (the card's clock ran a block
 * ahead). */
static bool _stamp(struct _clock_s *c, int64_t ts_ns, uint32_t dur, uint32_t *out)
{
	uint32_t clock_ts = cr_audio_rtp_ts_at(ts_ns, c->rate);
	if (c->after_xrun) { /* the lost samples' time, skipped without a drift count (never backwards) */
		c->after_xrun = false;
		if (c->have_ts && (int32_t)(clock_ts - c->next_ts) > 0) {
			c->next_ts = clock_ts;
			c->talkspurt = true;
		}
	}
	int32_t diff = (int32_t)(clock_ts - c->next_ts);
	int32_t block = (int32_t)(c->rate / 50);
	int32_t slack = dur > (uint32_t)block ? (int32_t)dur : block;
	if (!c->have_ts || diff > slack) {
		if (c->have_ts) {
			c->drift_gaps++;
			c->drift_gap_samples += (uint64_t)diff * 48000 / (uint64_t)c->rate;
		}
		c->next_ts = clock_ts;
		c->have_ts = true;
		c->talkspurt = true;
	} else if (diff < -slack) {
		c->drift_drops++;
		c->drift_drop_samples += (uint64_t)dur * 48000 / (uint64_t)c->rate;
		return false;
	}
	*out = c->next_ts;
	c->offset = (int32_t)(c->next_ts - clock_ts);
	c->next_ts += dur;
	return true;
}

/* Hands p to every subscriber that gets its codec (on the audio thread). */
static void _send(struct cr_audio_s *a, struct _clock_s *c, struct cr_audio_packet_s *p, bool encoded)
{
	p->talkspurt = c->talkspurt;
	c->talkspurt = false;
	pthread_mutex_lock(&a->lock);
	for (struct cr_audio_sub_s *s = a->subs; s; s = s->next)
		if (_gets(a, s, p->codec))
			s->deliver(p, s->opaque);
	a->st.packets++;
	a->st.bytes += (uint64_t)p->size;
	if (encoded)
		a->st.encoded_frames++;
	else
		a->st.passthrough_packets++;
	pthread_mutex_unlock(&a->lock);
	cr_latency_add_ns(&a->latency, cr_now_ns() - p->ts_capture_ns);
}

static void _publish_drift(struct cr_audio_s *a)
{
	a->st.drift_gaps = a->ck.drift_gaps;
	a->st.drift_drops = a->ck.drift_drops;
	a->st.drift_gap_samples = a->ck.drift_gap_samples;
	a->st.drift_drop_samples = a->ck.drift_drop_samples;
	a->st.drift_offset_ms = a->ck.offset * 1000.0 / a->ck.rate;
}

/* One of the source's own packets, handed on as it is: no decoding, no
 * encoding (src->passthrough). The lookahead is the source's encoder's,
 * unknown here: the packet is stamped with its arrival. Opus goes to
 * everyone; G.711/AAC to those that take it (its decoded blocks are
 * encoded for the others by the caller). */
static void _pass(struct cr_audio_s *a, const uint8_t *data, size_t len, int samples, int64_t ts_ns)
{
	const struct cr_audio_format_s *f = &a->src.coded;
	struct _clock_s *c = f->codec == CR_AUDIO_OPUS ? &a->ck : &a->nck;
	struct cr_audio_packet_s p = {.data = data, .size = len, .codec = f->codec, .clock_rate = c->rate,
				      .channels = f->channels, .ts_capture_ns = ts_ns};
	pthread_mutex_lock(&a->lock);
	if (f->codec == CR_AUDIO_OPUS) {
		a->st.level_dbfs = NAN;
		_publish_drift(a);
	}
	a->st.passthrough = true;
	bool listened = _listened(a, f->codec);
	pthread_mutex_unlock(&a->lock);
	bool keep = _stamp(c, ts_ns, (uint32_t)samples, &p.ts);
	/* RFC 7587 3.2: a DTX packet of 2 bytes or less need not be sent. */
	if (!keep || !listened || (f->codec == CR_AUDIO_OPUS && len <= 2)) {
		c->talkspurt = true;
		return;
	}
	_send(a, c, &p, false);
}

static void _encode(struct cr_audio_s *a, int64_t ts_ns)
{
	uint8_t out[_MAX_PACKET];
	struct cr_audio_packet_s p = {.data = out, .codec = CR_AUDIO_OPUS, .clock_rate = 48000,
				      .channels = a->cfg.channels, .ts_capture_ns = ts_ns};
	double level = _level_dbfs(a->pcm, a->src.frames * a->cfg.channels);
	pthread_mutex_lock(&a->lock);
	a->st.level_dbfs = level;
	_publish_drift(a);
	bool listened = _listened(a, CR_AUDIO_OPUS);
	a->st.passthrough = a->native;
	pthread_mutex_unlock(&a->lock);
	if (!_stamp(&a->ck, ts_ns - a->lookahead_ns, _BLOCK_TS, &p.ts) || !listened) {
		a->ck.talkspurt = true;
		return;
	}
	opus_int32 n = opus_encode(a->enc, a->pcm, a->src.frames, out, sizeof(out));
	if (n < 0) {
		CR_LOG_E(a->stream, "audio: Opus encoding failed: %s", opus_strerror(n));
		return;
	}
	/* RFC 7587 3.2: with DTX, packets of 2 bytes or less need not be sent. */
	if (a->cfg.dtx && n <= 2) {
		a->ck.talkspurt = true;
		return;
	}
	p.size = (size_t)n;
	_send(a, &a->ck, &p, true);
}

static void _set_state(struct cr_audio_s *a, const char *state, const char *msg)
{
	pthread_mutex_lock(&a->lock);
	a->native = a->open && a->src.passthrough && a->src.coded.codec != CR_AUDIO_OPUS;
	a->native_fmt = a->src.coded;
	snprintf(a->st.codec, sizeof(a->st.codec), "%s",
		 a->open && a->src.passthrough ? cr_audio_codec_name(a->src.coded.codec) : "");
	if (!a->open)
		a->st.passthrough = false;
	snprintf(a->st.state, sizeof(a->st.state), "%s", state);
	snprintf(a->st.message, sizeof(a->st.message), "%s", msg);
	snprintf(a->st.device, sizeof(a->st.device), "%s", a->src.device_path);
	pthread_mutex_unlock(&a->lock);
}

static void _try_open(struct cr_audio_s *a)
{
	int64_t now = cr_now_ns();
	if (now < a->retry_ns)
		return;
	a->src.error[0] = 0;
	a->src.coded = (struct cr_audio_format_s){.codec = CR_AUDIO_OPUS, .clock_rate = 48000};
	int rc = a->src.ops->open(&a->src);
	if (rc == 0) {
		a->open = true;
		a->nck.rate = a->src.coded.clock_rate > 0 ? a->src.coded.clock_rate : 48000;
		a->nck.have_ts = false;
		a->logged = false;
		a->backoff_ms = 250;
		CR_LOG_I(a->stream, "audio: capturing from %s (%d Hz, %d channel%s, Opus %d bit/s)",
			 a->src.device_path, a->cfg.rate, a->cfg.channels, a->cfg.channels > 1 ? "s" : "",
			 a->st.bitrate);
		_set_state(a, "running", "");
		return;
	}
	if (!a->src.error[0])
		snprintf(a->src.error, sizeof(a->src.error), "%s audio source: cannot open (%s)", a->cfg.backend,
			 strerror(-rc));
	if (!a->logged)
		CR_LOG_E(a->stream, "audio: %s; sending silence and retrying", a->src.error);
	a->logged = true;
	_set_state(a, "reconnecting", a->src.error);
	a->retry_ns = now + a->backoff_ms * 1000000LL;
	a->backoff_ms = a->backoff_ms * 2 > 2000 ? 2000 : a->backoff_ms * 2;
}

/* One block of silence on the clock while the source is down. */
static int64_t _silence(struct cr_audio_s *a)
{
	int64_t now = cr_now_ns();
	if (a->silence_ns < now - 3 * _BLOCK_NS || a->silence_ns > now + _BLOCK_NS)
		a->silence_ns = now / _BLOCK_NS * _BLOCK_NS - _BLOCK_NS;
	cr_sleep_until_ns(a->silence_ns + _BLOCK_NS);
	memset(a->pcm, 0, sizeof(int16_t) * (size_t)a->src.frames * (size_t)a->cfg.channels);
	int64_t ts = a->silence_ns;
	a->silence_ns += _BLOCK_NS;
	pthread_mutex_lock(&a->lock);
	a->st.silent_blocks++;
	pthread_mutex_unlock(&a->lock);
	return ts;
}

static void *_thread(void *arg)
{
	struct cr_audio_s *a = arg;
	while (atomic_load(&a->running)) {
		if (!a->open)
			_try_open(a);
		int64_t ts = 0;
		if (!a->open) {
			_encode(a, _silence(a));
			continue;
		}
		uint8_t coded[_MAX_CODED];
		size_t len = 0;
		int samples = 0;
		bool pass = a->src.passthrough && a->src.ops->read_coded;
		int rc = pass ? a->src.ops->read_coded(&a->src, coded, sizeof(coded), &len, &samples, &ts, 100)
			      : a->src.ops->read(&a->src, a->pcm, &ts, 100);
		if (rc == 0)
			continue;
		if (rc == -EPIPE) {
			pthread_mutex_lock(&a->lock);
			a->st.xruns++;
			pthread_mutex_unlock(&a->lock);
			/* The samples an overrun lost are no drift: the next block
			 * starts again on the clock, counted as an xrun only. */
			a->ck.after_xrun = true;
			continue;
		}
		if (rc < 0) {
			CR_LOG_W(a->stream, "audio: %s; reopening", a->src.error[0] ? a->src.error : strerror(-rc));
			a->src.ops->close(&a->src);
			a->open = false;
			a->src.passthrough = false;
			a->retry_ns = cr_now_ns() + a->backoff_ms * 1000000LL;
			pthread_mutex_lock(&a->lock);
			a->st.reconnects++;
			pthread_mutex_unlock(&a->lock);
			_set_state(a, "reconnecting", a->src.error);
			a->silence_ns = cr_now_ns() / _BLOCK_NS * _BLOCK_NS;
			continue;
		}
		if (!pass) {
			_encode(a, ts);
			continue;
		}
		_pass(a, coded, len, samples, ts);
		while (a->src.coded.codec != CR_AUDIO_OPUS && a->src.ops->read_decoded &&
		       a->src.ops->read_decoded(&a->src, a->pcm, &ts) == 1)
			_encode(a, ts);
	}
	if (a->open)
		a->src.ops->close(&a->src);
	a->open = false;
	return NULL;
}

struct cr_audio_s *cr_audio_new(const struct cr_audio_cfg_s *cfg, const char *stream_name)
{
	struct cr_audio_s *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cfg = *cfg;
	snprintf(a->stream, sizeof(a->stream), "%s", stream_name);
	pthread_mutex_init(&a->lock, NULL);
	cr_latency_init(&a->latency);
	a->src.cfg = &a->cfg;
	a->src.stream_name = a->stream;
	a->src.frames = cfg->rate / 50;
	a->backoff_ms = 250;
	a->ck.rate = a->nck.rate = 48000;
	a->st.bitrate = cfg->bitrate ? cfg->bitrate : 32000 * cfg->channels;
	a->st.rate = cfg->rate;
	a->st.channels = cfg->channels;
	a->st.level_dbfs = -100.0;
	snprintf(a->st.state, sizeof(a->st.state), "starting");
	snprintf(a->st.backend, sizeof(a->st.backend), "%s", cfg->backend);
	return a;
}

static int _open_encoder(struct cr_audio_s *a, char *err, size_t errlen)
{
	int rc;
	a->enc = opus_encoder_create(a->cfg.rate, a->cfg.channels, OPUS_APPLICATION_AUDIO, &rc);
	if (!a->enc) {
		snprintf(err, errlen, "stream \"%s\": audio: libopus refuses %d Hz, %d channels: %s", a->stream,
			 a->cfg.rate, a->cfg.channels, opus_strerror(rc));
		return -EINVAL;
	}
	opus_int32 lookahead = 0;
	if (opus_encoder_ctl(a->enc, OPUS_SET_BITRATE(a->st.bitrate)) != OPUS_OK ||
	    opus_encoder_ctl(a->enc, OPUS_SET_INBAND_FEC(a->cfg.fec ? 1 : 0)) != OPUS_OK ||
	    /* FEC only pays when the encoder expects losses. */
	    opus_encoder_ctl(a->enc, OPUS_SET_PACKET_LOSS_PERC(a->cfg.fec ? 10 : 0)) != OPUS_OK ||
	    opus_encoder_ctl(a->enc, OPUS_SET_DTX(a->cfg.dtx ? 1 : 0)) != OPUS_OK ||
	    opus_encoder_ctl(a->enc, OPUS_GET_LOOKAHEAD(&lookahead)) != OPUS_OK) {
		snprintf(err, errlen, "stream \"%s\": audio: libopus refuses bitrate %d / fec / dtx", a->stream,
			 a->st.bitrate);
		return -EINVAL;
	}
	a->lookahead_ns = (int64_t)lookahead * 1000000000LL / a->cfg.rate;
	return 0;
}

int cr_audio_start(struct cr_audio_s *a, char *err, size_t errlen)
{
	a->src.ops = cr_audio_find(a->cfg.backend);
	if (!a->src.ops) {
		snprintf(err, errlen, "stream \"%s\": audio backend \"%s\" is not in this build%s", a->stream,
			 a->cfg.backend, strcmp(a->cfg.backend, "alsa") == 0 ? " (needs libasound2-dev)" : "");
		return -ENOTSUP;
	}
	char why[768];
	if (a->src.ops->check && a->src.ops->check(why, sizeof(why)) < 0) {
		snprintf(err, errlen, "stream \"%s\": audio backend %s: %s", a->stream, a->src.ops->name, why);
		return -ENOPKG;
	}
	int rc = _open_encoder(a, err, errlen);
	if (rc < 0)
		return rc;
	a->pcm = calloc((size_t)a->src.frames * (size_t)a->cfg.channels, sizeof(int16_t));
	if (!a->pcm) {
		snprintf(err, errlen, "stream \"%s\": audio: out of memory", a->stream);
		return -ENOMEM;
	}
	atomic_store(&a->running, true);
	if (pthread_create(&a->thread, NULL, _thread, a) != 0) {
		snprintf(err, errlen, "stream \"%s\": cannot start the audio thread", a->stream);
		return -EAGAIN;
	}
	a->started = true;
	pthread_setname_np(a->thread, "cr-audio"); /* its CPU time apart in /proc (bench/audio) */
	return 0;
}

void cr_audio_destroy(struct cr_audio_s *a)
{
	if (!a)
		return;
	atomic_store(&a->running, false);
	if (a->started)
		pthread_join(a->thread, NULL);
	while (a->subs)
		cr_audio_unsubscribe(a->subs);
	if (a->enc)
		opus_encoder_destroy(a->enc);
	free(a->pcm);
	cr_latency_destroy(&a->latency);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

struct cr_audio_sub_s *cr_audio_subscribe(struct cr_audio_s *a,
					  void (*deliver)(const struct cr_audio_packet_s *p, void *opaque),
					  void *opaque)
{
	return cr_audio_subscribe_takes(a, CR_AUDIO_TAKES_OPUS, deliver, opaque);
}

void cr_audio_format(struct cr_audio_s *a, unsigned takes, struct cr_audio_format_s *out)
{
	pthread_mutex_lock(&a->lock);
	if (a->native && (takes & CR_AUDIO_TAKES(a->native_fmt.codec)))
		*out = a->native_fmt;
	else
		*out = (struct cr_audio_format_s){.codec = CR_AUDIO_OPUS, .clock_rate = 48000,
						  .channels = a->cfg.channels};
	pthread_mutex_unlock(&a->lock);
}

struct cr_audio_sub_s *cr_audio_subscribe_takes(struct cr_audio_s *a, unsigned takes,
						void (*deliver)(const struct cr_audio_packet_s *p, void *opaque),
						void *opaque)
{
	struct cr_audio_sub_s *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	*s = (struct cr_audio_sub_s){.audio = a, .takes = takes | CR_AUDIO_TAKES_OPUS, .deliver = deliver,
				     .opaque = opaque};
	pthread_mutex_lock(&a->lock);
	s->next = a->subs;
	a->subs = s;
	a->st.n_subs++;
	pthread_mutex_unlock(&a->lock);
	return s;
}

void cr_audio_unsubscribe(struct cr_audio_sub_s *sub)
{
	if (!sub)
		return;
	struct cr_audio_s *a = sub->audio;
	pthread_mutex_lock(&a->lock); /* also waits for a delivery in progress */
	for (struct cr_audio_sub_s **p = &a->subs; *p; p = &(*p)->next)
		if (*p == sub) {
			*p = sub->next;
			a->st.n_subs--;
			break;
		}
	pthread_mutex_unlock(&a->lock);
	free(sub);
}

void cr_audio_status(struct cr_audio_s *a, struct cr_audio_status_s *st)
{
	pthread_mutex_lock(&a->lock);
	*st = a->st;
	pthread_mutex_unlock(&a->lock);
	st->latency_p50_ms = cr_latency_percentile(&a->latency, 50) / 1000.0;
	st->latency_p99_ms = cr_latency_percentile(&a->latency, 99) / 1000.0;
}
