/* libcamera capture (seed 001's backend = "libcamera"): the C side. The
 * camera itself is driven by libcamera.cpp through libcamera_priv.h; here each
 * completed buffer becomes a zero-copy frame (planes mmapped once at open,
 * dmabuf_fd set so an M2M encoder imports it) whose release() queues the
 * buffer again. The state outlives close() while frames are still out. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "core/module.h"
#include "source/libcamera_formats.h"
#include "source/libcamera_priv.h"
#include "source/source.h"

#define _MAX_BUFS 16
#define _FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* The DRM fourccs libcamera names camrelay's formats by (cr_lc_formats, its
 * caps), index for index. V4L2's RGB3 (R, G, B bytes in memory) is DRM's BGR888. */
static const enum cr_pixfmt_e *const _lc_formats = cr_lc_formats;
static const uint32_t _drm[] = {
	_FOURCC('Y', 'U', 'Y', 'V'), _FOURCC('U', 'Y', 'V', 'Y'), _FOURCC('Y', 'V', 'Y', 'U'),
	_FOURCC('N', 'V', '1', '2'), _FOURCC('Y', 'U', '1', '2'), _FOURCC('B', 'G', '2', '4'),
	_FOURCC('R', 'G', '2', '4'), _FOURCC('R', '8', ' ', ' '), _FOURCC('M', 'J', 'P', 'G'),
};
_Static_assert(sizeof(_drm) / sizeof(_drm[0]) + 1 == sizeof(cr_lc_formats) / sizeof(cr_lc_formats[0]),
	       "a DRM fourcc for each format");
static const struct cr_source_caps_s _lc_caps = {.formats = cr_lc_formats, .hardware = true};

struct _lc_s {
	struct cr_lc_s *cam;
	atomic_int refs; /* the open source + each frame out */
	int n_bufs;
	struct cr_frame_s frames[_MAX_BUFS];
	struct {
		void *addr;
		size_t len;
	} maps[_MAX_BUFS * 3];
	int n_maps;
};

static void _put(struct _lc_s *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	cr_lc_destroy(l->cam);
	for (int i = 0; i < l->n_maps; i++)
		munmap(l->maps[i].addr, l->maps[i].len);
	free(l);
}

static void _frame_release(struct cr_frame_s *f)
{
	struct _lc_s *l = f->owner;
	cr_lc_requeue(l->cam, f->owner_index);
	_put(l);
}

/* One mapping per DMA-BUF fd, shared by the planes that live in it. */
static uint8_t *_map(struct _lc_s *l, const struct cr_lc_plane_s *p, int *fds, char *err, size_t errlen)
{
	for (int i = 0; i < l->n_maps; i++)
		if (fds[i] == p->fd)
			return l->maps[i].addr;
	off_t len = lseek(p->fd, 0, SEEK_END);
	if (len <= 0)
		len = (off_t)p->offset + p->length;
	void *a = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, p->fd, 0);
	if (a == MAP_FAILED) {
		snprintf(err, errlen, "cannot map a camera buffer (DMA-BUF fd %d): %s", p->fd, strerror(errno));
		return NULL;
	}
	fds[l->n_maps] = p->fd;
	l->maps[l->n_maps].addr = a;
	l->maps[l->n_maps++].len = (size_t)len;
	return a;
}

static int _setup_frames(struct cr_source_s *src, struct _lc_s *l, const struct cr_lc_info_s *info)
{
	int fds[_MAX_BUFS * 3];
	struct cr_frame_s t = {.format = src->format, .width = src->width, .height = src->height, .dmabuf_fd = -1};
	int rows[3];
	t.n_planes = cr_pixfmt_planes(src->format, src->width, src->height, t.stride, rows);
	if (t.n_planes == 0) { /* MJPEG: one opaque plane */
		t.n_planes = 1;
		t.stride[0] = 0;
	} else {
		for (int i = 1; i < t.n_planes; i++) /* chroma strides scale with the luma stride */
			t.stride[i] = info->stride * t.stride[i] / t.stride[0];
		t.stride[0] = info->stride;
	}
	for (int b = 0; b < l->n_bufs; b++) {
		struct cr_lc_plane_s planes[3];
		int n = cr_lc_buffer(l->cam, b, planes);
		struct cr_frame_s *f = &l->frames[b];
		*f = t;
		for (int i = 0; i < n; i++) {
			uint8_t *base = _map(l, &planes[i], fds, src->error, sizeof(src->error));
			if (!base)
				return -EIO;
			f->data[i] = base + planes[i].offset;
			f->dmabuf_offset[i] = planes[i].offset;
			f->size += planes[i].length;
		}
		/* Several planes in one buffer plane (e.g. I420 as one block). */
		for (int i = n; i < t.n_planes; i++) {
			f->data[i] = f->data[i - 1] + (size_t)t.stride[i - 1] * (size_t)rows[i - 1];
			f->dmabuf_offset[i] = f->dmabuf_offset[i - 1] + (uint32_t)(t.stride[i - 1] * rows[i - 1]);
		}
		f->dmabuf_fd = planes[0].fd;
		f->owner = l;
		f->owner_index = b;
		f->release = _frame_release;
	}
	return 0;
}

