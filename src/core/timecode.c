/* The timecode block (layout in timecode.h). Hand-written: it is a few
 * dozen lines of cell drawing and sampling, and no packaged barcode library
 * writes into YUV planes or reads a fixed-position code this coarse. The
 * checksum is zlib's CRC-32. */
#include "core/timecode.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "convert/convert.h"
#include "core/clock.h"

#define _BITS 96
#define _DATA_ROWS 6
#define _INNER 16 /* cells per inner row */

/* The 96 bits, as cells in row-major order from (1, 2). */
static void _bits(const struct cr_timecode_s *tc, uint8_t bits[_BITS])
{
	uint8_t b[12];
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(tc->ms >> (40 - 8 * i));
	b[6] = (uint8_t)(tc->frame >> 8);
	b[7] = (uint8_t)tc->frame;
	uint32_t crc = (uint32_t)crc32(0L, b, 8);
	for (int i = 0; i < 4; i++)
		b[8 + i] = (uint8_t)(crc >> (24 - 8 * i));
	for (int i = 0; i < _BITS; i++)
		bits[i] = (b[i / 8] >> (7 - i % 8)) & 1;
}

/* Whether cell (cx, cy) of the block is white. */
static bool _white(const uint8_t bits[_BITS], int cx, int cy)
{
	if (cx == 0 || cy == 0 || cx == CR_TC_COLS - 1 || cy == CR_TC_ROWS - 1)
		return false; /* the ring */
	if (cy == 1)
		return cx <= _INNER / 2; /* reference: 8 white, 8 black */
	return bits[(cy - 2) * _INNER + (cx - 1)];
}

/* Sets the sample at column x of row r (elements of `step` bytes, the
 * value at byte `off`) to v over [x0, x1). */
static void _span(uint8_t *row, int x0, int x1, int step, int off, uint8_t v)
{
	for (int x = x0; x < x1; x++)
		row[x * step + off] = v;
}

/* Paints every cell of the block on one plane of `comps` samples a pixel:
 * lo/hi are black/white, `grey` goes to the other components (chroma). */
static void _paint(uint8_t *plane, int stride, int w, int h, int step, const int *off, int comps, uint8_t lo,
		   uint8_t hi, const uint8_t bits[_BITS])
{
	for (int cy = 0; cy < CR_TC_ROWS; cy++)
		for (int y = cy * h / CR_TC_GRID_H; y < (cy + 1) * h / CR_TC_GRID_H; y++)
			for (int cx = 0; cx < CR_TC_COLS; cx++) {
				uint8_t v = _white(bits, cx, cy) ? hi : lo;
				for (int c = 0; c < comps; c++)
					_span(plane + (size_t)y * stride, cx * w / CR_TC_GRID_W,
					      (cx + 1) * w / CR_TC_GRID_W, step, off[c], v);
			}
}

/* Neutral chroma over the block on a subsampled plane (sx, sy: shifts). */
static void _grey_chroma(uint8_t *plane, int stride, int w, int h, int sx, int sy, int step, int off)
{
	int x1 = (CR_TC_COLS * w / CR_TC_GRID_W + (1 << sx) - 1) >> sx;
	int y1 = (CR_TC_ROWS * h / CR_TC_GRID_H + (1 << sy) - 1) >> sy;
	for (int y = 0; y < y1; y++)
		_span(plane + (size_t)y * stride, 0, x1, step, off, 128);
}

int cr_timecode_draw(struct cr_frame_s *f, const struct cr_timecode_s *tc)
{
	int w = f->width, h = f->height;
	if (w < CR_TC_MIN_W || h < CR_TC_MIN_H)
		return -EINVAL;
	uint8_t bits[_BITS];
	_bits(tc, bits);
	static const int o0[] = {0}, o1[] = {1}, rgb[] = {0, 1, 2};
	/* Raw YUV is limited range unless flagged full; RGB and Bayer are 0..255. */
	uint8_t lo = f->full_range ? 0 : 16, hi = f->full_range ? 255 : 235;
	switch (f->format) {
	case CR_PIXFMT_YUV420:
		_paint(f->data[0], f->stride[0], w, h, 1, o0, 1, lo, hi, bits);
		_grey_chroma(f->data[1], f->stride[1], w, h, 1, 1, 1, 0);
		_grey_chroma(f->data[2], f->stride[2], w, h, 1, 1, 1, 0);
		return 0;
	case CR_PIXFMT_NV12:
		_paint(f->data[0], f->stride[0], w, h, 1, o0, 1, lo, hi, bits);
		_grey_chroma(f->data[1], f->stride[1], w, h, 1, 1, 2, 0);
		_grey_chroma(f->data[1], f->stride[1], w, h, 1, 1, 2, 1);
		return 0;
	case CR_PIXFMT_GREY:
		_paint(f->data[0], f->stride[0], w, h, 1, o0, 1, 0, 255, bits);
		return 0;
	case CR_PIXFMT_YUYV:
	case CR_PIXFMT_YVYU:
	case CR_PIXFMT_UYVY: {
		int y_off = f->format == CR_PIXFMT_UYVY ? 1 : 0;
		_grey_chroma(f->data[0], f->stride[0], w, h, 0, 0, 2, 1 - y_off);
		_paint(f->data[0], f->stride[0], w, h, 2, y_off ? o1 : o0, 1, lo, hi, bits);
		return 0;
	}
	case CR_PIXFMT_RGB24:
	case CR_PIXFMT_BGR24:
		_paint(f->data[0], f->stride[0], w, h, 3, rgb, 3, 0, 255, bits);
		return 0;
	case CR_PIXFMT_SBGGR8:
	case CR_PIXFMT_SGBRG8:
	case CR_PIXFMT_SGRBG8:
	case CR_PIXFMT_SRGGB8:
		_paint(f->data[0], f->stride[0], w, h, 1, o0, 1, 0, 255, bits);
		return 0;
	default:
		return -ENOTSUP;
	}
}

