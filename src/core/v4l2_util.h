/* V4L2 helpers shared by the capture source, the M2M encoders, the overlay and
 * webcam sinks and the discovery commands.
 *
 * Every ioctl goes through cr_v4l2_ioctl(): EINTR is retried and a failure
 * comes back as -errno. CR_V4L2_IOCTL() also writes one message naming the
 * ioctl, the device and what was asked, with a hint for the errors a user can
 * act on:
 *   "VIDIOC_S_FMT on /dev/video0 (asking 1280x720 YUYV) failed: Device or
 *    resource busy; another program is using the device (see: fuser /dev/video0)" */
#ifndef CR_V4L2_UTIL_H
#define CR_V4L2_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* 0 or -errno; EINTR retried. */
int cr_v4l2_ioctl(int fd, unsigned long request, void *arg);

/* As cr_v4l2_ioctl(); on failure writes a message into err (may be NULL).
 * `what` is a printf format describing the value asked for. */
int cr_v4l2_ioctl_msg(int fd, const char *dev, unsigned long request, const char *request_name,
		      void *arg, char *err, size_t errlen, const char *what, ...)
	__attribute__((format(printf, 8, 9)));

#define CR_V4L2_IOCTL(fd, dev, request, arg, err, errlen, ...) \
	cr_v4l2_ioctl_msg(fd, dev, request, #request, arg, err, errlen, __VA_ARGS__)

/* A short hint for errno values users can do something about, or "". */
const char *cr_v4l2_errno_hint(int err, const char *dev);

/* "YUYV", "MJPG", "NV12" (4 printable chars; big-endian flag shown as "-BE"). */
const char *cr_v4l2_fourcc_str(uint32_t fourcc, char buf[16]);

/* Control/menu name for config and API: lower case, runs of other characters
 * become one '_' ("White Balance, Automatic" -> "white_balance_automatic"). */
void cr_v4l2_norm_name(const char *in, char *out, size_t n);

/* Comma-separated capability names of a device_caps value
 * ("capture, mplane, streaming"). */
void cr_v4l2_caps_str(uint32_t caps, char *out, size_t n);

/* Opens a V4L2 video node given as a path (/dev/video0, /dev/v4l/by-id/...),
 * a card name ("vivid", "HD Pro Webcam C920") or a bus info
 * ("usb-0000:00:14.0-1"). Names are looked up at every call by scanning
 * /dev/video* with VIDIOC_QUERYCAP, so renumbered devices are found again:
 * exact card first, then bus info; among several nodes of one card, the
 * first whose device caps include any bit of `want_caps` (0: any). An
 * empty spec takes the first node with those caps.
 * Opens O_RDWR | O_NONBLOCK | O_CLOEXEC. Returns the fd, or -errno with a
 * message in err. path (may be NULL) receives the node's path, card (may be
 * NULL) its card name. */
int cr_v4l2_open(const char *spec, uint32_t want_caps, char *path, size_t pathlen, char *card,
		 size_t cardlen, char *err, size_t errlen);

/* The /dev/video* nodes, sorted by number. Returns how many (up to max). */
int cr_v4l2_list_nodes(const char *prefix, char (*out)[64], int max);

/* device_caps when the driver reports them, else capabilities. */
struct v4l2_capability;
uint32_t cr_v4l2_device_caps(const struct v4l2_capability *cap);

#endif
