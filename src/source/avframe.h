/* Decoded libavcodec pictures as camrelay frames, shared by the URL and file
 * sources. */
#ifndef CR_SOURCE_AVFRAME_H
#define CR_SOURCE_AVFRAME_H

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "core/frame.h"

/* Wraps an I420 or NV12 picture (yuv420p, yuvj420p, nv12) without copying
 * its planes; the frame owns av from then on (and frees it with its coded
 * packet, if one is attached later). NULL for other formats (av untouched). */
struct cr_frame_s *cr_av_wrap(AVFrame *av);

/* A decoder's pictures in buffers from a camrelay pool (core/pool.h) rather
 * than libavcodec's own pool: camrelay holds pictures (stage queues taking a
 * burst, consumers), and libavcodec's pool grows to the most it ever had out
 * and keeps that until the decoder closes (the soak's RSS grew by one 640x360
 * picture at a time, 400 kB, after bursts), where camrelay's gives back what
 * a burst needed. Call before avcodec_open2 on a decoder whose callbacks run
 * on one thread (slice threads); cr_av_bufs_free(dec->opaque) after
 * avcodec_free_context. -ENOMEM or 0. */
int cr_av_bufs_attach(AVCodecContext *dec);
void cr_av_bufs_free(void *bufs);

/* Whether the picture is full-range YUV (yuvj formats, or color_range JPEG). */
bool cr_av_full_range(const AVFrame *av);

#endif
