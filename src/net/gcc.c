/* Bandwidth estimation for one WHEP viewer (gcc.h). Hand-written, in the
 * spirit of Google Congestion Control (draft-ietf-rmcat-gcc-02; the
 * trendline variant of libwebrtc):
 *
 * - Delay-based. Every outgoing video packet carries a transport-wide
 *   sequence number; its send time is kept here. Transport-cc feedback says
 *   when each arrived. Packets sent within 5 ms form a group, and so does
 *   a packet that arrived within 5 ms of the group's last one and sooner
 *   than its send time says (a burst, as libwebrtc: a receiver that read its
 *   socket late; up to 100 ms); for two consecutive groups the one-way
 *   delay variation is
 *   d = (arrival delta) - (send delta). d is summed and smoothed (0.9/0.1),
 *   and a least-squares line is fitted to the last 20 (arrival time,
 *   smoothed delay) points: its slope, scaled by min(groups, 60) * 4, is the
 *   trend. A queue growing somewhere on the path makes it positive. Trend
 *   above an adaptive threshold (6..600, starting at 12.5; it follows |trend|
 *   at 0.0087/ms when above, 0.039/ms when below) for over 10 ms and still
 *   rising = overuse; below -threshold = underuse; else normal.
 * - Rate control (AIMD) on that signal: overuse cuts the rate to 0.9 x the
 *   acknowledged rate (bytes on the wire the feedback says arrived, over
 *   0.5 s windows) but to no less than 0.85 x itself, at most once per
 *   200 ms, and the acknowledged rate at
 *   the cut feeds an average of the link's capacity; underuse holds; normal
 *   grows it: by 96 kbit/s a second while the acknowledged rate is within 3
 *   deviations of that capacity (one 1200-byte packet per 100 ms response
 *   time, as libwebrtc with a short round trip); above, the capacity is
 *   forgotten and growth is multiplicative: 8 %/s within 2 s of a cut or
 *   while the acknowledged rate is under 1.15 x the capacity just
 *   forgotten or after a heavy-loss or ramp cut far under the capacity
 *   (or with none known) until an overuse cut, 50 %/s
 *   once it is over 1.5 x that capacity (the link came back), else 25 %/s
 *   (no probing packets are sent: the faster growth is what finds a
 *   recovered link again). Never past 1.5 x the acknowledged rate + 100
 *   kbit/s, or 1.5 x what the encoder was asked for when the viewer
 *   receives at least half of that (an encoder that undershoots its target
 *   is no sign of a slow link), unless app_limited. The packets leave paced
 *   (whep_send.c), so a frame's burst does not read as a queue building up.
 * - Queue ramp: a link that fell far under the rate (tbf at 600 kbit/s under
 *   3.5 Mbit/s) fills its queue in tens of ms, and a short queue overflows:
 *   that loss shows in feedback only once the packets behind it got through
 *   the full queue (0.36-0.53 s after the drop with tbf's 200 ms), and the
 *   trendline needs its 20 groups. The queue itself shows sooner: packets
 *   arrive later and later, at the link's rate. Packets arriving with over
 *   20 ms of queueing delay (one-way delay over the path's smallest) form a
 *   ramp; one of at least 8 packets over 100 ms of arrivals, the last
 *   delayed over 50 ms, that took twice as long to arrive as to send (the
 *   link carries under half the rate sent: the pacer's 1.5 x over a link at
 *   the estimate is not one) cuts the delay bound at once to 0.7 x the rate
 *   it arrived at (libwebrtc cuts an overuse to 0.85 x the throughput
 *   measured over the packets' arrival times; here over a shorter window,
 *   and Chromium's arrival times, read in batches, made 100 ms of them
 *   1.2-1.3 x the link: at 0.85 of that the queue stayed full). The loss
 *   bound is not cut by this delay-based rule, as in libwebrtc (the
 *   estimate is the smaller bound anyway).
 *   Packets that arrive bunched (a receiver reading its socket late) arrive
 *   faster than they were sent: no ramp. The cut was 0.26-0.4 s after
 *   the drop in the Chromium test, before any loss was reported.
 * - Loss-based bound: loss over at least 0.5 s and 20 packets of transport-cc
 *   feedback (or the receiver report's fraction lost when the viewer sends
 *   no transport-cc): above 10 % the bound is cut by half the loss; under 2 %
 *   it grows as the delay-based rate does; between, it holds. Heavy loss
 *   (over 20 % of 30 packets since the last update, or of 20 in one
 *   feedback: a link that dropped under the rate overflows its queue before
 *   the trend shows it), when the packets that arrived after the loss
 *   waited 20 ms over the path's smallest one-way delay (a full queue: not
 *   a burst lost once), cuts both bounds at once to 0.85 x the rate at
 *   which those arrived (or by half the loss). After a ramp or heavy-loss
 *   cut whep_cc.c has a small keyframe made at the new rate, sent once
 *   half the queue seen (queue_us) has drained; loss of packets sent
 *   before the cut is not counted again. A ramp or heavy-loss cut that
 *   lands at >= 0.5 x the link capacity known from the overuse cuts keeps
 *   it (libwebrtc's AIMD keeps its link capacity estimate at a decrease
 *   near it, growth toward it is additive); only one far under it (a link
 *   that dropped) forgets it and grows carefully.
 * - REMB, when the viewer sends it, is a third bound.
 * The estimate is the smallest of the three, kept within [min, max]. */
