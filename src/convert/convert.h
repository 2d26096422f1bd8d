/* Pixel-format conversion and scaling: a thin layer over libyuv (packed and
 * planar YUV, RGB) and libjpeg-turbo (MJPEG decode/encode). Every path goes
 * through those libraries, except the YUV range conversion between JPEGs
 * (full range) and raw frames (limited range), a table (range.h). */
#ifndef CR_CONVERT_H
#define CR_CONVERT_H

#include "core/frame.h"

struct cr_converter_s;

struct cr_converter_s *cr_converter_new(void);
void cr_converter_destroy(struct cr_converter_s *c);
/* Converts `in` into `out`, whose format, size and planes are already set
 * (e.g. from cr_pool_get); scales when sizes differ. For MJPEG output,
 * out->size receives the JPEG length (plane 0 must be large enough).
 * `quality` is used for MJPEG output (1..100). Raw YUV outputs are limited
 * range whatever the input (a JPEG's or GREY's full range is compressed);
 * GREY output is full-range luma; RGB from full-range YUV uses the
 * full-range matrix. Sets out->full_range. */
int cr_converter_run(struct cr_converter_s *c, const struct cr_frame_s *in, struct cr_frame_s *out);
void cr_converter_set_quality(struct cr_converter_s *c, int quality);
const char *cr_converter_error(const struct cr_converter_s *c);

/* Encodes a frame of a format cr_jpeg_takes (I420, NV12, YUYV, YVYU, UYVY)
 * as a 4:2:0 JPEG into dst (capacity dst_cap); returns the length or -errno
 * (-ENOSPC: dst too small). Shared by the MJPEG encoder and the converter.
 * The frame is read 16 rows at a time, converted to full-range I420 in a
 * strip of the encoder's (w x 16); *expanded receives the bytes written
 * there (0 for a full-range I420 frame whose width and height are multiples
 * of 16, read in place), for the caller's bytes_copied. */
struct cr_jpeg_enc_s;
struct cr_jpeg_enc_s *cr_jpeg_enc_new(void);
void cr_jpeg_enc_destroy(struct cr_jpeg_enc_s *j);
bool cr_jpeg_takes(enum cr_pixfmt_e f);
long cr_jpeg_encode(struct cr_jpeg_enc_s *j, const struct cr_frame_s *in, int quality, uint8_t *dst,
		    size_t dst_cap, size_t *expanded);

/* A converter with the pool its outputs come from (recreated when the wanted
 * format or size changes): the stream's convert stages and every encode
 * step (encode/encoder.h) convert through one of these. */
struct cr_stream_stats_s;
struct cr_convert_step_s {
	struct cr_converter_s *conv;
	struct cr_pool_s *pool;
	enum cr_pixfmt_e pool_fmt;
	int pool_w, pool_h;
};
/* `in` as fmt at w x h (a new reference; seq, capture time and the
 * placeholder mark carried over), counted in stats (frames_converted,
 * bytes_copied) when given. NULL on failure with the reason in err. */
struct cr_frame_s *cr_convert_step_run(struct cr_convert_step_s *cs, const struct cr_frame_s *in,
				       enum cr_pixfmt_e fmt, int w, int h, struct cr_stream_stats_s *stats,
				       char *err, size_t errlen);
void cr_convert_step_free(struct cr_convert_step_s *cs);

#endif
