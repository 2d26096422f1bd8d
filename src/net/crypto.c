/* The core's side of the crypto module (net/crypto.h): its loading, and the
 * functions of dtls.h, srtp.h, sctp.h, tls.h and hash.h forwarded to it. */
#include "net/crypto.h"

#include <errno.h>
#include <stdio.h>

#include "core/log.h"
#include "core/module.h"

const struct cr_crypto_s *cr_crypto;

const struct cr_crypto_s *cr_crypto_load(char *err, size_t errlen)
{
	const struct cr_crypto_s *k = __atomic_load_n(&cr_crypto, __ATOMIC_ACQUIRE);
	if (k)
		return k;
	k = cr_module_symbol("crypto", "cr_crypto_table", "camrelay", err, errlen);
	if (k && k->size != sizeof(*k)) {
		snprintf(err, errlen, "camrelay-crypto.so is not the module of this camrelay (reinstall camrelay)");
		return NULL;
	}
	if (k)
		__atomic_store_n(&cr_crypto, k, __ATOMIC_RELEASE);
	return k;
}

/* For the entries that may come first (they make the objects, or need no
 * object): loads the module, saying once in the log when it cannot. */
static const struct cr_crypto_s *_k(char *err, size_t errlen)
{
	static int said;
	char why[1024];
	const struct cr_crypto_s *k = cr_crypto_load(why, sizeof(why));
	if (!k && err && errlen)
		snprintf(err, errlen, "%s", why);
	if (!k && !__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		CR_LOG_E("crypto", "%s", why);
	return k;
}

/* net/dtls.h */
struct cr_dtls_ctx_s *cr_dtls_ctx_new(char *err, size_t errlen)
{
	const struct cr_crypto_s *k = _k(err, errlen);
	return k ? k->dtls_ctx_new(err, errlen) : NULL;
}

void cr_dtls_ctx_free(struct cr_dtls_ctx_s *ctx)
{
	if (ctx)
		cr_crypto->dtls_ctx_free(ctx);
}

const char *cr_dtls_fingerprint(const struct cr_dtls_ctx_s *ctx) { return cr_crypto->dtls_fingerprint(ctx); }

bool cr_dtls_fp_alg_known(const char *fp_alg)
{
	const struct cr_crypto_s *k = _k(NULL, 0);
	return k && k->dtls_fp_alg_known(fp_alg);
}

struct cr_dtls_s *cr_dtls_new(struct cr_dtls_ctx_s *ctx, const char *fp_alg, const char *remote_fp,
			      cr_dtls_send_fn send, void *opaque)
{
	return cr_crypto->dtls_new(ctx, fp_alg, remote_fp, send, opaque);
}

void cr_dtls_free(struct cr_dtls_s *d)
{
	if (d)
		cr_crypto->dtls_free(d);
}

int cr_dtls_connect(struct cr_dtls_s *d) { return cr_crypto->dtls_connect(d); }
int cr_dtls_input(struct cr_dtls_s *d, const uint8_t *p, size_t len) { return cr_crypto->dtls_input(d, p, len); }
int cr_dtls_tick(struct cr_dtls_s *d) { return cr_crypto->dtls_tick(d); }
bool cr_dtls_done(const struct cr_dtls_s *d) { return cr_crypto->dtls_done(d); }

void cr_dtls_set_app(struct cr_dtls_s *d, cr_dtls_app_fn fn, void *opaque)
{
	cr_crypto->dtls_set_app(d, fn, opaque);
}

int cr_dtls_write(struct cr_dtls_s *d, const uint8_t *p, size_t len) { return cr_crypto->dtls_write(d, p, len); }

int cr_dtls_srtp_keys(struct cr_dtls_s *d, struct cr_srtp_keys_s *keys)
{
	return cr_crypto->dtls_srtp_keys(d, keys);
}

const char *cr_dtls_error(const struct cr_dtls_s *d) { return cr_crypto->dtls_error(d); }

/* net/srtp.h */
struct cr_srtp_s *cr_srtp_new(const struct cr_srtp_keys_s *keys, char *err, size_t errlen)
{
	const struct cr_crypto_s *k = _k(err, errlen);
	return k ? k->srtp_new(keys, err, errlen) : NULL;
}

void cr_srtp_free(struct cr_srtp_s *s)
{
	if (s)
		cr_crypto->srtp_free(s);
}

int cr_srtp_protect(struct cr_srtp_s *s, uint8_t *pkt, size_t *len) { return cr_crypto->srtp_protect(s, pkt, len); }

int cr_srtp_protect_from(struct cr_srtp_s *s, uint8_t *dst, size_t h, const uint8_t *payload, size_t payload_len,
			 size_t *len)
{
	return cr_crypto->srtp_protect_from(s, dst, h, payload, payload_len, len);
}

int cr_srtp_protect_libsrtp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	return cr_crypto->srtp_protect_libsrtp(s, pkt, len);
}

