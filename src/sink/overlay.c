/* V4L2 overlays as a sink (seed 003): `[[stream.X.sinks]] type = "overlay"`.
 *
 * Two kinds, told apart by the device (VIDIOC_QUERYCAP):
 *  - a video capture overlay: the device itself puts the picture on a
 *    screen, either into framebuffer memory (destructive = true,
 *    framebuffer = "/dev/fbN": its physical address from smem_start, which
 *    needs CAP_SYS_ADMIN) or blended into the VGA signal (chroma key,
 *    clips). No frame passes through camrelay: the sink sets the
 *    framebuffer, window, clips and flags up, starts the overlay and holds
 *    the device open (drivers stop an overlay when its owner closes).
 *  - a video output overlay (OSD): the framebuffer the output device blends
 *    over the video it sends. With osd = true camrelay draws the stream's
 *    name, the time, the frame rate and the number of viewers into it once
 *    a second, and the device blends it with the configured global alpha,
 *    chroma key or the framebuffer's own alpha.
 *
 * Every feature asked for is checked against the device's capability flags
 * first and refused with their names (fbuf.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "config/schema_get.h"
#include "core/clock.h"
#include "core/draw.h"
#include "core/log.h"
#include "core/stream.h"
#include "core/v4l2_util.h"
#include "sink/fbuf.h"
#include "sink/sink.h"

#define _OSD_X 16
#define _OSD_Y 16
#define _OSD_SCALE 2
#define _OSD_PAD 4

struct _overlay_s {
	struct cr_sink_s *sink;
	const char *who;
	char path[256];
	int fd;
	struct cr_fbuf_state_s st;
	bool started;

	/* OSD */
	char fbpath[64];
	uint8_t *fbmem;
	size_t fblen;
	uint32_t pixfmt;
	int fbw, fbh, fbstride, bpp;
	uint32_t clear_px, fg_px, bg_px;
	uint8_t *mask;
	int mask_w, mask_h;
	pthread_t thread;
	bool has_thread;
	atomic_bool stop;
	uint64_t drawn;
};

static void _put(struct _overlay_s *o, int x, int y, uint32_t px)
{
	uint8_t *p = o->fbmem + (size_t)y * (size_t)o->fbstride + (size_t)x * (size_t)o->bpp;
	if (o->bpp == 2) {
		uint16_t v = (uint16_t)px;
		memcpy(p, &v, 2);
	} else {
		memcpy(p, &px, 4);
	}
}

static void _fill(struct _overlay_s *o, int x0, int y0, int w, int h, uint32_t px)
{
	for (int y = y0; y < y0 + h && y < o->fbh; y++)
		for (int x = x0; x < x0 + w && x < o->fbw; x++)
			_put(o, x, y, px);
}

/* The OSD is drawn into an 8-bit mask with the shared 5x7 font (0: clear,
 * 1: box, 255: text), then written out in the framebuffer's format. */
static void _draw_osd(struct _overlay_s *o)
{
	struct cr_stream_status_s st;
	cr_stream_status(o->sink->stream, &st);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	char text[160];
	cr_msgf(text, sizeof(text), "%s %02d:%02d:%02d %.1f FPS %d VIEWERS", cr_stream_name(o->sink->stream), tm.tm_hour,
		tm.tm_min, tm.tm_sec, st.fps_measured, st.n_subs);
	int tw = cr_draw_text_width(text, _OSD_SCALE);
	int w = tw + 2 * _OSD_PAD, h = 7 * _OSD_SCALE + 2 * _OSD_PAD;
	if (w > o->fbw - _OSD_X)
		w = o->fbw - _OSD_X;
	if (h > o->fbh - _OSD_Y)
		h = o->fbh - _OSD_Y;
	if (w <= 0 || h <= 0)
		return;
	/* Clear what the previous (maybe longer) text covered. */
	if (o->mask && o->mask_w > w)
		_fill(o, _OSD_X + w, _OSD_Y, o->mask_w - w, o->mask_h, o->clear_px);
	uint8_t *m = realloc(o->mask, (size_t)w * (size_t)h);
	if (!m)
		return;
	o->mask = m;
	o->mask_w = w;
	o->mask_h = h;
	memset(m, 1, (size_t)w * (size_t)h);
	cr_draw_text(m, w, w, h, _OSD_PAD, _OSD_PAD, _OSD_SCALE, text, 255, -1);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			_put(o, _OSD_X + x, _OSD_Y + y, m[(size_t)y * (size_t)w + (size_t)x] == 255 ? o->fg_px : o->bg_px);
	o->drawn++;
}

