/* Decoded libavcodec pictures as camrelay frames (see avframe.h). */
#include "source/avframe.h"

#include <stdlib.h>

#include <libavutil/pixfmt.h>

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
