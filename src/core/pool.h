/* A pool of same-sized heap frames: frames go back to the pool when their
 * last reference drops, so steady streaming allocates nothing. The pool
 * keeps only as many as were out at once lately (pool.c): frames a burst
 * needed are freed again. */
#ifndef CR_POOL_H
#define CR_POOL_H

#include "core/frame.h"

struct cr_pool_s;

/* Over all pools, for /metrics: idle frames kept for reuse and their pixel
 * bytes (memory a stream holds beyond the frames in flight), and frames
 * pools had to allocate (steady streaming: this stops growing). */
extern atomic_long cr_pool_frames_idle, cr_pool_bytes_idle, cr_pool_frames_made;

/* `max_size` is used for compressed formats (see cr_frame_new). */
struct cr_pool_s *cr_pool_new(enum cr_pixfmt_e fmt, int w, int h, size_t max_size);
/* A frame with refs = 1 (reused or new). NULL only when out of memory. */
struct cr_frame_s *cr_pool_get(struct cr_pool_s *pool);
/* Drops the pool; frames still out are freed when they come back. */
void cr_pool_destroy(struct cr_pool_s *pool);

#endif
