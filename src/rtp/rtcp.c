/* RTCP, RFC 3550 / 4585 / 5104: receiver reports and the feedback a video
 * sender acts on (PLI, FIR, generic NACK, REMB, transport-cc), and sender reports. Parses
 * outside input: every length is checked against the buffer (fuzzed). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "rtp/rtp.h"

static uint32_t _u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void _put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void _report_blocks(const uint8_t *p, size_t len, int rc, struct cr_rtcp_info_s *out)
{
	for (int i = 0; i < rc && len >= 24; i++, p += 24, len -= 24) {
		if (out->n_rr >= (int)(sizeof(out->rr) / sizeof(out->rr[0])))
			return;
		struct cr_rtcp_rr_s *rr = &out->rr[out->n_rr++];
		rr->ssrc = _u32(p);
		rr->fraction_lost = p[4];
		int32_t lost = (int32_t)((uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7]);
		if (lost & 0x800000)
			lost -= 0x1000000;
		rr->cumulative_lost = lost;
		rr->highest_seq = _u32(p + 8);
		rr->jitter = _u32(p + 12);
		rr->lsr = _u32(p + 16);
		rr->dlsr = _u32(p + 20);
	}
}

/* Transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * section 3.1): after the 8-byte header part come base sequence, status
 * count, 24-bit signed reference time (64 ms units) and feedback count, then
 * the packet status chunks, then one receive delta per received packet (1
 * byte, 250 us units, for "small delta"; 2 bytes signed for "large"). Each
 * packet's arrival time is the reference plus the running sum of deltas.
 * Hand-written: no Debian library parses it. */
static int _twcc(const uint8_t *b, size_t blen, struct cr_rtcp_info_s *out)
{
	if (blen < 16)
		return -EINVAL;
	out->twcc = true;
	out->twcc_base = (uint16_t)(b[8] << 8 | b[9]);
	int32_t ref = (int32_t)((uint32_t)b[12] << 16 | (uint32_t)b[13] << 8 | b[14]);
	if (ref & 0x800000)
		ref -= 0x1000000;
	out->twcc_ref_us = (int64_t)ref * 64000;
	unsigned count = (unsigned)(b[10] << 8 | b[11]), k = 0, max = sizeof(out->twcc_recv) * 8;
	uint8_t sym[sizeof(out->twcc_recv) * 8];
	memset(out->twcc_recv, 0, sizeof(out->twcc_recv));
	size_t i = 16;
	for (; i + 2 <= blen && k < count; i += 2) {
		unsigned c = (unsigned)(b[i] << 8 | b[i + 1]);
		if (!(c & 0x8000)) { /* run length: 2-bit symbol, 13-bit length */
			unsigned s = (c >> 13) & 3, run = c & 0x1fff;
			for (unsigned r = 0; r < run && k < count; r++, k++)
				if (k < max)
					sym[k] = (uint8_t)s;
		} else if (!(c & 0x4000)) { /* 14 one-bit symbols */
			for (int r = 13; r >= 0 && k < count; r--, k++)
				if (k < max)
					sym[k] = (uint8_t)((c >> r) & 1);
		} else { /* 7 two-bit symbols */
			for (int r = 6; r >= 0 && k < count; r--, k++)
				if (k < max)
					sym[k] = (uint8_t)((c >> (2 * r)) & 3);
		}
	}
	unsigned n = k < max ? k : max;
	out->twcc_count = (uint16_t)n;
	if (k < count)
		return -EINVAL;
	int64_t t = out->twcc_ref_us;
	for (unsigned j = 0; j < n; j++) {
		if (sym[j] == 1 && i + 1 <= blen) {
			t += (int64_t)b[i] * 250;
			i += 1;
		} else if (sym[j] == 2 && i + 2 <= blen) {
			t += (int64_t)(int16_t)(b[i] << 8 | b[i + 1]) * 250;
			i += 2;
		} else if (sym[j] == 1 || sym[j] == 2) {
			out->twcc_count = (uint16_t)j; /* deltas cut short: keep what is whole */
			return -EINVAL;
		} else {
			continue; /* not received (3 is reserved) */
		}
		out->twcc_recv[j / 8] |= (uint8_t)(1u << (j % 8));
		out->twcc_arrival_us[j] = t;
	}
	return 0;
}

