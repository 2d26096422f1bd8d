/* The audio of the stream's URL or file source ([stream.X.audio] backend =
 * "url"): libavformat opens the same URL (or file) a second time, picks its
 * best audio stream (AAC, PCMU/PCMA, Opus, MP3, ... whatever libavcodec
 * decodes), decodes it and libswresample converts it to the configured rate
 * and channels as S16; the stage then encodes it to Opus like any capture.
 * An Opus track is passed through instead: its packets go to every output
 * as the source sent them (RFC 7587 carries any Opus packet; its RTP clock
 * is 48 kHz whatever was encoded), no decoder, no encoder, and the
 * configured rate, channels and bitrate do not apply to it. A G.711 track
 * (PCMU/PCMA, any rate and channels) or an AAC track is passed through to the outputs
 * that take it (plain RTP, RTSP) and also decoded here (read_decoded) for
 * the stage to encode to Opus for the others (WebRTC): each packet read is
 * handed out, then decoded. AAC goes out as raw access units with its
 * AudioSpecificConfig (RFC 3640): Matroska, MP4 and RTSP mpeg4-generic give
 * both (libavformat's extradata); ADTS (MPEG-TS, raw .aac, no extradata)
 * is unwrapped by libavcodec's aac_adtstoasc bitstream filter, whose first
 * packet carries the AudioSpecificConfig (open reads that packet, so the
 * SDP has it from the start); an ADTS frame of more than one access unit
 * is skipped.
 *
 * Time: the first decoded sample is anchored to CLOCK_MONOTONIC at its
 * arrival. A file (and an http(s) URL) then plays at its own pace: each
 * block is due at that anchor plus its sample count, and reads wait for it.
 * A live source (RTSP, RTP/SDP, udp, srt, tcp) is read as it arrives, and
 * its sample count runs on the sender's clock, which drifts against ours: a
 * block is stamped with the count's time plus the smallest lag of arrival
 * behind the count seen lately (it follows a lag that shrinks at once and
 * one that grows at up to 2 %, so network jitter does not move it; a jump
 * of 200 ms is a stall and taken at once), so the stamps keep to our clock
 * and the stage drops or skips blocks as the clocks part (counted:
 * drift_drops/gaps and their samples), never letting the delay grow. A
 * URL without audio, a stall of 5 s (the interrupt callback cuts a blocking
 * read) or the end of a file closes it; the stage reopens it with backoff
 * and sends silence meanwhile. One more connection at the camera: the
 * video source has its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/adts_parser.h>
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <opus/opus.h>

#include "audio/audio.h"
#include "core/clock.h"
#include "core/hostport.h"
#include "core/module.h"

#define _TIMEOUT_NS 5000000000LL

struct _aurl_s {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	SwrContext *swr;
	AVAudioFifo *fifo;
	AVPacket *pkt;
	AVFrame *frame;
	AVBSFContext *adts; /* AAC in ADTS frames: aac_adtstoasc, their raw access units */
	int aidx;
	int64_t deadline_ns;
	int64_t anchor_ns;  /* CLOCK_MONOTONIC of sample 0; 0 until the first */
	uint64_t out_samples; /* samples handed out (48 kHz ones when passing through) */
	bool pending;         /* passing through: pkt holds a packet whose time has not come */
	bool live;            /* read as it arrives, stamped by arrival (above) */
	int64_t arrival_ns;   /* CLOCK_MONOTONIC when the last packet was read */
	int64_t lag_ns;       /* live: arrival behind the count, its recent minimum */
	bool have_lag;
	int frame_size;       /* AAC: samples per access unit */
	int64_t pcm_ts_ns;    /* passing G.711/AAC through: the time of the FIFO's first decoded sample */
};

#define _STALL_NS 200000000LL

/* The time of n samples at rate (exact for any run time). */
static int64_t _samples_ns(uint64_t n, int rate)
{
	return (int64_t)(n / (uint64_t)rate) * 1000000000LL + (int64_t)(n % (uint64_t)rate) * 1000000000LL / rate;
}

