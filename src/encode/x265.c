/* H.265 software encoder: x265 with tune zerolatency (one frame thread, no
 * B-frames, no lookahead), Annex-B, VPS/SPS/PPS repeated on every IDR. Built
 * as the module camrelay-x265.so (core/module.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <x265.h>

#include "core/module.h"
#include "encode/sw.h"

#define _X265_RING 64

struct _x265_s {
	x265_encoder *h;
	x265_param *param;
	x265_picture pic, out;
	bool force_idr;
	int64_t last_pts;
	uint64_t n;
	struct {
		uint64_t seq;
		int64_t ts_capture_ns;
	} ring[_X265_RING];
};

static bool _x265_is_param_set(uint32_t type)
{
	return type == NAL_UNIT_VPS || type == NAL_UNIT_SPS || type == NAL_UNIT_PPS;
}

static void _x265_set_rate(x265_param *p, int64_t bps)
{
	int kbps = _sw_kbps(bps);
	p->rc.rateControlMode = X265_RC_ABR;
	p->rc.bitrate = kbps;
	p->rc.vbvMaxBitrate = kbps;
	p->rc.vbvBufferSize = kbps / 2 > 1 ? kbps / 2 : 1; /* as x264.c: half a second */
}

static void _x265_close(struct cr_encoder_s *enc)
{
	struct _x265_s *x = enc->priv;
	if (!x)
		return;
	if (x->h)
		x265_encoder_close(x->h);
	if (x->param)
		x265_param_free(x->param);
	free(x);
	enc->priv = NULL;
}

static int _x265_open(struct cr_encoder_s *enc)
{
	struct _x265_s *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	enc->priv = x;
	int speed = _sw_speed(enc);
	if (speed < 0) {
		snprintf(enc->error, sizeof(enc->error), "x265: unknown preset \"%s\" (allowed: %s)",
			 _sw_preset(enc), _SW_PRESETS);
		goto error;
	}
	x265_param *p = x->param = x265_param_alloc();
	if (!p || x265_param_default_preset(p, _sw_speed_name(speed), "zerolatency") < 0) {
		snprintf(enc->error, sizeof(enc->error), "x265: preset %s rejected", _sw_speed_name(speed));
		goto error;
	}
	p->logLevel = X265_LOG_ERROR; /* x265 writes to stderr itself: errors only */
	p->internalCsp = X265_CSP_I420;
	p->sourceWidth = enc->width;
	p->sourceHeight = enc->height;
	p->fpsNum = (uint32_t)(enc->fps_num > 0 ? enc->fps_num : 30);
	p->fpsDenom = (uint32_t)(enc->fps_num > 0 && enc->fps_den > 0 ? enc->fps_den : 1);
	p->keyframeMax = _sw_gop(enc);
	p->keyframeMin = _sw_gop(enc);
	p->scenecutThreshold = 0;
	p->bOpenGOP = 0;
	p->bRepeatHeaders = 1;
	p->bAnnexB = 1;
	_x265_set_rate(p, _sw_bitrate(enc));
	x->h = x265_encoder_open(p);
	if (!x->h) {
		snprintf(enc->error, sizeof(enc->error),
			 "x265: cannot open the encoder at %dx%d (x265 wrote why on stderr)",
			 enc->width, enc->height);
		goto error;
	}
	x265_picture_init(p, &x->pic);
	x265_picture_init(p, &x->out);
	x->last_pts = INT64_MIN;
	enc->in_format = CR_PIXFMT_YUV420;

	x265_nal *nals;
	uint32_t n;
	enc->extradata_size = 0;
	if (x265_encoder_headers(x->h, &nals, &n) >= 0)
		for (uint32_t i = 0; i < n; i++) {
			if (!_x265_is_param_set(nals[i].type) ||
			    enc->extradata_size + nals[i].sizeBytes > sizeof(enc->extradata))
				continue;
			memcpy(enc->extradata + enc->extradata_size, nals[i].payload, nals[i].sizeBytes);
			enc->extradata_size += nals[i].sizeBytes;
		}
	return 0;
error:
	_x265_close(enc);
	return -EINVAL;
}

