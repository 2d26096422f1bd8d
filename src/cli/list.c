/* camrelay list: every V4L2 video node, sub-device and media device, the
 * cameras libgphoto2 detects and the v4l2loopback webcams, with what each can
 * do, so a user can pick the `device` for a config or `--from` for webcam. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/media.h>
#include <linux/v4l2-subdev.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio/audio.h"
#include "sink/webcam.h"
#include "source/gphoto2.h"
#include "source/source.h"
#include "cli/cli.h"
#include "cli/discovery.h"
#include "core/clock.h"
#include "core/format.h"
#include "core/v4l2_util.h"

#define _MAX_NODES 128

/* Short role of a node, for people: what it is used for. */
static const char *_kind(uint32_t caps)
{
	if (caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE))
		return "m2m";
	if (caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))
		return "capture";
	if (caps & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE))
		return "output";
	if (caps & V4L2_CAP_VIDEO_OVERLAY)
		return "overlay";
	if (caps & (V4L2_CAP_META_CAPTURE | V4L2_CAP_META_OUTPUT))
		return "metadata";
	if (caps & (V4L2_CAP_VBI_CAPTURE | V4L2_CAP_SLICED_VBI_CAPTURE | V4L2_CAP_VBI_OUTPUT |
		    V4L2_CAP_SLICED_VBI_OUTPUT))
		return "vbi";
	if (caps & (V4L2_CAP_SDR_CAPTURE | V4L2_CAP_SDR_OUTPUT))
		return "sdr";
	if (caps & V4L2_CAP_TOUCH)
		return "touch";
	if (caps & V4L2_CAP_RADIO)
		return "radio";
	return "other";
}

static void _sysfs_name(const char *path, char *out, size_t n)
{
	char p[128];
	const char *base = strrchr(path, '/');
	snprintf(p, sizeof(p), "/sys/class/video4linux/%s/name", base ? base + 1 : path);
	out[0] = 0;
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

static json_t *_video_node(const char *path)
{
	json_t *o = json_pack("{s:s}", "path", path);
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		json_object_set_new(o, "error", json_sprintf("cannot open: %s%s", strerror(errno),
							     cr_v4l2_errno_hint(errno, path)));
		return o;
	}
	char name[64];
	_sysfs_name(path, name, sizeof(name));
	if (name[0])
		json_object_set_new(o, "name", json_string(name));
	struct v4l2_capability cap = {0};
	if (cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
		json_object_set_new(o, "error", json_string("not a V4L2 device (VIDIOC_QUERYCAP failed)"));
		close(fd);
		return o;
	}
	uint32_t caps = cr_v4l2_device_caps(&cap);
	json_object_set_new(o, "card", json_stringn((const char *)cap.card, strnlen((const char *)cap.card, 32)));
	json_object_set_new(o, "driver", json_stringn((const char *)cap.driver, strnlen((const char *)cap.driver, 16)));
	json_object_set_new(o, "bus_info",
			    json_stringn((const char *)cap.bus_info, strnlen((const char *)cap.bus_info, 32)));
	json_object_set_new(o, "version", json_sprintf("%u.%u.%u", cap.version >> 16, (cap.version >> 8) & 0xff,
						       cap.version & 0xff));
	json_object_set_new(o, "kind", json_string(_kind(caps)));
	json_object_set_new(o, "caps", cr_cli_caps_json(caps));
	json_t *fmts = json_object();
	if (caps & V4L2_CAP_VIDEO_CAPTURE)
		json_object_set_new(fmts, "capture", cr_cli_formats_json(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, NULL));
	if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE)
		json_object_set_new(fmts, "capture", cr_cli_formats_json(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, NULL));
	if (caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_OUTPUT))
		json_object_set_new(fmts, "output", cr_cli_formats_json(fd, V4L2_BUF_TYPE_VIDEO_OUTPUT, NULL));
	if (caps & (V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_VIDEO_OUTPUT_MPLANE))
		json_object_set_new(fmts, "output", cr_cli_formats_json(fd, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, NULL));
	if (caps & V4L2_CAP_VIDEO_M2M)
		json_object_set_new(fmts, "capture", cr_cli_formats_json(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, NULL));
	if (caps & V4L2_CAP_VIDEO_M2M_MPLANE)
		json_object_set_new(fmts, "capture", cr_cli_formats_json(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, NULL));
	if (json_object_size(fmts))
		json_object_set_new(o, "formats", fmts);
	else
		json_decref(fmts);
	close(fd);
	return o;
}