/* Mean of the middle half (each way) of cell (cx, cy). */
static int _cell_mean(const uint8_t *p, int stride, int w, int h, int cx, int cy)
{
	int x0 = cx * w / CR_TC_GRID_W, x1 = (cx + 1) * w / CR_TC_GRID_W;
	int y0 = cy * h / CR_TC_GRID_H, y1 = (cy + 1) * h / CR_TC_GRID_H;
	int qx = (x1 - x0) / 4, qy = (y1 - y0) / 4;
	x0 += qx, x1 -= qx, y0 += qy, y1 -= qy;
	if (x1 <= x0)
		x1 = x0 + 1;
	if (y1 <= y0)
		y1 = y0 + 1;
	int sum = 0;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			sum += p[(size_t)y * stride + x];
	return sum / ((x1 - x0) * (y1 - y0));
}

int cr_timecode_read(const uint8_t *luma, int stride, int w, int h, struct cr_timecode_s *tc)
{
	if (w < CR_TC_MIN_W || h < CR_TC_MIN_H)
		return -EINVAL;
	int white = 0, black = 0, ref[_INNER];
	for (int i = 0; i < _INNER; i++) {
		ref[i] = _cell_mean(luma, stride, w, h, i + 1, 1);
		if (i < _INNER / 2)
			white += ref[i];
		else
			black += ref[i];
	}
	white /= _INNER / 2;
	black /= _INNER / 2;
	if (white - black < 48)
		return -EBADMSG; /* no code here, or washed out */
	int mid = (white + black) / 2;
	for (int i = 0; i < _INNER; i++)
		if ((ref[i] > mid) != (i < _INNER / 2))
			return -EBADMSG;
	uint8_t b[12] = {0};
	for (int i = 0; i < _BITS; i++)
		if (_cell_mean(luma, stride, w, h, 1 + i % _INNER, 2 + i / _INNER) > mid)
			b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	uint32_t crc = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
	if ((uint32_t)crc32(0L, b, 8) != crc)
		return -EBADMSG;
	tc->ms = 0;
	for (int i = 0; i < 6; i++)
		tc->ms = tc->ms << 8 | b[i];
	tc->frame = (uint16_t)(b[6] << 8 | b[7]);
	return 0;
}

uint64_t cr_timecode_wall_ms(int64_t mono_ns)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	int64_t now = cr_now_ns();
	int64_t wall_ns = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec - (now - mono_ns);
	return (uint64_t)(wall_ns / 1000000);
}

/* A tightly packed copy of a raw frame. */
static struct cr_frame_s *_copy(const struct cr_frame_s *f)
{
	struct cr_frame_s *c = cr_frame_new(f->format, f->width, f->height, 0);
	if (!c)
		return NULL;
	int stride[3], rows[3];
	int n = cr_pixfmt_planes(f->format, f->width, f->height, stride, rows);
	for (int p = 0; p < n; p++)
		for (int y = 0; y < rows[p]; y++)
			memcpy(c->data[p] + (size_t)y * c->stride[p], f->data[p] + (size_t)y * f->stride[p],
			       (size_t)stride[p]);
	return c;
}

struct cr_frame_s *cr_timecode_stamp(const struct cr_frame_s *f, struct cr_converter_s **conv,
				     atomic_uint_least64_t *copied)
{
	struct cr_frame_s *out;
	if (f->format == CR_PIXFMT_MJPEG) {
		if (!*conv && !(*conv = cr_converter_new()))
			return NULL;
		out = cr_frame_new(CR_PIXFMT_YUV420, f->width, f->height, 0);
		if (out && cr_converter_run(*conv, f, out) < 0) {
			cr_frame_unref(out);
			return NULL;
		}
	} else {
		out = _copy(f);
		if (out)
			out->full_range = f->full_range;
	}
	if (!out)
		return NULL;
	out->seq = f->seq;
	out->ts_capture_ns = f->ts_capture_ns;
	out->placeholder = f->placeholder;
	atomic_fetch_add(copied, out->size);
	struct cr_timecode_s tc = {cr_timecode_wall_ms(f->ts_capture_ns), (uint16_t)f->seq};
	cr_timecode_draw(out, &tc);
	return out;
}
