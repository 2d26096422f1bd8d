/* The stream on a local screen through DRM/KMS: `[[stream.X.sinks]]
 * type = "drm"` with device (/dev/dri/cardN, "" = the first card with a
 * connected output), connector ("HDMI-A-1", "Virtual-1"; "" = first
 * connected), mode ("1920x1080", "1920x1080@60"; "" = preferred) and rect
 * ([x, y, w, h] on the screen; default the whole screen).
 *
 * Modesetting is atomic when the driver takes DRM_CLIENT_CAP_ATOMIC, else
 * legacy (drmModeSetCrtc, then page flips); the log says which. Two paths
 * for the picture:
 *  - zero copy: when the CRTC has an overlay plane that scales and takes the
 *    captured format, and the driver imports DMA-BUFs, a frame that carries
 *    a DMA-BUF (V4L2 capture with prefer_dmabuf) is imported
 *    (drmPrimeFDToHandle + drmModeAddFB2) and shown on that plane, scaled
 *    by the hardware into rect;
 *  - otherwise the frame (I420 at the rect's size, scaled by the stream's
 *    converter, or converted here when a zero-copy frame cannot be used) is
 *    written into one of two XRGB8888 dumb buffers by libyuv (I420ToARGB),
 *    which are flipped on the primary plane; those bytes count in the
 *    stream's bytes_copied.
 * While the source is gone the stream core delivers placeholder frames; they
 * are drawn like any other. When a flip fails (another program changed the
 * mode, the monitor was replaced) the connector is read again and the mode
 * set again.
 *
 * Built as the module camrelay-drm.so (core/module.h): libdrm is mapped only
 * when a config has a drm sink. Its keys and their reading are in the
 * daemon (drm_module.c, the sink's entry). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <libyuv/convert_argb.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "convert/convert.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/module.h"
#include "core/stream.h"
#include "sink/drm.h"
#include "sink/sink.h"

#define _N_IMPORTS 16

struct _buf_s {
	uint32_t handle, fb_id, pitch;
	uint64_t size;
	uint8_t *map;
};

struct _import_s {
	int dmabuf_fd; /* the source's fd (stable per V4L2 buffer) */
	ino_t ino;     /* the DMA-BUF's inode: fd numbers are reused after a reconnect */
	uint32_t handle, fb_id;
};

struct _props_s {
	uint32_t conn_crtc, crtc_mode, crtc_active;
	uint32_t fb, crtc, src_x, src_y, src_w, src_h, crtc_x, crtc_y, crtc_w, crtc_h;
};

struct _drm_s {
	struct cr_sink_s *sink;
	const char *who;
	char path[64];
	int fd;
	bool atomic, legacy_setcrtc; /* legacy_setcrtc: page flips refused, set the CRTC per frame */

	uint32_t conn_id, crtc_id, crtc_index, primary;
	char conn_name[32];
	drmModeModeInfo mode;
	uint32_t mode_blob;
	struct _props_s props;
	bool set; /* mode set done */
	struct cr_caps_s caps; /* of the frames we get, from the core's caps events (drm thread) */

	struct _buf_s buf[2];
	int front;
	int rx, ry, rw, rh; /* the video's rectangle on the screen */

	/* zero copy */
	uint32_t overlay;        /* a scaling overlay plane for the CRTC, 0 = none */
	uint32_t ovl_formats[8]; /* DRM fourccs it takes that frames come in */
	int n_ovl_formats;
	bool prime_import;
	struct _import_s imports[_N_IMPORTS];
	int n_imports;
	bool zero_copy_failed;
	struct cr_frame_s *on_plane; /* kept until the next frame replaces it */
	struct cr_converter_s *conv;
	struct cr_frame_s *scaled;

	pthread_t thread;
	atomic_bool stop;
	struct cr_sub_s *sub;
	uint64_t shown, imported, copied_frames, resets;
};

/* ---- finding the card, connector, mode, CRTC and planes ---- */

static void _conn_name(int fd, drmModeConnector *c, char *out, size_t n)
{
	(void)fd;
	const char *t = drmModeGetConnectorTypeName(c->connector_type);
	cr_msgf(out, n, "%s-%u", t ? t : "Unknown", c->connector_type_id);
}

