/* H.265 over RTP, RFC 7798 (no DONL, sprop-max-don-diff 0): a NAL unit that
 * fits goes alone, VPS/SPS/PPS/SEI travel together in one aggregation packet
 * (type 48), larger NAL units become fragmentation units (type 49). Access
 * unit delimiters are dropped. */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

static int _type(const uint8_t *nal) { return (nal[0] >> 1) & 0x3f; }

static const uint8_t *_next(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *nal;
	while ((nal = cr_annexb_next(p, end, n)))
		if (*n >= 2 && _type(nal) != 35 /* AUD */)
			return nal;
	return NULL;
}

static bool _small(const uint8_t *nal)
{
	int t = _type(nal);
	return t == 32 || t == 33 || t == 34 || t == 39 || t == 40;
}

static int _fu(struct cr_rtp_s *r, const uint8_t *nal, size_t n, uint32_t ts, bool last)
{
	size_t chunk = r->max_payload - 3, off = 2;
	int count = 0;
	while (off < n) {
		size_t len = n - off < chunk ? n - off : chunk;
		uint8_t *b = cr_rtp_payload_buf(r);
		b[0] = (uint8_t)((nal[0] & 0x81) | (49 << 1));
		b[1] = nal[1];
		b[2] = (uint8_t)((off == 2 ? 0x80 : 0) | (off + len == n ? 0x40 : 0) | _type(nal));
		memcpy(b + 3, nal + off, len);
		off += len;
		cr_rtp_send(r, 3 + len, ts, last && off == n);
		count++;
	}
	return count;
}

int cr_rtp_h265(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts)
{
	const uint8_t *p = data, *end = data + size;
	size_t n, n2;
	const uint8_t *nal = _next(&p, end, &n);
	int count = 0;
	if (!nal)
		return -EINVAL;
	while (nal) {
		const uint8_t *q = p;
		const uint8_t *next = _next(&q, end, &n2);
		if (_small(nal) && next && _small(next) && 2 + 2 + n + 2 + n2 <= r->max_payload) {
			uint8_t *b = cr_rtp_payload_buf(r);
			size_t off = 2;
			uint8_t f = 0, layer = 0x3f, tid = 7;
			for (;;) {
				/* The AP header takes the lowest layer id and TID of its units. */
				f |= nal[0] & 0x80;
				uint8_t l = (uint8_t)(((nal[0] & 1) << 5) | (nal[1] >> 3)), t = nal[1] & 7;
				if (l < layer)
					layer = l;
				if (t < tid)
					tid = t;
				b[off] = (uint8_t)(n >> 8);
				b[off + 1] = (uint8_t)n;
				memcpy(b + off + 2, nal, n);
				off += 2 + n;
				nal = next;
				n = n2;
				p = q;
				if (!nal || !_small(nal) || off + 2 + n > r->max_payload)
					break;
				next = _next(&q, end, &n2);
			}
			b[0] = (uint8_t)(f | (48 << 1) | (layer >> 5));
			b[1] = (uint8_t)(((layer & 0x1f) << 3) | tid);
			cr_rtp_send(r, off, ts, nal == NULL);
			count++;
			continue;
		}
		if (n <= r->max_payload) {
			memcpy(cr_rtp_payload_buf(r), nal, n);
			cr_rtp_send(r, n, ts, next == NULL);
			count++;
		} else {
			count += _fu(r, nal, n, ts, next == NULL);
		}
		nal = next;
		n = n2;
		p = q;
	}
	return count;
}
