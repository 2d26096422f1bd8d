#include "core/v4l2_util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int cr_v4l2_ioctl(int fd, unsigned long request, void *arg)
{
	int r;
	do
		r = ioctl(fd, request, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

const char *cr_v4l2_errno_hint(int err, const char *dev)
{
	static _Thread_local char buf[160];
	switch (err) {
	case EBUSY:
		snprintf(buf, sizeof(buf), "; another program is using the device (see: fuser %s)",
			 dev ? dev : "/dev/video*");
		return buf;
	case EACCES:
	case EPERM:
		return "; permission denied: add the user to the 'video' group or run as root";
	case ENODEV:
	case ENXIO:
		return "; the device is gone (unplugged or its driver unloaded)";
	case ENOTTY:
		return "; the driver does not support this request";
	case ENOLINK:
		return "; no signal on the input";
	case ENOLCK:
		return "; the input signal is not stable (no lock)";
	case ERANGE:
		return "; the input signal is out of range";
	case ENOMEM:
		return "; not enough memory for the buffers: use a smaller size";
	default:
		return "";
	}
}

int cr_v4l2_ioctl_msg(int fd, const char *dev, unsigned long request, const char *request_name,
		      void *arg, char *err, size_t errlen, const char *what, ...)
{
	int r = cr_v4l2_ioctl(fd, request, arg);
	if (r >= 0 || !err || errlen == 0)
		return r;
	char detail[192];
	va_list ap;
	va_start(ap, what);
	vsnprintf(detail, sizeof(detail), what, ap);
	va_end(ap);
	snprintf(err, errlen, "%s on %s%s%s%s failed: %s%s", request_name, dev ? dev : "?",
		 detail[0] ? " (" : "", detail, detail[0] ? ")" : "", strerror(-r),
		 cr_v4l2_errno_hint(-r, dev));
	return r;
}

const char *cr_v4l2_fourcc_str(uint32_t f, char buf[16])
{
	int n = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = (f >> (8 * i)) & 0x7f;
		if (c == ' ' && i > 0)
			break; /* "GREY", "Y16 " → "Y16" */
		buf[n++] = isprint(c) ? (char)c : '?';
	}
	buf[n] = 0;
	if (f & (1u << 31))
		strcat(buf, "-BE");
	return buf;
}

void cr_v4l2_norm_name(const char *in, char *out, size_t n)
{
	size_t o = 0;
	bool sep = false;
	if (n == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < n; p++) {
		if (isalnum(*p)) {
			if (sep && o > 0 && o + 2 < n)
				out[o++] = '_';
			sep = false;
			out[o++] = (char)tolower(*p);
		} else {
			sep = true;
		}
	}
	out[o] = 0;
}

void cr_v4l2_caps_str(uint32_t caps, char *out, size_t n)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{V4L2_CAP_VIDEO_CAPTURE, "capture"},
		{V4L2_CAP_VIDEO_CAPTURE_MPLANE, "capture-mplane"},
		{V4L2_CAP_VIDEO_OUTPUT, "output"},
		{V4L2_CAP_VIDEO_OUTPUT_MPLANE, "output-mplane"},
		{V4L2_CAP_VIDEO_M2M, "m2m"},
		{V4L2_CAP_VIDEO_M2M_MPLANE, "m2m-mplane"},
		{V4L2_CAP_VIDEO_OVERLAY, "overlay"},
		{V4L2_CAP_VIDEO_OUTPUT_OVERLAY, "output-overlay"},
		{V4L2_CAP_VBI_CAPTURE, "vbi-capture"},
		{V4L2_CAP_VBI_OUTPUT, "vbi-output"},
		{V4L2_CAP_SLICED_VBI_CAPTURE, "sliced-vbi-capture"},
		{V4L2_CAP_SLICED_VBI_OUTPUT, "sliced-vbi-output"},
		{V4L2_CAP_RDS_CAPTURE, "rds-capture"},
		{V4L2_CAP_RDS_OUTPUT, "rds-output"},
		{V4L2_CAP_SDR_CAPTURE, "sdr-capture"},
		{V4L2_CAP_SDR_OUTPUT, "sdr-output"},
		{V4L2_CAP_META_CAPTURE, "metadata-capture"},
		{V4L2_CAP_META_OUTPUT, "metadata-output"},
		{V4L2_CAP_TOUCH, "touch"},
		{V4L2_CAP_TUNER, "tuner"},
		{V4L2_CAP_MODULATOR, "modulator"},
		{V4L2_CAP_AUDIO, "audio"},
		{V4L2_CAP_RADIO, "radio"},
		{V4L2_CAP_HW_FREQ_SEEK, "hw-freq-seek"},
		{V4L2_CAP_EXT_PIX_FORMAT, "ext-pix-format"},
		{V4L2_CAP_READWRITE, "readwrite"},
		{V4L2_CAP_STREAMING, "streaming"},
		{V4L2_CAP_IO_MC, "io-mc"},
	};
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(caps & names[i].bit))
			continue;
		int w = snprintf(out + o, n - o, "%s%s", o ? ", " : "", names[i].name);
		if (w < 0 || (size_t)w >= n - o)
			break;
		o += (size_t)w;
	}
}

