/* `camrelay webcam`: any camera as a webcam, with no config file. Picks a
 * camera (a DSLR through libgphoto2 first, then a V4L2 camera, else the
 * test pattern) and the first free v4l2loopback device, says what it chose
 * and how to choose otherwise, and runs until interrupted. IP cameras
 * (rtsp://, http:// MJPEG) and video files are taken with --from. The seed recipe
 * `gphoto2 --capture-movie --stdout | ffmpeg ... -f v4l2 /dev/video10` in one
 * process, with the size and rate taken from the camera. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/videodev2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/stream.h"
#include "core/v4l2_util.h"
#include "net/http.h"
#include "sink/sink.h"
#include "sink/webcam.h"
#include "source/gphoto2.h"
#include "source/source.h"

static void _usage(FILE *f)
{
	fprintf(f,
		"Usage: camrelay webcam [--from SOURCE] [--to DEVICE] [--fps N] [--size WxH]\n"
		"                       [--format yuv420|yuyv|nv12] [--http HOST:PORT]\n"
		"                       [--timeout-ms N] [--no-keep-format] [-v]\n"
		"Feeds a camera into a v4l2loopback virtual webcam until interrupted.\n"
		"  --from SOURCE   gphoto2                 the first camera libgphoto2 detects\n"
		"                  gphoto2:MODEL|PORT      e.g. gphoto2:usb:001,004, gphoto2:ptpip:192.168.1.1,\n"
		"                                          gphoto2:\"Nikon DSC D750\" (also bare usb:/ptpip: ports)\n"
		"                  /dev/videoN, v4l2:DEV   a V4L2 camera\n"
		"                  rtsp://..., http://...  an IP camera (RTSP, or MJPEG over HTTP)\n"
		"                  FILE                    a video file (mp4, mkv, ...), looped\n"
		"                  test                    the built-in test pattern\n"
		"                  default: first gphoto2 camera, else first V4L2 camera, else test\n"
		"  --to DEVICE     /dev/videoN or a v4l2loopback card label; default: first free one\n"
		"  --fps N         write at most N frames per second (default: as the camera delivers)\n"
		"  --size WxH      webcam size (default: the camera's first size; fixed afterwards)\n"
		"  --format F      webcam pixel format (default yuv420; yuyv for older applications)\n"
		"  --http H:P      also serve the HTTP pages/API/MJPEG on H:P\n"
		"  --timeout-ms N  readers get a \"not running\" picture N ms after the last frame\n"
		"                  (camrelay stopped or killed); 0: off; default 1500\n"
		"  --no-keep-format  let the device forget its format when camrelay exits (by default\n"
		"                  it stays a camera, so applications may open it before camrelay runs)\n"
		"  -v, --verbose   debug logging\n"
		"Without a v4l2loopback device: sudo modprobe v4l2loopback exclusive_caps=1 card_label=camrelay\n"
		"  (the module comes with the v4l2loopback-dkms package)\n"
		"Exit: 0 when interrupted, 1 when the webcam device cannot be used, 2 usage,\n"
		"3 a --from file that cannot be read.\n");
}

/* The first V4L2 capture device that is a camera (not a loopback, not M2M). */
static bool _first_v4l2_camera(char *path, size_t len, char *card, size_t clen)
{
	bool found = false;
	for (int i = 0; i < 64 && !found; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/dev/video%d", i);
		int fd = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct v4l2_capability cap = {0};
		if (cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0) {
			uint32_t c = cr_v4l2_device_caps(&cap);
			if ((c & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) &&
			    !(c & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_VIDEO_OUTPUT)) &&
			    strcmp((char *)cap.driver, "v4l2 loopback") != 0) {
				snprintf(path, len, "%s", p);
				snprintf(card, clen, "%s", (char *)cap.card);
				found = true;
			}
		}
		close(fd);
	}
	return found;
}

/* --from an IP camera's URL or a video file: sc's url, or the file backend.
 * 0, 1 when from is neither, or an exit code. */