static void *_osd_thread(void *arg)
{
	struct _overlay_s *o = arg;
	while (!atomic_load(&o->stop)) {
		_draw_osd(o);
		for (int i = 0; i < 10 && !atomic_load(&o->stop); i++)
			usleep(100000);
	}
	return NULL;
}

/* Maps the output overlay's framebuffer and clears it to "show the video":
 * the chroma key colour when keying, else fully transparent. */
static int _osd_open(struct _overlay_s *o, char *err, size_t errlen)
{
	const struct cr_overlay_opts_s *cfg = o->sink->cfg->opts;
	if (cfg->framebuffer[0])
		cr_msgf(o->fbpath, sizeof(o->fbpath), "%s", cfg->framebuffer);
	else if (cr_fbdev_find((unsigned long)o->st.fb.base, o->fbpath, sizeof(o->fbpath)) < 0) {
		cr_msgf(err, errlen,
			"no /dev/fbN has the memory %s blends (base %p); name it with framebuffer = \"/dev/fbN\"",
			o->path, o->st.fb.base);
		return -ENOENT;
	}
	struct cr_fbdev_s fbd;
	int r = cr_fbdev_info(o->fbpath, &fbd, err, errlen);
	if (r < 0)
		return r;
	o->pixfmt = fbd.pixelformat;
	o->bpp = cr_fbuf_bpp(o->pixfmt);
	if (!o->bpp) {
		cr_msgf(err, errlen, "OSD: framebuffer %s has %u bits per pixel; camrelay draws 16- and 32-bit RGB", o->fbpath,
			fbd.bpp);
		return -EINVAL;
	}
	int fd = open(o->fbpath, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		cr_msgf(err, errlen, "OSD: cannot open %s: %s", o->fbpath, strerror(-r));
		return r;
	}
	o->fblen = fbd.size ? fbd.size : (size_t)fbd.bytesperline * fbd.height;
	o->fbmem = mmap(NULL, o->fblen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = -errno;
	close(fd);
	if (o->fbmem == MAP_FAILED) {
		o->fbmem = NULL;
		cr_msgf(err, errlen, "OSD: mmap of %s failed: %s", o->fbpath, strerror(-r));
		return r;
	}
	o->fbw = (int)fbd.width;
	o->fbh = (int)fbd.height;
	o->fbstride = (int)fbd.bytesperline;
	if ((size_t)o->fbstride * (size_t)o->fbh > o->fblen)
		o->fbh = (int)(o->fblen / (size_t)o->fbstride);
	bool keyed = (o->st.fb.flags & (V4L2_FBUF_FLAG_CHROMAKEY | V4L2_FBUF_FLAG_SRC_CHROMAKEY)) && cfg->has_chromakey;
	/* With local_inv_alpha an alpha of 1 lets the video through. */
	bool inv = (o->st.fb.flags & V4L2_FBUF_FLAG_LOCAL_INV_ALPHA) != 0;
	o->clear_px = keyed ? cr_fbuf_pack_rgb(o->pixfmt, cfg->chromakey, false) : cr_fbuf_pack_rgb(o->pixfmt, 0, inv);
	o->fg_px = cr_fbuf_pack_rgb(o->pixfmt, 0xffffff, !inv);
	o->bg_px = cr_fbuf_pack_rgb(o->pixfmt, 0x000000, !inv);
	_fill(o, 0, 0, o->fbw, o->fbh, o->clear_px);
	return 0;
}

static void _overlay_close(struct cr_sink_s *sink)
{
	struct _overlay_s *o = sink->priv;
	if (!o)
		return;
	atomic_store(&o->stop, true);
	if (o->has_thread)
		pthread_join(o->thread, NULL);
	if (o->started)
		cr_fbuf_overlay(o->fd, o->path, false, NULL, 0);
	if (o->fbmem)
		munmap(o->fbmem, o->fblen);
	if (o->fd >= 0)
		close(o->fd);
	if (o->started)
		CR_LOG_I(o->who, "overlay %s: stopped%s", o->path, o->fbmem ? " (OSD)" : "");
	free(o->mask);
	free(o);
	sink->priv = NULL;
}

static int _overlay_open(struct cr_sink_s *sink)
{
	const struct cr_sink_cfg_s *cfg = sink->cfg;
	const struct cr_overlay_opts_s *oo = cfg->opts;
	char *err = sink->error;
	size_t errlen = sizeof(sink->error);
	struct _overlay_s *o = calloc(1, sizeof(*o));
	if (!o) {
		cr_msgf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o->sink = sink;
	o->who = cr_stream_name(sink->stream);
	sink->priv = o;
	o->fd = cr_v4l2_open(cfg->device, V4L2_CAP_VIDEO_OVERLAY | V4L2_CAP_VIDEO_OUTPUT_OVERLAY, o->path,
			     sizeof(o->path), NULL, 0, err, errlen);
	int r = o->fd;
	char notes[512] = "";
	if (r >= 0)
		r = cr_fbuf_query(o->fd, o->path, &o->st, err, errlen);
	if (r >= 0 && oo->osd && !o->st.output) {
		cr_msgf(err, errlen, "osd = true needs a video output overlay; %s is a capture overlay", o->path);
		r = -EINVAL;
	}
	if (r >= 0)
		r = cr_fbuf_apply(o->fd, o->path, oo, &o->st, notes, sizeof(notes), err, errlen);
	if (r >= 0 && oo->osd)
		r = _osd_open(o, err, errlen);
	if (r >= 0 && (r = cr_fbuf_overlay(o->fd, o->path, true, err, errlen)) >= 0)
		o->started = true;
	if (r >= 0 && oo->osd) {
		_draw_osd(o);
		if (pthread_create(&o->thread, NULL, _osd_thread, o) == 0)
			o->has_thread = true;
	}
	if (r < 0) {
		_overlay_close(sink);
		return r;
	}
	char caps[256], flags[160];
	cr_fbuf_caps_str(o->st.fb.capability, caps, sizeof(caps));
	cr_fbuf_flags_str(o->st.fb.flags, flags, sizeof(flags));
	CR_LOG_I(o->who, "overlay %s (%s): %s overlay on, window %ux%u%+d%+d, flags %s (capabilities: %s)%s%s%s%s",
		 o->path, o->st.card, o->st.output ? "video output" : oo->destructive ? "destructive" : "capture",
		 o->st.win.w.width, o->st.win.w.height, o->st.win.w.left, o->st.win.w.top, flags, caps,
		 o->fbmem ? ", OSD in " : "", o->fbmem ? o->fbpath : "", notes[0] ? "; " : "", notes);
	if (!o->st.output)
		CR_LOG_I(o->who,
			 "overlay %s: the device draws while it captures, in the framebuffer's pixel format (%.4s)",
			 o->path, (const char *)&o->st.fb.fmt.pixelformat);
	return 0;
}

/* Config keys (seed 003; rectangles are x, y, w, h). */
static int _load_rect(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		      const struct cr_option_s *o, void *block)
{
	struct cr_overlay_opts_s *sink = block;
	int rc;
	if (strcmp(o->key, "window") == 0) {
		rc = cr_cfg_get_rect(c, t, path, o->key, sink->window);
		sink->has_window = rc > 0;
		return rc;
	}
	if (strcmp(o->key, "clips") == 0)
		return cr_cfg_get_rects(c, t, path, o->key, sink->clips, &sink->n_clips);
	return cr_cfg_get_rects(c, t, path, o->key, sink->bitmap, &sink->n_bitmap);
}

/* chromakey (0xRRGGBB) and global_alpha (0..255) set their flags. */
static int _load_key(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		     const struct cr_option_s *o, void *block)
{
	struct cr_overlay_opts_s *sink = block;
	int64_t v = 0;
	bool chroma = strcmp(o->key, "chromakey") == 0;
	int rc = cr_cfg_get_int(c, t, path, o->key, 0, chroma ? 0xffffff : 255, &v);
	if (rc > 0 && chroma) {
		sink->has_chromakey = true;
		sink->chromakey = (uint32_t)v;
	} else if (rc > 0) {
		sink->has_global_alpha = true;
		sink->global_alpha = (int)v;
	}
	return rc;
}

/* Seed 003, table 3 (struct v4l2_framebuffer flags), by name. */
static const char *const _flag_names[] = {"primary", "overlay", "chromakey", "src_chromakey",
					  "global_alpha", "local_alpha", "local_inv_alpha", NULL};
static const uint32_t _flag_bits[] = {V4L2_FBUF_FLAG_PRIMARY, V4L2_FBUF_FLAG_OVERLAY, V4L2_FBUF_FLAG_CHROMAKEY,
				      V4L2_FBUF_FLAG_SRC_CHROMAKEY, V4L2_FBUF_FLAG_GLOBAL_ALPHA,
				      V4L2_FBUF_FLAG_LOCAL_ALPHA, V4L2_FBUF_FLAG_LOCAL_INV_ALPHA};

static int _load_flags(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		       const struct cr_option_s *o, void *block)
{
	struct cr_overlay_opts_s *sink = block;
	const struct cr_toml_s *v = cr_toml_get(t, o->key);
	char sub[CR_CFG_PATH], list[256];
	if (!v)
		return 0;
	cr_cfg_sub(sub, sizeof(sub), path, o->key);
	if (cr_toml_type(v) != CR_TOML_ARRAY)
		return cr_cfg_wrong_type(c, v, sub, "an array of flag names");
	sink->fbuf_flags = 0;
	for (size_t i = 0; i < cr_toml_len(v); i++) {
		const struct cr_toml_s *e = cr_toml_at(v, i);
		if (cr_toml_type(e) != CR_TOML_STRING)
			return cr_cfg_wrong_type(c, e, sub, "a flag name (string)");
		int k = cr_cfg_index_of(_flag_names, cr_toml_str(e, NULL));
		if (k < 0)
			return CR_CFG_FAIL(c, e, sub, "unknown overlay flag \"%.64s\" (allowed: %s)",
					   cr_toml_str(e, NULL), cr_cfg_join(_flag_names, list, sizeof(list)));
		sink->fbuf_flags |= _flag_bits[k];
	}
	sink->has_flags = true;
	return 1;
}

static int _load_framebuffer(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			     const struct cr_option_s *o, void *block)
{
	struct cr_overlay_opts_s *sink = block;
	const struct cr_toml_s *fbv = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_get_str(c, t, path, o->key, sink->framebuffer, sizeof(sink->framebuffer), &fbv);
	if (rc > 0 && strncmp(sink->framebuffer, "/dev/fb", 7) != 0)
		return CR_CFG_FAIL(c, fbv, cr_cfg_sub(sub, sizeof(sub), path, o->key),
				   "expected a framebuffer device like \"/dev/fb0\", got \"%s\"", sink->framebuffer);
	return rc;
}

static int _check(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, void *block)
{
	const struct cr_overlay_opts_s *sink = block;
	char sub[CR_CFG_PATH];
	if (sink->destructive && sink->osd)
		return CR_CFG_FAIL(c, cr_toml_get(t, "osd"), cr_cfg_sub(sub, sizeof(sub), path, "osd"),
				   "an OSD is drawn on a video output overlay, which is never destructive: drop one of "
				   "destructive and osd");
	return 0;
}

#define _OFF(f) .offset = offsetof(struct cr_overlay_opts_s, f), .size = sizeof(((struct cr_overlay_opts_s *)0)->f)
static const struct cr_option_s _options[] = {
	{.key = "window", .type = CR_OPT_CUSTOM, _OFF(window), .load = _load_rect,
	 .help = "overlay window on the framebuffer"},
	{.key = "clips", .type = CR_OPT_CUSTOM, _OFF(clips), .load = _load_rect,
	 .help = "framebuffer areas the video leaves alone"},
	{.key = "bitmap", .type = CR_OPT_CUSTOM, _OFF(bitmap), .load = _load_rect,
	 .help = "window areas where the video shows"},
	{.key = "chromakey", .type = CR_OPT_CUSTOM, _OFF(chromakey), .load = _load_key, .help = "0xRRGGBB"},
	{.key = "global_alpha", .type = CR_OPT_CUSTOM, _OFF(global_alpha), .load = _load_key, .help = "0..255"},
	{.key = "flags", .type = CR_OPT_CUSTOM, _OFF(fbuf_flags), .load = _load_flags,
	 .help = "struct v4l2_framebuffer flags by name"},
	{.key = "destructive", .type = CR_OPT_BOOL, _OFF(destructive),
	 .help = "capture overlay written into framebuffer memory"},
	{.key = "framebuffer", .type = CR_OPT_CUSTOM, _OFF(framebuffer), .load = _load_framebuffer,
	 .help = "/dev/fbN: destructive target, or where the OSD is drawn"},
	{.key = "osd", .type = CR_OPT_BOOL, _OFF(osd), .help = "output overlay: draw name, time, fps, viewers"},
	CR_OPTS_END,
};

const struct cr_sink_ops_s cr_sink_overlay = {
	.name = "overlay",
	.type = CR_SINK_OVERLAY,
	.options = _options,
	.opts_size = sizeof(struct cr_overlay_opts_s),
	.check = _check,
	.open = _overlay_open,
	.close = _overlay_close,
};
