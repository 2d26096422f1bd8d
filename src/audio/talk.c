/* Talk-back: a WHEP viewer's microphone (Opus) played on an ALSA device
 * through libasound (talk.h).
 *
 * The device is opened when a talker claims it and closed when it leaves:
 * S16 interleaved, 48 kHz, the configured channels, a 40 ms buffer of 10 ms
 * periods (snd_pcm_set_params; a plughw: device converts what the card does
 * not take). A playback thread pulls 20 ms from the playout buffer
 * (talk_jb.c) and writes it; the device's clock paces it, so a talker
 * whose clock runs apart is absorbed by the buffer (skip ahead or conceal),
 * never accumulated. A device that does not pace (ALSA's null and file
 * plugins) is held to the system clock, at most 200 ms ahead. An underrun
 * (the device ran dry: the machine was busy) is recovered and counted; a
 * failed device (unplugged) is named and reopened every second while the
 * talker stays.
 *
 * Added delay: the buffer's 40 ms (two packets) + the device's 40 ms, about
 * 80 ms over the network's; measured per packet (arrival → first sample out,
 * snd_pcm_delay) into delay_p50/p99. */
#include "audio/talk.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/talk_jb.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/module.h"
#include "core/stats.h"

#define _LATENCY_US 40000
#define _AHEAD_NS 200000000LL /* a device that does not pace: at most this far ahead of the clock */

struct cr_talk_s {
	char stream[64], device[128];
	int channels;
	pthread_mutex_t lock; /* jb, the status fields */
	struct cr_talk_jb_s *jb;
	snd_pcm_t *pcm;      /* the playback thread's while it runs */
	pthread_t thread;
	bool started;
	atomic_bool running;
	char talker[33];
	char message[256];
	uint64_t talkers, refused, underruns, device_errors;
	struct cr_latency_s delay;
};

static void _quiet(const char *file, int line, const char *fn, int err, const char *fmt, ...)
{
	(void)file, (void)line, (void)fn, (void)err, (void)fmt;
}

/* The error of a failed libasound call on the device, with the fix. */
static int _fail(struct cr_talk_s *t, int rc, const char *what, char *err, size_t errlen)
{
	if ((rc == -ENOENT || rc == -ENODEV) && cr_alsa_denied())
		rc = -EACCES;
	const char *fix = rc == -EBUSY ? " (another program plays on it; `fuser -v /dev/snd/*` shows which)"
			  : rc == -EACCES || rc == -EPERM ? " (no permission: add the user to the \"audio\" group)"
			  : rc == -ENOENT || rc == -ENODEV ? " (`aplay -L` lists the playback devices)"
			  : "";
	snprintf(err, errlen, "ALSA playback device \"%s\": %s: %s%s", t->device, what, snd_strerror(rc), fix);
	return rc < 0 ? rc : -EIO;
}

static int _open(struct cr_talk_s *t, snd_pcm_t **out, char *err, size_t errlen)
{
	snd_lib_error_set_handler(_quiet);
	snd_pcm_t *pcm = NULL;
	/* Non-blocking: a busy device fails at once instead of waiting, and a
	 * write never waits longer than _write_all allows. */
	int rc = snd_pcm_open(&pcm, t->device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
	if (rc < 0)
		return _fail(t, rc, "cannot open for playback", err, errlen);
	if ((rc = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16, SND_PCM_ACCESS_RW_INTERLEAVED, (unsigned)t->channels,
				     CR_TALK_RATE, 1, _LATENCY_US)) < 0) {
		snd_pcm_close(pcm);
		snprintf(err, errlen, "ALSA playback device \"%s\" cannot play 16-bit %d Hz sound on %d channel%s: %s "
			 "(a plughw: device converts)", t->device, CR_TALK_RATE, t->channels, t->channels > 1 ? "s" : "",
			 snd_strerror(rc));
		return rc;
	}
	*out = pcm;
	return 0;
}

static void _set_message(struct cr_talk_s *t, const char *msg)
{
	pthread_mutex_lock(&t->lock);
	snprintf(t->message, sizeof(t->message), "%s", msg);
	t->device_errors++;
	pthread_mutex_unlock(&t->lock);
}

/* Writes one block (what is left of it after a short write). The device
 * stays non-blocking and is waited for at most 500 ms a block, so a device
 * that stops taking sound is named and reopened, and a talker who leaves
 * is never held up. An underrun is recovered and counted. < 0: the device
 * failed. */
