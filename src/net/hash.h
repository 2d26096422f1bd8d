/* Digests, HMACs and password hashes for the doors (STUN/TURN integrity,
 * RTSP Digest, tokens, JWTs, Basic). Implemented on OpenSSL and libargon2 in
 * net/hash.c, which is part of the crypto module (net/crypto.h); the core
 * reaches it through the forwarders of net/crypto.c, which load the module
 * on first use. The fuzz targets link net/hash.c itself. */
#ifndef CR_NET_HASH_H
#define CR_NET_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum cr_hash_e {
	CR_HASH_MD5,    /* 16 bytes */
	CR_HASH_SHA1,   /* 20 */
	CR_HASH_SHA256, /* 32 */
};
#define CR_HASH_MAX 32

/* The digest of parts[0..n) one after the other into out: its length, or
 * -1 (the crypto module missing: said once in the log). */
int cr_digest(enum cr_hash_e h, const struct iovec *parts, int n, uint8_t out[CR_HASH_MAX]);
/* HMAC of p[0..len) under key: its length, or -1. */
int cr_hmac(enum cr_hash_e h, const void *key, size_t keylen, const void *p, size_t len, uint8_t out[CR_HASH_MAX]);
/* Whether pw (len bytes) matches the libargon2 hash `encoded`
 * ("$argon2id$...", "$argon2i$...", "$argon2d$..."). */
bool cr_argon2_ok(const char *encoded, const void *pw, size_t len);

/* a[0..n) == b[0..n) in time that does not depend on the content. */
static inline bool cr_same_bytes(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

#endif
