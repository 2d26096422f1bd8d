/* V4L2 capture: single- and multi-planar MMAP streaming with zero-copy frames.
 *
 * Each dequeued buffer becomes a cr_frame_s whose pixels are the MMAP buffer
 * itself; its release() queues the buffer back (VIDIOC_QBUF). Buffers belong
 * to a refcounted buffer set, one per VIDIOC_REQBUFS: when the device is
 * closed or the format changes while consumers still hold frames, the set is
 * detached from the device (its frames no longer queue into whatever the fd
 * has become) and unmapped when its last frame comes back. When consumers hold
 * every buffer, a frame is copied into a pool frame instead (counted in
 * stats->bytes_copied) so the driver always has a buffer to fill. */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/v4l2_util.h"
#include "source/source.h"
#include "source/v4l2_ctrl.h"

#define _N_BUFFERS 4

struct _buf_s {
	void *start[VIDEO_MAX_PLANES];
	size_t length[VIDEO_MAX_PLANES];
	int dmabuf_fd;
	struct cr_frame_s frame; /* the zero-copy frame handed out for this buffer */
};

/* Plane layout of the negotiated format inside the buffers. */
struct _layout_s {
	enum cr_pixfmt_e format;
	int width, height;
	int n_planes;
	int mem_plane[3]; /* which memory plane holds each picture plane */
	size_t offset[3]; /* and where in it */
	int stride[3];
};

struct _bufset_s {
	pthread_mutex_t lock;
	int refs;  /* 1 for the device + 1 per frame out */
	int fd;    /* -1 once detached from the device: releases unmap, not queue */
	uint64_t generation;
	uint32_t type;
	int n, n_mem_planes, n_queued;
	struct _layout_s layout;
	struct _buf_s bufs[_N_BUFFERS];
};

struct _v4l2_s {
	int fd;
	char path[256], card[64], errbuf[256];
	uint32_t type; /* V4L2_BUF_TYPE_VIDEO_CAPTURE or _MPLANE */
	bool mplane, dv, events;
	struct v4l2_format fmt;
	struct _layout_s layout;
	size_t sizeimage;
	struct _bufset_s *bs;
	uint64_t generation;
	struct cr_pool_s *copy_pool;
	bool streaming;
	uint32_t next_sequence; /* the driver's, to notice frames it dropped */
	uint64_t driver_dropped;
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

static enum cr_pixfmt_e _format_of(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(_multi_mem) / sizeof(_multi_mem[0]); i++)
		if (_multi_mem[i].fourcc == fourcc)
			return _multi_mem[i].format;
	return cr_pixfmt_from_fourcc(fourcc);
}

static int _pref_rank(enum cr_pixfmt_e f)
{
	for (size_t i = 0; i < sizeof(_preference) / sizeof(_preference[0]); i++)
		if (_preference[i] == f)
			return (int)i;
	return 99;
}

