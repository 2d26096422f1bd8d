/* H.264 over RTP, RFC 6184, packetization-mode 1: a NAL unit that fits goes
 * alone, parameter sets and SEI travel together in one STAP-A, larger NAL
 * units are cut into FU-A fragments. Access unit delimiters are dropped. */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

static const uint8_t *_next(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *nal;
	while ((nal = cr_annexb_next(p, end, n)))
		if (*n > 0 && (nal[0] & 0x1f) != 9 /* AUD */)
			return nal;
	return NULL;
}

static bool _small(const uint8_t *nal)
{
	int t = nal[0] & 0x1f;
	return t == 6 || t == 7 || t == 8;
}

static int _fu_a(struct cr_rtp_s *r, const uint8_t *nal, size_t n, uint32_t ts, bool last)
{
	size_t chunk = r->max_payload - 2, off = 1;
	int count = 0;
	while (off < n) {
		size_t len = n - off < chunk ? n - off : chunk;
		uint8_t *b = cr_rtp_payload_buf(r);
		b[0] = (uint8_t)((nal[0] & 0xe0) | 28);
		b[1] = (uint8_t)((off == 1 ? 0x80 : 0) | (off + len == n ? 0x40 : 0) | (nal[0] & 0x1f));
		memcpy(b + 2, nal + off, len);
		off += len;
		cr_rtp_send(r, 2 + len, ts, last && off == n);
		count++;
	}
	return count;
}

int cr_rtp_h264(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts)
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
		if (_small(nal) && next && _small(next) && 1 + 2 + n + 2 + n2 <= r->max_payload) {
			uint8_t *b = cr_rtp_payload_buf(r);
			size_t off = 1;
			uint8_t f = 0, nri = 0;
			for (;;) {
				f |= nal[0] & 0x80;
				if ((nal[0] & 0x60) > nri)
					nri = nal[0] & 0x60;
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
			b[0] = (uint8_t)(f | nri | 24);
			cr_rtp_send(r, off, ts, nal == NULL);
			count++;
			continue;
		}
		if (n <= r->max_payload) {
			memcpy(cr_rtp_payload_buf(r), nal, n);
			cr_rtp_send(r, n, ts, next == NULL);
			count++;
		} else {
			count += _fu_a(r, nal, n, ts, next == NULL);
		}
		nal = next;
		n = n2;
		p = q;
	}
	return count;
}
