/* The virtual webcam: raw frames into a v4l2loopback device, which browsers,
 * Zoom, OBS and every V4L2 application then open as a camera.
 *
 * What users of v4l2loopback fight (docs/peers.md), and what this does:
 *  - Chrome lists an exclusive_caps=1 device only once a producer has set a
 *    format: the format is set (VIDIOC_S_FMT) and streaming started as soon
 *    as the size is known, and a first frame is queued at once.
 *  - A format change breaks consumers: the format is fixed for the device's
 *    life; a source that changes size is scaled to it by the stream's
 *    converter (we subscribe for a fixed format and size). When consumers
 *    still hold a format from an earlier producer, we adopt that format.
 *  - Restarting the producer breaks consumers: output goes through MMAP
 *    streaming (VIDIOC_STREAMON), after which v4l2loopback 0.12 marks us a
 *    writer and lets the next producer in when we close; write() would leave
 *    an exclusive_caps device capture-only until every reader closed.
 *  - A producer that stops freezes consumers: the stream core sends
 *    placeholder frames while the source is down, and if the core itself
 *    goes quiet (a camera re-initialisation can block it for seconds) the
 *    last frame is queued again (keep-alive). When camrelay itself stops or
 *    is killed, v4l2loopback's own `timeout` takes over: we upload a "not
 *    running" picture as its timeout image, which readers then get.
 *  - Before any producer ran, v4l2loopback 0.12 refuses readers (no format,
 *    and exclusive_caps devices are not even listed): we set its
 *    `keep_format` control, so after camrelay's first run the device stays
 *    a camera with that format, and applications can be started before
 *    camrelay (they see the "not running" picture until it comes).
 *    A later run that wants another size takes the format back when no
 *    reader holds the device.
 *
 * Pixel formats: I420 ("yuv420", the default) and YUYV are both accepted by
 * Chrome, Firefox, Zoom and OBS; a few older applications (Skype for Linux,
 * some Electron apps built on old Chromium) only take YUYV: use
 * pixel_format = "yuyv" for them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "convert/convert.h"
#include "core/log.h"
#include "core/placeholder.h"
#include "core/v4l2_util.h"
#include "core/stream.h"
#include "sink/sink.h"
#include "sink/webcam.h"
#include "source/v4l2_ctrl.h"

#define _N_BUFS 4

#define _KEEPALIVE_NS 1000000000LL /* at most; a third of timeout_ms when that is set */
#define _LOOPBACK_DRIVER "v4l2 loopback"
#define _MODPROBE_HINT \
	"sudo modprobe v4l2loopback exclusive_caps=1 card_label=camrelay (the module: apt install v4l2loopback-dkms)"

struct _webcam_s {
	struct cr_sink_s *sink;
	const char *who; /* stream name, for the log */
	char path[256];
	int fd;
	bool exclusive; /* the device hides its OUTPUT side once a producer runs */

	enum cr_pixfmt_e format;
	int width, height, fps; /* width 0: not known yet (from the first frame) */
	bool configured;        /* format set, buffers mapped, streaming */
	bool caps_fit;          /* the core's caps of our frames are what the device takes */
	void *buf[_N_BUFS];
	size_t buf_len[_N_BUFS];
	int n_bufs, next_buf;
	uint32_t sizeimage;  /* the driver's buffer size (page-aligned) */
	uint32_t frame_size; /* bytes of one frame: readers (ffmpeg) insist bytesused equals it */

	pthread_t thread;
	atomic_bool stop;
	struct cr_sub_s *sub;
	int64_t last_write_ns, next_due_ns, keepalive_ns;
	int last_buf; /* -1: nothing written yet */
	int64_t last_ts_ns; /* its frame's capture time: a repeat carries it again */

	atomic_uint_least64_t written, repeated, skipped;
};

/* ---- finding and checking the device ---- */

static bool _is_loopback(const char *path, struct v4l2_capability *cap)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	memset(cap, 0, sizeof(*cap));
	bool ok = cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, cap) == 0 && strcmp((char *)cap->driver, _LOOPBACK_DRIVER) == 0;
	close(fd);
	return ok;
}


