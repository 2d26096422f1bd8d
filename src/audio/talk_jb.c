/* Talk-back's playout buffer: RTP/Opus in by sequence number, 20 ms blocks
 * out on the playback device's clock (talk_jb.h).
 *
 * Hand-written (a fixed, small buffer is all one talker needs; speexdsp's
 * adaptive jitter buffer would add a library for less control over the
 * latency): playing starts once _TARGET packets (40 ms of 20 ms packets) are
 * in; a missing packet is rebuilt from the next one's in-band FEC when that
 * one is already here, else concealed by Opus (PLC); when nothing at all is
 * buffered the block is concealed without moving on (the packet may only be
 * late), and after _MAX_CONCEAL such blocks the talker is taken to have
 * stopped: silence until the buffer fills again. A buffer held deeper than
 * _MAX_DEPTH (a burst, or a talker whose clock runs fast) skips ahead to
 * _TARGET, so the delay stays bounded.
 *
 * The RTP header is parsed here (RFC 3550: version, CSRCs, extension,
 * padding); every length is checked before use and each payload must be a
 * valid Opus packet (opus_packet_get_nb_samples) of at most 120 ms, so a
 * hostile viewer's packets are refused and counted, never decoded blindly.
 * Fuzzed by tests/fuzz/fuzz_talk.c. */
#include "audio/talk_jb.h"

#include <errno.h>
#include <math.h>
#include <opus/opus.h>
#include <stdlib.h>
#include <string.h>

#define _SLOTS 32
#define _TARGET 2       /* packets buffered before playing starts */
#define _MAX_DEPTH 8    /* more waiting than this: skip ahead to _TARGET */
#define _MAX_CONCEAL 5  /* blocks concealed with nothing buffered before it counts as stopped */
#define _MAX_FRAME 5760 /* 120 ms at 48 kHz: Opus's longest packet */

struct _slot_s {
	bool used;
	uint16_t seq;
	uint16_t len;
	int64_t arrival_ns;
	uint8_t data[CR_TALK_MAX_PAYLOAD];
};

struct cr_talk_jb_s {
	OpusDecoder *dec;
	int channels;
	struct _slot_s slots[_SLOTS];
	bool anchored, started;
	uint16_t next; /* the sequence number to play next */
	uint32_t ssrc;
	int16_t pcm[_MAX_FRAME * 2]; /* decoded, not yet pulled */
	int have, pos;               /* frames in pcm, frames pulled from it */
	int last_frames;             /* the last packet's length: what PLC and FEC rebuild */
	int conceal_run;
	struct cr_talk_jb_stats_s st;
};

struct cr_talk_jb_s *cr_talk_jb_new(int channels)
{
	struct cr_talk_jb_s *jb = calloc(1, sizeof(*jb));
	int err = 0;
	if (!jb)
		return NULL;
	jb->channels = channels == 2 ? 2 : 1;
	jb->dec = opus_decoder_create(CR_TALK_RATE, jb->channels, &err);
	if (!jb->dec || err != OPUS_OK) {
		free(jb);
		return NULL;
	}
	jb->last_frames = CR_TALK_BLOCK;
	jb->st.level_dbfs = -100;
	return jb;
}

void cr_talk_jb_free(struct cr_talk_jb_s *jb)
{
	if (!jb)
		return;
	opus_decoder_destroy(jb->dec);
	free(jb);
}

static void _clear(struct cr_talk_jb_s *jb)
{
	for (int i = 0; i < _SLOTS; i++)
		jb->slots[i].used = false;
	jb->anchored = jb->started = false;
	jb->have = jb->pos = 0;
	jb->conceal_run = 0;
}

void cr_talk_jb_reset(struct cr_talk_jb_s *jb)
{
	_clear(jb);
	jb->ssrc = 0;
	jb->last_frames = CR_TALK_BLOCK;
	opus_decoder_ctl(jb->dec, OPUS_RESET_STATE);
}