static json_t *_subdev_node(const char *path)
{
	json_t *o = json_pack("{s:s}", "path", path);
	char name[64];
	_sysfs_name(path, name, sizeof(name));
	if (name[0])
		json_object_set_new(o, "name", json_string(name));
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		json_object_set_new(o, "error", json_sprintf("cannot open: %s%s", strerror(errno),
							     cr_v4l2_errno_hint(errno, path)));
		return o;
	}
#ifdef VIDIOC_SUBDEV_QUERYCAP
	struct v4l2_subdev_capability cap = {0};
	if (cr_v4l2_ioctl(fd, VIDIOC_SUBDEV_QUERYCAP, &cap) == 0)
		json_object_set_new(o, "read_only", json_boolean(cap.capabilities & V4L2_SUBDEV_CAP_RO_SUBDEV));
#endif
	close(fd);
	return o;
}

static json_t *_media_node(const char *path)
{
	json_t *o = json_pack("{s:s}", "path", path);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		json_object_set_new(o, "error", json_sprintf("cannot open: %s%s", strerror(errno),
							     cr_v4l2_errno_hint(errno, path)));
		return o;
	}
	struct media_device_info info = {0};
	if (cr_v4l2_ioctl(fd, MEDIA_IOC_DEVICE_INFO, &info) == 0) {
		json_object_set_new(o, "driver", json_stringn(info.driver, strnlen(info.driver, sizeof(info.driver))));
		json_object_set_new(o, "model", json_stringn(info.model, strnlen(info.model, sizeof(info.model))));
		json_object_set_new(o, "serial", json_stringn(info.serial, strnlen(info.serial, sizeof(info.serial))));
		json_object_set_new(o, "bus_info",
				    json_stringn(info.bus_info, strnlen(info.bus_info, sizeof(info.bus_info))));
		json_object_set_new(o, "hw_revision", json_integer(info.hw_revision));
	} else {
		json_object_set_new(o, "error", json_string("MEDIA_IOC_DEVICE_INFO failed"));
	}
	close(fd);
	return o;
}

#define _GP_MAX 16
#define _GP_TIMEOUT_S 15 /* a hung USB device can block the probe for minutes */

/* Child side of _gphoto2_cameras: probes, writes "C\tmodel\tport" lines or one
 * "E\terrno" line, and leaves by _exit(): libgphoto2's probe leaks inside
 * camlibs it dlcloses (LeakSanitizer cannot symbolize those stacks, so no
 * suppression matches), and _exit() skips the exit-time leak check and the
 * parent's atexit handlers and stdio buffers. */
static __attribute__((noreturn)) void _gphoto2_child(int fd)
{
	static struct cr_gphoto2_camera_s cams[_GP_MAX];
	char line[256];
	int n = cr_gphoto2_list(cams, _GP_MAX);
	if (n < 0) {
		int len = snprintf(line, sizeof(line), "E\t%d\n", -n);
		(void)!write(fd, line, (size_t)len);
	}
	for (int i = 0; i < n; i++) {
		/* fields must not hold the separators */
		cams[i].model[strcspn(cams[i].model, "\t\n")] = 0;
		cams[i].port[strcspn(cams[i].port, "\t\n")] = 0;
		int len = snprintf(line, sizeof(line), "C\t%s\t%s\n", cams[i].model, cams[i].port);
		if (write(fd, line, (size_t)len) != len)
			break;
	}
	_exit(0);
}