static bool _has_connected(int fd)
{
	drmModeRes *res = drmModeGetResources(fd);
	bool found = false;
	for (int i = 0; res && i < res->count_connectors && !found; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
		found = c && c->connection == DRM_MODE_CONNECTED && c->count_modes > 0;
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return found;
}

static int _open_card(struct _drm_s *d, const char *spec, char *err, size_t errlen)
{
	if (spec[0]) {
		cr_msgf(d->path, sizeof(d->path), "%s", spec);
		d->fd = open(spec, O_RDWR | O_CLOEXEC);
		if (d->fd < 0) {
			int e = errno;
			cr_msgf(err, errlen, "cannot open display %s: %s%s", spec, strerror(e),
				e == EACCES ? "; add yourself to group video (or render)" : "");
			return -e;
		}
		return 0;
	}
	for (int i = 0; i < 16; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/dev/dri/card%d", i);
		int fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (_has_connected(fd)) {
			d->fd = fd;
			cr_msgf(d->path, sizeof(d->path), "%s", p);
			return 0;
		}
		close(fd);
	}
	cr_msgf(err, errlen, "no DRM card (/dev/dri/card*) with a connected screen; name one with device = \"/dev/dri/cardN\"");
	return -ENODEV;
}

static uint32_t _prop_id(int fd, uint32_t obj, uint32_t type, const char *name, uint64_t *value)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	uint32_t id = 0;
	for (uint32_t i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);
		if (p && strcmp(p->name, name) == 0) {
			id = p->prop_id;
			if (value)
				*value = props->prop_values[i];
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return id;
}

static bool _mode_matches(const drmModeModeInfo *m, const char *want)
{
	unsigned w, h, hz = 0;
	char end;
	if (sscanf(want, "%ux%u@%u%c", &w, &h, &hz, &end) != 3 && sscanf(want, "%ux%u%c", &w, &h, &end) != 2)
		return false;
	return m->hdisplay == w && m->vdisplay == h && (!hz || m->vrefresh == hz);
}

/* Picks connector, mode, CRTC and planes; the message names what there is. */
static int _pick(struct _drm_s *d, char *err, size_t errlen)
{
	const struct cr_drm_opts_s *cfg = d->sink->cfg->opts;
	drmModeRes *res = drmModeGetResources(d->fd);
	if (!res) {
		cr_msgf(err, errlen, "%s is not a KMS display device (drmModeGetResources: %s)", d->path, strerror(errno));
		return -ENODEV;
	}
	drmModeConnector *conn = NULL;
	char seen[256] = "";
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		drmModeConnector *c = drmModeGetConnector(d->fd, res->connectors[i]);
		if (!c)
			continue;
		char name[32];
		_conn_name(d->fd, c, name, sizeof(name));
		size_t l = strlen(seen);
		cr_msgf(seen + l, sizeof(seen) - l, "%s%s (%s)", l ? ", " : "", name,
			c->connection == DRM_MODE_CONNECTED ? "connected" : "not connected");
		bool want = cfg->connector[0] ? strcmp(cfg->connector, name) == 0 : c->connection == DRM_MODE_CONNECTED;
		if (want && c->connection == DRM_MODE_CONNECTED && c->count_modes > 0) {
			conn = c;
			cr_msgf(d->conn_name, sizeof(d->conn_name), "%s", name);
		} else {
			drmModeFreeConnector(c);
		}
	}
	if (!conn) {
		cr_msgf(err, errlen, "%s: no %s%s%s connector with a screen (connectors: %s)", d->path,
			cfg->connector[0] ? "\"" : "connected", cfg->connector, cfg->connector[0] ? "\"" : "", seen);
		drmModeFreeResources(res);
		return -ENODEV;
	}
	d->conn_id = conn->connector_id;
	int mi = -1;
	for (int i = 0; i < conn->count_modes && mi < 0; i++)
		if (cfg->mode[0] ? _mode_matches(&conn->modes[i], cfg->mode) : (conn->modes[i].type & DRM_MODE_TYPE_PREFERRED))
			mi = i;
	if (mi < 0 && cfg->mode[0]) {
		char modes[256] = "";
		for (int i = 0; i < conn->count_modes && i < 16; i++) {
			size_t l = strlen(modes);
			cr_msgf(modes + l, sizeof(modes) - l, "%s%ux%u@%u", l ? ", " : "", conn->modes[i].hdisplay,
				conn->modes[i].vdisplay, conn->modes[i].vrefresh);
		}
		cr_msgf(err, errlen, "%s %s has no mode %s (modes: %s)", d->path, d->conn_name, cfg->mode, modes);
		drmModeFreeConnector(conn);
		drmModeFreeResources(res);
		return -EINVAL;
	}
	d->mode = conn->modes[mi < 0 ? 0 : mi];

	/* The CRTC the connector's encoder drives, else the first it can use. */
	d->crtc_id = 0;
	drmModeEncoder *enc = conn->encoder_id ? drmModeGetEncoder(d->fd, conn->encoder_id) : NULL;
	if (enc && enc->crtc_id)
		d->crtc_id = enc->crtc_id;
	drmModeFreeEncoder(enc);
	for (int e = 0; e < conn->count_encoders && !d->crtc_id; e++) {
		enc = drmModeGetEncoder(d->fd, conn->encoders[e]);
		for (int i = 0; enc && i < res->count_crtcs && !d->crtc_id; i++)
			if (enc->possible_crtcs & (1u << i))
				d->crtc_id = res->crtcs[i];
		drmModeFreeEncoder(enc);
	}
	for (int i = 0; i < res->count_crtcs; i++)
		if (res->crtcs[i] == d->crtc_id)
			d->crtc_index = (uint32_t)i;
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	if (!d->crtc_id) {
		cr_msgf(err, errlen, "%s %s: no CRTC can drive it", d->path, d->conn_name);
		return -ENODEV;
	}

	/* Planes: the primary for the dumb buffers, a scaling overlay for zero copy. */
	d->primary = d->overlay = 0;
	d->n_ovl_formats = 0;
	drmModePlaneRes *pr = drmModeGetPlaneResources(d->fd);
	for (uint32_t i = 0; pr && i < pr->count_planes; i++) {
		drmModePlane *p = drmModeGetPlane(d->fd, pr->planes[i]);
		if (!p || !(p->possible_crtcs & (1u << d->crtc_index))) {
			drmModeFreePlane(p);
			continue;
		}
		uint64_t type = 0;
		_prop_id(d->fd, p->plane_id, DRM_MODE_OBJECT_PLANE, "type", &type);
		if (type == DRM_PLANE_TYPE_PRIMARY && !d->primary)
			d->primary = p->plane_id;
		if (type == DRM_PLANE_TYPE_OVERLAY && !d->overlay) {
			static const uint32_t useful[] = {DRM_FORMAT_NV12, DRM_FORMAT_YUYV, DRM_FORMAT_UYVY, DRM_FORMAT_YUV420};
			for (uint32_t f = 0; f < p->count_formats; f++)
				for (size_t u = 0; u < sizeof(useful) / sizeof(useful[0]); u++)
					if (p->formats[f] == useful[u] && d->n_ovl_formats < 8)
						d->ovl_formats[d->n_ovl_formats++] = useful[u];
			if (d->n_ovl_formats)
				d->overlay = p->plane_id;
		}
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pr);
	if (d->atomic && !d->primary) {
		cr_msgf(err, errlen, "%s: no primary plane for CRTC %u", d->path, d->crtc_id);
		return -ENODEV;
	}
	return 0;
}