/* The Opus payload of an RTP packet, or NULL. */
static const uint8_t *_payload(const uint8_t *p, size_t len, int pt, size_t *plen)
{
	if (len < 12 || (p[0] >> 6) != 2 || (p[1] & 0x7f) != pt)
		return NULL;
	size_t h = 12 + 4u * (p[0] & 0x0f);
	if (h > len)
		return NULL;
	if (p[0] & 0x10) { /* header extension: 4 bytes, then its length in words */
		if (h + 4 > len)
			return NULL;
		h += 4 + 4u * (size_t)((p[h + 2] << 8) | p[h + 3]);
		if (h > len)
			return NULL;
	}
	if (p[0] & 0x20) { /* padding: its count is the last byte */
		size_t pad = p[len - 1];
		if (pad == 0 || pad > len - h)
			return NULL;
		len -= pad;
	}
	*plen = len - h;
	return p + h;
}

int cr_talk_jb_push(struct cr_talk_jb_s *jb, const uint8_t *pkt, size_t len, int pt, int64_t now_ns)
{
	size_t plen = 0;
	const uint8_t *pl = _payload(pkt, len, pt, &plen);
	int frames = pl && plen && plen <= CR_TALK_MAX_PAYLOAD ? opus_packet_get_nb_samples(pl, (opus_int32)plen, CR_TALK_RATE) : -1;
	if (frames <= 0 || frames > _MAX_FRAME) {
		jb->st.bad++;
		return -EINVAL;
	}
	uint16_t seq = (uint16_t)((pkt[2] << 8) | pkt[3]);
	uint32_t ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
	if (jb->anchored && ssrc != jb->ssrc) { /* a new source: start over */
		_clear(jb);
		jb->st.restarts++;
	}
	int d = (int16_t)(uint16_t)(seq - jb->next);
	if (!jb->anchored || (!jb->started && d < 0 && d > -_SLOTS)) {
		jb->anchored = true; /* the earliest packet seen before playing starts */
		jb->next = seq;
		jb->ssrc = ssrc;
		d = 0;
	} else if (d < 0) {
		jb->st.late++;
		return 1;
	} else if (d >= _SLOTS) { /* far ahead: the talker jumped; start over from here */
		_clear(jb);
		jb->st.restarts++;
		jb->anchored = true;
		jb->next = seq;
		jb->ssrc = ssrc;
	}
	struct _slot_s *s = &jb->slots[seq % _SLOTS];
	if (s->used && s->seq == seq) {
		jb->st.late++; /* a duplicate */
		return 1;
	}
	s->used = true;
	s->seq = seq;
	s->len = (uint16_t)plen;
	s->arrival_ns = now_ns;
	memcpy(s->data, pl, plen);
	jb->st.packets++;
	jb->st.bytes += plen;
	return 0;
}

static bool _has(const struct cr_talk_jb_s *jb, uint16_t seq)
{
	const struct _slot_s *s = &jb->slots[seq % _SLOTS];
	return s->used && s->seq == seq;
}

static struct _slot_s *_at(struct cr_talk_jb_s *jb, uint16_t seq)
{
	return _has(jb, seq) ? &jb->slots[seq % _SLOTS] : NULL;
}

/* Packets waiting from next on (a slot left behind by a skip does not count). */
static int _depth(const struct cr_talk_jb_s *jb, uint16_t *first)
{
	int n = 0;
	for (int d = _SLOTS - 1; d >= 0; d--)
		if (_has(jb, (uint16_t)(jb->next + d))) {
			n++;
			*first = (uint16_t)(jb->next + d);
		}
	return n;
}

static void _take(struct cr_talk_jb_s *jb, struct _slot_s *s, uint64_t *count)
{
	if (s)
		s->used = false;
	if (count)
		(*count)++;
	jb->next++;
}

/* Decodes the next packet's worth into jb->pcm; its frames, 0 for silence.
 * *arrival_ns: the decoded packet's arrival (left alone otherwise). */
