/* Frame pools follow what the stream needs (core/pool.h): frames a burst
 * made are given back once a steady stream needs fewer, and steady
 * streaming allocates nothing. Counters only (/metrics' pool counters),
 * no timing. */
#include <stdio.h>

#include "core/pool.h"

static int _failed;

static void _check(int ok, const char *what, long got, long want)
{
	printf("%s %s (got %ld, want %ld)\n", ok ? "ok  " : "FAIL", what, got, want);
	_failed |= !ok;
}

int main(void)
{
	struct cr_pool_s *pool = cr_pool_new(CR_PIXFMT_YUV420, 64, 48, 0);
	struct cr_frame_s *burst[5];
	/* a burst: five frames out at once (an encoder opening while frames queue) */
	for (int i = 0; i < 5; i++)
		burst[i] = cr_pool_get(pool);
	for (int i = 0; i < 5; i++)
		cr_frame_unref(burst[i]);
	_check(cr_pool_frames_idle == 5, "after the burst, its frames are idle in the pool", cr_pool_frames_idle, 5);
	/* then a steady stream, one frame out at a time, for three windows */
	for (int i = 0; i < 3 * 64; i++)
		cr_frame_unref(cr_pool_get(pool));
	_check(cr_pool_frames_idle == 1, "a stream taking one frame at a time leaves one idle", cr_pool_frames_idle, 1);
	_check(cr_pool_bytes_idle == 64 * 48 * 3 / 2, "idle bytes: that frame's", cr_pool_bytes_idle, 64 * 48 * 3 / 2);
	/* two frames out at a time (a source filling the next while the encoder holds one) */
	struct cr_frame_s *held = cr_pool_get(pool);
	for (int i = 0; i < 3 * 64; i++) {
		struct cr_frame_s *next = cr_pool_get(pool);
		cr_frame_unref(held);
		held = next;
	}
	cr_frame_unref(held);
	_check(cr_pool_frames_idle == 2, "two out at a time: two kept", cr_pool_frames_idle, 2);
	_check(cr_pool_frames_made == 6, "frames made: the burst's five and one more for the pair", cr_pool_frames_made,
	       6);
	cr_pool_destroy(pool);
	_check(cr_pool_frames_idle == 0 && cr_pool_bytes_idle == 0, "a destroyed pool holds nothing",
	       cr_pool_frames_idle + cr_pool_bytes_idle, 0);
	_check(cr_frames_alive == 0, "no frame alive", cr_frames_alive, 0);
	return _failed;
}