static int _cmp_dev(const void *a, const void *b)
{
	const struct cr_webcam_dev_s *x = a, *y = b;
	size_t lx = strlen(x->path), ly = strlen(y->path);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->path, y->path);
}

int cr_webcam_list(struct cr_webcam_dev_s *out, int max)
{
	DIR *d = opendir("/sys/class/video4linux");
	struct dirent *e;
	int n = 0;
	while (d && n < max && (e = readdir(d))) {
		if (strncmp(e->d_name, "video", 5) != 0)
			continue;
		struct cr_webcam_dev_s *v = &out[n];
		memset(v, 0, sizeof(*v));
		char p[300];
		cr_msgf(p, sizeof(p), "/sys/class/video4linux/%s/name", e->d_name);
		FILE *f = fopen(p, "r");
		if (f) {
			if (fgets(v->label, sizeof(v->label), f))
				v->label[strcspn(v->label, "\n")] = 0;
			fclose(f);
		}
		cr_msgf(v->path, sizeof(v->path), "/dev/%s", e->d_name);
		struct v4l2_capability cap;
		if (!_is_loopback(v->path, &cap))
			continue;
		uint32_t caps = cr_v4l2_device_caps(&cap);
		v->fed = !(caps & V4L2_CAP_VIDEO_OUTPUT);
		/* exclusive_caps shows one side at a time; announce_all shows both. */
		v->exclusive = !((caps & V4L2_CAP_VIDEO_OUTPUT) && (caps & V4L2_CAP_VIDEO_CAPTURE));
		n++;
	}
	if (d)
		closedir(d);
	qsort(out, (size_t)n, sizeof(*out), _cmp_dev);
	return n;
}

/* device: "" = the first loopback device free for a producer; a path; or a
 * card label (v4l2loopback card_label=...). */
static int _resolve(struct _webcam_s *w, const char *device, char *err, size_t errlen)
{
	if (device[0] == '/') {
		cr_msgf(w->path, sizeof(w->path), "%s", device);
		return 0;
	}
	struct cr_webcam_dev_s devs[32];
	int n = cr_webcam_list(devs, 32);
	char seen[200] = "";
	for (int i = 0; i < n; i++) {
		size_t l = strlen(seen);
		cr_msgf(seen + l, sizeof(seen) - l, "%s%s \"%s\"%s", l ? ", " : "", devs[i].path, devs[i].label,
		     devs[i].fed ? " (fed)" : "");
		if (device[0] ? strcmp(devs[i].label, device) == 0 : !devs[i].fed) {
			cr_msgf(w->path, sizeof(w->path), "%s", devs[i].path);
			return 0;
		}
	}
	if (!n)
		cr_msgf(err, errlen, "no v4l2loopback device%s%s: %s", device[0] ? " named " : "", device,
		     _MODPROBE_HINT);
	else if (device[0])
		cr_msgf(err, errlen, "no v4l2loopback device with card label \"%s\" (there are: %s)", device, seen);
	else
		cr_msgf(err, errlen,
		     "every v4l2loopback device is already fed by another program (%s); stop it, or add "
		     "one: sudo modprobe -r v4l2loopback && %s devices=2",
		     seen, _MODPROBE_HINT);
	return -ENODEV;
}

/* Opens the device and checks it can take our frames. */
static int _open_device(struct _webcam_s *w, char *err, size_t errlen)
{
	w->fd = open(w->path, O_RDWR | O_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;
		if (e == ENOENT)
			cr_msgf(err, errlen, "webcam device %s does not exist; load v4l2loopback: %s", w->path,
				 _MODPROBE_HINT);
		else if (e == EACCES)
			cr_msgf(err, errlen, "no permission to open %s; add yourself to group video: sudo usermod -aG video $USER",
				 w->path);
		else if (e == EBUSY)
			cr_msgf(err, errlen, "webcam device %s is busy (v4l2loopback max_openers reached)", w->path);
		else
			cr_msgf(err, errlen, "cannot open webcam device %s: %s", w->path, strerror(e));
		return -e;
	}
	struct v4l2_capability cap = {0};
	int r = cr_v4l2_ioctl(w->fd, VIDIOC_QUERYCAP, &cap);
	if (r < 0 || strcmp((char *)cap.driver, _LOOPBACK_DRIVER) != 0) {
		cr_msgf(err, errlen,
			 "%s is not a v4l2loopback device (driver \"%s\"): camrelay writes to virtual webcams "
			 "only; load one with: %s",
			 w->path, r < 0 ? "none: not a V4L2 device" : (char *)cap.driver, _MODPROBE_HINT);
		return r < 0 ? r : -ENOTTY;
	}
	if (!(cr_v4l2_device_caps(&cap) & V4L2_CAP_VIDEO_OUTPUT)) {
		cr_msgf(err, errlen,
			 "webcam device %s is already fed by another program (the device shows no video output "
			 "side); stop that program, or pick another device",
			 w->path);
		return -EBUSY;
	}
	w->exclusive = !(cr_v4l2_device_caps(&cap) & V4L2_CAP_VIDEO_CAPTURE);
	return 0;
}

