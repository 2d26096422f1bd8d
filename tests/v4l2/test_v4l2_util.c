/* Host-side checks of the V4L2 helpers that need no device: control name
 * normalisation (what config and API names must match), fourcc text, caps
 * names, errno hints, the message of a failed ioctl and the Y'CbCr range a
 * negotiated format's colorimetry means. */
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/v4l2_util.h"
#include "source/v4l2_fmt.h"

static int _fails;

static void _eq(const char *got, const char *want, const char *what)
{
	if (strcmp(got, want) != 0) {
		printf("FAIL: %s: got \"%s\", want \"%s\"\n", what, got, want);
		_fails++;
	} else {
		printf("ok: %s: \"%s\"\n", what, got);
	}
}

int main(void)
{
	static const char *const names[][2] = {
		{"Brightness", "brightness"},
		{"White Balance, Automatic", "white_balance_automatic"},
		{"White Balance Temperature", "white_balance_temperature"},
		{"Power Line Frequency", "power_line_frequency"},
		{"Exposure Time, Absolute", "exposure_time_absolute"},
		{"Read-Only Integer 32 Bits", "read_only_integer_32_bits"},
		{"  Gain (dB)  ", "gain_db"},
		{"50 Hz", "50_hz"},
		{"", ""},
	};
	char out[64];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_v4l2_norm_name(names[i][0], out, sizeof(out));
		_eq(out, names[i][1], names[i][0]);
	}
	cr_v4l2_norm_name("White Balance, Automatic", out, 8);
	_eq(out, "white_b", "truncated to the buffer");

	char fcc[16];
	_eq(cr_v4l2_fourcc_str(V4L2_PIX_FMT_YUYV, fcc), "YUYV", "fourcc YUYV");
	_eq(cr_v4l2_fourcc_str(V4L2_PIX_FMT_MJPEG, fcc), "MJPG", "fourcc MJPG");
	_eq(cr_v4l2_fourcc_str(V4L2_PIX_FMT_Y16_BE, fcc), "Y16-BE", "fourcc Y16 big-endian");

	/* Y'CbCr range from V4L2 colorimetry: what the capture source flags its
	 * frames with (V4L2_MAP_QUANTIZATION_DEFAULT when the driver says DEFAULT). */
	static const struct {
		enum cr_pixfmt_e format;
		uint32_t quantization, colorspace;
		bool full;
		const char *what;
	} ranges[] = {
		{CR_PIXFMT_YUYV, V4L2_QUANTIZATION_FULL_RANGE, V4L2_COLORSPACE_SRGB, true, "yuyv, full range"},
		{CR_PIXFMT_YUYV, V4L2_QUANTIZATION_LIM_RANGE, V4L2_COLORSPACE_SRGB, false, "yuyv, limited range"},
		{CR_PIXFMT_NV12, V4L2_QUANTIZATION_DEFAULT, V4L2_COLORSPACE_JPEG, true, "nv12, default, JPEG colorspace"},
		{CR_PIXFMT_UYVY, V4L2_QUANTIZATION_LIM_RANGE, V4L2_COLORSPACE_JPEG, false,
		 "uyvy, limited range beats the JPEG colorspace"},
		{CR_PIXFMT_YUV420, V4L2_QUANTIZATION_DEFAULT, V4L2_COLORSPACE_SRGB, false, "yuv420, default, sRGB"},
		{CR_PIXFMT_YVYU, V4L2_QUANTIZATION_DEFAULT, V4L2_COLORSPACE_DEFAULT, false, "yvyu, all default"},
		{CR_PIXFMT_YUYV, V4L2_QUANTIZATION_DEFAULT, V4L2_COLORSPACE_REC709, false, "yuyv, default, Rec. 709"},
		{CR_PIXFMT_RGB24, V4L2_QUANTIZATION_DEFAULT, V4L2_COLORSPACE_SRGB, false, "rgb888: not Y'CbCr"},
		{CR_PIXFMT_GREY, V4L2_QUANTIZATION_FULL_RANGE, V4L2_COLORSPACE_SRGB, false, "grey: its format's range"},
		{CR_PIXFMT_MJPEG, V4L2_QUANTIZATION_DEFAULT, V4L2_COLORSPACE_JPEG, false, "mjpeg: its format's range"},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		_eq(cr_v4l2_full_range(ranges[i].format, ranges[i].quantization, ranges[i].colorspace,
				       V4L2_YCBCR_ENC_DEFAULT)
			    ? "full"
			    : "limited",
		    ranges[i].full ? "full" : "limited", ranges[i].what);

	char caps[256];
	cr_v4l2_caps_str(V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_VIDEO_M2M_MPLANE, caps, sizeof(caps));
	_eq(caps, "capture, m2m-mplane, streaming", "caps names");

	/* A real failing ioctl: /dev/null is no V4L2 device. */
	int fd = open("/dev/null", O_RDWR);
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	char err[256];
	int r = CR_V4L2_IOCTL(fd, "/dev/null", VIDIOC_S_FMT, &f, err, sizeof(err), "asking %dx%d %s", 1280, 720, "YUYV");
	close(fd);
	_eq(err, "VIDIOC_S_FMT on /dev/null (asking 1280x720 YUYV) failed: Inappropriate ioctl for device; the driver "
		 "does not support this request",
	    "ioctl message");
	if (r != -25) {
		printf("FAIL: ioctl returned %d, want -ENOTTY\n", r);
		_fails++;
	}
	_eq(cr_v4l2_errno_hint(16, "/dev/video0"), "; another program is using the device (see: fuser /dev/video0)",
	    "EBUSY hint");

	/* Lookup by name with no such device: a message that says what to do. */
	char path[64];
	r = cr_v4l2_open("No Such Camera 9000", 0, path, sizeof(path), NULL, 0, err, sizeof(err));
	if (r >= 0 || !strstr(err, "\"No Such Camera 9000\"") || !strstr(err, "camrelay list")) {
		printf("FAIL: open by unknown name: %d %s\n", r, err);
		_fails++;
	} else {
		printf("ok: open by unknown name: %s\n", err);
	}
	r = cr_v4l2_open("/dev/nonexistent-video", 0, path, sizeof(path), NULL, 0, err, sizeof(err));
	if (r != -2 || !strstr(err, "cannot open /dev/nonexistent-video: No such file or directory")) {
		printf("FAIL: open missing path: %d %s\n", r, err);
		_fails++;
	} else {
		printf("ok: open missing path: %s\n", err);
	}
	return _fails ? 1 : 0;
}