uint32_t cr_v4l2_device_caps(const struct v4l2_capability *cap)
{
	return (cap->capabilities & V4L2_CAP_DEVICE_CAPS) ? cap->device_caps : cap->capabilities;
}

static int _node_cmp(const void *a, const void *b)
{
	const char *x = a, *y = b;
	size_t lx = strcspn(x, "0123456789"), ly = strcspn(y, "0123456789");
	int c = strncmp(x, y, lx < ly ? lx : ly);
	if (c || lx != ly)
		return c ? c : (int)lx - (int)ly;
	return atoi(x + lx) - atoi(y + ly);
}

int cr_v4l2_list_nodes(const char *prefix, char (*out)[64], int max)
{
	DIR *d = opendir("/dev");
	if (!d)
		return 0;
	int n = 0;
	size_t pl = strlen(prefix);
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (strncmp(e->d_name, prefix, pl) != 0 || !isdigit((unsigned char)e->d_name[pl]))
			continue;
		snprintf(out[n++], 64, "/dev/%.58s", e->d_name);
	}
	closedir(d);
	qsort(out, (size_t)n, 64, _node_cmp);
	return n;
}

static int _open_path(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(e),
			 e == ENOENT ? "; is the camera plugged in? (camrelay list shows the devices)"
				     : cr_v4l2_errno_hint(e, path));
		return -e;
	}
	return fd;
}

int cr_v4l2_open(const char *spec, uint32_t want_caps, char *path, size_t pathlen, char *card,
		 size_t cardlen, char *err, size_t errlen)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (spec[0] == '/' || strncmp(spec, "./", 2) == 0) {
		int fd = _open_path(spec, err, errlen);
		if (fd < 0)
			return fd;
		if (path)
			snprintf(path, pathlen, "%s", spec);
		if (card) {
			struct v4l2_capability cap = {0};
			if (cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
				int e = errno;
				snprintf(err, errlen, "%s is not a V4L2 device (VIDIOC_QUERYCAP: %s)", spec,
					 strerror(e));
				close(fd);
				return -ENOTTY;
			}
			snprintf(card, cardlen, "%.32s", (const char *)cap.card);
		}
		return fd;
	}

	/* Name lookup: card match beats bus-info match; within each, a node with
	 * the wanted caps beats one without. */
	char nodes[64][64];
	int n = cr_v4l2_list_nodes("video", nodes, 64);
	int best = -1, best_rank = 0;
	char best_card[33] = "";
	char seen[512] = "";
	size_t seen_len = 0;
	for (int i = 0; i < n; i++) {
		int fd = open(nodes[i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct v4l2_capability cap = {0};
		int r = cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, &cap);
		close(fd);
		if (r < 0)
			continue;
		char c[33], bus[33];
		snprintf(c, sizeof(c), "%.32s", (const char *)cap.card);
		snprintf(bus, sizeof(bus), "%.32s", (const char *)cap.bus_info);
		uint32_t caps = cr_v4l2_device_caps(&cap);
		/* "" takes the first node with the wanted caps. */
		int rank = !spec[0] ? 2 : strcmp(c, spec) == 0 ? 4 : strcmp(bus, spec) == 0 ? 2 : 0;
		if (rank && (!want_caps || (caps & want_caps)))
			rank++;
		if (rank > best_rank) {
			best_rank = rank;
			best = i;
			snprintf(best_card, sizeof(best_card), "%s", c);
		}
		if (seen_len < sizeof(seen) - 1 && !strstr(seen, c)) {
			int w = snprintf(seen + seen_len, sizeof(seen) - seen_len, "%s\"%s\"",
					 seen_len ? ", " : "", c);
			if (w > 0)
				seen_len += (size_t)w;
			if (seen_len >= sizeof(seen))
				seen_len = sizeof(seen) - 1;
		}
	}
	if (best < 0 && !spec[0]) {
		snprintf(err, errlen, "no video device found (is a camera plugged in? camrelay list shows the devices)");
		return -ENODEV;
	}
	if (best < 0) {
		snprintf(err, errlen,
			 "no video device with card name or bus info \"%s\" (found: %s); is it plugged in? "
			 "(camrelay list shows the devices)",
			 spec, seen[0] ? seen : "none");
		return -ENODEV;
	}
	if (want_caps && !(best_rank & 1)) {
		snprintf(err, errlen, "device \"%s\" (%s) has no node with the needed capabilities", spec,
			 nodes[best]);
		return -ENODEV;
	}
	int fd = _open_path(nodes[best], err, errlen);
	if (fd < 0)
		return fd;
	if (path)
		snprintf(path, pathlen, "%s", nodes[best]);
	if (card)
		snprintf(card, cardlen, "%s", best_card);
	return fd;
}