static void _unmap(struct _webcam_s *w)
{
	for (int i = 0; i < w->n_bufs; i++)
		if (w->buf[i] && w->buf[i] != MAP_FAILED)
			munmap(w->buf[i], w->buf_len[i]);
	w->n_bufs = 0;
}

/* Sets the format (or adopts the one consumers already hold), maps buffers,
 * starts streaming. */
/* A format kept by keep_format from an earlier run is given back: clearing
 * the control and closing our fd lets v4l2loopback forget it when the last
 * opener closes (readers keep it, and then we adopt it). Programs that only
 * look (v4l2-ctl, a browser listing cameras) hold the device for moments:
 * later attempts leave it closed for a while first. */
#define _RELEASE_TRIES 8
static int _release_kept_format(struct _webcam_s *w, int attempt, char *err, size_t errlen)
{
	char e[256];
	if (cr_v4l2_ctrl_set(w->fd, w->path, "keep_format", "0", e, sizeof(e)) < 0)
		return -ENOTTY;
	close(w->fd);
	w->fd = -1;
	if (attempt > 1)
		usleep(250000);
	return _open_device(w, err, errlen);
}

static int _configure(struct _webcam_s *w, char *err, size_t errlen)
{
	int released = 0;
again:;
	struct v4l2_format fmt = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
	fmt.fmt.pix.width = (uint32_t)w->width;
	fmt.fmt.pix.height = (uint32_t)w->height;
	fmt.fmt.pix.pixelformat = cr_pixfmt_to_fourcc(w->format);
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	fmt.fmt.pix.colorspace = V4L2_COLORSPACE_SRGB;
	int r = CR_V4L2_IOCTL(w->fd, w->path, VIDIOC_S_FMT, &fmt, err, errlen, "asking %dx%d %s", w->width,
			      w->height, cr_pixfmt_name(w->format));
	if (r < 0)
		return r;
	enum cr_pixfmt_e got = cr_pixfmt_from_fourcc(fmt.fmt.pix.pixelformat);
	if ((int)fmt.fmt.pix.width != w->width || (int)fmt.fmt.pix.height != w->height || got != w->format) {
		if (released < _RELEASE_TRIES) {
			if ((r = _release_kept_format(w, ++released, err, errlen)) == 0)
				goto again;
			if (w->fd < 0)
				return r;
			released = _RELEASE_TRIES; /* no keep_format control: nothing to give back */
		}
		/* v4l2loopback keeps the format while any reader has it open. */
		if (got == CR_PIXFMT_NONE || got == CR_PIXFMT_MJPEG || fmt.fmt.pix.width < 2 || fmt.fmt.pix.height < 2) {
			char fcc[16];
			cr_msgf(err, errlen,
			     "webcam device %s is held at format %s %ux%u by its readers or another producer; "
			     "camrelay cannot write that format: close the programs using it",
			     w->path, cr_v4l2_fourcc_str(fmt.fmt.pix.pixelformat, fcc), fmt.fmt.pix.width,
			     fmt.fmt.pix.height);
			return -EBUSY;
		}
		CR_LOG_W(w->who,
			 "webcam %s: its readers hold format %s %ux%u (asked %s %dx%d); writing that, scaled",
			 w->path, cr_pixfmt_name(got), fmt.fmt.pix.width, fmt.fmt.pix.height, cr_pixfmt_name(w->format),
			 w->width, w->height);
		w->format = got;
		w->width = (int)fmt.fmt.pix.width;
		w->height = (int)fmt.fmt.pix.height;
	}
	w->sizeimage = fmt.fmt.pix.sizeimage;
	w->frame_size = (uint32_t)cr_pixfmt_frame_size(w->format, w->width, w->height);
	if (w->sizeimage < w->frame_size) {
		cr_msgf(err, errlen, "webcam device %s: buffer of %u bytes is too small for %s %dx%d", w->path,
			 w->sizeimage, cr_pixfmt_name(w->format), w->width, w->height);
		return -EINVAL;
	}

	struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
	parm.parm.output.timeperframe.numerator = 1;
	parm.parm.output.timeperframe.denominator = (uint32_t)(w->fps > 0 ? w->fps : 30);
	cr_v4l2_ioctl(w->fd, VIDIOC_S_PARM, &parm); /* advisory: what readers see as the rate */

	struct v4l2_requestbuffers req = {.count = _N_BUFS, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
					  .memory = V4L2_MEMORY_MMAP};
	if ((r = CR_V4L2_IOCTL(w->fd, w->path, VIDIOC_REQBUFS, &req, err, errlen, "%d MMAP output buffers",
			       _N_BUFS)) < 0)
		return r;
	if (req.count < 1) {
		cr_msgf(err, errlen, "VIDIOC_REQBUFS on %s gave no buffers", w->path);
		return -ENOMEM;
	}
	w->n_bufs = (int)(req.count > _N_BUFS ? _N_BUFS : req.count);
	for (int i = 0; i < w->n_bufs; i++) {
		struct v4l2_buffer b = {.index = (uint32_t)i, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
					.memory = V4L2_MEMORY_MMAP};
		if ((r = cr_v4l2_ioctl(w->fd, VIDIOC_QUERYBUF, &b)) < 0) {
			cr_msgf(err, errlen, "VIDIOC_QUERYBUF %d on %s failed: %s", i, w->path, strerror(-r));
			return r;
		}
		w->buf_len[i] = b.length;
		w->buf[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, b.m.offset);
		if (w->buf[i] == MAP_FAILED) {
			r = -errno;
			cr_msgf(err, errlen, "mmap of buffer %d of %s failed: %s", i, w->path, strerror(-r));
			return r;
		}
	}
	int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	if ((r = CR_V4L2_IOCTL(w->fd, w->path, VIDIOC_STREAMON, &type, err, errlen, "output")) < 0)
		return r;
	w->configured = true;
	w->last_buf = -1;
	CR_LOG_I(w->who, "webcam %s: %s %dx%d @ %d fps, %u-byte frames, %d buffers%s", w->path, cr_pixfmt_name(w->format), w->width, w->height,
		 w->fps > 0 ? w->fps : 30, w->frame_size, w->n_bufs, w->exclusive ? " (exclusive_caps: now listed as a camera)" : "");
	return 0;
}

