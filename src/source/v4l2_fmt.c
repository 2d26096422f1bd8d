/* Format negotiation for the V4L2 capture source: picks pixel format, size
 * and frame interval among what the device enumerates (the config's wish
 * first, then the closest), sets them, and says what differs. */
#include "source/v4l2_fmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/v4l2_util.h"

/* What negotiation works on (v4l2.c keeps the rest of the device state). */
struct _v4l2_s {
	int fd;
	const char *path, *card;
	uint32_t type;
	bool mplane, dv;
	struct v4l2_format fmt;
	struct cr_v4l2_layout_s layout;
	size_t sizeimage;
};

/* V4L2 formats with one memory plane per picture plane. */
static const struct {
	uint32_t fourcc;
	enum cr_pixfmt_e format;
} _multi_mem[] = {
	{V4L2_PIX_FMT_NV12M, CR_PIXFMT_NV12},
	{V4L2_PIX_FMT_YUV420M, CR_PIXFMT_YUV420},
};

/* Formats in the order taken when the config names none and several fit as
 * well: cheap to convert first, MJPEG (a decode) after the raw YUV ones. */
static const enum cr_pixfmt_e _preference[] = {
	CR_PIXFMT_YUYV,	 CR_PIXFMT_NV12,  CR_PIXFMT_YUV420, CR_PIXFMT_UYVY, CR_PIXFMT_YVYU,
	CR_PIXFMT_MJPEG, CR_PIXFMT_RGB24, CR_PIXFMT_BGR24,  CR_PIXFMT_GREY,
};

enum cr_pixfmt_e cr_v4l2_format_of(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(_multi_mem) / sizeof(_multi_mem[0]); i++)
		if (_multi_mem[i].fourcc == fourcc)
			return _multi_mem[i].format;
	return cr_pixfmt_from_fourcc(fourcc);
}

bool cr_v4l2_full_range(enum cr_pixfmt_e format, uint32_t quantization, uint32_t colorspace, uint32_t ycbcr_enc)
{
	switch (format) {
	case CR_PIXFMT_YUYV:
	case CR_PIXFMT_UYVY:
	case CR_PIXFMT_YVYU:
	case CR_PIXFMT_NV12:
	case CR_PIXFMT_YUV420:
		break;
	default:
		return false;
	}
	(void)ycbcr_enc; /* in the kernel macro's signature; no default depends on it (yet) */
	if (quantization == V4L2_QUANTIZATION_DEFAULT)
		quantization = V4L2_MAP_QUANTIZATION_DEFAULT(false, colorspace, ycbcr_enc);
	return quantization == V4L2_QUANTIZATION_FULL_RANGE;
}

static int _pref_rank(enum cr_pixfmt_e f)
{
	for (size_t i = 0; i < sizeof(_preference) / sizeof(_preference[0]); i++)
		if (_preference[i] == f)
			return (int)i;
	return 99;
}

struct _choice_s {
	uint32_t fourcc;
	int width, height;
	struct v4l2_fract ival; /* {0,0}: leave the rate alone */
	/* Cost, compared in order; lower is better. */
	int fmt_miss;
	double size_cost, fps_cost;
	int pref;
};

static double _fps_of(struct v4l2_fract f) { return f.numerator ? (double)f.denominator / f.numerator : 0; }

static bool _better(const struct _choice_s *a, const struct _choice_s *b)
{
	if (a->fmt_miss != b->fmt_miss)
		return a->fmt_miss < b->fmt_miss;
	if (a->size_cost != b->size_cost)
		return a->size_cost < b->size_cost;
	if (a->fps_cost != b->fps_cost)
		return a->fps_cost < b->fps_cost;
	return a->pref < b->pref;
}

/* Best frame interval for fourcc at w x h: nearest to the asked rate, or the
 * fastest when none was asked. */