int cr_rtcp_parse(const uint8_t *p, size_t len, struct cr_rtcp_info_s *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 4)
		return -EINVAL;
	while (len >= 4) {
		if ((p[0] >> 6) != 2)
			return -EINVAL;
		int count = p[0] & 0x1f, pt = p[1];
		size_t plen = ((size_t)p[2] << 8 | p[3]) * 4 + 4;
		if (plen > len)
			return -EINVAL;
		if (p[0] & 0x20) { /* padding: the last byte says how much */
			if (p[plen - 1] > plen - 4)
				return -EINVAL;
		}
		const uint8_t *b = p + 4;
		size_t blen = plen - 4;
		switch (pt) {
		case 200: /* SR: skip sender info */
			if (blen >= 24)
				_report_blocks(b + 24, blen - 24, count, out);
			break;
		case 201: /* RR */
			if (blen >= 4)
				_report_blocks(b + 4, blen - 4, count, out);
			break;
		case 205: /* RTPFB */
			if (blen < 8)
				break;
			out->media_ssrc = _u32(b + 4);
			if (count == 1) { /* generic NACK */
				for (size_t i = 8; i + 4 <= blen; i += 4) {
					uint16_t pid = (uint16_t)(b[i] << 8 | b[i + 1]);
					uint16_t blp = (uint16_t)(b[i + 2] << 8 | b[i + 3]);
					for (int k = 0; k <= 16; k++) {
						if (k > 0 && !(blp & (1u << (k - 1))))
							continue;
						if (out->n_nack < (int)(sizeof(out->nack_seqs) / sizeof(out->nack_seqs[0])))
							out->nack_seqs[out->n_nack++] = (uint16_t)(pid + k);
					}
				}
			} else if (count == 15 && _twcc(b, blen, out) < 0) {
				return -EINVAL;
			}
			break;
		case 206: /* PSFB */
			if (blen < 8)
				break;
			out->media_ssrc = _u32(b + 4);
			if (count == 1) {
				out->pli++;
			} else if (count == 4) { /* FIR: the media ssrc is in each entry */
				for (size_t i = 8; i + 8 <= blen; i += 8) {
					out->fir++;
					out->media_ssrc = _u32(b + i);
				}
			} else if (count == 15 && blen >= 16 && memcmp(b + 8, "REMB", 4) == 0) {
				unsigned exp = b[13] >> 2;
				uint64_t mant = (uint64_t)(b[13] & 3) << 16 | (uint64_t)b[14] << 8 | b[15];
				out->remb = true;
				out->remb_bps = exp > 46 ? UINT64_MAX : mant << exp;
			}
			break;
		default:
			break;
		}
		p += plen;
		len -= plen;
	}
	return len == 0 ? 0 : -EINVAL;
}

uint64_t cr_ntp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t sec = (uint64_t)ts.tv_sec + 2208988800ULL;
	uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000ULL;
	return sec << 32 | frac;
}

int64_t cr_rtcp_rtt_us(uint64_t ntp_arrival, uint32_t lsr, uint32_t dlsr)
{
	if (lsr == 0)
		return -1;
	uint32_t a = (uint32_t)(ntp_arrival >> 16);
	int64_t rtt = (int64_t)(uint32_t)(a - lsr - dlsr);
	if (rtt > 0x7fffffff / 2)
		return 0; /* clock skew made it negative */
	return rtt * 1000000 / 65536;
}

size_t cr_rtcp_sender_report(uint8_t *buf, size_t cap, uint32_t ssrc, uint64_t ntp,
			     uint32_t rtp_ts, uint32_t packets, uint32_t octets, const char *cname)
{
	size_t cl = strlen(cname);
	if (cl > 255)
		cl = 255;
	size_t sdes = 4 + 4 + 2 + cl + 1;
	sdes = (sdes + 3) & ~(size_t)3;
	if (cap < 28 + sdes)
		return 0;
	buf[0] = 0x80;
	buf[1] = 200;
	buf[2] = 0;
	buf[3] = 6;
	_put32(buf + 4, ssrc);
	_put32(buf + 8, (uint32_t)(ntp >> 32));
	_put32(buf + 12, (uint32_t)ntp);
	_put32(buf + 16, rtp_ts);
	_put32(buf + 20, packets);
	_put32(buf + 24, octets);
	uint8_t *s = buf + 28;
	memset(s, 0, sdes);
	s[0] = 0x81;
	s[1] = 202;
	s[2] = (uint8_t)((sdes / 4 - 1) >> 8);
	s[3] = (uint8_t)(sdes / 4 - 1);
	_put32(s + 4, ssrc);
	s[8] = 1; /* CNAME */
	s[9] = (uint8_t)cl;
	memcpy(s + 10, cname, cl);
	return 28 + sdes;
}

size_t cr_rtcp_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
	if (cap < 12)
		return 0;
	buf[0] = 0x81;
	buf[1] = 206;
	buf[2] = 0;
	buf[3] = 2;
	_put32(buf + 4, sender_ssrc);
	_put32(buf + 8, media_ssrc);
	return 12;
}
