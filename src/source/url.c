/* URL sources through libavformat: rtsp:// (over TCP interleaved: it passes
 * NAT and firewalls and loses nothing), rtp:// and udp:// (MPEG-TS or RTP with
 * static payload types), a .sdp file describing an RTP session, http://.
 *
 * Video is decoded with libavcodec into I420/NV12 frames that wrap the
 * decoder's own buffers (no copy). Each decoded frame also carries the access
 * unit it came from (frame->coded), so an encode stage of the same codec
 * passes it on instead of encoding again (see _stage_encode_frame). MJPEG is
 * not decoded here: each JPEG becomes a CR_PIXFMT_MJPEG frame as from a USB
 * camera. A blocking libavformat call is cut off by the interrupt callback
 * after _TIMEOUT_NS without data (the core then reconnects with backoff) or
 * when the core stops the stream. Packet protocols (RTSP, RTP, UDP, an SDP
 * file's sessions) are also cut off after each read's timeout, so that the
 * core can feed placeholders while they are quiet: their demuxers wait
 * between packets. A byte stream (http: an IP camera's multipart MJPEG,
 * MPEG-TS or FLV over HTTP; tcp) is not: cut off inside a part, libavformat's
 * reader loses its place and never finds a whole picture again (an MJPEG
 * camera at 10 fps gave 21 frames and 615 placeholders in 38 s), so a quiet
 * byte stream shows a frozen picture until _TIMEOUT_NS, then reconnects. */
#include <errno.h>
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

struct _url_s {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	int vidx;
	enum cr_codec_e codec;
	int64_t deadline_ns; /* read by the interrupt callback */
	const atomic_bool *running; /* the core's; also read by the interrupt callback */
	bool byte_stream;           /* not cut off between packets (see the top) */
	int64_t last_data_ns;
	uint8_t *config; /* Annex B parameter sets from the SDP/extradata */
	size_t config_size;
	/* Access units fed to the decoder and not yet matched to a picture, in
	 * decode order; each picture that comes out takes the oldest. */
	struct cr_packet_s *pending[_PENDING_MAX];
	int n_pending;
};

static int _interrupt(void *opaque)
{
	const struct _url_s *u = opaque;
	return cr_now_ns() > u->deadline_ns || (u->running && !atomic_load(u->running));
}

/* Whether the URL is read as a byte stream (see the top): anything but
 * RTSP, RTP, UDP and a local SDP file. */
static bool _byte_stream(const char *url)
{
	static const char *const packets[] = {"rtsp://", "rtsps://", "rtp://", "udp://", "srtp://"};
	if (!strstr(url, "://"))
		return false; /* a local .sdp file: its sessions are RTP */
	for (size_t i = 0; i < sizeof(packets) / sizeof(packets[0]); i++)
		if (strncmp(url, packets[i], strlen(packets[i])) == 0)
			return false;
	return true;
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

static int _url_open(struct cr_source_s *src)
{
	struct _url_s *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	src->priv = u;
	u->vidx = -1;
	u->running = src->running;
	u->byte_stream = _byte_stream(src->url);
	/* Shown in messages and /api/streams: without user:password@. */
	cr_url_shown(src->url, src->device_path, sizeof(src->device_path));
	/* Our own messages say what failed; libav's per-slice complaints about a
	 * stream joined mid-GOP would only flood the log. */
	if (av_log_get_level() == AV_LOG_INFO)
		av_log_set_level(AV_LOG_FATAL);
	u->fmt = avformat_alloc_context();
	u->pkt = av_packet_alloc();
	if (!u->fmt || !u->pkt) {
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
	u->last_data_ns = cr_now_ns();
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
	AVRational tb = u->fmt->streams[u->vidx]->time_base;
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
	/* Cut off after timeout_ms so the core can feed placeholders and stop;
	 * the demuxers check the callback while they wait for a packet, not
	 * inside one (RTSP's interleaved TCP framing stays intact). */
	int64_t wait = (int64_t)(timeout_ms > 100 ? timeout_ms : 100) * 1000000LL;
	u->deadline_ns = !u->byte_stream && now + wait < u->last_data_ns + _TIMEOUT_NS ? now + wait
											 : u->last_data_ns + _TIMEOUT_NS;
	int r = av_read_frame(u->fmt, u->pkt);
	if (r == AVERROR_EXIT && cr_now_ns() < u->last_data_ns + _TIMEOUT_NS)
		return 0;
	if (r < 0)
		return _fail(src, r, "reading");
	now = cr_now_ns();
	u->last_data_ns = now;
	if (u->pkt->stream_index != u->vidx || u->pkt->size <= 0) {
		av_packet_unref(u->pkt);
		return 0;
	}
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
	r = avcodec_send_packet(u->dec, u->pkt);
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
	while (u->n_pending)
		cr_packet_unref(_pending_pop(u));
	avcodec_free_context(&u->dec);
	avformat_close_input(&u->fmt);
	avformat_free_context(u->fmt);
	av_packet_free(&u->pkt);
	free(u->config);
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
