/* URL sources through libavformat: rtsp:// (over TCP interleaved: it passes
 * NAT and firewalls and loses nothing), rtp:// and udp:// (MPEG-TS or RTP with
 * static payload types), a .sdp file describing an RTP session, http://.
 *
 * Video is decoded with libavcodec into I420/NV12 frames that wrap the
 * decoder's own buffers (no copy). Each decoded frame also carries the access
 * unit it came from (frame->coded), so an encode stage of the same codec
 * passes it on instead of encoding again (see _stage_encode_frame). MJPEG is
 * not decoded here: each JPEG becomes a CR_PIXFMT_MJPEG frame as from a USB
 * camera.
 *
 * libavformat is read by a thread of the source's own (_reader): a
 * libavformat call must never be cut off for being slow, only for having had
 * no packet for _TIMEOUT_NS (the core then reconnects with backoff) or when
 * the core stops the stream. A cut-off read loses the demuxer's place
 * wherever it was waiting, and that is inside a packet as often as between
 * packets: RTSP's interleaved TCP framing ($, channel, length) when a Wi-Fi
 * camera pauses mid-packet (300 ms pauses cut off at 100 ms: 7 source
 * failures and 162 placeholders among 252 frames in 40 s), a multipart
 * MJPEG part over HTTP (21 frames and 615 placeholders in 38 s). So the
 * reader hands whole packets to read() through a small queue, read() waits
 * on it for at most its timeout and returns without a frame when nothing
 * came: the core feeds placeholders while a camera is quiet, of any
 * protocol, and the camera's pictures come back on the same connection.
 * Decoding stays in read() (the capture thread). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libyuv.h>

#include "core/clock.h"
#include "core/hostport.h"
#include "core/module.h"
#include "source/avframe.h"
#include "source/source.h"

#define _TIMEOUT_NS 5000000000LL
#define _PENDING_MAX 8
/* Packets read and not yet taken by read(). Small: read() takes one per call
 * and the capture thread calls it again at once, so the queue only covers a
 * decode or dispatch that took longer than a frame; once full, the reader
 * waits and the sender's data waits in the socket as it did without the
 * thread (TCP's flow control, libavformat's UDP buffer), instead of piling up
 * here as latency: 4 packets are 133 ms at 30 fps. */
#define _QUEUE_MAX 4

struct _url_s {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	int vidx;
	enum cr_codec_e codec;
	AVRational tb;     /* the video stream's time base */
	int64_t deadline_ns; /* set and read by the thread inside libavformat (open, then the reader) */
	const atomic_bool *running; /* the core's; also read by the interrupt callback */
	atomic_bool stop;           /* close(): the reader ends */
	/* The reader and its queue (see the top); all under lock but the thread. */
	pthread_t reader;
	bool reader_started;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a packet queued or taken, the reader done, stop */
	AVPacket *rpkt;      /* the reader's own */
	AVPacket *q[_QUEUE_MAX];
	int64_t q_ns[_QUEUE_MAX]; /* when each packet arrived */
	int q_head, q_n;
	bool done;    /* the reader ended: read_err says why, after the queued packets */
	int read_err;
	uint8_t *config; /* Annex B parameter sets from the SDP/extradata */
	size_t config_size;
	/* Access units fed to the decoder and not yet matched to a picture, in
	 * decode order; each picture that comes out takes the oldest. */
	struct cr_packet_s *pending[_PENDING_MAX];
	int n_pending;
};

static int _interrupt(void *opaque)
{
	struct _url_s *u = opaque;
	return cr_now_ns() > u->deadline_ns || atomic_load(&u->stop) || (u->running && !atomic_load(u->running));
}

static enum cr_codec_e _codec_from_av(enum AVCodecID id)
{
	switch (id) {
	case AV_CODEC_ID_H264: return CR_CODEC_H264;
	case AV_CODEC_ID_HEVC: return CR_CODEC_H265;
	case AV_CODEC_ID_VP8: return CR_CODEC_VP8;
	case AV_CODEC_ID_VP9: return CR_CODEC_VP9;
	case AV_CODEC_ID_AV1: return CR_CODEC_AV1;
	case AV_CODEC_ID_MJPEG: return CR_CODEC_MJPEG;
	default: return CR_CODEC_NONE;
	}
}