#include <math.h>
#include <string.h>

#include "net/gcc.h"

#define _GROUP_US 5000
#define _TREND_GAIN 4.0
#define _SMOOTHING 0.9
#define _OVERUSE_MS 10.0
#define _ACK_WINDOW_US 500000
#define _DECREASE_GAP_US 200000
#define _FAST_AFTER_US 2000000
/* Additive growth near the link: one 1200-byte packet per response time
 * (100 ms + a LAN's round trip), as libwebrtc's AIMD with a short RTT. */
#define _NEAR_BPS_PER_S 96000.0
/* Overuse cuts to this much of the acknowledged rate (libwebrtc: 0.85; with
 * 0.85 the 3 Mbit/s sawtooth sat at 0.76 x the link, the additive growth
 * taking 5-7 s to climb back from each cut). */
#define _BETA 0.9
/* A queue ramp: packets arriving with over 20 ms of queueing delay for
 * 100 ms and at least 8 packets, the last over 50 ms, taking twice as long
 * to arrive as they took to send (the link carries less than half the
 * rate sent); the window starts again after 1 s. */
#define _RAMP_START_US 20000
#define _RAMP_QUEUE_US 50000
#define _RAMP_SPAN_US 100000
#define _RAMP_MAX_US 1000000
#define _RAMP_MIN_PACKETS 8
/* Cut to this much of the rate they arrived at: over 100 ms Chromium's
 * arrival times (read in batches) made it 1.2-1.3 x the link, and at 0.85
 * of that the queue stayed full (the keyframe lost packets in it). */
#define _RAMP_BETA 0.7
/* A cut at once that lands at or above this much of the link capacity known
 * from the overuse cuts keeps it (_fast_cut). */
#define _NEAR_LINK 0.5
/* Heavy loss: over 20 % of at least 30 packets of feedback. */
#define _HEAVY_LOSS 0.2
#define _HEAVY_MIN_PACKETS 30

static int64_t _clamp(const struct cr_gcc_s *g, double v)
{
	if (v < (double)g->min_bps)
		return g->min_bps;
	if (v > (double)g->max_bps)
		return g->max_bps;
	return (int64_t)v;
}

void cr_gcc_init(struct cr_gcc_s *g, int64_t start_bps, int64_t min_bps, int64_t max_bps)
{
	memset(g, 0, sizeof(*g));
	g->min_bps = min_bps > 0 ? min_bps : 1;
	g->max_bps = max_bps > g->min_bps ? max_bps : g->min_bps;
	g->delay_bps = g->loss_bps = g->estimate_bps = _clamp(g, (double)start_bps);
	g->threshold_ms = 12.5;
}

