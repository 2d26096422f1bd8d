/* Decoded libavcodec pictures as camrelay frames (see avframe.h). */
#include "source/avframe.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <libavutil/imgutils.h>
#include <libavutil/pixfmt.h>

#include "core/pool.h"

static void _av_frame_release(struct cr_frame_s *f)
{
	AVFrame *av = f->owner;
	av_frame_free(&av);
	cr_packet_unref(f->coded);
	free(f);
}

/* Full-range pictures (yuvj formats, or a stream that says so, e.g. H.264
 * from a JPEG-ish source) are flagged: raw consumers get them compressed to
 * limited range by the stream's converter. */
bool cr_av_full_range(const AVFrame *av)
{
	return av->color_range == AVCOL_RANGE_JPEG || av->format == AV_PIX_FMT_YUVJ420P ||
	       av->format == AV_PIX_FMT_YUVJ422P || av->format == AV_PIX_FMT_YUVJ444P;
}

struct cr_frame_s *cr_av_wrap(AVFrame *av)
{
	enum cr_pixfmt_e fmt = av->format == AV_PIX_FMT_YUV420P || av->format == AV_PIX_FMT_YUVJ420P ?
				       CR_PIXFMT_YUV420 :
			       av->format == AV_PIX_FMT_NV12 ? CR_PIXFMT_NV12 : CR_PIXFMT_NONE;
	if (fmt == CR_PIXFMT_NONE)
		return NULL;
	struct cr_frame_s *f = cr_frame_wrap(fmt, av->width, av->height, av, _av_frame_release);
	if (!f)
		return NULL;
	f->n_planes = fmt == CR_PIXFMT_NV12 ? 2 : 3;
	for (int i = 0; i < f->n_planes; i++) {
		f->data[i] = av->data[i];
		f->stride[i] = av->linesize[i];
		f->size += (size_t)av->linesize[i] * (size_t)(i ? (av->height + 1) / 2 : av->height);
	}
	f->full_range = cr_av_full_range(av);
	return f;
}

/* What libavcodec's own get_buffer2 gives a plane beyond its size (its
 * decoders may read or write that far), and the start of each plane
 * rounded up to 64 bytes. */
#define _PLANE_PAD (16 + 64 - 1)
#define _PLANE_ALIGN 64

struct _av_bufs_s {
	struct cr_pool_s *pool; /* of buffers of `size` bytes (one per picture, every plane in it) */
	size_t size;
};

static void _av_buf_free(void *opaque, uint8_t *data)
{
	(void)data;
	cr_frame_unref(opaque);
}

/* The layout is libavcodec's own (avcodec_default_get_buffer2): dimensions
 * aligned as the decoder asks, the width grown until every line size is a
 * multiple of its plane's alignment, each plane padded; only the memory
 * comes from the pool. */
static int _av_get_buffer2(AVCodecContext *c, AVFrame *av, int flags)
{
	struct _av_bufs_s *b = c->opaque;
	if (!b || !(c->codec->capabilities & AV_CODEC_CAP_DR1))
		return avcodec_default_get_buffer2(c, av, flags);
	int w = av->width, h = av->height, align[AV_NUM_DATA_POINTERS], linesize[4];
	avcodec_align_dimensions2(c, &w, &h, align);
	for (int unaligned = 1; unaligned;) {
		if (av_image_fill_linesizes(linesize, av->format, w) < 0)
			return avcodec_default_get_buffer2(c, av, flags);
		unaligned = 0;
		for (int i = 0; i < 4; i++)
			unaligned |= align[i] > 0 ? linesize[i] % align[i] : 0;
		w += w & ~(w - 1);
	}
	ptrdiff_t ls[4] = {linesize[0], linesize[1], linesize[2], linesize[3]};
	size_t sizes[4], total = 0;
	if (av_image_fill_plane_sizes(sizes, av->format, h, ls) < 0)
		return avcodec_default_get_buffer2(c, av, flags);
	for (int i = 0; i < 4; i++)
		total += sizes[i] ? sizes[i] + _PLANE_ALIGN - 1 + _PLANE_PAD : 0;
	if (total != b->size || !b->pool) { /* the first picture, or a new size */
		if (b->pool)
			cr_pool_destroy(b->pool); /* buffers still out are freed as they come back */
		b->size = 0;
		if (!(b->pool = cr_pool_new(CR_PIXFMT_MJPEG, 0, 0, total))) /* MJPEG: opaque bytes */
			return AVERROR(ENOMEM);
		b->size = total;
	}
	struct cr_frame_s *mem = cr_pool_get(b->pool);
	if (!mem)
		return AVERROR(ENOMEM);
	av->buf[0] = av_buffer_create(mem->data[0], total, _av_buf_free, mem, 0);
	if (!av->buf[0]) {
		cr_frame_unref(mem);
		return AVERROR(ENOMEM);
	}
	uint8_t *p = mem->data[0];
	for (int i = 0; i < 4 && sizes[i]; i++) {
		p = (uint8_t *)(((uintptr_t)p + _PLANE_ALIGN - 1) & ~(uintptr_t)(_PLANE_ALIGN - 1));
		av->data[i] = p;
		av->linesize[i] = linesize[i];
		p += sizes[i] + _PLANE_PAD;
	}
	av->extended_data = av->data;
	return 0;
}

int cr_av_bufs_attach(AVCodecContext *dec)
{
	struct _av_bufs_s *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	dec->opaque = b;
	dec->get_buffer2 = _av_get_buffer2;
	return 0;
}

void cr_av_bufs_free(void *bufs)
{
	struct _av_bufs_s *b = bufs;
	if (!b)
		return;
	if (b->pool)
		cr_pool_destroy(b->pool);
	free(b);
}
