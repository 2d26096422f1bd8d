/* The built-in test source: colour bars (as vivid draws them: 75% white,
 * yellow, cyan, green, magenta, red, blue, black), a box that moves one step
 * per frame, and the frame number and capture time drawn in (as text, and
 * as a timecode block in the top-left corner: core/timecode.h); any size, any
 * of the pixel formats, paced by CLOCK_MONOTONIC.
 *
 * pattern = "noise" instead pans across a fine random texture (twice the
 * frame in each direction, colour in 8x8 patches) and adds sensor-like noise
 * to every frame: as hard to code as a camera's picture, where the bars
 * cost x264 a fifth of a 2 Mbit/s budget.
 *
 * With `flash` (the stream's audio is the test tone, src/audio/test.c) a
 * white box fills the middle of the upper half for 100 ms from each whole
 * second of CLOCK_MONOTONIC, when the tone beeps: the frame nearest the
 * second (within half a frame interval) is the first bright one. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "core/clock.h"
#include "core/draw.h"
#include "core/pool.h"
#include "core/rand.h"
#include "core/timecode.h"
#include "source/source.h"

/* The test backend's own keys (core/options.h), in cfg->opts. */
struct _test_opts_s {
	char pattern[8];
};

struct _test_s {
	uint8_t *base; /* the I420 bars, drawn once; or the noise texture (2w x 2h) */
	bool noise;
	uint64_t rng;
	struct cr_pool_s *pool, *i420_pool;
	struct cr_converter_s *conv;
	int64_t next_ns, interval_ns, start_ns;
	uint64_t n;
};

/* 75% colour bars, BT.601 limited range (a JPEG of them, pixel_format = mjpeg,
 * is expanded to full range by the converter: white 191, black 0). */
static const uint8_t _bars[8][3] = {
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198},  {65, 100, 212}, {35, 212, 114}, {16, 128, 128},
};

static void _draw_bars(uint8_t *base, int w, int h)
{
	int stride[3], rows[3];
	cr_pixfmt_planes(CR_PIXFMT_YUV420, w, h, stride, rows);
	uint8_t *planes[3] = {base, base + (size_t)stride[0] * rows[0],
			      base + (size_t)stride[0] * rows[0] + (size_t)stride[1] * rows[1]};
	for (int p = 0; p < 3; p++) {
		int pw = p == 0 ? w : stride[p], ph = rows[p];
		for (int i = 0; i < 8; i++) {
			int x0 = pw * i / 8, x1 = pw * (i + 1) / 8;
			cr_draw_box(planes[p], stride[p], pw, ph, x0, 0, x1 - x0, ph * 3 / 4, _bars[i][p]);
		}
		/* Bottom quarter: dark band for the moving box. */
		cr_draw_box(planes[p], stride[p], pw, ph, 0, ph * 3 / 4, pw, ph - ph * 3 / 4,
			    p == 0 ? 40 : 128);
	}
}

static void _draw_texture(uint8_t *base, int w, int h, uint64_t *rng)
{
	int tw = 2 * w, th = 2 * h, stride[3], rows[3];
	cr_pixfmt_planes(CR_PIXFMT_YUV420, tw, th, stride, rows);
	uint8_t *y = base;
	for (int i = 0; i < th; i++) {
		uint8_t prev = 128;
		for (int x = 0; x < tw; x++) { /* detail with a little blur, as through a lens */
			uint8_t v = (uint8_t)(24 + cr_xorshift32(rng) % 200);
			y[(size_t)i * stride[0] + x] = (uint8_t)((v + prev) / 2);
			prev = v;
		}
	}
	for (int p = 1; p < 3; p++) {
		uint8_t *c = base + (size_t)stride[0] * rows[0] + (p == 2 ? (size_t)stride[1] * rows[1] : 0);
		for (int by = 0; by < rows[p]; by += 8)
			for (int bx = 0; bx < stride[p]; bx += 8)
				cr_draw_box(c, stride[p], stride[p], rows[p], bx, by, 8, 8, (uint8_t)(88 + cr_xorshift32(rng) % 80));
	}
}

