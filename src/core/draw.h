/* Text and boxes on 8-bit planes (the luma of a YUV frame). The test source,
 * placeholder frames and on-screen displays use it. */
#ifndef CR_DRAW_H
#define CR_DRAW_H

#include <stdint.h>

/* Draws `text` with the built-in 5x7 font scaled by `scale`, on a box of
 * `bg` (bg < 0: transparent). Returns the width drawn, in pixels. Clipped to
 * the plane. Lower case is drawn as upper case. */
int cr_draw_text(uint8_t *plane, int stride, int w, int h, int x, int y, int scale, const char *text,
		 uint8_t fg, int bg);
int cr_draw_text_width(const char *text, int scale);
void cr_draw_box(uint8_t *plane, int stride, int w, int h, int x, int y, int bw, int bh, uint8_t v);

#endif
