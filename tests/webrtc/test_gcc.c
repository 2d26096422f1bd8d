/* Units of congestion control: transport-cc feedback's receive deltas
 * (rtp/rtcp.c) and the bandwidth estimator (net/gcc.c) against a simulated
 * bottleneck: a sender that follows the estimate (as whep_cc.c drives the
 * encoder: 90 % of it) sends 30 frames a second through a FIFO of the link's
 * rate that drops what would wait over 200 ms (as tc tbf does), feedback
 * every 50 ms. The link steps 10 Mbit/s -> 600 kbit/s -> 3 Mbit/s -> 3 Mbit/s
 * with 2 % random loss; the figures are the estimator's own, on a simulated
 * clock (no timing of this machine). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/gcc.h"
#include "rtp/rtp.h"
#include "tests/check.h"

static void test_twcc_parse(void)
{
	/* base 100, 10 packets, reference time 5 (x 64 ms), feedback count 1;
	 * chunks: run of 6 "small delta", then a 2-bit vector: large, lost, small, small;
	 * deltas 4 5 6 20 4 4 (x 250 us), -8 (large), 12, 8. */
	static const uint8_t pkt[] = {0x8f, 205, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0, 10, 0, 0, 5, 1,
				      0x20, 0x06, 0xe1, 0x40, 4, 5, 6, 20, 4, 4, 0xff, 0xf8, 12, 8, 0, 0};
	struct cr_rtcp_info_s ri;
	CHECK(cr_rtcp_parse(pkt, sizeof(pkt), &ri) == 0, "transport-cc feedback parses");
	CHECK(ri.twcc && ri.twcc_base == 100 && ri.twcc_count == 10, "base %u count %u", ri.twcc_base, ri.twcc_count);
	static const int64_t want[] = {321000, 322250, 323750, 328750, 329750, 330750, 328750, -1, 331750, 333750};
	for (int k = 0; k < 10; k++) {
		bool got = ri.twcc_recv[k / 8] & (1u << (k % 8));
		CHECK(got == (want[k] >= 0), "packet %d received: %d", k, got);
		if (got)
			CHECK(ri.twcc_arrival_us[k] == want[k], "packet %d arrived at %lld us (want %lld)", k,
			      (long long)ri.twcc_arrival_us[k], (long long)want[k]);
	}
	/* Deltas cut short: an error, and only the whole ones are kept. */
	uint8_t cut[sizeof(pkt)];
	memcpy(cut, pkt, sizeof(pkt));
	cut[3] = 6; /* 28 bytes: the deltas end after the 4th */
	CHECK(cr_rtcp_parse(cut, 28, &ri) < 0 && ri.twcc_count <= 4, "short deltas rejected (kept %u)", ri.twcc_count);
}

struct sim_s {
	struct cr_gcc_s g;
	int64_t t_us;          /* sender's clock */
	int64_t queue_free_us; /* when the bottleneck is free again */
	uint16_t seq;
	unsigned rand;
	/* this feedback interval */
	struct cr_rtcp_info_s fb;
	int64_t fb_last_arrival;
	int64_t send_bps;
	int64_t first_cut_us; /* _run: when the estimator first cut at once (-1: not yet) */
};

static bool _lost(struct sim_s *s, int per_mille)
{
	s->rand = s->rand * 1103515245u + 12345u;
	return (int)((s->rand >> 16) % 1000) < per_mille;
}

static void _packet(struct sim_s *s, size_t size, int64_t link_bps, int per_mille)
{
	cr_gcc_sent(&s->g, s->seq, size, s->t_us);
	int64_t start = s->t_us > s->queue_free_us ? s->t_us : s->queue_free_us;
	bool dropped = start - s->t_us > 200000 || _lost(s, per_mille);
	struct cr_rtcp_info_s *f = &s->fb;
	if (!f->twcc) {
		f->twcc = true;
		f->twcc_base = s->seq;
		f->twcc_count = 0;
		memset(f->twcc_recv, 0, sizeof(f->twcc_recv));
	}
	unsigned k = f->twcc_count++;
	if (start - s->t_us <= 200000) {
		s->queue_free_us = start + (int64_t)size * 8 * 1000000 / link_bps;
		if (!dropped) {
			int64_t arrival = s->queue_free_us + 20000; /* + 20 ms on the wire */
			f->twcc_recv[k / 8] |= (uint8_t)(1u << (k % 8));
			f->twcc_arrival_us[k] = arrival + 777000000; /* the receiver's own clock */
			if (arrival > s->fb_last_arrival)
				s->fb_last_arrival = arrival;
		}
	}
	s->seq++;
}

