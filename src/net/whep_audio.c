/* WHEP viewers' audio: when the offer has an audio section that can receive
 * Opus and the stream has [stream.X.audio], the answer accepts it (bundled
 * with the video on the same ICE/DTLS transport) and the viewer gets the
 * stream's one Opus encoding (RFC 7587). The audio thread hands each packet
 * to a small ring per viewer and wakes the loop, which payloads, protects
 * and sends it with the video (everything SRTP stays on the loop thread).
 * Sender reports map the audio's RTP time to the NTP time of capture, as
 * the video's do, so the browser plays them in sync. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/audio.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/sdp.h"
#include "net/whep_priv.h"

#define _RING 16 /* 320 ms of packets: the loop drains far more often */

struct _slot_s {
	uint16_t len;
	uint32_t ts;
	bool talkspurt;
	uint8_t data[CR_RTP_MAX_PACKET - CR_RTP_HEADER];
};

struct cr_whep_audio_s {
	struct cr_whep_viewer_s *v;
	struct cr_audio_sub_s *sub;
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	int64_t last_sr_ns;
	pthread_mutex_t lock; /* the ring: the audio thread writes, the loop reads */
	struct _slot_s ring[_RING];
	unsigned head, tail; /* free-running */
	uint64_t dropped;
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
	pthread_mutex_init(&a->lock, NULL);
	cr_rtp_init(&a->rtp, CR_CODEC_NONE, (uint8_t)pt, cr_whep_random32(), (uint16_t)cr_whep_random32());
	a->rtp.emit = _emit;
	a->rtp.opaque = a;
	a->ts_offset = cr_whep_random32();
	v->audio = a;
	return 0;
}

uint32_t cr_whep_audio_ssrc(const struct cr_whep_viewer_s *v) { return v->audio ? v->audio->rtp.ssrc : 0; }

/* On the audio thread. */
static void _deliver(const struct cr_audio_packet_s *p, void *opaque)
{
	struct cr_whep_audio_s *a = opaque;
	if (p->size > sizeof(a->ring[0].data))
		return;
	pthread_mutex_lock(&a->lock);
	if (a->head - a->tail >= _RING) { /* the loop is stuck: keep the newest */
		a->tail++;
		a->dropped++;
	}
	struct _slot_s *s = &a->ring[a->head % _RING];
	s->len = (uint16_t)p->size;
	s->ts = p->ts;
	s->talkspurt = p->talkspurt;
	memcpy(s->data, p->data, p->size);
	a->head++;
	pthread_mutex_unlock(&a->lock);
	cr_whep_notify(a->v->w);
}

int cr_whep_audio_start(struct cr_whep_viewer_s *v)
{
	struct cr_audio_s *au = cr_stream_audio(v->w->streams[v->stream]);
	if (!v->audio || !au)
		return 0;
	v->audio->sub = cr_audio_subscribe(au, _deliver, v->audio);
	return v->audio->sub ? 0 : -ENOMEM;
}

void cr_whep_audio_drain(struct cr_whep_viewer_s *v)
{
	struct cr_whep_audio_s *a = v->audio;
	if (!a)
		return;
	for (;;) {
		struct _slot_s s;
		pthread_mutex_lock(&a->lock);
		bool any = a->tail != a->head;
		if (any)
			s = a->ring[a->tail++ % _RING];
		pthread_mutex_unlock(&a->lock);
		if (!any)
			return;
		cr_rtp_opus(&a->rtp, s.data, s.len, s.ts + a->ts_offset, s.talkspurt);
	}
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
	cr_audio_unsubscribe(a->sub); /* waits for a delivery in progress */
	pthread_mutex_destroy(&a->lock);
	free(a);
	v->audio = NULL;
}