static snd_pcm_sframes_t _write_all(struct cr_talk_s *t, const int16_t *pcm, int64_t *anchor, int64_t *written)
{
	int left = CR_TALK_BLOCK, recovers = 0;
	int64_t until = cr_deadline_ns(500);
	while (left > 0 && atomic_load(&t->running)) {
		snd_pcm_sframes_t n = snd_pcm_writei(t->pcm, pcm + (CR_TALK_BLOCK - left) * t->channels,
						     (snd_pcm_uframes_t)left);
		if (n == -EAGAIN) {
			if (cr_ms_left(until) == 0)
				return -ETIMEDOUT;
			snd_pcm_wait(t->pcm, cr_ms_left(until));
			continue;
		}
		if ((n == -EPIPE || n == -ESTRPIPE) && ++recovers < 10) {
			pthread_mutex_lock(&t->lock);
			t->underruns++;
			pthread_mutex_unlock(&t->lock);
			*anchor = cr_now_ns();
			*written = 0;
			if (snd_pcm_recover(t->pcm, (int)n, 1) == 0)
				continue;
		}
		if (n < 0)
			return n;
		left -= (int)n;
	}
	return CR_TALK_BLOCK;
}

/* Writes one block; false when the device failed (then closed). */
static bool _write(struct cr_talk_s *t, const int16_t *pcm, int64_t *anchor, int64_t *written)
{
	snd_pcm_sframes_t n = _write_all(t, pcm, anchor, written);
	if (n < 0) {
		char err[256];
		_fail(t, (int)n, n == -ENODEV ? "gone (unplugged?)" : n == -ETIMEDOUT ? "takes no sound" : "write failed", err,
		      sizeof(err));
		CR_LOG_W("audio", "stream %s talk-back: %s; reopening each second", t->stream, err);
		_set_message(t, err);
		snd_pcm_close(t->pcm);
		t->pcm = NULL;
		return false;
	}
	*written += (int64_t)CR_TALK_BLOCK * 1000000000LL / CR_TALK_RATE;
	int64_t ahead = *anchor + *written - cr_now_ns() - _AHEAD_NS;
	if (ahead > 0)
		cr_sleep_until_ns(cr_now_ns() + ahead);
	return true;
}

static void *_run(void *arg)
{
	struct cr_talk_s *t = arg;
	int16_t pcm[CR_TALK_BLOCK * 2];
	int64_t anchor = cr_now_ns(), written = 0;
	while (atomic_load(&t->running)) {
		if (!t->pcm) {
			char err[256];
			cr_sleep_until_ns(cr_deadline_ns(1000));
			if (atomic_load(&t->running) && _open(t, &t->pcm, err, sizeof(err)) < 0)
				_set_message(t, err);
			anchor = cr_now_ns();
			written = 0;
			continue;
		}
		int64_t arrival = 0;
		pthread_mutex_lock(&t->lock);
		cr_talk_jb_pull(t->jb, pcm, &arrival);
		pthread_mutex_unlock(&t->lock);
		if (arrival) {
			snd_pcm_sframes_t d = 0;
			if (snd_pcm_delay(t->pcm, &d) < 0 || d < 0)
				d = 0;
			cr_latency_add_ns(&t->delay, cr_now_ns() + (int64_t)d * 1000000000LL / CR_TALK_RATE - arrival);
		}
		_write(t, pcm, &anchor, &written);
	}
	if (t->pcm) {
		snd_pcm_drop(t->pcm);
		snd_pcm_close(t->pcm);
		t->pcm = NULL;
	}
	return NULL;
}

struct cr_talk_s *cr_talk_new(const char *stream, const char *device, int channels)
{
	struct cr_talk_s *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->jb = cr_talk_jb_new(channels);
	if (!t->jb) {
		free(t);
		return NULL;
	}
	snprintf(t->stream, sizeof(t->stream), "%s", stream);
	snprintf(t->device, sizeof(t->device), "%s", device);
	t->channels = channels == 2 ? 2 : 1;
	pthread_mutex_init(&t->lock, NULL);
	cr_latency_init(&t->delay);
	return t;
}