void cr_gcc_sent(struct cr_gcc_s *g, uint16_t seq, size_t size, int64_t now_us)
{
	struct cr_gcc_sent_s *s = &g->sent[seq % CR_GCC_HIST];
	s->seq = seq;
	s->size = (uint16_t)(size > 65535 ? 65535 : size);
	s->send_us = now_us;
	s->used = true;
}

const char *cr_gcc_usage_name(enum cr_gcc_usage_e u)
{
	return u == CR_GCC_OVERUSE ? "overuse" : u == CR_GCC_UNDERUSE ? "underuse" : "normal";
}

/* The overuse detector with its adaptive threshold. */
static void _detect(struct cr_gcc_s *g, double modified, double dt_ms, int64_t arrival_us)
{
	double a = fabs(modified);
	if (modified > g->threshold_ms) {
		g->overuse_count++;
		g->overuse_start_us += (int64_t)(dt_ms * 1000);
		if (g->overuse_start_us > (int64_t)(_OVERUSE_MS * 1000) && g->overuse_count > 1 &&
		    g->trend >= g->prev_trend) {
			g->usage = CR_GCC_OVERUSE;
			g->overuse_start_us = 0;
			g->overuse_count = 0;
		}
	} else if (modified < -g->threshold_ms) {
		g->usage = CR_GCC_UNDERUSE;
		g->overuse_start_us = 0;
		g->overuse_count = 0;
	} else {
		g->usage = CR_GCC_NORMAL;
		g->overuse_start_us = 0;
		g->overuse_count = 0;
	}
	g->prev_trend = g->trend;
	if (g->last_threshold_us == 0)
		g->last_threshold_us = arrival_us;
	if (a <= g->threshold_ms + 15.0) { /* a spike does not move it */
		double k = a < g->threshold_ms ? 0.039 : 0.0087;
		double t = (double)(arrival_us - g->last_threshold_us) / 1000.0;
		t = t < 0 ? 0 : t > 100 ? 100 : t;
		g->threshold_ms += k * (a - g->threshold_ms) * t;
		g->threshold_ms = g->threshold_ms < 6 ? 6 : g->threshold_ms > 600 ? 600 : g->threshold_ms;
	}
	g->last_threshold_us = arrival_us;
}

/* One delay variation sample (ms) between two groups. */
static void _trendline(struct cr_gcc_s *g, double d_ms, double dt_ms, int64_t arrival_us)
{
	if (g->n_trend == 0 && g->first_arrival_us == 0)
		g->first_arrival_us = arrival_us;
	g->acc_ms += d_ms;
	g->smoothed_ms = _SMOOTHING * g->smoothed_ms + (1 - _SMOOTHING) * g->acc_ms;
	g->trend_x[g->trend_pos] = (double)(arrival_us - g->first_arrival_us) / 1000.0;
	g->trend_y[g->trend_pos] = g->smoothed_ms;
	g->trend_pos = (g->trend_pos + 1) % CR_GCC_TREND;
	if (g->n_trend < 1000)
		g->n_trend++;
	if (g->n_trend < CR_GCC_TREND)
		return;
	double mx = 0, my = 0;
	for (int i = 0; i < CR_GCC_TREND; i++)
		mx += g->trend_x[i], my += g->trend_y[i];
	mx /= CR_GCC_TREND, my /= CR_GCC_TREND;
	double num = 0, den = 0;
	for (int i = 0; i < CR_GCC_TREND; i++) {
		num += (g->trend_x[i] - mx) * (g->trend_y[i] - my);
		den += (g->trend_x[i] - mx) * (g->trend_x[i] - mx);
	}
	if (den > 0)
		g->trend = num / den;
	int n = g->n_trend < 60 ? g->n_trend : 60;
	_detect(g, g->trend * n * _TREND_GAIN, dt_ms, arrival_us);
}

/* Part of the current group's burst (libwebrtc's BelongsToBurst): it arrived
 * within 5 ms of the group's last packet and sooner than its send time
 * says, the group not yet 100 ms long. A receiver that reads its socket
 * late (a busy CPU) gets packets of several groups at once: as one group
 * they show no queue, as several they read as one building up. */
