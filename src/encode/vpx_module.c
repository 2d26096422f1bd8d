/* The libvpx (VP8, VP9) encoder's entry in the core: the encoder itself
 * (vpx.c) is the module camrelay-vpx.so (core/module.h), so libvpx is mapped
 * only when a config encodes VP8 or VP9 in software (core/module_entry.h). */
#include "encode/sw.h"

#include "core/module_entry.h"

CR_ENCODER_MODULE("vpx", "cr_encoder_vpx", "camrelay-vpx")

const struct cr_encoder_ops_s cr_encoder_vpx_module = {
	.name = "vpx",
	.options = cr_sw_options,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_VP8, CR_CODEC_VP9, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NONE},
	CR_ENCODER_MODULE_OPS,
};
