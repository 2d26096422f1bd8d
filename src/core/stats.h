/* Per-stream counters and latency figures, read by /api/streams and /metrics. */
#ifndef CR_STATS_H
#define CR_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define CR_LATENCY_SAMPLES 512

/* The last N latency samples (microseconds); percentiles on demand. */
struct cr_latency_s {
	pthread_mutex_t lock;
	uint32_t samples[CR_LATENCY_SAMPLES];
	unsigned n, next;
};

void cr_latency_init(struct cr_latency_s *l);
void cr_latency_add_ns(struct cr_latency_s *l, int64_t ns);
/* p in 0..100; returns microseconds, 0 when empty. */
uint32_t cr_latency_percentile(struct cr_latency_s *l, int p);
void cr_latency_destroy(struct cr_latency_s *l);

struct cr_stream_stats_s {
	atomic_uint_least64_t frames_captured;
	atomic_uint_least64_t frames_placeholder;
	atomic_uint_least64_t frames_converted;
	atomic_uint_least64_t packets_encoded;
	atomic_uint_least64_t bytes_copied;   /* CPU copies of frame data (conversions included) */
	atomic_uint_least64_t reconnects;
	atomic_uint_least64_t source_opens; /* the source opened (at start, after a failure, a reload's restart) */
	atomic_uint_least64_t encoders_opened; /* encoder (re)starts: sharing keeps it at one per setting */
	atomic_uint_least64_t frames_copied; /* a capture copied a frame out of its buffer: consumers held the others */
	atomic_uint_least64_t frames_device_skipped; /* frames the device itself dropped (V4L2 sequence gaps) */
	atomic_uint_least64_t clock_moves; /* a paced source (a file) fell 0.5 s behind and moved its clock on */
	struct cr_latency_s capture_to_encoded;
	struct cr_latency_s capture_to_sent;
};

#endif