static bool _burst(const struct cr_gcc_s *g, int64_t send_us, int64_t arrival_us)
{
	int64_t da = arrival_us - g->cur_arrival_us, ds = send_us - g->cur_send_us;
	return ds == 0 || (da - ds < 0 && da <= _GROUP_US && arrival_us - g->cur_first_arrival_us < 100000);
}

/* A packet that arrived: grouped by send time, groups compared in pairs. */
static void _arrived(struct cr_gcc_s *g, int64_t send_us, int64_t arrival_us)
{
	if (!g->have_cur) {
		g->cur_first_send_us = g->cur_send_us = send_us;
		g->cur_arrival_us = g->cur_first_arrival_us = arrival_us;
		g->have_cur = true;
		return;
	}
	if (send_us < g->cur_first_send_us)
		return; /* reordered: left out */
	if (send_us - g->cur_first_send_us <= _GROUP_US || _burst(g, send_us, arrival_us)) {
		g->cur_send_us = send_us > g->cur_send_us ? send_us : g->cur_send_us;
		g->cur_arrival_us = arrival_us > g->cur_arrival_us ? arrival_us : g->cur_arrival_us;
		return;
	}
	if (g->have_prev) {
		int64_t ds = g->cur_send_us - g->prev_send_us, da = g->cur_arrival_us - g->prev_arrival_us;
		_trendline(g, (double)(da - ds) / 1000.0, (double)da / 1000.0, g->cur_arrival_us);
	}
	g->prev_send_us = g->cur_send_us;
	g->prev_arrival_us = g->cur_arrival_us;
	g->have_prev = true;
	g->cur_first_send_us = g->cur_send_us = send_us;
	g->cur_arrival_us = g->cur_first_arrival_us = arrival_us;
}

/* The rate after dt_s of growth: additive (_NEAR_BPS_PER_S) while the
 * acknowledged rate is within 3 deviations of the link capacity seen at the
 * last cuts; else multiplicative, 8 %/s, or 25 %/s once 2 s passed without
 * a cut. */
static double _grow(struct cr_gcc_s *g, double bps, int64_t now_us, double dt_s)
{
	if (g->link_bps > 0) {
		double dev = sqrt(g->link_var) * g->link_bps;
		/* Forgotten when what arrives (not the estimate, which runs ahead of
		 * an encoder that undershoots) is far above it: the link changed. */
		if ((double)g->acked_bps <= g->link_bps + 3 * dev)
			return bps + _NEAR_BPS_PER_S * dt_s;
		g->old_link_bps = g->link_bps;
		g->link_bps = 0;
	}
	/* Careful (8 %/s) just after a cut, after a heavy-loss or ramp cut until an
	 * overuse cut tells the link's capacity (15 %/s overshot a 600 kbit/s
	 * link to 1.3 x before the undershooting encoder filled it), and while
	 * what arrives is still near the link just forgotten (below 1.15 x: the
	 * link did not change, the sawtooth around it went a bit higher);
	 * 50 %/s once it is over 1.5 x that link (it came back). */
	double acked = (double)g->acked_bps, per_s = 1.25;
	if (now_us - g->last_decrease_us < _FAST_AFTER_US || g->after_heavy ||
	    (g->old_link_bps > 0 && acked < 1.15 * g->old_link_bps))
		per_s = 1.08;
	else if (g->old_link_bps > 0 && acked > 1.5 * g->old_link_bps)
		per_s = 1.5;
	return bps * pow(per_s, dt_s);
}

