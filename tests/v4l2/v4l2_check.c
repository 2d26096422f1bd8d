/* Drives the V4L2 capture backend through a real camrelay stream, inside the
 * test VM, and checks what comes out. Runs the first stream of a config file.
 *
 *   v4l2_check CONFIG bars SECONDS
 *       MJPEG from the stream (the encoder every MJPEG client uses), decoded:
 *       vivid's eight 75% colour bars at their places; the captured frame
 *       rate, from frame timestamps over SECONDS, within 5% of what the
 *       device reports; prints bytes copied per frame.
 *   v4l2_check CONFIG controls DEVICE
 *       controls set by the config and by cr_stream_set_control() are what
 *       `v4l2-ctl --get-ctrl` reads; errors name what is wrong.
 *   v4l2_check CONFIG recover SHELL-COMMAND
 *       streams, runs the command (which breaks and restores the device),
 *       then checks that consumers got placeholder frames meanwhile, that
 *       real frames come back, and that fds and mappings are as before.
 *   v4l2_check jpeg FILE DEVICE FORMAT
 *       FILE (an HTTP snapshot of a vivid stream of FORMAT) shows the bars.
 *   v4l2_check CONFIG follow SHELL-COMMAND
 *       streams, runs the command (a source change), checks that the frame
 *       size follows without the source being reopened.
 *   v4l2_check CONFIG hold N
 *       the driver gave the buffers the capture's `buffers` key asked for,
 *       all mapped; a consumer holding N frames (more than the buffers)
 *       still gets every next frame: copied (frames_copied), the source
 *       neither failed nor reopened; once it lets go, frames are zero-copy.
 *
 * Exit 0 on success, 1 on a failed check (with a message), 2 on usage. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convert/convert.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/stream.h"
#include "source/source.h"

static struct cr_config_s _cfg;
static struct cr_stream_s *_s;
static int _failed;

static void _check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void _check(int ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s: ", ok ? "ok" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	if (!ok)
		_failed = 1;
}

static int _count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/* Mappings of V4L2 buffers (device nodes and DMA-BUFs) in this process. */
static int _count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/dev/video") || strstr(line, "dmabuf"))
			n++;
	fclose(f);
	return n;
}

static struct cr_sub_s *_raw_sub(void)
{
	/* Depth 2 as real sinks: a queue as deep as the buffer count would hold
	 * every buffer while this thread sleeps (and force starvation copies). */
	struct cr_sub_req_s req = {.kind = CR_SUB_RAW, .depth = 2, .name = "v4l2_check raw"};
	return cr_stream_subscribe(_s, &req);
}

/* Waits for `n` real frames; returns the last (caller unrefs) or NULL. */
static struct cr_frame_s *_wait_real(struct cr_sub_s *sub, int n, int timeout_s)
{
	int64_t end = cr_now_ns() + (int64_t)timeout_s * 1000000000LL;
	struct cr_frame_s *last = NULL;
	while (n > 0 && cr_now_ns() < end) {
		struct cr_frame_s *f = cr_sub_pop(sub, 200);
		if (!f)
			continue;
		if (f->placeholder) {
			cr_frame_unref(f);
			continue;
		}
		cr_frame_unref(last);
		last = f;
		n--;
	}
	if (n > 0) {
		cr_frame_unref(last);
		return NULL;
	}
	return last;
}

/* ---- bars ---- */

/* vivid's 75% colour bars, as R'G'B' fractions. */
static const double _bars_rgb[8][3] = {
	{.75, .75, .75}, {.75, .75, 0}, {0, .75, .75}, {0, .75, 0},
	{.75, 0, .75},	 {.75, 0, 0},	{0, 0, .75},   {0, 0, 0},
};
static const char *const _bar_names[8] = {"white", "yellow", "cyan", "green", "magenta", "red", "blue", "black"};

/* JPEG sources: JFIF's full-range 601, which the converter compresses to
 * limited range like everything raw; their bars are EBU bars. */
static int _jpeg_source;

static void _expected_yuv(int bar, double kr, double kb, int grey, double out[3])
{
	/* ffmpeg's pal75bars (the JPEG source) are EBU bars: 100% white, 75% colours */
	static const double white100[3] = {1, 1, 1};
	const double *c = _jpeg_source && bar == 0 ? white100 : _bars_rgb[bar];
	if (grey) { /* vivid's GREY: luma with BT.709 weights (full range, compressed like JPEGs) */
		kr = 0.2126;
		kb = 0.0722;
	}
	double y = kr * c[0] + (1 - kr - kb) * c[1] + kb * c[2];
	out[0] = 16 + 219 * y;
	out[1] = 128 + 224 * (c[2] - y) / (2 * (1 - kb));
	out[2] = 128 + 224 * (c[0] - y) / (2 * (1 - kr));
}

