/* The test audio source: a sine tone (`tone` Hz, -26 dBFS) that beeps
 * (-6 dBFS) for the first 100 ms of each whole second of CLOCK_MONOTONIC,
 * in 20 ms blocks paced by that clock. The test video source flashes on the
 * same seconds (source/test.c, `flash`), so a recording shows how far apart
 * sound and picture arrive: tests/e2e/av_sync.py measures it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "audio/audio.h"
#include "core/clock.h"

#define _BLOCK_NS 20000000LL
#define _BEEP_NS 100000000LL

struct _tone_s {
	int64_t next_ns; /* capture time of the next block's first sample */
	uint64_t n;      /* samples made: the sine's phase */
};

static int _tone_open(struct cr_audio_source_s *src)
{
	struct _tone_s *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(src->error, sizeof(src->error), "out of memory");
		return -ENOMEM;
	}
	/* Blocks start on 20 ms boundaries of the clock, so each beep starts a block. */
	t->next_ns = (cr_now_ns() / _BLOCK_NS + 1) * _BLOCK_NS;
	snprintf(src->device_path, sizeof(src->device_path), "test tone %d Hz", src->cfg->tone);
	src->priv = t;
	return 0;
}

static int _tone_read(struct cr_audio_source_s *src, int16_t *pcm, int64_t *ts_ns, int timeout_ms)
{
	struct _tone_s *t = src->priv;
	const struct cr_audio_cfg_s *cfg = src->cfg;
	int64_t until = cr_deadline_ns(timeout_ms);
	/* A block is ready when its last sample has been "recorded". */
	if (t->next_ns + _BLOCK_NS > until) {
		cr_sleep_until_ns(until);
		return 0;
	}
	cr_sleep_until_ns(t->next_ns + _BLOCK_NS);
	/* Behind by more than two blocks (a stall): skip ahead rather than burst. */
	if (cr_now_ns() > t->next_ns + 3 * _BLOCK_NS)
		t->next_ns = cr_now_ns() / _BLOCK_NS * _BLOCK_NS - _BLOCK_NS;
	double w = 2.0 * M_PI * cfg->tone / cfg->rate;
	for (int i = 0; i < src->frames; i++, t->n++) {
		int64_t at = t->next_ns + (int64_t)i * 1000000000LL / cfg->rate;
		double amp = at % 1000000000LL < _BEEP_NS ? 0.5 : 0.05;
		int16_t v = (int16_t)lrint(amp * 32767.0 * sin(w * (double)(t->n % (uint64_t)cfg->rate)));
		for (int c = 0; c < cfg->channels; c++)
			pcm[i * cfg->channels + c] = v;
	}
	*ts_ns = t->next_ns;
	t->next_ns += _BLOCK_NS;
	return 1;
}

static void _tone_close(struct cr_audio_source_s *src)
{
	free(src->priv);
	src->priv = NULL;
}

const struct cr_audio_ops_s cr_audio_test = {
	.name = "test",
	.tone = true,
	.open = _tone_open,
	.read = _tone_read,
	.close = _tone_close,
};
