/* A viewer's available bitrate, estimated from what it reports: transport-cc
 * feedback (delay-based, in the spirit of Google Congestion Control,
 * draft-ietf-rmcat-gcc-02), loss (transport-cc or receiver reports) and
 * REMB. See gcc.c for the method. Hand-written: no Debian library has it. */
#ifndef CR_GCC_H
#define CR_GCC_H

#include <stdbool.h>
#include <stdint.h>

#include "rtp/rtp.h"

#define CR_GCC_HIST 1024 /* packets remembered by transport sequence number */
#define CR_GCC_TREND 20  /* packet groups in the trendline's window */

enum cr_gcc_usage_e { CR_GCC_NORMAL = 0, CR_GCC_OVERUSE, CR_GCC_UNDERUSE };

struct cr_gcc_sent_s {
	int64_t send_us;
	uint16_t seq;
	uint16_t size;
	bool used;
};

struct cr_gcc_s {
	int64_t min_bps, max_bps; /* the estimate stays between */
	/* Growth stops at 1.5 x the acknowledged rate + 100 kbit/s (GCC's cap:
	 * an encoder that sends less than asked gives no evidence of more).
	 * Off for a viewer served only keyframes (whep_cc.c): how it finds out
	 * that its link came back. */
	bool app_limited;
	int64_t delay_bps, loss_bps, remb_bps; /* the three bounds; remb 0 = none */
	int64_t estimate_bps;                  /* min of them */
	/* Packet groups (5 ms of sending): the previous closed one and the open one. */
	bool have_prev, have_cur;
	int64_t prev_send_us, prev_arrival_us;
	int64_t cur_first_send_us, cur_send_us, cur_arrival_us, cur_first_arrival_us;
	/* Trendline filter over the accumulated delay variation. */
	double acc_ms, smoothed_ms;
	double trend_x[CR_GCC_TREND], trend_y[CR_GCC_TREND];
	int n_trend, trend_pos;
	int64_t first_arrival_us;
	double trend, prev_trend, threshold_ms;
	int64_t overuse_start_us, last_threshold_us;
	int overuse_count;
	enum cr_gcc_usage_e usage;
	/* Rate control. */
	int64_t last_update_us, last_decrease_us;
	double link_bps, link_var; /* average acknowledged rate at the cuts, and its variance (relative) */
	double old_link_bps;       /* the last link_bps forgotten (0 = none) */
	bool after_heavy;          /* a heavy-loss or ramp cut, no overuse cut since */
	int64_t heavy_us;          /* when: loss of packets sent before it is not counted again */
	/* The smallest one-way delay (receiver's clock minus ours) in this and
	 * the last 5 s window: the path without a queue. */
	int64_t owd_min[2], owd_window_us;
	bool owd_known[2];
	/* A queue building up fast (the link fell far below the rate): the
	 * packets that arrived since the queueing delay went over 20 ms, their
	 * bytes (the first one's left out: it starts the span), first and last
	 * send and arrival times, and the last one's queueing delay. */
	uint32_t ramp_n;
	int64_t ramp_bytes, ramp_first_send_us, ramp_last_send_us, ramp_first_arrival_us, ramp_last_arrival_us;
	int64_t ramp_queue_us;
	int64_t queue_us, queue_arrival_us; /* the queueing delay of the packet that arrived last, and when */
	/* Acknowledged rate: bytes that arrived over the last window. */
	int64_t acked_bytes, acked_start_us, acked_bps;
	/* Loss over the feedback since the last loss update, with the bytes that
	 * arrived and the span of their arrival times (the received rate). */
	uint32_t loss_recv, loss_lost;
	int64_t loss_bytes, loss_first_arrival_us, loss_last_arrival_us, loss_start_us;
	/* What the sender asks of the encoder for this viewer (whep_cc.c; 0 =
	 * unknown): growth is capped on it too while the encoder undershoots. */
	int64_t encoder_bps;
	int64_t loss_update_us;
	double loss; /* the last fraction used */
	uint16_t next_seq; /* the next feedback's first new number */
	bool next_known;
	/* Counters for /api. */
	uint64_t feedbacks, overuses, packets_acked, packets_lost, remb_packets;
	uint64_t loss_cuts; /* cuts to the received rate at heavy loss or a queue ramp (whep_cc.c: a keyframe follows) */
	uint64_t ramp_cuts; /* of which at a queue ramp */
	struct cr_gcc_sent_s sent[CR_GCC_HIST];
};

/* start_bps: the estimate before any feedback. */
void cr_gcc_init(struct cr_gcc_s *g, int64_t start_bps, int64_t min_bps, int64_t max_bps);
/* A packet that went out carrying transport sequence number seq. */
void cr_gcc_sent(struct cr_gcc_s *g, uint16_t seq, size_t size, int64_t now_us);
/* Feeds one parsed RTCP compound (transport-cc, REMB, receiver report loss
 * for media_ssrc). Returns true when the estimate may have changed. */
bool cr_gcc_feedback(struct cr_gcc_s *g, const struct cr_rtcp_info_s *ri, uint32_t media_ssrc, int64_t now_us);
const char *cr_gcc_usage_name(enum cr_gcc_usage_e u);

#endif
