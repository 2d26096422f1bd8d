/* Range conversion by hand: libyuv (Debian 12's 0.0~git20230123) has no
 * plane-to-plane range conversion (its J420 "JPEG" paths only go to and from
 * RGB), and a 256-entry table costs ~0.5 ms per 720p frame, a third of the
 * whole MJPEG path of the test pattern; this is ~4x faster. The affine map in
 * 8.8 fixed point on int16 lanes (GCC vector extensions: the same formula for
 * vectors and the scalar row tail):
 *
 *   limited → full:  Y' = (Y - 16) * 255/219       C' = 128 + (C - 128) * 255/224
 *   full → limited:  Y' = 16 + Y * 219/255         C' = 128 + (C - 128) * 224/255
 *
 * Each gain is split into 1 ± f with f < 1/4, so no product exceeds 15 bits.
 * Results are within 1 of the exactly rounded value; values outside the
 * limited range (Y < 16, Y > 235, ...) clamp to 0..255. */
#include "convert/range.h"

#include <stdint.h>
#include <string.h>

typedef uint8_t _u8x8 __attribute__((vector_size(8)));
typedef int16_t _i16x8 __attribute__((vector_size(16)));

/* The four maps, on values 0..255 in an int or in an _i16x8's lanes. */
#define _LUMA_FULL(v) (((v) - 16) + ((((v) - 16) * 42 + 128) >> 8))
#define _CHROMA_FULL(v) ((v) + ((((v) - 128) * 36 + 128) >> 8))
#define _LUMA_LIMITED(v) (16 + (v) - (((v) * 36 + 128) >> 8))
#define _CHROMA_LIMITED(v) (128 + ((((v) - 128) * 225 + 128) >> 8))

#if defined(__SSE2__)
#include <emmintrin.h>
/* x86: 16 pixels a step, widened and narrowed by SSE2 (packus clamps to
 * 0..255 on the way back). */
#define _ROW_VEC(map)                                                                              \
	const __m128i z = _mm_setzero_si128();                                                     \
	for (; x + 16 <= w; x += 16) {                                                             \
		__m128i in = _mm_loadu_si128((const __m128i *)(s + x));                            \
		_i16x8 a = (_i16x8)_mm_unpacklo_epi8(in, z), b = (_i16x8)_mm_unpackhi_epi8(in, z); \
		_mm_storeu_si128((__m128i *)(d + x), _mm_packus_epi16((__m128i)map(a), (__m128i)map(b))); \
	}
#else
/* Elsewhere (NEON, ...): 8 pixels a step, widened and clamped portably. */
#define _ROW_VEC(map)                                                                              \
	const _i16x8 lo = {0}, hi = lo + 255;                                                      \
	for (; x + 8 <= w; x += 8) {                                                               \
		_u8x8 in;                                                                          \
		memcpy(&in, s + x, sizeof(in));                                                    \
		_i16x8 r = map(__builtin_convertvector(in, _i16x8));                               \
		r &= ~(r < lo);                                                                    \
		r = (r & ~(r > hi)) | (hi & (r > hi));                                             \
		_u8x8 out = __builtin_convertvector(r, _u8x8);                                     \
		memcpy(d + x, &out, sizeof(out));                                                  \
	}
#endif

/* One row: the vector steps, then the tail pixel by pixel. */
#define _ROW(name, map)                                                                            \
	static void name(const uint8_t *s, uint8_t *d, int w)                                      \
	{                                                                                          \
		int x = 0;                                                                         \
		_ROW_VEC(map)                                                                      \
		for (; x < w; x++) {                                                               \
			int r = map((int)s[x]);                                                    \
			d[x] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);                           \
		}                                                                                  \
	}

_ROW(_row_luma_full, _LUMA_FULL)
_ROW(_row_chroma_full, _CHROMA_FULL)
_ROW(_row_luma_limited, _LUMA_LIMITED)
_ROW(_row_chroma_limited, _CHROMA_LIMITED)

void cr_range_plane(const uint8_t *s, int ss, uint8_t *d, int ds, int w, int h, bool chroma, bool to_full)
{
	void (*row)(const uint8_t *, uint8_t *, int) =
		chroma ? (to_full ? _row_chroma_full : _row_chroma_limited) :
			 (to_full ? _row_luma_full : _row_luma_limited);
	for (int y = 0; y < h; y++, s += ss, d += ds)
		row(s, d, w);
}

void cr_range_i420(const struct cr_frame_s *in, struct cr_frame_s *out, bool to_full)
{
	int cw = (in->width + 1) / 2, ch = (in->height + 1) / 2;
	cr_range_plane(in->data[0], in->stride[0], out->data[0], out->stride[0], in->width, in->height, false,
		       to_full);
	for (int p = 1; p < 3; p++)
		cr_range_plane(in->data[p], in->stride[p], out->data[p], out->stride[p], cw, ch, true, to_full);
	out->full_range = to_full;
}
