/* The libcamera source's entry in the core: the source itself (libcamera.c
 * and libcamera.cpp) is the module camrelay-libcamera.so (core/module.h), so
 * libcamera, libstdc++ and the ~20 libraries libcamera brings (GnuTLS,
 * LTTng, libdw, ...) are mapped only when a config captures through
 * libcamera. Its caps are known here without loading it; the stream's start
 * loads it, and when it is missing says which package to install. */
#include "source/libcamera_formats.h"
#include "source/source.h"

#include "core/module_entry.h"

CR_SOURCE_MODULE("libcamera", "cr_source_libcamera", "camrelay-libcamera")

const struct cr_source_ops_s cr_source_libcamera_module = {
	.name = "libcamera",
	.caps = &(const struct cr_source_caps_s){.formats = cr_lc_formats, .hardware = true},
	CR_SOURCE_MODULE_OPS,
	CR_SOURCE_MODULE_CONTROLS,
};