static void _pick_interval(int fd, uint32_t fourcc, int w, int h, int want_fps, struct _choice_s *c)
{
	c->ival = (struct v4l2_fract){0, 0};
	c->fps_cost = 0;
	bool found = false;
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_frmivalenum fi = {.index = i, .pixel_format = fourcc, .width = (uint32_t)w,
					      .height = (uint32_t)h};
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0)
			break;
		struct v4l2_fract cand[3];
		int nc = 0;
		if (fi.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			cand[nc++] = fi.discrete;
		} else {
			/* Stepwise/continuous: the asked rate if inside, and both ends. */
			double lo = _fps_of(fi.stepwise.max), hi = _fps_of(fi.stepwise.min);
			if (want_fps > 0 && want_fps >= lo && want_fps <= hi)
				cand[nc++] = (struct v4l2_fract){1, (uint32_t)want_fps};
			cand[nc++] = fi.stepwise.min;
			cand[nc++] = fi.stepwise.max;
		}
		for (int k = 0; k < nc; k++) {
			double fps = _fps_of(cand[k]);
			double cost = want_fps > 0 ? (fps > want_fps ? fps - want_fps : want_fps - fps) : -fps;
			if (!found || cost < c->fps_cost) {
				c->fps_cost = cost;
				c->ival = cand[k];
				found = true;
			}
		}
		if (fi.type != V4L2_FRMIVAL_TYPE_DISCRETE)
			break;
	}
}

static double _size_cost(int w, int h, int aw, int ah)
{
	if (aw <= 0 || ah <= 0)
		return 0;
	double d = (double)w * h - (double)aw * ah;
	double cost = d < 0 ? -d : d;
	/* Same area, other shape (e.g. 1280x720 vs 960x960): prefer the asked width. */
	return cost + (w != aw ? 0.5 : 0) + (h != ah ? 0.25 : 0);
}

static void _consider(int fd, uint32_t fourcc, int w, int h, int aw, int ah, int want_fps,
		      const struct _choice_s *base, struct _choice_s *best, bool *have)
{
	struct _choice_s c = *base;
	c.width = w;
	c.height = h;
	c.size_cost = _size_cost(w, h, aw, ah);
	_pick_interval(fd, fourcc, w, h, want_fps, &c);
	if (!*have || _better(&c, best)) {
		*best = c;
		*have = true;
	}
}

static int _clamp_step(int v, uint32_t lo, uint32_t hi, uint32_t step)
{
	if (v < (int)lo)
		v = (int)lo;
	if (v > (int)hi)
		v = (int)hi;
	if (step > 1)
		v = (int)lo + (v - (int)lo) / (int)step * (int)step;
	return v;
}