/* snprintf for messages: truncation of a long message is fine. */
static void _seterr(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void _seterr(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

/* ---- buffer sets ---- */

static void _bufset_free(struct _bufset_s *bs)
{
	for (int i = 0; i < bs->n; i++) {
		for (int p = 0; p < bs->n_mem_planes; p++)
			if (bs->bufs[i].start[p])
				munmap(bs->bufs[i].start[p], bs->bufs[i].length[p]);
		if (bs->bufs[i].dmabuf_fd >= 0)
			close(bs->bufs[i].dmabuf_fd);
	}
	pthread_mutex_destroy(&bs->lock);
	free(bs);
}

static void _bufset_unref(struct _bufset_s *bs)
{
	pthread_mutex_lock(&bs->lock);
	int last = --bs->refs == 0;
	pthread_mutex_unlock(&bs->lock);
	if (last)
		_bufset_free(bs);
}

/* Caller holds bs->lock. */
static int _qbuf_locked(struct _bufset_s *bs, int index)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b = {.type = bs->type, .memory = V4L2_MEMORY_MMAP, .index = (uint32_t)index};
	if (bs->type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE) {
		memset(planes, 0, sizeof(planes));
		b.m.planes = planes;
		b.length = (uint32_t)bs->n_mem_planes;
	}
	int r = cr_v4l2_ioctl(bs->fd, VIDIOC_QBUF, &b);
	if (r == 0)
		bs->n_queued++;
	return r;
}

/* release() of zero-copy frames: back to the driver if the set is still the
 * device's, else just one reference less on the set. */
static void _frame_release(struct cr_frame_s *f)
{
	struct _bufset_s *bs = f->owner;
	pthread_mutex_lock(&bs->lock);
	if (bs->fd >= 0)
		_qbuf_locked(bs, f->owner_index); /* a failure shows up in the capture thread */
	int last = --bs->refs == 0;
	pthread_mutex_unlock(&bs->lock);
	if (last)
		_bufset_free(bs);
}

/* ---- negotiation ---- */

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
		enum cr_pixfmt_e f = _format_of(fd.pixelformat);
		if (f == CR_PIXFMT_NONE)
			continue;
		struct _choice_s base = {.fourcc = fd.pixelformat,
					 .fmt_miss = cfg->pixel_format && cfg->pixel_format != f,
					 .pref = _pref_rank(f) * 2 + (v->mplane && _format_of(fd.pixelformat) !=
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
		_seterr(src->error, sizeof(src->error),
			 "%s (%s) offers no pixel format camrelay can use (offers: %s; camrelay takes: %s)",
			 v->path, v->card, offered[0] ? offered : "none", cr_pixfmt_allowed());
		return -EINVAL;
	}
	return 0;
}

/* Picture planes inside the buffers, from what S_FMT returned. */
static void _make_layout(struct _v4l2_s *v)
{
	struct _layout_s *l = &v->layout;
	memset(l, 0, sizeof(*l));
	uint32_t fourcc;
	int bpl[VIDEO_MAX_PLANES] = {0}, n_mem = 1;
	if (v->mplane) {
		const struct v4l2_pix_format_mplane *mp = &v->fmt.fmt.pix_mp;
		fourcc = mp->pixelformat;
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
		l->width = (int)v->fmt.fmt.pix.width;
		l->height = (int)v->fmt.fmt.pix.height;
		bpl[0] = (int)v->fmt.fmt.pix.bytesperline;
		v->sizeimage = v->fmt.fmt.pix.sizeimage;
	}
	l->format = _format_of(fourcc);
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
		_seterr(src->error, sizeof(src->error), "%s (%s) switched to pixel format %s, which camrelay cannot use",
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
		_seterr(src->note, sizeof(src->note), "asked %s, %s (%s) gives %s", asked, v->path, v->card, got);
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
		_seterr(src->error, sizeof(src->error), "%s (%s): %s", v->path, v->card,
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

/* ---- streaming ---- */

static void _stop(struct _v4l2_s *v)
{
	if (v->bs) {
		/* Detach first: frames still out must not queue into what comes next. */
		pthread_mutex_lock(&v->bs->lock);
		v->bs->fd = -1;
		pthread_mutex_unlock(&v->bs->lock);
	}
	if (v->streaming) {
		uint32_t type = v->type;
		cr_v4l2_ioctl(v->fd, VIDIOC_STREAMOFF, &type);
		v->streaming = false;
	}
	if (v->bs) {
		/* Buffers still mapped by frames out are orphaned by the kernel and
		 * freed at their munmap. */
		struct v4l2_requestbuffers rb = {.count = 0, .type = v->type, .memory = V4L2_MEMORY_MMAP};
		cr_v4l2_ioctl(v->fd, VIDIOC_REQBUFS, &rb);
		_bufset_unref(v->bs);
		v->bs = NULL;
	}
	cr_pool_destroy(v->copy_pool);
	v->copy_pool = NULL;
}

static int _start(struct cr_source_s *src, struct _v4l2_s *v)
{
	char *err = src->error;
	size_t errlen = sizeof(src->error);
	struct v4l2_requestbuffers rb = {.count = _N_BUFFERS, .type = v->type, .memory = V4L2_MEMORY_MMAP};
	int r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_REQBUFS, &rb, err, errlen, "%d MMAP buffers", _N_BUFFERS);
	if (r < 0)
		return r;
	if (rb.count < 2) {
		_seterr(err, errlen, "%s (%s) gave %u buffers; camrelay needs at least 2", v->path, v->card, rb.count);
		return -ENOMEM;
	}
	struct _bufset_s *bs = calloc(1, sizeof(*bs));
	if (!bs) {
		_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&bs->lock, NULL);
	bs->refs = 1;
	bs->fd = v->fd;
	bs->type = v->type;
	bs->generation = ++v->generation;
	bs->n = (int)(rb.count < _N_BUFFERS ? rb.count : _N_BUFFERS);
	bs->n_mem_planes = v->mplane ? v->fmt.fmt.pix_mp.num_planes : 1;
	bs->layout = v->layout;
	for (int i = 0; i < bs->n; i++)
		bs->bufs[i].dmabuf_fd = -1;
	v->bs = bs;

	for (int i = 0; i < bs->n; i++) {
		struct _buf_s *b = &bs->bufs[i];
		struct v4l2_plane planes[VIDEO_MAX_PLANES] = {0};
		struct v4l2_buffer qb = {.type = v->type, .memory = V4L2_MEMORY_MMAP, .index = (uint32_t)i};
		if (v->mplane) {
			qb.m.planes = planes;
			qb.length = (uint32_t)bs->n_mem_planes;
		}
		r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_QUERYBUF, &qb, err, errlen, "buffer %d", i);
		if (r < 0)
			return r;
		for (int p = 0; p < bs->n_mem_planes; p++) {
			size_t len = v->mplane ? planes[p].length : qb.length;
			off_t off = v->mplane ? planes[p].m.mem_offset : qb.m.offset;
			void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, v->fd, off);
			if (m == MAP_FAILED) {
				r = -errno;
				_seterr(err, errlen, "mmap of buffer %d plane %d (%zu bytes) of %s failed: %s", i, p,
					 len, v->path, strerror(-r));
				return r;
			}
			b->start[p] = m;
			b->length[p] = len;
		}
		if (src->cfg->prefer_dmabuf && bs->n_mem_planes == 1) {
			struct v4l2_exportbuffer eb = {.type = v->type, .index = (uint32_t)i,
						       .flags = O_CLOEXEC | O_RDONLY};
			if (cr_v4l2_ioctl(v->fd, VIDIOC_EXPBUF, &eb) == 0)
				b->dmabuf_fd = eb.fd;
			else if (i == 0)
				CR_LOG_I(src->stream_name, "%s cannot export DMA-BUFs (VIDIOC_EXPBUF): frames go by memory",
					 v->path);
		}
		pthread_mutex_lock(&bs->lock);
		r = _qbuf_locked(bs, i);
		pthread_mutex_unlock(&bs->lock);
		if (r < 0) {
			_seterr(err, errlen, "VIDIOC_QBUF on %s (buffer %d) failed: %s%s", v->path, i, strerror(-r),
				 cr_v4l2_errno_hint(-r, v->path));
			return r;
		}
	}
	size_t max = v->layout.format == CR_PIXFMT_MJPEG ? v->sizeimage : 0;
	v->copy_pool = cr_pool_new(v->layout.format, v->layout.width, v->layout.height, max);
	if (!v->copy_pool) {
		_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	uint32_t type = v->type;
	r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_STREAMON, &type, err, errlen, "%dx%d %s", v->layout.width,
			  v->layout.height, cr_pixfmt_name(v->layout.format));
	if (r < 0)
		return r;
	v->streaming = true;
	v->next_sequence = 0;
	return 0;
}

/* ---- controls from the config ---- */

static void _apply_config_controls(struct cr_source_s *src, struct _v4l2_s *v)
{
	const struct cr_capture_cfg_s *cfg = src->cfg;
	bool done[CR_MAX_CONTROLS] = {false};
	char err[512];
	/* Twice: a control made active by a later one (an automatic mode turned
	 * off) is set on the second pass. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < cfg->n_controls; i++) {
			if (done[i])
				continue;
			int r = cr_v4l2_ctrl_set(v->fd, v->path, cfg->controls[i].name, cfg->controls[i].value, err,
						 sizeof(err));
			if (r == 0 || r != -EACCES || pass == 1)
				done[i] = true;
			if (r < 0 && (r != -EACCES || pass == 1)) {
				CR_LOG_W(src->stream_name, "config control %s = %s: %s", cfg->controls[i].name,
					 cfg->controls[i].value, err);
				size_t l = strlen(src->note);
				snprintf(src->note + l, sizeof(src->note) - l, "%scontrol %s not set: %.120s",
					 l ? "; " : "", cfg->controls[i].name, err);
			}
		}
	}
}

/* ---- ops ---- */

static void _v4l2_close(struct cr_source_s *src)
{
	struct _v4l2_s *v = src->priv;
	if (!v)
		return;
	if (v->fd >= 0) {
		_stop(v);
		close(v->fd);
	}
	free(v);
	src->priv = NULL;
}

static int _v4l2_open(struct cr_source_s *src)
{
	struct _v4l2_s *v = calloc(1, sizeof(*v));
	if (!v) {
		_seterr(src->error, sizeof(src->error), "out of memory");
		return -ENOMEM;
	}
	src->priv = v;
	src->note[0] = 0;
	v->fd = cr_v4l2_open(src->cfg->device, V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE, v->path,
			     sizeof(v->path), v->card, sizeof(v->card), src->error, sizeof(src->error));
	int r = v->fd;
	if (r < 0)
		goto error;
	snprintf(src->device_path, sizeof(src->device_path), "%s", v->path);

	struct v4l2_capability cap = {0};
	r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_QUERYCAP, &cap, src->error, sizeof(src->error), "capabilities");
	if (r < 0)
		goto error;
	uint32_t caps = cr_v4l2_device_caps(&cap);
	if (!(caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) || !(caps & V4L2_CAP_STREAMING)) {
		char cs[256];
		cr_v4l2_caps_str(caps, cs, sizeof(cs));
		_seterr(src->error, sizeof(src->error),
			 "%s (%s) is not a streaming video capture device (it has: %s); camrelay list shows which "
			 "node captures",
			 v->path, v->card, cs);
		r = -ENODEV;
		goto error;
	}
	v->mplane = !(caps & V4L2_CAP_VIDEO_CAPTURE);
	v->type = v->mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;

	/* The current input decides DV timings and which source-change events. */
	int input = 0;
	if (cr_v4l2_ioctl(v->fd, VIDIOC_G_INPUT, &input) == 0) {
		struct v4l2_input in = {.index = (uint32_t)input};
		if (cr_v4l2_ioctl(v->fd, VIDIOC_ENUMINPUT, &in) == 0)
			v->dv = (in.capabilities & V4L2_IN_CAP_DV_TIMINGS) != 0;
	}
	struct v4l2_event_subscription sub = {.type = V4L2_EVENT_SOURCE_CHANGE, .id = (uint32_t)input};
	v->events = cr_v4l2_ioctl(v->fd, VIDIOC_SUBSCRIBE_EVENT, &sub) == 0;

	if ((r = _follow_dv_timings(src, v)) < 0 || (r = _negotiate(src, v)) < 0)
		goto error;
	_apply_config_controls(src, v);
	if ((r = _start(src, v)) < 0)
		goto error;
	return 0;
error:
	_v4l2_close(src);
	return r;
}

/* Source changed (event, or EPIPE): stop, follow the new timings, renegotiate
 * and restart on the same fd. */
static int _restart(struct cr_source_s *src, struct _v4l2_s *v)
{
	CR_LOG_I(src->stream_name, "%s (%s): source changed, renegotiating", v->path, v->card);
	_stop(v);
	int r;
	if ((r = _follow_dv_timings(src, v)) < 0 || (r = _negotiate(src, v)) < 0 || (r = _start(src, v)) < 0)
		return r;
	if (src->note[0])
		CR_LOG_W(src->stream_name, "%s", src->note);
	return 1;
}

/* Returns 1 when a source change asks for renegotiation, 0 else, -errno on failure. */
static int _handle_events(struct cr_source_s *src, struct _v4l2_s *v)
{
	bool changed = false;
	for (int i = 0; i < 16; i++) {
		struct v4l2_event ev = {0};
		int r = cr_v4l2_ioctl(v->fd, VIDIOC_DQEVENT, &ev);
		if (r == -ENOENT || r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		if (ev.type == V4L2_EVENT_SOURCE_CHANGE && (ev.u.src_change.changes & V4L2_EVENT_SRC_CH_RESOLUTION))
			changed = true;
	}
	return changed;
}

static int _fail(struct cr_source_s *src, struct _v4l2_s *v, int r, const char *what)
{
	if (r == -ENODEV || r == -ENXIO)
		_seterr(src->error, sizeof(src->error), "%s (%s) disappeared: %s", v->path, v->card, strerror(-r));
	else
		_seterr(src->error, sizeof(src->error), "%s (%s): %s failed: %s%s", v->path, v->card, what,
			 strerror(-r), r == -EIO ? " (the driver reported a streaming error)" : "");
	return r;
}

/* Copies a frame out of its buffer into a pool frame (tightly packed). */
static struct cr_frame_s *_copy_frame(struct cr_source_s *src, struct _v4l2_s *v, const struct cr_frame_s *in)
{
	struct cr_frame_s *f = cr_pool_get(v->copy_pool);
	if (!f)
		return NULL;
	size_t copied = 0;
	if (in->format == CR_PIXFMT_MJPEG) {
		size_t n = in->size < v->sizeimage ? in->size : v->sizeimage;
		memcpy(f->data[0], in->data[0], n);
		f->size = copied = n;
	} else {
		int tight[3], rows[3];
		cr_pixfmt_planes(in->format, in->width, in->height, tight, rows);
		for (int p = 0; p < in->n_planes; p++) {
			size_t row = (size_t)(tight[p] < in->stride[p] ? tight[p] : in->stride[p]);
			for (int y = 0; y < rows[p]; y++)
				memcpy(f->data[p] + (size_t)y * f->stride[p], in->data[p] + (size_t)y * in->stride[p], row);
			copied += row * (size_t)rows[p];
		}
	}
	if (src->stats)
		atomic_fetch_add(&src->stats->bytes_copied, copied);
	f->ts_capture_ns = in->ts_capture_ns;
	return f;
}

static int _dequeue(struct cr_source_s *src, struct _v4l2_s *v, struct cr_frame_s **out)
{
	struct _bufset_s *bs = v->bs;
	struct v4l2_plane planes[VIDEO_MAX_PLANES] = {0};
	struct v4l2_buffer b = {.type = v->type, .memory = V4L2_MEMORY_MMAP};
	if (v->mplane) {
		b.m.planes = planes;
		b.length = (uint32_t)bs->n_mem_planes;
	}
	int r = cr_v4l2_ioctl(v->fd, VIDIOC_DQBUF, &b);
	if (r == -EAGAIN)
		return 0;
	if (r == -EPIPE)
		return _restart(src, v);
	if (r < 0)
		return _fail(src, v, r, "VIDIOC_DQBUF");
	if (b.index >= (uint32_t)bs->n)
		return _fail(src, v, -EIO, "VIDIOC_DQBUF (buffer index out of range)");

	pthread_mutex_lock(&bs->lock);
	bs->n_queued--;
	size_t used = 0;
	for (int p = 0; p < (v->mplane ? bs->n_mem_planes : 1); p++)
		used += v->mplane ? planes[p].bytesused - planes[p].data_offset : b.bytesused;
	if ((b.flags & V4L2_BUF_FLAG_ERROR) || used == 0) {
		_qbuf_locked(bs, (int)b.index); /* a damaged or empty frame: skip it */
		pthread_mutex_unlock(&bs->lock);
		return 0;
	}
	bool starving = bs->n_queued == 0;
	if (b.sequence != v->next_sequence && v->next_sequence) {
		v->driver_dropped += b.sequence - v->next_sequence;
		if (src->stats)
			atomic_fetch_add(&src->stats->frames_device_skipped, b.sequence - v->next_sequence);
		CR_LOG_D(src->stream_name, "%s: the driver skipped %u frames (%llu in all)", v->path,
			 b.sequence - v->next_sequence, (unsigned long long)v->driver_dropped);
	}
	v->next_sequence = b.sequence + 1;
	bs->refs++;
	pthread_mutex_unlock(&bs->lock);

	struct _buf_s *buf = &bs->bufs[b.index];
	struct cr_frame_s *f = &buf->frame;
	const struct _layout_s *l = &bs->layout;
	memset(f, 0, sizeof(*f));
	atomic_init(&f->refs, 1);
	atomic_fetch_add(&cr_frames_alive, 1);
	f->format = l->format;
	f->width = l->width;
	f->height = l->height;
	f->n_planes = l->n_planes;
	for (int p = 0; p < l->n_planes; p++) {
		size_t data_off = v->mplane ? planes[l->mem_plane[p]].data_offset : 0;
		f->data[p] = (uint8_t *)buf->start[l->mem_plane[p]] + data_off + l->offset[p];
		f->stride[p] = l->stride[p];
		f->dmabuf_offset[p] = (uint32_t)(data_off + l->offset[p]);
	}
	f->size = used;
	f->dmabuf_fd = buf->dmabuf_fd;
	if ((b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
	    (b.timestamp.tv_sec || b.timestamp.tv_usec))
		f->ts_capture_ns = (int64_t)b.timestamp.tv_sec * 1000000000LL + (int64_t)b.timestamp.tv_usec * 1000;
	else
		f->ts_capture_ns = cr_now_ns();
	f->release = _frame_release;
	f->owner = bs;
	f->owner_index = (int)b.index;

	if (starving) {
		/* Every other buffer is held downstream: give this one back now. */
		struct cr_frame_s *copy = _copy_frame(src, v, f);
		cr_frame_unref(f);
		if (!copy) {
			_seterr(src->error, sizeof(src->error), "out of memory");
			return -ENOMEM;
		}
		f = copy;
	}
	*out = f;
	return 0;
}

static int _v4l2_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	struct _v4l2_s *v = src->priv;
	*out = NULL;
	struct pollfd pfd = {.fd = v->fd, .events = POLLIN | POLLPRI};
	int r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : _fail(src, v, -errno, "poll");
	if (r == 0)
		return 0;
	if (pfd.revents & POLLNVAL)
		return _fail(src, v, -EBADF, "poll");
	if ((pfd.revents & POLLPRI) && !(pfd.revents & POLLERR)) {
		r = _handle_events(src, v);
		if (r < 0)
			return _fail(src, v, r, "VIDIOC_DQEVENT");
		if (r > 0)
			return _restart(src, v);
	}
	if (pfd.revents & (POLLIN | POLLERR)) {
		r = _dequeue(src, v, out);
		if (r == 0 && !*out && (pfd.revents & POLLERR)) {
			/* vb2 flags POLLERR when the queue failed; DQBUF said nothing. */
			return _fail(src, v, -EIO, "streaming (poll reported an error)");
		}
		return r;
	}
	return 0;
}

static int _v4l2_list_controls(struct cr_source_s *src, struct cr_control_info_s *out, int max)
{
	struct _v4l2_s *v = src->priv;
	struct cr_v4l2_ctrl_s ctrls[128];
	int n = cr_v4l2_ctrl_list(v->fd, ctrls, max < 128 ? max : 128);
	for (int i = 0; i < n; i++) {
		struct cr_control_info_s *o = &out[i];
		const struct cr_v4l2_ctrl_s *c = &ctrls[i];
		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", c->name);
		switch (c->type) {
		case V4L2_CTRL_TYPE_BOOLEAN:
			o->type = CR_CONTROL_BOOL;
			break;
		case V4L2_CTRL_TYPE_MENU:
		case V4L2_CTRL_TYPE_INTEGER_MENU:
			o->type = CR_CONTROL_MENU;
			break;
		case V4L2_CTRL_TYPE_BUTTON:
			o->type = CR_CONTROL_BUTTON;
			break;
		case V4L2_CTRL_TYPE_STRING:
			o->type = CR_CONTROL_STRING;
			break;
		default:
			o->type = CR_CONTROL_INT;
		}
		o->min = c->min;
		o->max = c->max;
		o->step = c->step;
		o->def = c->def;
		o->value = c->value;
		snprintf(o->text, sizeof(o->text), "%s", c->text);
	}
	return n;
}

static int _v4l2_set_control(struct cr_source_s *src, const char *name, const char *value)
{
	struct _v4l2_s *v = src->priv;
	int r = cr_v4l2_ctrl_set(v->fd, v->path, name, value, v->errbuf, sizeof(v->errbuf));
	if (r < 0)
		_seterr(src->error, sizeof(src->error), "%s", v->errbuf);
	return r;
}

const struct cr_source_ops_s cr_source_v4l2 = {
	.name = "v4l2",
	.open = _v4l2_open,
	.read = _v4l2_read,
	.close = _v4l2_close,
	.list_controls = _v4l2_list_controls,
	.set_control = _v4l2_set_control,
};