/* ---- writing ---- */

/* ts_ns: the frame's capture time (CLOCK_MONOTONIC, the clock v4l2loopback
 * stamps with), handed to readers as the buffer's timestamp (a repeat of the
 * same frame carries the same time); 0 lets the loopback stamp the moment of
 * writing (the first black frame). */
static int _queue(struct _webcam_s *w, int i, int64_t ts_ns)
{
	struct v4l2_buffer b = {.index = (uint32_t)i, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT,
				.memory = V4L2_MEMORY_MMAP, .bytesused = w->frame_size, .field = V4L2_FIELD_NONE};
	if (ts_ns > 0) {
		b.timestamp.tv_sec = (time_t)(ts_ns / 1000000000LL);
		b.timestamp.tv_usec = (suseconds_t)(ts_ns % 1000000000LL / 1000);
		b.flags = V4L2_BUF_FLAG_TIMESTAMP_COPY;
	}
	int r = cr_v4l2_ioctl(w->fd, VIDIOC_QBUF, &b);
	if (r == 0) {
		/* Keep the queue's bookkeeping balanced; the loopback never blocks here. */
		struct v4l2_buffer d = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
		cr_v4l2_ioctl(w->fd, VIDIOC_DQBUF, &d);
		w->last_write_ns = cr_now_ns();
		w->last_buf = i;
		w->last_ts_ns = ts_ns;
	}
	return r;
}