static bool _is_live(const AVFormatContext *fmt, const char *url)
{
	static const char *const live[] = {"rtsp", "rtp:", "udp:", "srt:", "tcp:"};
	if ((fmt->iformat->flags & AVFMT_NOFILE) || strcmp(fmt->iformat->name, "sdp") == 0)
		return true;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (strncmp(url, live[i], strlen(live[i])) == 0)
			return true;
	return false;
}

static int _interrupt(void *opaque)
{
	const struct _aurl_s *u = opaque;
	return cr_now_ns() > u->deadline_ns;
}

static int _fail(struct cr_audio_source_s *src, int averr, const char *what)
{
	char buf[128], url[160];
	cr_url_shown(src->cfg->device, url, sizeof(url));
	if (averr == AVERROR_EXIT) {
		snprintf(src->error, sizeof(src->error), "%s: no data for %lld s while %s (is the sender running?)",
			 url, _TIMEOUT_NS / 1000000000LL, what);
		return -ETIMEDOUT;
	}
	if (averr == AVERROR_EOF) {
		snprintf(src->error, sizeof(src->error), "%s: the audio ended", url);
		return -ENODATA;
	}
	av_strerror(averr, buf, sizeof(buf));
	snprintf(src->error, sizeof(src->error), "%s: %s (while %s)", url, buf, what);
	return averr == AVERROR(ENOMEM) ? -ENOMEM : -EIO;
}

static void _url_close(struct cr_audio_source_s *src)
{
	struct _aurl_s *u = src->priv;
	if (!u)
		return;
	avcodec_free_context(&u->dec);
	av_bsf_free(&u->adts);
	swr_free(&u->swr);
	if (u->fifo)
		av_audio_fifo_free(u->fifo);
	av_packet_free(&u->pkt);
	av_frame_free(&u->frame);
	avformat_close_input(&u->fmt);
	free(u);
	src->priv = NULL;
}

/* Whether the track is G.711 or AAC that RTP can carry as it is (RFC 3551:
 * PCMU/PCMA, at the static payload types at 8 kHz mono, at a dynamic one
 * with its rtpmap at any other rate or up to 8 channels; RFC 3640: AAC
 * whose AudioSpecificConfig is in par, so its packets are raw access
 * units): src->coded. */
static bool _native(struct cr_audio_source_s *src, struct _aurl_s *u, const AVCodecParameters *par)
{
	int ch = par->ch_layout.nb_channels;
	if ((par->codec_id == AV_CODEC_ID_PCM_MULAW || par->codec_id == AV_CODEC_ID_PCM_ALAW) &&
	    par->sample_rate > 0 && ch >= 1 && ch <= 8) {
		src->coded = (struct cr_audio_format_s){
			.codec = par->codec_id == AV_CODEC_ID_PCM_MULAW ? CR_AUDIO_PCMU : CR_AUDIO_PCMA,
			.clock_rate = par->sample_rate, .channels = ch};
	} else if (par->codec_id == AV_CODEC_ID_AAC && par->extradata_size >= 2 &&
		   (size_t)par->extradata_size <= sizeof(src->coded.config) && par->sample_rate > 0 && ch > 0) {
		src->coded = (struct cr_audio_format_s){.codec = CR_AUDIO_AAC, .clock_rate = par->sample_rate,
							.channels = ch, .config_len = (size_t)par->extradata_size};
		memcpy(src->coded.config, par->extradata, (size_t)par->extradata_size);
		u->frame_size = par->frame_size > 0 ? par->frame_size : 1024;
	} else {
		return false;
	}
	src->passthrough = true;
	return true;
}

/* u->pkt, an ADTS frame of the track, as its raw access unit (through
 * u->adts): 0, or <0 for a frame that cannot be passed on (damaged, or more
 * than one access unit in it), u->pkt then empty or the frame. */
static int _adts_unwrap(struct _aurl_s *u)
{
	uint32_t samples = 0;
	uint8_t aus = 0;
	if (u->pkt->size < AV_AAC_ADTS_HEADER_SIZE || av_adts_header_parse(u->pkt->data, &samples, &aus) < 0 ||
	    aus != 1)
		return AVERROR_INVALIDDATA;
	int r = av_bsf_send_packet(u->adts, u->pkt);
	return r < 0 ? r : av_bsf_receive_packet(u->adts, u->pkt);
}

