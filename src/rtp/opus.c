/* Opus over RTP (RFC 7587): one Opus packet is one RTP payload, the clock is
 * 48 kHz whatever the input rate, and the marker bit starts a talkspurt
 * (the first packet after DTX silence or a gap). */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

int cr_rtp_opus(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool talkspurt)
{
	if (!data || size == 0 || size > CR_RTP_MAX_PACKET - CR_RTP_HEADER)
		return -EINVAL;
	memcpy(cr_rtp_payload_buf(r), data, size);
	cr_rtp_send(r, size, ts, talkspurt);
	return 1;
}
