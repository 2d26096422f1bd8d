/* H.264 software encoder: x264, tuned for live video (zerolatency: no
 * B-frames, no lookahead, sliced threads, so each frame's packet comes out of
 * the call that took the frame). Annex-B, SPS/PPS repeated on every IDR.
 * Built as the module camrelay-x264.so (core/module.h; its entry is
 * x264_module.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <x264.h>

#include "core/log.h"
#include "core/module.h"
#include "encode/sw.h"

/* Frame metadata x264 carries through pic.opaque (no B-frames, but do not rely on it). */
#define _X264_RING 64

struct _x264_s {
	x264_t *h;
	bool force_idr, small_idr;
	int64_t last_pts;
	uint64_t n;
	struct {
		uint64_t seq;
		int64_t ts_capture_ns;
	} ring[_X264_RING];
};

static void _x264_log(void *opaque, int level, const char *fmt, va_list ap)
{
	struct cr_encoder_s *enc = opaque;
	char msg[200];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	if (level <= X264_LOG_ERROR)
		snprintf(enc->error, sizeof(enc->error), "x264: %s", msg);
	CR_LOG_W("x264", "%s", msg);
}

static const char *_x264_profile_name(uint8_t idc)
{
	switch (idc) {
	case 0:
	case 66:
		return "baseline";
	case 77:
		return "main";
	case 100:
		return "high";
	default:
		return NULL;
	}
}

/* No level configured: 3.1 (what WebRTC peers offer) while the picture fits
 * it (3600 macroblocks, 108000 per second, H.264 table A-1); above that
 * x264 picks the smallest level that fits instead of writing a wrong one. */
static int _x264_default_level(const struct cr_encoder_s *enc)
{
	int64_t mbs = (int64_t)((enc->width + 15) / 16) * ((enc->height + 15) / 16);
	return mbs <= 3600 && mbs * _sw_fps(enc) <= 108000 ? 31 : -1;
}

/* Keeps the SPS and PPS (not the SEI x264 writes its settings into). */
static void _x264_extradata(struct cr_encoder_s *enc, x264_t *h)
{
	x264_nal_t *nals;
	int n;
	enc->extradata_size = 0;
	if (x264_encoder_headers(h, &nals, &n) < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (nals[i].i_type != NAL_SPS && nals[i].i_type != NAL_PPS)
			continue;
		if (enc->extradata_size + (size_t)nals[i].i_payload > sizeof(enc->extradata))
			break;
		memcpy(enc->extradata + enc->extradata_size, nals[i].p_payload, (size_t)nals[i].i_payload);
		enc->extradata_size += (size_t)nals[i].i_payload;
	}
}

/* per_s: the VBV buffer holds 1/per_s of a second. */
static void _x264_set_rate(x264_param_t *p, int64_t bps, int per_s)
{
	int kbps = _sw_kbps(bps);
	p->rc.i_rc_method = X264_RC_ABR;
	p->rc.i_bitrate = kbps;
	p->rc.i_vbv_max_bitrate = kbps;
	p->rc.i_vbv_buffer_size = kbps / per_s > 1 ? kbps / per_s : 1;
}

static int _x264_open(struct cr_encoder_s *enc)
{
	struct _x264_s *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x264_param_t p;
	int speed = _sw_speed(enc);
	const char *profile = _x264_profile_name(enc->cfg.profile_idc);
	if (speed < 0) {
		snprintf(enc->error, sizeof(enc->error), "x264: unknown preset \"%s\" (allowed: %s)",
			 _sw_preset(enc), _SW_PRESETS);
		goto error;
	}
	if (!profile) {
		snprintf(enc->error, sizeof(enc->error),
			 "x264: H.264 profile_idc %u is not supported for 8-bit 4:2:0 (use baseline, main or high)",
			 enc->cfg.profile_idc);
		goto error;
	}
	if (x264_param_default_preset(&p, _sw_speed_name(speed), "zerolatency") < 0) {
		snprintf(enc->error, sizeof(enc->error), "x264: preset %s rejected", _sw_speed_name(speed));
		goto error;
	}
	p.pf_log = _x264_log;
	p.p_log_private = enc;
	p.i_log_level = X264_LOG_WARNING;
	p.i_csp = X264_CSP_I420;
	p.i_width = enc->width;
	p.i_height = enc->height;
	p.i_fps_num = (uint32_t)(enc->fps_num > 0 ? enc->fps_num : 30);
	p.i_fps_den = (uint32_t)(enc->fps_num > 0 && enc->fps_den > 0 ? enc->fps_den : 1);
	p.i_timebase_num = 1;
	p.i_timebase_den = 90000;
	p.b_vfr_input = 0; /* rate control from the nominal rate, not capture jitter */
	p.i_threads = X264_THREADS_AUTO;
	/* Keyframes exactly every gop frames: no scene-cut IDRs in between. */
	p.i_keyint_max = _sw_gop(enc);
	p.i_keyint_min = _sw_gop(enc);
	p.i_scenecut_threshold = 0;
	p.b_repeat_headers = 1;
	p.b_annexb = 1;
	p.b_aud = 0;
	p.i_level_idc = enc->cfg.level_idc ? enc->cfg.level_idc : _x264_default_level(enc);
	/* Half a second of buffer: an IDR keeps a usable quality while the rate
	 * stays constant over any second (the RTP pacer spreads the burst). */
	_x264_set_rate(&p, _sw_bitrate(enc), 2);
	if (x264_param_apply_profile(&p, profile) < 0) {
		snprintf(enc->error, sizeof(enc->error), "x264: profile %s rejected", profile);
		goto error;
	}
	x->h = x264_encoder_open(&p);
	if (!x->h) {
		if (!enc->error[0])
			snprintf(enc->error, sizeof(enc->error), "x264: cannot open the encoder at %dx%d",
				 enc->width, enc->height);
		goto error;
	}
	x->last_pts = INT64_MIN;
	enc->priv = x;
	enc->in_format = CR_PIXFMT_YUV420;
	_x264_extradata(enc, x->h);
	return 0;
error:
	free(x);
	return -EINVAL;
}

