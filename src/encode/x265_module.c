/* The x265 encoder's entry in the core: the encoder itself (x265.c) is the
 * module camrelay-x265.so (core/module.h), so libx265 is mapped only when a
 * config encodes H.265 in software. Name, codec, input formats and options
 * are known here without loading it; the start-up check loads it, and when
 * it is missing says which package to install (core/module_entry.h). */
#include "encode/sw.h"

#include "core/module_entry.h"

CR_ENCODER_MODULE("x265", "cr_encoder_x265", "camrelay-x265")

const struct cr_encoder_ops_s cr_encoder_x265_module = {
	.name = "x265",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H265, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	CR_ENCODER_MODULE_OPS,
};
