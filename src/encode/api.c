/* The public encoder API (include/camrelay/encoder.h) over the backend ops
 * tables: wraps the caller's planes as a frame without copying, converts
 * only when the backend does not take the format, and hands packets to the
 * callback for the duration of the call. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camrelay/encoder.h"
#include "core/h264.h"
#include "encode/encoder.h"

struct camrelay_encoder {
	struct cr_encode_step_s step; /* the stream's encode stages run the same step */
	camrelay_packet_cb on_packet;
	void *opaque;
	uint64_t seq;
	char error[256];
};

/* profile/level as the config file takes them (core/h264.c's table), but
 * both optional here: baseline at level 3.1 by default. */
static int _h264_profile(const camrelay_encoder_config *c, struct cr_encoder_cfg_s *e, char *err,
			 size_t errlen)
{
	const char *profile = c->profile && *c->profile ? c->profile : "baseline";
	const char *level = c->level && *c->level ? c->level : NULL;
	int level_idc = level ? cr_h264_level_idc(level) : 31;
	char why[96];
	struct cr_h264_id_s id;
	if (level_idc < 0) {
		snprintf(err, errlen, "unknown H.264 level \"%.32s\" (allowed: 1 .. 6.2, e.g. \"3.1\")", level);
		return -EINVAL;
	}
	if (cr_h264_id_from_name(profile, level_idc, &id) < 0) {
		const char *problem = cr_h264_id_from_hex(profile, &id, why, sizeof(why));
		if (problem == why) {
			snprintf(err, errlen, "profile-level-id \"%s\": %s", profile, problem);
			return -EINVAL;
		}
		if (problem) {
			snprintf(err, errlen,
				 "unknown H.264 profile \"%.32s\" (allowed: baseline, constrained-baseline, main, high, "
				 "or a profile-level-id of 6 hex digits like 42001f)",
				 profile);
			return -EINVAL;
		}
		if (level && level_idc != id.level_idc) {
			snprintf(err, errlen, "level \"%s\" contradicts profile-level-id \"%s\" (level_idc %u); drop one",
				 level, profile, id.level_idc);
			return -EINVAL;
		}
	}
	e->profile_idc = id.profile_idc;
	e->constraint_flags = id.constraint_flags;
	e->level_idc = id.level_idc;
	return 0;
}

static void _api_emit(struct cr_encoder_s *enc, struct cr_packet_s *p)
{
	camrelay_encoder *e = enc->emit_opaque;
	camrelay_packet pkt = {
		.data = p->data,
		.size = p->size,
		.pts = p->pts,
		.dts = p->dts,
		.timestamp_ns = p->ts_capture_ns,
		.flags = (p->flags & CR_PACKET_KEYFRAME ? CAMRELAY_PACKET_KEYFRAME : 0) |
			 (p->flags & CR_PACKET_CONFIG ? CAMRELAY_PACKET_CONFIG : 0),
		.width = p->width,
		.height = p->height,
	};
	e->on_packet(&pkt, e->opaque);
}