/* Chooses format, size and rate among what the device enumerates. */
static int _choose(struct cr_source_s *src, struct _v4l2_s *v, int cur_w, int cur_h, struct _choice_s *best)
{
	const struct cr_capture_cfg_s *cfg = src->cfg;
	int aw = cfg->width > 0 ? cfg->width : cur_w, ah = cfg->height > 0 ? cfg->height : cur_h;
	bool have = false;
	char offered[256] = "";
	size_t ol = 0;
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_fmtdesc fd = {.index = i, .type = v->type};
		if (cr_v4l2_ioctl(v->fd, VIDIOC_ENUM_FMT, &fd) < 0)
			break;
		char fcc[16];
		int w = snprintf(offered + ol, sizeof(offered) - ol, "%s%s", ol ? ", " : "",
				 cr_v4l2_fourcc_str(fd.pixelformat, fcc));
		if (w > 0 && (size_t)w < sizeof(offered) - ol)
			ol += (size_t)w;
		enum cr_pixfmt_e f = cr_v4l2_format_of(fd.pixelformat);
		if (f == CR_PIXFMT_NONE)
			continue;
		struct _choice_s base = {.fourcc = fd.pixelformat,
					 .fmt_miss = cfg->pixel_format && cfg->pixel_format != f,
					 .pref = _pref_rank(f) * 2 + (v->mplane && cr_v4l2_format_of(fd.pixelformat) !=
									cr_pixfmt_from_fourcc(fd.pixelformat))};
		bool sized = false;
		for (uint32_t k = 0; k < 256; k++) {
			struct v4l2_frmsizeenum fs = {.index = k, .pixel_format = fd.pixelformat};
			if (cr_v4l2_ioctl(v->fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0)
				break;
			sized = true;
			if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
				_consider(v->fd, fd.pixelformat, (int)fs.discrete.width, (int)fs.discrete.height,
					  aw, ah, cfg->fps, &base, best, &have);
				continue;
			}
			int sw = _clamp_step(aw > 0 ? aw : (int)fs.stepwise.max_width, fs.stepwise.min_width,
					     fs.stepwise.max_width, fs.stepwise.step_width);
			int sh = _clamp_step(ah > 0 ? ah : (int)fs.stepwise.max_height, fs.stepwise.min_height,
					     fs.stepwise.max_height, fs.stepwise.step_height);
			_consider(v->fd, fd.pixelformat, sw, sh, aw, ah, cfg->fps, &base, best, &have);
			break;
		}
		if (!sized) /* no size list: ask for the wanted size, the driver adjusts */
			_consider(v->fd, fd.pixelformat, aw, ah, aw, ah, cfg->fps, &base, best, &have);
	}
	if (!have) {
		cr_msgf(src->error, sizeof(src->error),
			 "%s (%s) offers no pixel format camrelay can use (offers: %s; camrelay takes: %s)",
			 v->path, v->card, offered[0] ? offered : "none", cr_pixfmt_allowed());
		return -EINVAL;
	}
	return 0;
}

/* Picture planes inside the buffers, from what S_FMT returned. */
static void _make_layout(struct _v4l2_s *v)
{
	struct cr_v4l2_layout_s *l = &v->layout;
	memset(l, 0, sizeof(*l));
	uint32_t fourcc, quant, colsp, enc;
	int bpl[VIDEO_MAX_PLANES] = {0}, n_mem = 1;
	if (v->mplane) {
		const struct v4l2_pix_format_mplane *mp = &v->fmt.fmt.pix_mp;
		fourcc = mp->pixelformat;
		quant = mp->quantization;
		colsp = mp->colorspace;
		enc = mp->ycbcr_enc;
		l->width = (int)mp->width;
		l->height = (int)mp->height;
		n_mem = mp->num_planes ? mp->num_planes : 1;
		v->sizeimage = 0;
		for (int p = 0; p < n_mem && p < VIDEO_MAX_PLANES; p++) {
			bpl[p] = (int)mp->plane_fmt[p].bytesperline;
			v->sizeimage += mp->plane_fmt[p].sizeimage;
		}
	} else {
		fourcc = v->fmt.fmt.pix.pixelformat;
		quant = v->fmt.fmt.pix.quantization;
		colsp = v->fmt.fmt.pix.colorspace;
		enc = v->fmt.fmt.pix.ycbcr_enc;
		l->width = (int)v->fmt.fmt.pix.width;
		l->height = (int)v->fmt.fmt.pix.height;
		bpl[0] = (int)v->fmt.fmt.pix.bytesperline;
		v->sizeimage = v->fmt.fmt.pix.sizeimage;
	}
	l->format = cr_v4l2_format_of(fourcc);
	l->full_range = cr_v4l2_full_range(l->format, quant, colsp, enc);
	int tight[3], rows[3];
	l->n_planes = cr_pixfmt_planes(l->format, l->width, l->height, tight, rows);
	if (l->n_planes == 0) { /* compressed */
		l->n_planes = 1;
		return;
	}
	if (n_mem >= l->n_planes) { /* one memory plane per picture plane */
		for (int p = 0; p < l->n_planes; p++) {
			l->mem_plane[p] = p;
			l->stride[p] = bpl[p] ? bpl[p] : tight[p];
		}
		return;
	}
	/* All planes in one buffer; chroma strides scale with the luma stride. */
	int s0 = bpl[0] ? bpl[0] : tight[0];
	size_t off = 0;
	for (int p = 0; p < l->n_planes; p++) {
		l->stride[p] = p == 0 ? s0 : (int)((long)tight[p] * s0 / tight[0]);
		l->offset[p] = off;
		off += (size_t)l->stride[p] * (size_t)rows[p];
	}
}

