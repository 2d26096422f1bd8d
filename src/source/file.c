/* Video files as a source (a source's file = "/path/clip.mkv"): any container
 * libavformat reads and any codec libavcodec decodes (B-frames, variable
 * frame rate, odd sizes), paced by the file's own timestamps, started again
 * at the end unless loop = false. Audio and every other stream are ignored.
 *
 * Pacing: each picture is due at the wall time of the pass's first picture
 * plus its timestamp's distance from that picture's, so VFR sections keep
 * their timing; a new pass starts one frame duration after the last picture
 * of the previous one (no gap at the loop). Falling more than _BEHIND_NS
 * behind (a slow machine) moves the clock instead of bursting (counted in
 * the stream's clock_moves). Each frame is stamped with its due time.
 *
 * I420/NV12 pictures are handed on without a copy (source/avframe.c); other
 * pixel formats (10-bit, 4:2:2, RGB, palettes) are converted to I420 with
 * libswscale, counted in bytes_copied. A damaged or truncated file plays up
 * to the damage and then loops; a file with no picture at all is an error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/module.h"
#include "source/avframe.h"
#include "source/source.h"

#define _BEHIND_NS 500000000LL
#define _DEFAULT_DUR_NS 40000000LL /* 25 fps when the file says nothing */

struct _file_s {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *next; /* decoded, waiting for its time (when have_next) */
	bool have_next;
	int64_t next_due_ns;
	struct SwsContext *sws;
	int vidx;
	AVRational tb;
	bool draining; /* the demuxer is at its end: the decoder gives what it holds */
	bool ended;    /* loop = false and nothing is left */
	bool damaged;  /* said once per open */
	int64_t pass_start_ns; /* wall time of the pass's first picture, 0 = not started */
	int64_t pass_pts;      /* its timestamp (time base units), AV_NOPTS_VALUE = none yet */
	int64_t last_rel_ns, last_dur_ns; /* the latest picture, relative to the pass start */
	int pass_frames;
};

static int _fail(struct cr_source_s *src, int averr, const char *what)
{
	char buf[128];
	av_strerror(averr, buf, sizeof(buf));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	cr_msgf(src->error, sizeof(src->error), "file %s: %s (while %s)%s", src->cfg->device, buf, what,
		averr == AVERROR_INVALIDDATA ? "; is it a complete video file?" : "");
	return averr < 0 && averr > -4096 ? averr : -EIO;
}

static void _file_close(struct cr_source_s *src)
{
	struct _file_s *u = src->priv;
	if (!u)
		return;
	av_frame_free(&u->next);
	avcodec_free_context(&u->dec);
	avformat_close_input(&u->fmt);
	av_packet_free(&u->pkt);
	sws_freeContext(u->sws);
	free(u);
	src->priv = NULL;
}

static int _open_decoder(struct cr_source_s *src, struct _file_s *u)
{
	const AVCodecParameters *par = u->fmt->streams[u->vidx]->codecpar;
	const AVCodec *c = avcodec_find_decoder(par->codec_id);
	if (!c) {
		cr_msgf(src->error, sizeof(src->error), "file %s: no decoder for its %s video in this libavcodec",
			src->cfg->device, avcodec_get_name(par->codec_id));
		return -ENOTSUP;
	}
	if (!(u->dec = avcodec_alloc_context3(c)) || avcodec_parameters_to_context(u->dec, par) < 0)
		return -ENOMEM;
	u->dec->thread_count = 0; /* as many as the machine has: a file is decoded ahead of time */
	int r = avcodec_open2(u->dec, c, NULL);
	return r < 0 ? _fail(src, r, "opening the decoder") : 0;
}

