/* VP8 and VP9 software encoders: libvpx in real-time mode (VPX_DL_REALTIME,
 * one pass, no lag, CBR, error resilient), the way WebRTC drives it. Built as
 * the module camrelay-vpx.so (core/module.h; its entry is vpx_module.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "core/module.h"
#include "encode/sw.h"

struct _vpx_s {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	bool ctx_open;
	bool force_kf;
	int64_t last_pts;
};

/* cpu-used for the 0..9 speed scale; VP9 real-time speeds are 5..9 (8 at
 * most: ffmpeg caps it there, and bench/encode.sh compares like with like). VP8's
 * are negative: a positive value makes VP8 pick its own speed to fill the
 * frame interval, spending far more CPU than needed (WebRTC also uses -N). */
static int _vpx_cpu_used(enum cr_codec_e codec, int speed)
{
	static const int vp8[10] = {-2, -2, -3, -3, -4, -5, -6, -8, -10, -12};
	static const int vp9[10] = {5, 5, 5, 5, 5, 6, 7, 7, 8, 8};
	return codec == CR_CODEC_VP8 ? vp8[speed] : vp9[speed];
}

/* VP8's threads wait for each other by spinning, so extra threads only pay
 * off on big frames with cores to spare (measured: 640x360 on 2 busy cores
 * took 15x the CPU with 2 threads). The same steps as libwebrtc's VP8. */
static int _vp8_threads(int w, int h)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int64_t px = (int64_t)w * h;
	if (px >= 1920 * 1080 && cpus > 8)
		return 8;
	if (px > 1280 * 960 && cpus >= 6)
		return 3;
	if (px > 640 * 480 && cpus >= 3)
		return 2;
	return 1;
}

#define _VPX_CTRL(ctx, id, v) \
	do { \
		if (vpx_codec_control(ctx, id, v) != VPX_CODEC_OK) \
			goto ctrl_error; \
	} while (0)

static void _vpx_close(struct cr_encoder_s *enc)
{
	struct _vpx_s *v = enc->priv;
	if (!v)
		return;
	if (v->ctx_open)
		vpx_codec_destroy(&v->ctx);
	free(v);
	enc->priv = NULL;
}

