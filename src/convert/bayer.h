/* 8-bit Bayer mosaic to I420 (src/convert/bayer.c). */
#ifndef CR_BAYER_H
#define CR_BAYER_H

#include "core/frame.h"

/* Demosaics in (CR_PIXFMT_S*8) into out (I420, same size). 0, or -EINVAL
 * when the formats or sizes do not fit. */
int cr_bayer_to_i420(const struct cr_frame_s *in, struct cr_frame_s *out);

#endif
