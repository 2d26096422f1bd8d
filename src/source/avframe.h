/* Decoded libavcodec pictures as camrelay frames, shared by the URL and file
 * sources. */
#ifndef CR_SOURCE_AVFRAME_H
#define CR_SOURCE_AVFRAME_H

#include <libavutil/frame.h>

#include "core/frame.h"

/* Wraps an I420 or NV12 picture (yuv420p, yuvj420p, nv12) without copying
 * its planes; the frame owns av from then on (and frees it with its coded
 * packet, if one is attached later). NULL for other formats (av untouched). */
struct cr_frame_s *cr_av_wrap(AVFrame *av);

/* Whether the picture is full-range YUV (yuvj formats, or color_range JPEG). */
bool cr_av_full_range(const AVFrame *av);

#endif
