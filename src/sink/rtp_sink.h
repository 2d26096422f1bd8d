/* The plain RTP sink's figures (sink/rtp.c), for /api/streams: what its
 * receiver said over RTCP. */
#ifndef CR_RTP_SINK_H
#define CR_RTP_SINK_H

#include <stdint.h>

/* The rtp sink's own keys (its block in struct cr_sink_cfg_s; the option
 * table in rtp.c). */
struct cr_rtp_sink_opts_s {
	char address[128]; /* host:port the RTP goes to (RTCP +1) */
};

struct cr_rtp_sink_info_s {
	char stream[64];
	char address[128];
	uint64_t rtcp_packets, plis, firs, keyframes_requested;
	uint64_t remb_bps;
	double fraction_lost, jitter_ms;
	/* PLI/FIR -> keyframe: requests answered by a keyframe, and the time
	 * from the request reaching the socket to that keyframe's first packet
	 * (the last one, the longest) */
	uint64_t keyframes_answered;
	double keyframe_delay_ms, keyframe_delay_max_ms;
	/* What it sends, from the core's caps events: size and how many times
	 * the caps changed (1 = the first caps). */
	int width, height;
	uint64_t caps_generation;
};

/* Every open RTP sink (any thread). */
void cr_rtp_sink_foreach(void (*fn)(const struct cr_rtp_sink_info_s *, void *), void *opaque);

#endif
