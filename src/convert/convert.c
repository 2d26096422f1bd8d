#include "convert/convert.h"
#include "convert/bayer.h"
#include "convert/range.h"

#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <libyuv.h>
#include <stdio.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* The JPEG compressor: libjpeg's raw-data interface fed 16 rows at a time
 * (one iMCU row of 4:2:0), converted from the frame's own layout and
 * expanded to full range in a strip of w x 16 pixels, so a 720p frame costs
 * 30 KB of scratch, not a 1.4 MB I420 copy. */
struct cr_jpeg_enc_s {
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	struct jpeg_destination_mgr dest;
	jmp_buf jump;
	bool overflow;
	uint8_t *strip; /* Y 16 rows, then Cb and Cr 8 rows each, rows padded to 16/8 */
	size_t strip_cap;
};

static void _jpeg_error_exit(j_common_ptr c)
{
	struct cr_jpeg_enc_s *j = (struct cr_jpeg_enc_s *)c;
	longjmp(j->jump, 1);
}

static void _jpeg_no_message(j_common_ptr c, int level) { (void)c, (void)level; }
static void _jpeg_dest_init(j_compress_ptr c) { (void)c; }
static void _jpeg_dest_term(j_compress_ptr c) { (void)c; }

/* The caller's buffer is full: fail like TJFLAG_NOREALLOC, never allocate. */
static boolean _jpeg_dest_full(j_compress_ptr c)
{
	struct cr_jpeg_enc_s *j = (struct cr_jpeg_enc_s *)c;
	j->overflow = true;
	longjmp(j->jump, 1);
}

/* libjpeg reports errors by longjmp: a setjmp in a function of its own
 * with nothing but the encoder live across it. */
static bool _jpeg_create(struct cr_jpeg_enc_s *j)
{
	if (setjmp(j->jump))
		return false;
	jpeg_create_compress(&j->c);
	return true;
}

struct cr_jpeg_enc_s *cr_jpeg_enc_new(void)
{
	struct cr_jpeg_enc_s *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->c.err = jpeg_std_error(&j->err);
	j->err.error_exit = _jpeg_error_exit;
	j->err.emit_message = _jpeg_no_message;
	if (!_jpeg_create(j)) {
		free(j);
		return NULL;
	}
	j->dest.init_destination = _jpeg_dest_init;
	j->dest.empty_output_buffer = _jpeg_dest_full;
	j->dest.term_destination = _jpeg_dest_term;
	j->c.dest = &j->dest;
	return j;
}

void cr_jpeg_enc_destroy(struct cr_jpeg_enc_s *j)
{
	if (j) {
		jpeg_destroy_compress(&j->c);
		free(j->strip);
		free(j);
	}
}

bool cr_jpeg_takes(enum cr_pixfmt_e f)
{
	return f == CR_PIXFMT_YUV420 || f == CR_PIXFMT_YUYV || f == CR_PIXFMT_YVYU || f == CR_PIXFMT_UYVY ||
	       f == CR_PIXFMT_NV12;
}

/* Rows y0..y0+n of `in` as I420 into the strip planes (strides ys, cs). */
static void _strip_i420(const struct cr_frame_s *in, int y0, int n, uint8_t *y, int ys, uint8_t *u, uint8_t *v,
			int cs)
{
	const uint8_t *s0 = in->data[0] + (size_t)y0 * in->stride[0];
	int ss = in->stride[0], w = in->width;
	switch (in->format) {
	case CR_PIXFMT_YUYV:
		YUY2ToI420(s0, ss, y, ys, u, cs, v, cs, w, n);
		break;
	case CR_PIXFMT_YVYU: /* YUYV with U and V swapped: swap the outputs */
		YUY2ToI420(s0, ss, y, ys, v, cs, u, cs, w, n);
		break;
	case CR_PIXFMT_UYVY:
		UYVYToI420(s0, ss, y, ys, u, cs, v, cs, w, n);
		break;
	case CR_PIXFMT_NV12:
		NV12ToI420(s0, ss, in->data[1] + (size_t)(y0 / 2) * in->stride[1], in->stride[1], y, ys, u, cs, v,
			   cs, w, n);
		break;
	default: /* CR_PIXFMT_YUV420 (cr_jpeg_takes) */
		I420Copy(s0, ss, in->data[1] + (size_t)(y0 / 2) * in->stride[1], in->stride[1],
			 in->data[2] + (size_t)(y0 / 2) * in->stride[2], in->stride[2], y, ys, u, cs, v, cs, w, n);
		break;
	}
}