/* Names of the backends built for a codec, for error messages. */
static const char *_built_for(enum cr_codec_e codec, char *buf, size_t len)
{
	buf[0] = 0;
	for (const struct cr_encoder_ops_s *const *p = cr_encoder_backends; *p; p++)
		for (const enum cr_codec_e *c = (*p)->open ? (*p)->codecs : NULL; c && *c; c++)
			if (*c == codec) {
				size_t n = strlen(buf);
				snprintf(buf + n, len - n, "%s%s", n ? ", " : "", (*p)->name);
			}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

camrelay_encoder *camrelay_encoder_create(const camrelay_encoder_config *cfg, camrelay_packet_cb on_packet,
					  void *opaque, char *err, size_t errlen)
{
	char dummy[8], list[128];
	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!cfg || !on_packet) {
		snprintf(err, errlen, "camrelay_encoder_create: config and packet callback are required");
		return NULL;
	}
	enum cr_codec_e codec = cfg->codec ? cr_codec_from_name(cfg->codec) : CR_CODEC_NONE;
	if (codec == CR_CODEC_NONE) {
		snprintf(err, errlen, "unknown codec \"%.32s\" (allowed: %s)", cfg->codec ? cfg->codec : "",
			 cr_codec_allowed());
		return NULL;
	}
	if (cfg->width <= 0 || cfg->height <= 0 || cfg->width % 2 || cfg->height % 2 || cfg->width > 16384 ||
	    cfg->height > 16384) {
		snprintf(err, errlen, "invalid size %dx%d (width and height must be even, 2 .. 16384)", cfg->width,
			 cfg->height);
		return NULL;
	}
	if (cfg->fps < 0 || cfg->fps > 1000 || cfg->bitrate < 0 || cfg->gop < 0) {
		snprintf(err, errlen, "invalid fps %d, bitrate %lld or gop %d (fps 0..1000, others >= 0)", cfg->fps,
			 (long long)cfg->bitrate, cfg->gop);
		return NULL;
	}
	const char *backend = cfg->backend ? cfg->backend : "";
	const struct cr_encoder_ops_s *ops = cr_encoder_find(backend, codec);
	if (!ops) {
		snprintf(err, errlen, "no encoder backend \"%.32s\" for %s in this build (built for %s: %s)",
			 *backend ? backend : "software", cr_codec_name(codec), cr_codec_name(codec),
			 _built_for(codec, list, sizeof(list)));
		return NULL;
	}
	camrelay_encoder *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	struct cr_encoder_cfg_s *ec = &e->step.enc.cfg;
	ec->present = true;
	ec->codec = codec;
	snprintf(ec->backend, sizeof(ec->backend), "%s", backend);
	ec->bitrate = cfg->bitrate;
	ec->gop = cfg->gop;
	/* the backend's own keys (its ops table's options) */
	cr_options_defaults(ops->options, ec->opts);
	if (cfg->preset && *cfg->preset &&
	    cr_option_set_text(ops->options, ec->opts, "preset", cfg->preset, err, errlen) < 0)
		goto error;
	if (codec == CR_CODEC_H264) {
		if (_h264_profile(cfg, ec, err, errlen) < 0)
			goto error;
	} else if ((cfg->profile && *cfg->profile) || (cfg->level && *cfg->level)) {
		snprintf(err, errlen, "profile and level apply to h264 only (codec is %s)", cr_codec_name(codec));
		goto error;
	}
	e->step.enc.ops = ops;
	e->step.enc.width = cfg->width;
	e->step.enc.height = cfg->height;
	e->step.enc.fps_num = cfg->fps > 0 ? cfg->fps : 30;
	e->step.enc.fps_den = 1;
	e->step.enc.emit = _api_emit;
	e->step.enc.emit_opaque = e;
	e->on_packet = on_packet;
	e->opaque = opaque;
	if (ops->open(&e->step.enc) < 0) {
		snprintf(err, errlen, "encoder %s (%s) failed to open at %dx%d: %s", ops->name, cr_codec_name(codec),
			 cfg->width, cfg->height, e->step.enc.error[0] ? e->step.enc.error : "no reason given");
		goto error;
	}
	e->step.open = true;
	return e;
error:
	free(e);
	return NULL;
}

static enum cr_pixfmt_e _pixfmt(camrelay_pixel_format f)
{
	switch (f) {
	case CAMRELAY_PIXFMT_I420:
		return CR_PIXFMT_YUV420;
	case CAMRELAY_PIXFMT_NV12:
		return CR_PIXFMT_NV12;
	case CAMRELAY_PIXFMT_YUYV:
		return CR_PIXFMT_YUYV;
	}
	return CR_PIXFMT_NONE;
}

/* The caller's planes, seen as a frame for the duration of one call. */
static void _no_release(struct cr_frame_s *f) { (void)f; }