/* Y'CbCr matrix the device used: from its format, as V4L2 defines defaults. */
static void _device_matrix(const char *dev, double *kr, double *kb, const char **name)
{
	*kr = 0.299;
	*kb = 0.114;
	*name = "601";
	int fd = open(dev, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return;
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	uint32_t cs = 0, enc = 0;
	if (ioctl(fd, VIDIOC_G_FMT, &f) == 0) {
		cs = f.fmt.pix.colorspace;
		enc = f.fmt.pix.ycbcr_enc;
	} else {
		f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
		if (ioctl(fd, VIDIOC_G_FMT, &f) == 0) {
			cs = f.fmt.pix_mp.colorspace;
			enc = f.fmt.pix_mp.ycbcr_enc;
		}
	}
	close(fd);
	if (enc == V4L2_YCBCR_ENC_DEFAULT)
		enc = V4L2_MAP_YCBCR_ENC_DEFAULT(cs);
	if (enc == V4L2_YCBCR_ENC_709) {
		*kr = 0.2126;
		*kb = 0.0722;
		*name = "709";
	}
}

static int _check_bars(const struct cr_frame_s *i420, double kr, double kb, int grey, int rgb)
{
	int w = i420->width, h = i420->height, bad = 0;
	char line[512] = "";
	size_t o = 0;
	for (int b = 0; b < 8; b++) {
		int x = w * (2 * b + 1) / 16, y = h / 2;
		double m[3] = {0, 0, 0};
		for (int dy = -2; dy <= 2; dy++)
			for (int dx = -2; dx <= 2; dx++) {
				m[0] += i420->data[0][(size_t)(y + dy) * i420->stride[0] + x + dx];
				m[1] += i420->data[1][(size_t)((y + dy) / 2) * i420->stride[1] + (x + dx) / 2];
				m[2] += i420->data[2][(size_t)((y + dy) / 2) * i420->stride[2] + (x + dx) / 2];
			}
		for (int k = 0; k < 3; k++)
			m[k] /= 25;
		/* The nearest of the eight expected colours must be this bar's. */
		int best = -1;
		double best_d = 1e9;
		for (int c = 0; c < 8; c++) {
			double e[3];
			/* RGB input went through libyuv's BT.601 conversion. */
			_expected_yuv(c, rgb ? 0.299 : kr, rgb ? 0.114 : kb, grey, e);
			double d = grey ? fabs(m[0] - e[0])
					: sqrt((m[0] - e[0]) * (m[0] - e[0]) + (m[1] - e[1]) * (m[1] - e[1]) +
					       (m[2] - e[2]) * (m[2] - e[2]));
			if (d < best_d) {
				best_d = d;
				best = c;
			}
		}
		double e[3];
		_expected_yuv(b, rgb ? 0.299 : kr, rgb ? 0.114 : kb, grey, e);
		/* Grey has no chroma; a grey frame converts to neutral chroma. */
		int near = fabs(m[0] - e[0]) < 20 && (grey || (fabs(m[1] - e[1]) < 24 && fabs(m[2] - e[2]) < 24));
		if (best != b || !near)
			bad++;
		int wr = snprintf(line + o, sizeof(line) - o, " %s=(%.0f,%.0f,%.0f)%s", _bar_names[b], m[0], m[1],
				  m[2], best != b || !near ? "!" : "");
		if (wr > 0 && (size_t)wr < sizeof(line) - o)
			o += (size_t)wr;
	}
	_check(bad == 0, "colour bars at x=w*(2i+1)/16, y=h/2 (YUV%s):%s", grey ? " Y only" : "", line);
	return bad == 0;
}

static int _cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int _bars(int seconds)
{
	const struct cr_capture_cfg_s *cap = &_cfg.streams[0]->sources[0].capture;
	struct cr_sub_s *raw = _raw_sub();
	if (!raw) {
		_check(0, "subscribe");
		return 1;
	}
	struct cr_frame_s *first = _wait_real(raw, 3, 60);
	struct cr_stream_status_s st;
	cr_stream_status(_s, &st);
	if (!first) {
		_check(0, "no frames from %s within 60 s: state %s: %s", cap->device, cr_source_state_name(st.state),
		       st.message);
		return 1;
	}
	printf("source: %s %s %dx%d @ %.3f fps%s%s\n", st.device, cr_pixfmt_name(st.format), st.width, st.height,
	       st.fps_nominal, st.note[0] ? "; note: " : "", st.note);
	_check(first->width == st.width && first->height == st.height && first->format == st.format,
	       "frames are %s %dx%d as negotiated", cr_pixfmt_name(first->format), first->width, first->height);

	/* Rate: frames counted over SECONDS of frame timestamps, with nothing
	 * else running. Under the VM's emulated CPU vivid may skip frames itself
	 * (its sequence numbers jump; counted in frames_device_skipped): those
	 * are the device's, not camrelay's, and reported apart. */
	struct cr_stream_stats_s *stats = cr_stream_stats(_s);
	/* Rate = frames over the span of their timestamps. vivid stamps frames
	 * when it finishes them, so under the emulated CPU single stamps are
	 * late by up to a frame or two: a long window keeps that small. The
	 * device's pace counts the frames it skipped (its sequence numbers
	 * jump when its generator runs late), camrelay's delivered rate does not. */
	int64_t t0 = first->ts_capture_ns, tn = t0, tprev = t0;
	uint64_t delivered = 0, seq0 = first->seq, seqprev = seq0, kn = 0;
	uint64_t skipped0 = atomic_load(&stats->frames_device_skipped);
	uint64_t copied_rate0 = atomic_load(&stats->frames_copied);
	static double steps[4096];
	int n_steps = 0;
	int dmabuf = first->dmabuf_fd >= 0;
	cr_frame_unref(first);
	int64_t deadline = cr_now_ns() + (int64_t)(seconds * 4 + 30) * 1000000000LL;
	while (tn - t0 < (int64_t)seconds * 1000000000LL && cr_now_ns() < deadline) {
		struct cr_frame_s *f = cr_sub_pop(raw, 500);
		if (!f)
			continue;
		if (!f->placeholder) {
			tn = f->ts_capture_ns;
			delivered++;
			kn = f->seq - seq0;
			if (f->seq == seqprev + 1 && n_steps < 4096)
				steps[n_steps++] = (double)(tn - tprev) / 1e9;
			seqprev = f->seq;
			tprev = tn;
		}
		cr_frame_unref(f);
	}
	uint64_t skipped = atomic_load(&stats->frames_device_skipped) - skipped0;
	double span = (double)(tn - t0) / 1e9;
	qsort(steps, (size_t)n_steps, sizeof(steps[0]), _cmp_double);
	double step = n_steps ? steps[n_steps / 2] : 0;
	double fps_dev = span > 0 ? (double)(kn + skipped) / span : 0; /* the device's pace */
	/* Frames camrelay captured in the window (this consumer may drop some
	 * from its own queue; the frame numbers count those). */
	double fps = span > 0 ? (double)kn / span : 0; /* frames counted over the span */
	printf("captured %llu frames in %.3f s of frame timestamps (%llu reached this consumer): %.3f fps; the device "
	       "skipped %llu (device pace %.3f fps; median frame step %.1f ms)\n",
	       (unsigned long long)kn, span, (unsigned long long)delivered, fps, (unsigned long long)skipped, fps_dev,
	       step * 1000);
	/* Frames go to consumers zero-copy; only when consumers hold every
	 * other buffer (here: a stage queue and this consumer's queue, 2 + 2
	 * deep, against the capture's buffers, 6 by default, when the emulated
	 * CPU stalls this thread) is one copied so the driver keeps a buffer.
	 * Most must still be zero-copy. */
	uint64_t n_copied = atomic_load(&stats->frames_copied) - copied_rate0;
	_check(kn > 0 && (double)n_copied <= 0.1 * (double)kn,
	       "zero-copy: %llu of %llu frames copied because consumers held every buffer",
	       (unsigned long long)n_copied, (unsigned long long)kn);
	/* The rate is checked when the device kept its own pace (skipped at
	 * most 2% of the frames): then the frames it made reached camrelay's
	 * consumers at the rate it reports. When vivid skipped more (its
	 * generator runs late on the emulated CPU of a busy host), the figures
	 * are shown instead. */
	if (getenv("RATE_INFO_ONLY"))
		printf("note: rate not checked (a producer process sets it): %.3f fps, device reports %.3f\n", fps,
		       st.fps_nominal);
	else if ((double)skipped <= 0.02 * (double)(kn + skipped))
		_check(st.fps_nominal > 0 && fabs(fps - st.fps_nominal) <= 0.05 * st.fps_nominal,
		       "delivered frame rate %.3f fps over %.1f s, device reports %.3f (within 5%%)", fps, span,
		       st.fps_nominal);
	else
		printf("note: rate not checked: vivid skipped %llu frames (late on the emulated CPU); delivered %.3f "
		       "fps, device pace %.3f fps, reports %.3f\n",
		       (unsigned long long)skipped, fps, fps_dev, st.fps_nominal);
	cr_stream_unsubscribe(raw);
	raw = NULL;

	/* The picture, through the MJPEG encoder every MJPEG client uses. */
	struct cr_sub_req_s jreq = {.kind = CR_SUB_ENCODED, .depth = 2, .name = "v4l2_check mjpeg"};
	jreq.encoder.present = true;
	snprintf(jreq.encoder.backend, sizeof(jreq.encoder.backend), "jpeg");
	jreq.encoder.codec = CR_CODEC_MJPEG;
	jreq.encoder.quality = 90;
	struct cr_sub_s *mj = cr_stream_subscribe(_s, &jreq);
	struct cr_packet_s *pkt = NULL;
	uint64_t cap0 = 0, copied0 = 0, pk0 = 0;
	for (int i = 0; i < 60; i++) {
		pkt = cr_sub_pop(mj, 500);
		if (!pkt)
			continue;
		if (pkt->frame && pkt->frame->placeholder) {
			cr_sub_unref_item(mj, pkt);
			pkt = NULL;
			continue;
		}
		if (!cap0) { /* the first one: start counting copies from here */
			cap0 = atomic_load(&stats->frames_captured);
			copied0 = atomic_load(&stats->bytes_copied);
			pk0 = atomic_load(&stats->packets_encoded);
		}
		if (atomic_load(&stats->frames_captured) - cap0 >= 20)
			break;
		cr_sub_unref_item(mj, pkt);
		pkt = NULL;
	}
	if (!pkt) {
		_check(0, "no MJPEG packet from the stream");
		return 1;
	}
	uint64_t frames = atomic_load(&stats->frames_captured) - cap0;
	uint64_t copied = atomic_load(&stats->bytes_copied) - copied0;
	uint64_t pkts = atomic_load(&stats->packets_encoded) - pk0;
	size_t fsize = cr_pixfmt_frame_size(st.format, st.width, st.height);
	if (st.format == CR_PIXFMT_MJPEG)
		_check(copied == 0, "MJPEG in, MJPEG out: %llu bytes copied (the camera's JPEGs pass through)",
		       (unsigned long long)copied);
	printf("copies with MJPEG out: %.0f bytes per captured frame (%.3f of a %s frame) over %llu frames, "
	       "%llu MJPEG packets; dmabuf %s\n",
	       frames ? (double)copied / frames : 0, frames && fsize ? (double)copied / frames / fsize : 0,
	       cr_pixfmt_name(st.format), (unsigned long long)frames, (unsigned long long)pkts,
	       dmabuf ? "exported" : "no");
	struct cr_frame_s *i420 = cr_frame_new(CR_PIXFMT_YUV420, pkt->width, pkt->height, 0);
	struct cr_converter_s *conv = cr_converter_new();
	int r;
	/* Encoded placeholders carry no flag: a slow device (vimc under TCG,
	 * no frame for a second) gets some between its frames. Skip frames of
	 * one flat grey where the bars should be. */
	for (int tries = 0;; tries++) {
		struct cr_frame_s jf = {.format = CR_PIXFMT_MJPEG, .width = pkt->width, .height = pkt->height,
					.n_planes = 1, .size = pkt->size, .dmabuf_fd = -1};
		jf.data[0] = pkt->data;
		r = cr_converter_run(conv, &jf, i420);
		const uint8_t *row = i420->data[0] + (size_t)(i420->height / 2) * i420->stride[0];
		bool flat = r == 0 && row[i420->width / 16] == row[i420->width * 15 / 16];
		struct cr_packet_s *next = flat && tries < 20 ? cr_sub_pop(mj, 3000) : NULL;
		if (!next)
			break;
		cr_sub_unref_item(mj, pkt);
		pkt = next;
	}
	_check(r == 0 && pkt->size > 2 && pkt->data[0] == 0xff && pkt->data[1] == 0xd8,
	       "MJPEG packet %zu bytes %dx%d decodes", pkt->size, pkt->width, pkt->height);
	if (r == 0) {
		double kr, kb;
		const char *mname;
		_device_matrix(st.device, &kr, &kb, &mname);
		_jpeg_source = st.format == CR_PIXFMT_MJPEG;
		printf("device Y'CbCr matrix: BT.%s\n",
		       _jpeg_source ? "601 full range (JPEG), decoded to limited range" : mname);
		_check_bars(i420, kr, kb, st.format == CR_PIXFMT_GREY,
			    st.format == CR_PIXFMT_RGB24 || st.format == CR_PIXFMT_BGR24 || _jpeg_source);
	}
	cr_converter_destroy(conv);
	cr_frame_unref(i420);
	cr_sub_unref_item(mj, pkt);
	cr_stream_unsubscribe(mj);
	return _failed;
}

/* ---- controls ---- */

static int _v4l2ctl_get(const char *dev, const char *name, char *out, size_t n)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "v4l2-ctl -d %s --get-ctrl %s 2>&1", dev, name);
	FILE *p = popen(cmd, "r");
	out[0] = 0;
	if (!p)
		return -1;
	if (!fgets(out, (int)n, p))
		out[0] = 0;
	pclose(p);
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int _controls(const char *dev)
{
	struct cr_sub_s *raw = _raw_sub();
	struct cr_frame_s *f = _wait_real(raw, 2, 60);
	if (!f) {
		_check(0, "no frames");
		return 1;
	}
	cr_frame_unref(f);
	const struct cr_capture_cfg_s *cap = &_cfg.streams[0]->sources[0].capture;
	char got[256], want[160], err[512];
	for (int i = 0; i < cap->n_controls; i++) {
		_v4l2ctl_get(dev, cap->controls[i].name, got, sizeof(got));
		snprintf(want, sizeof(want), "%s: %s", cap->controls[i].name, cap->controls[i].value);
		_check(strcmp(got, want) == 0, "config control: v4l2-ctl says \"%s\", config has %s = %s", got,
		       cap->controls[i].name, cap->controls[i].value);
	}
	/* Run time, through the stream (what the HTTP API calls). */
	int r = cr_stream_set_control(_s, "brightness", "77", err, sizeof(err));
	_v4l2ctl_get(dev, "brightness", got, sizeof(got));
	_check(r == 0 && strcmp(got, "brightness: 77") == 0, "cr_stream_set_control(brightness, 77): v4l2-ctl says \"%s\"%s%s",
	       got, r ? "; error: " : "", r ? err : "");
	r = cr_stream_set_control(_s, "Contrast", "90", err, sizeof(err));
	_v4l2ctl_get(dev, "contrast", got, sizeof(got));
	_check(r == 0 && strcmp(got, "contrast: 90") == 0, "set by label \"Contrast\" = 90: v4l2-ctl says \"%s\"", got);

	struct cr_control_info_s ctl[128];
	int n = cr_stream_list_controls(_s, ctl, 128);
	int found = 0;
	for (int i = 0; i < n; i++)
		if (strcmp(ctl[i].name, "brightness") == 0 && ctl[i].value == 77 && ctl[i].min == 0 && ctl[i].max == 255)
			found = 1;
	_check(n > 5 && found, "list_controls: %d controls, brightness = 77 in 0..255", n);

	r = cr_stream_set_control(_s, "brightnes", "10", err, sizeof(err));
	_check(r < 0 && strstr(err, "no control \"brightnes\"") && strstr(err, "available: ") &&
		       strstr(err, "brightness"),
	       "unknown control: %s", err);
	r = cr_stream_set_control(_s, "brightness", "300", err, sizeof(err));
	_check(r < 0 && strstr(err, "out of range") && strstr(err, "max 255"), "out of range: %s", err);
	r = cr_stream_set_control(_s, "brightness", "bright", err, sizeof(err));
	_check(r < 0 && strstr(err, "integer"), "not a number: %s", err);
	/* vivid's read-only test control */
	r = cr_stream_set_control(_s, "read_only_integer_32_bits", "1", err, sizeof(err));
	_check(r < 0 && strstr(err, "read-only"), "read-only: %s", err);
	r = cr_stream_set_control(_s, "boolean", "off", err, sizeof(err));
	_v4l2ctl_get(dev, "boolean", got, sizeof(got));
	_check(r == 0 && strcmp(got, "boolean: 0") == 0, "boolean = off: v4l2-ctl says \"%s\"", got);
	r = cr_stream_set_control(_s, "menu", "nope", err, sizeof(err));
	_check(r < 0 && strstr(err, "items:"), "bad menu item: %s", err);
	cr_stream_unsubscribe(raw);
	return _failed;
}