static int _x265_encode(struct cr_encoder_s *enc, struct cr_frame_s *f)
{
	struct _x265_s *x = enc->priv;
	if (f->format != CR_PIXFMT_YUV420) {
		snprintf(enc->error, sizeof(enc->error), "x265: cannot take %s frames (only yuv420)",
			 cr_pixfmt_name(f->format));
		return -EINVAL;
	}
	x265_picture *pic = &x->pic;
	for (int i = 0; i < 3; i++) {
		pic->planes[i] = f->data[i];
		pic->stride[i] = f->stride[i];
	}
	pic->bitDepth = 8;
	pic->colorSpace = X265_CSP_I420;
	int64_t pts = _sw_pts(f);
	if (pts <= x->last_pts)
		pts = x->last_pts + 1;
	x->last_pts = pts;
	pic->pts = pts;
	pic->sliceType = x->force_idr ? X265_TYPE_IDR : X265_TYPE_AUTO;
	x->force_idr = false;
	int slot = (int)(x->n++ % _X265_RING);
	x->ring[slot].seq = f->seq;
	x->ring[slot].ts_capture_ns = f->ts_capture_ns;
	pic->userData = (void *)(intptr_t)slot;

	x265_nal *nals;
	uint32_t n_nals = 0;
	int r = x265_encoder_encode(x->h, &nals, &n_nals, pic, &x->out);
	if (r < 0) {
		snprintf(enc->error, sizeof(enc->error), "x265: encoding frame %llu failed",
			 (unsigned long long)f->seq);
		return -EIO;
	}
	if (r == 0 || n_nals == 0)
		return 0;
	size_t size = 0;
	for (uint32_t i = 0; i < n_nals; i++)
		size += nals[i].sizeBytes;
	slot = (int)(intptr_t)x->out.userData;
	struct cr_packet_s *pkt = _sw_packet(enc, CR_CODEC_H265, size, x->out.pts, x->ring[slot].seq,
					     x->ring[slot].ts_capture_ns);
	if (!pkt)
		return -ENOMEM;
	pkt->dts = x->out.dts;
	size_t off = 0;
	for (uint32_t i = 0; i < n_nals; i++) {
		memcpy(pkt->data + off, nals[i].payload, nals[i].sizeBytes);
		off += nals[i].sizeBytes;
		if (_x265_is_param_set(nals[i].type))
			pkt->flags |= CR_PACKET_CONFIG;
		/* IRAP pictures (BLA, IDR, CRA: types 16..21) start a decodable stream. */
		if (nals[i].type >= 16 && nals[i].type <= 21)
			pkt->flags |= CR_PACKET_KEYFRAME;
	}
	enc->emit(enc, pkt);
	cr_packet_unref(pkt);
	return 0;
}

static void _x265_request_keyframe(struct cr_encoder_s *enc)
{
	struct _x265_s *x = enc->priv;
	x->force_idr = true;
}

/* x265 3.5 accepts a new bitrate through x265_encoder_reconfig() but its
 * one-pass rate control without lookahead keeps spending at the old rate
 * (measured: 80 -> 20 kbit/s left the output at 80). So a new bitrate
 * reopens the encoder: the stream goes on with an IDR carrying VPS/SPS/PPS,
 * which every decoder takes, at the cost of one keyframe per change (so
 * changes under 10% are ignored). */
static int _x265_set_bitrate(struct cr_encoder_s *enc, int64_t bps)
{
	struct _x265_s *x = enc->priv;
	/* Congestion control nudges the rate often: small steps are not worth a keyframe. */
	int64_t cur = (int64_t)x->param->rc.bitrate * 1000;
	if (cur > 0 && bps > cur * 9 / 10 && bps < cur * 11 / 10)
		return 0;
	_x265_set_rate(x->param, bps);
	x265_encoder *h = x265_encoder_open(x->param);
	if (!h) {
		snprintf(enc->error, sizeof(enc->error), "x265: cannot change the bitrate to %lld bit/s",
			 (long long)bps);
		return -EINVAL;
	}
	x265_encoder_close(x->h);
	x->h = h;
	enc->cfg.bitrate = bps;
	return 0;
}

/* Loaded by its entry in the core, x265_module.c. */
CR_MODULE_EXPORT const struct cr_encoder_ops_s cr_encoder_x265 = {
	.name = "x265",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H265, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	.open = _x265_open,
	.encode = _x265_encode,
	.request_keyframe = _x265_request_keyframe,
	.set_bitrate = _x265_set_bitrate,
	.close = _x265_close,
};
