/* The file source's entry in the core: the source itself (file.c, with
 * avframe.c) is in the module camrelay-avformat.so (core/module.h), with the
 * URL source (url_module.c). Its caps are known here without loading it;
 * the stream's start loads it, and when it is missing says which package to
 * install. */
#include "source/source.h"

#include "core/module_entry.h"

CR_SOURCE_MODULE("avformat", "cr_source_file", "camrelay-avformat")

const struct cr_source_ops_s cr_source_file_module = {
	.name = "file",
	/* decoded by libavcodec (I420/NV12, source/avframe.c); its size may change mid-file */
	.caps = &(const struct cr_source_caps_s){.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NV12,
										     CR_PIXFMT_NONE},
						 .dynamic = true},
	.source_key = "file",
	CR_SOURCE_MODULE_OPS,
};