/* ---- recover / follow ---- */

static int _recover(const char *cmd)
{
	struct cr_sub_s *raw = _raw_sub();
	struct cr_frame_s *f = _wait_real(raw, 5, 60);
	if (!f) {
		_check(0, "no frames before the fault");
		return 1;
	}
	cr_frame_unref(f);
	struct cr_stream_status_s st;
	cr_stream_status(_s, &st);
	char dev_before[256];
	snprintf(dev_before, sizeof(dev_before), "%s", st.device);
	int fds0 = _count_fds(), maps0 = _count_maps();
	long alive0 = atomic_load(&cr_frames_alive);
	printf("before: %s, %d fds, %d buffer mappings\n", dev_before, fds0, maps0);

	/* The command runs while we keep consuming, as a client would. */
	char full[1024];
	snprintf(full, sizeof(full), "(%s) > /tmp/v4l2_check_cmd.log 2>&1; echo $? > /tmp/v4l2_check_cmd.rc", cmd);
	unlink("/tmp/v4l2_check_cmd.rc");
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", full, (char *)NULL);
		_exit(127);
	}
	uint64_t placeholders = 0, real_during = 0;
	uint64_t ph0 = atomic_load(&cr_stream_stats(_s)->frames_placeholder);
	int64_t t_done = 0, t_real = 0, t_last = cr_now_ns(), max_gap = 0;
	int64_t end = cr_now_ns() + 120 * 1000000000LL;
	int real_after = 0;
	while (cr_now_ns() < end && real_after < 10) {
		if (!t_done && access("/tmp/v4l2_check_cmd.rc", F_OK) == 0)
			t_done = cr_now_ns();
		f = cr_sub_pop(raw, 100);
		if (!f)
			continue;
		int64_t now = cr_now_ns();
		if (now - t_last > max_gap)
			max_gap = now - t_last;
		t_last = now;
		if (f->placeholder)
			placeholders++;
		else if (!t_done)
			real_during++;
		else if (f->ts_capture_ns > t_done) {
			if (!t_real)
				t_real = cr_now_ns();
			real_after++;
		}
		cr_frame_unref(f);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	system("cat /tmp/v4l2_check_cmd.log");
	_check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && t_done, "fault command finished: %s", cmd);
	/* A short fault heals within the core's first reconnect backoff, before
	 * a placeholder is due; a long one (an unplug) must be bridged. */
	printf("consumer got %llu placeholder frames (the stream made %llu), longest gap between frames %.3f s\n",
	       (unsigned long long)placeholders,
	       (unsigned long long)(atomic_load(&cr_stream_stats(_s)->frames_placeholder) - ph0), (double)max_gap / 1e9);
	if (getenv("EXPECT_PLACEHOLDERS"))
		_check(placeholders > 0, "consumers got %llu placeholder frames during the outage",
		       (unsigned long long)placeholders);
	_check(real_after >= 10, "real frames are back (%d after the command)", real_after);
	if (t_real)
		printf("picture back %.3f s after the device returned\n", (double)(t_real - t_done) / 1e9);
	cr_stream_status(_s, &st);
	printf("after: %s (%s), reconnects %llu\n", st.device, cr_source_state_name(st.state),
	       (unsigned long long)atomic_load(&cr_stream_stats(_s)->reconnects));
	/* Let frames in flight come back, then compare. */
	cr_stream_unsubscribe(raw);
	raw = NULL;
	usleep(300000);
	int fds1 = _count_fds(), maps1 = _count_maps();
	_check(fds1 == fds0 && maps1 == maps0, "fds %d -> %d, buffer mappings %d -> %d", fds0, fds1, maps0, maps1);
	(void)alive0;
	const char *want_dev = getenv("EXPECT_DEVICE_CHANGE");
	if (want_dev)
		_check(strcmp(st.device, dev_before) != 0, "device found again by name at a new node: %s -> %s",
		       dev_before, st.device);
	return _failed;
}

