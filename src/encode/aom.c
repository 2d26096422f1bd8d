/* AV1 software encoder: libaom in its real-time usage (AOM_USAGE_REALTIME,
 * high cpu-used, no lag, CBR), with the coding tools WebRTC turns off for
 * real time. One temporal unit (low-overhead OBUs) per packet. Built as the
 * module camrelay-aom.so (core/module.h; its entry is aom_module.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <aom/aom_encoder.h>
#include <aom/aomcx.h>

#include "core/module.h"
#include "encode/sw.h"

struct _aom_s {
	aom_codec_ctx_t ctx;
	aom_codec_enc_cfg_t cfg;
	bool ctx_open;
	bool force_kf;
	int64_t last_pts;
};

/* cpu-used for the 0..9 speed scale; libaom's real-time speeds are 5..10. */
static int _aom_cpu_used(int speed)
{
	static const int map[10] = {6, 6, 6, 6, 7, 7, 8, 9, 9, 10};
	return map[speed];
}

/* Whether a temporal unit carries a sequence header: walks the OBU headers
 * (AV1 spec 5.3; libaom has no public helper for this). Sizes come from our
 * own encoder's output and are bounds-checked anyway. */
static bool _aom_has_sequence_header(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t h = p[i++];
		int type = (h >> 3) & 0xF;
		if (type == 1) /* OBU_SEQUENCE_HEADER */
			return true;
		if (h & 0x04) /* extension byte */
			i++;
		if (!(h & 0x02)) /* no size field: the OBU runs to the end */
			return false;
		uint64_t size = 0;
		for (int k = 0; k < 8 && i < n; k++) {
			uint8_t b = p[i++];
			size |= (uint64_t)(b & 0x7F) << (7 * k);
			if (!(b & 0x80))
				break;
		}
		if (size > n - (i < n ? i : n))
			return false;
		i += (size_t)size;
	}
	return false;
}

#define _AOM_CTRL(ctx, id, v) \
	do { \
		if (aom_codec_control(ctx, id, v) != AOM_CODEC_OK) { \
			ctrl = #id; \
			goto ctrl_error; \
		} \
	} while (0)

static void _aom_close(struct cr_encoder_s *enc)
{
	struct _aom_s *a = enc->priv;
	if (!a)
		return;
	if (a->ctx_open)
		aom_codec_destroy(&a->ctx);
	free(a);
	enc->priv = NULL;
}

static int _aom_open(struct cr_encoder_s *enc)
{
	const char *ctrl = "";
	int speed = _sw_speed(enc);
	if (speed < 0) {
		snprintf(enc->error, sizeof(enc->error), "libaom: unknown preset \"%s\" (allowed: %s)",
			 _sw_preset(enc), _SW_PRESETS);
		return -EINVAL;
	}
	struct _aom_s *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	enc->priv = a;
	aom_codec_enc_cfg_t *c = &a->cfg;
	if (aom_codec_enc_config_default(aom_codec_av1_cx(), c, AOM_USAGE_REALTIME) != AOM_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "libaom: no real-time configuration");
		goto error;
	}
	int threads = _sw_threads();
	c->g_w = (unsigned)enc->width;
	c->g_h = (unsigned)enc->height;
	c->g_timebase.num = 1;
	c->g_timebase.den = 90000;
	c->g_threads = (unsigned)threads;
	c->g_pass = AOM_RC_ONE_PASS;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = 0;
	c->rc_end_usage = AOM_CBR;
	c->rc_target_bitrate = (unsigned)_sw_kbps(_sw_bitrate(enc));
	c->rc_dropframe_thresh = 0;
	c->rc_min_quantizer = 10;
	c->rc_max_quantizer = 56;
	c->rc_undershoot_pct = 50;
	c->rc_overshoot_pct = 50;
	c->rc_buf_initial_sz = 600;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->kf_mode = AOM_KF_AUTO;
	c->kf_min_dist = c->kf_max_dist = (unsigned)_sw_gop(enc);
	aom_codec_err_t err = aom_codec_enc_init(&a->ctx, aom_codec_av1_cx(), c, 0);
	if (err != AOM_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "libaom: cannot open the encoder at %dx%d: %s",
			 enc->width, enc->height, aom_codec_err_to_string(err));
		goto error;
	}
	a->ctx_open = true;
	_AOM_CTRL(&a->ctx, AOME_SET_CPUUSED, _aom_cpu_used(speed));
	_AOM_CTRL(&a->ctx, AV1E_SET_ROW_MT, 1);
	_AOM_CTRL(&a->ctx, AV1E_SET_TILE_COLUMNS, _sw_tile_cols_log2(enc->width, threads));
	_AOM_CTRL(&a->ctx, AV1E_SET_AQ_MODE, 3);
	_AOM_CTRL(&a->ctx, AV1E_SET_ENABLE_CDEF, 1);
	_AOM_CTRL(&a->ctx, AV1E_SET_ENABLE_TPL_MODEL, 0);
	_AOM_CTRL(&a->ctx, AV1E_SET_DELTAQ_MODE, 0);
	_AOM_CTRL(&a->ctx, AV1E_SET_ENABLE_ORDER_HINT, 0);
	_AOM_CTRL(&a->ctx, AV1E_SET_ENABLE_GLOBAL_MOTION, 0);
	_AOM_CTRL(&a->ctx, AV1E_SET_ENABLE_WARPED_MOTION, 0);
	_AOM_CTRL(&a->ctx, AV1E_SET_ENABLE_OBMC, 0);
	_AOM_CTRL(&a->ctx, AV1E_SET_COEFF_COST_UPD_FREQ, 3);
	_AOM_CTRL(&a->ctx, AV1E_SET_MODE_COST_UPD_FREQ, 3);
	_AOM_CTRL(&a->ctx, AV1E_SET_MV_COST_UPD_FREQ, 3);

	enc->extradata_size = 0;
	aom_fixed_buf_t *hdr = aom_codec_get_global_headers(&a->ctx);
	if (hdr) {
		if (hdr->sz <= sizeof(enc->extradata)) {
			memcpy(enc->extradata, hdr->buf, hdr->sz);
			enc->extradata_size = hdr->sz;
		}
		free(hdr->buf);
		free(hdr);
	}
	a->last_pts = INT64_MIN;
	enc->in_format = CR_PIXFMT_YUV420;
	return 0;