int camrelay_encoder_push_frame(camrelay_encoder *e, const camrelay_frame *in)
{
	struct cr_encoder_s *enc = &e->step.enc;
	e->error[0] = 0;
	enum cr_pixfmt_e fmt = _pixfmt(in->format);
	if (fmt == CR_PIXFMT_NONE) {
		snprintf(e->error, sizeof(e->error), "unknown pixel format %d (use CAMRELAY_PIXFMT_I420, _NV12, _YUYV)",
			 (int)in->format);
		return -EINVAL;
	}
	if (in->width != enc->width || in->height != enc->height) {
		snprintf(e->error, sizeof(e->error), "frame is %dx%d, the encoder was created for %dx%d", in->width,
			 in->height, enc->width, enc->height);
		return -EINVAL;
	}
	struct cr_frame_s f = {.format = fmt, .width = in->width, .height = in->height, .dmabuf_fd = -1};
	int stride[3], rows[3];
	f.n_planes = cr_pixfmt_planes(fmt, in->width, in->height, stride, rows);
	for (int i = 0; i < f.n_planes; i++) {
		if (!in->planes[i] || in->strides[i] < stride[i]) {
			snprintf(e->error, sizeof(e->error), "%s plane %d: %s (stride at least %d)", cr_pixfmt_name(fmt),
				 i, in->planes[i] ? "stride too small" : "missing", stride[i]);
			return -EINVAL;
		}
		f.data[i] = (uint8_t *)in->planes[i]; /* backends only read */
		f.stride[i] = in->strides[i];
		f.size += (size_t)in->strides[i] * (size_t)rows[i];
	}
	atomic_init(&f.refs, 1);
	f.release = _no_release;
	f.seq = e->seq++;
	f.ts_capture_ns = in->timestamp_ns;

	int r = cr_encode_step_run(&e->step, &f);
	if (r < 0 || e->step.error[0])
		snprintf(e->error, sizeof(e->error), "%s", e->step.error);
	return r;
}

void camrelay_encoder_request_keyframe(camrelay_encoder *e)
{
	atomic_store(&e->step.keyframe_wanted, true);
}

int camrelay_encoder_set_bitrate(camrelay_encoder *e, int64_t bps)
{
	if (bps <= 0) {
		snprintf(e->error, sizeof(e->error), "invalid bitrate %lld bit/s (must be > 0)", (long long)bps);
		return -EINVAL;
	}
	if (!e->step.enc.ops->set_bitrate) {
		snprintf(e->error, sizeof(e->error), "encoder %s cannot change its bitrate", e->step.enc.ops->name);
		return -ENOTSUP;
	}
	atomic_store(&e->step.bitrate_wanted, (long long)bps);
	return 0;
}

int camrelay_encoder_codec_parameters(const camrelay_encoder *e, camrelay_codec_parameters *out)
{
	memset(out, 0, sizeof(*out));
	out->data = e->step.enc.extradata;
	out->size = e->step.enc.extradata_size;
	out->codec = cr_codec_name(e->step.enc.cfg.codec);
	out->backend = e->step.enc.ops->name;
	/* profile_idc, constraint flags and level_idc follow the SPS NAL header. */
	const uint8_t *p = e->step.enc.extradata;
	for (size_t i = 0; e->step.enc.cfg.codec == CR_CODEC_H264 && i + 6 < e->step.enc.extradata_size; i++)
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1 && (p[i + 3] & 0x1F) == 7) {
			snprintf(out->profile_level_id, sizeof(out->profile_level_id), "%02x%02x%02x", p[i + 4],
				 p[i + 5], p[i + 6]);
			break;
		}
	return 0;
}

const char *camrelay_encoder_error(const camrelay_encoder *e)
{
	return e->error;
}

void camrelay_encoder_destroy(camrelay_encoder *e)
{
	if (!e)
		return;
	cr_encode_step_free(&e->step);
	free(e);
}
