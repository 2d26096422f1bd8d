/* DCEP parsing and the text test of the bridge; see dcep.h. */
#include "net/dcep.h"

#include <errno.h>
#include <string.h>

static uint16_t _be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t _be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int _copy_str(char *out, const uint8_t *p, size_t n)
{
	if (n > CR_DCEP_MAX_LABEL)
		return -E2BIG;
	if (memchr(p, 0, n))
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

int cr_dcep_parse_open(const uint8_t *p, size_t len, struct cr_dcep_open_s *o)
{
	memset(o, 0, sizeof(*o));
	if (len < 12 || p[0] != CR_DCEP_OPEN)
		return -EINVAL;
	uint8_t type = p[1];
	size_t label_len = _be16(p + 8), proto_len = _be16(p + 10);
	/* The lengths must account for every byte (RFC 8832 5.1). */
	if (12 + label_len + proto_len != len)
		return -EINVAL;
	switch (type & 0x7f) {
	case CR_DCEP_RELIABLE:
	case CR_DCEP_REXMIT:
	case CR_DCEP_TIMED:
		break;
	default:
		return -EINVAL;
	}
	o->ordered = !(type & CR_DCEP_UNORDERED);
	o->reliability = (enum cr_dcep_reliability_e)(type & 0x7f);
	o->priority = _be16(p + 2);
	o->reliability_param = _be32(p + 4);
	int r = _copy_str(o->label, p + 12, label_len);
	if (r == 0)
		r = _copy_str(o->protocol, p + 12 + label_len, proto_len);
	return r;
}

bool cr_dcep_is_text(const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return false;
			if (c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t n;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false; /* continuation byte first, overlong 0xc0/0xc1, or past 0xf4 */
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false; /* overlong, out of range, surrogate, C1 control */
		i += n + 1;
	}
	return true;
}