/* AAC without an AudioSpecificConfig (ADTS): starts aac_adtstoasc and reads
 * the track up to its first frame, left pending in u->pkt as a raw access
 * unit; *asc: par with the AudioSpecificConfig that frame gave (NULL when
 * no frame of the first few could be unwrapped: the track is then decoded
 * and encoded). <0: the read failed. */
static int _adts_open(struct cr_audio_source_s *src, struct _aurl_s *u, const AVStream *st, AVCodecParameters **asc)
{
	*asc = NULL;
	const AVBitStreamFilter *f = av_bsf_get_by_name("aac_adtstoasc");
	int r;
	if (!f || av_bsf_alloc(f, &u->adts) < 0 || avcodec_parameters_copy(u->adts->par_in, st->codecpar) < 0)
		return _fail(src, AVERROR(ENOMEM), "opening its ADTS filter");
	u->adts->time_base_in = st->time_base;
	if ((r = av_bsf_init(u->adts)) < 0)
		return _fail(src, r, "opening its ADTS filter");
	for (int tries = 0; tries < 8;) {
		u->deadline_ns = cr_now_ns() + _TIMEOUT_NS;
		if ((r = av_read_frame(u->fmt, u->pkt)) < 0)
			return _fail(src, r, "reading");
		if (u->pkt->stream_index != u->aidx) {
			av_packet_unref(u->pkt);
			continue;
		}
		tries++;
		u->arrival_ns = cr_now_ns();
		if (_adts_unwrap(u) < 0) {
			av_packet_unref(u->pkt);
			continue;
		}
		/* The AudioSpecificConfig: side data of the first packet out
		 * (libavcodec 59, Debian 12), or the filter's output parameters
		 * (the brief's and older libavcodec's way; either is taken). */
		size_t len = 0;
		const uint8_t *cfg = av_packet_get_side_data(u->pkt, AV_PKT_DATA_NEW_EXTRADATA, &len);
		if (!cfg && u->adts->par_out->extradata) {
			cfg = u->adts->par_out->extradata;
			len = (size_t)u->adts->par_out->extradata_size;
		}
		if (!cfg || len < 2 || !(*asc = avcodec_parameters_alloc()) ||
		    avcodec_parameters_copy(*asc, st->codecpar) < 0 ||
		    !((*asc)->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE))) {
			avcodec_parameters_free(asc);
			av_packet_unref(u->pkt);
			break;
		}
		memcpy((*asc)->extradata, cfg, len);
		(*asc)->extradata_size = (int)len;
		u->pending = true;
		return 0;
	}
	av_bsf_free(&u->adts);
	return 0;
}