/* The rate buffer at the current bitrate: 1/per_s of a second. */
static int _x264_rate_buffer(struct cr_encoder_s *enc, struct _x264_s *x, int per_s)
{
	x264_param_t p;
	x264_encoder_parameters(x->h, &p);
	_x264_set_rate(&p, _sw_bitrate(enc), per_s);
	return x264_encoder_reconfig(x->h, &p) < 0 ? -EINVAL : 0;
}

static int _x264_encode(struct cr_encoder_s *enc, struct cr_frame_s *f)
{
	struct _x264_s *x = enc->priv;
	x264_picture_t pic, out;
	x264_picture_init(&pic);
	if (f->format == CR_PIXFMT_NV12)
		pic.img.i_csp = X264_CSP_NV12;
	else if (f->format == CR_PIXFMT_YUV420)
		pic.img.i_csp = X264_CSP_I420;
	else {
		snprintf(enc->error, sizeof(enc->error), "x264: cannot take %s frames (only yuv420, nv12)",
			 cr_pixfmt_name(f->format));
		return -EINVAL;
	}
	pic.img.i_plane = f->n_planes;
	for (int i = 0; i < f->n_planes; i++) {
		pic.img.plane[i] = f->data[i];
		pic.img.i_stride[i] = f->stride[i];
	}
	int64_t pts = _sw_pts(f);
	if (pts <= x->last_pts) /* x264 wants strictly increasing pts */
		pts = x->last_pts + 1;
	x->last_pts = pts;
	pic.i_pts = pts;
	if (x->force_idr)
		pic.i_type = X264_TYPE_IDR;
	/* The keyframe after a congestion cut: an eighth of a second of buffer
	 * for it alone (x264 clips the buffer's fill to a new size at the next
	 * frame), a quarter again after it. */
	bool small = x->force_idr && x->small_idr && _x264_rate_buffer(enc, x, 8) == 0;
	x->force_idr = x->small_idr = false;
	int slot = (int)(x->n++ % _X264_RING);
	x->ring[slot].seq = f->seq;
	x->ring[slot].ts_capture_ns = f->ts_capture_ns;
	pic.opaque = (void *)(intptr_t)slot;

	x264_nal_t *nals;
	int n_nals;
	int size = x264_encoder_encode(x->h, &nals, &n_nals, &pic, &out);
	if (small)
		_x264_rate_buffer(enc, x, enc->network_rate ? 4 : 2);
	if (size < 0) {
		if (!enc->error[0])
			snprintf(enc->error, sizeof(enc->error), "x264: encoding frame %llu failed",
				 (unsigned long long)f->seq);
		return -EIO;
	}
	if (size == 0)
		return 0;
	slot = (int)(intptr_t)out.opaque;
	struct cr_packet_s *pkt = _sw_packet(enc, CR_CODEC_H264, (size_t)size, out.i_pts,
					     x->ring[slot].seq, x->ring[slot].ts_capture_ns);
	if (!pkt)
		return -ENOMEM;
	pkt->dts = out.i_dts;
	size_t off = 0;
	for (int i = 0; i < n_nals; i++) {
		memcpy(pkt->data + off, nals[i].p_payload, (size_t)nals[i].i_payload);
		off += (size_t)nals[i].i_payload;
		if (nals[i].i_type == NAL_SPS || nals[i].i_type == NAL_PPS)
			pkt->flags |= CR_PACKET_CONFIG;
	}
	pkt->size = off;
	if (out.b_keyframe)
		pkt->flags |= CR_PACKET_KEYFRAME;
	enc->emit(enc, pkt);
	cr_packet_unref(pkt);
	return 0;
}

static void _x264_request_keyframe(struct cr_encoder_s *enc)
{
	struct _x264_s *x = enc->priv;
	x->force_idr = true;
	x->small_idr |= enc->small_keyframe;
}

static int _x264_set_bitrate(struct cr_encoder_s *enc, int64_t bps)
{
	struct _x264_s *x = enc->priv;
	x264_param_t p;
	x264_encoder_parameters(x->h, &p);
	/* A rate that follows a network (congestion control): a quarter second
	 * of buffer, so that a keyframe asked for after a cut takes at most
	 * about that long at the new rate; else half a second, as at open. */
	_x264_set_rate(&p, bps, enc->network_rate ? 4 : 2);
	if (x264_encoder_reconfig(x->h, &p) < 0) {
		snprintf(enc->error, sizeof(enc->error), "x264: cannot change the bitrate to %lld bit/s",
			 (long long)bps);
		return -EINVAL;
	}
	enc->cfg.bitrate = bps;
	return 0;
}

static void _x264_close(struct cr_encoder_s *enc)
{
	struct _x264_s *x = enc->priv;
	if (!x)
		return;
	x264_encoder_close(x->h);
	free(x);
	enc->priv = NULL;
}

CR_MODULE_EXPORT const struct cr_encoder_ops_s cr_encoder_x264 = {
	.name = "x264",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H264, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NV12, CR_PIXFMT_NONE},
	.open = _x264_open,
	.encode = _x264_encode,
	.request_keyframe = _x264_request_keyframe,
	.set_bitrate = _x264_set_bitrate,
	.close = _x264_close,
};
