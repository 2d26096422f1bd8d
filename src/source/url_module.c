/* The URL source's entry in the core: the source itself (url.c, with
 * avframe.c) is in the module camrelay-avformat.so (core/module.h), so
 * libavformat, libavcodec and the ~100 libraries they bring are mapped only
 * when a config has a URL or file source. Its caps are known here without
 * loading it; the stream's start loads it, and when it is missing says
 * which package to install. */
#include <errno.h>

#include "core/module.h"
#include "source/source.h"

static const struct cr_source_ops_s *_url(char *err, size_t errlen)
{
	return cr_module_symbol("avformat", "cr_source_url", "camrelay-avformat", err, errlen);
}

static int _url_check(char *err, size_t errlen)
{
	return _url(err, errlen) ? 0 : -ENOPKG;
}

/* From here on the source runs on the module's own table. */
static int _url_open(struct cr_source_s *src)
{
	const struct cr_source_ops_s *ops = _url(src->error, sizeof(src->error));
	if (!ops)
		return -ENOPKG;
	src->ops = ops;
	return ops->open(src);
}

/* Reached only by a caller that kept this table past open(): the module is
 * loaded by then. */
static int _url_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	return _url(NULL, 0)->read(src, out, timeout_ms);
}

static void _url_close(struct cr_source_s *src)
{
	const struct cr_source_ops_s *ops = src->priv ? _url(NULL, 0) : NULL;
	if (ops)
		ops->close(src);
}

/* MJPEG as JPEG frames, anything else decoded (I420/NV12); the coded access
 * units of these codecs ride along for pass-through (frame->coded). */
static const struct cr_source_caps_s _url_caps = {
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NV12, CR_PIXFMT_MJPEG, CR_PIXFMT_NONE},
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H264, CR_CODEC_H265, CR_CODEC_VP8, CR_CODEC_VP9, CR_CODEC_AV1,
					    CR_CODEC_MJPEG, CR_CODEC_NONE},
	.dynamic = true,
};

const struct cr_source_ops_s cr_source_url_module = {
	.name = "url",
	.caps = &_url_caps,
	.source_key = "url",
	.check = _url_check,
	.open = _url_open,
	.read = _url_read,
	.close = _url_close,
};
