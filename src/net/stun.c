/* STUN for ICE-lite; see stun.h. Parses outside input (fuzzed). */
#include "net/stun.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <zlib.h>

#include "net/hash.h"

#define _MAGIC 0x2112a442u
#define _ATTR_USERNAME 0x0006
#define _ATTR_INTEGRITY 0x0008
#define _ATTR_XOR_MAPPED 0x0020
#define _ATTR_PRIORITY 0x0024
#define _ATTR_USE_CANDIDATE 0x0025
#define _ATTR_FINGERPRINT 0x8028
#define _ATTR_ICE_CONTROLLED 0x8029
#define _ATTR_ICE_CONTROLLING 0x802a
#define _FP_XOR 0x5354554eu

static uint16_t _u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t _u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void _put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void _put32(uint8_t *p, uint32_t v)
{
	_put16(p, (uint16_t)(v >> 16));
	_put16(p + 2, (uint16_t)v);
}

static uint32_t _crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len) ^ _FP_XOR;
}

void cr_stun_xor_addr(const uint8_t *v, size_t len, const uint8_t *tid, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (len >= 8 && v[1] == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)(_u16(v + 2) ^ (_MAGIC >> 16)));
		sin->sin_addr.s_addr = htonl(_u32(v + 4) ^ _MAGIC);
	} else if (len >= 20 && v[1] == 2) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		uint8_t mask[16];
		_put32(mask, _MAGIC);
		memcpy(mask + 4, tid, 12);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)(_u16(v + 2) ^ (_MAGIC >> 16)));
		for (int i = 0; i < 16; i++)
			sin6->sin6_addr.s6_addr[i] = v[4 + i] ^ mask[i];
	}
}

int cr_stun_parse(const uint8_t *p, size_t len, struct cr_stun_msg_s *m)
{
	memset(m, 0, sizeof(*m));
	if (!cr_stun_is(p, len) || (p[0] & 0xc0))
		return -EINVAL;
	size_t mlen = _u16(p + 2);
	if (mlen % 4 || mlen + 20 != len)
		return -EINVAL;
	m->type = _u16(p);
	memcpy(m->tid, p + 8, 12);
	size_t off = 20;
	while (off < len) {
		if (len - off < 4)
			return -EINVAL;
		uint16_t t = _u16(p + off), alen = _u16(p + off + 2);
		const uint8_t *v = p + off + 4;
		size_t padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return -EINVAL;
		if (m->integrity_at && t != _ATTR_FINGERPRINT)
			return -EINVAL; /* only FINGERPRINT may follow MESSAGE-INTEGRITY */
		switch (t) {
		case _ATTR_USERNAME:
			m->username = v;
			m->username_len = alen;
			break;
		case _ATTR_PRIORITY:
			if (alen != 4)
				return -EINVAL;
			m->priority = _u32(v);
			break;
		case _ATTR_USE_CANDIDATE:
			m->use_candidate = true;
			break;
		case _ATTR_ICE_CONTROLLING:
			m->ice_controlling = true;
			break;
		case _ATTR_ICE_CONTROLLED:
			m->ice_controlled = true;
			break;
		case _ATTR_XOR_MAPPED:
			cr_stun_xor_addr(v, alen, m->tid, &m->xor_mapped);
			m->has_xor_mapped = m->xor_mapped.ss_family != 0;
			break;
		case _ATTR_INTEGRITY:
			if (alen != 20)
				return -EINVAL;
			m->integrity_at = off;
			break;
		case _ATTR_FINGERPRINT:
			if (alen != 4 || off + 8 != len)
				return -EINVAL;
			if (_crc(p, off) != _u32(v))
				return -EINVAL;
			m->fingerprint = true;
			break;
		default:
			break;
		}
		off += 4 + padded;
	}
	return 0;
}

/* HMAC-SHA1 over the message up to `at`, the header length covering up to
 * the end of a 24-byte MESSAGE-INTEGRITY attribute at `at` (RFC 5389 15.4). */
static bool _hmac(const uint8_t *p, size_t at, const char *key, size_t keylen, uint8_t mac[20])
{
	uint8_t buf[2048];
	if (at > sizeof(buf))
		return false; /* real Binding requests are a few hundred bytes */
	memcpy(buf, p, at);
	_put16(buf + 2, (uint16_t)(at - 20 + 24));
	uint8_t out[CR_HASH_MAX];
	if (cr_hmac(CR_HASH_SHA1, key, keylen, buf, at, out) != 20)
		return false;
	memcpy(mac, out, 20);
	return true;
}