static void _fmt_desc(char *out, size_t n, int w, int h, enum cr_pixfmt_e f, double fps)
{
	char s[32] = "", r[32] = "";
	if (w > 0 && h > 0)
		snprintf(s, sizeof(s), "%dx%d ", w, h);
	if (fps > 0)
		snprintf(r, sizeof(r), " @%.4g", fps);
	snprintf(out, n, "%s%s%s", s, f ? cr_pixfmt_name(f) : "any format", r);
}

/* Once per negotiation: the Y'CbCr range frames are flagged with, and why. */
static void _log_range(const struct cr_source_s *src, const struct _v4l2_s *v)
{
	const struct cr_v4l2_layout_s *l = &v->layout;
	if (!cr_v4l2_full_range(l->format, V4L2_QUANTIZATION_FULL_RANGE, 0, 0))
		return; /* not Y'CbCr: the format says the range */
	uint32_t q = v->mplane ? v->fmt.fmt.pix_mp.quantization : v->fmt.fmt.pix.quantization;
	uint32_t cs = v->mplane ? v->fmt.fmt.pix_mp.colorspace : v->fmt.fmt.pix.colorspace;
	CR_LOG_I(src->stream_name, "%s (%s): %s %dx%d in %s range (V4L2 quantization %s, colorspace %u)", v->path,
		 v->card, cr_pixfmt_name(l->format), l->width, l->height, l->full_range ? "full" : "limited",
		 q == V4L2_QUANTIZATION_FULL_RANGE  ? "full range"
		 : q == V4L2_QUANTIZATION_LIM_RANGE ? "limited range"
						    : "default",
		 cs);
}

static int _negotiate(struct cr_source_s *src, struct _v4l2_s *v)
{
	const struct cr_capture_cfg_s *cfg = src->cfg;
	struct v4l2_format cur = {.type = v->type};
	int r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_G_FMT, &cur, src->error, sizeof(src->error),
			      "current format");
	if (r < 0)
		return r;
	int cur_w = v->mplane ? (int)cur.fmt.pix_mp.width : (int)cur.fmt.pix.width;
	int cur_h = v->mplane ? (int)cur.fmt.pix_mp.height : (int)cur.fmt.pix.height;

	struct _choice_s c = {0};
	r = _choose(src, v, cur_w, cur_h, &c);
	if (r < 0)
		return r;
	struct v4l2_format f = {.type = v->type};
	if (v->mplane) {
		f.fmt.pix_mp.pixelformat = c.fourcc;
		f.fmt.pix_mp.width = (uint32_t)c.width;
		f.fmt.pix_mp.height = (uint32_t)c.height;
		f.fmt.pix_mp.field = V4L2_FIELD_NONE;
	} else {
		f.fmt.pix.pixelformat = c.fourcc;
		f.fmt.pix.width = (uint32_t)c.width;
		f.fmt.pix.height = (uint32_t)c.height;
		f.fmt.pix.field = V4L2_FIELD_NONE;
	}
	char fcc[16];
	r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_S_FMT, &f, src->error, sizeof(src->error), "asking %dx%d %s",
			  c.width, c.height, cr_v4l2_fourcc_str(c.fourcc, fcc));
	if (r < 0)
		return r;
	v->fmt = f;
	_make_layout(v);
	if (v->layout.format == CR_PIXFMT_NONE) {
		cr_msgf(src->error, sizeof(src->error), "%s (%s) switched to pixel format %s, which camrelay cannot use",
			 v->path, v->card,
			 cr_v4l2_fourcc_str(v->mplane ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat, fcc));
		return -EINVAL;
	}

	/* Frame rate: set what was chosen, then read back what the device does. */
	struct v4l2_streamparm parm = {.type = v->type};
	if (c.ival.numerator && c.ival.denominator) {
		parm.parm.capture.timeperframe = c.ival;
		if (cr_v4l2_ioctl(v->fd, VIDIOC_S_PARM, &parm) < 0)
			CR_LOG_D(src->stream_name, "VIDIOC_S_PARM on %s (%u/%u s) failed", v->path,
				 c.ival.numerator, c.ival.denominator);
	}
	memset(&parm, 0, sizeof(parm));
	parm.type = v->type;
	src->fps_num = src->fps_den = 0;
	if (cr_v4l2_ioctl(v->fd, VIDIOC_G_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator &&
	    parm.parm.capture.timeperframe.denominator) {
		src->fps_num = (int)parm.parm.capture.timeperframe.denominator;
		src->fps_den = (int)parm.parm.capture.timeperframe.numerator;
	}
	src->format = v->layout.format;
	src->width = v->layout.width;
	src->height = v->layout.height;
	_log_range(src, v);

	/* Tell what differs from the config, in the config's terms. */
	double fps = src->fps_den ? (double)src->fps_num / src->fps_den : 0;
	bool differs = (cfg->pixel_format && cfg->pixel_format != src->format) ||
		       (cfg->width > 0 && cfg->width != src->width) ||
		       (cfg->height > 0 && cfg->height != src->height) ||
		       (cfg->fps > 0 && (fps < cfg->fps - 0.01 || fps > cfg->fps + 0.01));
	src->note[0] = 0;
	if (differs) {
		char asked[96], got[96];
		_fmt_desc(asked, sizeof(asked), cfg->width, cfg->height, cfg->pixel_format, cfg->fps);
		_fmt_desc(got, sizeof(got), src->width, src->height, src->format, fps);
		cr_msgf(src->note, sizeof(src->note), "asked %s, %s (%s) gives %s", asked, v->path, v->card, got);
	}
	return 0;
}