ctrl_error:
	snprintf(enc->error, sizeof(enc->error), "libaom: %s failed: %s", ctrl,
		 aom_codec_error_detail(&a->ctx) ? aom_codec_error_detail(&a->ctx) : aom_codec_error(&a->ctx));
error:
	_aom_close(enc);
	return -EINVAL;
}

static int _aom_encode(struct cr_encoder_s *enc, struct cr_frame_s *f)
{
	struct _aom_s *a = enc->priv;
	if (f->format != CR_PIXFMT_YUV420) {
		snprintf(enc->error, sizeof(enc->error), "libaom: cannot take %s frames (only yuv420)",
			 cr_pixfmt_name(f->format));
		return -EINVAL;
	}
	aom_image_t img;
	if (!aom_img_wrap(&img, AOM_IMG_FMT_I420, (unsigned)f->width, (unsigned)f->height, 1, f->data[0]))
		return -EINVAL;
	for (int i = 0; i < 3; i++) {
		img.planes[i] = f->data[i];
		img.stride[i] = f->stride[i];
	}
	int64_t pts = _sw_pts(f);
	if (pts <= a->last_pts)
		pts = a->last_pts + 1;
	a->last_pts = pts;
	unsigned long duration = (unsigned long)(90000LL * (enc->fps_den > 0 ? enc->fps_den : 1) /
						 (enc->fps_num > 0 ? enc->fps_num : 30));
	aom_enc_frame_flags_t flags = a->force_kf ? AOM_EFLAG_FORCE_KF : 0;
	a->force_kf = false;
	aom_codec_err_t err = aom_codec_encode(&a->ctx, &img, pts, duration, flags);
	if (err != AOM_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "libaom: encoding frame %llu failed: %s",
			 (unsigned long long)f->seq,
			 aom_codec_error_detail(&a->ctx) ? aom_codec_error_detail(&a->ctx) : aom_codec_err_to_string(err));
		return -EIO;
	}
	const aom_codec_cx_pkt_t *cx;
	aom_codec_iter_t iter = NULL;
	size_t size = 0;
	while ((cx = aom_codec_get_cx_data(&a->ctx, &iter)))
		if (cx->kind == AOM_CODEC_CX_FRAME_PKT)
			size += cx->data.frame.sz;
	if (size == 0)
		return 0;
	struct cr_packet_s *pkt = _sw_packet(enc, CR_CODEC_AV1, size, _sw_pts(f), f->seq, f->ts_capture_ns);
	if (!pkt)
		return -ENOMEM;
	size_t off = 0;
	iter = NULL;
	while ((cx = aom_codec_get_cx_data(&a->ctx, &iter))) {
		if (cx->kind != AOM_CODEC_CX_FRAME_PKT)
			continue;
		memcpy(pkt->data + off, cx->data.frame.buf, cx->data.frame.sz);
		off += cx->data.frame.sz;
		if (cx->data.frame.flags & AOM_FRAME_IS_KEY)
			pkt->flags |= CR_PACKET_KEYFRAME;
	}
	if (_aom_has_sequence_header(pkt->data, pkt->size))
		pkt->flags |= CR_PACKET_CONFIG;
	enc->emit(enc, pkt);
	cr_packet_unref(pkt);
	return 0;
}

static void _aom_request_keyframe(struct cr_encoder_s *enc)
{
	struct _aom_s *a = enc->priv;
	a->force_kf = true;
}

static int _aom_set_bitrate(struct cr_encoder_s *enc, int64_t bps)
{
	struct _aom_s *a = enc->priv;
	a->cfg.rc_target_bitrate = (unsigned)_sw_kbps(bps);
	aom_codec_err_t err = aom_codec_enc_config_set(&a->ctx, &a->cfg);
	if (err != AOM_CODEC_OK) {
		snprintf(enc->error, sizeof(enc->error), "libaom: cannot change the bitrate to %lld bit/s: %s",
			 (long long)bps, aom_codec_err_to_string(err));
		return -EINVAL;
	}
	enc->cfg.bitrate = bps;
	return 0;
}

CR_MODULE_EXPORT const struct cr_encoder_ops_s cr_encoder_aom = {
	.name = "aom",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_AV1, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	.open = _aom_open,
	.encode = _aom_encode,
	.request_keyframe = _aom_request_keyframe,
	.set_bitrate = _aom_set_bitrate,
	.close = _aom_close,
};
