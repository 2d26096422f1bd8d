/* The timecode block (core/timecode.h) through real codecs: written into
 * frames of every format it draws on and a range of sizes, encoded by
 * ffmpeg (JPEG at quality 50, H.264 at 300 kbit/s), decoded by ffmpeg to
 * grey (also scaled to 320x180) and read back with the project's decoder:
 * every frame must give back the exact ms and frame number it was given.
 * Also: a damaged block is refused (CRC), never read as a wrong number.
 *
 *     test_timecode                 the test
 *     test_timecode read W H        reads W x H grey frames from stdin until EOF and
 *                                   prints {"ms": N, "frame": N} or {"error": ...}
 *                                   for each (the browser tests' independent
 *                                   reading; page-vm's netem viewer) */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timecode.h"
#include "tests/check.h"

#define BASE_MS 1796000000000ULL /* a 2026 wall clock */

static const struct {
	enum cr_pixfmt_e fmt;
	const char *ff; /* ffmpeg's name of the same layout */
} formats[] = {
	{CR_PIXFMT_YUV420, "yuv420p"}, {CR_PIXFMT_NV12, "nv12"},         {CR_PIXFMT_YUYV, "yuyv422"},
	{CR_PIXFMT_UYVY, "uyvy422"},   {CR_PIXFMT_YVYU, "yvyu422"},      {CR_PIXFMT_RGB24, "rgb24"},
	{CR_PIXFMT_BGR24, "bgr24"},    {CR_PIXFMT_GREY, "gray"},         {CR_PIXFMT_SBGGR8, "bayer_bggr8"},
	{CR_PIXFMT_SGBRG8, "bayer_gbrg8"}, {CR_PIXFMT_SGRBG8, "bayer_grbg8"}, {CR_PIXFMT_SRGGB8, "bayer_rggb8"},
};

static uint64_t rng = 88172645463325252ULL;
static uint8_t _rand8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

/* A moving picture as a camera gives it: a luma ramp that pans 3 pixels a
 * frame, a bright box that jumps along the bottom, light sensor noise (+-2),
 * mild still chroma; then the block. (A saturated moving chroma gradient or
 * fresh full-amplitude noise everywhere cannot be carried at 300 kbit/s:
 * x264 then repeats old macroblocks, the code's included, and the test
 * reads stale or broken codes. The CRC refuses the broken ones; a stale one
 * is a real older code and reads as more latency.) */
static void _fill(struct cr_frame_s *f, int i)
{
	int stride[3], rows[3];
	int n = cr_pixfmt_planes(f->format, f->width, f->height, stride, rows);
	/* Packed 4:2:2 interleaves chroma with luma: which bytes are chroma. */
	enum cr_pixfmt_e fmt = f->format;
	int cbit = fmt == CR_PIXFMT_UYVY ? 0 : fmt == CR_PIXFMT_YUYV || fmt == CR_PIXFMT_YVYU ? 1 : -1;
	for (int p = 0; p < n; p++)
		for (int y = 0; y < rows[p]; y++)
			for (int x = 0; x < stride[p]; x++) {
				int xx = cbit >= 0 ? x / 2 : x, v;
				bool chroma = p > 0 || (cbit >= 0 && (x & 1) == cbit);
				if (chroma) { /* mild, still colour, as a camera's */
					v = 128 + (x + y) % 32 - 16;
				} else {
					int t = (xx + y + 3 * i) % 320;
					v = 40 + (t < 160 ? t : 320 - t) + (_rand8() & 3);
					if (xx / 32 % 8 == i % 8 && y * 3 > rows[p] * 2)
						v = 220;
				}
				f->data[p][(size_t)y * f->stride[p] + x] = (uint8_t)v;
			}
	struct cr_timecode_s tc = {BASE_MS + 33ULL * (uint64_t)i, (uint16_t)(65530 + i)};
	CHECK(cr_timecode_draw(f, &tc) == 0, "draw on %s %dx%d", cr_pixfmt_name(f->format), f->width,
	      f->height);
}

/* Writes n frames, runs `enc` then `dec` through ffmpeg, reads the grey
 * frames back (out_w x out_h) and checks each. */
static void _run(int fi, int w, int h, int n, const char *enc, int out_w, int out_h, const char *what)
{
	char raw[] = "/tmp/cr-tc-XXXXXX";
	int fd = mkstemp(raw);
	CHECK(fd >= 0, "mkstemp");
	FILE *fp = fdopen(fd, "wb");
	struct cr_frame_s *f = cr_frame_new(formats[fi].fmt, w, h, 0);
	for (int i = 0; i < n; i++) {
		_fill(f, i);
		fwrite(f->data[0], 1, cr_pixfmt_frame_size(f->format, w, h), fp);
	}
	fclose(fp);
	cr_frame_unref(f);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "ffmpeg -v error -f rawvideo -pix_fmt %s -s %dx%d -r 30 -i %s %s -f nut - | "
		 "ffmpeg -v error -i - -vf scale=%d:%d -f rawvideo -pix_fmt gray -",
		 formats[fi].ff, w, h, raw, enc, out_w, out_h);
	FILE *p = popen(cmd, "r");
	size_t size = (size_t)out_w * out_h;
	uint8_t *buf = malloc(size);
	int got = 0, good = 0;
	while (fread(buf, 1, size, p) == size) {
		struct cr_timecode_s tc;
		int r = cr_timecode_read(buf, out_w, out_w, out_h, &tc);
		CHECK(r == 0, "%s %s %dx%d -> %dx%d: frame %d unreadable (%s)", what, formats[fi].ff, w, h, out_w,
		      out_h, got, strerror(-r));
		if (r == 0) {
			int i = (uint16_t)(tc.frame - 65530);
			CHECK(i == got && tc.ms == BASE_MS + 33ULL * (uint64_t)i,
			      "%s %s %dx%d: frame %d read as frame %u ms %llu", what, formats[fi].ff, w, h, got,
			      tc.frame, (unsigned long long)tc.ms);
			good += i == got;
		}
		got++;
	}
	CHECK(pclose(p) == 0 && got == n, "%s %s %dx%d: ffmpeg gave %d of %d frames (%s)", what, formats[fi].ff, w,
	      h, got, n, cmd);
	printf("%-10s %-12s %4dx%-4d -> %4dx%-4d %d/%d read back\n", what, formats[fi].ff, w, h, out_w, out_h, good,
	       n);
	free(buf);
	unlink(raw);
}