/* Repeats each row's last pixel up to the padded width. */
static void _pad_right(uint8_t *p, int stride, int w, int pw, int rows)
{
	for (int r = 0; r < rows && w < pw; r++, p += stride)
		memset(p + w, p[w - 1], (size_t)(pw - w));
}

/* libjpeg reads whole 8x8 blocks: rows padded to 16 luma / 8 chroma samples.
 * A full-range I420 frame whose rows hold the padding is read in place;
 * everything else goes through the strip (JFIF YCbCr is full range: a
 * limited-range frame is expanded there, or black would decode as grey 16
 * and 75% white as 180, not 191). */
static bool _jpeg_direct(const struct cr_frame_s *in)
{
	return in->format == CR_PIXFMT_YUV420 && in->full_range && (in->width & 15) == 0 && (in->height & 15) == 0;
}

static void _jpeg_compress(struct cr_jpeg_enc_s *j, const struct cr_frame_s *in, int quality, size_t *expanded)
{
	bool direct = _jpeg_direct(in);
	int w = in->width, h = in->height, cw = (w + 1) / 2, pw = (w + 15) & ~15, pcw = pw / 2;
	uint8_t *sy = j->strip, *su = sy + (size_t)pw * 16, *sv = su + (size_t)pcw * 8;
	JSAMPROW rows_y[16], rows_u[8], rows_v[8];
	JSAMPARRAY planes[3] = {rows_y, rows_u, rows_v};
	j->c.image_width = (JDIMENSION)w;
	j->c.image_height = (JDIMENSION)h;
	j->c.input_components = 3;
	j->c.in_color_space = JCS_YCbCr;
	jpeg_set_defaults(&j->c); /* 4:2:0 for YCbCr */
	jpeg_set_quality(&j->c, quality, TRUE);
	j->c.raw_data_in = TRUE;
	j->c.dct_method = JDCT_IFAST; /* what TJFLAG_FASTDCT chose */
	jpeg_start_compress(&j->c, TRUE);
	for (int y0 = 0; y0 < h; y0 += 16) {
		int n = h - y0 < 16 ? h - y0 : 16, cn = (n + 1) / 2;
		if (direct) {
			for (int r = 0; r < 16; r++)
				rows_y[r] = in->data[0] + (size_t)(y0 + r) * in->stride[0];
			for (int r = 0; r < 8; r++) {
				rows_u[r] = in->data[1] + (size_t)(y0 / 2 + r) * in->stride[1];
				rows_v[r] = in->data[2] + (size_t)(y0 / 2 + r) * in->stride[2];
			}
		} else {
			_strip_i420(in, y0, n, sy, pw, su, sv, pcw);
			if (!in->full_range) {
				cr_range_plane(sy, pw, sy, pw, w, n, false, true);
				cr_range_plane(su, pcw, su, pcw, cw, cn, true, true);
				cr_range_plane(sv, pcw, sv, pcw, cw, cn, true, true);
			}
			_pad_right(sy, pw, w, pw, n);
			_pad_right(su, pcw, cw, pcw, cn);
			_pad_right(sv, pcw, cw, pcw, cn);
			*expanded += (size_t)w * n + 2 * (size_t)cw * cn;
			/* Rows past the frame's bottom repeat its last row. */
			for (int r = 0; r < 16; r++)
				rows_y[r] = sy + (size_t)(r < n ? r : n - 1) * pw;
			for (int r = 0; r < 8; r++) {
				rows_u[r] = su + (size_t)(r < cn ? r : cn - 1) * pcw;
				rows_v[r] = sv + (size_t)(r < cn ? r : cn - 1) * pcw;
			}
		}
		jpeg_write_raw_data(&j->c, planes, 16);
	}
	jpeg_finish_compress(&j->c);
}

