#include "convert/convert.h"
#include "convert/bayer.h"
#include "convert/range.h"

#include <errno.h>
#include <stdbool.h>
#include <libyuv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

struct cr_jpeg_enc_s {
	tjhandle tj;
	uint8_t *full; /* a limited-range frame expanded to full range */
	size_t full_cap;
};

struct cr_converter_s {
	tjhandle dec;
	struct cr_jpeg_enc_s *enc;
	int quality;
	/* I420 scratch frames: the pivot of every conversion. */
	uint8_t *pivot, *scaled, *jpeg_planes;
	size_t pivot_cap, scaled_cap, jpeg_planes_cap;
	char error[160];
};

struct cr_jpeg_enc_s *cr_jpeg_enc_new(void)
{
	struct cr_jpeg_enc_s *j = calloc(1, sizeof(*j));
	if (j && !(j->tj = tjInitCompress())) {
		free(j);
		j = NULL;
	}
	return j;
}

void cr_jpeg_enc_destroy(struct cr_jpeg_enc_s *j)
{
	if (j) {
		tjDestroy(j->tj);
		free(j->full);
		free(j);
	}
}

static uint8_t *_scratch(uint8_t **buf, size_t *cap, size_t need);
static void _i420_view(struct cr_frame_s *v, uint8_t *base, int w, int h);

long cr_jpeg_encode_i420(struct cr_jpeg_enc_s *j, const struct cr_frame_s *in, int quality,
			 uint8_t *dst, size_t dst_cap, size_t *expanded)
{
	/* JFIF YCbCr is full range: a limited-range frame is expanded first,
	 * or black would decode as grey 16 and 75% white as 180, not 191. */
	struct cr_frame_s full;
	*expanded = 0;
	if (!in->full_range) {
		size_t need = cr_pixfmt_frame_size(CR_PIXFMT_YUV420, in->width, in->height);
		uint8_t *buf = _scratch(&j->full, &j->full_cap, need);
		if (!buf)
			return -ENOMEM;
		_i420_view(&full, buf, in->width, in->height);
		cr_range_i420(in, &full, true);
		*expanded = need;
		in = &full;
	}
	const unsigned char *planes[3] = {in->data[0], in->data[1], in->data[2]};
	int strides[3] = {in->stride[0], in->stride[1], in->stride[2]};
	unsigned long len = dst_cap;
	unsigned char *out = dst;
	/* TJFLAG_NOREALLOC: write into the caller's buffer, never allocate. */
	if (tjCompressFromYUVPlanes(j->tj, planes, in->width, strides, in->height, TJSAMP_420, &out, &len,
				    quality, TJFLAG_NOREALLOC | TJFLAG_FASTDCT) != 0)
		return -ENOSPC;
	return (long)len;
}

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
	case CR_PIXFMT_MJPEG: {
		if (!c->enc && !(c->enc = cr_jpeg_enc_new()))
			return -ENOMEM;
		size_t cap = cr_pixfmt_frame_size(CR_PIXFMT_YUV420, w, h) + 65536, expanded;
		long len = cr_jpeg_encode_i420(c->enc, s, c->quality, d0, cap, &expanded);
		if (len < 0) {
			snprintf(c->error, sizeof(c->error), "JPEG encode failed");
			return (int)len;
		}
		out->size = (size_t)len;
		out->full_range = true;
		return 0;
	}
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
