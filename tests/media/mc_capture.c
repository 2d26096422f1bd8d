/* Test driver: configures the media pipeline of a capture node from a camrelay
 * config (cr_media_prepare), streams a few frames with plain V4L2 MMAP and
 * writes the last one, tightly packed, to a file for pixel checks.
 *
 *   mc_capture -c CONFIG [-F FOURCC] [-n FRAMES] [-o OUT] [--prepare-only | --no-prepare]
 *
 * The config's first stream's first source gives device, width, height and
 * pixel_format; -F overrides the pixel format with a V4L2 fourcc ("RGGB")
 * for formats the config model has no name for.
 * Exit: 0 ok, 3 prepare failed (message on stderr), 4 STREAMON failed (the
 * EPIPE explanation on stderr), 1 other failures. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "media/media.h"

static int _xioctl(int fd, unsigned long req, void *arg)
{
	int rc;
	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"prepare-only", no_argument, NULL, 'p'},
					      {"no-prepare", no_argument, NULL, 'N'},
					      {NULL, 0, NULL, 0}};
	const char *conf = NULL, *out = NULL, *fcc = NULL;
	int frames = 3, c;
	bool prepare_only = false, no_prepare = false;
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines reach a log file at once */
	while ((c = getopt_long(argc, argv, "c:o:F:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'o': out = optarg; break;
		case 'F': fcc = optarg; break;
		case 'n': frames = atoi(optarg); break;
		case 'p': prepare_only = true; break;
		case 'N': no_prepare = true; break;
		default: return 2;
		}
	}
	if (!conf) {
		fprintf(stderr, "usage: mc_capture -c CONFIG [-F FOURCC] [-n FRAMES] [-o OUT] [--prepare-only | --no-prepare]\n");
		return 2;
	}
	static struct cr_config_s cfg;
	char err[2048], note[1024];
	if (cr_config_load(conf, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	const struct cr_capture_cfg_s *cap = &cfg.streams[0]->sources[0].capture;
	uint32_t fourcc = cr_pixfmt_to_fourcc(cap->pixel_format);
	if (fcc && strlen(fcc) == 4)
		fourcc = v4l2_fourcc(fcc[0], fcc[1], fcc[2], fcc[3]);
	int rc = no_prepare ? 0 : cr_media_prepare(cap->device, cap, cap->width, cap->height, fourcc, note,
						     sizeof(note), err, sizeof(err));
	if (no_prepare)
		snprintf(note, sizeof(note), "skipped (--no-prepare)");
	if (rc < 0) {
		fprintf(stderr, "prepare failed: %s\n", err);
		return 3;
	}
	printf("prepared: %s\n", note);
	if (prepare_only)
		return 0;

	int fd = open(cap->device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", cap->device, strerror(errno));
		return 1;
	}
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	f.fmt.pix.width = (uint32_t)cap->width;
	f.fmt.pix.height = (uint32_t)cap->height;
	f.fmt.pix.pixelformat = fourcc;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	if ((rc = _xioctl(fd, VIDIOC_S_FMT, &f)) < 0) {
		fprintf(stderr, "VIDIOC_S_FMT: %s\n", strerror(-rc));
		return 1;
	}
	printf("format: %ux%u %.4s stride %u size %u\n", f.fmt.pix.width, f.fmt.pix.height,
	       (char *)&f.fmt.pix.pixelformat, f.fmt.pix.bytesperline, f.fmt.pix.sizeimage);
	struct v4l2_requestbuffers rb = {.count = 3, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
	if ((rc = _xioctl(fd, VIDIOC_REQBUFS, &rb)) < 0) {
		fprintf(stderr, "VIDIOC_REQBUFS: %s\n", strerror(-rc));
		return 1;
	}
	void *maps[8];
	size_t lens[8];
	for (unsigned i = 0; i < rb.count && i < 8; i++) {
		struct v4l2_buffer b = {.type = rb.type, .memory = rb.memory, .index = i};
		if (_xioctl(fd, VIDIOC_QUERYBUF, &b) < 0)
			return 1;
		lens[i] = b.length;
		maps[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
		if (maps[i] == MAP_FAILED || _xioctl(fd, VIDIOC_QBUF, &b) < 0)
			return 1;
	}
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if ((rc = _xioctl(fd, VIDIOC_STREAMON, &type)) < 0) {
		if (rc == -EPIPE) {
			cr_media_explain_epipe(cap->device, err, sizeof(err));
			fprintf(stderr, "VIDIOC_STREAMON on %s: Broken pipe: %s\n", cap->device, err);
		} else {
			fprintf(stderr, "VIDIOC_STREAMON: %s\n", strerror(-rc));
		}
		return 4;
	}
	int got = 0;
	struct v4l2_buffer last = {0};
	while (got < frames) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 120000) <= 0) { /* 4096x2160 through vimc under TCG: tens of seconds */
			fprintf(stderr, "no frame within 120 s (got %d)\n", got);
			return 1;
		}
		struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
		if (_xioctl(fd, VIDIOC_DQBUF, &b) < 0)
			continue;
		got++;
		if (got == frames) {
			last = b;
			break;
		}
		_xioctl(fd, VIDIOC_QBUF, &b);
	}
	printf("frames: %d bytesused %u\n", got, last.bytesused);
	if (out) {
		FILE *o = fopen(out, "wb");
		if (!o)
			return 1;
		size_t row = f.fmt.pix.sizeimage / f.fmt.pix.height; /* bytes per row of pixels */
		uint32_t bpl = f.fmt.pix.bytesperline ? f.fmt.pix.bytesperline : (uint32_t)row;
		size_t tight = row < bpl ? row : bpl;
		for (uint32_t y = 0; y < f.fmt.pix.height; y++)
			fwrite((uint8_t *)maps[last.index] + (size_t)y * bpl, 1, tight, o);
		fclose(o);
	}
	_xioctl(fd, VIDIOC_STREAMOFF, &type);
	for (unsigned i = 0; i < rb.count && i < 8; i++)
		munmap(maps[i], lens[i]);
	close(fd);
	return 0;
}