static int _follow(const char *cmd)
{
	struct cr_sub_s *raw = _raw_sub();
	struct cr_frame_s *f = _wait_real(raw, 3, 60);
	if (!f) {
		_check(0, "no frames before the change");
		return 1;
	}
	int w0 = f->width, h0 = f->height;
	cr_frame_unref(f);
	uint64_t reconnects0 = atomic_load(&cr_stream_stats(_s)->reconnects);
	printf("before: %dx%d\n", w0, h0);
	int rc = system(cmd);
	_check(rc == 0, "command: %s", cmd);
	int64_t end = cr_now_ns() + 60 * 1000000000LL;
	int w1 = w0, h1 = h0, n_new = 0;
	while (cr_now_ns() < end && n_new < 5) {
		f = cr_sub_pop(raw, 200);
		if (!f)
			continue;
		if (!f->placeholder && (f->width != w0 || f->height != h0)) {
			w1 = f->width;
			h1 = f->height;
			n_new++;
		}
		cr_frame_unref(f);
	}
	struct cr_stream_status_s st;
	cr_stream_status(_s, &st);
	_check(n_new >= 5, "frames follow the new timings: %dx%d -> %dx%d (%d frames)", w0, h0, w1, h1, n_new);
	_check(atomic_load(&cr_stream_stats(_s)->reconnects) == reconnects0 && st.state == CR_SOURCE_RUNNING,
	       "without reopening the device (reconnects %llu, state %s)",
	       (unsigned long long)atomic_load(&cr_stream_stats(_s)->reconnects), cr_source_state_name(st.state));
	cr_stream_unsubscribe(raw);
	return _failed;
}

