/* YUV range between JPEGs (full range, JFIF) and raw frames (BT.601 limited
 * range): the range maps themselves, the converter on a real JPEG made by
 * libjpeg-turbo, and the stream core both ways with the test source (limited
 * I420 → JPEG subscribers; its JPEG output → raw subscribers). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "convert/convert.h"
#include "convert/range.h"
#include "core/clock.h"
#include "core/stream.h"
#include "tests/check.h"

#define NEAR(got, want, tol) ((got) >= (want) - (tol) && (got) <= (want) + (tol))

/* Every value 0..255 on odd widths (vector steps and tails), both ways,
 * against the exact formulas: within 1, limited ends exact. */
static void test_maps(void)
{
	for (int w = 1; w <= 40; w += 13) {
		struct cr_frame_s *a = cr_frame_new(CR_PIXFMT_YUV420, 256 * 2 + w, 2, 0);
		struct cr_frame_s *b = cr_frame_new(CR_PIXFMT_YUV420, a->width, 2, 0);
		for (int p = 0; p < 3; p++)
			for (int x = 0; x < a->stride[p]; x++)
				a->data[p][x] = (uint8_t)x;
		for (int to_full = 0; to_full < 2; to_full++) {
			cr_range_i420(a, b, to_full);
			CHECK(b->full_range == to_full, "flag");
			for (int p = 0; p < 3; p++)
				for (int x = 0; x < (p ? (a->width + 1) / 2 : a->width); x++) {
					double v = a->data[p][x], e;
					if (to_full)
						e = p ? (v - 128) * 255 / 224 + 128 : (v - 16) * 255 / 219;
					else
						e = p ? (v - 128) * 224 / 255 + 128 : v * 219 / 255 + 16;
					e = e < 0 ? 0 : e > 255 ? 255 : e;
					CHECK(NEAR(b->data[p][x], e, 1.0), "plane %d: %d -> %d, exact %.1f (to_full %d)",
					      p, (int)v, b->data[p][x], e, to_full);
				}
		}
		cr_range_i420(a, b, false);
		CHECK(b->data[0][0] == 16 && b->data[0][255] == 235, "Y 0/255 -> %d/%d", b->data[0][0],
		      b->data[0][255]);
		CHECK(b->data[1][0] == 16 && b->data[1][255] == 240 && b->data[1][128] == 128, "C -> %d/%d/%d",
		      b->data[1][0], b->data[1][255], b->data[1][128]);
		cr_range_i420(a, b, true);
		CHECK(b->data[0][16] == 0 && b->data[0][235] == 255 && b->data[0][180] == 191, "Y 16/235/180 -> %d/%d/%d",
		      b->data[0][16], b->data[0][235], b->data[0][180]);
		CHECK(b->data[1][16] == 0 && b->data[1][240] == 255 && b->data[1][128] == 128, "C -> %d/%d/%d",
		      b->data[1][16], b->data[1][240], b->data[1][128]);
		cr_frame_unref(a);
		cr_frame_unref(b);
	}
}

/* A full-range JPEG (libjpeg-turbo, from planes): left half black (Y 0),
 * right half white (Y 255), grey chroma; the bottom quarter Cb 0 / Cr 255. */
/* cr_jpeg_encode from every layout it takes, at sizes that are and are not
 * multiples of 16 (padding on the right and bottom): the JPEG of a
 * limited-range picture is byte for byte what libjpeg-turbo's TurboJPEG API
 * makes of its full-range expansion as whole planes (same quality, fast DCT,
 * edges padded by repeating the last column and row); the bytes expanded are
 * counted; a buffer too small fails with -ENOSPC and leaves the encoder
 * usable. */
