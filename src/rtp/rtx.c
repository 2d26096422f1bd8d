/* RFC 4588 RTX packets; see rtp.h. */
#include <string.h>

#include "rtp/rtp.h"

size_t cr_rtp_rtx_wrap(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, int rtx_pt, uint32_t rtx_ssrc,
		       uint16_t seq)
{
	if (len < CR_RTP_HEADER || len + 2 > cap)
		return 0;
	/* Own payload type, sequence and SSRC; the marker bit and timestamp stay. */
	memcpy(out, pkt, CR_RTP_HEADER);
	out[1] = (uint8_t)((pkt[1] & 0x80) | (rtx_pt & 0x7f));
	out[2] = (uint8_t)(seq >> 8);
	out[3] = (uint8_t)seq;
	for (int k = 0; k < 4; k++)
		out[8 + k] = (uint8_t)(rtx_ssrc >> (24 - 8 * k));
	out[12] = pkt[2];
	out[13] = pkt[3];
	memcpy(out + 14, pkt + CR_RTP_HEADER, len - CR_RTP_HEADER);
	return len + 2;
}
