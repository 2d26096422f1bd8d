/* A fast pseudo-random generator for what needs no secrecy (test-source
 * noise, timing jitter): xorshift64*. The state must start non-zero;
 * anything secret (keys, ICE credentials, transaction ids) comes from
 * getrandom instead. */
#ifndef CR_RAND_H
#define CR_RAND_H

#include <stdint.h>

static inline uint32_t cr_xorshift32(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

#endif
