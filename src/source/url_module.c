/* The URL source's entry in the core: the source itself (url.c, with
 * avframe.c) is in the module camrelay-avformat.so (core/module.h), so
 * libavformat, libavcodec and the ~100 libraries they bring are mapped only
 * when a config has a URL or file source. Its caps are known here without
 * loading it; the stream's start loads it, and when it is missing says
 * which package to install. */
#include "source/source.h"

#include "core/module_entry.h"

CR_SOURCE_MODULE("avformat", "cr_source_url", "camrelay-avformat")

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
	CR_SOURCE_MODULE_OPS,
};
