/* A bounded queue that keeps the newest items: pushing into a full queue
 * drops the oldest one (counted). Live video prefers latency over
 * completeness, and a slow consumer must never block its producer. */
#ifndef CR_QUEUE_H
#define CR_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define CR_QUEUE_MAX 16

struct cr_queue_s {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *items[CR_QUEUE_MAX];
	int head, count, depth;
	bool closed;
	uint64_t pushed, dropped;
	void (*unref)(void *item); /* drops an item that is thrown away */
	/* Optional: called after a push, outside the lock (e.g. wake an event loop). */
	void (*notify)(void *opaque);
	void *notify_opaque;
};

void cr_queue_init(struct cr_queue_s *q, int depth, void (*unref)(void *item));
/* Takes over the caller's reference to item. Never blocks. */
void cr_queue_push(struct cr_queue_s *q, void *item);
/* Lowering it below what waits drops the oldest at the next push: lower
 * it once the queue has drained (cr_queue_counts). */
void cr_queue_set_depth(struct cr_queue_s *q, int depth);
/* Waits up to timeout_ms (-1 forever, 0 not at all). NULL on timeout or close. */
void *cr_queue_pop(struct cr_queue_s *q, int timeout_ms);
/* Wakes waiters; later pushes are dropped. */
void cr_queue_close(struct cr_queue_s *q);
/* Drops what is queued and frees the lock. */
void cr_queue_destroy(struct cr_queue_s *q);
uint64_t cr_queue_dropped(struct cr_queue_s *q);
/* Items pushed and dropped so far, and waiting now (each may be NULL). */
void cr_queue_counts(struct cr_queue_s *q, uint64_t *pushed, uint64_t *dropped, int *queued);

#endif