long cr_jpeg_encode(struct cr_jpeg_enc_s *j, const struct cr_frame_s *in, int quality, uint8_t *dst,
		    size_t dst_cap, size_t *expanded)
{
	*expanded = 0;
	if (!cr_jpeg_takes(in->format))
		return -ENOTSUP;
	/* The strip: Y 16 rows, Cb and Cr 8 rows each of half the padded width. */
	size_t need = (size_t)((in->width + 15) & ~15) * 24;
	if (!_jpeg_direct(in) && j->strip_cap < need) {
		free(j->strip);
		j->strip = malloc(need);
		j->strip_cap = j->strip ? need : 0;
		if (!j->strip)
			return -ENOMEM;
	}
	j->overflow = false;
	j->dest.next_output_byte = dst;
	j->dest.free_in_buffer = dst_cap;
	if (setjmp(j->jump)) {
		jpeg_abort_compress(&j->c);
		return j->overflow ? -ENOSPC : -EINVAL;
	}
	_jpeg_compress(j, in, quality, expanded);
	return (long)(dst_cap - j->dest.free_in_buffer);
}

struct cr_converter_s {
	tjhandle dec;
	struct cr_jpeg_enc_s *enc;
	int quality;
	/* I420 scratch frames: the pivot of every conversion. */
	uint8_t *pivot, *scaled, *jpeg_planes;
	size_t pivot_cap, scaled_cap, jpeg_planes_cap;
	char error[160];
};

static uint8_t *_scratch(uint8_t **buf, size_t *cap, size_t need);
static void _i420_view(struct cr_frame_s *v, uint8_t *base, int w, int h);

struct cr_converter_s *cr_converter_new(void)
{
	struct cr_converter_s *c = calloc(1, sizeof(*c));
	if (c)
		c->quality = 80;
	return c;
}

void cr_converter_destroy(struct cr_converter_s *c)
{
	if (!c)
		return;
	if (c->dec)
		tjDestroy(c->dec);
	cr_jpeg_enc_destroy(c->enc);
	free(c->pivot);
	free(c->scaled);
	free(c->jpeg_planes);
	free(c);
}

void cr_converter_set_quality(struct cr_converter_s *c, int quality) { c->quality = quality; }
const char *cr_converter_error(const struct cr_converter_s *c) { return c->error; }

static uint8_t *_scratch(uint8_t **buf, size_t *cap, size_t need)
{
	if (*cap < need) {
		free(*buf);
		*buf = malloc(need);
		*cap = *buf ? need : 0;
	}
	return *buf;
}

/* An I420 view of a scratch buffer. */
static void _i420_view(struct cr_frame_s *v, uint8_t *base, int w, int h)
{
	memset(v, 0, sizeof(*v));
	v->format = CR_PIXFMT_YUV420;
	v->width = w;
	v->height = h;
	cr_frame_set_planes(v, base);
}