bool cr_stun_check_integrity(const uint8_t *p, size_t len, const struct cr_stun_msg_s *m,
			     const char *key, size_t keylen)
{
	if (!m->integrity_at || m->integrity_at + 24 > len)
		return false;
	uint8_t mac[20];
	if (!_hmac(p, m->integrity_at, key, keylen, mac))
		return false;
	return cr_same_bytes(mac, p + m->integrity_at + 4, 20);
}

size_t cr_stun_seal(uint8_t *out, size_t cap, size_t off, const char *key, size_t keylen)
{
	if (off + 24 + 8 > cap)
		return 0;
	if (!_hmac(out, off, key, keylen, out + off + 4))
		return 0;
	_put16(out + off, _ATTR_INTEGRITY);
	_put16(out + off + 2, 20);
	off += 24;
	_put16(out + 2, (uint16_t)(off - 20 + 8));
	_put16(out + off, _ATTR_FINGERPRINT);
	_put16(out + off + 2, 4);
	_put32(out + off + 4, _crc(out, off));
	return off + 8;
}

size_t cr_stun_put_xor_addr(uint8_t *a, size_t cap, uint16_t type, const struct sockaddr *addr, const uint8_t tid[12])
{
	if (addr->sa_family == AF_INET && cap >= 12) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		_put16(a, type);
		_put16(a + 2, 8);
		a[4] = 0;
		a[5] = 1;
		_put16(a + 6, (uint16_t)(ntohs(sin->sin_port) ^ (_MAGIC >> 16)));
		_put32(a + 8, ntohl(sin->sin_addr.s_addr) ^ _MAGIC);
		return 12;
	}
	if (addr->sa_family == AF_INET6 && cap >= 24) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
		uint8_t mask[16];
		_put32(mask, _MAGIC);
		memcpy(mask + 4, tid, 12);
		_put16(a, type);
		_put16(a + 2, 20);
		a[4] = 0;
		a[5] = 2;
		_put16(a + 6, (uint16_t)(ntohs(sin6->sin6_port) ^ (_MAGIC >> 16)));
		for (int i = 0; i < 16; i++)
			a[8 + i] = sin6->sin6_addr.s6_addr[i] ^ mask[i];
		return 24;
	}
	return 0;
}

size_t cr_stun_binding_response(uint8_t *out, size_t cap, const uint8_t tid[12],
				const struct sockaddr *addr, const char *key, size_t keylen)
{
	if (cap < 20 + 24)
		return 0;
	_put16(out, CR_STUN_BINDING_SUCCESS);
	_put32(out + 4, _MAGIC);
	memcpy(out + 8, tid, 12);
	size_t off = 20;
	off += cr_stun_put_xor_addr(out + off, cap - off, _ATTR_XOR_MAPPED, addr, tid);
	_put16(out + 2, (uint16_t)(off - 20));
	return cr_stun_seal(out, cap, off, key, keylen);
}

size_t cr_stun_binding_request(uint8_t *out, size_t cap, const uint8_t tid[12], const char *username,
			       const char *key, size_t keylen, bool use_candidate)
{
	return cr_stun_check_request(out, cap, tid, username, key, keylen, use_candidate, true);
}

size_t cr_stun_check_request(uint8_t *out, size_t cap, const uint8_t tid[12], const char *username,
			     const char *key, size_t keylen, bool use_candidate, bool controlling)
{
	size_t ul = strlen(username), off = 20;
	size_t need = 20 + 4 + ((ul + 3) & ~(size_t)3) + 8 + 12 + 4 + 32;
	if (cap < need || ul > 512)
		return 0;
	_put16(out, CR_STUN_BINDING_REQUEST);
	_put32(out + 4, _MAGIC);
	memcpy(out + 8, tid, 12);
	_put16(out + off, _ATTR_USERNAME);
	_put16(out + off + 2, (uint16_t)ul);
	memcpy(out + off + 4, username, ul);
	memset(out + off + 4 + ul, 0, ((ul + 3) & ~(size_t)3) - ul);
	off += 4 + ((ul + 3) & ~(size_t)3);
	_put16(out + off, _ATTR_PRIORITY);
	_put16(out + off + 2, 4);
	_put32(out + off + 4, 0x6e0001ff);
	off += 8;
	_put16(out + off, controlling ? _ATTR_ICE_CONTROLLING : _ATTR_ICE_CONTROLLED);
	_put16(out + off + 2, 8);
	memset(out + off + 4, 0x5a, 8);
	off += 12;
	if (use_candidate) {
		_put16(out + off, _ATTR_USE_CANDIDATE);
		_put16(out + off + 2, 0);
		off += 4;
	}
	_put16(out + 2, (uint16_t)(off - 20));
	return cr_stun_seal(out, cap, off, key, keylen);
}