static void _fill_black(struct _webcam_s *w, uint8_t *p)
{
	size_t luma = (size_t)w->width * w->height, size = cr_pixfmt_frame_size(w->format, w->width, w->height);
	switch (w->format) {
	case CR_PIXFMT_YUV420:
	case CR_PIXFMT_NV12:
		memset(p, 16, luma);
		memset(p + luma, 128, size - luma);
		break;
	case CR_PIXFMT_YUYV:
	case CR_PIXFMT_UYVY:
		for (size_t i = 0; i + 1 < size; i += 2) {
			p[i] = w->format == CR_PIXFMT_YUYV ? 16 : 128;
			p[i + 1] = w->format == CR_PIXFMT_YUYV ? 128 : 16;
		}
		break;
	default:
		memset(p, w->format == CR_PIXFMT_GREY ? 16 : 0, size);
	}
}

/* Copies a frame of our format and size into a device buffer, tightly
 * packed as readers expect; returns the bytes copied. */
static size_t _copy_planes(const struct _webcam_s *w, uint8_t *dst, const struct cr_frame_s *f)
{
	int stride[3], rows[3];
	int n = cr_pixfmt_planes(w->format, w->width, w->height, stride, rows);
	size_t copied = 0;
	for (int p = 0; p < n && p < f->n_planes; p++) {
		int len = stride[p] < f->stride[p] ? stride[p] : f->stride[p];
		for (int y = 0; y < rows[p]; y++)
			memcpy(dst + (size_t)y * stride[p], f->data[p] + (size_t)y * f->stride[p], (size_t)len);
		dst += (size_t)stride[p] * rows[p];
		copied += (size_t)len * rows[p];
	}
	return copied;
}

static void _write_frame(struct _webcam_s *w, const struct cr_frame_s *f)
{
	int i = w->next_buf;
	w->next_buf = (w->next_buf + 1) % w->n_bufs;
	size_t copied = _copy_planes(w, w->buf[i], f);
	atomic_fetch_add(&cr_stream_stats(w->sink->stream)->bytes_copied, copied);
	int r = _queue(w, i, f->ts_capture_ns);
	if (r < 0) {
		CR_LOG_W(w->who, "webcam %s: VIDIOC_QBUF failed: %s", w->path, strerror(-r));
		cr_sub_drop(w->sub);
		return;
	}
	atomic_fetch_add(&w->written, 1);
	cr_sub_sent(w->sub, f->ts_capture_ns);
}

/* ---- v4l2loopback's controls: keep_format, timeout and its image ---- */

/* Sets one of the loopback's controls; v4l2loopback older than 0.12 lacks
 * them, which costs only the feature (said once in the log). */
static bool _loop_ctrl(struct _webcam_s *w, const char *name, int value)
{
	char v[16], err[256];
	cr_msgf(v, sizeof(v), "%d", value);
	if (cr_v4l2_ctrl_set(w->fd, w->path, name, v, err, sizeof(err)) == 0)
		return true;
	CR_LOG_W(w->who, "webcam %s: cannot set v4l2loopback's %s: %s", w->path, name, err);
	return false;
}

/* The picture readers get once no frame came for timeout_ms: v4l2loopback
 * gives the next opener after timeout_image_io=1 one MMAP buffer that holds
 * the image (the driver's own protocol; no library wraps it). */
