/* Pixel formats and codecs camrelay knows, with their config names. */
#ifndef CR_FORMAT_H
#define CR_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cr_pixfmt_e {
	CR_PIXFMT_NONE = 0,
	CR_PIXFMT_YUYV,   /* packed 4:2:2 Y0 U Y1 V */
	CR_PIXFMT_UYVY,   /* packed 4:2:2 U Y0 V Y1 */
	CR_PIXFMT_YVYU,   /* packed 4:2:2 Y0 V Y1 U */
	CR_PIXFMT_NV12,   /* Y plane + interleaved UV 4:2:0 */
	CR_PIXFMT_YUV420, /* I420: Y, U, V planes 4:2:0 */
	CR_PIXFMT_RGB24,  /* R G B bytes (V4L2 RGB3, seed "rgb888") */
	CR_PIXFMT_BGR24,
	CR_PIXFMT_GREY,
	CR_PIXFMT_MJPEG,  /* one JPEG per frame */
	/* 8-bit Bayer mosaics (raw sensor capture, e.g. vimc's Raw Capture), named
	 * by the colours of the top-left 2x2 cell: BG/GR, GB/RG, GR/BG, RG/GB. */
	CR_PIXFMT_SBGGR8,
	CR_PIXFMT_SGBRG8,
	CR_PIXFMT_SGRBG8,
	CR_PIXFMT_SRGGB8,
	CR_PIXFMT_COUNT
};

enum cr_codec_e {
	CR_CODEC_NONE = 0,
	CR_CODEC_H264,
	CR_CODEC_H265,
	CR_CODEC_AV1,
	CR_CODEC_VP8,
	CR_CODEC_VP9,
	CR_CODEC_MJPEG,
	CR_CODEC_FWHT, /* vicodec's codec, for testing the M2M path */
	CR_CODEC_COUNT
};

/* Canonical config name ("yuyv", "h264"), or "?" */
const char *cr_pixfmt_name(enum cr_pixfmt_e f);
const char *cr_codec_name(enum cr_codec_e c);
/* Looks up a config name or alias (seed 001 tables); NONE if unknown. */
enum cr_pixfmt_e cr_pixfmt_from_name(const char *s);
enum cr_codec_e cr_codec_from_name(const char *s);
/* Whether f is in list (NONE-terminated; a NULL list takes any format):
 * what a backend's caps declare it delivers or takes. */
bool cr_pixfmt_listed(const enum cr_pixfmt_e *list, enum cr_pixfmt_e f);
/* Comma-separated list of accepted names, for error messages. */
const char *cr_pixfmt_allowed(void);
const char *cr_codec_allowed(void);

/* V4L2 fourcc <-> format (0 / NONE when unmapped). */
uint32_t cr_pixfmt_to_fourcc(enum cr_pixfmt_e f);
enum cr_pixfmt_e cr_pixfmt_from_fourcc(uint32_t fourcc);

/* Bytes for one frame of w x h (tightly packed); 0 for compressed formats. */
size_t cr_pixfmt_frame_size(enum cr_pixfmt_e f, int w, int h);
/* Number of planes and each plane's stride/height for tight packing. */
int cr_pixfmt_planes(enum cr_pixfmt_e f, int w, int h, int stride[3], int rows[3]);

#endif