/* The next real frame within timeout_s, or NULL. */
static struct cr_frame_s *_pop_real(struct cr_sub_s *sub, int timeout_s)
{
	int64_t end = cr_now_ns() + (int64_t)timeout_s * 1000000000LL;
	while (cr_now_ns() < end) {
		struct cr_frame_s *f = cr_sub_pop(sub, 200);
		if (f && !f->placeholder)
			return f;
		cr_frame_unref(f);
	}
	return NULL;
}

static int _hold(int n_hold)
{
	const struct cr_option_s *o = cr_option_find(cr_source_find("v4l2")->options, "buffers");
	int asked = *(const int *)(const void *)(_cfg.streams[0]->sources[0].capture.opts + o->offset);
	struct cr_stream_stats_s *stats = cr_stream_stats(_s);
	struct cr_sub_s *raw = _raw_sub();
	struct cr_frame_s *f = _wait_real(raw, 3, 60);
	if (!f) {
		_check(0, "no frames within 60 s");
		return 1;
	}
	cr_frame_unref(f);
	struct cr_stream_status_s st;
	cr_stream_status(_s, &st);
	_check(st.buffers == asked, "buffers = %d asked, the driver gave %d", asked, st.buffers);
	_check(_count_maps() == st.buffers, "%d buffer mappings for %d buffers", _count_maps(), st.buffers);

	/* A consumer that holds n_hold frames while 10 more come. */
	uint64_t copied0 = atomic_load(&stats->frames_copied), opens0 = atomic_load(&stats->source_opens);
	uint64_t reconnects0 = atomic_load(&stats->reconnects);
	static struct cr_frame_s *held[64];
	int n = 0, more = 0;
	while (n < n_hold && n < 64 && (f = _pop_real(raw, 20)))
		held[n++] = f;
	while (n == n_hold && more < 10 && (f = _pop_real(raw, 20))) {
		more++;
		cr_frame_unref(f);
	}
	uint64_t copied = atomic_load(&stats->frames_copied) - copied0;
	_check(n == n_hold && more == 10, "holding %d frames (of %d buffers), %d more frames came", n, st.buffers, more);
	_check(copied >= 10, "the driver kept a buffer: %llu frames copied while they were held",
	       (unsigned long long)copied);
	for (int i = 0; i < n; i++)
		cr_frame_unref(held[i]);

	/* Let go: frames go zero-copy again (a stall of the emulated CPU may
	 * still make one copy now and then). */
	copied0 = atomic_load(&stats->frames_copied);
	int after = 0;
	while (after < 20 && (f = _pop_real(raw, 20))) {
		after++;
		cr_frame_unref(f);
	}
	copied = atomic_load(&stats->frames_copied) - copied0;
	_check(after == 20 && copied < 10, "after letting go: %d frames, %llu of them copied", after,
	       (unsigned long long)copied);
	cr_stream_status(_s, &st);
	_check(atomic_load(&stats->source_opens) == opens0 && atomic_load(&stats->reconnects) == reconnects0 &&
		       st.state == CR_SOURCE_RUNNING,
	       "the source never failed: opens %llu, reconnects %llu, state %s",
	       (unsigned long long)atomic_load(&stats->source_opens), (unsigned long long)atomic_load(&stats->reconnects),
	       cr_source_state_name(st.state));
	cr_stream_unsubscribe(raw);
	return _failed;
}