static int _open_input(struct cr_audio_source_s *src, struct _aurl_s *u)
{
	AVDictionary *opts = NULL;
	u->fmt = avformat_alloc_context();
	if (!u->fmt)
		return _fail(src, AVERROR(ENOMEM), "opening");
	u->fmt->interrupt_callback = (AVIOInterruptCB){_interrupt, u};
	if (strncmp(src->cfg->device, "rtsp", 4) == 0)
		av_dict_set(&opts, "rtsp_transport", "tcp", 0);
	av_dict_set(&opts, "protocol_whitelist", "file,udp,rtp,tcp,tls,rtsp,rtsps,http,https,crypto,data", 0);
	u->deadline_ns = cr_now_ns() + _TIMEOUT_NS;
	int r = avformat_open_input(&u->fmt, src->cfg->device, NULL, &opts);
	av_dict_free(&opts);
	if (r < 0)
		return _fail(src, r, "opening");
	if ((r = avformat_find_stream_info(u->fmt, NULL)) < 0)
		return _fail(src, r, "reading its streams");
	u->live = _is_live(u->fmt, src->cfg->device);
	const AVCodec *codec = NULL;
	u->aidx = av_find_best_stream(u->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
	if (u->aidx < 0 || !codec) {
		char url[160];
		cr_url_shown(src->cfg->device, url, sizeof(url));
		snprintf(src->error, sizeof(src->error), "%s has no audio stream camrelay can decode%s", url,
			 u->aidx == AVERROR_DECODER_NOT_FOUND ? " (no decoder for its codec)" : "");
		return -ENOENT;
	}
	for (unsigned i = 0; i < u->fmt->nb_streams; i++)
		u->fmt->streams[i]->discard = (int)i == u->aidx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
	char url[100];
	cr_url_shown(src->cfg->device, url, sizeof(url));
	const AVCodecParameters *par = u->fmt->streams[u->aidx]->codecpar;
	AVCodecParameters *asc = NULL;
	if (par->codec_id == AV_CODEC_ID_AAC && par->extradata_size < 2) {
		if ((r = _adts_open(src, u, u->fmt->streams[u->aidx], &asc)) < 0)
			return r;
		if (asc)
			par = asc;
	}
	if (par->codec_id == AV_CODEC_ID_OPUS) {
		src->passthrough = true;
		src->coded = (struct cr_audio_format_s){.codec = CR_AUDIO_OPUS, .clock_rate = 48000,
							.channels = par->ch_layout.nb_channels};
		snprintf(src->device_path, sizeof(src->device_path), "%.99s (opus, passed through)", url);
		return 0;
	}
	if (_native(src, u, par)) {
		u->dec = avcodec_alloc_context3(codec);
		if (!u->dec || avcodec_parameters_to_context(u->dec, par) < 0 ||
		    (r = avcodec_open2(u->dec, codec, NULL)) < 0) {
			avcodec_parameters_free(&asc);
			return _fail(src, u->dec ? r : AVERROR(ENOMEM), "opening its audio decoder");
		}
		avcodec_parameters_free(&asc);
		char rate[24] = "";
		if (src->coded.codec != CR_AUDIO_AAC) /* G.711: its RTP clock and channels */
			snprintf(rate, sizeof(rate), "/%d/%d", src->coded.clock_rate, src->coded.channels);
		snprintf(src->device_path, sizeof(src->device_path), "%.99s (%s%s%s, passed through)", url,
			 cr_audio_codec_name(src->coded.codec), rate, u->adts ? " from ADTS" : "");
		return 0;
	}
	/* Not passed through (asc is NULL: an ADTS track without a frame to
	 * unwrap is decoded from its ADTS frames like any other track). */
	if (u->adts || asc) {
		avcodec_parameters_free(&asc);
		av_bsf_free(&u->adts);
		av_packet_unref(u->pkt);
		u->pending = false;
	}
	u->dec = avcodec_alloc_context3(codec);
	if (!u->dec || avcodec_parameters_to_context(u->dec, u->fmt->streams[u->aidx]->codecpar) < 0 ||
	    (r = avcodec_open2(u->dec, codec, NULL)) < 0)
		return _fail(src, u->dec ? r : AVERROR(ENOMEM), "opening its audio decoder");
	snprintf(src->device_path, sizeof(src->device_path), "%.99s (%.20s)", url, codec->name);
	return 0;
}

static int _url_open(struct cr_audio_source_s *src)
{
	struct _aurl_s *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(src->error, sizeof(src->error), "out of memory");
		return -ENOMEM;
	}
	src->priv = u;
	src->passthrough = false;
	if (!(u->pkt = av_packet_alloc())) {
		_url_close(src);
		snprintf(src->error, sizeof(src->error), "out of memory");
		return -ENOMEM;
	}
	int rc = _open_input(src, u);
	if (rc < 0) {
		_url_close(src);
		return rc;
	}
	if (src->passthrough && src->coded.codec == CR_AUDIO_OPUS)
		return 0;
	AVChannelLayout out;
	av_channel_layout_default(&out, src->cfg->channels);
	u->frame = av_frame_alloc();
	u->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_S16, src->cfg->channels, src->frames * 4);
	if (!u->frame || !u->fifo ||
	    swr_alloc_set_opts2(&u->swr, &out, AV_SAMPLE_FMT_S16, src->cfg->rate, &u->dec->ch_layout,
				u->dec->sample_fmt, u->dec->sample_rate, 0, NULL) < 0 ||
	    swr_init(u->swr) < 0) {
		char url[100];
		cr_url_shown(src->cfg->device, url, sizeof(url));
		snprintf(src->error, sizeof(src->error), "%s: cannot convert its audio (%d Hz, %d channels) to %d Hz, "
			 "%d channels", url, u->dec->sample_rate, u->dec->ch_layout.nb_channels,
			 src->cfg->rate, src->cfg->channels);
		_url_close(src);
		return -EINVAL;
	}
	return 0;
}

