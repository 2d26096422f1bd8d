/* net/hash.h on OpenSSL's EVP and libargon2 (in the crypto module). */
#include "net/hash.h"

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const EVP_MD *_md(enum cr_hash_e h)
{
	return h == CR_HASH_MD5 ? EVP_md5() : h == CR_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
}

int cr_digest(enum cr_hash_e h, const struct iovec *parts, int n, uint8_t out[CR_HASH_MAX])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned len = 0;
	bool ok = c && EVP_DigestInit_ex(c, _md(h), NULL);
	for (int i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(c, parts[i].iov_base, parts[i].iov_len);
	ok = ok && EVP_DigestFinal_ex(c, out, &len);
	EVP_MD_CTX_free(c);
	return ok ? (int)len : -1;
}

int cr_hmac(enum cr_hash_e h, const void *key, size_t keylen, const void *p, size_t len, uint8_t out[CR_HASH_MAX])
{
	unsigned n = 0;
	return HMAC(_md(h), key, (int)keylen, p, len, out, &n) ? (int)n : -1;
}

bool cr_argon2_ok(const char *encoded, const void *pw, size_t len)
{
	static const struct {
		const char *prefix;
		argon2_type type;
	} types[] = {{"$argon2id$", Argon2_id}, {"$argon2i$", Argon2_i}, {"$argon2d$", Argon2_d}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncmp(encoded, types[i].prefix, strlen(types[i].prefix)) == 0)
			return argon2_verify(encoded, pw, len, types[i].type) == ARGON2_OK;
	return false;
}
