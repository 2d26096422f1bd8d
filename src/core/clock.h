#ifndef CR_CLOCK_H
#define CR_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds: the time base of every frame and packet. */
static inline int64_t cr_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The one place for deadline arithmetic: an absolute CLOCK_MONOTONIC time
 * timeout_ms from now, the same as a timespec (for clock_nanosleep and
 * pthread_cond_timedwait on a CLOCK_MONOTONIC condition), and the
 * milliseconds left until one (rounded up; 0 when past: a poll() timeout). */
static inline int64_t cr_deadline_ns(int64_t timeout_ms)
{
	return cr_now_ns() + timeout_ms * 1000000LL;
}

static inline struct timespec cr_timespec_ns(int64_t t)
{
	return (struct timespec){.tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL};
}

static inline int cr_ms_left(int64_t deadline_ns)
{
	int64_t left = deadline_ns - cr_now_ns();
	return left <= 0 ? 0 : left >= 2000000000LL * 1000000LL ? 2000000000 : (int)((left + 999999) / 1000000);
}

/* Sleeps until an absolute CLOCK_MONOTONIC time. */
static inline void cr_sleep_until_ns(int64_t t)
{
	struct timespec ts = cr_timespec_ns(t);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
	}
}

#endif
