/* The frame consumers get while a source is unavailable: says what is wrong. */
#ifndef CR_PLACEHOLDER_H
#define CR_PLACEHOLDER_H

#include "core/frame.h"

/* An I420 frame "NO SIGNAL", the stream name, the time and `reason`. */
struct cr_frame_s *cr_placeholder_render(int w, int h, const char *stream, const char *reason);

#endif