static int _mjpeg_to_i420(struct cr_converter_s *c, const struct cr_frame_s *in, struct cr_frame_s *dst)
{
	int w, h, subsamp, cs;
	if (!c->dec && !(c->dec = tjInitDecompress()))
		return -ENOMEM;
	if (tjDecompressHeader3(c->dec, in->data[0], in->size, &w, &h, &subsamp, &cs) != 0) {
		snprintf(c->error, sizeof(c->error), "bad JPEG: %s", tjGetErrorStr2(c->dec));
		return -EINVAL;
	}
	if (w != dst->width || h != dst->height) {
		snprintf(c->error, sizeof(c->error), "JPEG is %dx%d, frame says %dx%d", w, h, dst->width,
			 dst->height);
		return -EINVAL;
	}
	if (subsamp == TJSAMP_420) {
		unsigned char *planes[3] = {dst->data[0], dst->data[1], dst->data[2]};
		int strides[3] = {dst->stride[0], dst->stride[1], dst->stride[2]};
		if (tjDecompressToYUVPlanes(c->dec, in->data[0], in->size, planes, w, strides, h, 0) != 0)
			goto fail;
		return 0;
	}
	/* Other subsamplings: decode to their own planes, then libyuv to I420. */
	int cw = tjPlaneWidth(1, w, subsamp), ch = tjPlaneHeight(1, h, subsamp);
	if (subsamp == TJSAMP_GRAY)
		cw = ch = 0;
	size_t need = (size_t)w * h + 2 * (size_t)cw * ch;
	uint8_t *buf = _scratch(&c->jpeg_planes, &c->jpeg_planes_cap, need);
	if (!buf)
		return -ENOMEM;
	unsigned char *planes[3] = {buf, buf + (size_t)w * h, buf + (size_t)w * h + (size_t)cw * ch};
	int strides[3] = {w, cw, cw};
	if (tjDecompressToYUVPlanes(c->dec, in->data[0], in->size, planes, w, strides, h, 0) != 0)
		goto fail;
	int r;
	switch (subsamp) {
	case TJSAMP_422:
		r = I422ToI420(planes[0], w, planes[1], cw, planes[2], cw, dst->data[0], dst->stride[0],
			       dst->data[1], dst->stride[1], dst->data[2], dst->stride[2], w, h);
		break;
	case TJSAMP_444:
		r = I444ToI420(planes[0], w, planes[1], cw, planes[2], cw, dst->data[0], dst->stride[0],
			       dst->data[1], dst->stride[1], dst->data[2], dst->stride[2], w, h);
		break;
	case TJSAMP_GRAY:
		r = I400ToI420(planes[0], w, dst->data[0], dst->stride[0], dst->data[1], dst->stride[1],
			       dst->data[2], dst->stride[2], w, h);
		break;
	default:
		snprintf(c->error, sizeof(c->error), "JPEG chroma subsampling %d is not supported", subsamp);
		return -ENOTSUP;
	}
	return r == 0 ? 0 : -EINVAL;
fail:
	snprintf(c->error, sizeof(c->error), "JPEG decode failed: %s", tjGetErrorStr2(c->dec));
	return -EINVAL;
}

static int _to_i420(struct cr_converter_s *c, const struct cr_frame_s *in, struct cr_frame_s *d)
{
	const uint8_t *s0 = in->data[0];
	int ss = in->stride[0], w = in->width, h = in->height, r;
	uint8_t *y = d->data[0], *u = d->data[1], *v = d->data[2];
	int ys = d->stride[0], us = d->stride[1], vs = d->stride[2];
	switch (in->format) {
	case CR_PIXFMT_YUYV:
		r = YUY2ToI420(s0, ss, y, ys, u, us, v, vs, w, h);
		break;
	case CR_PIXFMT_YVYU: /* YUYV with U and V swapped: swap the outputs */
		r = YUY2ToI420(s0, ss, y, ys, v, vs, u, us, w, h);
		break;
	case CR_PIXFMT_UYVY:
		r = UYVYToI420(s0, ss, y, ys, u, us, v, vs, w, h);
		break;
	case CR_PIXFMT_NV12:
		r = NV12ToI420(s0, ss, in->data[1], in->stride[1], y, ys, u, us, v, vs, w, h);
		break;
	case CR_PIXFMT_YUV420:
		r = I420Copy(s0, ss, in->data[1], in->stride[1], in->data[2], in->stride[2], y, ys, u, us, v,
			     vs, w, h);
		break;
	case CR_PIXFMT_RGB24: /* R,G,B in memory is libyuv's "RAW" */
		r = RAWToI420(s0, ss, y, ys, u, us, v, vs, w, h);
		break;
	case CR_PIXFMT_BGR24: /* B,G,R in memory is libyuv's "RGB24" */
		r = RGB24ToI420(s0, ss, y, ys, u, us, v, vs, w, h);
		break;
	case CR_PIXFMT_GREY:
		r = I400ToI420(s0, ss, y, ys, u, us, v, vs, w, h);
		break;
	case CR_PIXFMT_MJPEG:
		return _mjpeg_to_i420(c, in, d);
	case CR_PIXFMT_SBGGR8:
	case CR_PIXFMT_SGBRG8:
	case CR_PIXFMT_SGRBG8:
	case CR_PIXFMT_SRGGB8:
		return cr_bayer_to_i420(in, d);
	default:
		snprintf(c->error, sizeof(c->error), "no conversion from %s", cr_pixfmt_name(in->format));
		return -ENOTSUP;
	}
	return r == 0 ? 0 : -EINVAL;
}

