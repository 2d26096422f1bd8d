/* The x264 (H.264) encoder's entry in the core: the encoder itself (x264.c)
 * is the module camrelay-x264.so (core/module.h), so libx264 is mapped only
 * when a config encodes H.264 in software (core/module_entry.h). */
#include "encode/sw.h"

#include "core/module_entry.h"

CR_ENCODER_MODULE("x264", "cr_encoder_x264", "camrelay-x264")

const struct cr_encoder_ops_s cr_encoder_x264_module = {
	.name = "x264",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H264, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NV12, CR_PIXFMT_NONE},
	CR_ENCODER_MODULE_OPS,
};