/* ---- buffers ---- */

static void _free_bufs(struct _drm_s *d)
{
	for (int i = 0; i < 2; i++) {
		struct _buf_s *b = &d->buf[i];
		if (b->map)
			munmap(b->map, b->size);
		if (b->fb_id)
			drmModeRmFB(d->fd, b->fb_id);
		if (b->handle)
			drmModeDestroyDumbBuffer(d->fd, b->handle);
		memset(b, 0, sizeof(*b));
	}
}

static int _alloc_bufs(struct _drm_s *d, char *err, size_t errlen)
{
	uint32_t w = d->mode.hdisplay, h = d->mode.vdisplay;
	for (int i = 0; i < 2; i++) {
		struct _buf_s *b = &d->buf[i];
		uint64_t off;
		int r = drmModeCreateDumbBuffer(d->fd, w, h, 32, 0, &b->handle, &b->pitch, &b->size);
		if (r < 0) {
			cr_msgf(err, errlen, "%s: creating a %ux%u dumb buffer failed: %s", d->path, w, h, strerror(-r));
			return r;
		}
		uint32_t handles[4] = {b->handle}, pitches[4] = {b->pitch}, offsets[4] = {0};
		if ((r = drmModeAddFB2(d->fd, w, h, DRM_FORMAT_XRGB8888, handles, pitches, offsets, &b->fb_id, 0)) < 0) {
			r = -errno;
			cr_msgf(err, errlen, "%s: drmModeAddFB2 XRGB8888 %ux%u failed: %s", d->path, w, h, strerror(-r));
			return r;
		}
		if ((r = drmModeMapDumbBuffer(d->fd, b->handle, &off)) < 0) {
			cr_msgf(err, errlen, "%s: mapping a dumb buffer failed: %s", d->path, strerror(-r));
			return r;
		}
		b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, (off_t)off);
		if (b->map == MAP_FAILED) {
			b->map = NULL;
			r = -errno;
			cr_msgf(err, errlen, "%s: mmap of a dumb buffer failed: %s", d->path, strerror(-r));
			return r;
		}
		memset(b->map, 0, b->size);
	}
	const struct cr_drm_opts_s *cfg = d->sink->cfg->opts;
	if (cfg->has_rect) {
		d->rx = cfg->rect[0] < 0 ? 0 : cfg->rect[0];
		d->ry = cfg->rect[1] < 0 ? 0 : cfg->rect[1];
		d->rw = cfg->rect[2];
		d->rh = cfg->rect[3];
		if (d->rx >= (int)w)
			d->rx = 0;
		if (d->ry >= (int)h)
			d->ry = 0;
		if (d->rx + d->rw > (int)w)
			d->rw = (int)w - d->rx;
		if (d->ry + d->rh > (int)h)
			d->rh = (int)h - d->ry;
	} else {
		d->rx = d->ry = 0;
		d->rw = (int)w;
		d->rh = (int)h;
	}
	d->rw &= ~1;
	d->rh &= ~1;
	return 0;
}