int cr_talk_claim(struct cr_talk_s *t, const char *talker, char *err, size_t errlen)
{
	if (t->talker[0]) {
		snprintf(err, errlen, "viewer %s is talking on stream %s (one talker at a time)", t->talker, t->stream);
		t->refused++;
		return -EBUSY;
	}
	snd_pcm_t *pcm = NULL;
	int rc = _open(t, &pcm, err, errlen);
	pthread_mutex_lock(&t->lock);
	if (rc < 0) {
		t->refused++;
		t->device_errors++;
		snprintf(t->message, sizeof(t->message), "%s", err);
		pthread_mutex_unlock(&t->lock);
		return rc;
	}
	cr_talk_jb_reset(t->jb);
	snprintf(t->talker, sizeof(t->talker), "%s", talker);
	t->message[0] = '\0';
	t->talkers++;
	pthread_mutex_unlock(&t->lock);
	t->pcm = pcm;
	atomic_store(&t->running, true);
	if (pthread_create(&t->thread, NULL, _run, t) != 0) {
		atomic_store(&t->running, false);
		snd_pcm_close(pcm);
		t->pcm = NULL;
		t->talker[0] = '\0';
		snprintf(err, errlen, "cannot start the playback thread");
		return -EAGAIN;
	}
	t->started = true;
	CR_LOG_I("audio", "stream %s talk-back: viewer %s talks on %s", t->stream, talker, t->device);
	return 0;
}

void cr_talk_refused(struct cr_talk_s *t) { t->refused++; }

void cr_talk_release(struct cr_talk_s *t, const char *talker)
{
	if (!t || !t->talker[0] || strcmp(t->talker, talker) != 0)
		return;
	atomic_store(&t->running, false);
	if (t->started)
		pthread_join(t->thread, NULL); /* closes the device */
	t->started = false;
	pthread_mutex_lock(&t->lock);
	t->talker[0] = '\0';
	cr_talk_jb_reset(t->jb);
	pthread_mutex_unlock(&t->lock);
	CR_LOG_I("audio", "stream %s talk-back: viewer %s left; %s is free", t->stream, talker, t->device);
}

void cr_talk_rtp(struct cr_talk_s *t, const uint8_t *pkt, size_t len, int pt)
{
	int64_t now = cr_now_ns();
	pthread_mutex_lock(&t->lock);
	if (t->talker[0])
		cr_talk_jb_push(t->jb, pkt, len, pt, now);
	pthread_mutex_unlock(&t->lock);
}

void cr_talk_status(struct cr_talk_s *t, struct cr_talk_status_s *st)
{
	struct cr_talk_jb_stats_s j;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&t->lock);
	cr_talk_jb_stats(t->jb, &j);
	snprintf(st->device, sizeof(st->device), "%s", t->device);
	snprintf(st->talker, sizeof(st->talker), "%s", t->talker);
	snprintf(st->message, sizeof(st->message), "%s", t->message);
	st->talkers = t->talkers;
	st->refused = t->refused;
	st->underruns = t->underruns;
	st->device_errors = t->device_errors;
	pthread_mutex_unlock(&t->lock);
	st->packets = j.packets;
	st->bytes = j.bytes;
	st->bad = j.bad;
	st->late = j.late;
	st->dropped = j.dropped;
	st->decoded = j.decoded;
	st->fec = j.fec;
	st->concealed = j.concealed;
	st->level_dbfs = st->talker[0] ? j.level_dbfs : -100;
	st->delay_p50_ms = cr_latency_percentile(&t->delay, 50) / 1000.0;
	st->delay_p99_ms = cr_latency_percentile(&t->delay, 99) / 1000.0;
}

void cr_talk_free(struct cr_talk_s *t)
{
	if (!t)
		return;
	if (t->talker[0])
		cr_talk_release(t, t->talker);
	cr_talk_jb_free(t->jb);
	cr_latency_destroy(&t->delay);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The module's table (talk.h): the core's audio/alsa_module.c forwards. */
static void *_create(const char *stream, const char *device, int channels)
{
	return cr_talk_new(stream, device, channels);
}

static void _destroy(void *t) { cr_talk_free(t); }
static int _claim(void *t, const char *talker, char *err, size_t errlen) { return cr_talk_claim(t, talker, err, errlen); }
static void _refused(void *t) { cr_talk_refused(t); }
static void _release(void *t, const char *talker) { cr_talk_release(t, talker); }
static void _rtp(void *t, const uint8_t *pkt, size_t len, int pt) { cr_talk_rtp(t, pkt, len, pt); }
static void _status(void *t, struct cr_talk_status_s *st) { cr_talk_status(t, st); }

CR_MODULE_EXPORT const struct cr_talk_ops_s cr_talk_alsa = {
	.create = _create,
	.destroy = _destroy,
	.claim = _claim,
	.refused = _refused,
	.release = _release,
	.rtp = _rtp,
	.status = _status,
};
