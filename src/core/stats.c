#include "core/stats.h"

#include <stdlib.h>
#include <string.h>

void cr_latency_init(struct cr_latency_s *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
}

void cr_latency_add_ns(struct cr_latency_s *l, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	uint64_t us = (uint64_t)ns / 1000;
	pthread_mutex_lock(&l->lock);
	l->samples[l->next] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	l->next = (l->next + 1) % CR_LATENCY_SAMPLES;
	if (l->n < CR_LATENCY_SAMPLES)
		l->n++;
	pthread_mutex_unlock(&l->lock);
}

static int _cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

uint32_t cr_latency_percentile(struct cr_latency_s *l, int p)
{
	uint32_t tmp[CR_LATENCY_SAMPLES];
	pthread_mutex_lock(&l->lock);
	unsigned n = l->n;
	memcpy(tmp, l->samples, n * sizeof(tmp[0]));
	pthread_mutex_unlock(&l->lock);
	if (n == 0)
		return 0;
	qsort(tmp, n, sizeof(tmp[0]), _cmp_u32);
	unsigned i = (unsigned)((uint64_t)(n - 1) * (unsigned)p / 100);
	return tmp[i];
}

void cr_latency_destroy(struct cr_latency_s *l)
{
	pthread_mutex_destroy(&l->lock);
}