static int _choose_url_or_file(const char *from, struct cr_source_cfg_s *sc)
{
	static const char *const others[] = {"gphoto2", "usb:", "ptpip:", "v4l2:", "/dev/", NULL};
	struct stat st;
	bool url = strstr(from, "://") != NULL;
	bool file = !url && strcmp(from, "test") != 0;
	for (int i = 0; file && others[i]; i++)
		file = strncmp(from, others[i], strlen(others[i])) != 0;
	if (file && stat(from, &st) == 0)
		file = !S_ISCHR(st.st_mode);
	else if (file)
		file = strchr(from, '.') || strchr(from, '/'); /* looks like a path: say it is missing */
	if (!url && !file)
		return 1;
	const char *backend = url ? "url" : "file";
	if (!cr_source_find(backend)) {
		fprintf(stderr, "camrelay webcam: this build has no %s source (libavformat; see camrelay --version)\n",
			backend);
		return 2;
	}
	if (url) {
		snprintf(sc->url, sizeof(sc->url), "%s", from);
		printf("camrelay webcam: source IP camera %s\n", from);
		return 0;
	}
	int e = access(from, R_OK) != 0 ? errno : stat(from, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (e) {
		fprintf(stderr, "camrelay webcam: --from \"%s\": cannot read it as a video file: %s\n", from, strerror(e));
		return 3;
	}
	if (strlen(from) >= sizeof(sc->capture.device)) {
		fprintf(stderr, "camrelay webcam: --from: the path is longer than %zu bytes\n", sizeof(sc->capture.device) - 1);
		return 2;
	}
	snprintf(sc->capture.backend, sizeof(sc->capture.backend), "file");
	snprintf(sc->capture.device, sizeof(sc->capture.device), "%s", from);
	sc->capture.loop = true;
	printf("camrelay webcam: source video file %s (looped, at its own frame rate)\n", from);
	return 0;
}

/* Fills the source from --from; prints what was chosen. */
static int _choose_source(const char *from, struct cr_source_cfg_s *sc)
{
	struct cr_capture_cfg_s *cap = &sc->capture;
	bool have_v4l2 = cr_source_find("v4l2") != NULL;
	int r;
	if (from && (r = _choose_url_or_file(from, sc)) != 1)
		return r;
	if (from) {
		const char *dev = NULL;
		if (strcmp(from, "test") == 0) {
			snprintf(cap->backend, sizeof(cap->backend), "test");
		} else if (strcmp(from, "gphoto2") == 0 || strncmp(from, "gphoto2:", 8) == 0) {
			snprintf(cap->backend, sizeof(cap->backend), "gphoto2");
			dev = from[7] == ':' ? from + 8 : "";
		} else if (strncmp(from, "usb:", 4) == 0 || strncmp(from, "ptpip:", 6) == 0) {
			snprintf(cap->backend, sizeof(cap->backend), "gphoto2");
			dev = from;
		} else if (strncmp(from, "v4l2:", 5) == 0 || from[0] == '/') {
			snprintf(cap->backend, sizeof(cap->backend), "v4l2");
			dev = from[0] == '/' ? from : from + 5;
		} else {
			fprintf(stderr, "camrelay webcam: --from \"%s\": expected gphoto2[:MODEL|PORT], usb:..., ptpip:..., "
					"/dev/videoN, v4l2:DEV, rtsp://..., http://..., a video file or test\n", from);
			return 2;
		}
		if (!cr_source_find(cap->backend)) {
			fprintf(stderr, "camrelay webcam: this build has no %s source (see camrelay --version)\n",
				cap->backend);
			return 2;
		}
		if (dev)
			snprintf(cap->device, sizeof(cap->device), "%s", dev);
		printf("camrelay webcam: source %s %s\n", cap->backend,
		       cap->device[0] ? cap->device : strcmp(cap->backend, "test") == 0 ? "pattern" : "(first found)");
		return 0;
	}
	/* DSLRs first: the gphoto2 module loaded only now (camrelay-gphoto2.so;
	 * not installed: said below, and the search goes on) */
	const struct cr_source_ops_s *gp = cr_source_find("gphoto2");
	char no_gp[1024] = "no gphoto2 in this build";
	bool have_gp = gp && cr_gphoto2_list && (!gp->check || gp->check(no_gp, sizeof(no_gp)) == 0);
	struct cr_gphoto2_camera_s cams[8];
	int n = have_gp ? cr_gphoto2_list(cams, 8) : 0;
	char path[64], card[64];
	if (n > 0) {
		snprintf(cap->backend, sizeof(cap->backend), "gphoto2");
		snprintf(cap->device, sizeof(cap->device), "%s", cams[0].port);
		printf("camrelay webcam: source gphoto2 camera \"%s\" at %s\n", cams[0].model, cams[0].port);
		for (int i = 1; i < n; i++)
			printf("  also seen: \"%s\" at %s (--from gphoto2:%s)\n", cams[i].model, cams[i].port, cams[i].port);
	} else if (have_v4l2 && _first_v4l2_camera(path, sizeof(path), card, sizeof(card))) {
		snprintf(cap->backend, sizeof(cap->backend), "v4l2");
		snprintf(cap->device, sizeof(cap->device), "%s", path);
		printf("camrelay webcam: source V4L2 camera %s \"%s\" (%s)\n", path, card,
		       have_gp ? "no gphoto2 camera found" : no_gp);
	} else {
		snprintf(cap->backend, sizeof(cap->backend), "test");
		cap->width = 1280;
		cap->height = 720;
		cap->fps = 30;
		cap->pixel_format = CR_PIXFMT_YUV420;
		printf("camrelay webcam: no camera found (%s%s); sending the test pattern\n",
		       have_gp ? "libgphoto2 detects none" : no_gp,
		       have_v4l2 ? ", no V4L2 camera" : "");
	}
	printf("  choose another with --from gphoto2:PORT, --from /dev/videoN, --from rtsp://..., --from FILE or --from test\n");
	return 0;
}

static int _choose_sink(const char *to, struct cr_sink_cfg_s *sk)
{
	struct cr_webcam_dev_s devs[16];
	int n = cr_webcam_list(devs, 16);
	if (to) {
		snprintf(sk->device, sizeof(sk->device), "%s", to);
	} else {
		for (int i = 0; i < n && !sk->device[0]; i++)
			if (!devs[i].fed) /* path[64] fits device[256] */
				memcpy(sk->device, devs[i].path, sizeof(devs[i].path));
	}
	/* With no device found the sink explains (module missing, all fed). */
	printf("camrelay webcam: webcam %s", sk->device[0] ? sk->device : "(none free)");
	for (int i = 0; i < n; i++)
		if (strcmp(devs[i].path, sk->device) == 0)
			printf(" \"%s\"%s", devs[i].label, devs[i].exclusive ? " (exclusive_caps)" : "");
	printf("\n");
	for (int i = 0; i < n; i++)
		if (strcmp(devs[i].path, sk->device) != 0)
			printf("  also: %s \"%s\"%s (--to %s)\n", devs[i].path, devs[i].label,
			       devs[i].fed ? ", fed by another program" : "", devs[i].path);
	return 0;
}

static int _run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
		{"fps", required_argument, NULL, 'r'},  {"size", required_argument, NULL, 's'},
		{"format", required_argument, NULL, 'p'}, {"http", required_argument, NULL, 'H'},
		{"timeout-ms", required_argument, NULL, 'T'}, {"no-keep-format", no_argument, NULL, 'K'},
		{"verbose", no_argument, NULL, 'v'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *from = NULL, *to = NULL, *http_listen = NULL;
	int fps = 0, w = 0, h = 0, c;
	enum cr_pixfmt_e fmt = CR_PIXFMT_YUV420;
	int timeout_ms = 1500;
	bool keep_format = true;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:t:r:s:p:H:vh", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'r':
			fps = (int)strtol(optarg, &end, 10);
			if (*end || fps < 1 || fps > 240) {
				fprintf(stderr, "camrelay webcam: --fps wants 1..240, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (sscanf(optarg, "%dx%d", &w, &h) != 2 || w < 16 || h < 16 || w > 8192 || h > 8192) {
				fprintf(stderr, "camrelay webcam: --size wants WxH (e.g. 1280x720), got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'p':
			fmt = cr_pixfmt_from_name(optarg);
			if (fmt == CR_PIXFMT_NONE || fmt == CR_PIXFMT_MJPEG) {
				fprintf(stderr, "camrelay webcam: --format \"%s\": use yuv420, yuyv or nv12\n", optarg);
				return 2;
			}
			break;
		case 'H':
			http_listen = optarg;
			break;
		case 'T':
			timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || !*optarg || timeout_ms < 0 || timeout_ms > 100000) {
				fprintf(stderr, "camrelay webcam: --timeout-ms wants 0..100000, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'K':
			keep_format = false;
			break;
		case 'v':
			cr_log_level = CR_LOG_DEBUG;
			break;
		case 'h':
			_usage(stdout);
			return 0;
		default:
			_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "camrelay webcam: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return 2;
	}

	static struct cr_config_s cfg;
	memset(&cfg, 0, sizeof(cfg));
	struct cr_stream_cfg_s *s = cfg.streams[0] = cr_config_block(&cfg, sizeof(*s));
	struct cr_sink_cfg_s *sk = s ? cr_config_block(&cfg, sizeof(*sk)) : NULL;
	struct cr_webcam_opts_s *wo = sk ? cr_config_block(&cfg, sizeof(*wo)) : NULL; /* the webcam sink's block */
	if (!wo) {
		fprintf(stderr, "camrelay webcam: out of memory\n");
		return 1;
	}
	cfg.n_streams = 1;
	snprintf(s->name, sizeof(s->name), "webcam");
	s->mjpeg.quality = 80;
	s->n_sources = 1;
	s->sources[0].output.payload_type = 96;
	s->sources[0].output.clock_rate = 90000;
	int r = _choose_source(from, &s->sources[0]);
	if (r)
		return r;
	/* No config file: the source backend's own keys at their defaults (v4l2's buffers). */
	const struct cr_source_ops_s *so = cr_source_find(s->sources[0].capture.backend);
	if (so)
		cr_options_defaults(so->options, s->sources[0].capture.opts);
	s->n_sinks = 1;
	s->sinks[0] = sk;
	sk->type = CR_SINK_WEBCAM;
	sk->pixel_format = fmt;
	sk->width = w;
	sk->height = h;
	sk->fps = fps;
	sk->opts = wo;
	sk->opts_size = sizeof(*wo);
	wo->keep_format = keep_format;
	wo->timeout_ms = timeout_ms;
	_choose_sink(to, sk);
	if (http_listen)
		snprintf(cfg.http.listen, sizeof(cfg.http.listen), "%s", http_listen);
	fflush(stdout);

	signal(SIGPIPE, SIG_IGN);
	cr_cli_catch_stop();

	char err[1024];
	struct cr_stream_s *stream = cr_stream_new(s);
	if (!stream) {
		fprintf(stderr, "camrelay webcam: out of memory\n");
		return 1;
	}
	struct cr_sinks_s *sinks = NULL;
	if (cr_stream_start(stream, err, sizeof(err)) < 0 || cr_sinks_open(stream, &sinks, err, sizeof(err)) < 0) {
		fprintf(stderr, "camrelay webcam: %s\n", err);
		cr_stream_destroy(stream);
		return 1;
	}
	struct cr_http_s *http = NULL;
	if (http_listen && !(http = cr_http_start(&cfg, &stream, 1, err, sizeof(err)))) {
		fprintf(stderr, "camrelay webcam: %s\n", err);
		cr_sinks_close(sinks);
		cr_stream_destroy(stream);
		return 1;
	}
	printf("camrelay webcam: running; Ctrl-C to stop\n");
	fflush(stdout);
	cr_cli_wait_stop();
	if (http)
		cr_http_stop(http);
	cr_sinks_close(sinks);
	cr_stream_destroy(stream);
	return 0;
}

const struct cr_command_s cr_command_webcam = {
	.name = "webcam",
	.run = _run,
	.summary = "feed a camera (DSLR, V4L2, IP camera) or a video file into a v4l2loopback virtual webcam",
};
