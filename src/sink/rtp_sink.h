/* The plain RTP sink's figures (sink/rtp.c), for /api/streams: what its
 * receiver said over RTCP. */
#ifndef CR_RTP_SINK_H
#define CR_RTP_SINK_H

#include <stdint.h>

struct cr_rtp_sink_info_s {
	char stream[64];
	char address[128];
	uint64_t rtcp_packets, plis, firs, keyframes_requested;
	uint64_t remb_bps;
	double fraction_lost, jitter_ms;
};

/* Every open RTP sink (any thread). */
void cr_rtp_sink_foreach(void (*fn)(const struct cr_rtp_sink_info_s *, void *), void *opaque);

#endif
