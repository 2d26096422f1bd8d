/* Per-consumer packet rings between the audio thread and an event loop;
 * see ring.h. */
#include "audio/ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cr_audio_ring_s {
	struct cr_audio_sub_s *sub;
	void (*notify)(void *opaque);
	void *opaque;
	pthread_mutex_t lock;
	struct cr_audio_ring_slot_s slot[CR_AUDIO_RING_SLOTS];
	unsigned head, tail; /* free-running */
	uint64_t dropped;
};

/* On the audio thread. */
static void _deliver(const struct cr_audio_packet_s *p, void *opaque)
{
	struct cr_audio_ring_s *q = opaque;
	if (p->size > CR_AUDIO_RING_PAYLOAD)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->head - q->tail >= CR_AUDIO_RING_SLOTS) { /* the loop is stuck: keep the newest */
		q->tail++;
		q->dropped++;
	}
	struct cr_audio_ring_slot_s *s = &q->slot[q->head % CR_AUDIO_RING_SLOTS];
	s->len = (uint16_t)p->size;
	s->codec = (uint8_t)p->codec;
	s->channels = (uint8_t)p->channels;
	s->clock_rate = p->clock_rate;
	s->ts = p->ts;
	s->talkspurt = p->talkspurt;
	memcpy(s->data, p->data, p->size);
	q->head++;
	pthread_mutex_unlock(&q->lock);
	q->notify(q->opaque);
}

struct cr_audio_ring_s *cr_audio_ring_new(struct cr_audio_s *a, void (*notify)(void *opaque), void *opaque)
{
	return cr_audio_ring_new_takes(a, CR_AUDIO_TAKES_OPUS, notify, opaque);
}

struct cr_audio_ring_s *cr_audio_ring_new_takes(struct cr_audio_s *a, unsigned takes, void (*notify)(void *opaque),
						void *opaque)
{
	struct cr_audio_ring_s *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->notify = notify;
	q->opaque = opaque;
	pthread_mutex_init(&q->lock, NULL);
	q->sub = cr_audio_subscribe_takes(a, takes, _deliver, q);
	if (!q->sub) {
		pthread_mutex_destroy(&q->lock);
		free(q);
		return NULL;
	}
	return q;
}

bool cr_audio_ring_pop(struct cr_audio_ring_s *q, struct cr_audio_ring_slot_s *out)
{
	pthread_mutex_lock(&q->lock);
	bool any = q->tail != q->head;
	if (any) {
		const struct cr_audio_ring_slot_s *s = &q->slot[q->tail++ % CR_AUDIO_RING_SLOTS];
		out->len = s->len;
		out->codec = s->codec;
		out->channels = s->channels;
		out->clock_rate = s->clock_rate;
		out->ts = s->ts;
		out->talkspurt = s->talkspurt;
		memcpy(out->data, s->data, s->len);
	}
	pthread_mutex_unlock(&q->lock);
	return any;
}

uint64_t cr_audio_ring_dropped(struct cr_audio_ring_s *q)
{
	pthread_mutex_lock(&q->lock);
	uint64_t n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void cr_audio_ring_free(struct cr_audio_ring_s *q)
{
	if (!q)
		return;
	cr_audio_unsubscribe(q->sub); /* waits for a delivery in progress */
	pthread_mutex_destroy(&q->lock);
	free(q);
}
