/* The audio payloaders passed-through tracks go out in (src/rtp/g711.c,
 * aac.c, audio.c): G.711 bytes as they are at PT 0/8 (8 kHz mono) or
 * 98/99 (any other rate or channels), split past a payload at whole
 * samples of every channel, the timestamp counting bytes / channels;
 * AAC-hbr's AU-headers (RFC 3640: 16-bit length, 13-bit size, 3-bit
 * index) and fragments of a long access unit (each with the whole AU's
 * size, the marker on the last). */
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "rtp/rtp.h"
#include "tests/check.h"

struct _pkt_s {
	uint8_t b[CR_RTP_MAX_PACKET];
	size_t len;
};
static struct _pkt_s _got[16];
static int _n;

static void _emit(void *opaque, uint8_t *pkt, size_t len)
{
	(void)opaque;
	if (_n < 16) {
		memcpy(_got[_n].b, pkt, len);
		_got[_n++].len = len;
	}
}

static uint32_t _ts(const uint8_t *p) { return (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | p[6] << 8 | p[7]; }

/* A payloader collecting into _got, and n bytes of a pattern. */
static void _setup(struct cr_rtp_s *r, uint8_t *buf, size_t n, int mul)
{
	cr_rtp_init(r, CR_CODEC_NONE, CR_RTP_OPUS_PT, 1, 1);
	r->emit = _emit;
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * (size_t)mul + 1);
}

static void test_g711(void)
{
	struct cr_rtp_s r;
	uint8_t pcm[3000];
	_setup(&r, pcm, sizeof(pcm), 7);
	_n = 0;
	CHECK(cr_rtp_audio(&r, CR_AUDIO_PCMU, 8000, 1, pcm, 160, 1000, true) == 1, "one packet");
	CHECK(_n == 1 && _got[0].len == 12 + 160 && (_got[0].b[1] & 0x7f) == 0 && (_got[0].b[1] & 0x80) &&
		      memcmp(_got[0].b + 12, pcm, 160) == 0 && _ts(_got[0].b) == 1000,
	      "PCMU: PT 0, marker, the bytes as they are");
	_n = 0;
	int k = cr_rtp_audio(&r, CR_AUDIO_PCMA, 8000, 1, pcm, sizeof(pcm), 5000, false);
	size_t total = 0;
	for (int i = 0; i < _n; i++) {
		CHECK((_got[i].b[1] & 0x7f) == 8 && !(_got[i].b[1] & 0x80), "PCMA: PT 8, no marker");
		CHECK(_ts(_got[i].b) == 5000 + total, "packet %d: ts counts bytes (%u)", i, _ts(_got[i].b));
		CHECK(memcmp(_got[i].b + 12, pcm + total, _got[i].len - 12) == 0, "packet %d: bytes", i);
		total += _got[i].len - 12;
	}
	CHECK(k == 3 && _n == 3 && total == sizeof(pcm), "3000 bytes in %d packets (%zu)", _n, total);
	CHECK(cr_rtp_audio(&r, CR_AUDIO_PCMU, 8000, 1, pcm, 0, 0, false) < 0, "empty refused");
	/* 16 kHz stereo: not RFC 3551's PT 0 (8 kHz mono) but the dynamic type;
	 * the timestamp counts sampling instants (bytes / 2); a split keeps
	 * each instant's two bytes together. */
	_n = 0;
	k = cr_rtp_audio(&r, CR_AUDIO_PCMU, 16000, 2, pcm, 2 * 1000, 9000, true);
	total = 0;
	for (int i = 0; i < _n; i++) {
		CHECK((_got[i].b[1] & 0x7f) == CR_RTP_PCMU_DYN_PT && !!(_got[i].b[1] & 0x80) == (i == 0),
		      "PCMU/16000/2: PT %d, marker on the first", CR_RTP_PCMU_DYN_PT);
		CHECK((_got[i].len - 12) % 2 == 0, "packet %d: whole stereo samples (%zu bytes)", i, _got[i].len - 12);
		CHECK(_ts(_got[i].b) == 9000 + total / 2, "packet %d: ts counts bytes / 2 (%u)", i, _ts(_got[i].b));
		CHECK(memcmp(_got[i].b + 12, pcm + total, _got[i].len - 12) == 0, "packet %d: bytes", i);
		total += _got[i].len - 12;
	}
	CHECK(k == 2 && total == 2000, "2000 bytes in %d packets (%zu)", k, total);
	CHECK(cr_rtp_audio(&r, CR_AUDIO_PCMA, 16000, 1, pcm, 160, 0, false) == 1 &&
		      (_got[_n - 1].b[1] & 0x7f) == CR_RTP_PCMA_DYN_PT,
	      "PCMA/16000/1: PT %d", CR_RTP_PCMA_DYN_PT);
	CHECK(cr_rtp_audio_pt(CR_AUDIO_PCMA, 8000, 2) == CR_RTP_PCMA_DYN_PT &&
		      cr_rtp_audio_pt(CR_AUDIO_PCMU, 8000, 1) == 0 && cr_rtp_audio_pt(CR_AUDIO_PCMA, 8000, 1) == 8,
	      "8 kHz stereo dynamic, 8 kHz mono static");
	CHECK(cr_rtp_audio(&r, CR_AUDIO_PCMU, 8000, 2, pcm, 161, 0, false) < 0, "half a stereo sample refused");
}

static void test_aac(void)
{
	struct cr_rtp_s r;
	uint8_t au[3000];
	_setup(&r, au, sizeof(au), 13);
	_n = 0;
	CHECK(cr_rtp_audio(&r, CR_AUDIO_AAC, 44100, 2, au, 371, 44100, false) == 1, "one AU, one packet");
	const uint8_t *p = _got[0].b;
	CHECK(_n == 1 && (p[1] & 0x7f) == CR_RTP_AAC_PT && (p[1] & 0x80) && _got[0].len == 12 + 4 + 371,
	      "PT 97, marker, 4 header bytes");
	CHECK(p[12] == 0 && p[13] == 16 && ((p[14] << 8 | p[15]) >> 3) == 371 && (p[15] & 7) == 0 &&
		      memcmp(p + 16, au, 371) == 0,
	      "AU-headers-length 16, AU-size 371, index 0, the AU");
	_n = 0;
	CHECK(cr_rtp_audio(&r, CR_AUDIO_AAC, 44100, 2, au, sizeof(au), 7, false) == 3, "3000 bytes: 3 fragments");
	size_t total = 0;
	for (int i = 0; i < _n; i++) {
		p = _got[i].b;
		CHECK(((p[14] << 8 | p[15]) >> 3) == 3000 && _ts(p) == 7, "fragment %d: the whole AU's size, one ts", i);
		CHECK(!!(p[1] & 0x80) == (i == _n - 1), "fragment %d: marker on the last only", i);
		CHECK(memcmp(p + 16, au + total, _got[i].len - 16) == 0, "fragment %d: bytes", i);
		total += _got[i].len - 16;
	}
	CHECK(total == sizeof(au), "all of it (%zu)", total);
	uint8_t big[8192] = {0};
	CHECK(cr_rtp_aac(&r, big, sizeof(big), 0) < 0, "an AU past 13 bits of size refused");
}

int main(void)
{
	test_g711();
	test_aac();
	return failures ? 1 : 0;
}
