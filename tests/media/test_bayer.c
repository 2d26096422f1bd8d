/* Bayer demosaic (src/convert/bayer.c) through the public converter, on the
 * host: a mosaic sampled from a known RGB picture of flat colour bars must
 * come back, after Bayer -> I420, as the same colours that libyuv's own
 * RGB -> I420 gives for the picture (inside each bar; edges blur by design),
 * for all four Bayer orders and for odd row counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "core/frame.h"

static const uint8_t _bars[8][3] = {{191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0},
				    {191, 0, 191},   {191, 0, 0},     {0, 0, 191},   {0, 0, 0}};

/* Colour index (0 R, 1 G, 2 B) of site (x, y) for each order. */
static int _site(enum cr_pixfmt_e f, int x, int y)
{
	static const char *orders[] = {"BGGR", "GBRG", "GRBG", "RGGB"};
	const char *o = orders[f - CR_PIXFMT_SBGGR8];
	char c = o[(y & 1) * 2 + (x & 1)];
	return c == 'R' ? 0 : c == 'G' ? 1 : 2;
}

static int _run(enum cr_pixfmt_e fmt, int w, int h)
{
	struct cr_frame_s *rgb = cr_frame_new(CR_PIXFMT_RGB24, w, h, 0);
	struct cr_frame_s *raw = cr_frame_new(fmt, w, h, 0);
	struct cr_frame_s *a = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0), *b = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
	struct cr_converter_s *c = cr_converter_new();
	int bad = 0;
	if (!rgb || !raw || !a || !b || !c) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			const uint8_t *px = _bars[x * 8 / w];
			memcpy(rgb->data[0] + y * rgb->stride[0] + 3 * x, px, 3);
			raw->data[0][y * raw->stride[0] + x] = px[_site(fmt, x, y)];
		}
	if (cr_converter_run(c, rgb, a) < 0 || cr_converter_run(c, raw, b) < 0) {
		fprintf(stderr, "%s %dx%d: conversion failed: %s\n", cr_pixfmt_name(fmt), w, h, cr_converter_error(c));
		return 1;
	}
	/* Inside each bar (3 pixels from edges between bars), Y, U and V agree within 2. */
	for (int y = 0; y < h && !bad; y++)
		for (int x = 0; x < w && !bad; x++) {
			int bar = x * 8 / w, x0 = bar * w / 8, x1 = (bar + 1) * w / 8;
			/* The image's own borders are checked too (mirrored samples). */
			if ((x < x0 + 3 && bar > 0) || (x >= x1 - 3 && bar < 7))
				continue;
			int ya = a->data[0][y * a->stride[0] + x], yb = b->data[0][y * b->stride[0] + x];
			int ua = a->data[1][y / 2 * a->stride[1] + x / 2], ub = b->data[1][y / 2 * b->stride[1] + x / 2];
			int va = a->data[2][y / 2 * a->stride[2] + x / 2], vb = b->data[2][y / 2 * b->stride[2] + x / 2];
			if (abs(ya - yb) > 2 || abs(ua - ub) > 2 || abs(va - vb) > 2) {
				fprintf(stderr, "%s %dx%d at (%d,%d) bar %d: YUV %d,%d,%d from the mosaic vs %d,%d,%d\n",
					cr_pixfmt_name(fmt), w, h, x, y, bar, yb, ub, vb, ya, ua, va);
				bad = 1;
			}
		}
	if (!bad)
		printf("%s %dx%d: every bar's inside matches\n", cr_pixfmt_name(fmt), w, h);
	cr_converter_destroy(c);
	cr_frame_unref(rgb), cr_frame_unref(raw), cr_frame_unref(a), cr_frame_unref(b);
	return bad;
}

int main(void)
{
	int bad = 0;
	for (enum cr_pixfmt_e f = CR_PIXFMT_SBGGR8; f <= CR_PIXFMT_SRGGB8; f++) {
		bad |= _run(f, 320, 240);
		bad |= _run(f, 160, 91); /* odd height: last row alone */
	}
	return bad;
}
