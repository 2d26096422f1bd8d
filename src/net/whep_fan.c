/* One packetization per stream and codec for all its WHEP viewers (issue
 * 20, fan-out). Before, each viewer ran the payloader on the same access
 * unit and copied every packet into a NACK history of its own (256 slots x
 * 1.27 KB per viewer at 2 Mbit/s): two copies of each packet per viewer.
 * Now a fan (one per stream and encoder, shared by its viewers, freed with
 * the last) runs the payloader once per access unit into a ring of payloads
 * that is also the NACK history; a viewer writes only the 12-byte header
 * (its payload type, SSRC, sequence number, timestamp offset; whep_send.c
 * adds its transport-cc number) and encrypts the payload from the ring
 * straight into the send batch. What a viewer sent is a small map of its
 * own (its sequence number -> the ring's packet index, whep_priv.h
 * cr_whep_sent_s) because viewers skip frames the others get (keyframes on
 * demand, pacer drops, a queue overflow, joining late), so their sequence
 * numbers run apart from the ring's. Written by hand here: no RTP library
 * camrelay links shares packets among sessions with per-session headers.
 *
 * The ring is found by access unit: the last CR_WHEP_FAN_FRAMES units made,
 * by the packet's identity (address, number, timestamps, size), so viewers
 * whose queues hold different units still share those in common. A unit
 * whose packets the ring has overwritten meanwhile (a viewer far behind) is
 * made again. Everything runs on the event loop; nothing here allocates per
 * packet. */
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/stream.h"
#include "net/whep_priv.h"

static void _emit(void *opaque, uint8_t *pkt, size_t len)
{
	struct cr_whep_fan_s *f = opaque;
	struct cr_whep_fan_slot_s *s = &f->slots[f->next_idx & (uint32_t)(f->n - 1)];
	size_t pl = len > CR_RTP_HEADER ? len - CR_RTP_HEADER : 0;
	s->idx = f->next_idx++;
	s->ts = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 | pkt[7];
	s->marker = (pkt[1] & 0x80) != 0;
	/* The slot holds CR_RTP_MAX_PACKET - 12 bytes, all a payloader can make. */
	s->len = (uint16_t)(pl <= f->slot ? pl : 0);
	memcpy(cr_whep_fan_data(f, s), pkt + CR_RTP_HEADER, s->len);
}

struct cr_whep_fan_s *cr_whep_fan_get(struct cr_whep_s *w, int stream, const struct cr_encoder_cfg_s *enc, int n)
{
	/* One per encoder: a VP8/VP9 picture id then counts that encoder's
	 * frames, so a viewer sees no gap in it but where it skipped frames
	 * (and resumes at a keyframe). */
	for (struct cr_whep_fan_s *f = w->fans; f; f = f->next)
		if (f->stream == stream && cr_encoder_cfg_equal(&f->enc, enc)) {
			f->users++;
			return f;
		}
	struct cr_whep_fan_s *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->w = w;
	f->stream = stream;
	f->enc = *enc;
	f->n = n;
	f->slot = CR_RTP_MAX_PACKET - CR_RTP_HEADER;
	f->slots = calloc((size_t)n, sizeof(*f->slots));
	f->data = malloc((size_t)n * f->slot);
	if (!f->slots || !f->data) {
		free(f->slots);
		free(f->data);
		free(f);
		return NULL;
	}
	/* Its header fields are not sent: each viewer writes its own. The
	 * first sequence number seeds the VP8/VP9 picture id (random, as each
	 * viewer's was). */
	cr_rtp_init(&f->rtp, enc->codec, 0, 0, (uint16_t)cr_whep_random32());
	f->rtp.emit = _emit;
	f->rtp.opaque = f;
	f->users = 1;
	f->next = w->fans;
	w->fans = f;
	return f;
}

void cr_whep_fan_put(struct cr_whep_s *w, struct cr_whep_fan_s *f)
{
	if (!f || --f->users > 0)
		return;
	for (struct cr_whep_fan_s **p = &w->fans; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	free(f->slots);
	free(f->data);
	free(f);
}

const struct cr_whep_fan_slot_s *cr_whep_fan_slot(const struct cr_whep_fan_s *f, uint32_t idx)
{
	const struct cr_whep_fan_slot_s *s = &f->slots[idx & (uint32_t)(f->n - 1)];
	return s->idx == idx && s->len && f->next_idx - idx <= (uint32_t)f->n ? s : NULL;
}

static bool _same(const struct cr_whep_fan_frame_s *fr, const struct cr_packet_s *pkt)
{
	return fr->pkt == pkt && fr->seq == pkt->seq && fr->pts == pkt->pts && fr->encoded_ns == pkt->ts_encoded_ns &&
	       fr->size == pkt->size;
}

const struct cr_whep_fan_frame_s *cr_whep_fan_frame(struct cr_whep_fan_s *f, const struct cr_packet_s *pkt)
{
	/* Newest first: viewers that keep up find it at once. */
	for (int k = 0; k < CR_WHEP_FAN_FRAMES; k++) {
		const struct cr_whep_fan_frame_s *fr =
			&f->frames[(f->frame_next + CR_WHEP_FAN_FRAMES - 1 - k) % CR_WHEP_FAN_FRAMES];
		if (!fr->pkt)
			break;
		/* Still whole in the ring, else made again below (one larger than
		 * the ring never is: its tail is sent, not made again per viewer). */
		if (_same(fr, pkt) && (f->next_idx - fr->first <= (uint32_t)f->n || fr->count > f->n))
			return fr;
	}
	struct cr_whep_fan_frame_s *fr = &f->frames[f->frame_next];
	f->frame_next = (f->frame_next + 1) % CR_WHEP_FAN_FRAMES;
	*fr = (struct cr_whep_fan_frame_s){.pkt = pkt, .seq = pkt->seq, .pts = pkt->pts,
					   .encoded_ns = pkt->ts_encoded_ns, .size = pkt->size,
					   .capture_ns = pkt->ts_capture_ns, .first = f->next_idx};
	int r = cr_rtp_payload(&f->rtp, pkt->data, pkt->size, (uint32_t)pkt->pts, pkt->flags & CR_PACKET_KEYFRAME,
			       pkt->width, pkt->height);
	fr->count = r > 0 ? (int)(f->next_idx - fr->first) : 0;
	f->w->fan_units++;
	return fr;
}
