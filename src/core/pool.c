#include "core/pool.h"

#include <pthread.h>
#include <stdlib.h>

#define _POOL_KEEP 8 /* idle frames kept; more are freed */
/* Frames the pool holds (out + idle) follow what the stream needs: the most
 * frames out at once over the last one or two windows of this many gets
 * (~2 s at 30 fps). A burst (an encoder opening while frames queue) makes
 * frames that are then given back, not kept for the stream's lifetime. */
#define _POOL_WINDOW 64

atomic_long cr_pool_frames_idle, cr_pool_bytes_idle, cr_pool_frames_made;

struct cr_pool_s {
	pthread_mutex_t lock;
	enum cr_pixfmt_e format;
	int width, height;
	size_t max_size;
	size_t frame_bytes; /* pixels of one frame, for the counters */
	int refs; /* 1 for the owner + 1 per frame out */
	int peak_prev, peak_cur; /* most frames out at once: last window, this one */
	int gets;                /* in this window */
	int n_free;
	struct cr_frame_s *free_frames[_POOL_KEEP];
	void (*heap_release)(struct cr_frame_s *f);
};

static void _pool_put(struct cr_pool_s *pool)
{
	atomic_fetch_sub(&cr_pool_frames_idle, pool->n_free);
	atomic_fetch_sub(&cr_pool_bytes_idle, (long)pool->frame_bytes * pool->n_free);
	for (int i = 0; i < pool->n_free; i++) {
		struct cr_frame_s *f = pool->free_frames[i];
		f->release = pool->heap_release;
		atomic_store(&f->refs, 1);
		atomic_fetch_add(&cr_frames_alive, 1); /* unref below counts it down */
		cr_frame_unref(f);
	}
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

static void _pool_release(struct cr_frame_s *f)
{
	struct cr_pool_s *pool = f->owner;
	pthread_mutex_lock(&pool->lock);
	pool->refs--;
	int out = pool->refs - 1, need = pool->peak_prev > pool->peak_cur ? pool->peak_prev : pool->peak_cur;
	if (pool->refs > 0 && pool->n_free < _POOL_KEEP && out + pool->n_free < need) {
		pool->free_frames[pool->n_free++] = f;
		pthread_mutex_unlock(&pool->lock);
		atomic_fetch_add(&cr_pool_frames_idle, 1);
		atomic_fetch_add(&cr_pool_bytes_idle, (long)pool->frame_bytes);
		return;
	}
	int last = pool->refs == 0;
	pthread_mutex_unlock(&pool->lock);
	f->release = pool->heap_release;
	pool->heap_release(f);
	if (last)
		_pool_put(pool);
}

struct cr_pool_s *cr_pool_new(enum cr_pixfmt_e fmt, int w, int h, size_t max_size)
{
	struct cr_pool_s *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pthread_mutex_init(&pool->lock, NULL);
	pool->format = fmt;
	pool->width = w;
	pool->height = h;
	pool->max_size = max_size;
	pool->frame_bytes = cr_pixfmt_frame_size(fmt, w, h) ? cr_pixfmt_frame_size(fmt, w, h) : max_size;
	pool->refs = 1;
	return pool;
}

struct cr_frame_s *cr_pool_get(struct cr_pool_s *pool)
{
	struct cr_frame_s *f = NULL;
	pthread_mutex_lock(&pool->lock);
	if (pool->n_free > 0)
		f = pool->free_frames[--pool->n_free];
	pool->refs++;
	if (pool->refs - 1 > pool->peak_cur)
		pool->peak_cur = pool->refs - 1;
	if (++pool->gets == _POOL_WINDOW) {
		pool->peak_prev = pool->peak_cur;
		pool->peak_cur = pool->refs - 1;
		pool->gets = 0;
	}
	pthread_mutex_unlock(&pool->lock);
	if (f) {
		atomic_fetch_sub(&cr_pool_frames_idle, 1);
		atomic_fetch_sub(&cr_pool_bytes_idle, (long)pool->frame_bytes);
		atomic_store(&f->refs, 1);
		atomic_fetch_add(&cr_frames_alive, 1);
	} else {
		f = cr_frame_new(pool->format, pool->width, pool->height, pool->max_size);
		if (!f) {
			pthread_mutex_lock(&pool->lock);
			pool->refs--;
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		atomic_fetch_add(&cr_pool_frames_made, 1);
		pool->heap_release = f->release;
		f->release = _pool_release;
		f->owner = pool;
	}
	f->seq = 0;
	f->ts_capture_ns = 0;
	f->placeholder = 0;
	f->full_range = false;
	if (cr_pixfmt_frame_size(f->format, f->width, f->height) == 0)
		f->size = 0;
	return f;
}

void cr_pool_destroy(struct cr_pool_s *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	int last = --pool->refs == 0;
	pthread_mutex_unlock(&pool->lock);
	if (last)
		_pool_put(pool);
}
