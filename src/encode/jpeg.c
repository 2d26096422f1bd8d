/* MJPEG encoder: libjpeg-turbo from the frame's own layout (I420, NV12,
 * YUYV, YVYU, UYVY: converted 16 rows at a time, cr_jpeg_encode, so no
 * I420 copy of the frame) into a reusable buffer, then one right-sized
 * packet per frame (a JPEG is ~2% of the raw frame, so sizing the packet for
 * the worst case would cost a raw-frame allocation per frame; the buffer's
 * untouched pages are not resident). JPEGs are full range: a limited-range
 * frame (cameras, the test source) is expanded on the way, one pass counted
 * in bytes_copied; a camera's own JPEGs never come here (the stream passes
 * them through). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "core/stats.h"
#include "encode/encoder.h"

struct _jpeg_s {
	struct cr_jpeg_enc_s *tj;
	uint8_t *buf;
	size_t cap;
};

static int _jpeg_open(struct cr_encoder_s *enc)
{
	struct _jpeg_s *j = calloc(1, sizeof(*j));
	if (!j || !(j->tj = cr_jpeg_enc_new())) {
		free(j);
		snprintf(enc->error, sizeof(enc->error), "libjpeg-turbo: cannot create a compressor");
		return -ENOMEM;
	}
	enc->priv = j;
	enc->in_format = CR_PIXFMT_YUV420;
	return 0;
}

static int _jpeg_encode(struct cr_encoder_s *enc, struct cr_frame_s *f)
{
	struct _jpeg_s *j = enc->priv;
	/* Worst case for a 4:2:0 JPEG is below the raw I420 size plus headers. */
	size_t cap = cr_pixfmt_frame_size(CR_PIXFMT_YUV420, f->width, f->height) + 65536;
	if (j->cap < cap) {
		free(j->buf);
		j->buf = malloc(cap);
		j->cap = j->buf ? cap : 0;
		if (!j->buf)
			return -ENOMEM;
	}
	int q = enc->cfg.quality > 0 ? enc->cfg.quality : 80;
	size_t expanded;
	long len = cr_jpeg_encode(j->tj, f, q, j->buf, j->cap, &expanded);
	if (expanded && enc->stats)
		atomic_fetch_add(&enc->stats->bytes_copied, expanded);
	if (len < 0) {
		snprintf(enc->error, sizeof(enc->error), "libjpeg-turbo: compression failed");
		return (int)len;
	}
	struct cr_packet_s *pkt = cr_packet_new(CR_CODEC_MJPEG, (size_t)len);
	if (!pkt)
		return -ENOMEM;
	memcpy(pkt->data, j->buf, (size_t)len);
	pkt->flags = CR_PACKET_KEYFRAME;
	pkt->width = f->width;
	pkt->height = f->height;
	pkt->seq = f->seq;
	pkt->ts_capture_ns = f->ts_capture_ns;
	pkt->pts = pkt->dts = f->ts_capture_ns * 9 / 100000;
	enc->emit(enc, pkt);
	cr_packet_unref(pkt);
	return 0;
}

static void _jpeg_close(struct cr_encoder_s *enc)
{
	struct _jpeg_s *j = enc->priv;
	if (!j)
		return;
	cr_jpeg_enc_destroy(j->tj);
	free(j->buf);
	free(j);
	enc->priv = NULL;
}

const struct cr_encoder_ops_s cr_encoder_jpeg = {
	.name = "jpeg",
	.codecs = (const enum cr_codec_e[]){CR_CODEC_MJPEG, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NV12, CR_PIXFMT_YUYV, CR_PIXFMT_YVYU,
					     CR_PIXFMT_UYVY, CR_PIXFMT_NONE},
	.open = _jpeg_open,
	.encode = _jpeg_encode,
	.close = _jpeg_close,
};