static int _file_open(struct cr_source_s *src)
{
	const char *path = src->cfg->device;
	struct _file_s *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	src->priv = u;
	cr_msgf(src->device_path, sizeof(src->device_path), "%s", path);
	if (av_log_get_level() == AV_LOG_INFO)
		av_log_set_level(AV_LOG_FATAL); /* our messages say what failed */
	u->pkt = av_packet_alloc();
	u->next = av_frame_alloc();
	u->pass_pts = AV_NOPTS_VALUE;
	AVDictionary *opts = NULL;
	/* Local files only: a playlist or concat file must not reach the network. */
	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	int r = u->pkt && u->next ? avformat_open_input(&u->fmt, path, NULL, &opts) : AVERROR(ENOMEM);
	av_dict_free(&opts);
	if (r < 0 || (r = avformat_find_stream_info(u->fmt, NULL)) < 0) {
		r = _fail(src, r, "reading it as video");
		_file_close(src);
		return r;
	}
	u->vidx = av_find_best_stream(u->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (u->vidx < 0) {
		cr_msgf(src->error, sizeof(src->error), "file %s has no video stream", path);
		_file_close(src);
		return -ENOENT;
	}
	for (unsigned i = 0; i < u->fmt->nb_streams; i++)
		u->fmt->streams[i]->discard = (int)i == u->vidx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
	AVStream *st = u->fmt->streams[u->vidx];
	u->tb = st->time_base;
	if ((r = _open_decoder(src, u)) < 0) {
		_file_close(src);
		return r;
	}
	src->width = st->codecpar->width;
	src->height = st->codecpar->height;
	src->format = CR_PIXFMT_YUV420;
	AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
	bool sane = fr.num > 0 && fr.den > 0 && fr.num / fr.den <= 240;
	src->fps_num = sane ? fr.num : 0;
	src->fps_den = sane ? fr.den : 0;
	return 0;
}

/* Back to the first picture for the next pass: seek, or say why not. */
static int _rewind(struct cr_source_s *src, struct _file_s *u)
{
	if (u->pass_frames == 0) {
		cr_msgf(src->error, sizeof(src->error), "file %s: no picture could be decoded (damaged or not video?)",
			src->cfg->device);
		return -EIO;
	}
	AVStream *st = u->fmt->streams[u->vidx];
	int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
	int r = av_seek_frame(u->fmt, u->vidx, start, AVSEEK_FLAG_BACKWARD);
	if (r < 0)
		return _fail(src, r, "seeking back to the start to loop");
	avcodec_flush_buffers(u->dec);
	u->draining = false;
	u->pass_start_ns += u->last_rel_ns + u->last_dur_ns;
	u->pass_pts = AV_NOPTS_VALUE;
	u->last_rel_ns = u->last_dur_ns = 0;
	u->pass_frames = 0;
	return 0;
}

/* The demuxer's next video packet into the decoder, or the end of the file.
 * A read error part way through (a truncated file) counts as the end. */
static void _feed(struct cr_source_s *src, struct _file_s *u)
{
	int r = av_read_frame(u->fmt, u->pkt);
	if (r < 0) {
		if (r != AVERROR_EOF && !u->damaged) {
			char buf[128];
			av_strerror(r, buf, sizeof(buf));
			CR_LOG_W(src->stream_name, "file %s ends early (%s): truncated or damaged; playing what is there",
				 src->cfg->device, buf);
			u->damaged = true;
		}
		avcodec_send_packet(u->dec, NULL);
		u->draining = true;
		return;
	}
	if (u->pkt->stream_index == u->vidx && avcodec_send_packet(u->dec, u->pkt) == AVERROR_INVALIDDATA &&
	    !u->damaged) {
		CR_LOG_W(src->stream_name, "file %s: a damaged packet was skipped", src->cfg->device);
		u->damaged = true;
	}
	av_packet_unref(u->pkt);
}

/* Decodes the next picture into u->next: 1, 0 at the end (loop = false), or -errno. */
static int _decode_next(struct cr_source_s *src, struct _file_s *u)
{
	for (int guard = 0; guard < 100000; guard++) {
		int r = avcodec_receive_frame(u->dec, u->next);
		if (r == 0)
			return 1;
		if (r == AVERROR_EOF) {
			if (!src->cfg->loop) {
				u->ended = true;
				return 0;
			}
			if ((r = _rewind(src, u)) < 0)
				return r;
		} else if (r == AVERROR_INVALIDDATA) { /* a damaged picture (frame threads report it here) */
			if (!u->damaged)
				CR_LOG_W(src->stream_name, "file %s: a damaged picture was skipped", src->cfg->device);
			u->damaged = true;
		} else if (r != AVERROR(EAGAIN)) {
			return _fail(src, r, "decoding");
		} else if (!u->draining) {
			_feed(src, u);
		}
	}
	cr_msgf(src->error, sizeof(src->error), "file %s: no picture in 100000 packets", src->cfg->device);
	return -EIO;
}

/* When u->next is due on the wall clock. */
static int64_t _due(struct cr_source_s *src, struct _file_s *u, int64_t now)
{
	AVFrame *av = u->next;
	int64_t pts = av->best_effort_timestamp;
	int64_t dur = av->pkt_duration > 0 ? av_rescale_q(av->pkt_duration, u->tb, (AVRational){1, 1000000000}) : 0;
	if (dur <= 0)
		dur = u->last_dur_ns > 0 ? u->last_dur_ns : _DEFAULT_DUR_NS;
	if (!u->pass_start_ns)
		u->pass_start_ns = now;
	if (u->pass_pts == AV_NOPTS_VALUE && pts != AV_NOPTS_VALUE)
		u->pass_pts = pts;
	int64_t rel = pts != AV_NOPTS_VALUE ? av_rescale_q(pts - u->pass_pts, u->tb, (AVRational){1, 1000000000}) :
					      u->last_rel_ns + u->last_dur_ns;
	if (u->pass_frames > 0 && rel <= u->last_rel_ns) /* out of order or repeated: one duration on */
		rel = u->last_rel_ns + u->last_dur_ns;
	u->last_rel_ns = rel;
	u->last_dur_ns = dur;
	u->pass_frames++;
	int64_t due = u->pass_start_ns + rel;
	if (now - due > _BEHIND_NS) { /* behind: move the clock rather than burst */
		u->pass_start_ns += now - due;
		due = now;
		atomic_fetch_add(&src->stats->clock_moves, 1);
	}
	return due;
}

/* u->next as a frame: wrapped, or converted to I420 by libswscale. */
static struct cr_frame_s *_take(struct cr_source_s *src, struct _file_s *u)
{
	AVFrame *av = u->next;
	if (!(u->next = av_frame_alloc())) {
		u->next = av;
		return NULL;
	}
	struct cr_frame_s *f = cr_av_wrap(av);
	if (f)
		return f;
	f = cr_frame_new(CR_PIXFMT_YUV420, av->width, av->height, 0);
	u->sws = sws_getCachedContext(u->sws, av->width, av->height, av->format, av->width, av->height,
				      AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
	if (f && u->sws) {
		const int *coef = sws_getCoefficients(SWS_CS_ITU601);
		sws_setColorspaceDetails(u->sws, coef, cr_av_full_range(av), coef, 0, 0, 1 << 16, 1 << 16);
		sws_scale(u->sws, (const uint8_t *const *)av->data, av->linesize, 0, av->height, f->data, f->stride);
		atomic_fetch_add(&src->stats->bytes_copied, f->size);
	} else {
		cr_frame_unref(f);
		f = NULL;
	}
	av_frame_free(&av);
	return f;
}

static int _file_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	struct _file_s *u = src->priv;
	int64_t now = cr_now_ns(), until = now + (int64_t)timeout_ms * 1000000LL;
	*out = NULL;
	if (u->ended) {
		cr_sleep_until_ns(until);
		return 0;
	}
	if (!u->have_next) {
		int r = _decode_next(src, u);
		if (r <= 0)
			return r;
		u->have_next = true;
		u->next_due_ns = _due(src, u, cr_now_ns());
	}
	if (u->next_due_ns > until) {
		cr_sleep_until_ns(until);
		return 0;
	}
	cr_sleep_until_ns(u->next_due_ns);
	u->have_next = false;
	struct cr_frame_s *f = _take(src, u);
	if (!f) {
		cr_msgf(src->error, sizeof(src->error), "file %s: out of memory converting a picture", src->cfg->device);
		return -ENOMEM;
	}
	/* Stamped with the time the file's timing gives it (what readers of the
	 * webcam see as the buffer's timestamp), not when this thread woke. */
	f->ts_capture_ns = u->next_due_ns;
	*out = f;
	if (f->width != src->width || f->height != src->height) {
		src->width = f->width;
		src->height = f->height;
		return 1;
	}
	return 0;
}

/* Loaded by its entry in the core (file_module.c), which holds its caps. */
CR_MODULE_EXPORT const struct cr_source_ops_s cr_source_file = {
	.name = "file",
	.source_key = "file",
	.open = _file_open,
	.read = _file_read,
	.close = _file_close,
};
