/* H.264 over RTP, RFC 6184, packetization-mode 1: a NAL unit that fits goes
 * alone, parameter sets and SEI travel together in one STAP-A, larger NAL
 * units are cut into FU-A fragments. Access unit delimiters are dropped.
 * The packetizer is nal.c's; this file gives H.264's header bits. */
#include "rtp/nal.h"

static bool _keep(const uint8_t *nal, size_t n)
{
	return n > 0 && (nal[0] & 0x1f) != 9 /* AUD */;
}

/* SEI, SPS, PPS */
static bool _aggregate(const uint8_t *nal)
{
	int t = nal[0] & 0x1f;
	return t == 6 || t == 7 || t == 8;
}

/* The STAP-A header has the units' F bit ORed and their highest NRI. */
static void _ap_add(uint8_t *ap, const uint8_t *nal)
{
	ap[0] |= nal[0] & 0x80;
	if ((nal[0] & 0x60) > (ap[0] & 0x60))
		ap[0] = (uint8_t)((ap[0] & ~0x60) | (nal[0] & 0x60));
}

/* FU indicator (F, NRI, type 28), FU header (type of the unit). */
static void _fu_head(const uint8_t *nal, uint8_t *fu)
{
	fu[0] = (uint8_t)((nal[0] & 0xe0) | 28);
	fu[1] = nal[0] & 0x1f;
}

static const struct cr_rtp_nal_fmt_s _h264 = {
	.header = 1,
	.keep = _keep,
	.aggregate = _aggregate,
	.ap_init = {24},
	.ap_add = _ap_add,
	.fu_head = _fu_head,
};

int cr_rtp_h264(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts)
{
	return cr_rtp_nal(r, &_h264, data, size, ts);
}