/* A JPEG file (e.g. an HTTP snapshot) from a vivid stream of `fmt`. */
static int _jpeg_file(const char *path, const char *dev, const char *fmt)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		_check(0, "cannot open %s", path);
		return 1;
	}
	static uint8_t buf[8 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	int w = 0, h = 0;
	/* Size from the SOF0/SOF2 marker. */
	for (size_t i = 2; i + 9 < n;) {
		if (buf[i] != 0xff)
			break;
		uint8_t m = buf[i + 1];
		size_t len = (size_t)buf[i + 2] << 8 | buf[i + 3];
		if (m == 0xc0 || m == 0xc2) {
			h = buf[i + 5] << 8 | buf[i + 6];
			w = buf[i + 7] << 8 | buf[i + 8];
			break;
		}
		i += 2 + len;
	}
	struct cr_frame_s jf = {.format = CR_PIXFMT_MJPEG, .width = w, .height = h, .n_planes = 1, .size = n,
				.dmabuf_fd = -1};
	jf.data[0] = buf;
	struct cr_frame_s *i420 = w > 0 ? cr_frame_new(CR_PIXFMT_YUV420, w, h, 0) : NULL;
	struct cr_converter_s *conv = cr_converter_new();
	int r = i420 ? cr_converter_run(conv, &jf, i420) : -1;
	_check(r == 0, "%s: %zu bytes, JPEG %dx%d decodes", path, n, w, h);
	if (r == 0) {
		double kr, kb;
		const char *mname;
		_device_matrix(dev, &kr, &kb, &mname);
		enum cr_pixfmt_e pf = cr_pixfmt_from_name(fmt);
		_check_bars(i420, kr, kb, pf == CR_PIXFMT_GREY, pf == CR_PIXFMT_RGB24 || pf == CR_PIXFMT_BGR24);
	}
	cr_converter_destroy(conv);
	cr_frame_unref(i420);
	return _failed;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "jpeg") == 0)
		return _jpeg_file(argv[2], argv[3], argv[4]);
	if (argc < 4) {
		fprintf(stderr, "usage: v4l2_check CONFIG bars SECONDS | controls DEVICE | recover CMD | follow CMD | hold N\n");
		return 2;
	}
	if (getenv("CAMRELAY_DEBUG"))
		cr_log_level = CR_LOG_DEBUG;
	char err[1024];
	if (cr_config_load(argv[1], &_cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	int fds_start = _count_fds();
	_s = cr_stream_new(_cfg.streams[0]);
	if (!_s || cr_stream_start(_s, err, sizeof(err)) < 0) {
		fprintf(stderr, "cannot start the stream: %s\n", err);
		return 1;
	}
	int r;
	if (strcmp(argv[2], "bars") == 0)
		r = _bars(atoi(argv[3]));
	else if (strcmp(argv[2], "controls") == 0)
		r = _controls(argv[3]);
	else if (strcmp(argv[2], "recover") == 0)
		r = _recover(argv[3]);
	else if (strcmp(argv[2], "follow") == 0)
		r = _follow(argv[3]);
	else if (strcmp(argv[2], "hold") == 0)
		r = _hold(atoi(argv[3]));
	else {
		fprintf(stderr, "unknown mode %s\n", argv[2]);
		return 2;
	}
	cr_stream_destroy(_s);
	int fds_end = _count_fds();
	_check(fds_end == fds_start && _count_maps() == 0, "after the stream is gone: fds %d -> %d, %d buffer mappings",
	       fds_start, fds_end, _count_maps());
	_check(atomic_load(&cr_frames_alive) == 0, "frames alive at the end: %ld", atomic_load(&cr_frames_alive));
	return r || _failed;
}