/* ffmpeg's MJPEG encoder has no IJG quality scale; at -q:v 16 its luma
 * table is coarser overall than IJG quality 50's (Annex K, sum 3688): the
 * DQT check in main holds it to that. */
static const char *JPEG = "-c:v mjpeg -q:v 16 -pix_fmt yuvj420p -color_range pc";
/* As a live encoder runs: no lookahead, one second of VBV buffer. */
static const char *H264 = "-c:v libx264 -preset veryfast -tune zerolatency -b:v 300k -maxrate 300k -bufsize 300k "
			  "-g 30 -pix_fmt yuv420p";

static void _damaged(void)
{
	int w = 640, h = 360;
	struct cr_frame_s *f = cr_frame_new(CR_PIXFMT_GREY, w, h, 0);
	memset(f->data[0], 100, (size_t)w * h);
	struct cr_timecode_s tc = {BASE_MS, 7}, out;
	cr_timecode_draw(f, &tc);
	CHECK(cr_timecode_read(f->data[0], w, w, h, &out) == 0 && out.ms == BASE_MS && out.frame == 7, "clean");
	/* Flip one data cell (row 4, column 5): the CRC refuses it. */
	int x = 5 * w / 80 + 2, y = 4 * h / 45 + 2;
	uint8_t v = f->data[0][(size_t)y * w + x] > 128 ? 0 : 255;
	for (int yy = 4 * h / 45; yy < 5 * h / 45; yy++)
		memset(f->data[0] + (size_t)yy * w + 5 * w / 80, v, (size_t)(6 * w / 80 - 5 * w / 80));
	CHECK(cr_timecode_read(f->data[0], w, w, h, &out) == -EBADMSG, "one flipped cell was not refused");
	memset(f->data[0], 100, (size_t)w * h); /* no block at all */
	CHECK(cr_timecode_read(f->data[0], w, w, h, &out) == -EBADMSG, "a flat picture was read");
	CHECK(cr_timecode_read(f->data[0], w, 100, 50, &out) == -EINVAL, "too small");
	cr_frame_unref(f);
}

static int _read_stdin(int w, int h)
{
	size_t size = (size_t)w * h;
	uint8_t *buf = malloc(size);
	int frames = 0, bad = 0;
	while (buf && fread(buf, 1, size, stdin) == size) { /* one line per frame, until EOF */
		struct cr_timecode_s tc;
		int r = cr_timecode_read(buf, w, w, h, &tc);
		if (r < 0)
			printf("{\"error\": \"%s\"}\n", strerror(-r));
		else
			printf("{\"ms\": %llu, \"frame\": %u}\n", (unsigned long long)tc.ms, tc.frame);
		frames++;
		bad += r < 0;
	}
	if (frames == 0)
		printf("{\"error\": \"short input\"}\n");
	free(buf);
	return frames == 0 || bad > 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "read") == 0)
		return _read_stdin(atoi(argv[2]), atoi(argv[3]));
	_damaged();
	/* JPEG as coarse as quality 50: the luma DQT ffmpeg writes sums to at
	 * least the Annex K table's 3688. */
	FILE *p = popen("ffmpeg -v error -f lavfi -i color=gray:s=64x64 -frames:v 1 -c:v mjpeg -q:v 16 "
			"-pix_fmt yuvj420p -f mjpeg - | od -An -tu1 -v", "r");
	int b[4096], n = 0, sum = 0;
	while (n < 4096 && fscanf(p, "%d", &b[n]) == 1)
		n++;
	pclose(p);
	for (int i = 0; i + 8 < n; i++)
		if (b[i] == 0xff && b[i + 1] == 0xdb && i + 5 + 64 <= n && sum == 0) /* DQT: len, Pq/Tq, table */
			for (int k = 0; k < 64; k++)
				sum += b[i + 5 + k];
	CHECK(sum >= 3688, "ffmpeg -q:v 16 writes a luma table finer than JPEG quality 50 (sum %d)", sum);
	static const int sizes[][2] = {{320, 180}, {640, 480}, {1280, 720}, {1920, 1080}};
	const char *only = getenv("TC_ONLY"); /* one ffmpeg format name, for a quick look */
	for (size_t fi = 0; fi < sizeof(formats) / sizeof(formats[0]); fi++)
		for (size_t si = 0; si < 4; si++) {
			if (only && strcmp(only, formats[fi].ff) != 0)
				continue;
			int w = sizes[si][0], h = sizes[si][1];
			/* every format at every size; the scaled pass in I420 and YUYV */
			_run((int)fi, w, h, 3, JPEG, w, h, "jpeg-q50");
			_run((int)fi, w, h, 15, H264, w, h, "h264-300k");
			if (w > 320 && (formats[fi].fmt == CR_PIXFMT_YUV420 || formats[fi].fmt == CR_PIXFMT_YUYV))
				_run((int)fi, w, h, 15, H264, 320, 180, "h264-300k");
		}
	printf("%s\n", failures ? "FAILED" : "all read back");
	return failures ? 1 : 0;
}