static void test_jpeg_layouts(void)
{
	static const int sizes[][2] = {{320, 240}, {170, 94}, {162, 90}};
	static const enum cr_pixfmt_e fmts[] = {CR_PIXFMT_YUV420, CR_PIXFMT_NV12, CR_PIXFMT_YUYV, CR_PIXFMT_YVYU,
						CR_PIXFMT_UYVY};
	struct cr_jpeg_enc_s *j = cr_jpeg_enc_new();
	struct cr_converter_s *c = cr_converter_new();
	tjhandle tj = tjInitCompress();
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		int w = sizes[si][0], h = sizes[si][1], cw = (w + 1) / 2, ch = (h + 1) / 2;
		struct cr_frame_s *ref = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) /* bars and a ramp: every block has detail */
				ref->data[0][y * ref->stride[0] + x] = (uint8_t)((x / 5) % 2 ? 16 + (x + 2 * y) % 200 : 235);
		for (int y = 0; y < ch; y++)
			for (int x = 0; x < cw; x++) {
				ref->data[1][y * ref->stride[1] + x] = (uint8_t)(16 + (x * 7 + y * 3) % 224);
				ref->data[2][y * ref->stride[2] + x] = (uint8_t)(240 - (y * 5) % 224);
			}
		struct cr_frame_s *full = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
		cr_range_i420(ref, full, true);
		size_t cap = (size_t)w * h * 2 + 65536;
		uint8_t *want = malloc(cap), *out = malloc(cap);
		unsigned long want_len = cap;
		const unsigned char *planes[3] = {full->data[0], full->data[1], full->data[2]};
		CHECK(tjCompressFromYUVPlanes(tj, planes, w, full->stride, h, TJSAMP_420, &want, &want_len, 95,
					      TJFLAG_NOREALLOC | TJFLAG_FASTDCT) == 0,
		      "TurboJPEG %dx%d", w, h);
		for (size_t fi = 0; fi < sizeof(fmts) / sizeof(fmts[0]); fi++) {
			struct cr_frame_s *in = ref;
			if (fmts[fi] != CR_PIXFMT_YUV420) {
				in = cr_frame_new(fmts[fi], w, h, 0);
				CHECK(cr_converter_run(c, ref, in) == 0, "%s", cr_converter_error(c));
			}
			const char *name = cr_pixfmt_name(fmts[fi]);
			size_t expanded = 0;
			CHECK(cr_jpeg_encode(j, in, 95, out, 100, &expanded) == -ENOSPC, "%s %dx%d: 100 bytes", name,
			      w, h);
			long len = cr_jpeg_encode(j, in, 95, out, cap, &expanded);
			CHECK(len > 0 && expanded == (size_t)w * h + 2 * (size_t)cw * ch,
			      "%s %dx%d: %ld bytes, %zu expanded", name, w, h, len, expanded);
			CHECK(len == (long)want_len && memcmp(out, want, want_len) == 0,
			      "%s %dx%d: %ld bytes, not TurboJPEG's %lu", name, w, h, len, want_len);
			if (in != ref)
				cr_frame_unref(in);
		}
		/* Full range: read in place when a multiple of 16, nothing expanded. */
		size_t expanded = 1;
		long len = cr_jpeg_encode(j, full, 95, out, cap, &expanded);
		bool aligned = w % 16 == 0 && h % 16 == 0;
		CHECK(len == (long)want_len && memcmp(out, want, want_len) == 0 &&
			      (aligned ? expanded == 0 : expanded > 0),
		      "full-range %dx%d: %ld bytes, %zu expanded", w, h, len, expanded);
		free(out);
		free(want);
		cr_frame_unref(full);
		cr_frame_unref(ref);
	}
	tjDestroy(tj);
	cr_converter_destroy(c);
	cr_jpeg_enc_destroy(j);
}

static struct cr_frame_s *_jpeg(int w, int h)
{
	struct cr_frame_s *yuv = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
	for (int y = 0; y < h; y++) {
		memset(yuv->data[0] + y * yuv->stride[0], 0, w / 2);
		memset(yuv->data[0] + y * yuv->stride[0] + w / 2, 255, w / 2);
	}
	for (int y = 0; y < h / 2; y++) {
		memset(yuv->data[1] + y * yuv->stride[1], y < h * 3 / 8 ? 128 : 0, w / 2);
		memset(yuv->data[2] + y * yuv->stride[2], y < h * 3 / 8 ? 128 : 255, w / 2);
	}
	yuv->full_range = true; /* the planes are the JPEG's own: no expansion */
	struct cr_frame_s *f = cr_frame_new(CR_PIXFMT_MJPEG, w, h, (size_t)w * h * 2 + 65536);
	struct cr_jpeg_enc_s *j = cr_jpeg_enc_new();
	size_t expanded = 1;
	long len = cr_jpeg_encode(j, yuv, 95, f->data[0], (size_t)w * h * 2 + 65536, &expanded);
	CHECK(len > 0 && expanded == 0, "encode %ld, expanded %zu", len, expanded);
	f->size = len > 0 ? (size_t)len : 0;
	cr_jpeg_enc_destroy(j);
	cr_frame_unref(yuv);
	return f;
}

