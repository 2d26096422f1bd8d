/* V4L2 overlay set-up, see fbuf.h. The order follows seed 003: framebuffer
 * parameters first (VIDIOC_S_FBUF; they bound the window), then the window
 * (VIDIOC_S_FMT), then VIDIOC_OVERLAY. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"
#include "core/v4l2_util.h"
#include "sink/fbuf.h"

struct _name_s {
	uint32_t bit;
	const char *name;
};

static const struct _name_s _caps[] = {
	{V4L2_FBUF_CAP_EXTERNOVERLAY, "externoverlay"},
	{V4L2_FBUF_CAP_CHROMAKEY, "chromakey"},
	{V4L2_FBUF_CAP_LIST_CLIPPING, "list_clipping"},
	{V4L2_FBUF_CAP_BITMAP_CLIPPING, "bitmap_clipping"},
	{V4L2_FBUF_CAP_LOCAL_ALPHA, "local_alpha"},
	{V4L2_FBUF_CAP_GLOBAL_ALPHA, "global_alpha"},
	{V4L2_FBUF_CAP_LOCAL_INV_ALPHA, "local_inv_alpha"},
	{V4L2_FBUF_CAP_SRC_CHROMAKEY, "src_chromakey"},
	{0, NULL},
};

static const struct _name_s _flags[] = {
	{V4L2_FBUF_FLAG_PRIMARY, "primary"},
	{V4L2_FBUF_FLAG_OVERLAY, "overlay"},
	{V4L2_FBUF_FLAG_CHROMAKEY, "chromakey"},
	{V4L2_FBUF_FLAG_SRC_CHROMAKEY, "src_chromakey"},
	{V4L2_FBUF_FLAG_GLOBAL_ALPHA, "global_alpha"},
	{V4L2_FBUF_FLAG_LOCAL_ALPHA, "local_alpha"},
	{V4L2_FBUF_FLAG_LOCAL_INV_ALPHA, "local_inv_alpha"},
	{0, NULL},
};

/* The capability each flag needs (seed 003, table 2 against table 3). */
static const struct {
	uint32_t flag, cap;
} _flag_needs[] = {
	{V4L2_FBUF_FLAG_CHROMAKEY, V4L2_FBUF_CAP_CHROMAKEY},
	{V4L2_FBUF_FLAG_SRC_CHROMAKEY, V4L2_FBUF_CAP_SRC_CHROMAKEY},
	{V4L2_FBUF_FLAG_GLOBAL_ALPHA, V4L2_FBUF_CAP_GLOBAL_ALPHA},
	{V4L2_FBUF_FLAG_LOCAL_ALPHA, V4L2_FBUF_CAP_LOCAL_ALPHA},
	{V4L2_FBUF_FLAG_LOCAL_INV_ALPHA, V4L2_FBUF_CAP_LOCAL_INV_ALPHA},
};

#define _CHROMA_FLAGS (V4L2_FBUF_FLAG_CHROMAKEY | V4L2_FBUF_FLAG_SRC_CHROMAKEY)
#define _ALPHA_FLAGS (V4L2_FBUF_FLAG_GLOBAL_ALPHA | V4L2_FBUF_FLAG_LOCAL_ALPHA | V4L2_FBUF_FLAG_LOCAL_INV_ALPHA)

static void _names(const struct _name_s *t, uint32_t bits, char *out, size_t n)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; t[i].name; i++)
		if (bits & t[i].bit) {
			int k = snprintf(out + o, n - o, "%s%s", o ? ", " : "", t[i].name);
			if (k < 0 || (size_t)k >= n - o)
				return;
			o += (size_t)k;
		}
	if (!o)
		cr_msgf(out, n, "none");
}

void cr_fbuf_caps_str(uint32_t caps, char *out, size_t n)
{
	_names(_caps, caps, out, n);
}

void cr_fbuf_flags_str(uint32_t flags, char *out, size_t n)
{
	_names(_flags, flags, out, n);
}