/* ---- mode setting and flips ---- */

static int _atomic_plane(struct _drm_s *d, drmModeAtomicReq *req, uint32_t plane, uint32_t fb, int x, int y, int w,
			 int h, int sw, int sh)
{
	struct _props_s *p = &d->props;
	int r = 0;
	r |= drmModeAtomicAddProperty(req, plane, p->fb, fb) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->crtc, fb ? d->crtc_id : 0) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->src_x, 0) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->src_y, 0) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->src_w, (uint64_t)sw << 16) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->src_h, (uint64_t)sh << 16) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->crtc_x, (uint64_t)(int64_t)x) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->crtc_y, (uint64_t)(int64_t)y) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->crtc_w, (uint64_t)w) < 0;
	r |= drmModeAtomicAddProperty(req, plane, p->crtc_h, (uint64_t)h) < 0;
	return r ? -ENOMEM : 0;
}

static int _atomic_props(struct _drm_s *d)
{
	struct _props_s *p = &d->props;
	p->conn_crtc = _prop_id(d->fd, d->conn_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", NULL);
	p->crtc_mode = _prop_id(d->fd, d->crtc_id, DRM_MODE_OBJECT_CRTC, "MODE_ID", NULL);
	p->crtc_active = _prop_id(d->fd, d->crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE", NULL);
	uint32_t pl = d->primary;
	p->fb = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "FB_ID", NULL);
	p->crtc = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "CRTC_ID", NULL);
	p->src_x = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "SRC_X", NULL);
	p->src_y = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "SRC_Y", NULL);
	p->src_w = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "SRC_W", NULL);
	p->src_h = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "SRC_H", NULL);
	p->crtc_x = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "CRTC_X", NULL);
	p->crtc_y = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "CRTC_Y", NULL);
	p->crtc_w = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "CRTC_W", NULL);
	p->crtc_h = _prop_id(d->fd, pl, DRM_MODE_OBJECT_PLANE, "CRTC_H", NULL);
	return p->conn_crtc && p->crtc_mode && p->crtc_active && p->fb && p->crtc && p->src_w && p->crtc_w ? 0 : -ENOENT;
}