static void _check_i420(const struct cr_frame_s *o, const char *what)
{
	int w = o->width, h = o->height, cy = h / 4;
	const uint8_t *y = o->data[0] + cy * o->stride[0], *u = o->data[1], *v = o->data[2];
	CHECK(!o->full_range, "%s: flagged limited", what);
	CHECK(NEAR(y[w / 4], 16, 3) && NEAR(y[w * 3 / 4], 235, 3), "%s: black/white Y %d/%d, want 16/235", what,
	      y[w / 4], y[w * 3 / 4]);
	int c = (cy / 2) * o->stride[1] + w / 8, cb = (h * 15 / 32) * o->stride[1] + w / 8;
	CHECK(NEAR(u[c], 128, 3) && NEAR(v[c], 128, 3), "%s: grey chroma %d/%d", what, u[c], v[c]);
	CHECK(NEAR(u[cb], 16, 3) && NEAR(v[cb], 240, 3), "%s: Cb 0 / Cr 255 -> %d/%d, want 16/240", what, u[cb],
	      v[cb]);
}

/* JPEG → raw through the converter: every raw YUV output is limited range
 * (same size straight, via the pivot, scaled), RGB uses the JPEG matrix. */
static void test_converter(void)
{
	const int w = 320, h = 240;
	struct cr_frame_s *jpeg = _jpeg(w, h);
	struct cr_converter_s *c = cr_converter_new();
	struct cr_frame_s *o = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
	CHECK(cr_converter_run(c, jpeg, o) == 0, "%s", cr_converter_error(c));
	_check_i420(o, "MJPEG -> I420");
	struct cr_frame_s *half = cr_frame_new(CR_PIXFMT_YUV420, w / 2, h / 2, 0);
	CHECK(cr_converter_run(c, jpeg, half) == 0, "%s", cr_converter_error(c));
	_check_i420(half, "MJPEG -> I420 half size");
	struct cr_frame_s *twice = cr_frame_new(CR_PIXFMT_YUV420, w * 2, h * 2, 0);
	CHECK(cr_converter_run(c, jpeg, twice) == 0, "%s", cr_converter_error(c));
	_check_i420(twice, "MJPEG -> I420 double size");
	/* A full-range I420 frame (a yuvj picture) into the same format. */
	struct cr_frame_s *again = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
	struct cr_frame_s *full = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
	tjhandle tj = tjInitDecompress();
	unsigned char *planes[3] = {full->data[0], full->data[1], full->data[2]};
	CHECK(tjDecompressToYUVPlanes(tj, jpeg->data[0], jpeg->size, planes, w, full->stride, h, 0) == 0, "decode");
	full->full_range = true;
	CHECK(cr_converter_run(c, full, again) == 0, "%s", cr_converter_error(c));
	_check_i420(again, "full-range I420 -> I420");

	struct cr_frame_s *yuyv = cr_frame_new(CR_PIXFMT_YUYV, w, h, 0);
	CHECK(cr_converter_run(c, jpeg, yuyv) == 0, "%s", cr_converter_error(c));
	const uint8_t *row = yuyv->data[0] + (h / 4) * yuyv->stride[0];
	CHECK(NEAR(row[(w / 4) * 2], 16, 3) && NEAR(row[(w * 3 / 4) * 2], 235, 3) && NEAR(row[(w / 4) * 2 + 1], 128, 3),
	      "MJPEG -> YUYV: Y %d/%d, U %d", row[(w / 4) * 2], row[(w * 3 / 4) * 2], row[(w / 4) * 2 + 1]);
	CHECK(!yuyv->full_range, "YUYV flagged limited");
	struct cr_frame_s *rgb = cr_frame_new(CR_PIXFMT_RGB24, w, h, 0);
	CHECK(cr_converter_run(c, jpeg, rgb) == 0, "%s", cr_converter_error(c));
	row = rgb->data[0] + (h / 4) * rgb->stride[0];
	CHECK(row[(w / 4) * 3] <= 3 && row[(w * 3 / 4) * 3] >= 252, "MJPEG -> RGB24: black %d, white %d",
	      row[(w / 4) * 3], row[(w * 3 / 4) * 3]);

	/* GREY is full-range luma: into I420 it is compressed, out of it expanded. */
	struct cr_frame_s *grey = cr_frame_new(CR_PIXFMT_GREY, w, h, 0), *grey_i420 = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
	for (int y = 0; y < h; y++) { /* the black / white halves, full range */
		memset(grey->data[0] + y * grey->stride[0], 0, w / 2);
		memset(grey->data[0] + y * grey->stride[0] + w / 2, 255, w / 2);
	}
	CHECK(cr_converter_run(c, grey, grey_i420) == 0, "%s", cr_converter_error(c));
	row = grey_i420->data[0] + (h / 4) * grey_i420->stride[0];
	CHECK(row[w / 4] == 16 && row[w * 3 / 4] == 235 && grey_i420->data[1][0] == 128,
	      "GREY -> I420: Y %d/%d, U %d, want 16/235/128", row[w / 4], row[w * 3 / 4], grey_i420->data[1][0]);
	memset(grey->data[0], 7, (size_t)grey->stride[0] * h);
	CHECK(cr_converter_run(c, grey_i420, grey) == 0, "%s", cr_converter_error(c));
	row = grey->data[0] + (h / 4) * grey->stride[0];
	CHECK(row[w / 4] == 0 && row[w * 3 / 4] == 255, "I420 -> GREY: %d/%d, want 0/255", row[w / 4],
	      row[w * 3 / 4]);

	/* Limited I420 → JPEG: expanded, so libjpeg-turbo decodes 0 and 255. */
	struct cr_frame_s *back = cr_frame_new(CR_PIXFMT_MJPEG, w, h, (size_t)w * h * 2 + 65536);
	cr_converter_set_quality(c, 95);
	CHECK(cr_converter_run(c, o, back) == 0 && back->full_range, "%s", cr_converter_error(c));
	CHECK(tjDecompressToYUVPlanes(tj, back->data[0], back->size, planes, w, full->stride, h, 0) == 0, "decode");
	row = full->data[0] + (h / 4) * full->stride[0];
	CHECK(row[w / 4] <= 3 && row[w * 3 / 4] >= 252, "I420 -> MJPEG -> Y %d/%d, want 0/255", row[w / 4],
	      row[w * 3 / 4]);
	tjDestroy(tj);
	struct cr_frame_s *all[] = {jpeg, o, half, twice, again, full, yuyv, rgb, back, grey, grey_i420};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		cr_frame_unref(all[i]);
	cr_converter_destroy(c);
}

