/* The NAL unit packetizer H.264 and H.265 share (nal.h). */
#include "rtp/nal.h"

#include <errno.h>
#include <string.h>

static const uint8_t *_next(const struct cr_rtp_nal_fmt_s *fmt, const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *nal;
	while ((nal = cr_annexb_next(p, end, n)))
		if (fmt->keep(nal, *n))
			return nal;
	return NULL;
}

/* Cuts one NAL unit into fragmentation units: each carries the FU header
 * (fmt->header + 1 bytes) and a piece of the unit after its own header. */
static int _fragment(struct cr_rtp_s *r, const struct cr_rtp_nal_fmt_s *fmt, const uint8_t *nal, size_t n,
		     uint32_t ts, bool last)
{
	const size_t h = fmt->header;
	uint8_t head[3];
	size_t chunk = r->max_payload - (h + 1), off = h;
	int count = 0;
	fmt->fu_head(nal, head);
	while (off < n) {
		size_t len = n - off < chunk ? n - off : chunk;
		uint8_t *b = cr_rtp_payload_buf(r);
		memcpy(b, head, h + 1);
		b[h] |= (uint8_t)((off == h ? 0x80 : 0) | (off + len == n ? 0x40 : 0));
		memcpy(b + h + 1, nal + off, len);
		off += len;
		cr_rtp_send(r, h + 1 + len, ts, last && off == n);
		count++;
	}
	return count;
}

int cr_rtp_nal(struct cr_rtp_s *r, const struct cr_rtp_nal_fmt_s *fmt, const uint8_t *data, size_t size,
	       uint32_t ts)
{
	const uint8_t *p = data, *end = data + size;
	const size_t h = fmt->header;
	size_t n, n2;
	const uint8_t *nal = _next(fmt, &p, end, &n);
	int count = 0;
	if (!nal)
		return -EINVAL;
	while (nal) {
		const uint8_t *q = p;
		const uint8_t *next = _next(fmt, &q, end, &n2);
		if (fmt->aggregate(nal) && next && fmt->aggregate(next) && h + 2 + n + 2 + n2 <= r->max_payload) {
			/* Aggregation packet: its header, then each unit behind a
			 * 16-bit size, as many as fit. */
			uint8_t *b = cr_rtp_payload_buf(r);
			size_t off = h;
			memcpy(b, fmt->ap_init, h);
			for (;;) {
				fmt->ap_add(b, nal);
				b[off] = (uint8_t)(n >> 8);
				b[off + 1] = (uint8_t)n;
				memcpy(b + off + 2, nal, n);
				off += 2 + n;
				nal = next;
				n = n2;
				p = q;
				if (!nal || !fmt->aggregate(nal) || off + 2 + n > r->max_payload)
					break;
				next = _next(fmt, &q, end, &n2);
			}
			cr_rtp_send(r, off, ts, nal == NULL);
			count++;
			continue;
		}
		if (n <= r->max_payload) {
			memcpy(cr_rtp_payload_buf(r), nal, n);
			cr_rtp_send(r, n, ts, next == NULL);
			count++;
		} else {
			count += _fragment(r, fmt, nal, n, ts, next == NULL);
		}
		nal = next;
		n = n2;
		p = q;
	}
	return count;
}