static int _to_mjpeg(struct cr_converter_s *c, const struct cr_frame_s *s, struct cr_frame_s *out)
{
	if (!c->enc && !(c->enc = cr_jpeg_enc_new()))
		return -ENOMEM;
	size_t cap = cr_pixfmt_frame_size(CR_PIXFMT_YUV420, s->width, s->height) + 65536, expanded;
	long len = cr_jpeg_encode(c->enc, s, c->quality, out->data[0], cap, &expanded);
	if (len < 0) {
		snprintf(c->error, sizeof(c->error), "JPEG encode failed");
		return (int)len;
	}
	out->size = (size_t)len;
	out->full_range = true;
	return 0;
}

static int _from_i420(struct cr_converter_s *c, const struct cr_frame_s *s, struct cr_frame_s *out)
{
	const uint8_t *y = s->data[0], *u = s->data[1], *v = s->data[2];
	int ys = s->stride[0], us = s->stride[1], vs = s->stride[2], w = s->width, h = s->height, r;
	uint8_t *d0 = out->data[0];
	int ds = out->stride[0];
	switch (out->format) {
	case CR_PIXFMT_YUYV:
		r = I420ToYUY2(y, ys, u, us, v, vs, d0, ds, w, h);
		break;
	case CR_PIXFMT_YVYU:
		r = I420ToYUY2(y, ys, v, vs, u, us, d0, ds, w, h);
		break;
	case CR_PIXFMT_UYVY:
		r = I420ToUYVY(y, ys, u, us, v, vs, d0, ds, w, h);
		break;
	case CR_PIXFMT_NV12:
		r = I420ToNV12(y, ys, u, us, v, vs, d0, ds, out->data[1], out->stride[1], w, h);
		break;
	case CR_PIXFMT_YUV420:
		r = I420Copy(y, ys, u, us, v, vs, d0, ds, out->data[1], out->stride[1], out->data[2],
			     out->stride[2], w, h);
		break;
	/* RGB from full-range YUV: libyuv's JPEG matrix, no range pass. */
	case CR_PIXFMT_RGB24:
		r = s->full_range ? J420ToRAW(y, ys, u, us, v, vs, d0, ds, w, h) :
				    I420ToRAW(y, ys, u, us, v, vs, d0, ds, w, h);
		break;
	case CR_PIXFMT_BGR24:
		r = s->full_range ? J420ToRGB24(y, ys, u, us, v, vs, d0, ds, w, h) :
				    I420ToRGB24(y, ys, u, us, v, vs, d0, ds, w, h);
		break;
	case CR_PIXFMT_GREY: /* full-range luma (cr_frame_full_range) */
		if (s->full_range)
			CopyPlane(y, ys, d0, ds, w, h);
		else
			cr_range_plane(y, ys, d0, ds, w, h, false, true);
		r = 0;
		break;
	case CR_PIXFMT_MJPEG:
		return _to_mjpeg(c, s, out);
	default:
		snprintf(c->error, sizeof(c->error), "no conversion to %s", cr_pixfmt_name(out->format));
		return -ENOTSUP;
	}
	out->full_range = false;
	return r == 0 ? 0 : -EINVAL;
}