static int _vpx_open(struct cr_encoder_s *enc)
{
	enum cr_codec_e codec = enc->cfg.codec;
	vpx_codec_iface_t *iface = codec == CR_CODEC_VP8 ? vpx_codec_vp8_cx() : vpx_codec_vp9_cx();
	const char *lib = codec == CR_CODEC_VP8 ? "libvpx VP8" : "libvpx VP9";
	int speed = _sw_speed(enc);
	if (speed < 0) {
		snprintf(enc->error, sizeof(enc->error), "%s: unknown preset \"%s\" (allowed: %s)", lib,
			 _sw_preset(enc), _SW_PRESETS);
		return -EINVAL;
	}
	struct _vpx_s *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	enc->priv = v;
	vpx_codec_enc_cfg_t *c = &v->cfg;
	if (vpx_codec_enc_config_default(iface, c, 0) != VPX_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "%s: no default configuration", lib);
		goto error;
	}
	int threads = _sw_threads();
	if (codec == CR_CODEC_VP8)
		threads = _vp8_threads(enc->width, enc->height);
	c->g_w = (unsigned)enc->width;
	c->g_h = (unsigned)enc->height;
	c->g_timebase.num = 1;
	c->g_timebase.den = 90000;
	c->g_threads = (unsigned)threads;
	c->g_pass = VPX_RC_ONE_PASS;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = (unsigned)_sw_kbps(_sw_bitrate(enc));
	c->rc_dropframe_thresh = 0; /* every frame in gives a frame out */
	c->rc_min_quantizer = 2;
	c->rc_max_quantizer = 56;
	c->rc_undershoot_pct = 50;
	c->rc_overshoot_pct = 50;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->kf_mode = VPX_KF_AUTO;
	c->kf_min_dist = c->kf_max_dist = (unsigned)_sw_gop(enc);
	vpx_codec_err_t err = vpx_codec_enc_init(&v->ctx, iface, c, 0);
	if (err != VPX_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "%s: cannot open the encoder at %dx%d: %s", lib,
			 enc->width, enc->height, vpx_codec_err_to_string(err));
		goto error;
	}
	v->ctx_open = true;
	_VPX_CTRL(&v->ctx, VP8E_SET_CPUUSED, _vpx_cpu_used(codec, speed));
	_VPX_CTRL(&v->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
	if (codec == CR_CODEC_VP8) {
		_VPX_CTRL(&v->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
		_VPX_CTRL(&v->ctx, VP8E_SET_TOKEN_PARTITIONS, threads > 1 ? VP8_TWO_TOKENPARTITION : VP8_ONE_TOKENPARTITION);
	} else {
		_VPX_CTRL(&v->ctx, VP9E_SET_ROW_MT, 1);
		_VPX_CTRL(&v->ctx, VP9E_SET_TILE_COLUMNS, _sw_tile_cols_log2(enc->width, threads));
		_VPX_CTRL(&v->ctx, VP9E_SET_AQ_MODE, 3); /* cyclic refresh, as WebRTC */
		_VPX_CTRL(&v->ctx, VP9E_SET_NOISE_SENSITIVITY, 0);
	}
	v->last_pts = INT64_MIN;
	enc->in_format = CR_PIXFMT_YUV420;
	enc->extradata_size = 0; /* VP8/VP9 carry no out-of-band parameters */
	return 0;
ctrl_error:
	snprintf(enc->error, sizeof(enc->error), "%s: setting a control failed: %s", lib,
		 vpx_codec_error_detail(&v->ctx) ? vpx_codec_error_detail(&v->ctx) : vpx_codec_error(&v->ctx));
error:
	_vpx_close(enc);
	return -EINVAL;
}

static int _vpx_encode(struct cr_encoder_s *enc, struct cr_frame_s *f)
{
	struct _vpx_s *v = enc->priv;
	if (f->format != CR_PIXFMT_YUV420) {
		snprintf(enc->error, sizeof(enc->error), "libvpx: cannot take %s frames (only yuv420)",
			 cr_pixfmt_name(f->format));
		return -EINVAL;
	}
	vpx_image_t img;
	if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, (unsigned)f->width, (unsigned)f->height, 1, f->data[0]))
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		img.planes[i] = f->data[i];
		img.stride[i] = f->stride[i];
	}
	int64_t pts = _sw_pts(f);
	if (pts <= v->last_pts) /* rate control derives the frame rate from pts steps */
		pts = v->last_pts + 1;
	v->last_pts = pts;
	unsigned long duration = (unsigned long)(90000LL * (enc->fps_den > 0 ? enc->fps_den : 1) /
						 (enc->fps_num > 0 ? enc->fps_num : 30));
	vpx_enc_frame_flags_t flags = v->force_kf ? VPX_EFLAG_FORCE_KF : 0;
	v->force_kf = false;
	vpx_codec_err_t err = vpx_codec_encode(&v->ctx, &img, pts, duration, flags, VPX_DL_REALTIME);
	if (err != VPX_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "libvpx: encoding frame %llu failed: %s",
			 (unsigned long long)f->seq, vpx_codec_error_detail(&v->ctx) ? vpx_codec_error_detail(&v->ctx)
										 : vpx_codec_err_to_string(err));
		return -EIO;
	}
	/* With no lag there is one compressed frame per input frame (VP9 may
	 * split it into a superframe's parts: keep them in one packet). */
	const vpx_codec_cx_pkt_t *cx;
	vpx_codec_iter_t iter = NULL;
	size_t size = 0;
	while ((cx = vpx_codec_get_cx_data(&v->ctx, &iter)))
		if (cx->kind == VPX_CODEC_CX_FRAME_PKT)
			size += cx->data.frame.sz;
	if (size == 0)
		return 0;
	struct cr_packet_s *pkt = _sw_packet(enc, enc->cfg.codec, size, _sw_pts(f), f->seq, f->ts_capture_ns);
	if (!pkt)
		return -ENOMEM;
	size_t off = 0;
	iter = NULL;
	while ((cx = vpx_codec_get_cx_data(&v->ctx, &iter))) {
		if (cx->kind != VPX_CODEC_CX_FRAME_PKT)
			continue;
		memcpy(pkt->data + off, cx->data.frame.buf, cx->data.frame.sz);
		off += cx->data.frame.sz;
		if (cx->data.frame.flags & VPX_FRAME_IS_KEY)
			pkt->flags |= CR_PACKET_KEYFRAME;
	}
	enc->emit(enc, pkt);
	cr_packet_unref(pkt);
	return 0;
}

static void _vpx_request_keyframe(struct cr_encoder_s *enc)
{
	struct _vpx_s *v = enc->priv;
	v->force_kf = true;
}

static int _vpx_set_bitrate(struct cr_encoder_s *enc, int64_t bps)
{
	struct _vpx_s *v = enc->priv;
	v->cfg.rc_target_bitrate = (unsigned)_sw_kbps(bps);
	vpx_codec_err_t err = vpx_codec_enc_config_set(&v->ctx, &v->cfg);
	if (err != VPX_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "libvpx: cannot change the bitrate to %lld bit/s: %s",
			 (long long)bps, vpx_codec_err_to_string(err));
		return -EINVAL;
	}
	enc->cfg.bitrate = bps;
	return 0;
}

CR_MODULE_EXPORT const struct cr_encoder_ops_s cr_encoder_vpx = {
	.name = "vpx",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_VP8, CR_CODEC_VP9, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	.open = _vpx_open,
	.encode = _vpx_encode,
	.request_keyframe = _vpx_request_keyframe,
	.set_bitrate = _vpx_set_bitrate,
	.close = _vpx_close,
};