uint32_t cr_fbuf_flag_bit(const char *name)
{
	for (int i = 0; _flags[i].name; i++)
		if (strcmp(_flags[i].name, name) == 0)
			return _flags[i].bit;
	return 0;
}

const char *cr_fbuf_flag_names(void)
{
	return "primary, overlay, chromakey, src_chromakey, global_alpha, local_alpha, local_inv_alpha";
}

static const char *_name_of(const struct _name_s *t, uint32_t bit)
{
	for (int i = 0; t[i].name; i++)
		if (bit & t[i].bit)
			return t[i].name;
	return "?";
}

const char *cr_fbuf_cap_name(uint32_t bit)
{
	return _name_of(_caps, bit);
}

const char *cr_fbuf_flag_name(uint32_t bit)
{
	return _name_of(_flags, bit);
}

int cr_fbuf_bpp(uint32_t pf)
{
	switch (pf) {
	case V4L2_PIX_FMT_RGB565:
	case V4L2_PIX_FMT_RGB555:
	case V4L2_PIX_FMT_XRGB555:
	case V4L2_PIX_FMT_ARGB555:
		return 2;
	case V4L2_PIX_FMT_XBGR32:
	case V4L2_PIX_FMT_ABGR32:
	case V4L2_PIX_FMT_BGR32:
		return 4;
	default:
		return 0;
	}
}

uint32_t cr_fbuf_pack_rgb(uint32_t pf, uint32_t rgb, bool opaque)
{
	uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
	switch (pf) {
	case V4L2_PIX_FMT_RGB565:
		return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
	case V4L2_PIX_FMT_ARGB555:
		return (opaque ? 0x8000u : 0) | (r >> 3) << 10 | (g >> 3) << 5 | b >> 3;
	case V4L2_PIX_FMT_RGB555:
	case V4L2_PIX_FMT_XRGB555:
		return (r >> 3) << 10 | (g >> 3) << 5 | b >> 3;
	case V4L2_PIX_FMT_ABGR32:
		return (opaque ? 0xff000000u : 0) | (rgb & 0xffffff);
	default:
		return rgb & 0xffffff;
	}
}

/* ---- Linux framebuffer devices ---- */

int cr_fbdev_info(const char *path, struct cr_fbdev_s *fbd, char *err, size_t errlen)
{
	memset(fbd, 0, sizeof(*fbd));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		cr_msgf(err, errlen, "cannot open framebuffer %s: %s%s", path, strerror(e),
			e == EACCES ? "; add yourself to group video" : "");
		return -e;
	}
	struct fb_fix_screeninfo fix;
	struct fb_var_screeninfo var;
	if (ioctl(fd, FBIOGET_FSCREENINFO, &fix) < 0 || ioctl(fd, FBIOGET_VSCREENINFO, &var) < 0) {
		int e = errno;
		cr_msgf(err, errlen, "FBIOGET_FSCREENINFO/VSCREENINFO on %s failed: %s (not a framebuffer device?)", path,
			strerror(e));
		close(fd);
		return -e;
	}
	close(fd);
	fbd->phys = fix.smem_start;
	fbd->width = var.xres;
	fbd->height = var.yres;
	fbd->bytesperline = fix.line_length;
	fbd->bpp = var.bits_per_pixel;
	fbd->size = fix.smem_len;
	memcpy(fbd->id, fix.id, sizeof(fix.id));
	fbd->id[sizeof(fbd->id) - 1] = 0;
	if (var.bits_per_pixel == 16)
		fbd->pixelformat = var.green.length == 6 ? V4L2_PIX_FMT_RGB565
				   : var.transp.length  ? V4L2_PIX_FMT_ARGB555
							: V4L2_PIX_FMT_XRGB555;
	else if (var.bits_per_pixel == 32 && var.red.offset == 16)
		fbd->pixelformat = var.transp.length ? V4L2_PIX_FMT_ABGR32 : V4L2_PIX_FMT_XBGR32;
	else if (var.bits_per_pixel == 24 && var.red.offset == 16)
		fbd->pixelformat = V4L2_PIX_FMT_BGR24;
	return 0;
}