static int _modeset(struct _drm_s *d, char *err, size_t errlen)
{
	uint32_t fb = d->buf[d->front].fb_id;
	int r;
	if (d->atomic) {
		if (d->mode_blob)
			drmModeDestroyPropertyBlob(d->fd, d->mode_blob);
		d->mode_blob = 0;
		if ((r = _atomic_props(d)) < 0 ||
		    (r = drmModeCreatePropertyBlob(d->fd, &d->mode, sizeof(d->mode), &d->mode_blob)) < 0) {
			cr_msgf(err, errlen, "%s: atomic properties missing (%s)", d->path, strerror(-r));
			return r;
		}
		drmModeAtomicReq *req = drmModeAtomicAlloc();
		if (!req)
			return -ENOMEM;
		drmModeAtomicAddProperty(req, d->conn_id, d->props.conn_crtc, d->crtc_id);
		drmModeAtomicAddProperty(req, d->crtc_id, d->props.crtc_mode, d->mode_blob);
		drmModeAtomicAddProperty(req, d->crtc_id, d->props.crtc_active, 1);
		_atomic_plane(d, req, d->primary, fb, 0, 0, d->mode.hdisplay, d->mode.vdisplay, d->mode.hdisplay,
			      d->mode.vdisplay);
		r = drmModeAtomicCommit(d->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL);
		drmModeAtomicFree(req);
		if (r < 0)
			r = -errno;
	} else {
		r = drmModeSetCrtc(d->fd, d->crtc_id, fb, 0, 0, &d->conn_id, 1, &d->mode);
		if (r < 0)
			r = -errno;
	}
	if (r < 0) {
		cr_msgf(err, errlen, "%s: setting %s to %ux%u@%u (%s) failed: %s%s", d->path, d->conn_name, d->mode.hdisplay,
			d->mode.vdisplay, d->mode.vrefresh, d->atomic ? "atomic" : "legacy", strerror(-r),
			r == -EACCES || r == -EPERM
			     ? "; another program is DRM master (a desktop, Xorg, Weston): stop it or switch to a free VT"
			     : "");
		return r;
	}
	d->set = true;
	return 0;
}

static void _on_flip(int fd, unsigned seq, unsigned sec, unsigned usec, void *data)
{
	(void)fd, (void)seq, (void)sec, (void)usec;
	*(bool *)data = true;
}

/* Shows the buffer or imported framebuffer fb. */
static int _flip(struct _drm_s *d, uint32_t fb)
{
	if (d->atomic) {
		drmModeAtomicReq *req = drmModeAtomicAlloc();
		if (!req)
			return -ENOMEM;
		drmModeAtomicAddProperty(req, d->primary, d->props.fb, fb);
		drmModeAtomicAddProperty(req, d->primary, d->props.crtc, d->crtc_id);
		int r = drmModeAtomicCommit(d->fd, req, 0, NULL);
		drmModeAtomicFree(req);
		return r < 0 ? -errno : 0;
	}
	if (d->legacy_setcrtc)
		return drmModeSetCrtc(d->fd, d->crtc_id, fb, 0, 0, &d->conn_id, 1, &d->mode) < 0 ? -errno : 0;
	bool done = false;
	if (drmModePageFlip(d->fd, d->crtc_id, fb, DRM_MODE_PAGE_FLIP_EVENT, &done) < 0) {
		int e = errno;
		if (e == EINVAL || e == ENOSYS || e == EOPNOTSUPP) {
			CR_LOG_W(d->who, "drm %s: page flips refused (%s); setting the CRTC for every frame", d->path,
				 strerror(e));
			d->legacy_setcrtc = true;
			return _flip(d, fb);
		}
		return -e;
	}
	drmEventContext ev = {.version = 2, .page_flip_handler = _on_flip};
	for (int i = 0; i < 10 && !done; i++) {
		struct pollfd p = {.fd = d->fd, .events = POLLIN};
		if (poll(&p, 1, 100) > 0)
			drmHandleEvent(d->fd, &ev);
	}
	return 0;
}

/* After a failed flip: read the connector again and set the mode again. */
static int _reset(struct _drm_s *d)
{
	char err[256];
	drmModeModeInfo old = d->mode;
	d->resets++;
	drmSetMaster(d->fd); /* the master before us may have gone */
	int r = _pick(d, err, sizeof(err));
	if (r == 0 && (!d->buf[0].fb_id || old.hdisplay != d->mode.hdisplay || old.vdisplay != d->mode.vdisplay)) {
		_free_bufs(d);
		d->front = 0;
		r = _alloc_bufs(d, err, sizeof(err));
	}
	if (r == 0)
		r = _modeset(d, err, sizeof(err));
	if (r < 0)
		cr_msgf(d->sink->error, sizeof(d->sink->error), "%s", err);
	else
		CR_LOG_I(d->who, "drm %s: %s set again to %ux%u@%u", d->path, d->conn_name, d->mode.hdisplay,
			 d->mode.vdisplay, d->mode.vrefresh);
	return r;
}

