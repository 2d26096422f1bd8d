/* VP8 over RTP, RFC 7741: a 4-byte payload descriptor (X, S, I with a
 * 15-bit picture id) in front of each fragment of the frame. */
#include <string.h>

#include "rtp/rtp.h"

int cr_rtp_vp8(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool key)
{
	(void)key;
	size_t chunk = r->max_payload - 4, off = 0;
	uint16_t pid = r->picture_id & 0x7fff;
	int count = 0;
	while (off < size) {
		size_t len = size - off < chunk ? size - off : chunk;
		uint8_t *b = cr_rtp_payload_buf(r);
		b[0] = (uint8_t)(0x80 | (off == 0 ? 0x10 : 0)); /* X, S, PID 0 */
		b[1] = 0x80;                                    /* I */
		b[2] = (uint8_t)(0x80 | (pid >> 8));            /* M: 15-bit picture id */
		b[3] = (uint8_t)pid;
		memcpy(b + 4, data + off, len);
		off += len;
		cr_rtp_send(r, 4 + len, ts, off == size);
		count++;
	}
	r->picture_id = (uint16_t)((pid + 1) & 0x7fff);
	return count;
}
