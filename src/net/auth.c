/* Credentials → rights; see auth.h. The crypto module (net/hash.h) does
 * HMAC-SHA256, SHA-256 and libargon2's password hashes, jansson reads the
 * JWT's JSON. */
#include "net/auth.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/hash.h"

#define _JWT_LEEWAY 60     /* seconds, as live777's jsonwebtoken default */
#define _MAX_CREDENTIAL 4096

/* Hand-written: OpenSSL's EVP_DecodeBlock knows neither base64url (JWTs)
 * nor missing padding. Accepts both alphabets, padding optional; -1 on any
 * other character. */
static int _b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static long _b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = _b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)n;
}

/* Equal secrets, in time that depends on neither content nor length. */
static bool _same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
	uint8_t da[CR_HASH_MAX], db[CR_HASH_MAX];
	if (cr_digest(CR_HASH_SHA256, &(struct iovec){(void *)a, alen}, 1, da) != 32 ||
	    cr_digest(CR_HASH_SHA256, &(struct iovec){(void *)b, blen}, 1, db) != 32)
		return false;
	return cr_same_bytes(da, db, 32);
}

static bool _stream_match(const char *id, const char *stream)
{
	return strcmp(id, "*") == 0 || (stream && strcmp(id, stream) == 0);
}

/* A JWT's part as JSON (an object), or NULL. */
static json_t *_jwt_json(const char *b64, size_t len)
{
	unsigned char buf[2048];
	long n = _b64_decode(b64, len, buf, sizeof(buf));
	if (n <= 0)
		return NULL;
	json_t *j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static bool _jwt_signed(const struct cr_auth_cfg_s *a, const char *jwt, size_t signed_len, const char *sig,
			size_t sig_len)
{
	unsigned char want[CR_HASH_MAX], got[64];
	long glen = _b64_decode(sig, sig_len, got, sizeof(got));
	int wlen = cr_hmac(CR_HASH_SHA256, a->secret, strlen(a->secret), jwt, signed_len, want);
	return wlen > 0 && glen == (long)wlen && cr_same_bytes(want, got, (size_t)wlen);
}

/* live777's claims → rights; see auth.h. */
static int _jwt_rights(json_t *claims, const char *stream, int64_t now, unsigned *rights)
{
	json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
	json_t *id = json_object_get(claims, "id"), *mode = json_object_get(claims, "mode");
	if (!json_is_number(exp) || !json_is_string(id) || !json_is_integer(mode))
		return CR_AUTH_BAD;
	if (json_number_value(exp) + _JWT_LEEWAY <= (double)now)
		return CR_AUTH_EXPIRED;
	if (nbf && (!json_is_number(nbf) || json_number_value(nbf) - _JWT_LEEWAY > (double)now))
		return nbf && json_is_number(nbf) ? CR_AUTH_EXPIRED : CR_AUTH_BAD;
	json_int_t m = json_integer_value(mode);
	const char *sid = json_string_value(id);
	*rights = 0;
	if (m < 0 || m > 7 || !_stream_match(sid, stream))
		return 0;
	if (m & 4)
		*rights |= CR_RIGHT_VIEW;
	if (m & 1)
		*rights |= CR_RIGHT_CONTROL | (strcmp(sid, "*") == 0 ? CR_RIGHT_ADMIN : 0);
	return 0;
}

static int _jwt(const struct cr_auth_cfg_s *a, const char *t, size_t len, const char *stream, int64_t now,
		unsigned *rights)
{
	const char *d1 = memchr(t, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - t)) : NULL;
	if (!a->secret[0] || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - t)))
		return CR_AUTH_BAD;
	json_t *hdr = _jwt_json(t, (size_t)(d1 - t));
	json_t *alg = hdr ? json_object_get(hdr, "alg") : NULL;
	/* Only HS256: "none" or another algorithm is never taken. */
	bool ok = json_is_string(alg) && strcmp(json_string_value(alg), "HS256") == 0 &&
		  _jwt_signed(a, t, (size_t)(d2 - t), d2 + 1, len - (size_t)(d2 + 1 - t));
	json_decref(hdr);
	if (!ok)
		return CR_AUTH_BAD;
	json_t *claims = _jwt_json(d1 + 1, (size_t)(d2 - d1 - 1));
	int rc = claims ? _jwt_rights(claims, stream, now, rights) : CR_AUTH_BAD;
	json_decref(claims);
	return rc;
}

static int _bearer(const struct cr_auth_cfg_s *a, const char *t, size_t len, const char *stream, int64_t now,
		   unsigned *rights)
{
	bool match = false;
	for (int i = 0; i < a->n_tokens; i++)
		match |= _same_secret(t, len, a->tokens[i], strlen(a->tokens[i]));
	if (match) {
		*rights = CR_RIGHTS_ALL;
		return 0;
	}
	return _jwt(a, t, len, stream, now, rights);
}

/* Successful argon2 checks, remembered by SHA-256 of user and password: a
 * hash takes tens of milliseconds by design, and an MJPEG page sends the
 * same Basic credentials with every request. */
#define _CACHE 16
static unsigned char _ok_cache[_CACHE][32];
static unsigned _ok_next;
static pthread_mutex_t _ok_lock = PTHREAD_MUTEX_INITIALIZER;

