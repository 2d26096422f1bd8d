/* The libaom (AV1) encoder's entry in the core: the encoder itself (aom.c)
 * is the module camrelay-aom.so (core/module.h), so libaom is mapped only
 * when a config encodes AV1 in software (core/module_entry.h). */
#include "encode/sw.h"

#include "core/module_entry.h"

CR_ENCODER_MODULE("aom", "cr_encoder_aom", "camrelay-aom")

const struct cr_encoder_ops_s cr_encoder_aom_module = {
	.name = "aom",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_AV1, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	CR_ENCODER_MODULE_OPS,
};