static struct cr_stream_cfg_s _cfg(enum cr_pixfmt_e fmt)
{
	struct cr_stream_cfg_s c;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "range");
	c.n_sources = 1;
	snprintf(c.sources[0].capture.backend, sizeof(c.sources[0].capture.backend), "test");
	c.sources[0].capture.width = 320;
	c.sources[0].capture.height = 240;
	c.sources[0].capture.fps = 50;
	c.sources[0].capture.pixel_format = fmt;
	return c;
}

/* Luma at the centre of the test pattern's white (bar 0) and black (bar 7)
 * bars, in the upper part (the frame counter is drawn at their foot). */
static void _bars_luma(const uint8_t *y, int stride, int w, int h, int *white, int *black)
{
	*white = y[(h / 4) * stride + w / 16];
	*black = y[(h / 4) * stride + w * 15 / 16];
}

/* Stream core, test source (limited I420 bars; 75% white is Y 180):
 * - as I420, to an MJPEG subscriber: the JPEG decodes to Y 191 / 0 and the
 *   expansion is counted in bytes_copied;
 * - as MJPEG (JPEGs from the converter), to raw I420 and YUYV (scaled)
 *   subscribers: back to limited 180 / 16; an MJPEG subscriber gets the
 *   source's JPEGs without a copy. */