/* ---- drawing ---- */

static uint32_t _drm_fourcc(enum cr_pixfmt_e f)
{
	switch (f) {
	case CR_PIXFMT_NV12:
		return DRM_FORMAT_NV12;
	case CR_PIXFMT_YUYV:
		return DRM_FORMAT_YUYV;
	case CR_PIXFMT_UYVY:
		return DRM_FORMAT_UYVY;
	case CR_PIXFMT_YUV420:
		return DRM_FORMAT_YUV420;
	default:
		return 0;
	}
}

/* Zero copy: the frame's DMA-BUF on the overlay plane, scaled into rect. */
static int _show_imported(struct _drm_s *d, struct cr_frame_s *f)
{
	uint32_t fourcc = _drm_fourcc(f->format);
	bool ok = false;
	for (int i = 0; i < d->n_ovl_formats; i++)
		ok = ok || d->ovl_formats[i] == fourcc;
	if (!ok || f->dmabuf_fd < 0)
		return -ENOTSUP;
	struct stat sb;
	if (fstat(f->dmabuf_fd, &sb) < 0)
		return -errno;
	struct _import_s *im = NULL;
	for (int i = 0; i < d->n_imports && !im; i++)
		if (d->imports[i].dmabuf_fd == f->dmabuf_fd && d->imports[i].ino == sb.st_ino)
			im = &d->imports[i];
	if (!im) {
		if (d->n_imports == _N_IMPORTS)
			return -ENOSPC;
		struct _import_s n = {.dmabuf_fd = f->dmabuf_fd, .ino = sb.st_ino};
		if (drmPrimeFDToHandle(d->fd, f->dmabuf_fd, &n.handle) < 0)
			return -errno;
		uint32_t handles[4] = {0}, pitches[4] = {0}, offsets[4] = {0};
		for (int p = 0; p < f->n_planes && p < 3; p++) {
			handles[p] = n.handle;
			pitches[p] = (uint32_t)f->stride[p];
			offsets[p] = f->dmabuf_offset[p];
		}
		if (drmModeAddFB2(d->fd, (uint32_t)f->width, (uint32_t)f->height, fourcc, handles, pitches, offsets,
				  &n.fb_id, 0) < 0) {
			int e = errno;
			drmCloseBufferHandle(d->fd, n.handle);
			return -e;
		}
		d->imports[d->n_imports] = n;
		im = &d->imports[d->n_imports++];
	}
	int r = drmModeSetPlane(d->fd, d->overlay, d->crtc_id, im->fb_id, 0, d->rx, d->ry, (uint32_t)d->rw,
				(uint32_t)d->rh, 0, 0, (uint32_t)f->width << 16, (uint32_t)f->height << 16);
	if (r < 0)
		return -errno;
	if (d->on_plane)
		cr_frame_unref(d->on_plane);
	d->on_plane = cr_frame_ref(f);
	d->imported++;
	return 0;
}