static int _next(struct cr_talk_jb_s *jb, int64_t *arrival_ns)
{
	uint16_t first = jb->next;
	int depth = jb->anchored ? _depth(jb, &first) : 0;
	if (!jb->started) {
		if (depth < _TARGET)
			return 0;
		jb->started = true;
		jb->next = first;
		jb->conceal_run = 0;
	}
	while (depth > _MAX_DEPTH) {
		struct _slot_s *s = _at(jb, jb->next);
		_take(jb, s, s ? &jb->st.dropped : NULL);
		depth -= s != NULL;
		if (depth <= _TARGET)
			break;
	}
	struct _slot_s *s = _at(jb, jb->next);
	int n;
	if (s) {
		n = opus_decode(jb->dec, s->data, s->len, jb->pcm, _MAX_FRAME, 0);
		*arrival_ns = s->arrival_ns;
		_take(jb, s, &jb->st.decoded);
		jb->conceal_run = 0;
		if (n > 0)
			jb->last_frames = n;
	} else if (depth == 0) {
		/* Nothing here: conceal, but wait for the packet (it may be late). */
		if (++jb->conceal_run > _MAX_CONCEAL) {
			_clear(jb);
			jb->st.restarts++;
			return 0;
		}
		n = opus_decode(jb->dec, NULL, 0, jb->pcm, jb->last_frames, 0);
		jb->st.concealed++;
	} else {
		struct _slot_s *after = _at(jb, (uint16_t)(jb->next + 1));
		if (after) { /* libopus conceals when the packet carries no FEC */
			n = opus_decode(jb->dec, after->data, after->len, jb->pcm, jb->last_frames, 1);
			_take(jb, NULL, &jb->st.fec);
		} else {
			n = opus_decode(jb->dec, NULL, 0, jb->pcm, jb->last_frames, 0);
			_take(jb, NULL, &jb->st.concealed);
		}
	}
	if (n < 0) { /* libopus refused a packet that parsed: silence for its length */
		jb->st.bad++;
		n = jb->last_frames;
		memset(jb->pcm, 0, sizeof(int16_t) * (size_t)n * (size_t)jb->channels);
	}
	return n;
}

bool cr_talk_jb_pull(struct cr_talk_jb_s *jb, int16_t *pcm, int64_t *arrival_ns)
{
	int filled = 0, ch = jb->channels;
	*arrival_ns = 0;
	bool sound = false;
	while (filled < CR_TALK_BLOCK) {
		if (jb->pos >= jb->have) {
			jb->pos = 0;
			int64_t at = 0;
			jb->have = _next(jb, &at);
			if (filled == 0)
				*arrival_ns = at;
			if (jb->have <= 0) {
				jb->have = 0;
				memset(pcm + filled * ch, 0, sizeof(int16_t) * (size_t)(CR_TALK_BLOCK - filled) * (size_t)ch);
				break;
			}
		}
		int k = jb->have - jb->pos < CR_TALK_BLOCK - filled ? jb->have - jb->pos : CR_TALK_BLOCK - filled;
		memcpy(pcm + filled * ch, jb->pcm + jb->pos * ch, sizeof(int16_t) * (size_t)k * (size_t)ch);
		jb->pos += k;
		filled += k;
		sound = true;
	}
	if (!sound) {
		jb->st.silent++;
		jb->st.level_dbfs = -100;
		return false;
	}
	double sum = 0;
	for (int i = 0; i < CR_TALK_BLOCK * ch; i++)
		sum += (double)pcm[i] * pcm[i];
	double rms = sqrt(sum / (CR_TALK_BLOCK * ch)) / 32768.0;
	jb->st.level_dbfs = rms > 1e-5 ? 20 * log10(rms) : -100;
	return true;
}

void cr_talk_jb_stats(const struct cr_talk_jb_s *jb, struct cr_talk_jb_stats_s *st)
{
	*st = jb->st;
	uint16_t first;
	st->depth = jb->anchored ? _depth(jb, &first) : 0;
}
