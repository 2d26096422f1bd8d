/* Format negotiation for the V4L2 capture source (src/source/v4l2.c). */
#ifndef CR_V4L2_FMT_H
#define CR_V4L2_FMT_H

#include <linux/videodev2.h>
#include <stdbool.h>
#include <stddef.h>

#include "source/source.h"

/* Where each picture plane lives in the buffers of the negotiated format. */
struct cr_v4l2_layout_s {
	enum cr_pixfmt_e format;
	int width, height;
	int n_planes;
	int mem_plane[3]; /* which memory plane holds each picture plane */
	size_t offset[3]; /* and where in it */
	int stride[3];    /* bytesperline as the driver reports it */
	bool full_range;  /* Y'CbCr in full range (cr_v4l2_full_range) */
};

/* Chooses pixel format, size and frame interval for src->cfg among what the
 * device enumerates (exact match, else closest: format preference when none
 * is asked, size by area, rate nearest or fastest), sets them (S_FMT, S_PARM)
 * and fills fmt, layout, sizeimage, src->format/width/height/fps and
 * src->note when the result differs from the config. -errno and src->error
 * on failure. `type` is V4L2_BUF_TYPE_VIDEO_CAPTURE or _MPLANE. */
int cr_v4l2_negotiate(struct cr_source_s *src, int fd, const char *path, const char *card, uint32_t type,
		      struct v4l2_format *fmt, struct cr_v4l2_layout_s *layout, size_t *sizeimage);

/* For an input with DV timings (HDMI): sets what VIDIOC_QUERY_DV_TIMINGS
 * finds. -ENOLINK/-ENOLCK/-ERANGE with src->error when there is no usable
 * signal; 0 when nothing to do. */
int cr_v4l2_follow_dv_timings(struct cr_source_s *src, int fd, const char *path, const char *card, bool dv);

/* Whether frames of `format` with this V4L2 colorimetry carry full-range
 * Y'CbCr (0..255) rather than limited range (16..235/240): the driver's
 * quantization, or when that is V4L2_QUANTIZATION_DEFAULT, V4L2's default
 * for the colorspace (V4L2_MAP_QUANTIZATION_DEFAULT: full for
 * V4L2_COLORSPACE_JPEG, limited for other Y'CbCr). False for formats that
 * are not Y'CbCr with chroma (RGB, GREY, MJPEG, Bayer): their range is the
 * format's own (cr_frame_full_range). */
bool cr_v4l2_full_range(enum cr_pixfmt_e format, uint32_t quantization, uint32_t colorspace, uint32_t ycbcr_enc);

/* camrelay format of a V4L2 fourcc, multi-planar variants (NV12M) included. */
enum cr_pixfmt_e cr_v4l2_format_of(uint32_t fourcc);

#endif