/* secs of sending at the estimate through a link; returns the mean of what
 * the sender was asked for over the last 5 s, and when it first got within
 * [lo, hi] (-1: never). */
static double _run(struct sim_s *s, int secs, int64_t link_bps, int per_mille, double lo, double hi, double *first)
{
	double sum = 0;
	int n = 0;
	*first = -1;
	int64_t end = s->t_us + (int64_t)secs * 1000000, start = s->t_us, next_fb = s->t_us + 50000;
	uint64_t cuts = s->g.loss_cuts;
	s->first_cut_us = -1;
	while (s->t_us < end) {
		/* one frame: the encoder's bitrate / 30, in 1200-byte packets sent at once */
		int64_t bytes = s->send_bps / 8 / 30;
		for (; bytes > 0; bytes -= 1200)
			_packet(s, bytes > 1200 ? 1200 : (size_t)bytes, link_bps, per_mille);
		s->t_us += 33333;
		if (s->t_us >= next_fb) {
			int64_t now = s->fb_last_arrival > s->t_us ? s->fb_last_arrival + 5000 : s->t_us;
			if (s->fb.twcc)
				cr_gcc_feedback(&s->g, &s->fb, 1, now);
			s->fb.twcc = false;
			if (s->first_cut_us < 0 && s->g.loss_cuts != cuts)
				s->first_cut_us = now - start;
			next_fb += 50000;
			double enc = 0.9 * (double)s->g.estimate_bps;
			enc = enc < 150000 ? 150000 : enc > 4000000 ? 4000000 : enc;
			s->send_bps = (int64_t)enc;
			if (*first < 0 && enc >= lo && enc <= hi)
				*first = (double)(s->t_us - start) / 1e6;
			if (s->t_us > end - 5000000) {
				sum += enc;
				n++;
			}
		}
	}
	return n ? sum / n : 0;
}

/* A fresh estimator (4.4 Mbit/s to start, 75 kbit/s..6.7 Mbit/s) and a
 * sender at its 4 Mbit/s ceiling; seed: the random loss's. */
static void _sim_start(struct sim_s *s, unsigned seed)
{
	memset(s, 0, sizeof(*s));
	s->rand = seed;
	s->t_us = 1000000;
	cr_gcc_init(&s->g, 4444444, 75000, 6666666);
	s->send_bps = 4000000;
}

static void test_estimator(void)
{
	static struct sim_s s;
	_sim_start(&s, 1);
	double first;
	double m = _run(&s, 10, 10000000, 0, 3000000, 4000000, &first);
	printf("10 Mbit/s: encoder %.0f kbit/s (mean of the last 5 s)\n", m / 1000);
	CHECK(m >= 3600000, "unconstrained: the encoder stays near its 4 Mbit/s ceiling (%.0f)", m);
	m = _run(&s, 20, 600000, 0, 0, 720000, &first);
	printf("600 kbit/s: encoder %.0f kbit/s, within 1.2 x the link after %.1f s (simulated), %llu cuts at once "
	       "(%llu at a queue ramp), the first %.0f ms after the drop\n",
	       m / 1000, first, (unsigned long long)s.g.loss_cuts, (unsigned long long)s.g.ramp_cuts,
	       (double)s.first_cut_us / 1000);
	CHECK(s.g.ramp_cuts > 0, "600 kbit/s: the queue ramp cut the estimate at once (%llu cuts)",
	      (unsigned long long)s.g.ramp_cuts);
	CHECK(first >= 0 && first <= 1, "600 kbit/s: below 1.2 x the link within 1 s (%.2f)", first);
	CHECK(m <= 720000 && m >= 300000, "600 kbit/s: settles below 1.2 x the link, above half of it (%.0f)", m);
	CHECK(first >= 0 && first <= 5, "600 kbit/s: below 1.2 x the link within 5 s (%.1f)", first);
	m = _run(&s, 20, 3000000, 0, 2000000, 3600000, &first);
	printf("3 Mbit/s: encoder %.0f kbit/s, >= 2 Mbit/s after %.1f s (simulated)\n", m / 1000, first);
	CHECK(first >= 0 && first <= 10, "3 Mbit/s: climbs back to >= 2 Mbit/s within 10 s (%.1f)", first);
	CHECK(m <= 3600000 && m >= 1500000, "3 Mbit/s: settles below 1.2 x the link, above half of it (%.0f)", m);
	uint64_t lost = s.g.packets_lost;
	m = _run(&s, 20, 3000000, 20, 0, 3600000, &first);
	printf("3 Mbit/s + 2 %% loss: encoder %.0f kbit/s, %llu packets lost\n", m / 1000,
	       (unsigned long long)(s.g.packets_lost - lost));
	CHECK(s.g.packets_lost > lost, "2 %% loss: losses seen");
	CHECK(m <= 3600000 && m >= 1500000, "2 %% loss: holds between half and 1.2 x the link (%.0f)", m);
	CHECK(s.g.overuses > 0, "overuse detected (%llu)", (unsigned long long)s.g.overuses);
}

