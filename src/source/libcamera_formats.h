/* The formats camrelay takes from libcamera: the libcamera source's caps,
 * checked at config load by its entry in the core (libcamera_module.c) and
 * mapped to DRM fourccs by the source in the module (libcamera.c). */
#ifndef CR_SOURCE_LIBCAMERA_FORMATS_H
#define CR_SOURCE_LIBCAMERA_FORMATS_H

#include "core/format.h"

static const enum cr_pixfmt_e cr_lc_formats[] = {
	CR_PIXFMT_YUYV,	 CR_PIXFMT_UYVY,  CR_PIXFMT_YVYU, CR_PIXFMT_NV12,  CR_PIXFMT_YUV420,
	CR_PIXFMT_RGB24, CR_PIXFMT_BGR24, CR_PIXFMT_GREY, CR_PIXFMT_MJPEG, CR_PIXFMT_NONE,
};

#endif
