/* H.265 over RTP, RFC 7798 (no DONL, sprop-max-don-diff 0): a NAL unit that
 * fits goes alone, VPS/SPS/PPS/SEI travel together in one aggregation packet
 * (type 48), larger NAL units become fragmentation units (type 49). Access
 * unit delimiters are dropped. The packetizer is nal.c's; this file gives
 * H.265's header bits. */
#include "rtp/nal.h"

static int _type(const uint8_t *nal) { return (nal[0] >> 1) & 0x3f; }
static int _layer(const uint8_t *h) { return ((h[0] & 1) << 5) | (h[1] >> 3); }

static bool _keep(const uint8_t *nal, size_t n)
{
	return n >= 2 && _type(nal) != 35 /* AUD */;
}

/* VPS, SPS, PPS, prefix and suffix SEI */
static bool _aggregate(const uint8_t *nal)
{
	int t = _type(nal);
	return t == 32 || t == 33 || t == 34 || t == 39 || t == 40;
}

/* The AP header takes the F bit ORed and the lowest layer id and TID of its
 * units; it starts at the highest (layer 63, TID 7). */
static void _ap_add(uint8_t *ap, const uint8_t *nal)
{
	int layer = _layer(nal) < _layer(ap) ? _layer(nal) : _layer(ap);
	int tid = (nal[1] & 7) < (ap[1] & 7) ? nal[1] & 7 : ap[1] & 7;
	ap[0] = (uint8_t)((ap[0] & 0x80) | (nal[0] & 0x80) | (48 << 1) | (layer >> 5));
	ap[1] = (uint8_t)(((layer & 0x1f) << 3) | tid);
}

/* PayloadHdr (the unit's F, layer id and TID with type 49), FU header (the
 * unit's type). */
static void _fu_head(const uint8_t *nal, uint8_t *fu)
{
	fu[0] = (uint8_t)((nal[0] & 0x81) | (49 << 1));
	fu[1] = nal[1];
	fu[2] = (uint8_t)_type(nal);
}

static const struct cr_rtp_nal_fmt_s _h265 = {
	.header = 2,
	.keep = _keep,
	.aggregate = _aggregate,
	.ap_init = {(48 << 1) | 1, 0xff},
	.ap_add = _ap_add,
	.fu_head = _fu_head,
};

int cr_rtp_h265(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts)
{
	return cr_rtp_nal(r, &_h265, data, size, ts);
}