/* A cut at the acknowledged rate acked: the link capacity's average. */
static void _link_sample(struct cr_gcc_s *g, double acked)
{
	if (acked <= 0)
		return;
	double dev = sqrt(g->link_var) * g->link_bps;
	if (g->link_bps <= 0 || fabs(acked - g->link_bps) > 3 * dev + 0.1 * g->link_bps) {
		g->link_bps = acked; /* none yet, or far from it: a new link */
		g->link_var = 0.0025;
		return;
	}
	double e = (acked - g->link_bps) / g->link_bps;
	g->link_bps = 0.95 * g->link_bps + 0.05 * acked;
	g->link_var = 0.95 * g->link_var + 0.05 * e * e;
	g->link_var = g->link_var < 0.0004 ? 0.0004 : g->link_var > 0.0025 ? 0.0025 : g->link_var; /* 2..5 % */
}

static void _loss_update(struct cr_gcc_s *g, double loss, int64_t now_us)
{
	double dt = g->loss_update_us ? (double)(now_us - g->loss_update_us) / 1e6 : 0;
	dt = dt > 1 ? 1 : dt;
	g->loss = loss;
	g->loss_update_us = now_us;
	if (loss > 0.10) {
		g->loss_bps = _clamp(g, (double)g->loss_bps * (1 - 0.5 * loss));
		g->last_decrease_us = now_us;
	} else if (loss < 0.02) {
		g->loss_bps = _clamp(g, _grow(g, (double)g->loss_bps, now_us, dt));
	}
}

/* The path's one-way delay without a queue: the smallest in this and the
 * last 5 s window (receiver's clock minus ours: only differences count). */
static int64_t _owd_base(const struct cr_gcc_s *g)
{
	int64_t base = g->owd_min[0];
	if (g->owd_known[1] && (!g->owd_known[0] || g->owd_min[1] < base))
		base = g->owd_min[1];
	return base;
}

/* A cut at once for a link that dropped far under the rate (heavy loss, a
 * queue ramp) to r; recv the rate that arrived (0: not known). Heavy loss
 * cuts both bounds; a ramp, a delay-based signal, the delay bound only (as
 * libwebrtc, whose delay-based estimator does not move the loss-based
 * one's state: the estimate is the smaller of the two anyway). */
static void _fast_cut(struct cr_gcc_s *g, double r, double recv, int64_t now_us, bool ramp)
{
	if (!ramp && r < (double)g->loss_bps)
		g->loss_bps = _clamp(g, r);
	double d = ramp ? r : (double)g->loss_bps;
	if ((double)g->delay_bps > d)
		g->delay_bps = _clamp(g, d);
	/* The link's capacity known from the overuse cuts stays when the cut
	 * lands near it (at least _NEAR_LINK x it: a burst of the encoder's, a
	 * short dip, filled the queue of the same link): libwebrtc's AIMD keeps
	 * its link capacity estimate at a decrease near it and grows additively
	 * toward it, and resets it only when what arrives is far from it. Session
	 * 12's clean-clone run: a late cut to 500 kbit/s at the 600 kbit/s link
	 * forgot it and the estimate climbed 8 %/s after the link came back, 0.8 x
	 * of 3 Mbit/s after 21 s. Far under it (a link that dropped: 3.5 Mbit/s
	 * -> 600 kbit/s cuts to 0.15-0.2 x), the cut is not a sample of the link
	 * (the received rate read 0.55-0.85 x the link in the runs, tbf at 600
	 * kbit/s): it is forgotten, and growth stays moderate until an overuse
	 * cut gives one. */
	if (g->link_bps <= 0 || r < _NEAR_LINK * g->link_bps) {
		g->link_bps = g->old_link_bps = 0;
		g->after_heavy = true;
	}
	/* The acknowledged rate restarts from what arrives now: its window
	 * still held the rate before the drop (an overuse cut right after took
	 * 1.5 Mbit/s for the 600 kbit/s link's capacity). */
	if (recv > 0)
		g->acked_bps = (int64_t)recv;
	g->acked_bytes = 0;
	g->acked_start_us = now_us;
	g->loss_update_us = g->last_decrease_us = g->heavy_us = now_us;
	g->loss_recv = g->loss_lost = 0;
	g->loss_bytes = 0;
	g->ramp_n = 0;
	g->loss_cuts++;
}