/* libavformat's error in words, and a -errno the core can report. */
static int _fail(struct cr_source_s *src, int averr, const char *what)
{
	char buf[128];
	if (averr == AVERROR_EXIT) {
		snprintf(src->error, sizeof(src->error), "%s: no data for %lld s while %s (is the sender running?)",
			 src->device_path, _TIMEOUT_NS / 1000000000LL, what);
		return -ETIMEDOUT;
	}
	if (averr == AVERROR_EOF) {
		snprintf(src->error, sizeof(src->error), "%s: the stream ended", src->device_path);
		return -EPIPE;
	}
	av_strerror(averr, buf, sizeof(buf));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	snprintf(src->error, sizeof(src->error), "%s: %s (while %s)", src->device_path, buf, what);
	return averr < 0 && averr > -4096 ? averr : -EIO;
}

/* Whether an Annex B access unit holds a sequence parameter set. */
static bool _has_sps(enum cr_codec_e codec, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++) {
		if (p[i] || p[i + 1] || p[i + 2] != 1)
			continue;
		int t = codec == CR_CODEC_H264 ? (p[i + 3] & 0x1f) : ((p[i + 3] >> 1) & 0x3f);
		if ((codec == CR_CODEC_H264 && t == 7) || (codec == CR_CODEC_H265 && t == 33))
			return true;
	}
	return false;
}

/* The reader (see the top): whole video packets into the queue until an
 * error, the end of the stream, _TIMEOUT_NS without a packet (AVERROR_EXIT)
 * or stop. */
static void *_reader(void *arg)
{
	struct _url_s *u = arg;
	for (;;) {
		u->deadline_ns = cr_now_ns() + _TIMEOUT_NS;
		int r = av_read_frame(u->fmt, u->rpkt);
		int64_t now = cr_now_ns();
		if (r >= 0 && (u->rpkt->stream_index != u->vidx || u->rpkt->size <= 0)) {
			av_packet_unref(u->rpkt);
			continue;
		}
		pthread_mutex_lock(&u->lock);
		while (r >= 0 && u->q_n == _QUEUE_MAX && !atomic_load(&u->stop))
			pthread_cond_wait(&u->cond, &u->lock);
		if (r < 0 || atomic_load(&u->stop)) {
			u->read_err = r < 0 ? r : AVERROR_EXIT;
			u->done = true;
			pthread_cond_broadcast(&u->cond);
			pthread_mutex_unlock(&u->lock);
			av_packet_unref(u->rpkt);
			return NULL;
		}
		int slot = (u->q_head + u->q_n) % _QUEUE_MAX;
		av_packet_move_ref(u->q[slot], u->rpkt);
		u->q_ns[slot] = now;
		u->q_n++;
		pthread_cond_broadcast(&u->cond);
		pthread_mutex_unlock(&u->lock);
	}
}

