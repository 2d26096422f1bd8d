/* AV1 over RTP (AOMedia "RTP Payload Format for AV1" v1.0): an aggregation
 * header, then OBU elements each preceded by its LEB128 length (W = 0),
 * fragmented across packets with the Z/Y bits. OBUs lose their size field
 * (the element length replaces it); temporal delimiters and tile lists are
 * dropped as the format requires. */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

#define _MAX_OBUS 64

struct _elem_s {
	uint8_t hdr[2];
	size_t hdr_len;
	const uint8_t *payload;
	size_t payload_len;
};

static int _leb128_read(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 8; i++) {
		if (*p >= end)
			return -EINVAL;
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return 0;
	}
	return -EINVAL;
}

static size_t _leb128_len(size_t v)
{
	size_t n = 1;
	while (v >= 128) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t _leb128_write(uint8_t *b, size_t v)
{
	size_t n = 0;
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		b[n++] = (uint8_t)(byte | (v ? 0x80 : 0));
	} while (v);
	return n;
}

static void _copy(uint8_t *dst, const struct _elem_s *e, size_t from, size_t len)
{
	while (len > 0 && from < e->hdr_len) {
		*dst++ = e->hdr[from++];
		len--;
	}
	if (len)
		memcpy(dst, e->payload + (from - e->hdr_len), len);
}

int cr_rtp_av1(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool key)
{
	struct _elem_s el[_MAX_OBUS];
	int ne = 0;
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		uint8_t h = *p++;
		if (h & 0x80)
			return -EINVAL; /* forbidden bit */
		int type = (h >> 3) & 0xf;
		bool ext = h & 0x04, has_size = h & 0x02;
		uint8_t ext_byte = 0;
		if (ext) {
			if (p >= end)
				return -EINVAL;
			ext_byte = *p++;
		}
		uint64_t len = (uint64_t)(end - p);
		if (has_size && _leb128_read(&p, end, &len) < 0)
			return -EINVAL;
		if (len > (uint64_t)(end - p))
			return -EINVAL;
		if (type != 2 && type != 8) { /* temporal delimiter, tile list */
			if (ne == _MAX_OBUS)
				return -EINVAL;
			struct _elem_s *e = &el[ne++];
			e->hdr[0] = (uint8_t)(h & ~0x02);
			e->hdr[1] = ext_byte;
			e->hdr_len = ext ? 2 : 1;
			e->payload = p;
			e->payload_len = (size_t)len;
		}
		p += len;
	}
	if (ne == 0)
		return -EINVAL;
	int count = 0, ei = 0;
	size_t eoff = 0;
	bool cont = false;
	while (ei < ne) {
		uint8_t *b = cr_rtp_payload_buf(r);
		size_t off = 1;
		bool first_packet = count == 0;
		while (ei < ne) {
			size_t room = r->max_payload - off;
			if (room < 3)
				break;
			size_t left = el[ei].hdr_len + el[ei].payload_len - eoff;
			size_t chunk = left;
			if (_leb128_len(chunk) + chunk > room)
				chunk = room - _leb128_len(room);
			off += _leb128_write(b + off, chunk);
			_copy(b + off, &el[ei], eoff, chunk);
			off += chunk;
			eoff += chunk;
			if (eoff == el[ei].hdr_len + el[ei].payload_len) {
				ei++;
				eoff = 0;
			} else {
				break;
			}
		}
		b[0] = (uint8_t)((cont ? 0x80 : 0) | (eoff ? 0x40 : 0) |
				 (key && first_packet ? 0x08 : 0));
		cont = eoff != 0;
		cr_rtp_send(r, off, ts, ei == ne);
		count++;
	}
	return count;
}
