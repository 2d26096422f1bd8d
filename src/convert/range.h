/* YCbCr range conversion between BT.601 limited range ("studio": Y 16..235,
 * Cb/Cr 16..240; what V4L2 cameras, the test source, the encoders and
 * v4l2loopback consumers carry) and full range (0..255 on every plane; what
 * a JFIF JPEG holds, so what libjpeg-turbo takes and gives as YUV planes).
 * src/convert/range.c. */
#ifndef CR_RANGE_H
#define CR_RANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/frame.h"

/* One plane (luma, or with `chroma` Cb or Cr) of w x h from src into dst
 * (may be the same) at the other range. */
void cr_range_plane(const uint8_t *src, int src_stride, uint8_t *dst, int dst_stride, int w, int h,
		    bool chroma, bool to_full);

/* Rewrites the I420 planes of `in` into `out` (same size; may be the same
 * frame: in place) at the other range: to full range when `to_full`, else to
 * limited range. Sets out->full_range. */
void cr_range_i420(const struct cr_frame_s *in, struct cr_frame_s *out, bool to_full);

#endif
