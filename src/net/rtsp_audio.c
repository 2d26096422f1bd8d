/* The RTSP server's audio track: a stream with [stream.X.audio] is
 * described with a second media section (a=control:trackID=1) after the
 * video's: Opus (RFC 7587), or the URL source's own G.711 (RFC 3551) or AAC
 * (RFC 3640) while it passes that through (_takes); a session that sets it
 * up gets the stream's one Opus encoding, or those packets as they came,
 * over the session's transport (UDP from the server's RTP port pair
 * to the client_port the SETUP names, or the interleaved channels it names).
 * The audio thread copies each packet into the session's ring and wakes the
 * loop, which payloads and sends it (audio/ring.h). RTP times are the
 * capture clock's at 48 kHz, the video's the same clock's at 90 kHz, and the
 * sender reports of both map them to the same NTP time, so players line the
 * two up. Multicast sessions get no audio (SETUP of trackID=1 is refused). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/clock.h"
#include "core/stream.h"
#include "net/rtsp_priv.h"
#include "net/sdp.h"

#define _SR_GAP_NS 2000000000LL

/* The audio codecs RTSP sessions take. */
static const unsigned _takes = CR_AUDIO_TAKES_RTP;

bool cr_rtsp_audio_offered(struct cr_rtsp_s *r, int stream)
{
	return stream >= 0 && stream < r->n_streams && cr_stream_audio(r->streams[stream]) != NULL;
}

int cr_rtsp_audio_sdp(struct cr_rtsp_s *r, int stream, char *out, size_t cap)
{
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(r->streams[stream]);
	struct cr_audio_format_s f;
	cr_audio_format(cr_stream_audio(r->streams[stream]), _takes, &f);
	int n = cr_sdp_plain_audio(out, cap, 0, &f, sc->audio.channels, sc->audio.fec);
	return n < 0 ? n : cr_rtsp_sdp_control(out, cap, n, 1);
}

static void _emit(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_rtsp_client_s *c = opaque;
	if (cr_rtsp_send_rtp(c, c->audio->channel[0], &c->audio->rtp_addr, pkt, len))
		c->info.audio_packets_sent++;
}

struct cr_rtsp_audio_s *cr_rtsp_audio_new(struct cr_rtsp_client_s *c)
{
	if (c->audio)
		return c->audio;
	struct cr_rtsp_audio_s *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	cr_rtp_init(&a->rtp, CR_CODEC_NONE, CR_RTP_OPUS_PT, cr_rtsp_random32(), (uint16_t)cr_rtsp_random32());
	a->rtp.emit = _emit;
	a->rtp.opaque = c;
	a->ts_offset = cr_rtsp_random32();
	c->audio = a;
	return a;
}

int cr_rtsp_audio_start(struct cr_rtsp_client_s *c)
{
	struct cr_audio_s *au = cr_stream_audio(c->r->streams[c->media.stream]);
	if (!c->audio || !au || c->audio->ring)
		return 0;
	/* What DESCRIBE said, and only that: a session described as Opus
	 * (before the source opened) keeps getting Opus when the source then
	 * passes G.711/AAC through, and packets of another rate or channel
	 * count than it described (a source reopened as other G.711) are not
	 * sent (drain). */
	cr_audio_format(au, _takes, &c->audio->fmt);
	c->audio->ring = cr_audio_ring_new_takes(au, CR_AUDIO_TAKES(c->audio->fmt.codec), cr_rtsp_notify, c->r);
	return c->audio->ring ? 0 : -ENOMEM;
}

void cr_rtsp_audio_drain(struct cr_rtsp_client_s *c)
{
	struct cr_rtsp_audio_s *a = c->audio;
	struct cr_audio_ring_slot_s s;
	while (a && a->ring && !c->slow && cr_audio_ring_pop(a->ring, &s))
		if (c->state == CR_RTSP_PLAYING && c->tr != CR_RTSP_MCAST && s.codec == a->fmt.codec &&
		    (s.codec == CR_AUDIO_OPUS || (s.clock_rate == a->fmt.clock_rate && s.channels == a->fmt.channels)))
			cr_rtp_audio(&a->rtp, s.codec, s.clock_rate, s.channels, s.data, s.len, s.ts + a->ts_offset,
				     s.talkspurt);
}

void cr_rtsp_audio_tick(struct cr_rtsp_client_s *c, int64_t now)
{
	struct cr_rtsp_audio_s *a = c->audio;
	if (!a || c->state != CR_RTSP_PLAYING || !a->rtp.packets || now - a->last_sr_ns < _SR_GAP_NS)
		return;
	a->last_sr_ns = now;
	cr_rtsp_send_sr(&a->rtp, cr_audio_rtp_ts_at(now, a->fmt.clock_rate) + a->ts_offset, c->tr == CR_RTSP_TCP ? a->channel[1] : -1, c,
			(struct sockaddr *)&a->rtcp_addr, c->addr_len, c->r->rtcp_fd);
}

void cr_rtsp_audio_position(struct cr_rtsp_client_s *c, uint16_t *seq, uint32_t *rtptime)
{
	*seq = c->audio->rtp.seq;
	*rtptime = cr_audio_rtp_ts_at(cr_now_ns(), c->audio->fmt.clock_rate ? c->audio->fmt.clock_rate : 48000) +
		   c->audio->ts_offset;
}

void cr_rtsp_audio_free(struct cr_rtsp_client_s *c)
{
	if (!c->audio)
		return;
	cr_audio_ring_free(c->audio->ring); /* waits for a delivery in progress */
	free(c->audio);
	c->audio = NULL;
}