/* Decoded samples of one packet into the FIFO at the output rate. */
static int _decode(struct cr_audio_source_s *src, struct _aurl_s *u)
{
	int r = avcodec_send_packet(u->dec, u->pkt);
	if (r < 0 && r != AVERROR(EAGAIN))
		return 0; /* a damaged packet: its samples are lost, the next decodes */
	while (avcodec_receive_frame(u->dec, u->frame) == 0) {
		int max = swr_get_out_samples(u->swr, u->frame->nb_samples);
		uint8_t *buf = NULL;
		if (max <= 0 || av_samples_alloc(&buf, NULL, src->cfg->channels, max, AV_SAMPLE_FMT_S16, 0) < 0)
			return _fail(src, AVERROR(ENOMEM), "decoding");
		int n = swr_convert(u->swr, &buf, max, (const uint8_t **)u->frame->extended_data, u->frame->nb_samples);
		if (n > 0 && av_audio_fifo_write(u->fifo, (void **)&buf, n) < n)
			n = -1;
		av_freep(&buf);
		av_frame_unref(u->frame);
		if (n < 0)
			return _fail(src, AVERROR(ENOMEM), "decoding");
		if (!u->anchor_ns)
			u->anchor_ns = cr_now_ns();
	}
	return 0;
}

/* A live source's block of n samples at rate: stamped by its arrival
 * (above), handed out at once. */
static void _stamp_live(struct _aurl_s *u, int n, int rate, int64_t *ts_ns)
{
	int64_t count_ns = u->anchor_ns + _samples_ns(u->out_samples, rate);
	int64_t block_ns = _samples_ns((uint64_t)n, rate);
	int64_t lag = u->arrival_ns - (count_ns + block_ns);
	if (!u->have_lag || lag < u->lag_ns || lag > u->lag_ns + _STALL_NS)
		u->lag_ns = lag;
	else /* may grow by 2 % of the time passed: a sender up to 2 % slow */
		u->lag_ns = lag < u->lag_ns + block_ns / 50 ? lag : u->lag_ns + block_ns / 50;
	u->have_lag = true;
	u->out_samples += (uint64_t)n;
	*ts_ns = count_ns + u->lag_ns;
}

/* Waits until a block of n samples at rate, the next after those handed out,
 * is due: 1 and its first sample's time in *ts_ns, or 0 when that is later
 * than timeout_ms (a file plays at its own pace). A live block: at once. */
static int _pace(struct _aurl_s *u, int n, int rate, int64_t *ts_ns, int timeout_ms)
{
	if (u->live) {
		_stamp_live(u, n, rate, ts_ns);
		return 1;
	}
	int64_t block_ns = _samples_ns((uint64_t)n, rate);
	int64_t at = u->anchor_ns + _samples_ns(u->out_samples, rate);
	if (cr_now_ns() > at + block_ns + _STALL_NS) { /* after a stall: on the clock again, not late */
		u->anchor_ns += cr_now_ns() - (at + block_ns);
		at = cr_now_ns() - block_ns;
	}
	int64_t ready = at + block_ns;
	int64_t until = cr_deadline_ns(timeout_ms);
	if (ready > until) {
		cr_sleep_until_ns(until);
		return 0;
	}
	cr_sleep_until_ns(ready);
	u->out_samples += (uint64_t)n;
	*ts_ns = at;
	return 1;
}

static int _url_read(struct cr_audio_source_s *src, int16_t *pcm, int64_t *ts_ns, int timeout_ms)
{
	struct _aurl_s *u = src->priv;
	while (av_audio_fifo_size(u->fifo) < src->frames) {
		u->deadline_ns = cr_now_ns() + _TIMEOUT_NS;
		int r = av_read_frame(u->fmt, u->pkt);
		if (r < 0)
			return _fail(src, r, "reading");
		u->arrival_ns = cr_now_ns();
		r = u->pkt->stream_index == u->aidx ? _decode(src, u) : 0;
		av_packet_unref(u->pkt);
		if (r < 0)
			return r;
	}
	if (_pace(u, src->frames, src->cfg->rate, ts_ns, timeout_ms) == 0)
		return 0;
	void *out = pcm;
	if (av_audio_fifo_read(u->fifo, &out, src->frames) < src->frames)
		return _fail(src, AVERROR(EIO), "reading");
	return 1;
}