/* A late cut at once near a link the estimator knows (session 12's clean-clone
 * run: in the 600 kbit/s step, its capacity known from the overuse cuts, a
 * fast cut at t = 22.2 s set both bounds to 500 kbit/s, and the estimate then
 * climbed only 8 %/s after the link came back to 3 Mbit/s: 0.8 x of it after
 * 21 s). Here: 600 kbit/s until the link is known, a 1 s dip to 350 kbit/s
 * (its queue overflows: heavy loss), the link back at 600 kbit/s for 1 s,
 * then 3 Mbit/s. The link is still there: the cut keeps its capacity, and
 * the climb to >= 0.8 x 3 Mbit/s (what the sender is asked) takes < 10 s. */
static void test_late_cut(void)
{
	static struct sim_s s;
	_sim_start(&s, 7);
	double first;
	_run(&s, 5, 10000000, 0, 0, 0, &first);
	_run(&s, 15, 600000, 0, 0, 0, &first);
	uint64_t cuts = s.g.loss_cuts, ramps = s.g.ramp_cuts;
	double link = s.g.link_bps;
	CHECK(link > 0 && s.g.overuses > 0, "600 kbit/s: overuse cuts gave the link's capacity (%.0f)", link);
	_run(&s, 1, 350000, 0, 0, 0, &first);
	printf("late dip to 350 kbit/s: %llu cuts at once (%llu at a queue ramp), estimate %lld bit/s "
	       "(delay %lld, loss %lld), link %.0f\n",
	       (unsigned long long)(s.g.loss_cuts - cuts), (unsigned long long)(s.g.ramp_cuts - ramps),
	       (long long)s.g.estimate_bps, (long long)s.g.delay_bps, (long long)s.g.loss_bps, s.g.link_bps);
	CHECK(s.g.loss_cuts > cuts, "the dip cut the estimate at once (%llu cuts)",
	      (unsigned long long)(s.g.loss_cuts - cuts));
	_run(&s, 1, 600000, 0, 0, 0, &first);
	double m = _run(&s, 20, 3000000, 0, 2400000, 3600000, &first);
	printf("3 Mbit/s after the late cut: >= 0.8 x the link after %.1f s (simulated), encoder %.0f kbit/s\n", first,
	       m / 1000);
	CHECK(first >= 0 && first <= 10, "3 Mbit/s after a late cut near the known link: >= 0.8 x within 10 s (%.1f)",
	      first);
}