/* Heavy loss (a link that dropped under the rate: its queue overflows before
 * the delay trend shows it): both bounds cut at once to 0.85 x the rate that
 * arrived over the same feedback (the bottleneck's output while it drops),
 * or by half the loss when that rate is not known. */
static void _heavy_loss(struct cr_gcc_s *g, double loss, int64_t now_us)
{
	int64_t span = g->loss_last_arrival_us - g->loss_first_arrival_us;
	double recv = span >= 10000 ? (double)g->loss_bytes * 8e6 / (double)span : 0;
	double r = (double)g->loss_bps * (1 - 0.5 * loss);
	if (recv > 0 && 0.85 * recv < r)
		r = 0.85 * recv;
	g->loss = loss;
	_fast_cut(g, r, recv, now_us, false);
}

/* One packet that arrived after the last heavy-loss or ramp cut, queue_us
 * the time it queued (its one-way delay above the path's smallest). */
static void _ramp_add(struct cr_gcc_s *g, int64_t send_us, int64_t arrival_us, int64_t queue_us, size_t size)
{
	if (arrival_us >= g->queue_arrival_us)
		g->queue_us = queue_us, g->queue_arrival_us = arrival_us;
	if (queue_us < _RAMP_START_US) {
		g->ramp_n = 0; /* no queue: no ramp */
		return;
	}
	if (g->ramp_n > 0 && arrival_us - g->ramp_first_arrival_us > _RAMP_MAX_US)
		g->ramp_n = 0; /* a slow one: judged over the last second or so */
	if (g->ramp_n == 0) {
		g->ramp_bytes = 0; /* the first one starts the spans */
		g->ramp_first_send_us = g->ramp_last_send_us = send_us;
		g->ramp_first_arrival_us = g->ramp_last_arrival_us = arrival_us;
	} else {
		g->ramp_bytes += (int64_t)size;
		g->ramp_first_send_us = send_us < g->ramp_first_send_us ? send_us : g->ramp_first_send_us;
		g->ramp_last_send_us = send_us > g->ramp_last_send_us ? send_us : g->ramp_last_send_us;
		g->ramp_first_arrival_us = arrival_us < g->ramp_first_arrival_us ? arrival_us : g->ramp_first_arrival_us;
		g->ramp_last_arrival_us = arrival_us > g->ramp_last_arrival_us ? arrival_us : g->ramp_last_arrival_us;
	}
	g->ramp_n++;
	g->ramp_queue_us = queue_us;
}

/* The rate the ramp's packets arrived at when they show a link far below
 * the rate sent (see _RAMP_*), else 0. */
static double _ramp_rate(const struct cr_gcc_s *g)
{
	int64_t sa = g->ramp_last_arrival_us - g->ramp_first_arrival_us, ss = g->ramp_last_send_us - g->ramp_first_send_us;
	if (g->ramp_n < _RAMP_MIN_PACKETS || sa < _RAMP_SPAN_US || sa < 2 * ss || g->ramp_queue_us < _RAMP_QUEUE_US)
		return 0;
	return (double)g->ramp_bytes * 8e6 / (double)sa;
}