/* For inputs with DV timings (HDMI): follow what the source sends. */
static int _follow_dv_timings(struct cr_source_s *src, struct _v4l2_s *v)
{
	if (!v->dv)
		return 0;
	struct v4l2_dv_timings t = {0}, cur = {0};
	int r = cr_v4l2_ioctl(v->fd, VIDIOC_QUERY_DV_TIMINGS, &t);
	if (r == -ENOLINK || r == -ENOLCK || r == -ERANGE) {
		cr_msgf(src->error, sizeof(src->error), "%s (%s): %s", v->path, v->card,
			 r == -ENOLINK ? "no signal on the input" : r == -ENOLCK ? "input signal not stable (no lock)"
										 : "input signal out of range");
		return r;
	}
	if (r < 0)
		return 0; /* cannot query: keep the configured timings */
	if (cr_v4l2_ioctl(v->fd, VIDIOC_G_DV_TIMINGS, &cur) == 0 && memcmp(&cur, &t, sizeof(t)) == 0)
		return 0;
	return CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_S_DV_TIMINGS, &t, src->error, sizeof(src->error),
			     "timings %ux%u from VIDIOC_QUERY_DV_TIMINGS", t.bt.width, t.bt.height);
}

int cr_v4l2_negotiate(struct cr_source_s *src, int fd, const char *path, const char *card, uint32_t type,
		      struct v4l2_format *fmt, struct cr_v4l2_layout_s *layout, size_t *sizeimage)
{
	struct _v4l2_s v = {.fd = fd, .path = path, .card = card, .type = type,
			    .mplane = type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE};
	int r = _negotiate(src, &v);
	if (r == 0) {
		*fmt = v.fmt;
		*layout = v.layout;
		*sizeimage = v.sizeimage;
	}
	return r;
}

int cr_v4l2_follow_dv_timings(struct cr_source_s *src, int fd, const char *path, const char *card, bool dv)
{
	struct _v4l2_s v = {.fd = fd, .path = path, .card = card, .dv = dv};
	return _follow_dv_timings(src, &v);
}