static bool _cache_key(const struct cr_auth_account_cfg_s *acc, const char *pw, size_t len,
		       unsigned char out[CR_HASH_MAX])
{
	struct iovec parts[2] = {{(void *)acc->password, strlen(acc->password) + 1}, {(void *)pw, len}};
	return cr_digest(CR_HASH_SHA256, parts, 2, out) == 32;
}

static bool _argon2_ok(const struct cr_auth_account_cfg_s *acc, const char *pw, size_t len)
{
	unsigned char key[CR_HASH_MAX];
	bool hit = false;
	if (!_cache_key(acc, pw, len, key))
		return false;
	pthread_mutex_lock(&_ok_lock);
	for (unsigned i = 0; i < _CACHE && i < _ok_next; i++)
		hit |= cr_same_bytes(_ok_cache[i], key, 32);
	pthread_mutex_unlock(&_ok_lock);
	if (hit)
		return true;
	if (!cr_argon2_ok(acc->password, pw, len))
		return false;
	pthread_mutex_lock(&_ok_lock);
	memcpy(_ok_cache[_ok_next++ % _CACHE], key, 32);
	pthread_mutex_unlock(&_ok_lock);
	return true;
}

const struct cr_auth_account_cfg_s *cr_auth_account(const struct cr_auth_cfg_s *a, const char *user)
{
	const struct cr_auth_account_cfg_s *found = NULL;
	for (int i = 0; a && i < a->n_accounts; i++)
		if (strcmp(a->accounts[i].username, user) == 0)
			found = &a->accounts[i];
	return found;
}

bool cr_auth_password_ok(const struct cr_auth_account_cfg_s *acc, const char *password, size_t len)
{
	if (strncmp(acc->password, "$argon2", 7) == 0)
		return _argon2_ok(acc, password, len);
	return _same_secret(password, len, acc->password, strlen(acc->password));
}

static int _basic(const struct cr_auth_cfg_s *a, const char *b64, size_t len, unsigned *rights)
{
	char buf[600];
	long n = _b64_decode(b64, len, (unsigned char *)buf, sizeof(buf) - 1);
	if (n < 0)
		return CR_AUTH_BAD;
	buf[n] = 0;
	char *colon = memchr(buf, ':', (size_t)n);
	if (!colon || memchr(buf, 0, (size_t)n))
		return CR_AUTH_BAD;
	*colon = 0;
	const struct cr_auth_account_cfg_s *acc = cr_auth_account(a, buf);
	size_t plen = (size_t)(buf + n - colon - 1);
	/* An unknown user costs the same comparison as a wrong password. */
	bool ok = acc ? cr_auth_password_ok(acc, colon + 1, plen) : (_same_secret(colon + 1, plen, "", 0), false);
	explicit_bzero(buf, sizeof(buf));
	if (!ok)
		return CR_AUTH_BAD;
	*rights = acc->rights;
	return 0;
}

/* One credential: "Bearer x", "Basic x" (scheme case-insensitive), or a bare
 * ?token= value (is_token). */
static int _one(const struct cr_auth_cfg_s *a, const char *v, bool is_token, const char *stream, int64_t now,
		unsigned *rights)
{
	size_t len = strnlen(v, _MAX_CREDENTIAL + 1);
	if (len > _MAX_CREDENTIAL)
		return CR_AUTH_BAD;
	if (is_token)
		return len ? _bearer(a, v, len, stream, now, rights) : CR_AUTH_BAD;
	size_t skip;
	if (strncasecmp(v, "Bearer ", 7) == 0) {
		skip = 7 + strspn(v + 7, " ");
		return len > skip ? _bearer(a, v + skip, len - skip, stream, now, rights) : CR_AUTH_BAD;
	}
	if (strncasecmp(v, "Basic ", 6) == 0) {
		skip = 6 + strspn(v + 6, " ");
		return _basic(a, v + skip, len - skip, rights);
	}
	return CR_AUTH_BAD;
}

int cr_auth_check(const struct cr_auth_cfg_s *a, const char *authorization, const char *token, const char *stream,
		  int64_t now, unsigned *rights)
{
	*rights = 0;
	if (!a || !a->present) {
		*rights = CR_RIGHTS_ALL;
		return 0;
	}
	if (!authorization && !token)
		return CR_AUTH_NONE;
	/* Both given (a page with ?token= that also sends a header): the union. */
	unsigned r1 = 0, r2 = 0;
	int rc1 = authorization ? _one(a, authorization, false, stream, now, &r1) : CR_AUTH_NONE;
	int rc2 = token ? _one(a, token, true, stream, now, &r2) : CR_AUTH_NONE;
	if (rc1 < 0 && rc2 < 0)
		return rc1 == CR_AUTH_NONE ? rc2 : rc1;
	*rights = (rc1 == 0 ? r1 : 0) | (rc2 == 0 ? r2 : 0);
	return 0;
}

const char *cr_auth_problem(int code)
{
	switch (code) {
	case CR_AUTH_NONE:
		return "credentials are required (Authorization: Bearer TOKEN or Basic, or ?token=TOKEN)";
	case CR_AUTH_EXPIRED:
		return "the token has expired (or is not valid yet)";
	default:
		return "the credentials are not valid";
	}
}
