/* AAC over RTP (RFC 3640, mpeg4-generic, mode AAC-hbr): each payload is an
 * AU-headers-length of 16 bits, one AU-header (13-bit AU-size, 3-bit
 * AU-index 0) and the raw access unit (no ADTS header); the SDP carries
 * sizelength=13;indexlength=3;indexdeltalength=3 and config= (the
 * AudioSpecificConfig, sdp.c). An access unit longer than one payload is
 * fragmented (3.2.3: each fragment's AU-size is the whole AU's, the marker
 * only on the last). One AU per packet, at the AU's timestamp (the AAC
 * clock is its sample rate). Written by hand: a few lines, and no Debian
 * library payloads RTP in C short of GStreamer. */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

#define _AU_MAX 8191 /* 13 bits of AU-size */

int cr_rtp_aac(struct cr_rtp_s *r, const uint8_t *au, size_t size, uint32_t ts)
{
	if (!au || size == 0 || size > _AU_MAX)
		return -EINVAL;
	const size_t room = CR_RTP_DEFAULT_PAYLOAD - 4;
	int n = 0;
	for (size_t off = 0; off < size; n++) {
		size_t len = size - off > room ? room : size - off;
		uint8_t *p = cr_rtp_payload_buf(r);
		p[0] = 0;
		p[1] = 16; /* AU-headers-length in bits: one 16-bit AU-header */
		p[2] = (uint8_t)(size >> 5);
		p[3] = (uint8_t)((size & 0x1f) << 3); /* AU-index 0 */
		memcpy(p + 4, au + off, len);
		off += len;
		cr_rtp_send(r, 4 + len, ts, off == size);
	}
	return n;
}
