/* MJPEG encoder: libjpeg-turbo from I420, straight into the packet. */
#include <errno.h>
#include <stdio.h>

#include "convert/convert.h"
#include "encode/encoder.h"

static int _jpeg_open(struct cr_encoder_s *enc)
{
	enc->priv = cr_jpeg_enc_new();
	if (!enc->priv) {
		snprintf(enc->error, sizeof(enc->error), "libjpeg-turbo: cannot create a compressor");
		return -ENOMEM;
	}
	enc->in_format = CR_PIXFMT_YUV420;
	return 0;
}

static int _jpeg_encode(struct cr_encoder_s *enc, struct cr_frame_s *f)
{
	/* Worst case for a JPEG of an I420 frame is below the raw size plus headers. */
	size_t cap = cr_pixfmt_frame_size(CR_PIXFMT_YUV420, f->width, f->height) + 65536;
	struct cr_packet_s *pkt = cr_packet_new(CR_CODEC_MJPEG, cap);
	if (!pkt)
		return -ENOMEM;
	int q = enc->cfg.quality > 0 ? enc->cfg.quality : 80;
	long len = cr_jpeg_encode_i420(enc->priv, f, q, pkt->data, cap);
	if (len < 0) {
		snprintf(enc->error, sizeof(enc->error), "libjpeg-turbo: compression failed");
		cr_packet_unref(pkt);
		return (int)len;
	}
	pkt->size = (size_t)len;
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
	cr_jpeg_enc_destroy(enc->priv);
	enc->priv = NULL;
}

const struct cr_encoder_ops_s cr_encoder_jpeg = {
	.name = "jpeg",
	.codecs = (const enum cr_codec_e[]){CR_CODEC_MJPEG, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	.open = _jpeg_open,
	.encode = _jpeg_encode,
	.close = _jpeg_close,
};
