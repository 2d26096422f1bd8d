/* What the payloaders share: the RTP header and dispatch by codec. */
#include "rtp/rtp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"

void cr_rtp_init(struct cr_rtp_s *r, enum cr_codec_e codec, uint8_t pt, uint32_t ssrc,
		 uint16_t first_seq)
{
	memset(r, 0, offsetof(struct cr_rtp_s, buf));
	r->codec = codec;
	r->pt = pt;
	r->ssrc = ssrc;
	r->seq = first_seq;
	r->max_payload = CR_RTP_DEFAULT_PAYLOAD;
	r->picture_id = first_seq & 0x7fff;
}

void cr_rtp_send(struct cr_rtp_s *r, size_t len, uint32_t ts, bool marker)
{
	uint8_t *h = r->buf;
	h[0] = 0x80;
	h[1] = (uint8_t)((marker ? 0x80 : 0) | (r->pt & 0x7f));
	h[2] = (uint8_t)(r->seq >> 8);
	h[3] = (uint8_t)r->seq;
	h[4] = (uint8_t)(ts >> 24);
	h[5] = (uint8_t)(ts >> 16);
	h[6] = (uint8_t)(ts >> 8);
	h[7] = (uint8_t)ts;
	h[8] = (uint8_t)(r->ssrc >> 24);
	h[9] = (uint8_t)(r->ssrc >> 16);
	h[10] = (uint8_t)(r->ssrc >> 8);
	h[11] = (uint8_t)r->ssrc;
	r->seq++;
	r->packets++;
	r->octets += (uint32_t)len;
	r->last_ts = ts;
	if (r->emit)
		r->emit(r->opaque, r->buf, CR_RTP_HEADER + len);
}

const enum cr_codec_e cr_rtp_codecs[] = {CR_CODEC_H264, CR_CODEC_H265, CR_CODEC_VP8, CR_CODEC_VP9, CR_CODEC_AV1,
					   CR_CODEC_NONE};

bool cr_rtp_supported(enum cr_codec_e codec)
{
	for (const enum cr_codec_e *c = cr_rtp_codecs; *c; c++)
		if (*c == codec)
			return true;
	return false;
}

const char *cr_rtp_encoding_name(enum cr_codec_e codec)
{
	switch (codec) {
	case CR_CODEC_H264: return "H264";
	case CR_CODEC_H265: return "H265";
	case CR_CODEC_VP8: return "VP8";
	case CR_CODEC_VP9: return "VP9";
	case CR_CODEC_AV1: return "AV1";
	case CR_CODEC_MJPEG: return "JPEG";
	default: return NULL;
	}
}

int cr_rtp_payload(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts,
		   bool keyframe, int width, int height)
{
	if (!data || size == 0)
		return -EINVAL;
	if (r->max_payload < 64 || r->max_payload > CR_RTP_MAX_PACKET - CR_RTP_HEADER)
		r->max_payload = CR_RTP_DEFAULT_PAYLOAD;
	r->width = width;
	r->height = height;
	switch (r->codec) {
	case CR_CODEC_H264: return cr_rtp_h264(r, data, size, ts);
	case CR_CODEC_H265: return cr_rtp_h265(r, data, size, ts);
	case CR_CODEC_VP8: return cr_rtp_vp8(r, data, size, ts, keyframe);
	case CR_CODEC_VP9: return cr_rtp_vp9(r, data, size, ts, keyframe);
	case CR_CODEC_AV1: return cr_rtp_av1(r, data, size, ts, keyframe);
	case CR_CODEC_MJPEG: return cr_rtp_jpeg(r, data, size, ts);
	default: return -ENOTSUP;
	}
}

int cr_nal_type(enum cr_codec_e codec, const uint8_t *nal)
{
	return codec == CR_CODEC_H265 ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;
}

size_t cr_annexb_param_sets(enum cr_codec_e codec, const uint8_t *data, size_t size, uint8_t *out, size_t cap)
{
	if (codec != CR_CODEC_H264 && codec != CR_CODEC_H265)
		return 0;
	const uint8_t *p = data, *end = data + size, *nal;
	size_t n, off = 0;
	while ((nal = cr_annexb_next(&p, end, &n))) {
		if (n < 2)
			continue;
		int t = cr_nal_type(codec, nal);
		bool ps = codec == CR_CODEC_H265 ? t >= 32 && t <= 34 : t == 7 || t == 8;
		if (!ps)
			continue;
		if (off + 4 + n > cap)
			return 0;
		memcpy(out + off, "\0\0\0\1", 4);
		memcpy(out + off + 4, nal, n);
		off += 4 + n;
	}
	return off;
}

/* The first 00 00 01 at or after s, or NULL. memchr for the 01 (vectorised
 * in libc) instead of a byte loop: every WHEP viewer's payloader scans each
 * frame, and the byte loop was a sixth of the send loop's time at 100
 * viewers. */
static const uint8_t *_start_code(const uint8_t *s, const uint8_t *end)
{
	if (end - s < 3)
		return NULL;
	for (const uint8_t *k = s + 2; k < end; k++) {
		k = memchr(k, 1, (size_t)(end - k));
		if (!k)
			return NULL;
		if (k[-1] == 0 && k[-2] == 0)
			return k - 2;
	}
	return NULL;
}

const uint8_t *cr_annexb_next(const uint8_t **p, const uint8_t *end, size_t *nal_size)
{
	/* A 4-byte start code ends in the same 00 00 01. */
	const uint8_t *s = _start_code(*p, end);
	if (!s)
		return NULL;
	const uint8_t *nal = s + 3, *q = _start_code(nal, end);
	if (!q)
		q = end;
	*p = q;
	/* Trailing zero bytes belong to the next start code (or are padding). */
	const uint8_t *e = q;
	while (e > nal && e[-1] == 0)
		e--;
	*nal_size = (size_t)(e - nal);
	return nal;
}

bool cr_rtp_stream_encoder(const struct cr_stream_cfg_s *s, enum cr_codec_e fallback,
			   struct cr_encoder_cfg_s *out)
{
	const struct cr_encoder_cfg_s *e = s->n_sources > 0 ? &s->sources[0].encoder : NULL;
	if (e && e->present && cr_rtp_supported(e->codec)) {
		*out = *e;
		if (!out->backend[0])
			snprintf(out->backend, sizeof(out->backend), "software");
		return true;
	}
	memset(out, 0, sizeof(*out));
	out->present = true;
	out->codec = fallback;
	snprintf(out->backend, sizeof(out->backend), "software");
	if (fallback == CR_CODEC_H264) {
		/* Constrained baseline 3.1: what every browser decodes. */
		snprintf(out->profile, sizeof(out->profile), "baseline");
		out->profile_idc = 66;
		out->constraint_flags = 0xe0;
		out->level_idc = 31;
	}
	return false;
}