int cr_srtp_protect_rtcp_libsrtp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	return cr_crypto->srtp_protect_rtcp_libsrtp(s, pkt, len);
}

int cr_srtp_protect_rtcp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	return cr_crypto->srtp_protect_rtcp(s, pkt, len);
}

int cr_srtp_unprotect_rtcp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	return cr_crypto->srtp_unprotect_rtcp(s, pkt, len);
}

int cr_srtp_unprotect(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	return cr_crypto->srtp_unprotect(s, pkt, len);
}

/* net/sctp.h */
struct cr_sctp_s *cr_sctp_new(const struct cr_sctp_opts_s *o, const struct cr_sctp_cb_s *cb, void *opaque,
			      char *err, size_t errlen)
{
	const struct cr_crypto_s *k = _k(err, errlen);
	if (k && !k->sctp_new)
		snprintf(err, errlen, "camrelay-crypto.so was built without data channels (libusrsctp)");
	return k && k->sctp_new ? k->sctp_new(o, cb, opaque, err, errlen) : NULL;
}

void cr_sctp_free(struct cr_sctp_s *s)
{
	if (s)
		cr_crypto->sctp_free(s);
}

int cr_sctp_input(struct cr_sctp_s *s, const uint8_t *p, size_t len) { return cr_crypto->sctp_input(s, p, len); }

int cr_sctp_send(struct cr_sctp_s *s, uint16_t sid, uint32_t ppid, bool unordered, int pr_policy, uint32_t pr_value,
		 const void *p, size_t len)
{
	return cr_crypto->sctp_send(s, sid, ppid, unordered, pr_policy, pr_value, p, len);
}

int cr_sctp_reset_stream(struct cr_sctp_s *s, uint16_t sid) { return cr_crypto->sctp_reset_stream(s, sid); }
bool cr_sctp_up(const struct cr_sctp_s *s) { return cr_crypto->sctp_up(s); }

/* These four run without an association of their own: usrsctp is only
 * ever started by cr_sctp_new, so without the module there is nothing. */
void cr_sctp_hold(void)
{
	const struct cr_crypto_s *k = _k(NULL, 0);
	if (k && k->sctp_hold)
		k->sctp_hold();
}

void cr_sctp_release(void)
{
	if (cr_crypto && cr_crypto->sctp_release)
		cr_crypto->sctp_release();
}

void cr_sctp_timers(void)
{
	if (cr_crypto && cr_crypto->sctp_timers)
		cr_crypto->sctp_timers();
}

bool cr_sctp_active(void) { return cr_crypto && cr_crypto->sctp_active && cr_crypto->sctp_active(); }

int cr_sctp_abandoned(const struct cr_sctp_s *s, uint16_t sid, uint64_t *out)
{
	return cr_crypto->sctp_abandoned(s, sid, out);
}

void cr_sctp_data_chunks(const uint8_t *p, size_t len, void (*fn)(void *opaque, const struct cr_sctp_data_s *d),
			 void *opaque)
{
	const struct cr_crypto_s *k = _k(NULL, 0);
	if (k && k->sctp_data_chunks)
		k->sctp_data_chunks(p, len, fn, opaque);
}

/* net/tls.h */
struct cr_tls_s *cr_tls_server_new(const char *cert, const char *key, char *err, size_t errlen)
{
	const struct cr_crypto_s *k = _k(err, errlen);
	return k ? k->tls_server_new(cert, key, err, errlen) : NULL;
}

struct cr_tls_s *cr_tls_client_new(char *err, size_t errlen)
{
	const struct cr_crypto_s *k = _k(err, errlen);
	return k ? k->tls_client_new(err, errlen) : NULL;
}

void cr_tls_free(struct cr_tls_s *t)
{
	if (t)
		cr_crypto->tls_free(t);
}

struct bufferevent *cr_tls_accept_bev(struct cr_tls_s *t, struct event_base *base)
{
	return cr_crypto->tls_accept_bev(t, base);
}

struct bufferevent *cr_tls_connect_bev(struct cr_tls_s *t, struct event_base *base, const char *host, char *err,
				       size_t errlen)
{
	return cr_crypto->tls_connect_bev(t, base, host, err, errlen);
}

/* net/hash.h */
int cr_digest(enum cr_hash_e h, const struct iovec *parts, int n, uint8_t out[CR_HASH_MAX])
{
	const struct cr_crypto_s *k = _k(NULL, 0);
	return k ? k->digest(h, parts, n, out) : -1;
}

int cr_hmac(enum cr_hash_e h, const void *key, size_t keylen, const void *p, size_t len, uint8_t out[CR_HASH_MAX])
{
	const struct cr_crypto_s *k = _k(NULL, 0);
	return k ? k->hmac(h, key, keylen, p, len, out) : -1;
}

bool cr_argon2_ok(const char *encoded, const void *pw, size_t len)
{
	const struct cr_crypto_s *k = _k(NULL, 0);
	return k && k->argon2_ok(encoded, pw, len);
}