static int _test_open(struct cr_source_s *src)
{
	const struct cr_capture_cfg_s *cfg = src->cfg;
	struct _test_s *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	src->width = cfg->width > 0 ? cfg->width : 1280;
	src->height = cfg->height > 0 ? cfg->height : 720;
	src->width &= ~1;
	src->height &= ~1;
	src->format = cfg->pixel_format ? cfg->pixel_format : CR_PIXFMT_YUYV;
	src->fps_num = cfg->fps > 0 ? cfg->fps : 30;
	src->fps_den = 1;
	snprintf(src->device_path, sizeof(src->device_path), "test");
	t->noise = strcmp(((const struct _test_opts_s *)(const void *)cfg->opts)->pattern, "noise") == 0;
	t->rng = 0x9e3779b97f4a7c15ULL;
	t->base = t->noise ? malloc(cr_pixfmt_frame_size(CR_PIXFMT_YUV420, 2 * src->width, 2 * src->height))
			   : malloc(cr_pixfmt_frame_size(CR_PIXFMT_YUV420, src->width, src->height));
	t->i420_pool = cr_pool_new(CR_PIXFMT_YUV420, src->width, src->height, 0);
	t->pool = cr_pool_new(src->format, src->width, src->height,
			      (size_t)src->width * src->height * 3 / 2 + 65536);
	t->conv = cr_converter_new();
	if (!t->base || !t->pool || !t->i420_pool || !t->conv) {
		src->priv = t;
		src->ops->close(src);
		snprintf(src->error, sizeof(src->error), "out of memory");
		return -ENOMEM;
	}
	if (t->noise)
		_draw_texture(t->base, src->width, src->height, &t->rng);
	else
		_draw_bars(t->base, src->width, src->height);
	t->interval_ns = 1000000000LL * src->fps_den / src->fps_num;
	t->start_ns = t->next_ns = cr_now_ns();
	src->priv = t;
	return 0;
}

/* The frame's window into the texture moves 3 pixels right and 2 down per
 * frame (wrapping), and every luma sample gets noise of +-4. */
static void _render_noise(struct _test_s *t, struct cr_frame_s *f, int w, int h)
{
	int ts[3], tr[3];
	cr_pixfmt_planes(CR_PIXFMT_YUV420, 2 * w, 2 * h, ts, tr);
	const uint8_t *planes[3] = {t->base, t->base + (size_t)ts[0] * tr[0],
				    t->base + (size_t)ts[0] * tr[0] + (size_t)ts[1] * tr[1]};
	int ox = (int)((t->n * 3) % (uint64_t)w) & ~1, oy = (int)((t->n * 2) % (uint64_t)h) & ~1;
	for (int p = 0; p < 3; p++) {
		int sh = p ? 1 : 0, pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
		for (int y = 0; y < ph; y++)
			memcpy(f->data[p] + (size_t)y * f->stride[p],
			       planes[p] + (size_t)(y + (oy >> sh)) * ts[p] + (ox >> sh), (size_t)pw);
	}
	for (int y = 0; y < h; y++) {
		uint8_t *row = f->data[0] + (size_t)y * f->stride[0];
		for (int x = 0; x + 4 <= w; x += 4) {
			uint32_t r = cr_xorshift32(&t->rng);
			for (int k = 0; k < 4; k++, r >>= 8)
				row[x + k] = (uint8_t)(row[x + k] + (int)(r & 7) - 4);
		}
	}
}

static void _render(struct cr_source_s *src, struct _test_s *t, struct cr_frame_s *f, int64_t ts)
{
	int w = src->width, h = src->height;
	if (t->noise)
		_render_noise(t, f, w, h);
	else if (f->data[0] != t->base) /* else drawn on the bars themselves */
		memcpy(f->data[0], t->base, cr_pixfmt_frame_size(CR_PIXFMT_YUV420, w, h));
	int box = h / 8 > 8 ? h / 8 : 8;
	int x = (int)((t->n * 8) % (uint64_t)(w > box ? w - box : 1));
	int y = h * 3 / 4 + (h / 4 - box) / 2;
	cr_draw_box(f->data[0], f->stride[0], w, h, x, y, box, box, 235);
	if (src->cfg->flash && (ts + t->interval_ns / 2) % 1000000000LL < 100000000LL)
		cr_draw_box(f->data[0], f->stride[0], w, h, w / 4, h / 8, w / 2, h / 4, 235);
	char text[64];
	int64_t ms = (ts - t->start_ns) / 1000000;
	snprintf(text, sizeof(text), "#%06llu %lld.%03lldS", (unsigned long long)t->n, (long long)(ms / 1000),
		 (long long)(ms % 1000));
	int scale = w >= 960 ? 3 : w >= 480 ? 2 : 1;
	cr_draw_text(f->data[0], f->stride[0], w, h, 8 * scale, h * 3 / 4 - 12 * scale, scale, text, 235,
		     16);
	/* The capture time for a glass-to-glass meter (too small a frame: none). */
	struct cr_timecode_s tc = {cr_timecode_wall_ms(ts), (uint16_t)t->n};
	cr_timecode_draw(f, &tc);
}