int cr_fbdev_find(unsigned long phys, char *path, size_t len)
{
	for (int i = 0; i < 32; i++) {
		char p[32];
		struct cr_fbdev_s fbd;
		snprintf(p, sizeof(p), "/dev/fb%d", i);
		if (cr_fbdev_info(p, &fbd, NULL, 0) == 0 && phys && fbd.phys == phys) {
			cr_msgf(path, len, "%s", p);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- V4L2 ---- */

static uint32_t _win_type(const struct cr_fbuf_state_s *st)
{
	return st->output ? V4L2_BUF_TYPE_VIDEO_OUTPUT_OVERLAY : V4L2_BUF_TYPE_VIDEO_OVERLAY;
}

int cr_fbuf_query(int fd, const char *dev, struct cr_fbuf_state_s *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	struct v4l2_capability cap = {0};
	int r = CR_V4L2_IOCTL(fd, dev, VIDIOC_QUERYCAP, &cap, err, errlen, "capabilities");
	if (r < 0)
		return r;
	snprintf(st->card, sizeof(st->card), "%s", (const char *)cap.card);
	uint32_t c = cr_v4l2_device_caps(&cap);
	if (!(c & (V4L2_CAP_VIDEO_OVERLAY | V4L2_CAP_VIDEO_OUTPUT_OVERLAY))) {
		char names[256];
		cr_v4l2_caps_str(c, names, sizeof(names));
		cr_msgf(err, errlen,
			"%s (%s) has no video overlay (device capabilities: %s); overlays are a capture or output "
			"device's feature, e.g. vivid's (modprobe vivid node_types=0xf1d3d)",
			dev, st->card, names);
		return -ENOTTY;
	}
	st->output = (c & V4L2_CAP_VIDEO_OUTPUT_OVERLAY) != 0;
	if ((r = CR_V4L2_IOCTL(fd, dev, VIDIOC_G_FBUF, &st->fb, err, errlen, "framebuffer parameters")) < 0)
		return r;
	struct v4l2_format f = {.type = _win_type(st)};
	f.fmt.win.clips = st->clips;
	f.fmt.win.clipcount = CR_FBUF_MAX_CLIPS;
	if (cr_v4l2_ioctl(fd, VIDIOC_G_FMT, &f) == 0) {
		st->has_win = true;
		st->win = f.fmt.win;
		st->n_clips = (int)(f.fmt.win.clipcount < CR_FBUF_MAX_CLIPS ? f.fmt.win.clipcount : CR_FBUF_MAX_CLIPS);
		st->win.clips = st->clips;
		st->has_bitmap = f.fmt.win.bitmap != NULL;
		st->win.bitmap = NULL;
	}
	return 0;
}

static int _refuse(const struct cr_fbuf_state_s *st, const char *dev, const char *what, char *err, size_t errlen)
{
	char names[256];
	cr_fbuf_caps_str(st->fb.capability, names, sizeof(names));
	cr_msgf(err, errlen, "device %s does not offer %s (capabilities: %s)", dev, what, names);
	return -EOPNOTSUPP;
}

/* Checks every requested feature against the capability flags. */
static int _check_caps(const char *dev, const struct cr_overlay_opts_s *cfg, uint32_t want,
		       const struct cr_fbuf_state_s *st, char *err, size_t errlen)
{
	uint32_t caps = st->fb.capability;
	for (size_t i = 0; i < sizeof(_flag_needs) / sizeof(_flag_needs[0]); i++)
		if ((want & _flag_needs[i].flag) && !(caps & _flag_needs[i].cap))
			return _refuse(st, dev, cr_fbuf_cap_name(_flag_needs[i].cap), err, errlen);
	if (cfg->n_clips && !(caps & V4L2_FBUF_CAP_LIST_CLIPPING))
		return _refuse(st, dev, "list_clipping (clips)", err, errlen);
	if (cfg->n_bitmap && !(caps & V4L2_FBUF_CAP_BITMAP_CLIPPING))
		return _refuse(st, dev, "bitmap_clipping (bitmap)", err, errlen);
	if (cfg->destructive && st->output) {
		cr_msgf(err, errlen, "%s is a video output overlay (OSD); those are always non-destructive: drop destructive",
			dev);
		return -EINVAL;
	}
	if (cfg->destructive && (caps & V4L2_FBUF_CAP_EXTERNOVERLAY)) {
		cr_msgf(err, errlen,
			"%s only does non-destructive overlays (capability externoverlay): drop destructive and "
			"framebuffer, use chromakey or clips",
			dev);
		return -EINVAL;
	}
	if (!cfg->destructive && !st->output && cfg->has_flags && !(caps & V4L2_FBUF_CAP_EXTERNOVERLAY)) {
		cr_msgf(err, errlen,
			"%s only does destructive overlays (no externoverlay capability): set destructive = true and "
			"framebuffer = \"/dev/fbN\"",
			dev);
		return -EINVAL;
	}
	return 0;
}

static int _set_fbuf_destructive(int fd, const char *dev, const struct cr_overlay_opts_s *cfg, uint32_t want,
				 char *notes, size_t noteslen, char *err, size_t errlen)
{
	const char *fbpath = cfg->framebuffer[0] ? cfg->framebuffer : "/dev/fb0";
	struct cr_fbdev_s fbd;
	int r = cr_fbdev_info(fbpath, &fbd, err, errlen);
	if (r < 0)
		return r;
	if (!fbd.pixelformat) {
		cr_msgf(err, errlen, "framebuffer %s has %u bits per pixel in a layout V4L2 cannot name; pick another", fbpath,
			fbd.bpp);
		return -EINVAL;
	}
	if (!fbd.phys) {
		cr_msgf(err, errlen,
			"framebuffer %s (%s) does not reveal its physical address (smem_start is 0: DRM drivers hide it); "
			"a destructive overlay cannot write there",
			fbpath, fbd.id);
		return -EINVAL;
	}
	struct v4l2_framebuffer fb = {0};
	fb.flags = V4L2_FBUF_FLAG_PRIMARY | want;
	fb.base = (void *)fbd.phys;
	fb.fmt.width = fbd.width;
	fb.fmt.height = fbd.height;
	fb.fmt.pixelformat = fbd.pixelformat;
	fb.fmt.bytesperline = fbd.bytesperline;
	fb.fmt.sizeimage = fbd.bytesperline * fbd.height;
	fb.fmt.field = V4L2_FIELD_NONE;
	fb.fmt.colorspace = V4L2_COLORSPACE_SRGB;
	char fcc[16];
	r = cr_v4l2_ioctl(fd, VIDIOC_S_FBUF, &fb);
	if (r == -EPERM) {
		cr_msgf(err, errlen,
			"VIDIOC_S_FBUF on %s (destructive overlay into %s at 0x%lx) failed: Operation not permitted; "
			"pointing a device's DMA at memory needs CAP_SYS_ADMIN: run camrelay as root, or give the "
			"binary that capability once: sudo setcap cap_sys_admin+ep $(command -v camrelay)",
			dev, fbpath, fbd.phys);
		return r;
	}
	if (r < 0) {
		cr_msgf(err, errlen,
			"VIDIOC_S_FBUF on %s (destructive overlay into %s: %ux%u %s, %u bytes per line, base 0x%lx) "
			"failed: %s%s",
			dev, fbpath, fbd.width, fbd.height, cr_v4l2_fourcc_str(fbd.pixelformat, fcc), fbd.bytesperline,
			fbd.phys, strerror(-r),
			r == -EINVAL ? "; the device may not write this pixel format or this framebuffer (vivid only "
				    "writes into its own fb)"
			: r == -EBUSY ? "; the overlay is running: stop it first (camrelay overlay DEV --stop)"
				      : "");
		return r;
	}
	cr_msgf(notes, noteslen, "destructive overlay into %s (%s %ux%u %s at 0x%lx)", fbpath, fbd.id, fbd.width,
		fbd.height, cr_v4l2_fourcc_str(fbd.pixelformat, fcc), fbd.phys);
	return 0;
}

/* Bits set where the video shows, in window coordinates (1 bit per pixel,
 * rows of (width + 7) / 8 bytes). */
static uint8_t *_bitmap(const struct cr_overlay_opts_s *cfg, int w, int h)
{
	size_t stride = ((size_t)w + 7) / 8;
	uint8_t *bm = calloc(stride * (size_t)h + 1, 1);
	if (!bm)
		return NULL;
	for (int i = 0; i < cfg->n_bitmap; i++) {
		const int *r = cfg->bitmap[i];
		for (int y = r[1] < 0 ? 0 : r[1]; y < r[1] + r[3] && y < h; y++)
			for (int x = r[0] < 0 ? 0 : r[0]; x < r[0] + r[2] && x < w; x++)
				bm[(size_t)y * stride + (size_t)x / 8] |= (uint8_t)(1u << (x & 7));
	}
	return bm;
}

static int _set_window(int fd, const char *dev, const struct cr_overlay_opts_s *cfg, struct cr_fbuf_state_s *st,
		       char *notes, size_t noteslen, char *err, size_t errlen)
{
	struct v4l2_clip clips[CR_MAX_OVERLAY_RECTS];
	struct v4l2_format f = {.type = _win_type(st)};
	struct v4l2_window *win = &f.fmt.win;
	int r = CR_V4L2_IOCTL(fd, dev, VIDIOC_G_FMT, &f, err, errlen, "overlay window");
	if (r < 0)
		return r;
	if (cfg->has_window)
		win->w = (struct v4l2_rect){cfg->window[0], cfg->window[1], (uint32_t)cfg->window[2], (uint32_t)cfg->window[3]};
	win->field = V4L2_FIELD_ANY;
	for (int i = 0; i < cfg->n_clips; i++) {
		clips[i].c = (struct v4l2_rect){cfg->clips[i][0], cfg->clips[i][1], (uint32_t)cfg->clips[i][2],
						(uint32_t)cfg->clips[i][3]};
		clips[i].next = i + 1 < cfg->n_clips ? &clips[i + 1] : NULL;
	}
	win->clips = cfg->n_clips ? clips : NULL;
	win->clipcount = (uint32_t)cfg->n_clips;
	win->bitmap = NULL;
	if (cfg->has_chromakey)
		win->chromakey = cr_fbuf_pack_rgb(st->fb.fmt.pixelformat, cfg->chromakey, false);
	if (cfg->has_global_alpha)
		win->global_alpha = (uint8_t)cfg->global_alpha;
	struct v4l2_rect asked = win->w;

	/* The bitmap's size is the window's as the driver will have it. */
	uint8_t *bm = NULL;
	if (cfg->n_bitmap) {
		struct v4l2_format t = f;
		if ((r = CR_V4L2_IOCTL(fd, dev, VIDIOC_TRY_FMT, &t, err, errlen, "overlay window %ux%u%+d%+d",
				       asked.width, asked.height, asked.left, asked.top)) < 0)
			return r;
		if (!(bm = _bitmap(cfg, (int)t.fmt.win.w.width, (int)t.fmt.win.w.height)))
			return -ENOMEM;
		win->bitmap = bm;
	}
	r = CR_V4L2_IOCTL(fd, dev, VIDIOC_S_FMT, &f, err, errlen,
			  "overlay window %ux%u%+d%+d, %d clips%s, chromakey 0x%x, global alpha %u", asked.width,
			  asked.height, asked.left, asked.top, cfg->n_clips, bm ? ", a bitmap" : "", win->chromakey,
			  win->global_alpha);
	free(bm);
	if (r == -EINVAL && cfg->n_clips > 1) {
		size_t l = strlen(err);
		cr_msgf(err + l, errlen - l, " (clip rectangles must not overlap)");
	}
	if (r < 0)
		return r;
	if (cfg->has_window && memcmp(&asked, &win->w, sizeof(asked)) != 0) {
		size_t l = notes ? strlen(notes) : 0;
		cr_msgf(notes + l, noteslen - l, "%sthe driver set the window to %ux%u%+d%+d (asked %ux%u%+d%+d)",
			l ? "; " : "", win->w.width, win->w.height, win->w.left, win->w.top, asked.width, asked.height,
			asked.left, asked.top);
	}
	if ((int)win->clipcount != cfg->n_clips) {
		size_t l = notes ? strlen(notes) : 0;
		cr_msgf(notes + l, noteslen - l, "%sthe driver kept %u of %d clips", l ? "; " : "", win->clipcount,
			cfg->n_clips);
	}
	return 0;
}

int cr_fbuf_apply(int fd, const char *dev, const struct cr_overlay_opts_s *cfg, struct cr_fbuf_state_s *st,
		  char *notes, size_t noteslen, char *err, size_t errlen)
{
	if (notes && noteslen)
		notes[0] = 0;
	uint32_t want = cfg->has_flags ? cfg->fbuf_flags : 0;
	bool set_fbuf = cfg->has_flags || cfg->destructive;
	/* A key or an alpha value is useless without its flag: ask for it. */
	if (cfg->has_chromakey && !(want & _CHROMA_FLAGS)) {
		want |= V4L2_FBUF_FLAG_CHROMAKEY;
		set_fbuf = true;
	}
	if (cfg->has_global_alpha && !(want & _ALPHA_FLAGS)) {
		want |= V4L2_FBUF_FLAG_GLOBAL_ALPHA;
		set_fbuf = true;
	}
	int r = _check_caps(dev, cfg, want, st, err, errlen);
	if (r < 0)
		return r;

	if (cfg->destructive) {
		if ((r = _set_fbuf_destructive(fd, dev, cfg, want, notes, noteslen, err, errlen)) < 0)
			return r;
	} else if (set_fbuf) {
		struct v4l2_framebuffer fb = st->fb;
		/* Seed 003: set V4L2_FBUF_FLAG_OVERLAY for compatibility with bttv. */
		fb.flags = want | V4L2_FBUF_FLAG_OVERLAY;
		char names[160];
		cr_fbuf_flags_str(fb.flags, names, sizeof(names));
		r = CR_V4L2_IOCTL(fd, dev, VIDIOC_S_FBUF, &fb, err, errlen, "flags %s", names);
		if (r == -EINVAL) {
			size_t l = strlen(err);
			cr_msgf(err + l, errlen - l,
				" (devices commonly take one alpha mode at a time and not chromakey with src_chromakey)");
		}
		if (r < 0)
			return r;
	}
	struct cr_fbuf_state_s now;
	if ((r = cr_fbuf_query(fd, dev, &now, err, errlen)) < 0)
		return r;
	*st = now;
	st->win.clips = st->clips;
	if (cfg->has_window || cfg->n_clips || cfg->n_bitmap || cfg->has_chromakey || cfg->has_global_alpha) {
		if ((r = _set_window(fd, dev, cfg, st, notes, noteslen, err, errlen)) < 0)
			return r;
		if ((r = cr_fbuf_query(fd, dev, &now, err, errlen)) < 0)
			return r;
		*st = now;
		st->win.clips = st->clips;
	}
	return 0;
}

static bool _is_output(int fd)
{
	struct v4l2_capability cap = {0};
	return cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0 &&
	       (cr_v4l2_device_caps(&cap) & V4L2_CAP_VIDEO_OUTPUT_OVERLAY);
}

int cr_fbuf_overlay(int fd, const char *dev, bool on, char *err, size_t errlen)
{
	int i = on ? 1 : 0;
	int r = CR_V4L2_IOCTL(fd, dev, VIDIOC_OVERLAY, &i, err, errlen, "%s", on ? "start" : "stop");
	if (r == -EINVAL && on && err) {
		size_t l = strlen(err);
		cr_msgf(err + l, errlen - l,
			" (no framebuffer set, or the device's video format cannot be overlaid: capture/output in the "
			"framebuffer's RGB format, e.g. v4l2-ctl -d %s %s pixelformat=AR15)",
			dev, _is_output(fd) ? "-x" : "-v");
	}
	return r;
}