static void _rate_update(struct cr_gcc_s *g, int64_t now_us)
{
	if (now_us - g->acked_start_us >= _ACK_WINDOW_US) {
		if (g->acked_start_us)
			g->acked_bps = g->acked_bytes * 8 * 1000000 / (now_us - g->acked_start_us);
		g->acked_bytes = 0;
		g->acked_start_us = now_us;
	}
	double dt = g->last_update_us ? (double)(now_us - g->last_update_us) / 1e6 : 0;
	dt = dt > 1 ? 1 : dt;
	g->last_update_us = now_us;
	if (g->usage == CR_GCC_OVERUSE) {
		if (now_us - g->last_decrease_us >= _DECREASE_GAP_US) {
			double base = g->acked_bps > 0 ? (double)g->acked_bps : (double)g->delay_bps;
			/* Not below 0.85 x itself at once: the acknowledged rate lags
			 * (0.5 s windows) and reads low behind an encoder that
			 * undershoots (at 3 Mbit/s the cuts went to 0.75 x); a link
			 * that really dropped overuses again 200 ms later, or loses. */
			if (base < 0.85 / _BETA * (double)g->delay_bps)
				base = 0.85 / _BETA * (double)g->delay_bps;
			_link_sample(g, (double)g->acked_bps);
			g->after_heavy = false;
			if (_BETA * base < (double)g->delay_bps)
				g->delay_bps = _clamp(g, _BETA * base);
			g->last_decrease_us = now_us;
			g->overuses++;
		}
	} else if (g->usage == CR_GCC_NORMAL) {
		double r = _grow(g, (double)g->delay_bps, now_us, dt);
		/* An encoder that undershoots what it was asked (x264 ramping up
		 * sends 0.65-0.75 x) while the viewer receives at least half of
		 * it is encoder-limited, not link-limited: the cap is on the ask. */
		double base = (double)g->acked_bps;
		if (g->encoder_bps > base && 2 * g->acked_bps >= g->encoder_bps)
			base = (double)g->encoder_bps;
		double cap = 1.5 * base + 100000;
		if (!g->app_limited && g->acked_bps > 0 && r > cap)
			r = cap > (double)g->delay_bps ? cap : (double)g->delay_bps; /* no growth, no cut */
		g->delay_bps = _clamp(g, r);
	}
}