static void _upload_timeout_image(struct _webcam_s *w, const char *reason)
{
	struct cr_frame_s *ph = cr_placeholder_render(w->width, w->height, w->who, reason), *img = ph;
	struct cr_converter_s *conv = NULL;
	if (ph && w->format != CR_PIXFMT_YUV420) {
		img = cr_frame_new(w->format, w->width, w->height, 0);
		conv = cr_converter_new();
		if (!img || !conv || cr_converter_run(conv, ph, img) < 0) {
			cr_frame_unref(img);
			img = NULL;
		}
	}
	/* The control is cached by the V4L2 core: from 0 to 1, so it is applied. */
	int fd = -1;
	if (!img || !_loop_ctrl(w, "timeout_image_io", 0) || !_loop_ctrl(w, "timeout_image_io", 1) ||
	    (fd = open(w->path, O_RDWR | O_CLOEXEC)) < 0)
		goto out;
	struct v4l2_requestbuffers req = {.count = 1, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
	struct v4l2_buffer b = {.index = 0, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
	if (cr_v4l2_ioctl(fd, VIDIOC_REQBUFS, &req) < 0 || cr_v4l2_ioctl(fd, VIDIOC_QUERYBUF, &b) < 0 ||
	    b.length < w->frame_size) {
		CR_LOG_W(w->who, "webcam %s: v4l2loopback refused the timeout image", w->path);
		goto out;
	}
	uint8_t *p = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
	if (p == MAP_FAILED) {
		CR_LOG_W(w->who, "webcam %s: mmap of the timeout image failed: %s", w->path, strerror(errno));
		goto out;
	}
	_copy_planes(w, p, img);
	b.bytesused = w->frame_size;
	cr_v4l2_ioctl(fd, VIDIOC_QBUF, &b);
	munmap(p, b.length);
out:
	if (fd >= 0)
		close(fd);
	if (img != ph)
		cr_frame_unref(img);
	cr_frame_unref(ph);
	cr_converter_destroy(conv);
}

/* After the format is set: whether it outlives us, and what readers see
 * when we are gone. */
static void _set_loop_controls(struct _webcam_s *w)
{
	const struct cr_webcam_opts_s *cfg = w->sink->cfg->opts;
	_loop_ctrl(w, "keep_format", cfg->keep_format ? 1 : 0);
	if (cfg->timeout_ms > 0)
		_upload_timeout_image(w, "camrelay is not running");
	_loop_ctrl(w, "timeout", cfg->timeout_ms);
}

/* The size to write when none is configured: the source's, from its first
 * real frame. Placeholders decide only when the source has failed for a
 * while (camera absent at start) or after 60 s: a camera that is merely slow
 * to start (libgphoto2 loads every camlib, seconds under emulation) must
 * not leave the webcam at the placeholder size for the device's life. */
static bool _learn_size(struct _webcam_s *w)
{
	struct cr_sub_req_s req = {.kind = CR_SUB_RAW, .format = w->format, .name = "webcam (size probe)"};
	struct cr_sub_s *probe = cr_stream_subscribe(w->sink->stream, &req);
	if (!probe)
		return false;
	/* The size is the camera's, from its first real frame: never a guess
	 * (a placeholder's size is camrelay's default, not the camera's). The
	 * device keeps its size for life, so this waits while the source is
	 * starting, reconnecting or without signal (under emulation an EOS
	 * body's first live-view frame or an RTSP camera's first picture can take
	 * a minute), says once after 10 s why there is no webcam yet, and only
	 * after 2 minutes settles for the placeholder's size. */
	int64_t start = cr_now_ns();
	bool ok = false, said = false;
	while (!atomic_load(&w->stop) && !ok) {
		struct cr_frame_s *f = cr_sub_pop(probe, 100);
		struct cr_caps_s caps; /* the size as the core says it, not probed from the frame */
		int64_t waited = cr_now_ns() - start;
		/* After 2 minutes with no real frame the webcam opens at the
		 * placeholder's size, so that programs see a camera whose
		 * picture names the problem instead of no camera at all. */
		if (f && (!f->placeholder || waited > 120000000000LL) && cr_sub_caps(probe, &caps) == 0) {
			w->width = caps.width & ~1;
			w->height = caps.height & ~1;
			ok = w->width > 0 && w->height > 0;
		} else if (!said && waited > 10000000000LL) {
			struct cr_stream_status_s st;
			cr_stream_status(w->sink->stream, &st);
			CR_LOG_ONCE(said, CR_LOG_WARN, w->who,
				    "webcam %s: waiting for the camera's first frame to learn its size (source %s%s%s); "
				    "--size WxH opens the webcam at once, and after 2 minutes it opens at the placeholder's size",
				    w->path, cr_source_state_name(st.state), st.message[0] ? ": " : "", st.message);
			cr_msgf(w->sink->error, sizeof(w->sink->error), "waiting for the camera's first frame (its size)");
		}
		cr_frame_unref(f);
	}
	cr_stream_unsubscribe(probe);
	if (ok && said)
		CR_LOG_I(w->who, "webcam %s: the camera's size is %dx%d", w->path, w->width, w->height);
	return ok;
}

/* The core's caps event (inside cr_sub_pop, on the webcam thread): frames
 * of another format or size than the device's are not ours to copy. */
static void _webcam_caps(const struct cr_caps_s *caps, void *opaque)
{
	struct _webcam_s *w = opaque;
	w->caps_fit = caps->format == w->format && caps->width == w->width && caps->height == w->height;
	if (!w->caps_fit)
		CR_LOG_W(w->who, "webcam %s: the stream gives %s %dx%d, the device takes %s %dx%d: frames skipped",
			 w->path, cr_pixfmt_name(caps->format), caps->width, caps->height, cr_pixfmt_name(w->format),
			 w->width, w->height);
}

static void *_webcam_thread(void *arg)
{
	struct _webcam_s *w = arg;
	char err[512];
	if (!w->width && !_learn_size(w))
		return NULL;
	if (w->fps <= 0) {
		struct cr_stream_status_s st;
		cr_stream_status(w->sink->stream, &st);
		w->fps = st.fps_nominal > 0 ? (int)(st.fps_nominal + 0.5) : 0;
	}
	/* Retry: readers may hold a format we cannot write until they close. */
	bool logged = false, set_here = !w->configured;
	while (!w->configured && !atomic_load(&w->stop)) {
		int r = _configure(w, err, sizeof(err));
		if (r == 0)
			break;
		_unmap(w);
		CR_LOG_ONCE(logged, CR_LOG_ERROR, w->who, "%s; retrying every 2 s", err);
		cr_msgf(w->sink->error, sizeof(w->sink->error), "%s", err);
		for (int i = 0; i < 20 && !atomic_load(&w->stop); i++)
			usleep(100000);
	}
	if (!w->configured)
		return NULL;
	w->sink->error[0] = 0;
	if (set_here)
		_set_loop_controls(w);

	char name[300];
	cr_msgf(name, sizeof(name), "webcam %s", w->path);
	struct cr_sub_req_s req = {.kind = CR_SUB_RAW, .format = w->format, .width = w->width,
				   .height = w->height, .depth = 2, .name = name,
				   .caps = _webcam_caps, .opaque = w};
	w->sub = cr_stream_subscribe(w->sink->stream, &req);
	if (!w->sub) {
		CR_LOG_E(w->who, "webcam %s: cannot subscribe to the stream", w->path);
		return NULL;
	}
	const struct cr_sink_cfg_s *cfg = w->sink->cfg;
	int64_t interval = cfg->fps > 0 ? 1000000000LL / cfg->fps : 0;
	while (!atomic_load(&w->stop)) {
		struct cr_frame_s *f = cr_sub_pop(w->sub, 100);
		int64_t now = cr_now_ns();
		if (!f) {
			if (w->last_buf >= 0 && now - w->last_write_ns > w->keepalive_ns &&
			    _queue(w, w->last_buf, w->last_ts_ns) == 0)
				atomic_fetch_add(&w->repeated, 1);
			continue;
		}
		/* Pace to the configured rate: skip frames that come early. (The
		 * stream converts to our size; frames under other caps are not ours.) */
		if ((interval && now < w->next_due_ns - interval / 4) || !w->caps_fit) {
			atomic_fetch_add(&w->skipped, 1);
			cr_sub_drop(w->sub);
		} else {
			_write_frame(w, f);
			w->next_due_ns = (now - w->next_due_ns > interval ? now : w->next_due_ns) + interval;
		}
		cr_frame_unref(f);
	}
	return NULL;
}

/* ---- ops ---- */

static void _webcam_close(struct cr_sink_s *sink)
{
	struct _webcam_s *w = sink->priv;
	if (!w)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	if (w->sub)
		cr_stream_unsubscribe(w->sub);
	if (w->configured) {
		if (((const struct cr_webcam_opts_s *)sink->cfg->opts)->timeout_ms > 0)
			_upload_timeout_image(w, "camrelay stopped");
		int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
		cr_v4l2_ioctl(w->fd, VIDIOC_STREAMOFF, &type);
	}
	_unmap(w);
	if (w->fd >= 0)
		close(w->fd);
	CR_LOG_I(w->who, "webcam %s: closed after %llu frames (%llu repeated while the stream was quiet, %llu skipped for pacing)",
		 w->path, (unsigned long long)w->written, (unsigned long long)w->repeated,
		 (unsigned long long)w->skipped);
	free(w);
	sink->priv = NULL;
}

static const enum cr_pixfmt_e _formats[] = {CR_PIXFMT_YUV420, CR_PIXFMT_YUYV,  CR_PIXFMT_NV12,  CR_PIXFMT_UYVY,
					     CR_PIXFMT_RGB24,  CR_PIXFMT_BGR24, CR_PIXFMT_GREY, CR_PIXFMT_NONE};
static const struct cr_sink_caps_s _caps = {.raw = true, .formats = _formats};

static int _webcam_open(struct cr_sink_s *sink)
{
	const struct cr_sink_cfg_s *cfg = sink->cfg;
	struct _webcam_s *w = calloc(1, sizeof(*w));
	if (!w) {
		cr_msgf(sink->error, sizeof(sink->error), "out of memory");
		return -ENOMEM;
	}
	w->sink = sink;
	w->who = cr_stream_name(sink->stream);
	w->fd = -1;
	w->last_buf = -1;
	w->format = cfg->pixel_format ? cfg->pixel_format : CR_PIXFMT_YUV420;
	/* (a config's pixel_format was checked against _caps when it was read;
	 * `camrelay webcam --format` comes here) */
	if (!cr_sink_takes_format(&_caps, w->format)) {
		cr_msgf(sink->error, sizeof(sink->error),
			 "webcam pixel_format %s is not supported (allowed: yuv420, yuyv, nv12, uyvy, rgb24, bgr24, grey)",
			 cr_pixfmt_name(w->format));
		free(w);
		return -EINVAL;
	}
	w->width = cfg->width & ~1;
	w->height = cfg->height & ~1;
	if (!w->width || !w->height)
		w->width = w->height = 0;
	w->fps = cfg->fps;
	/* Well inside v4l2loopback's timeout, so a quiet stream never shows the
	 * "not running" picture. */
	w->keepalive_ns = _KEEPALIVE_NS;
	const struct cr_webcam_opts_s *wo = cfg->opts;
	if (wo->timeout_ms > 0 && (int64_t)wo->timeout_ms * 1000000 / 3 < w->keepalive_ns)
		w->keepalive_ns = (int64_t)wo->timeout_ms * 1000000 / 3;
	sink->priv = w;
	int r = _resolve(w, cfg->device, sink->error, sizeof(sink->error));
	if (r == 0)
		r = _open_device(w, sink->error, sizeof(sink->error));
	/* A configured size: set the format now, before any reader looks. */
	if (r == 0 && w->width && (r = _configure(w, sink->error, sizeof(sink->error))) == 0) {
		/* Queue one black frame so the device turns into a camera at once. */
		_fill_black(w, w->buf[0]);
		_queue(w, 0, 0);
		_set_loop_controls(w);
	}
	if (r == 0 && pthread_create(&w->thread, NULL, _webcam_thread, w) != 0)
		r = -EAGAIN;
	if (r < 0) {
		_unmap(w);
		if (w->fd >= 0)
			close(w->fd);
		free(w);
		sink->priv = NULL;
		return r;
	}
	return 0;
}

/* v4l2loopback's controls of the same names. */
static const struct cr_option_s _options[] = {
	{.key = "keep_format", .type = CR_OPT_BOOL, .offset = offsetof(struct cr_webcam_opts_s, keep_format), .def = 1,
	 .help = "the device stays a camera after camrelay exits"},
	{.key = "timeout_ms", .type = CR_OPT_INT, .offset = offsetof(struct cr_webcam_opts_s, timeout_ms), .def = 1500,
	 .min = 0, .max = 100000, .help = "readers get a \"not running\" picture this long after the last frame"},
	CR_OPTS_END,
};

const struct cr_sink_ops_s cr_sink_webcam = {
	.name = "webcam",
	.type = CR_SINK_WEBCAM,
	.options = _options,
	.opts_size = sizeof(struct cr_webcam_opts_s),
	.caps = &_caps,
	.open = _webcam_open,
	.close = _webcam_close,
};