/* Reads the child's answer until EOF or the deadline; 0, or -ETIMEDOUT. */
static int _read_all(int fd, char *buf, size_t cap, size_t *len, int timeout_s)
{
	int64_t deadline = cr_deadline_ns((int64_t)timeout_s * 1000);
	*len = 0;
	for (;;) {
		int left = cr_ms_left(deadline);
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -ETIMEDOUT;
		char tmp[1024];
		ssize_t got = read(fd, tmp, sizeof(tmp));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0; /* EOF (or an error: take what came) */
		size_t take = (size_t)got < cap - 1 - *len ? (size_t)got : cap - 1 - *len;
		memcpy(buf + *len, tmp, take);
		*len += take;
		buf[*len] = 0;
	}
}

/* Cameras libgphoto2 detects, into cams (model, port, --from); probed in a
 * child process so a leaking or hanging probe cannot harm `list`. Returns an
 * error message for "gphoto2_error", or NULL. */
static const char *_gphoto2_cameras(json_t *cams, char *err, size_t errlen)
{
	const char *env = getenv("CAMRELAY_GPHOTO2_PROBE_TIMEOUT");
	int timeout_s = env && atoi(env) > 0 ? atoi(env) : _GP_TIMEOUT_S;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot probe for gphoto2 cameras: pipe: %s", strerror(errno));
		return err;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot probe for gphoto2 cameras: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0) {
		close(fds[0]);
		_gphoto2_child(fds[1]);
	}
	close(fds[1]);
	static char buf[_GP_MAX * 256 + 64];
	size_t len;
	int r = _read_all(fds[0], buf, sizeof(buf), &len, timeout_s);
	close(fds[0]);
	if (r == -ETIMEDOUT)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == -ETIMEDOUT) {
		snprintf(err, errlen,
			 "libgphoto2's camera probe did not finish within %d s (stopped it): a USB device may be hung; "
			 "unplug and replug the camera (CAMRELAY_GPHOTO2_PROBE_TIMEOUT=SECONDS waits longer)",
			 timeout_s);
		return err;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "libgphoto2's camera probe crashed (%s %d); does `gphoto2 --auto-detect` work?",
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		return err;
	}
	const char *res = NULL;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *model = line + 2, *port = strchr(model, '\t');
		if (line[0] == 'E' && line[1] == '\t') {
			snprintf(err, errlen, "libgphoto2's camera probe failed (%s); `gphoto2 --auto-detect --debug` shows why",
				 strerror(atoi(line + 2)));
			res = err;
		} else if (line[0] == 'C' && line[1] == '\t' && port) {
			*port++ = 0;
			json_array_append_new(cams, json_pack("{s:s,s:s,s:s+}", "model", model, "port", port, "from",
							      "gphoto2:", port));
		}
	}
	return res;
}

/* The desktop's gvfs gphoto2 monitor mounts cameras as they appear, and its
 * gvfsd-gphoto2 then holds the USB interface: libgphoto2 in any other program
 * fails with "Could not claim the USB device". Their names in /proc (comm is
 * cut at 15 characters). */
static const char *_gvfs_gphoto2(void)
{
	const char *found = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return NULL;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char p[64], comm[32] = "";
		snprintf(p, sizeof(p), "/proc/%.20s/comm", e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
		if (strcmp(comm, "gvfsd-gphoto2") == 0)
			found = "gvfsd-gphoto2";
		else if (strcmp(comm, "gvfs-gphoto2-vo") == 0)
			found = "gvfs-gphoto2-volume-monitor";
	}
	closedir(d);
	return found;
}

static void _print_formats(json_t *fmts, const char *key, const char *label)
{
	json_t *a = json_object_get(fmts, key);
	if (!a || !json_array_size(a))
		return;
	printf("    %s:", label);
	size_t i;
	json_t *f;
	json_array_foreach(a, i, f)
	{
		const char *cr = json_string_value(json_object_get(f, "camrelay"));
		printf(" %s%s%s%s", json_string_value(json_object_get(f, "fourcc")), cr ? "(" : "", cr ? cr : "",
		       cr ? ")" : "");
	}
	printf("\n");
}

