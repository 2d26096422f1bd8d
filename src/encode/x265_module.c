/* The x265 encoder's entry in the core: the encoder itself (x265.c) is the
 * module camrelay-x265.so (core/module.h), so libx265 is mapped only when a
 * config encodes H.265 in software. Name, codec, input formats and options
 * are known here without loading it; the start-up check loads it, and when
 * it is missing says which package to install. */
#include <errno.h>

#include "core/module.h"
#include "encode/sw.h"

static const struct cr_encoder_ops_s *_x265(char *err, size_t errlen)
{
	return cr_module_symbol("x265", "cr_encoder_x265", "camrelay-x265", err, errlen);
}

static int _x265_check(const struct cr_encoder_cfg_s *cfg, char *err, size_t errlen)
{
	return _x265(err, errlen) ? 0 : -ENOPKG;
}

/* From here on the encoder runs on the module's own table. */
static int _x265_open(struct cr_encoder_s *enc)
{
	const struct cr_encoder_ops_s *ops = _x265(enc->error, sizeof(enc->error));
	if (!ops)
		return -ENOPKG;
	enc->ops = ops;
	return ops->open(enc);
}

/* Reached only by a caller that kept this table past open(): the module is
 * loaded by then. */
static int _x265_encode(struct cr_encoder_s *enc, struct cr_frame_s *frame)
{
	return _x265(NULL, 0)->encode(enc, frame);
}

static void _x265_request_keyframe(struct cr_encoder_s *enc)
{
	_x265(NULL, 0)->request_keyframe(enc);
}

static int _x265_set_bitrate(struct cr_encoder_s *enc, int64_t bps)
{
	return _x265(NULL, 0)->set_bitrate(enc, bps);
}

static void _x265_close(struct cr_encoder_s *enc)
{
	const struct cr_encoder_ops_s *ops = enc->priv ? _x265(NULL, 0) : NULL;
	if (ops)
		ops->close(enc);
}

const struct cr_encoder_ops_s cr_encoder_x265_module = {
	.name = "x265",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H265, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	.check = _x265_check,
	.open = _x265_open,
	.encode = _x265_encode,
	.request_keyframe = _x265_request_keyframe,
	.set_bitrate = _x265_set_bitrate,
	.close = _x265_close,
};
