/* V4L2 capture: single- and multi-planar MMAP streaming with zero-copy frames.
 *
 * Each dequeued buffer becomes a cr_frame_s whose pixels are the MMAP buffer
 * itself; its release() queues the buffer back (VIDIOC_QBUF). Buffers belong
 * to a refcounted buffer set, one per VIDIOC_REQBUFS: when the device is
 * closed or the format changes while consumers still hold frames, the set is
 * detached from the device (its frames no longer queue into whatever the fd
 * has become) and unmapped when its last frame comes back. When consumers hold
 * every other buffer, a frame is copied into a pool frame instead (counted in
 * stats->frames_copied and bytes_copied) so the driver always has a buffer to
 * fill: the `buffers` option trades the memory of each buffer for such copies. */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
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
#include "media/media.h"
#include "source/source.h"
#include "source/v4l2_ctrl.h"
#include "source/v4l2_fmt.h"

/* The backend's own keys (core/options.h), in cfg->opts. */
struct _v4l2_opts_s {
	int buffers; /* MMAP buffers asked of VIDIOC_REQBUFS */
};

struct _buf_s {
	void *start[VIDEO_MAX_PLANES];
	size_t length[VIDEO_MAX_PLANES];
	int dmabuf_fd;
	bool out;                /* its frame is held downstream (under the set's lock) */
	struct cr_frame_s frame; /* the zero-copy frame handed out for this buffer */
};

struct _bufset_s {
	pthread_mutex_t lock;
	int refs;  /* 1 for the device + 1 per frame out */
	int fd;    /* -1 once detached from the device: releases unmap, not queue */
	uint64_t generation;
	uint32_t type;
	int n, n_mem_planes, n_queued;
	struct cr_v4l2_layout_s layout;
	struct _buf_s bufs[]; /* n: as many as the driver gave */
};