static int _url_open(struct cr_source_s *src)
{
	struct _url_s *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	src->priv = u;
	u->vidx = -1;
	u->running = src->running;
	atomic_init(&u->stop, false);
	pthread_mutex_init(&u->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* read()'s deadline */
	pthread_cond_init(&u->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Shown in messages and /api/streams: without user:password@. */
	cr_url_shown(src->url, src->device_path, sizeof(src->device_path));
	/* Our own messages say what failed; libav's per-slice complaints about a
	 * stream joined mid-GOP would only flood the log. */
	if (av_log_get_level() == AV_LOG_INFO)
		av_log_set_level(AV_LOG_FATAL);
	u->fmt = avformat_alloc_context();
	u->pkt = av_packet_alloc();
	u->rpkt = av_packet_alloc();
	bool queue = true;
	for (int i = 0; i < _QUEUE_MAX; i++)
		queue = (u->q[i] = av_packet_alloc()) && queue;
	if (!u->fmt || !u->pkt || !u->rpkt || !queue) {
		snprintf(src->error, sizeof(src->error), "out of memory");
		src->ops->close(src);
		return -ENOMEM;
	}
	u->fmt->interrupt_callback.callback = _interrupt;
	u->fmt->interrupt_callback.opaque = u;
	AVDictionary *opts = NULL;
	if (strncmp(src->url, "rtsp://", 7) == 0 || strncmp(src->url, "rtsps://", 8) == 0)
		av_dict_set(&opts, "rtsp_transport", "tcp", 0);
	/* An SDP file names rtp/udp streams; libavformat only follows them when allowed. */
	av_dict_set(&opts, "protocol_whitelist", "file,udp,rtp,tcp,tls,rtsp,rtsps,http,https,crypto,data", 0);
	av_dict_set(&opts, "fflags", "nobuffer", 0);
	av_dict_set(&opts, "reorder_queue_size", "64", 0);
	u->deadline_ns = cr_now_ns() + _TIMEOUT_NS;
	int r = avformat_open_input(&u->fmt, src->url, NULL, &opts);
	av_dict_free(&opts);
	if (r < 0) {
		u->fmt = NULL; /* freed by avformat_open_input */
		r = _fail(src, r, "connecting");
		src->ops->close(src);
		return r;
	}
	u->fmt->probesize = 1 << 20;
	u->fmt->max_analyze_duration = 2 * AV_TIME_BASE;
	u->deadline_ns = cr_now_ns() + _TIMEOUT_NS;
	if ((r = avformat_find_stream_info(u->fmt, NULL)) < 0) {
		r = _fail(src, r, "reading the stream's parameters");
		src->ops->close(src);
		return r;
	}
	u->vidx = av_find_best_stream(u->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (u->vidx < 0) {
		snprintf(src->error, sizeof(src->error), "%s: the stream has no video", src->device_path);
		src->ops->close(src);
		return -ENOENT;
	}
	for (unsigned i = 0; i < u->fmt->nb_streams; i++)
		u->fmt->streams[i]->discard = (int)i == u->vidx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
	AVStream *st = u->fmt->streams[u->vidx];
	const AVCodecParameters *par = st->codecpar;
	u->tb = st->time_base;
	u->codec = _codec_from_av(par->codec_id);
	if (u->codec == CR_CODEC_NONE) {
		snprintf(src->error, sizeof(src->error),
			 "%s: video codec %s is not supported (camrelay takes H.264, H.265, VP8, VP9, AV1, MJPEG)",
			 src->device_path, avcodec_get_name(par->codec_id));
		src->ops->close(src);
		return -ENOTSUP;
	}
	if (par->width <= 0 || par->height <= 0) { /* an SDP alone: nothing came */
		snprintf(src->error, sizeof(src->error), "%s: no video arrived within %lld s (is the sender running?)",
			 src->device_path, _TIMEOUT_NS / 1000000000LL);
		src->ops->close(src);
		return -ETIMEDOUT;
	}
	src->width = par->width;
	src->height = par->height;
	AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
	src->fps_num = fr.num > 0 && fr.den > 0 && fr.num / fr.den <= 240 ? fr.num : 0;
	src->fps_den = src->fps_num ? fr.den : 0;
	if (u->codec == CR_CODEC_MJPEG) {
		src->format = CR_PIXFMT_MJPEG;
	} else {
		src->format = CR_PIXFMT_YUV420;
		const AVCodec *c = avcodec_find_decoder(par->codec_id);
		u->dec = c ? avcodec_alloc_context3(c) : NULL;
		if (!u->dec || avcodec_parameters_to_context(u->dec, par) < 0) {
			snprintf(src->error, sizeof(src->error), "%s: no %s decoder in this libavcodec", src->device_path,
				 avcodec_get_name(par->codec_id));
			src->ops->close(src);
			return -ENOTSUP;
		}
		/* Slice threads only: frame threads would delay every picture. */
		u->dec->thread_type = FF_THREAD_SLICE;
		u->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
		/* pictures in memory that goes back after a burst (avframe.h) */
		if (cr_av_bufs_attach(u->dec) < 0) {
			snprintf(src->error, sizeof(src->error), "out of memory");
			src->ops->close(src);
			return -ENOMEM;
		}
		if ((r = avcodec_open2(u->dec, c, NULL)) < 0) {
			r = _fail(src, r, "opening the decoder");
			src->ops->close(src);
			return r;
		}
		if (par->extradata_size > 4 && (u->codec == CR_CODEC_H264 || u->codec == CR_CODEC_H265) &&
		    par->extradata[0] == 0 && (u->config = malloc((size_t)par->extradata_size))) {
			memcpy(u->config, par->extradata, (size_t)par->extradata_size);
			u->config_size = (size_t)par->extradata_size;
		}
	}
	if ((r = pthread_create(&u->reader, NULL, _reader, u)) != 0) {
		snprintf(src->error, sizeof(src->error), "%s: no reader thread: %s", src->device_path, strerror(r));
		src->ops->close(src);
		return -r;
	}
	u->reader_started = true;
	return 0;
}

/* The access unit as a packet for pass-through; keyframes get the parameter
 * sets in front when the sender only gave them out of band (SDP). */
static struct cr_packet_s *_coded_packet(struct cr_source_s *src, struct _url_s *u, const AVPacket *pkt,
					 int64_t now)
{
	bool key = pkt->flags & AV_PKT_FLAG_KEY;
	size_t pre = key && u->config && !_has_sps(u->codec, pkt->data, (size_t)pkt->size) ? u->config_size : 0;
	struct cr_packet_s *p = cr_packet_new(u->codec, pre + (size_t)pkt->size);
	if (!p)
		return NULL;
	if (pre)
		memcpy(p->data, u->config, pre);
	memcpy(p->data + pre, pkt->data, (size_t)pkt->size);
	atomic_fetch_add(&src->stats->bytes_copied, p->size);
	AVRational tb = u->tb;
	int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
	p->pts = pts != AV_NOPTS_VALUE ? av_rescale_q(pts, tb, (AVRational){1, 90000}) : now * 9 / 100000;
	p->dts = pkt->dts != AV_NOPTS_VALUE ? av_rescale_q(pkt->dts, tb, (AVRational){1, 90000}) : p->pts;
	p->flags = key ? CR_PACKET_KEYFRAME | (pre || _has_sps(u->codec, pkt->data, (size_t)pkt->size) ?
						       CR_PACKET_CONFIG : 0) : 0;
	p->ts_capture_ns = now;
	return p;
}

static void _heap_coded_release(struct cr_frame_s *f)
{
	cr_packet_unref(f->coded);
	cr_frame_free(f); /* made by cr_frame_new */
}

/* 4:2:2 and 4:4:4 pictures (x264 from RGB input, some cameras): one copy to
 * I420 with libyuv, counted. NULL for anything else. */
static struct cr_frame_s *_to_i420(struct cr_source_s *src, AVFrame *av)
{
	bool i422 = av->format == AV_PIX_FMT_YUV422P || av->format == AV_PIX_FMT_YUVJ422P;
	bool i444 = av->format == AV_PIX_FMT_YUV444P || av->format == AV_PIX_FMT_YUVJ444P;
	if (!i422 && !i444)
		return NULL;
	struct cr_frame_s *f = cr_frame_new(CR_PIXFMT_YUV420, av->width, av->height, 0);
	if (!f)
		return NULL;
	int r = (i422 ? I422ToI420 : I444ToI420)(av->data[0], av->linesize[0], av->data[1], av->linesize[1],
						  av->data[2], av->linesize[2], f->data[0], f->stride[0],
						  f->data[1], f->stride[1], f->data[2], f->stride[2], av->width,
						  av->height);
	if (r != 0) {
		cr_frame_unref(f);
		return NULL;
	}
	f->release = _heap_coded_release;
	f->full_range = cr_av_full_range(av);
	atomic_fetch_add(&src->stats->bytes_copied, f->size);
	av_frame_free(&av);
	return f;
}

static void _pending_push(struct _url_s *u, struct cr_packet_s *p)
{
	if (u->n_pending == _PENDING_MAX) { /* the decoder ate pictures without output */
		cr_packet_unref(u->pending[0]);
		memmove(u->pending, u->pending + 1, sizeof(u->pending[0]) * (_PENDING_MAX - 1));
		u->n_pending--;
	}
	u->pending[u->n_pending++] = p;
}

static struct cr_packet_s *_pending_pop(struct _url_s *u)
{
	if (u->n_pending == 0)
		return NULL;
	struct cr_packet_s *p = u->pending[0];
	memmove(u->pending, u->pending + 1, sizeof(u->pending[0]) * (size_t)(u->n_pending - 1));
	u->n_pending--;
	return p;
}

/* One picture out of the decoder, if it has one. 1 when the size changed. */
static int _receive(struct cr_source_s *src, struct _url_s *u, struct cr_frame_s **out, int64_t now)
{
	AVFrame *av = av_frame_alloc();
	if (!av)
		return -ENOMEM;
	int r = avcodec_receive_frame(u->dec, av);
	if (r < 0) {
		av_frame_free(&av);
		return r == AVERROR(EAGAIN) ? 0 : _fail(src, r, "decoding");
	}
	struct cr_frame_s *f = cr_av_wrap(av);
	if (!f)
		f = _to_i420(src, av);
	if (!f) {
		snprintf(src->error, sizeof(src->error), "%s: decoded pictures are %s, camrelay takes yuv420p, nv12, yuv422p, yuv444p",
			 src->device_path, av_get_pix_fmt_name(av->format));
		av_frame_free(&av);
		return -ENOTSUP;
	}
	f->coded = _pending_pop(u);
	if (f->coded) { /* a consumer passed the access unit gets the picture's size in its caps */
		f->coded->width = f->width;
		f->coded->height = f->height;
	}
	f->ts_capture_ns = now;
	int changed = f->width != src->width || f->height != src->height || f->format != src->format;
	src->width = f->width;
	src->height = f->height;
	src->format = f->format;
	*out = f;
	return changed;
}

static int _url_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	struct _url_s *u = src->priv;
	*out = NULL;
	int64_t now = cr_now_ns();
	if (u->dec) { /* a picture still inside the decoder first */
		int r = _receive(src, u, out, now);
		if (r != 0 || *out)
			return r;
	}
	/* The next packet from the reader, waiting at most timeout_ms: with none,
	 * back without a frame, so the core can feed placeholders and stop. */
	struct timespec until = cr_timespec_ns(now + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000LL);
	pthread_mutex_lock(&u->lock);
	while (!u->q_n && !u->done && pthread_cond_timedwait(&u->cond, &u->lock, &until) == 0) {
	}
	if (!u->q_n) {
		int err = u->done ? u->read_err : 0;
		pthread_mutex_unlock(&u->lock);
		if (err == AVERROR_EXIT && u->running && !atomic_load(u->running))
			return 0; /* the core stops */
		return err ? _fail(src, err, "reading") : 0;
	}
	av_packet_move_ref(u->pkt, u->q[u->q_head]);
	now = u->q_ns[u->q_head];
	u->q_head = (u->q_head + 1) % _QUEUE_MAX;
	u->q_n--;
	pthread_cond_broadcast(&u->cond); /* room for the reader */
	pthread_mutex_unlock(&u->lock);
	if (u->codec == CR_CODEC_MJPEG) {
		struct cr_frame_s *f = cr_frame_new(CR_PIXFMT_MJPEG, src->width, src->height, (size_t)u->pkt->size);
		if (!f) {
			av_packet_unref(u->pkt);
			return -ENOMEM;
		}
		memcpy(f->data[0], u->pkt->data, (size_t)u->pkt->size);
		f->size = (size_t)u->pkt->size;
		f->ts_capture_ns = now;
		atomic_fetch_add(&src->stats->bytes_copied, f->size);
		av_packet_unref(u->pkt);
		*out = f;
		return 0;
	}
	struct cr_packet_s *coded = _coded_packet(src, u, u->pkt, now);
	int r = avcodec_send_packet(u->dec, u->pkt);
	av_packet_unref(u->pkt);
	if (r < 0 && r != AVERROR(EAGAIN) && r != AVERROR_INVALIDDATA) {
		cr_packet_unref(coded);
		return _fail(src, r, "decoding");
	}
	if (coded)
		_pending_push(u, coded);
	return _receive(src, u, out, now);
}

static void _url_close(struct cr_source_s *src)
{
	struct _url_s *u = src->priv;
	if (!u)
		return;
	if (u->reader_started) {
		atomic_store(&u->stop, true); /* the interrupt callback ends its libavformat call */
		pthread_mutex_lock(&u->lock);
		pthread_cond_broadcast(&u->cond);
		pthread_mutex_unlock(&u->lock);
		pthread_join(u->reader, NULL);
		/* Closing may still say goodbye (RTSP TEARDOWN), briefly. */
		atomic_store(&u->stop, false);
		u->deadline_ns = cr_now_ns() + 500000000LL;
	}
	for (int i = 0; i < _QUEUE_MAX; i++)
		av_packet_free(&u->q[i]);
	av_packet_free(&u->rpkt);
	while (u->n_pending)
		cr_packet_unref(_pending_pop(u));
	void *bufs = u->dec ? u->dec->opaque : NULL;
	avcodec_free_context(&u->dec);
	cr_av_bufs_free(bufs);
	avformat_close_input(&u->fmt);
	avformat_free_context(u->fmt);
	av_packet_free(&u->pkt);
	free(u->config);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
	src->priv = NULL;
}

/* Loaded by its entry in the core (url_module.c), which holds its caps. */
CR_MODULE_EXPORT const struct cr_source_ops_s cr_source_url = {
	.name = "url",
	.source_key = "url",
	.open = _url_open,
	.read = _url_read,
	.close = _url_close,
};