static void test_stream(enum cr_pixfmt_e src_fmt)
{
	struct cr_stream_cfg_s cfg = _cfg(src_fmt);
	struct cr_stream_s *s = cr_stream_new(&cfg);
	char err[256];
	CHECK(cr_stream_start(s, err, sizeof(err)) == 0, "%s", err);
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .depth = 8, .name = "mjpeg"};
	req.encoder.codec = CR_CODEC_MJPEG;
	req.encoder.quality = 90;
	struct cr_sub_s *mj = cr_stream_subscribe(s, &req);
	struct cr_sub_req_s r1 = {.kind = CR_SUB_RAW, .format = CR_PIXFMT_YUV420, .depth = 8, .name = "i420"};
	struct cr_sub_s *i420 = cr_stream_subscribe(s, &r1);
	struct cr_sub_req_s r2 = {.kind = CR_SUB_RAW, .format = CR_PIXFMT_YUYV, .width = 160, .height = 120,
				  .depth = 8, .name = "yuyv"};
	struct cr_sub_s *yuyv = cr_stream_subscribe(s, &r2);

	tjhandle tj = tjInitDecompress();
	int n_pkt = 0, n_i420 = 0, n_yuyv = 0, n_wrapped = 0;
	struct cr_frame_s *dec = cr_frame_new(CR_PIXFMT_YUV420, 320, 240, 0);
	int64_t end = cr_now_ns() + 30000000000LL; /* bounds a hang; counts decide */
	while ((n_pkt < 10 || n_i420 < 10 || n_yuyv < 10) && cr_now_ns() < end) {
		struct cr_packet_s *p = cr_sub_pop(mj, 20);
		if (p) {
			unsigned char *planes[3] = {dec->data[0], dec->data[1], dec->data[2]};
			int ok = tjDecompressToYUVPlanes(tj, p->data, p->size, planes, 320, dec->stride, 240, 0) == 0;
			int white, black;
			_bars_luma(dec->data[0], dec->stride[0], 320, 240, &white, &black);
			CHECK(ok && NEAR(white, 191, 4) && black <= 4, "JPEG: white Y %d (want 191), black %d (want 0)",
			      white, black);
			n_wrapped += p->frame != NULL;
			n_pkt++;
			cr_packet_unref(p);
		}
		struct cr_frame_s *f;
		while ((f = cr_sub_pop(i420, 0))) {
			int white, black;
			_bars_luma(f->data[0], f->stride[0], f->width, f->height, &white, &black);
			CHECK(!f->full_range && NEAR(white, 180, 3) && NEAR(black, 16, 3),
			      "I420: white Y %d (want 180), black %d (want 16), full %d", white, black, f->full_range);
			n_i420++;
			cr_frame_unref(f);
		}
		while ((f = cr_sub_pop(yuyv, 0))) {
			const uint8_t *row = f->data[0] + (f->height / 4) * f->stride[0];
			int white = row[(f->width / 16) * 2], black = row[(f->width * 15 / 16) * 2];
			CHECK(f->width == 160 && NEAR(white, 180, 3) && NEAR(black, 16, 3),
			      "YUYV 160x120: white Y %d (want 180), black %d (want 16)", white, black);
			n_yuyv++;
			cr_frame_unref(f);
		}
	}
	tjDestroy(tj);
	cr_frame_unref(dec);
	CHECK(n_pkt >= 10 && n_i420 >= 10 && n_yuyv >= 10, "got %d JPEGs, %d I420, %d YUYV", n_pkt, n_i420, n_yuyv);
	/* No stage left: the counters stand still. */
	cr_stream_unsubscribe(mj);
	cr_stream_unsubscribe(i420);
	cr_stream_unsubscribe(yuyv);
	uint64_t enc = atomic_load(&cr_stream_stats(s)->packets_encoded);
	uint64_t copied = atomic_load(&cr_stream_stats(s)->bytes_copied);
	uint64_t converted = atomic_load(&cr_stream_stats(s)->frames_converted);
	if (src_fmt == CR_PIXFMT_MJPEG) {
		/* Pass-through: every packet is a source JPEG, not encoded again. */
		CHECK(n_wrapped == n_pkt, "%d of %d JPEGs passed through", n_wrapped, n_pkt);
	} else {
		/* I420 frames go to the encoder and the I420 subscriber as they are;
		 * copies: the encoder's expansion (an I420 frame per JPEG) and the
		 * YUYV 160x120 conversions (each counts its output). */
		CHECK(n_wrapped == 0, "encoded JPEGs");
		CHECK(copied == enc * 320 * 240 * 3 / 2 + converted * 160 * 120 * 2,
		      "bytes_copied %llu for %llu JPEGs and %llu conversions", (unsigned long long)copied,
		      (unsigned long long)enc, (unsigned long long)converted);
	}
	cr_stream_destroy(s);
}

int main(void)
{
	test_maps();
	test_jpeg_layouts();
	test_converter();
	test_stream(CR_PIXFMT_YUV420);
	test_stream(CR_PIXFMT_MJPEG);
	CHECK(atomic_load(&cr_frames_alive) == 0, "frames alive %ld", atomic_load(&cr_frames_alive));
	CHECK(atomic_load(&cr_packets_alive) == 0, "packets alive %ld", atomic_load(&cr_packets_alive));
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	else
		printf("range: ok\n");
	return failures ? 1 : 0;
}
