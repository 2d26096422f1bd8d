/* VP9 over RTP, RFC 9628, non-flexible mode with one spatial and one temporal
 * layer: picture id, layer indices with TL0PICIDX (libwebrtc drops
 * non-flexible frames without it), and the scalability structure on the
 * first packet of each keyframe (one frame per group, referencing the one
 * before), which is what libwebrtc itself sends for a single layer. With
 * vp9_minimal (plain RTP to ffmpeg) only the picture id. */
#include <string.h>

#include "rtp/rtp.h"

int cr_rtp_vp9(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool key)
{
	uint16_t pid = r->picture_id & 0x7fff;
	size_t off = 0;
	int count = 0;
	while (off < size) {
		uint8_t *b = cr_rtp_payload_buf(r);
		size_t h = 0;
		bool first = off == 0, ss = key && first;
		b[h++] = 0; /* I P L F B E V Z, filled below */
		b[h++] = (uint8_t)(0x80 | (pid >> 8));
		b[h++] = (uint8_t)pid;
		if (r->vp9_minimal) {
			ss = false;
		} else {
			b[h++] = 0; /* TID 0, U 0, SID 0, D 0 */
			b[h++] = r->tl0_pic_idx;
		}
		if (ss) {
			bool y = r->width > 0 && r->height > 0;
			b[h++] = (uint8_t)((y ? 0x10 : 0) | 0x08); /* N_S 0 (one layer), Y, G */
			if (y) {
				b[h++] = (uint8_t)(r->width >> 8);
				b[h++] = (uint8_t)r->width;
				b[h++] = (uint8_t)(r->height >> 8);
				b[h++] = (uint8_t)r->height;
			}
			b[h++] = 1;    /* N_G: one frame in the group */
			b[h++] = 0x04; /* T 0, U 0, R 1 */
			b[h++] = 1;    /* P_DIFF 1 */
		}
		size_t room = r->max_payload - h;
		size_t len = size - off < room ? size - off : room;
		memcpy(b + h, data + off, len);
		off += len;
		b[0] = (uint8_t)(0x80 | (key ? 0 : 0x40) | (r->vp9_minimal ? 0 : 0x20) | (first ? 0x08 : 0) |
				 (off == size ? 0x04 : 0) | (ss ? 0x02 : 0));
		cr_rtp_send(r, h + len, ts, off == size);
		count++;
	}
	r->picture_id = (uint16_t)((pid + 1) & 0x7fff);
	r->tl0_pic_idx++;
	return count;
}