struct _v4l2_s {
	int fd;
	char path[256], card[64], errbuf[256];
	uint32_t type; /* V4L2_BUF_TYPE_VIDEO_CAPTURE or _MPLANE */
	uint32_t caps; /* device caps */
	bool mplane, dv, events;
	struct v4l2_format fmt;
	struct cr_v4l2_layout_s layout;
	size_t sizeimage;
	struct _bufset_s *bs;
	uint64_t generation;
	struct cr_pool_s *copy_pool;
	bool streaming;
	uint32_t next_sequence; /* the driver's, to notice frames it dropped */
	uint64_t driver_dropped;
};

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
	bs->bufs[f->owner_index].out = false;
	if (bs->fd >= 0)
		_qbuf_locked(bs, f->owner_index); /* a failure shows up in the capture thread */
	int last = --bs->refs == 0;
	pthread_mutex_unlock(&bs->lock);
	if (last)
		_bufset_free(bs);
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
	int asked = ((const struct _v4l2_opts_s *)(const void *)src->cfg->opts)->buffers;
	struct v4l2_requestbuffers rb = {.count = (uint32_t)asked, .type = v->type, .memory = V4L2_MEMORY_MMAP};
	int r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_REQBUFS, &rb, err, errlen, "%d MMAP buffers", asked);
	if (r < 0)
		return r;
	if (rb.count < 2) {
		cr_msgf(err, errlen, "%s (%s) gave %u buffers (%d asked); camrelay needs at least 2", v->path, v->card,
			rb.count, asked);
		return -ENOMEM;
	}
	/* All of them are used: a driver that gives more than asked may need
	 * that many queued before it starts streaming. */
	if (rb.count != (uint32_t)asked)
		CR_LOG_I(src->stream_name, "%s (%s): asked for %d buffers, the driver gave %u", v->path, v->card,
			 asked, rb.count);
	src->buffers = (int)rb.count;
	struct _bufset_s *bs = calloc(1, sizeof(*bs) + rb.count * sizeof(bs->bufs[0]));
	if (!bs) {
		cr_msgf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&bs->lock, NULL);
	bs->refs = 1;
	bs->fd = v->fd;
	bs->type = v->type;
	bs->generation = ++v->generation;
	bs->n = (int)rb.count;
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
				cr_msgf(err, errlen, "mmap of buffer %d plane %d (%zu bytes) of %s failed: %s", i, p,
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
			cr_msgf(err, errlen, "VIDIOC_QBUF on %s (buffer %d) failed: %s%s", v->path, i, strerror(-r),
				 cr_v4l2_errno_hint(-r, v->path));
			return r;
		}
	}
	size_t max = v->layout.format == CR_PIXFMT_MJPEG ? v->sizeimage : 0;
	v->copy_pool = cr_pool_new(v->layout.format, v->layout.width, v->layout.height, max);
	if (!v->copy_pool) {
		cr_msgf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	uint32_t type = v->type;
	r = CR_V4L2_IOCTL(v->fd, v->path, VIDIOC_STREAMON, &type, err, errlen, "%dx%d %s", v->layout.width,
			  v->layout.height, cr_pixfmt_name(v->layout.format));
	if (r == -EPIPE) {
		/* A media pipeline whose formats do not match: say which link. */
		char why[256];
		if (cr_media_explain_epipe(v->path, why, sizeof(why)) == 0)
			cr_msgf(err, errlen, "VIDIOC_STREAMON on %s failed: the pipeline's formats disagree: %s", v->path,
				why);
	}
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

/* A capture node fed by a media-controller pipeline (sensor, ISP, scaler
 * sub-devices): configure the chain to deliver what was negotiated. Only for
 * nodes that say so (V4L2_CAP_IO_MC) or when the config has media keys. */
static int _prepare_media(struct cr_source_s *src, struct _v4l2_s *v)
{
	const struct cr_media_cfg_s *m = src->cfg->media;
	if (!(v->caps & V4L2_CAP_IO_MC) && (!m || (!m->n_links && !m->n_pads && !m->n_controls && !m->strategy[0])))
		return 0;
	uint32_t fourcc = v->mplane ? v->fmt.fmt.pix_mp.pixelformat : v->fmt.fmt.pix.pixelformat;
	char note[256] = "";
	int r = cr_media_prepare(v->path, src->cfg, v->layout.width, v->layout.height, fourcc, note, sizeof(note),
				 src->error, sizeof(src->error));
	if (r < 0)
		return r;
	if (note[0]) {
		size_t l = strlen(src->note);
		cr_msgf(src->note + l, sizeof(src->note) - l, "%s%s", l ? "; " : "", note);
	}
	return 0;
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
		cr_msgf(src->error, sizeof(src->error), "out of memory");
		return -ENOMEM;
	}
	src->priv = v;
	src->note[0] = 0;
	src->buffers = 0;
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
	uint32_t caps = v->caps = cr_v4l2_device_caps(&cap);
	if (!(caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) || !(caps & V4L2_CAP_STREAMING)) {
		char cs[256];
		cr_v4l2_caps_str(caps, cs, sizeof(cs));
		cr_msgf(src->error, sizeof(src->error),
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

	if ((r = cr_v4l2_follow_dv_timings(src, v->fd, v->path, v->card, v->dv)) < 0 ||
	    (r = cr_v4l2_negotiate(src, v->fd, v->path, v->card, v->type, &v->fmt, &v->layout, &v->sizeimage)) < 0 ||
	    (r = _prepare_media(src, v)) < 0)
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
	if ((r = cr_v4l2_follow_dv_timings(src, v->fd, v->path, v->card, v->dv)) < 0 ||
	    (r = cr_v4l2_negotiate(src, v->fd, v->path, v->card, v->type, &v->fmt, &v->layout, &v->sizeimage)) < 0 ||
	    (r = _prepare_media(src, v)) < 0 || (r = _start(src, v)) < 0)
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
		cr_msgf(src->error, sizeof(src->error), "%s (%s) disappeared: %s", v->path, v->card, strerror(-r));
	else
		cr_msgf(src->error, sizeof(src->error), "%s (%s): %s failed: %s%s", v->path, v->card, what,
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
	if (src->stats) {
		atomic_fetch_add(&src->stats->frames_copied, 1);
		atomic_fetch_add(&src->stats->bytes_copied, copied);
	}
	f->ts_capture_ns = in->ts_capture_ns;
	f->full_range = in->full_range;
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
	struct _buf_s *buf = &bs->bufs[b.index];

	pthread_mutex_lock(&bs->lock);
	size_t used = 0;
	for (int p = 0; p < (v->mplane ? bs->n_mem_planes : 1); p++)
		used += v->mplane ? planes[p].bytesused - planes[p].data_offset : b.bytesused;
	/* A buffer whose frame is still out was never queued back by us: a
	 * driver that hands buffers to readers by its own rule (v4l2loopback
	 * does) gives it again. Its frame must not be reused: copy instead, and
	 * leave the queueing to that frame's release. */
	bool again = buf->out;
	if (!again)
		bs->n_queued--;
	if (((b.flags & V4L2_BUF_FLAG_ERROR) || used == 0) && !again) {
		_qbuf_locked(bs, (int)b.index); /* a damaged or empty frame: skip it */
		pthread_mutex_unlock(&bs->lock);
		return 0;
	}
	bool copy = again || bs->n_queued <= 0;
	if (!copy) {
		buf->out = true;
		bs->refs++;
	}
	pthread_mutex_unlock(&bs->lock);
	if ((b.flags & V4L2_BUF_FLAG_ERROR) || used == 0)
		return 0;

	if ((int32_t)(b.sequence - v->next_sequence) > 0 && v->next_sequence) {
		v->driver_dropped += b.sequence - v->next_sequence;
		if (src->stats)
			atomic_fetch_add(&src->stats->frames_device_skipped, b.sequence - v->next_sequence);
		CR_LOG_D(src->stream_name, "%s: the driver skipped %u frames (%llu in all)", v->path,
			 b.sequence - v->next_sequence, (unsigned long long)v->driver_dropped);
	}
	v->next_sequence = b.sequence + 1;

	/* Describe the buffer; hand the description out as the zero-copy frame
	 * or copy from it. */
	struct cr_frame_s d = {0};
	const struct cr_v4l2_layout_s *l = &bs->layout;
	d.format = l->format;
	d.width = l->width;
	d.height = l->height;
	d.n_planes = l->n_planes;
	for (int p = 0; p < l->n_planes; p++) {
		size_t data_off = v->mplane ? planes[l->mem_plane[p]].data_offset : 0;
		d.data[p] = (uint8_t *)buf->start[l->mem_plane[p]] + data_off + l->offset[p];
		d.stride[p] = l->stride[p];
		d.dmabuf_offset[p] = (uint32_t)(data_off + l->offset[p]);
	}
	d.size = used;
	d.dmabuf_fd = buf->dmabuf_fd;
	d.full_range = l->full_range; /* as negotiated: a flag, no pixel work here */
	if ((b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
	    (b.timestamp.tv_sec || b.timestamp.tv_usec))
		d.ts_capture_ns = (int64_t)b.timestamp.tv_sec * 1000000000LL + (int64_t)b.timestamp.tv_usec * 1000;
	else
		d.ts_capture_ns = cr_now_ns();

	if (copy) {
		/* Every other buffer is held downstream (or this one still is):
		 * copy, and give the buffer back now so the driver has one. */
		struct cr_frame_s *f = _copy_frame(src, v, &d);
		if (!again) {
			pthread_mutex_lock(&bs->lock);
			if (bs->fd >= 0)
				_qbuf_locked(bs, (int)b.index);
			pthread_mutex_unlock(&bs->lock);
		}
		if (!f) {
			cr_msgf(src->error, sizeof(src->error), "out of memory");
			return -ENOMEM;
		}
		*out = f;
		return 0;
	}
	struct cr_frame_s *f = &buf->frame;
	*f = d;
	atomic_init(&f->refs, 1);
	atomic_fetch_add(&cr_frames_alive, 1);
	f->release = _frame_release;
	f->owner = bs;
	f->owner_index = (int)b.index;
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
		cr_msgf(src->error, sizeof(src->error), "%s", v->errbuf);
	return r;
}

/* Every format the device may offer that camrelay maps (core/format.c's
 * fourccs; v4l2_fmt.c picks among those the device lists). */
static const enum cr_pixfmt_e _v4l2_formats[] = {
	CR_PIXFMT_YUYV,	  CR_PIXFMT_UYVY,   CR_PIXFMT_YVYU,   CR_PIXFMT_NV12,	CR_PIXFMT_YUV420,
	CR_PIXFMT_RGB24,  CR_PIXFMT_BGR24,  CR_PIXFMT_GREY,   CR_PIXFMT_MJPEG,	CR_PIXFMT_SBGGR8,
	CR_PIXFMT_SGBRG8, CR_PIXFMT_SGRBG8, CR_PIXFMT_SRGGB8, CR_PIXFMT_NONE,
};

/* 6 by default, not 4: the stage queue (2) and a subscriber queue (2) may hold
 * 4 frames, and the driver needs buffers to fill meanwhile or frames get
 * copied. Fewer save a frame's size each (1.8 MB at 720p YUYV) on small boards. */
static const struct cr_option_s _v4l2_options[] = {
	{.key = "buffers", .type = CR_OPT_INT, .offset = offsetof(struct _v4l2_opts_s, buffers), .def = 6, .min = 2,
	 .max = 32, .help = "MMAP buffers asked of the driver: each costs a frame of memory; fewer than "
			    "consumers hold means frames are copied (frames_copied)"},
	CR_OPTS_END,
};
_Static_assert(sizeof(struct _v4l2_opts_s) <= CR_BACKEND_OPTS_SIZE, "v4l2 options fit their block");

const struct cr_source_ops_s cr_source_v4l2 = {
	.name = "v4l2",
	.caps = &(const struct cr_source_caps_s){.formats = _v4l2_formats, .hardware = true},
	.options = _v4l2_options,
	.open = _v4l2_open,
	.read = _v4l2_read,
	.close = _v4l2_close,
	.list_controls = _v4l2_list_controls,
	.set_control = _v4l2_set_control,
};