int cr_converter_run(struct cr_converter_s *c, const struct cr_frame_s *in, struct cr_frame_s *out)
{
	c->error[0] = 0;
	struct cr_frame_s pivot, scaled;
	const struct cr_frame_s *src = in;
	struct cr_frame_s *mine = NULL; /* src when it is our own scratch (pivot, scaled) */
	int r;
	bool same_size = in->width == out->width && in->height == out->height;
	/* Raw YUV outputs are limited range (what consumers and encoders
	 * assume), JPEGs and GREY full range: a JPEG decoded for a raw consumer is compressed on
	 * the I420 pivot, the smaller side of a scale (a JPEG output is expanded
	 * by cr_jpeg_encode_i420). */
	bool full = cr_frame_full_range(in);
	if (out->format == CR_PIXFMT_YUV420 && same_size) {
		/* Straight into the output, no pivot. */
		if (in->format == CR_PIXFMT_YUV420 && full)
			cr_range_i420(in, out, false); /* the copy is the compression */
		else if ((r = _to_i420(c, in, out)) < 0)
			return r;
		else if (full)
			cr_range_i420(out, out, false);
		out->full_range = false;
		return 0;
	}
	/* Same size into a JPEG: the compressor reads the frame's own layout. */
	if (out->format == CR_PIXFMT_MJPEG && same_size && cr_jpeg_takes(in->format))
		return _to_mjpeg(c, in, out);
	bool compress = full && out->format != CR_PIXFMT_MJPEG && out->format != CR_PIXFMT_RGB24 &&
			out->format != CR_PIXFMT_BGR24 && out->format != CR_PIXFMT_GREY;
	bool shrink = (size_t)out->width * out->height < (size_t)in->width * in->height;
	if (in->format != CR_PIXFMT_YUV420 || (compress && same_size)) {
		uint8_t *buf = _scratch(&c->pivot, &c->pivot_cap,
					cr_pixfmt_frame_size(CR_PIXFMT_YUV420, in->width, in->height));
		if (!buf)
			return -ENOMEM;
		_i420_view(&pivot, buf, in->width, in->height);
		if (in->format != CR_PIXFMT_YUV420) {
			if ((r = _to_i420(c, in, &pivot)) < 0)
				return r;
			pivot.full_range = full;
			if (compress && !shrink)
				cr_range_i420(&pivot, &pivot, false);
		} else { /* a full-range I420 frame, same size: compress into the pivot */
			cr_range_i420(in, &pivot, false);
		}
		src = mine = &pivot;
	}
	if (src->width != out->width || src->height != out->height) {
		uint8_t *buf = _scratch(&c->scaled, &c->scaled_cap,
					cr_pixfmt_frame_size(CR_PIXFMT_YUV420, out->width, out->height));
		if (!buf)
			return -ENOMEM;
		_i420_view(&scaled, buf, out->width, out->height);
		if (I420Scale(src->data[0], src->stride[0], src->data[1], src->stride[1], src->data[2],
			      src->stride[2], src->width, src->height, scaled.data[0], scaled.stride[0],
			      scaled.data[1], scaled.stride[1], scaled.data[2], scaled.stride[2], out->width,
			      out->height, kFilterBilinear) != 0)
			return -EINVAL;
		scaled.full_range = src->full_range;
		src = mine = &scaled;
	}
	if (mine && mine->full_range && compress)
		cr_range_i420(mine, mine, false);
	return _from_i420(c, src, out);
}
