/* WHEP viewers' audio: when the offer has an audio section that can receive
 * Opus and the stream has [stream.X.audio], the answer accepts it (bundled
 * with the video on the same ICE/DTLS transport) and the viewer gets the
 * stream's one Opus encoding (RFC 7587). The audio thread hands each packet
 * to a small ring per viewer (audio/ring.h) and wakes the loop, which
 * payloads, protects and sends it with the video (everything SRTP stays on
 * the loop thread).
 * Sender reports map the audio's RTP time to the NTP time of capture, as
 * the video's do, so the browser plays them in sync.
 *
 * Talk-back (intercom): when the stream has `playback` and the offer's
 * audio is sendrecv, the first such viewer with the control right gets the
 * playback device (audio/talk.h) and an answer with a=sendrecv; its SRTP
 * audio packets go to the device. Any other is answered a=sendonly (it
 * still hears the stream) and told why in the X-Talkback header. */
#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/audio.h"
#include "audio/ring.h"
#include "audio/talk.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/http_access.h"
#include "net/sdp.h"
#include "net/srtp.h"
#include "net/whep_priv.h"

struct cr_whep_audio_s {
	struct cr_whep_viewer_s *v;
	struct cr_audio_ring_s *ring; /* the audio thread writes, the loop reads */
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	int64_t last_sr_ns;
	int pt;
	struct cr_talk_s *talk; /* the stream's, while this viewer talks */
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
	a->pt = pt;
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
	if (a->talk)
		cr_talk_release(a->talk, v->id); /* the device is free for the next talker */
	free(a);
	v->audio = NULL;
}

/* ---- talk-back ---- */

const char *cr_whep_audio_talk(struct cr_whep_viewer_s *v, struct evhttp_request *req,
			       const struct cr_sdp_media_s *m, char *why, size_t n)
{
	struct cr_whep_s *w = v->w;
	struct cr_stream_s *s = w->streams[v->stream];
	const struct cr_audio_cfg_s *ac = &cr_stream_cfg(s)->audio;
	unsigned rights = 0;
	if (!v->audio || !ac->playback[0] || strcmp(m->direction, "sendrecv") != 0)
		return NULL; /* no talk-back here, or none asked for */
	if (!w->talk[v->stream] && !(w->talk[v->stream] = cr_talk_new(cr_stream_name(s), ac->playback, ac->channels)))
		return "refused: out of memory";
	if (cr_http_rights(w->cfg, req, cr_stream_name(s), &rights) < 0 || !(rights & CR_RIGHT_CONTROL)) {
		cr_talk_refused(w->talk[v->stream]);
		snprintf(why, n, "refused: talk-back needs the control right on stream %s", cr_stream_name(s));
		CR_LOG_I("whep", "viewer %s: talk-back %s", v->id, why);
		return why;
	}
	char err[256];
	if (cr_talk_claim(w->talk[v->stream], v->id, err, sizeof(err)) < 0) {
		snprintf(why, n, "refused: %s", err);
		CR_LOG_I("whep", "viewer %s: talk-back %s", v->id, why);
		return why;
	}
	v->audio->talk = w->talk[v->stream];
	v->info.talking = true;
	return "talking";
}

void cr_whep_audio_in(struct cr_whep_viewer_s *v, uint8_t *p, size_t len)
{
	struct cr_whep_audio_s *a = v->audio;
	if (!a || !a->talk) {
		v->w->stats.udp_garbage++; /* media from a viewer that may not talk */
		return;
	}
	if (cr_srtp_unprotect(v->srtp, p, &len) < 0)
		return;
	v->info.talk_packets++;
	cr_talk_rtp(a->talk, p, len, a->pt);
}

static json_t *_talk_json(const struct cr_talk_status_s *st)
{
	json_t *j = json_pack("{s:s, s:s?, s:s?, s:f, s:f, s:f}", "device", st->device, "talker",
			      st->talker[0] ? st->talker : NULL, "message", st->message[0] ? st->message : NULL,
			      "level_dbfs", st->level_dbfs, "delay_p50_ms", st->delay_p50_ms, "delay_p99_ms",
			      st->delay_p99_ms);
	const struct {
		const char *k;
		uint64_t v;
	} c[] = {{"talkers", st->talkers}, {"refused", st->refused}, {"packets", st->packets}, {"bytes", st->bytes},
		 {"bad", st->bad}, {"late", st->late}, {"dropped", st->dropped}, {"decoded", st->decoded},
		 {"fec", st->fec}, {"concealed", st->concealed}, {"underruns", st->underruns},
		 {"device_errors", st->device_errors}};
	for (size_t i = 0; j && i < sizeof(c) / sizeof(c[0]); i++)
		json_object_set_new(j, c[i].k, json_integer((json_int_t)c[i].v));
	return j;
}

json_t *cr_whep_audio_talk_json(struct cr_whep_s *w)
{
	json_t *o = json_object();
	for (int i = 0; o && i < w->n_streams; i++) {
		struct cr_talk_status_s st;
		if (!w->talk[i])
			continue;
		cr_talk_status(w->talk[i], &st);
		json_object_set_new(o, cr_stream_name(w->streams[i]), _talk_json(&st));
	}
	return o;
}

void cr_whep_audio_talk_metrics(struct cr_whep_s *w, struct evbuffer *out)
{
	for (int i = 0; i < w->n_streams; i++) {
		struct cr_talk_status_s st;
		if (!w->talk[i])
			continue;
		cr_talk_status(w->talk[i], &st);
		const char *n = cr_stream_name(w->streams[i]);
		evbuffer_add_printf(out,
				    "camrelay_talkback_active{stream=\"%s\"} %d\n"
				    "camrelay_talkback_talkers_total{stream=\"%s\"} %llu\n"
				    "camrelay_talkback_refused_total{stream=\"%s\"} %llu\n"
				    "camrelay_talkback_packets_total{stream=\"%s\"} %llu\n"
				    "camrelay_talkback_bad_packets_total{stream=\"%s\"} %llu\n"
				    "camrelay_talkback_concealed_total{stream=\"%s\"} %llu\n"
				    "camrelay_talkback_underruns_total{stream=\"%s\"} %llu\n"
				    "camrelay_talkback_level_dbfs{stream=\"%s\"} %.1f\n"
				    "camrelay_talkback_delay_p50_ms{stream=\"%s\"} %.1f\n",
				    n, st.talker[0] != 0, n, (unsigned long long)st.talkers, n,
				    (unsigned long long)st.refused, n, (unsigned long long)st.packets, n,
				    (unsigned long long)st.bad, n, (unsigned long long)(st.concealed + st.fec), n,
				    (unsigned long long)st.underruns, n, st.level_dbfs, n, st.delay_p50_ms);
	}
}

void cr_whep_audio_talk_free(struct cr_whep_s *w)
{
	for (int i = 0; i < CR_MAX_STREAMS; i++) {
		cr_talk_free(w->talk[i]);
		w->talk[i] = NULL;
	}
}
