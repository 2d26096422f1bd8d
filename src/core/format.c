#include "core/format.h"

#include <linux/videodev2.h>
#include <string.h>

struct _name_s {
	const char *name;
	int value;
};

/* First entry per value is the canonical name; the rest are aliases (seed 001). */
static const struct _name_s _pixfmt_names[] = {
	{"yuyv", CR_PIXFMT_YUYV},     {"yuyv422", CR_PIXFMT_YUYV}, {"uyvy", CR_PIXFMT_UYVY},
	{"yvyu", CR_PIXFMT_YVYU},     {"nv12", CR_PIXFMT_NV12},    {"yuv420", CR_PIXFMT_YUV420},
	{"yuv420p", CR_PIXFMT_YUV420}, {"i420", CR_PIXFMT_YUV420}, {"mjpeg", CR_PIXFMT_MJPEG},
	{"rgb888", CR_PIXFMT_RGB24},  {"rgb", CR_PIXFMT_RGB24},    {"rgb24", CR_PIXFMT_RGB24},
	{"bgr24", CR_PIXFMT_BGR24},   {"grey", CR_PIXFMT_GREY},    {"gray", CR_PIXFMT_GREY},
	{"sbggr8", CR_PIXFMT_SBGGR8}, {"sgbrg8", CR_PIXFMT_SGBRG8}, {"sgrbg8", CR_PIXFMT_SGRBG8},
	{"srggb8", CR_PIXFMT_SRGGB8},
	{NULL, 0},
};

static const struct _name_s _codec_names[] = {
	{"h264", CR_CODEC_H264}, {"h265", CR_CODEC_H265}, {"hevc", CR_CODEC_H265},
	{"av1", CR_CODEC_AV1},   {"vp8", CR_CODEC_VP8},   {"vp9", CR_CODEC_VP9},
	{"mjpeg", CR_CODEC_MJPEG}, {"fwht", CR_CODEC_FWHT}, {NULL, 0},
};

static const char *_name_of(const struct _name_s *t, int v)
{
	for (; t->name; t++)
		if (t->value == v)
			return t->name;
	return "?";
}

static int _value_of(const struct _name_s *t, const char *s)
{
	for (; t->name; t++)
		if (strcmp(t->name, s) == 0)
			return t->value;
	return 0;
}

const char *cr_pixfmt_name(enum cr_pixfmt_e f) { return _name_of(_pixfmt_names, f); }
const char *cr_codec_name(enum cr_codec_e c) { return _name_of(_codec_names, c); }
enum cr_pixfmt_e cr_pixfmt_from_name(const char *s) { return _value_of(_pixfmt_names, s); }
enum cr_codec_e cr_codec_from_name(const char *s) { return _value_of(_codec_names, s); }

const char *cr_pixfmt_allowed(void)
{
	return "yuyv, yuyv422, uyvy, yvyu, nv12, yuv420, yuv420p, i420, mjpeg, rgb888, rgb, rgb24, "
	       "bgr24, grey, gray, sbggr8, sgbrg8, sgrbg8, srggb8";
}

const char *cr_codec_allowed(void) { return "h264, h265, hevc, av1, vp8, vp9, mjpeg, fwht"; }

static const struct {
	enum cr_pixfmt_e f;
	uint32_t fourcc;
} _fourccs[] = {
	{CR_PIXFMT_YUYV, V4L2_PIX_FMT_YUYV},   {CR_PIXFMT_UYVY, V4L2_PIX_FMT_UYVY},
	{CR_PIXFMT_YVYU, V4L2_PIX_FMT_YVYU},   {CR_PIXFMT_NV12, V4L2_PIX_FMT_NV12},
	{CR_PIXFMT_YUV420, V4L2_PIX_FMT_YUV420}, {CR_PIXFMT_RGB24, V4L2_PIX_FMT_RGB24},
	{CR_PIXFMT_BGR24, V4L2_PIX_FMT_BGR24}, {CR_PIXFMT_GREY, V4L2_PIX_FMT_GREY},
	{CR_PIXFMT_MJPEG, V4L2_PIX_FMT_MJPEG}, {CR_PIXFMT_MJPEG, V4L2_PIX_FMT_JPEG},
	{CR_PIXFMT_SBGGR8, V4L2_PIX_FMT_SBGGR8}, {CR_PIXFMT_SGBRG8, V4L2_PIX_FMT_SGBRG8},
	{CR_PIXFMT_SGRBG8, V4L2_PIX_FMT_SGRBG8}, {CR_PIXFMT_SRGGB8, V4L2_PIX_FMT_SRGGB8},
};

uint32_t cr_pixfmt_to_fourcc(enum cr_pixfmt_e f)
{
	for (size_t i = 0; i < sizeof(_fourccs) / sizeof(_fourccs[0]); i++)
		if (_fourccs[i].f == f)
			return _fourccs[i].fourcc;
	return 0;
}

enum cr_pixfmt_e cr_pixfmt_from_fourcc(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(_fourccs) / sizeof(_fourccs[0]); i++)
		if (_fourccs[i].fourcc == fourcc)
			return _fourccs[i].f;
	return CR_PIXFMT_NONE;
}

int cr_pixfmt_planes(enum cr_pixfmt_e f, int w, int h, int stride[3], int rows[3])
{
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	switch (f) {
	case CR_PIXFMT_YUYV:
	case CR_PIXFMT_UYVY:
	case CR_PIXFMT_YVYU:
		stride[0] = cw * 4;
		rows[0] = h;
		return 1;
	case CR_PIXFMT_RGB24:
	case CR_PIXFMT_BGR24:
		stride[0] = w * 3;
		rows[0] = h;
		return 1;
	case CR_PIXFMT_GREY:
	case CR_PIXFMT_SBGGR8:
	case CR_PIXFMT_SGBRG8:
	case CR_PIXFMT_SGRBG8:
	case CR_PIXFMT_SRGGB8:
		stride[0] = w;
		rows[0] = h;
		return 1;
	case CR_PIXFMT_NV12:
		stride[0] = w;
		rows[0] = h;
		stride[1] = cw * 2;
		rows[1] = ch;
		return 2;
	case CR_PIXFMT_YUV420:
		stride[0] = w;
		rows[0] = h;
		stride[1] = stride[2] = cw;
		rows[1] = rows[2] = ch;
		return 3;
	default:
		return 0;
	}
}

size_t cr_pixfmt_frame_size(enum cr_pixfmt_e f, int w, int h)
{
	int stride[3], rows[3];
	int n = cr_pixfmt_planes(f, w, h, stride, rows);
	size_t size = 0;
	for (int i = 0; i < n; i++)
		size += (size_t)stride[i] * (size_t)rows[i];
	return size;
}

bool cr_pixfmt_listed(const enum cr_pixfmt_e *list, enum cr_pixfmt_e f)
{
	if (!list)
		return true;
	for (; *list; list++)
		if (*list == f)
			return true;
	return false;
}
