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

/* camrelay format of a V4L2 fourcc, multi-planar variants (NV12M) included. */
enum cr_pixfmt_e cr_v4l2_format_of(uint32_t fourcc);

#endif