static void test_remb_and_rr(void)
{
	static struct cr_gcc_s g;
	cr_gcc_init(&g, 2000000, 100000, 4000000);
	struct cr_rtcp_info_s ri;
	memset(&ri, 0, sizeof(ri));
	ri.remb = true;
	ri.remb_bps = 500000;
	cr_gcc_feedback(&g, &ri, 7, 1000000);
	CHECK(g.estimate_bps == 500000, "REMB bounds the estimate (%lld)", (long long)g.estimate_bps);
	ri.remb_bps = 3000000;
	/* No transport-cc: receiver-report loss (25 %) cuts the loss bound. */
	ri.n_rr = 1;
	ri.rr[0].ssrc = 7;
	ri.rr[0].fraction_lost = 64;
	cr_gcc_feedback(&g, &ri, 7, 2000000);
	CHECK(g.loss_bps < 2000000 && g.estimate_bps == g.loss_bps, "receiver-report loss cuts it (%lld)",
	      (long long)g.estimate_bps);
	ri.rr[0].ssrc = 8; /* another sender's block: not ours */
	int64_t before = g.loss_bps;
	cr_gcc_feedback(&g, &ri, 7, 3000000);
	CHECK(g.loss_bps == before, "a report about another SSRC is ignored");
}

/* A steady 1 Mbit/s on an idle link from a fresh estimator: 30 frames a
 * second of 4 packets 1 ms apart, feedback every 3 frames; arrival(seq, sent)
 * says when each arrived (-1: lost). */
static void _steady(struct cr_gcc_s *g, int secs, int64_t (*arrival)(uint16_t seq, int64_t sent))
{
	static struct cr_rtcp_info_s fb;
	cr_gcc_init(g, 1000000, 100000, 4000000);
	g->encoder_bps = 1000000;
	uint16_t seq = 0;
	int64_t t = 1000000;
	for (int f = 0; f < 30 * secs; f++) {
		if (f % 3 == 0) {
			memset(&fb, 0, sizeof(fb));
			fb.twcc = true;
			fb.twcc_base = seq;
		}
		for (int k = 0; k < 4; k++, seq++) {
			int64_t sent = t + k * 1000, at = arrival(seq, sent);
			cr_gcc_sent(g, seq, 1100, sent);
			unsigned i = fb.twcc_count++;
			if (at < 0)
				continue;
			fb.twcc_recv[i / 8] |= (uint8_t)(1u << (i % 8));
			fb.twcc_arrival_us[i] = at;
		}
		t += 33333;
		if (f % 3 == 2)
			cr_gcc_feedback(g, &fb, 1, t + 50000);
	}
}

/* A receiver that stops reading its socket for 150 ms a second (a busy CPU),
 * then reads what waited one after another. */
static int64_t _stalling(uint16_t seq, int64_t sent)
{
	int64_t arrival = sent + 10000, in_s = arrival % 1000000;
	if (in_s >= 300000 && in_s < 450000)
		arrival += 450000 - in_s;
	return arrival + (int64_t)(seq % 4) * 10;
}

/* Packets 612-626 lost at once (tc replacing its qdisc flushed its queue),
 * the rest with no queue. */
static int64_t _flushed(uint16_t seq, int64_t sent)
{
	return seq >= 612 && seq < 627 ? -1 : sent + 10000;
}

/* Bunched arrivals of packets sent evenly through an idle link: grouped as
 * bursts they show no queue, no overuse. A burst lost once with no queue
 * behind it: no heavy-loss cut (that is for a link below the rate, whose
 * packets after a loss wait in a full queue). */
static void test_bursts_and_flush(void)
{
	static struct cr_gcc_s g;
	_steady(&g, 20, _stalling);
	printf("receiver stalling 150 ms a second: %llu overuses, estimate %lld bit/s\n", (unsigned long long)g.overuses,
	       (long long)g.estimate_bps);
	CHECK(g.overuses == 0, "bunched arrivals are no queue (%llu overuses)", (unsigned long long)g.overuses);
	CHECK(g.loss_cuts == 0, "nor a queue ramp (%llu cuts at once)", (unsigned long long)g.loss_cuts);
	_steady(&g, 10, _flushed);
	printf("a queue flushed once: %llu heavy-loss cuts, estimate %lld bit/s\n", (unsigned long long)g.loss_cuts,
	       (long long)g.estimate_bps);
	CHECK(g.loss_cuts == 0, "15 packets lost once with no queue behind: no heavy-loss cut (%llu)",
	      (unsigned long long)g.loss_cuts);
}

int main(void)
{
	test_twcc_parse();
	test_estimator();
	test_late_cut();
	test_remb_and_rr();
	test_bursts_and_flush();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	else
		printf("all passed\n");
	return failures ? 1 : 0;
}