/* Imports hold the source's buffers; let them go when the source is gone. */
static void _drop_imports(struct _drm_s *d)
{
	if (d->on_plane) {
		drmModeSetPlane(d->fd, d->overlay, d->crtc_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
		cr_frame_unref(d->on_plane);
		d->on_plane = NULL;
	}
	for (int i = 0; i < d->n_imports; i++) {
		drmModeRmFB(d->fd, d->imports[i].fb_id);
		drmCloseBufferHandle(d->fd, d->imports[i].handle);
	}
	d->n_imports = 0;
}

static int _show_copy(struct _drm_s *d, struct cr_frame_s *f)
{
	struct cr_frame_s *src = f;
	if (d->caps.format != CR_PIXFMT_YUV420 || d->caps.width != d->rw || d->caps.height != d->rh) {
		/* Frames as captured (zero-copy subscription) that the plane cannot take. */
		if (!d->conv && !(d->conv = cr_converter_new()))
			return -ENOMEM;
		if (!d->scaled && !(d->scaled = cr_frame_new(CR_PIXFMT_YUV420, d->rw, d->rh, 0)))
			return -ENOMEM;
		if (cr_converter_run(d->conv, f, d->scaled) < 0)
			return -EINVAL;
		atomic_fetch_add(&cr_stream_stats(d->sink->stream)->bytes_copied, d->scaled->size);
		src = d->scaled;
	}
	if (d->on_plane || (f->placeholder && d->n_imports)) /* back from zero copy: the overlay plane off */
		_drop_imports(d);
	int back = 1 - d->front;
	struct _buf_s *b = &d->buf[back];
	I420ToARGB(src->data[0], src->stride[0], src->data[1], src->stride[1], src->data[2], src->stride[2],
		   b->map + (size_t)d->ry * b->pitch + (size_t)d->rx * 4, (int)b->pitch, d->rw, d->rh);
	atomic_fetch_add(&cr_stream_stats(d->sink->stream)->bytes_copied, (uint64_t)d->rw * (uint64_t)d->rh * 4);
	int r = _flip(d, b->fb_id);
	if (r == 0) {
		d->front = back;
		d->copied_frames++;
	}
	return r;
}

/* The core's caps event (inside cr_sub_pop, on the drm thread). */
static void _drm_caps(const struct cr_caps_s *caps, void *opaque)
{
	struct _drm_s *d = opaque;
	d->caps = *caps;
	/* cr_log, not CR_LOG_D: a module does not see cr_log_level (cr_log filters) */
	cr_log(CR_LOG_DEBUG, d->who, "drm %s: frames are %s %dx%d now (caps #%llu)", d->path,
	       cr_pixfmt_name(caps->format), caps->width, caps->height, (unsigned long long)caps->generation);
}

static void *_drm_thread(void *arg)
{
	struct _drm_s *d = arg;
	int64_t next_reset = 0;
	while (!atomic_load(&d->stop)) {
		struct cr_frame_s *f = cr_sub_pop(d->sub, 100);
		if (!f)
			continue;
		if (!d->set) {
			int64_t now = cr_now_ns();
			if (now >= next_reset && _reset(d) < 0)
				next_reset = now + 1000000000LL;
			if (!d->set) {
				cr_sub_drop(d->sub);
				cr_frame_unref(f);
				continue;
			}
		}
		int r = -ENOTSUP;
		if (d->overlay && d->prime_import && !d->zero_copy_failed && !f->placeholder) {
			r = _show_imported(d, f);
			if (r < 0 && f->dmabuf_fd >= 0 && r != -ENOTSUP) {
				CR_LOG_W(d->who, "drm %s: DMA-BUF import onto plane %u failed (%s); copying frames instead",
					 d->path, d->overlay, strerror(-r));
				d->zero_copy_failed = true;
			}
		}
		if (r < 0)
			r = _show_copy(d, f);
		if (r < 0) {
			CR_LOG_W(d->who, "drm %s: showing a frame failed: %s; reading %s again", d->path, strerror(-r),
				 d->conn_name);
			d->set = false;
			cr_sub_drop(d->sub);
		} else {
			d->shown++;
			cr_sub_sent(d->sub, f->ts_capture_ns);
		}
		cr_frame_unref(f);
	}
	return NULL;
}

/* ---- ops ---- */

static void _drm_close(struct cr_sink_s *sink)
{
	struct _drm_s *d = sink->priv;
	if (!d)
		return;
	atomic_store(&d->stop, true);
	if (d->sub) {
		pthread_join(d->thread, NULL);
		cr_stream_unsubscribe(d->sub);
	}
	_drop_imports(d);
	if (d->scaled)
		cr_frame_unref(d->scaled);
	if (d->conv)
		cr_converter_destroy(d->conv);
	_free_bufs(d);
	if (d->mode_blob)
		drmModeDestroyPropertyBlob(d->fd, d->mode_blob);
	if (d->fd >= 0 && d->shown + d->resets > 0) {
		CR_LOG_I(d->who, "drm %s: closed after %llu frames (%llu by DMA-BUF import, %llu copied), %llu mode resets",
			 d->path, (unsigned long long)d->shown, (unsigned long long)d->imported,
			 (unsigned long long)d->copied_frames, (unsigned long long)d->resets);
	}
	if (d->fd >= 0)
		close(d->fd);
	free(d);
	sink->priv = NULL;
}

static int _drm_open(struct cr_sink_s *sink)
{
	const struct cr_sink_cfg_s *cfg = sink->cfg;
	char *err = sink->error;
	size_t errlen = sizeof(sink->error);
	struct _drm_s *d = calloc(1, sizeof(*d));
	if (!d) {
		cr_msgf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->sink = sink;
	d->who = cr_stream_name(sink->stream);
	d->fd = -1;
	sink->priv = d;
	int r = _open_card(d, cfg->device, err, errlen);
	if (r == 0) {
		drmSetClientCap(d->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
		const char *legacy = getenv("CAMRELAY_DRM_LEGACY"); /* tests: force the legacy path */
		d->atomic = !(legacy && *legacy == '1') && drmSetClientCap(d->fd, DRM_CLIENT_CAP_ATOMIC, 1) == 0;
		uint64_t prime = 0;
		d->prime_import = drmGetCap(d->fd, DRM_CAP_PRIME, &prime) == 0 && (prime & DRM_PRIME_CAP_IMPORT);
		r = _pick(d, err, errlen);
	}
	if (r == 0)
		r = _alloc_bufs(d, err, errlen);
	if (r == 0 && (r = _modeset(d, err, errlen)) < 0 && d->atomic && r != -EACCES && r != -EPERM) {
		CR_LOG_W(d->who, "drm %s: %s; trying legacy modesetting", d->path, err);
		d->atomic = false;
		r = _modeset(d, err, errlen);
	}
	if (r == -EACCES || r == -EPERM) {
		/* A desktop or another program has the screen: take it when it lets go
		 * (the thread retries every second), rather than failing the stream. */
		CR_LOG_W(d->who, "drm %s: %s; waiting for the screen", d->path, err);
		r = 0;
	}
	if (r < 0) {
		_drm_close(sink);
		return r;
	}
	/* Zero copy needs frames as captured; otherwise the stream's converter
	 * scales to the rectangle in I420, shared with other sinks asking the same. */
	bool zc = d->overlay && d->prime_import;
	char name[96];
	cr_msgf(name, sizeof(name), "drm %s %s", d->path, d->conn_name);
	struct cr_sub_req_s req = {.kind = CR_SUB_RAW, .format = zc ? CR_PIXFMT_NONE : CR_PIXFMT_YUV420,
				   .width = zc ? 0 : d->rw, .height = zc ? 0 : d->rh, .depth = 2, .name = name,
				   .caps = _drm_caps, .opaque = d};
	d->sub = cr_stream_subscribe(sink->stream, &req);
	if (!d->sub) {
		cr_msgf(err, errlen, "drm %s: cannot subscribe to the stream", d->path);
		_drm_close(sink);
		return -ENOMEM;
	}
	if (pthread_create(&d->thread, NULL, _drm_thread, d) != 0) {
		cr_stream_unsubscribe(d->sub);
		d->sub = NULL;
		_drm_close(sink);
		return -EAGAIN;
	}
	CR_LOG_I(d->who,
		 "drm %s: %s %ux%u@%u, %s modesetting, video at %d,%d %dx%d: %s", d->path, d->conn_name,
		 d->mode.hdisplay, d->mode.vdisplay, d->mode.vrefresh, d->atomic ? "atomic" : "legacy", d->rx, d->ry,
		 d->rw, d->rh,
		 zc ? "DMA-BUF import onto a scaling overlay plane, copies only for frames without a DMA-BUF"
		    : d->overlay ? "no DMA-BUF import: I420 -> XRGB8888 copy into dumb buffers (libyuv)"
				 : "no overlay plane: I420 -> XRGB8888 copy into dumb buffers (libyuv)");
	return 0;
}

/* Raw frames of any format: converted (or scanned out as they are) here. */
static const struct cr_sink_caps_s _caps = {.raw = true};

CR_MODULE_EXPORT const struct cr_sink_ops_s cr_sink_drm = {
	.name = "drm",
	.type = CR_SINK_DRM,
	.opts_size = sizeof(struct cr_drm_opts_s),
	.caps = &_caps,
	.open = _drm_open,
	.close = _drm_close,
};
