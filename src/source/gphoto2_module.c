/* The gphoto2 source's entry in the core, and the camera listing's: the
 * source itself (gphoto2.c) is the module camrelay-gphoto2.so
 * (core/module.h), so libgphoto2, libexif and libltdl are mapped only when a
 * config captures from a DSLR or `camrelay list`/`webcam` looks for one. Its
 * caps are known here without loading it; the stream's start loads it, and
 * when it is missing says which package to install (core/module_entry.h). */
#include "source/gphoto2.h"
#include "source/source.h"

#include "core/module_entry.h"

CR_SOURCE_MODULE("gphoto2", "cr_source_gphoto2", "camrelay-gphoto2")

int cr_gphoto2_list(struct cr_gphoto2_camera_s *out, int max)
{
	const struct cr_gphoto2_module_s *m =
		cr_module_symbol("gphoto2", "cr_gphoto2_module", "camrelay-gphoto2", NULL, 0);
	return m ? m->list(out, max) : -ENOPKG;
}

const struct cr_source_ops_s cr_source_gphoto2_module = {
	.name = "gphoto2",
	/* the camera's live view: one JPEG per frame */
	.caps = &(const struct cr_source_caps_s){.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_MJPEG, CR_PIXFMT_NONE},
						 .hardware = true},
	CR_SOURCE_MODULE_OPS,
	CR_SOURCE_MODULE_CONTROLS,
};
