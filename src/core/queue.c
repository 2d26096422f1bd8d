#include "core/queue.h"

#include <errno.h>
#include <time.h>

#include "core/clock.h"

void cr_queue_init(struct cr_queue_s *q, int depth, void (*unref)(void *item))
{
	*q = (struct cr_queue_s){0};
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	q->depth = depth < 1 ? 1 : depth > CR_QUEUE_MAX ? CR_QUEUE_MAX : depth;
	q->unref = unref;
}

void cr_queue_push(struct cr_queue_s *q, void *item)
{
	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		q->unref(item);
		return;
	}
	/* The oldest go first; more than one after the depth was lowered. */
	void *drop[CR_QUEUE_MAX];
	int n_drop = 0;
	while (q->count >= q->depth) {
		drop[n_drop++] = q->items[q->head];
		q->head = (q->head + 1) % CR_QUEUE_MAX;
		q->count--;
		q->dropped++;
	}
	q->items[(q->head + q->count) % CR_QUEUE_MAX] = item;
	q->count++;
	q->pushed++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < n_drop; i++)
		q->unref(drop[i]);
	if (q->notify)
		q->notify(q->notify_opaque);
}

void cr_queue_set_depth(struct cr_queue_s *q, int depth)
{
	pthread_mutex_lock(&q->lock);
	q->depth = depth < 1 ? 1 : depth > CR_QUEUE_MAX ? CR_QUEUE_MAX : depth;
	pthread_mutex_unlock(&q->lock);
}

void *cr_queue_pop(struct cr_queue_s *q, int timeout_ms)
{
	void *item = NULL;
	struct timespec deadline = cr_timespec_ns(timeout_ms > 0 ? cr_deadline_ns(timeout_ms) : 0);
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&q->cond, &q->lock);
		else if (pthread_cond_timedwait(&q->cond, &q->lock, &deadline) == ETIMEDOUT)
			break;
	}
	if (q->count > 0) {
		item = q->items[q->head];
		q->head = (q->head + 1) % CR_QUEUE_MAX;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

void cr_queue_close(struct cr_queue_s *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void cr_queue_destroy(struct cr_queue_s *q)
{
	void *item;
	cr_queue_close(q);
	while ((item = cr_queue_pop(q, 0)))
		q->unref(item);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}

uint64_t cr_queue_dropped(struct cr_queue_s *q)
{
	uint64_t d;
	cr_queue_counts(q, NULL, &d, NULL);
	return d;
}

void cr_queue_counts(struct cr_queue_s *q, uint64_t *pushed, uint64_t *dropped, int *queued)
{
	pthread_mutex_lock(&q->lock);
	if (pushed)
		*pushed = q->pushed;
	if (dropped)
		*dropped = q->dropped;
	if (queued)
		*queued = q->count;
	pthread_mutex_unlock(&q->lock);
}
