/* WHEP viewers' audio: when the offer has an audio section that can receive
 * Opus and the stream has [stream.X.audio], the answer accepts it (bundled
 * with the video on the same ICE/DTLS transport) and the viewer gets the
 * stream's one Opus encoding (RFC 7587). The audio thread hands each packet
 * to a small ring per viewer (audio/ring.h) and wakes the loop, which
 * payloads, protects and sends it with the video (everything SRTP stays on
 * the loop thread).
 * Sender reports map the audio's RTP time to the NTP time of capture, as
 * the video's do, so the browser plays them in sync. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/audio.h"
#include "audio/ring.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/sdp.h"
#include "net/whep_priv.h"

struct cr_whep_audio_s {
	struct cr_whep_viewer_s *v;
	struct cr_audio_ring_s *ring; /* the audio thread writes, the loop reads */
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	int64_t last_sr_ns;
};

int cr_whep_audio_pick(const struct cr_sdp_offer_s *o, struct cr_stream_s *s, int *pt)
{
	if (!cr_stream_audio(s))
		return -1;
	for (int i = 0; i < o->n_media; i++) {
		const struct cr_sdp_media_s *m = &o->media[i];
		if (strcmp(m->type, "audio") != 0 || m->port == 0 || !strstr(m->proto, "SAVPF") ||
		    strcmp(m->direction, "sendonly") == 0 || strcmp(m->direction, "inactive") == 0)
			continue;
		for (int k = 0; k < m->n_fmts; k++)
			if (strcasecmp(m->fmts[k].name, "opus") == 0 && m->fmts[k].clock == 48000) {
				*pt = m->fmts[k].pt;
				return i;
			}
	}
	return -1;
}

/* The payloader's emit: straight to the send batch (no NACK history for audio). */
static void _emit(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_whep_audio_s *a = opaque;
	cr_whep_queue(a->v, pkt, len, false);
	a->v->info.audio_packets_sent++;
}

int cr_whep_audio_new(struct cr_whep_viewer_s *v, int pt)
{
	struct cr_whep_audio_s *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->v = v;
	cr_rtp_init(&a->rtp, CR_CODEC_NONE, (uint8_t)pt, cr_whep_random32(), (uint16_t)cr_whep_random32());
	a->rtp.emit = _emit;
	a->rtp.opaque = a;
	a->ts_offset = cr_whep_random32();
	v->audio = a;
	return 0;
}

uint32_t cr_whep_audio_ssrc(const struct cr_whep_viewer_s *v) { return v->audio ? v->audio->rtp.ssrc : 0; }

static void _notify(void *opaque)
{
	struct cr_whep_audio_s *a = opaque;
	cr_whep_notify(a->v->w);
}

int cr_whep_audio_start(struct cr_whep_viewer_s *v)
{
	struct cr_audio_s *au = cr_stream_audio(v->w->streams[v->stream]);
	if (!v->audio || !au)
		return 0;
	v->audio->ring = cr_audio_ring_new(au, _notify, v->audio);
	return v->audio->ring ? 0 : -ENOMEM;
}

void cr_whep_audio_drain(struct cr_whep_viewer_s *v)
{
	struct cr_whep_audio_s *a = v->audio;
	struct cr_audio_ring_slot_s s;
	while (a && a->ring && cr_audio_ring_pop(a->ring, &s))
		cr_rtp_opus(&a->rtp, s.data, s.len, s.ts + a->ts_offset, s.talkspurt);
}

void cr_whep_audio_tick(struct cr_whep_viewer_s *v, int64_t now)
{
	struct cr_whep_audio_s *a = v->audio;
	if (!a || !a->rtp.packets || now - a->last_sr_ns < 1000000000LL)
		return;
	uint8_t sr[128];
	char cname[80];
	snprintf(cname, sizeof(cname), "camrelay-%s", cr_stream_name(v->w->streams[v->stream]));
	size_t n = cr_rtcp_sender_report(sr, sizeof(sr), a->rtp.ssrc, cr_ntp_now(), cr_audio_rtp_ts(now) + a->ts_offset,
					 a->rtp.packets, a->rtp.octets, cname);
	if (n)
		cr_whep_queue(v, sr, n, true);
	a->last_sr_ns = now;
}

void cr_whep_audio_free(struct cr_whep_viewer_s *v)
{
	struct cr_whep_audio_s *a = v->audio;
	if (!a)
		return;
	cr_audio_ring_free(a->ring); /* waits for a delivery in progress */
	free(a);
	v->audio = NULL;
}
