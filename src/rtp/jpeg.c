/* JPEG over RTP, RFC 2435: a baseline JFIF frame (what MJPEG cameras and
 * libjpeg-turbo write) is sent as its entropy-coded scan cut into fragments,
 * each with the 8-byte JPEG header (type, Q = 255, size in 8-pixel units);
 * the first fragment carries the frame's two quantization tables, so the
 * receiver rebuilds the headers without any table negotiation. Type 0 is
 * 4:2:2 (Y 2x1), type 1 is 4:2:0 (Y 2x2), +64 with a restart interval
 * (DRI). The Huffman tables are the standard ones (RFC 2435 section 3.1.8);
 * frames with their own still go out, and decode wrongly, as with every
 * RFC 2435 sender. Parses encoder/camera output, so every length is checked
 * (fuzzed through fuzz_rtcp's payloader pass). Hand-written: no Debian
 * library payloads RTP/JPEG outside a media framework. */
#include <errno.h>
#include <string.h>

#include "rtp/rtp.h"

struct _jpeg_s {
	int type;          /* 0 or 1 (+64 with restart markers) */
	int width, height; /* pixels */
	int restart;       /* DRI interval, 0 = none */
	const uint8_t *qt[2]; /* 64-byte luma, chroma tables (zig-zag, 8-bit) */
	const uint8_t *scan;
	size_t scan_len;
};

static unsigned _u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* DQT: one or more tables; 8-bit ones are kept by id (0..3). */
static int _dqt(const uint8_t *p, size_t n, const uint8_t *tables[4])
{
	while (n >= 65) {
		int pq = p[0] >> 4, tq = p[0] & 15;
		if (pq != 0 || tq > 3)
			return -EINVAL; /* 16-bit tables cannot travel in RFC 2435 */
		tables[tq] = p + 1;
		p += 65;
		n -= 65;
	}
	return n == 0 ? 0 : -EINVAL;
}

/* SOF0: 3 components, Y 2x1 or 2x2, Cb and Cr 1x1 sharing one table. */
static int _sof(const uint8_t *p, size_t n, struct _jpeg_s *j, int qt_id[2])
{
	if (n < 6 + 9 || p[0] != 8 || p[5] != 3)
		return -EINVAL;
	j->height = (int)_u16(p + 1);
	j->width = (int)_u16(p + 3);
	const uint8_t *c = p + 6;
	if (c[1] == 0x21)
		j->type = 0;
	else if (c[1] == 0x22)
		j->type = 1;
	else
		return -EINVAL;
	if (c[4] != 0x11 || c[7] != 0x11 || c[5] != c[8])
		return -EINVAL;
	qt_id[0] = c[2] & 3;
	qt_id[1] = c[5] & 3;
	return 0;
}

static int _parse(const uint8_t *d, size_t size, struct _jpeg_s *j)
{
	const uint8_t *tables[4] = {0};
	int qt_id[2] = {-1, -1};
	memset(j, 0, sizeof(*j));
	j->type = -1;
	if (size < 4 || d[0] != 0xff || d[1] != 0xd8)
		return -EINVAL;
	size_t i = 2;
	while (i + 4 <= size) {
		if (d[i] != 0xff)
			return -EINVAL;
		uint8_t m = d[i + 1];
		if (m == 0xff) { /* fill byte */
			i++;
			continue;
		}
		size_t len = _u16(d + i + 2);
		if (len < 2 || i + 2 + len > size)
			return -EINVAL;
		const uint8_t *p = d + i + 4;
		size_t n = len - 2;
		if (m == 0xdb && _dqt(p, n, tables) < 0)
			return -EINVAL;
		if ((m == 0xc1 || m == 0xc2 || m == 0xc3 || (m >= 0xc5 && m <= 0xcf && m != 0xc8 && m != 0xcc)))
			return -EINVAL; /* not baseline */
		if (m == 0xc0 && _sof(p, n, j, qt_id) < 0)
			return -EINVAL;
		if (m == 0xdd && n >= 2)
			j->restart = (int)_u16(p);
		if (m == 0xda) {
			j->scan = d + i + 2 + len;
			size_t end = size;
			/* The scan ends at EOI (trailing bytes after it are ignored). */
			while (end >= 2 && !(d[end - 2] == 0xff && d[end - 1] == 0xd9) && end > (size_t)(j->scan - d))
				end--;
			if (end >= 2 && d[end - 2] == 0xff && d[end - 1] == 0xd9)
				end -= 2;
			else
				end = size;
			if (end <= (size_t)(j->scan - d))
				return -EINVAL;
			j->scan_len = end - (size_t)(j->scan - d);
			break;
		}
		i += 2 + len;
	}
	if (!j->scan || j->type < 0 || qt_id[0] < 0 || !tables[qt_id[0]] || !tables[qt_id[1]])
		return -EINVAL;
	if (j->width <= 0 || j->height <= 0 || j->width > 2040 || j->height > 2040 || j->scan_len >= 1u << 24)
		return -EINVAL; /* the header counts 8-pixel blocks in 8 bits, offsets in 24 */
	j->qt[0] = tables[qt_id[0]];
	j->qt[1] = tables[qt_id[1]];
	if (j->restart)
		j->type += 64;
	return 0;
}

int cr_rtp_jpeg(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts)
{
	struct _jpeg_s j;
	if (r->max_payload < 8 + 4 + 132 + 16 || _parse(data, size, &j) < 0)
		return -EINVAL;
	size_t off = 0;
	int n = 0;
	while (off < j.scan_len) {
		uint8_t *p = cr_rtp_payload_buf(r);
		size_t h = 8;
		p[0] = 0;
		p[1] = (uint8_t)(off >> 16);
		p[2] = (uint8_t)(off >> 8);
		p[3] = (uint8_t)off;
		p[4] = (uint8_t)j.type;
		p[5] = 255; /* Q: tables in band */
		p[6] = (uint8_t)((j.width + 7) / 8);
		p[7] = (uint8_t)((j.height + 7) / 8);
		if (j.type >= 64) { /* restart marker header: F = L = 1, count 0x3fff */
			p[8] = (uint8_t)(j.restart >> 8);
			p[9] = (uint8_t)j.restart;
			p[10] = 0xff;
			p[11] = 0xff;
			h += 4;
		}
		if (off == 0) { /* quantization table header */
			p[h] = 0;
			p[h + 1] = 0;
			p[h + 2] = 0;
			p[h + 3] = 128;
			memcpy(p + h + 4, j.qt[0], 64);
			memcpy(p + h + 68, j.qt[1], 64);
			h += 132;
		}
		size_t room = r->max_payload - h;
		size_t chunk = j.scan_len - off < room ? j.scan_len - off : room;
		memcpy(p + h, j.scan + off, chunk);
		off += chunk;
		cr_rtp_send(r, h + chunk, ts, off == j.scan_len);
		n++;
	}
	return n;
}
