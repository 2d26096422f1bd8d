/* G.711 over RTP (RFC 3551 4.5.14): PCMU (static payload type 0) and PCMA
 * (8), 8 kHz, one byte per sample, so a payload is the source's bytes as
 * they are and the timestamp counts bytes (mono). A packet longer than a
 * payload is split at any byte (each byte is a sample); the marker bit
 * starts a talkspurt. Written by hand: a few lines, and no Debian library
 * payloads RTP in C short of GStreamer. */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

int cr_rtp_g711(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool talkspurt)
{
	if (!data || size == 0)
		return -EINVAL;
	int n = 0;
	for (size_t off = 0; off < size; n++) {
		size_t len = size - off > CR_RTP_DEFAULT_PAYLOAD ? CR_RTP_DEFAULT_PAYLOAD : size - off;
		memcpy(cr_rtp_payload_buf(r), data + off, len);
		cr_rtp_send(r, len, ts + (uint32_t)off, talkspurt && off == 0);
		off += len;
	}
	return n;
}