/* The duration of the packet in u->pkt in samples of its RTP clock; 0 for
 * one that cannot be passed on. */
static int _duration(const struct cr_audio_source_s *src, const struct _aurl_s *u)
{
	switch (src->coded.codec) {
	case CR_AUDIO_OPUS:
		return opus_packet_get_nb_samples(u->pkt->data, u->pkt->size, 48000);
	case CR_AUDIO_PCMU: /* a byte per sample per channel */
	case CR_AUDIO_PCMA:
		return u->pkt->size % src->coded.channels ? 0 : u->pkt->size / src->coded.channels;
	case CR_AUDIO_AAC: /* ADTS (0xFFF sync) with extradata too: not passed on (u->adts unwraps it without) */
		return u->pkt->size >= 2 && u->pkt->data[0] == 0xff && (u->pkt->data[1] & 0xf0) == 0xf0
			       ? 0
			       : u->frame_size;
	}
	return 0;
}

/* Passing a track through: its next packet as it came (G.711/AAC also
 * decoded into the FIFO for read_decoded). */
static int _url_read_coded(struct cr_audio_source_s *src, uint8_t *buf, size_t cap, size_t *len, int *samples,
			   int64_t *ts_ns, int timeout_ms)
{
	struct _aurl_s *u = src->priv;
	int n = 0;
	while (!u->pending) {
		u->deadline_ns = cr_now_ns() + _TIMEOUT_NS;
		int r = av_read_frame(u->fmt, u->pkt);
		if (r < 0)
			return _fail(src, r, "reading");
		u->arrival_ns = cr_now_ns();
		n = u->pkt->stream_index == u->aidx && (!u->adts || _adts_unwrap(u) == 0) && u->pkt->size > 0 &&
			    (size_t)u->pkt->size <= cap
			    ? _duration(src, u)
			    : 0;
		if (n <= 0) { /* another track's, damaged or too big: skipped */
			av_packet_unref(u->pkt);
			continue;
		}
		u->pending = true;
	}
	if ((size_t)u->pkt->size > cap) { /* the one open read (ADTS): too big, skipped */
		av_packet_unref(u->pkt);
		u->pending = false;
		return 0;
	}
	if (!u->anchor_ns) /* the first packet's arrival (read here, or by open for ADTS) */
		u->anchor_ns = u->arrival_ns;
	n = _duration(src, u);
	if (_pace(u, n, src->coded.clock_rate, ts_ns, timeout_ms) == 0)
		return 0;
	memcpy(buf, u->pkt->data, (size_t)u->pkt->size);
	*len = (size_t)u->pkt->size;
	*samples = n;
	int r = 0;
	if (src->coded.codec != CR_AUDIO_OPUS) {
		/* The FIFO's samples came before this packet: its head's time
		 * follows the packets' stamps (so the drift they carry reaches
		 * the Opus encoding's counters too). */
		u->pcm_ts_ns = *ts_ns - _samples_ns((uint64_t)av_audio_fifo_size(u->fifo), src->cfg->rate);
		r = _decode(src, u);
	}
	av_packet_unref(u->pkt);
	u->pending = false;
	return r < 0 ? r : 1;
}

/* Passing G.711/AAC through: a block of what read_coded decoded. */
static int _url_read_decoded(struct cr_audio_source_s *src, int16_t *pcm, int64_t *ts_ns)
{
	struct _aurl_s *u = src->priv;
	void *out = pcm;
	if (av_audio_fifo_size(u->fifo) < src->frames || av_audio_fifo_read(u->fifo, &out, src->frames) < src->frames)
		return 0;
	*ts_ns = u->pcm_ts_ns;
	u->pcm_ts_ns += _samples_ns((uint64_t)src->frames, src->cfg->rate);
	return 1;
}

/* Loaded by its entry in the core (url_module.c). */
CR_MODULE_EXPORT const struct cr_audio_ops_s cr_audio_url = {
	.name = "url",
	.from_source = true,
	.open = _url_open,
	.read = _url_read,
	.close = _url_close,
	.read_coded = _url_read_coded,
	.read_decoded = _url_read_decoded,
};