static int _test_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	struct _test_s *t = src->priv;
	int64_t until = cr_deadline_ns(timeout_ms);
	if (t->next_ns > until) {
		cr_sleep_until_ns(until);
		return 0;
	}
	cr_sleep_until_ns(t->next_ns);
	int64_t ts = t->next_ns;
	t->next_ns += t->interval_ns;
	/* Behind by more than a frame (a stall): skip ahead rather than burst. */
	if (cr_now_ns() > t->next_ns + t->interval_ns)
		t->next_ns = cr_now_ns() + t->interval_ns;

	/* Bars into another format: drawn on the bars themselves, converted, the
	 * bars drawn again, so no I420 frame of its own (1.3 MB at 720p). */
	bool on_base = !t->noise && src->format != CR_PIXFMT_YUV420;
	struct cr_frame_s view, *i420 = &view;
	if (on_base) {
		memset(&view, 0, sizeof(view));
		view.format = CR_PIXFMT_YUV420;
		view.width = src->width;
		view.height = src->height;
		cr_frame_set_planes(&view, t->base);
	} else if (!(i420 = cr_pool_get(t->i420_pool))) {
		return -ENOMEM;
	}
	_render(src, t, i420, ts);
	struct cr_frame_s *f = i420;
	if (src->format != CR_PIXFMT_YUV420) {
		f = cr_pool_get(t->pool);
		int r = f ? cr_converter_run(t->conv, i420, f) : -ENOMEM;
		if (on_base)
			_draw_bars(t->base, src->width, src->height);
		else
			cr_frame_unref(i420);
		if (r < 0) {
			snprintf(src->error, sizeof(src->error), "test pattern: %s",
				 f ? cr_converter_error(t->conv) : "out of memory");
			cr_frame_unref(f);
			return -EINVAL;
		}
	}
	f->ts_capture_ns = ts;
	t->n++;
	*out = f;
	return 0;
}

static void _test_close(struct cr_source_s *src)
{
	struct _test_s *t = src->priv;
	if (!t)
		return;
	free(t->base);
	cr_pool_destroy(t->pool);
	cr_pool_destroy(t->i420_pool);
	cr_converter_destroy(t->conv);
	free(t);
	src->priv = NULL;
}

static const char *const _patterns[] = {"bars", "noise", NULL};
static const struct cr_option_s _test_options[] = {
	{.key = "pattern", .type = CR_OPT_CHOICE, .offset = offsetof(struct _test_opts_s, pattern),
	 .size = sizeof(((struct _test_opts_s *)0)->pattern), .choices = _patterns, .def_str = "bars",
	 .noun = "test pattern", .help = "bars (flat colour bars) or noise (detail and motion for encoders)"},
	CR_OPTS_END,
};
_Static_assert(sizeof(struct _test_opts_s) <= CR_BACKEND_OPTS_SIZE, "test options fit their block");

/* Drawn in I420 and converted (convert/convert.c's outputs), JPEG included. */
static const enum cr_pixfmt_e _test_formats[] = {
	CR_PIXFMT_YUYV,	 CR_PIXFMT_UYVY,  CR_PIXFMT_YVYU, CR_PIXFMT_NV12,  CR_PIXFMT_YUV420,
	CR_PIXFMT_RGB24, CR_PIXFMT_BGR24, CR_PIXFMT_GREY, CR_PIXFMT_MJPEG, CR_PIXFMT_NONE,
};

const struct cr_source_ops_s cr_source_test = {
	.name = "test",
	.caps = &(const struct cr_source_caps_s){.formats = _test_formats},
	.options = _test_options,
	/* no device to ask: 720p30 YUYV unless configured */
	.defaults = &(const struct cr_capture_defaults_s){1280, 720, 30, CR_PIXFMT_YUYV},
	.open = _test_open,
	.read = _test_read,
	.close = _test_close,
};