static void _lc_close(struct cr_source_s *src)
{
	struct _lc_s *l = src->priv;
	if (!l)
		return;
	if (l->cam)
		cr_lc_stop(l->cam); /* frames still out stay mapped until released */
	src->priv = NULL;
	_put(l);
}

static int _lc_open(struct cr_source_s *src)
{
	const struct cr_capture_cfg_s *cfg = src->cfg;
	struct _lc_s *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	atomic_init(&l->refs, 1);
	src->priv = l;
	uint32_t fourcc = 0;
	for (size_t i = 0; i < sizeof(_drm) / sizeof(_drm[0]); i++)
		if (_lc_formats[i] == cfg->pixel_format)
			fourcc = _drm[i];
	if (cfg->pixel_format && !fourcc) { /* (a config's was checked against _lc_caps when read) */
		char allowed[160];
		cr_source_caps_str(&_lc_caps, allowed, sizeof(allowed));
		snprintf(src->error, sizeof(src->error), "libcamera: pixel_format %s is not mapped (allowed: %s)",
			 cr_pixfmt_name(cfg->pixel_format), allowed + 3 /* after "hw " */);
		_lc_close(src);
		return -EINVAL;
	}
	struct cr_lc_info_s info;
	int r = cr_lc_open(cfg->device[0] ? cfg->device : "0", cfg->width, cfg->height, fourcc, &l->cam, &info,
			   src->error, sizeof(src->error));
	snprintf(src->device_path, sizeof(src->device_path), "%s", info.id[0] ? info.id : cfg->device);
	snprintf(src->note, sizeof(src->note), "%s", info.note);
	if (r < 0)
		goto error;
	src->format = CR_PIXFMT_NONE;
	for (size_t i = 0; i < sizeof(_drm) / sizeof(_drm[0]); i++)
		if (_drm[i] == info.fourcc)
			src->format = _lc_formats[i];
	if (src->format == CR_PIXFMT_NONE) {
		snprintf(src->error, sizeof(src->error), "camera %s gives format %.4s, which camrelay does not take",
			 info.id, (const char *)&info.fourcc);
		r = -ENOTSUP;
		goto error;
	}
	src->width = info.width;
	src->height = info.height;
	src->fps_num = cfg->fps > 0 ? cfg->fps : 0;
	src->fps_den = cfg->fps > 0 ? 1 : 0;
	l->n_bufs = info.n_buffers < _MAX_BUFS ? info.n_buffers : _MAX_BUFS;
	if ((r = _setup_frames(src, l, &info)) < 0)
		goto error;
	for (int i = 0; i < cfg->n_controls; i++) {
		char err[256];
		if (cr_lc_set_control(l->cam, cfg->controls[i].name, cfg->controls[i].value, err, sizeof(err)) < 0)
			CR_LOG_W(src->stream_name, "config control %s = %s: %s", cfg->controls[i].name,
				 cfg->controls[i].value, err);
	}
	if ((r = cr_lc_start(l->cam, cfg->fps, src->error, sizeof(src->error))) < 0)
		goto error;
	return 0;
error:
	_lc_close(src);
	return r;
}

static int _lc_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	struct _lc_s *l = src->priv;
	int64_t ts = 0;
	uint32_t used = 0;
	*out = NULL;
	int i = cr_lc_wait(l->cam, timeout_ms, &ts, &used);
	if (i < -1) {
		snprintf(src->error, sizeof(src->error), "camera %s: %s", src->device_path, strerror(-i));
		return i;
	}
	if (i < 0 || i >= l->n_bufs)
		return 0;
	struct cr_frame_s *f = &l->frames[i];
	cr_frame_reuse(f);
	atomic_fetch_add(&l->refs, 1);
	f->ts_capture_ns = ts;
	if (src->format == CR_PIXFMT_MJPEG)
		f->size = used;
	*out = f;
	return 0;
}

static int _lc_list_controls(struct cr_source_s *src, struct cr_control_info_s *out, int max)
{
	struct _lc_s *l = src->priv;
	int n = 0;
	for (int i = 0; n < max; i++) {
		struct cr_control_info_s *o = &out[n];
		enum cr_lc_ctrl_type_e type;
		memset(o, 0, sizeof(*o));
		if (cr_lc_control(l->cam, i, o->name, &type, &o->min, &o->max, &o->def, o->text) < 0)
			break;
		if (type == CR_LC_OTHER)
			continue;
		/* Float controls (Brightness, AnalogueGain...): the range in text. */
		o->type = type == CR_LC_BOOL ? CR_CONTROL_BOOL : type == CR_LC_INT ? CR_CONTROL_INT : CR_CONTROL_STRING;
		o->step = type == CR_LC_FLOAT ? 0 : 1;
		o->value = o->def;
		n++;
	}
	return n;
}

static int _lc_set_control(struct cr_source_s *src, const char *name, const char *value)
{
	struct _lc_s *l = src->priv;
	return cr_lc_set_control(l->cam, name, value, src->error, sizeof(src->error));
}

/* Loaded by its entry in the core (libcamera_module.c). */
CR_MODULE_EXPORT const struct cr_source_ops_s cr_source_libcamera = {
	.name = "libcamera",
	.caps = &_lc_caps,
	.open = _lc_open,
	.read = _lc_read,
	.close = _lc_close,
	.list_controls = _lc_list_controls,
	.set_control = _lc_set_control,
};