static const char *_s(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static void _print_text(json_t *root)
{
	size_t i;
	json_t *o;
	json_t *video = json_object_get(root, "video");
	printf("Video devices:%s\n", json_array_size(video) ? "" : " none");
	json_array_foreach(video, i, o)
	{
		if (json_object_get(o, "error")) {
			printf("  %s: %s\n", _s(o, "path"), _s(o, "error"));
			continue;
		}
		printf("  %-13s %-8s \"%s\" (%s, %s)\n", _s(o, "path"), _s(o, "kind"), _s(o, "card"), _s(o, "driver"),
		       _s(o, "bus_info"));
		printf("    caps:");
		size_t j;
		json_t *c;
		json_array_foreach(json_object_get(o, "caps"), j, c) printf(" %s", json_string_value(c));
		printf("\n");
		json_t *fmts = json_object_get(o, "formats");
		if (fmts) {
			const char *kind = _s(o, "kind");
			if (strcmp(kind, "m2m") == 0) {
				_print_formats(fmts, "output", "takes");
				_print_formats(fmts, "capture", "gives");
			} else if (strcmp(kind, "capture") == 0) {
				_print_formats(fmts, "capture", "formats");
			}
		}
	}
	json_t *sub = json_object_get(root, "subdevs");
	if (json_array_size(sub)) {
		printf("Sub-devices:\n");
		json_array_foreach(sub, i, o)
		printf("  %-18s %s%s\n", _s(o, "path"), _s(o, "name"),
		       json_is_true(json_object_get(o, "read_only")) ? " (read-only)" : "");
	}
	json_t *cams = json_object_get(root, "gphoto2");
	if (cams) { /* absent: no libgphoto2 in this build */
		printf("Cameras (libgphoto2):%s\n",
		       json_array_size(cams) || json_object_get(root, "gphoto2_error") ? "" : " none found");
		json_array_foreach(cams, i, o)
		printf("  %-13s \"%s\"  (camrelay webcam --from %s)\n", _s(o, "port"), _s(o, "model"), _s(o, "from"));
		if (json_object_get(root, "gphoto2_error"))
			printf("  %s\n", _s(root, "gphoto2_error"));
		if (json_object_get(root, "gvfs_gphoto2"))
			printf("  note: %s is running: the desktop mounts cameras and holds them (\"Could not claim the\n"
			       "  USB device\"); run: gio mount -s gphoto2  or: systemctl --user stop "
			       "gvfs-gphoto2-volume-monitor\n",
			       _s(root, "gvfs_gphoto2"));
		if (json_array_size(cams))
			printf("  In a config: backend = \"gphoto2\", device = the port or the model.\n");
	}
	json_t *loops = json_object_get(root, "webcams");
	if (json_array_size(loops)) {
		printf("Virtual webcams (v4l2loopback; sink type = \"webcam\"):\n");
		json_array_foreach(loops, i, o)
		printf("  %-13s \"%s\"%s%s\n", _s(o, "path"), _s(o, "label"),
		       json_is_true(json_object_get(o, "exclusive_caps")) ? " exclusive_caps" : "",
		       json_is_true(json_object_get(o, "fed")) ? " (fed by another program)" : "");
	}
	json_t *audio = json_object_get(root, "audio");
	printf("Audio capture devices:%s\n", json_array_size(audio) ? "" : " none");
	json_array_foreach(audio, i, o)
	printf("  %-30s \"%s\" %s ([stream.X.audio] backend = \"%s\", device = this or the card)\n", _s(o, "device"),
	       _s(o, "card"), _s(o, "name"), _s(o, "backend"));
	json_t *media = json_object_get(root, "media");
	if (json_array_size(media)) {
		printf("Media devices:\n");
		json_array_foreach(media, i, o)
		printf("  %-13s \"%s\" (%s, %s)\n", _s(o, "path"), _s(o, "model"), _s(o, "driver"), _s(o, "bus_info"));
	}
	printf("\nUse a path, a card name (\"%s\") or a bus info as `device` in a config;\n"
	       "camrelay probe DEVICE shows formats, sizes, rates and controls.\n",
	       json_array_size(video) ? _s(json_array_get(video, 0), "card") : "HD Pro Webcam C920");
}

static void _usage(void)
{
	printf("Usage: camrelay list [--json]\n"
	       "Lists V4L2 video nodes (card, driver, bus info, capabilities, formats),\n"
	       "sub-devices, media devices, the cameras libgphoto2 detects (USB DSLRs and\n"
	       "mirrorless cameras), v4l2loopback webcams and audio capture devices (ALSA).\n"
	       "The libgphoto2 probe runs in a\n"
	       "child process stopped after %d s (CAMRELAY_GPHOTO2_PROBE_TIMEOUT=SECONDS).\n",
	       _GP_TIMEOUT_S);
}

static int _run(int argc, char **argv)
{
	bool json;
	int rc = cr_cli_discovery_opts(argc, argv, _usage, &json);
	if (rc >= 0)
		return rc;
	if (optind != argc) {
		fprintf(stderr, "camrelay list: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return 2;
	}
	static char nodes[_MAX_NODES][64];
	json_t *root = json_object(), *a;
	int n = cr_v4l2_list_nodes("video", nodes, _MAX_NODES);
	json_object_set_new(root, "video", a = json_array());
	for (int i = 0; i < n; i++)
		json_array_append_new(a, _video_node(nodes[i]));
	n = cr_v4l2_list_nodes("v4l-subdev", nodes, _MAX_NODES);
	json_object_set_new(root, "subdevs", a = json_array());
	for (int i = 0; i < n; i++)
		json_array_append_new(a, _subdev_node(nodes[i]));
	n = cr_v4l2_list_nodes("media", nodes, _MAX_NODES);
	json_object_set_new(root, "media", a = json_array());
	for (int i = 0; i < n; i++)
		json_array_append_new(a, _media_node(nodes[i]));
	const struct cr_source_ops_s *gp = cr_source_find("gphoto2");
	if (gp && cr_gphoto2_list) { /* weak: NULL without libgphoto2 */
		char err[1024];
		const char *gerr, *gvfs = _gvfs_gphoto2();
		json_object_set_new(root, "gphoto2", a = json_array());
		/* the module (camrelay-gphoto2) not installed: said, nothing probed */
		if (gp->check && gp->check(err, sizeof(err)) < 0)
			json_object_set_new(root, "gphoto2_error", json_string(err));
		else if ((gerr = _gphoto2_cameras(a, err, sizeof(err))))
			json_object_set_new(root, "gphoto2_error", json_string(gerr));
		if (gvfs)
			json_object_set_new(root, "gvfs_gphoto2", json_string(gvfs));
	}
	json_object_set_new(root, "webcams", a = json_array());
	static struct cr_webcam_dev_s loops[32];
	n = cr_webcam_list(loops, 32);
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:b,s:b}", "path", loops[i].path, "label",
						   loops[i].label, "fed", loops[i].fed, "exclusive_caps",
						   loops[i].exclusive));
	json_object_set_new(root, "audio", a = json_array());
	static struct cr_audio_device_s ad[32];
	for (int b = 0; cr_audio_backends[b]; b++)
		for (int i = 0, k = cr_audio_backends[b]->list ? cr_audio_backends[b]->list(ad, 32) : 0; i < k; i++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "backend", cr_audio_backends[b]->name,
							   "device", ad[i].name, "card", ad[i].card, "name", ad[i].desc));
	cr_cli_print(root, json, _print_text);
	return 0;
}

const struct cr_command_s cr_command_list = {
	.name = "list",
	.run = _run,
	.summary = "list cameras and other V4L2/media devices [--json]",
};