static void _on_twcc(struct cr_gcc_s *g, const struct cr_rtcp_info_s *ri, int64_t now_us)
{
	/* This feedback's own: lost and received, and of the packets received
	 * after its first loss (the bottleneck's queue was full: they came at
	 * its rate) the bytes and arrival span. */
	uint32_t fb_lost = 0, fb_recv = 0, fb_after = 0;
	int64_t fb_bytes = 0, fb_first = 0, fb_last = 0, fb_owd = 0;
	if (now_us - g->owd_window_us >= 5000000) {
		g->owd_min[1] = g->owd_min[0], g->owd_known[1] = g->owd_known[0];
		g->owd_known[0] = false;
		g->owd_window_us = now_us;
	}
	g->feedbacks++;
	for (unsigned k = 0; k < ri->twcc_count; k++) {
		uint16_t seq = (uint16_t)(ri->twcc_base + k);
		if (g->next_known && (int16_t)(seq - g->next_seq) < 0)
			continue; /* reported before */
		struct cr_gcc_sent_s *s = &g->sent[seq % CR_GCC_HIST];
		if (!s->used || s->seq != seq)
			continue;
		/* Sent before the last heavy-loss or ramp cut, at the old rate: its loss
		 * was acted on (counted again, each cut brought another as the
		 * rate arriving fell to the new one: 0.85 -> 0.47 -> 0.33 Mbit/s
		 * at a 600 kbit/s link, three keyframes). */
		bool old = g->heavy_us && s->send_us < g->heavy_us;
		if (ri->twcc_recv[k / 8] & (1u << (k % 8))) {
			int64_t at = ri->twcc_arrival_us[k];
			g->packets_acked++;
			g->acked_bytes += s->size;
			_arrived(g, s->send_us, at);
			if (old)
				continue;
			if (g->loss_recv == 0 || at < g->loss_first_arrival_us)
				g->loss_first_arrival_us = at;
			if (g->loss_recv == 0 || at > g->loss_last_arrival_us)
				g->loss_last_arrival_us = at;
			g->loss_recv++;
			g->loss_bytes += s->size;
			fb_recv++;
			int64_t owd = at - s->send_us;
			if (!g->owd_known[0] || owd < g->owd_min[0])
				g->owd_min[0] = owd, g->owd_known[0] = true;
			_ramp_add(g, s->send_us, at, owd - _owd_base(g), s->size);
			if (fb_lost > 0) {
				fb_owd = fb_after == 0 || owd < fb_owd ? owd : fb_owd;
				fb_first = fb_after == 0 || at < fb_first ? at : fb_first;
				fb_last = fb_after == 0 || at > fb_last ? at : fb_last;
				if (fb_after++ > 0)
					fb_bytes += s->size; /* the first one only starts the span */
			}
		} else {
			g->packets_lost++;
			if (old)
				continue;
			g->loss_lost++;
			fb_lost++;
		}
	}
	uint16_t end = (uint16_t)(ri->twcc_base + ri->twcc_count);
	if (!g->next_known || (int16_t)(end - g->next_seq) > 0)
		g->next_seq = end;
	g->next_known = true;
	uint32_t n = g->loss_recv + g->loss_lost, fb_n = fb_recv + fb_lost;
	bool heavy = (n >= _HEAVY_MIN_PACKETS && (double)g->loss_lost > _HEAVY_LOSS * n) ||
		     (fb_n >= 20 && (double)fb_lost > _HEAVY_LOSS * fb_n);
	/* Not when this feedback shows no queue behind the loss: what arrived
	 * after its first loss (2 packets over 10 ms at least) waited less
	 * than 20 ms more than the path's smallest delay. That was a burst lost
	 * once (tc replacing its qdisc at the 3 Mbit/s step flushed its queue:
	 * cut to 0.6 Mbit/s there, the climb took 21 s), not a link below the
	 * rate; the 0.5 s loss bound deals with it. */
	int64_t base = _owd_base(g);
	bool after = fb_after >= 2 && fb_last - fb_first >= 10000;
	if (after && fb_owd - base < 20000)
		heavy = false;
	double ramp = _ramp_rate(g);
	if (ramp > 0 && _RAMP_BETA * ramp < (double)g->estimate_bps) {
		/* A queue ramp: the link fell far under the rate, its queue fills
		 * (and a short one overflows: the loss shows only once the packets
		 * behind it got through that queue, 0.36-0.53 s after a drop to
		 * 600 kbit/s with tbf's 200 ms). Cut at once, as for heavy loss (the
		 * delay bound only: _fast_cut). */
		_fast_cut(g, _RAMP_BETA * ramp, ramp, now_us, true);
		g->ramp_cuts++;
	} else if (heavy && !after) {
		/* Nothing arrived after the loss yet to tell: the next feedback. */
	} else if (heavy && now_us - g->last_decrease_us >= _DECREASE_GAP_US) {
		/* The received rate from what arrived after this feedback's first
		 * loss: the window may still hold packets from before the link
		 * dropped (a first cut to 0.85 x 1 Mbit/s at a 600 kbit/s link, its
		 * keyframe lost). */
		g->loss_bytes = fb_bytes;
		g->loss_first_arrival_us = fb_first;
		g->loss_last_arrival_us = fb_last;
		_heavy_loss(g, fb_n >= 20 && (double)fb_lost > _HEAVY_LOSS * fb_n ? (double)fb_lost / fb_n
										: (double)g->loss_lost / n, now_us);
	} else if (n >= 20 && now_us - g->loss_update_us >= 500000) {
		_loss_update(g, (double)g->loss_lost / n, now_us);
		g->loss_recv = g->loss_lost = 0;
		g->loss_bytes = 0;
	}
	_rate_update(g, now_us);
}

bool cr_gcc_feedback(struct cr_gcc_s *g, const struct cr_rtcp_info_s *ri, uint32_t media_ssrc, int64_t now_us)
{
	bool changed = false;
	if (ri->remb) {
		g->remb_packets++;
		g->remb_bps = ri->remb_bps > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ri->remb_bps;
		changed = true;
	}
	if (ri->twcc) {
		_on_twcc(g, ri, now_us);
		changed = true;
	} else if (g->feedbacks == 0) {
		for (int i = 0; i < ri->n_rr; i++)
			if (ri->rr[i].ssrc == media_ssrc) {
				_loss_update(g, ri->rr[i].fraction_lost / 256.0, now_us);
				changed = true;
			}
	}
	double e = (double)(g->delay_bps < g->loss_bps ? g->delay_bps : g->loss_bps);
	if (g->remb_bps > 0 && (double)g->remb_bps < e)
		e = (double)g->remb_bps;
	g->estimate_bps = _clamp(g, e);
	return changed;
}
