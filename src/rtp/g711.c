/* G.711 over RTP (RFC 3551 4.5.14): PCMU and PCMA, one byte per sample, so
 * a payload is the source's bytes as they are. Several channels are
 * interleaved sample by sample (RFC 3551 4.1), and the timestamp counts
 * sampling instants, not bytes: bytes / channels. At 8 kHz mono the static
 * payload types 0/8 say it all; any other rate or channel count goes at a
 * dynamic type with an rtpmap (audio.c, net/sdp.c). A packet longer than a
 * payload is split at a whole sampling instant; the marker bit starts a
 * talkspurt. Written by hand: a few lines, and no Debian library payloads
 * RTP in C short of GStreamer. */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

int cr_rtp_g711(struct cr_rtp_s *r, int channels, const uint8_t *data, size_t size, uint32_t ts, bool talkspurt)
{
	size_t ch = channels > 0 ? (size_t)channels : 1;
	size_t max = CR_RTP_DEFAULT_PAYLOAD - CR_RTP_DEFAULT_PAYLOAD % ch;
	if (!data || size == 0 || size % ch || max == 0)
		return -EINVAL;
	int n = 0;
	for (size_t off = 0; off < size; n++) {
		size_t len = size - off > max ? max : size - off;
		memcpy(cr_rtp_payload_buf(r), data + off, len);
		cr_rtp_send(r, len, ts + (uint32_t)(off / ch), talkspurt && off == 0);
		off += len;
	}
	return n;
}
