/* Bayer demosaicing, hand-written: Debian 12's libyuv (0.0.1857) dropped
 * its Bayer converters years ago, libjpeg-turbo and libv4l2 have none that
 * can be called on a buffer (libv4lconvert's is internal and only reached
 * through its fake-format emulation), and nothing else in Debian offers one
 * as a plain C function.
 *
 * Bilinear interpolation, the textbook method: each missing colour is the
 * mean of its nearest samples of that colour (2 or 4 neighbours). Two rows
 * at a time are written as R,G,B (libyuv "RAW") into a small scratch buffer
 * and handed to RAWToI420, so the colour conversion stays libyuv's. Borders
 * mirror (x = -1 reads x = 1), which keeps the mosaic's parity. */
#include "convert/bayer.h"

#include <errno.h>
#include <libyuv.h>
#include <stdlib.h>

/* Colour (0 R, 1 G, 2 B) of the top-left 2x2 cell, row-major. */
static int _pattern(enum cr_pixfmt_e f, int cell[4])
{
	static const int p[4][4] = {
		{2, 1, 1, 0}, /* BGGR */
		{1, 2, 0, 1}, /* GBRG */
		{1, 0, 2, 1}, /* GRBG */
		{0, 1, 1, 2}, /* RGGB */
	};
	int i = f == CR_PIXFMT_SBGGR8 ? 0 : f == CR_PIXFMT_SGBRG8 ? 1 : f == CR_PIXFMT_SGRBG8 ? 2 : f == CR_PIXFMT_SRGGB8 ? 3 : -1;
	if (i < 0)
		return -EINVAL;
	for (int k = 0; k < 4; k++)
		cell[k] = p[i][k];
	return 0;
}

static inline int _m(int v, int n)
{
	return v < 0 ? -v : v >= n ? 2 * n - 2 - v : v;
}

/* A green site: the row's other colour is left/right, the third up/down. */
static inline void _g(const uint8_t *up, const uint8_t *cur, const uint8_t *dn, int x, int xl, int xr, int other,
		      uint8_t *o)
{
	o[1] = cur[x];
	o[other] = (uint8_t)((cur[xl] + cur[xr] + 1) >> 1);
	o[2 - other] = (uint8_t)((up[x] + dn[x] + 1) >> 1);
}

/* A red or blue site: green from the four neighbours, the other from the
 * four diagonals. */
static inline void _rb(const uint8_t *up, const uint8_t *cur, const uint8_t *dn, int x, int xl, int xr, int c,
		       uint8_t *o)
{
	o[c] = cur[x];
	o[1] = (uint8_t)((up[x] + dn[x] + cur[xl] + cur[xr] + 2) >> 2);
	o[2 - c] = (uint8_t)((up[xl] + up[xr] + dn[xl] + dn[xr] + 2) >> 2);
}

static inline void _px(const uint8_t *up, const uint8_t *cur, const uint8_t *dn, int x, int w, int c, int other,
		       uint8_t *o)
{
	int xl = _m(x - 1, w), xr = _m(x + 1, w);
	if (c == 1)
		_g(up, cur, dn, x, xl, xr, other, o);
	else
		_rb(up, cur, dn, x, xl, xr, c, o);
}

static void _row(const struct cr_frame_s *in, const int cell[4], int y, uint8_t *rgb)
{
	const int w = in->width, h = in->height, s = in->stride[0];
	const uint8_t *up = in->data[0] + (size_t)_m(y - 1, h) * (size_t)s, *cur = in->data[0] + (size_t)y * (size_t)s,
		      *dn = in->data[0] + (size_t)_m(y + 1, h) * (size_t)s;
	/* Colours of even and odd columns on this row: one is green. */
	const int c0 = cell[(y & 1) * 2], c1 = cell[(y & 1) * 2 + 1];
	const int rb = c0 == 1 ? c1 : c0;
	int x = 1;
	_px(up, cur, dn, 0, w, c0, rb, rgb);
	/* Interior pairs (odd x, even x + 1) need no mirroring; one loop per
	 * phase so the inner body has no branch. */
	if (c1 == 1)
		for (; x + 2 < w; x += 2) {
			_g(up, cur, dn, x, x - 1, x + 1, rb, rgb + 3 * x);
			_rb(up, cur, dn, x + 1, x, x + 2, rb, rgb + 3 * (x + 1));
		}
	else
		for (; x + 2 < w; x += 2) {
			_rb(up, cur, dn, x, x - 1, x + 1, rb, rgb + 3 * x);
			_g(up, cur, dn, x + 1, x, x + 2, rb, rgb + 3 * (x + 1));
		}
	for (; x < w; x++)
		_px(up, cur, dn, x, w, (x & 1) ? c1 : c0, rb, rgb + 3 * x);
}

int cr_bayer_to_i420(const struct cr_frame_s *in, struct cr_frame_s *out)
{
	int cell[4];
	if (_pattern(in->format, cell) < 0 || out->format != CR_PIXFMT_YUV420 || in->width != out->width ||
	    in->height != out->height || in->width < 2 || in->height < 2)
		return -EINVAL;
	const int w = in->width, h = in->height;
	uint8_t *rgb = malloc((size_t)w * 3 * 2);
	if (!rgb)
		return -ENOMEM;
	for (int y = 0; y < h; y += 2) {
		int rows = y + 1 < h ? 2 : 1;
		_row(in, cell, y, rgb);
		if (rows == 2)
			_row(in, cell, y + 1, rgb + (size_t)w * 3);
		RAWToI420(rgb, w * 3, out->data[0] + (size_t)y * (size_t)out->stride[0], out->stride[0],
			  out->data[1] + (size_t)(y / 2) * (size_t)out->stride[1], out->stride[1],
			  out->data[2] + (size_t)(y / 2) * (size_t)out->stride[2], out->stride[2], w, rows);
	}
	free(rgb);
	return 0;
}
