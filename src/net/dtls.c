/* DTLS-SRTP server; see dtls.h. */
#include "net/dtls.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define _MTU 1200

struct cr_dtls_ctx_s {
	SSL_CTX *ssl_ctx;
	char fingerprint[200];
};

struct cr_dtls_s {
	SSL *ssl;
	BIO *rbio, *wbio;
	cr_dtls_send_fn send;
	void *opaque;
	const EVP_MD *remote_md; /* the offer's a=fingerprint algorithm */
	char remote_fp[200];
	bool done, failed;
	char error[256];
	cr_dtls_app_fn app;
	void *app_opaque;
};

static void _ssl_error(char *buf, size_t n, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[160] = "unknown reason";
	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	snprintf(buf, n, "%s: %s", what, reason);
}

static void _hex_fp(const unsigned char *md, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

/* Browsers present self-signed certificates; what authenticates them is the
 * fingerprint from the signalled offer, checked after the handshake. */
static int _verify(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

struct cr_dtls_ctx_s *cr_dtls_ctx_new(char *err, size_t errlen)
{
	struct cr_dtls_ctx_s *c = calloc(1, sizeof(*c));
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	key = EVP_EC_gen("P-256");
	x = X509_new();
	if (!key || !x) {
		_ssl_error(err, errlen, "cannot generate the DTLS key");
		goto error;
	}
	unsigned char serial[8];
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"camrelay", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	if (!X509_sign(x, key, EVP_sha256())) {
		_ssl_error(err, errlen, "cannot sign the DTLS certificate");
		goto error;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	X509_digest(x, EVP_sha256(), md, &mdlen);
	_hex_fp(md, mdlen, c->fingerprint);

	/* Either role: WHEP sessions accept, WHIP sessions connect. */
	c->ssl_ctx = SSL_CTX_new(DTLS_method());
	if (!c->ssl_ctx) {
		_ssl_error(err, errlen, "cannot create the DTLS context");
		goto error;
	}
	SSL_CTX_set_min_proto_version(c->ssl_ctx, DTLS1_2_VERSION);
	if (SSL_CTX_use_certificate(c->ssl_ctx, x) != 1 || SSL_CTX_use_PrivateKey(c->ssl_ctx, key) != 1) {
		_ssl_error(err, errlen, "cannot use the DTLS certificate");
		goto error;
	}
	SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, _verify);
	/* Returns 0 on success, unlike most of OpenSSL. */
	if (SSL_CTX_set_tlsext_use_srtp(c->ssl_ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0) {
		_ssl_error(err, errlen, "cannot enable the DTLS use_srtp extension");
		goto error;
	}
	SSL_CTX_set_read_ahead(c->ssl_ctx, 1);
	SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_QUERY_MTU);
	X509_free(x);
	EVP_PKEY_free(key);
	return c;
error:
	X509_free(x);
	EVP_PKEY_free(key);
	cr_dtls_ctx_free(c);
	return NULL;
}

void cr_dtls_ctx_free(struct cr_dtls_ctx_s *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ssl_ctx);
	free(c);
}

const char *cr_dtls_fingerprint(const struct cr_dtls_ctx_s *c) { return c->fingerprint; }

/* RFC 8122's hash names that browsers use (RFC 8122 also lists md2/md5,
 * which are refused). */
static const EVP_MD *_fp_md(const char *alg)
{
	static const struct {
		const char *name;
		const EVP_MD *(*md)(void);
	} algs[] = {{"sha-1", EVP_sha1},     {"sha-224", EVP_sha224}, {"sha-256", EVP_sha256},
		    {"sha-384", EVP_sha384}, {"sha-512", EVP_sha512}};
	for (size_t i = 0; alg && i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcasecmp(alg, algs[i].name) == 0)
			return algs[i].md();
	return NULL;
}

bool cr_dtls_fp_alg_known(const char *alg) { return _fp_md(alg) != NULL; }

struct cr_dtls_s *cr_dtls_new(struct cr_dtls_ctx_s *ctx, const char *fp_alg, const char *remote_fp,
			      cr_dtls_send_fn send, void *opaque)
{
	const EVP_MD *md = _fp_md(fp_alg);
	struct cr_dtls_s *d = md ? calloc(1, sizeof(*d)) : NULL;
	if (!d)
		return NULL;
	d->remote_md = md;
	d->ssl = SSL_new(ctx->ssl_ctx);
	d->rbio = BIO_new(BIO_s_mem());
	d->wbio = BIO_new(BIO_s_mem());
	if (!d->ssl || !d->rbio || !d->wbio) {
		SSL_free(d->ssl);
		BIO_free(d->rbio);
		BIO_free(d->wbio);
		free(d);
		return NULL;
	}
	BIO_set_mem_eof_return(d->rbio, -1);
	BIO_set_mem_eof_return(d->wbio, -1);
	SSL_set_bio(d->ssl, d->rbio, d->wbio);
	SSL_set_accept_state(d->ssl);
	SSL_set_mtu(d->ssl, _MTU);
	DTLS_set_link_mtu(d->ssl, _MTU);
	d->send = send;
	d->opaque = opaque;
	snprintf(d->remote_fp, sizeof(d->remote_fp), "%s", remote_fp ? remote_fp : "");
	return d;
}

void cr_dtls_free(struct cr_dtls_s *d)
{
	if (!d)
		return;
	SSL_free(d->ssl); /* frees the BIOs */
	free(d);
}

/* The memory BIO concatenates what OpenSSL wrote; cut it back into
 * datagrams at record boundaries, at most _MTU bytes each. */
static void _flush(struct cr_dtls_s *d)
{
	uint8_t buf[16384];
	int n;
	while ((n = BIO_read(d->wbio, buf, sizeof(buf))) > 0) {
		size_t off = 0, start = 0;
		while (off + 13 <= (size_t)n) {
			size_t rec = 13 + ((size_t)buf[off + 11] << 8 | buf[off + 12]);
			if (off + rec > (size_t)n)
				break;
			if (off + rec - start > _MTU && off > start) {
				d->send(d->opaque, buf + start, off - start);
				start = off;
			}
			off += rec;
		}
		if ((size_t)n > start)
			d->send(d->opaque, buf + start, (size_t)n - start);
	}
}

static int _check_peer(struct cr_dtls_s *d)
{
	X509 *peer = SSL_get1_peer_certificate(d->ssl);
	if (!peer) {
		snprintf(d->error, sizeof(d->error), "the DTLS client sent no certificate");
		return -EACCES;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char fp[200];
	X509_digest(peer, d->remote_md, md, &mdlen);
	X509_free(peer);
	_hex_fp(md, mdlen, fp);
	if (strcasecmp(fp, d->remote_fp) != 0) {
		snprintf(d->error, sizeof(d->error),
			 "the DTLS client's certificate does not match the offer's fingerprint");
		return -EACCES;
	}
	return 0;
}

int cr_dtls_input(struct cr_dtls_s *d, const uint8_t *p, size_t len)
{
	if (d->failed)
		return -EPROTO;
	BIO_write(d->rbio, p, (int)len);
	if (!d->done) {
		int r = SSL_do_handshake(d->ssl);
		_flush(d);
		if (r == 1) {
			int c = _check_peer(d);
			if (c < 0) {
				d->failed = true;
				return c;
			}
			d->done = true;
			return 1;
		}
		int e = SSL_get_error(d->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		_ssl_error(d->error, sizeof(d->error), "DTLS handshake failed");
		d->failed = true;
		return -EPROTO;
	}
	/* After the handshake: application data (SCTP) and alerts (close_notify). */
	uint8_t buf[2048];
	for (;;) {
		int r = SSL_read(d->ssl, buf, sizeof(buf));
		if (r > 0) {
			if (d->app)
				d->app(d->app_opaque, buf, (size_t)r);
			continue;
		}
		_flush(d);
		int e = SSL_get_error(d->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN || (SSL_get_shutdown(d->ssl) & SSL_RECEIVED_SHUTDOWN))
			return -EPIPE;
		ERR_clear_error();
		return 0;
	}
}

int cr_dtls_tick(struct cr_dtls_s *d)
{
	if (d->done || d->failed)
		return -1;
	struct timeval tv;
	if (!DTLSv1_get_timeout(d->ssl, &tv))
		return -1;
	if (tv.tv_sec == 0 && tv.tv_usec == 0) {
		DTLSv1_handle_timeout(d->ssl);
		_flush(d);
		if (!DTLSv1_get_timeout(d->ssl, &tv))
			return -1;
	}
	return (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

bool cr_dtls_done(const struct cr_dtls_s *d) { return d->done; }
const char *cr_dtls_error(const struct cr_dtls_s *d) { return d->error; }

int cr_dtls_srtp_keys(struct cr_dtls_s *d, struct cr_srtp_keys_s *k)
{
	const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
	if (!prof) {
		snprintf(d->error, sizeof(d->error), "the DTLS client negotiated no SRTP profile");
		return -EPROTO;
	}
	size_t key = 16, salt;
	if (prof->id == SRTP_AES128_CM_SHA1_80) {
		k->profile = CR_SRTP_AES128_CM_SHA1_80;
		salt = 14;
	} else if (prof->id == SRTP_AEAD_AES_128_GCM) {
		k->profile = CR_SRTP_AEAD_AES_128_GCM;
		salt = 12;
	} else {
		snprintf(d->error, sizeof(d->error), "unsupported SRTP profile %s", prof->name);
		return -EPROTO;
	}
	uint8_t km[2 * (16 + 14)];
	static const char label[] = "EXTRACTOR-dtls_srtp";
	if (SSL_export_keying_material(d->ssl, km, 2 * (key + salt), label, sizeof(label) - 1, NULL, 0,
				       0) != 1) {
		_ssl_error(d->error, sizeof(d->error), "cannot export the SRTP keys");
		return -EPROTO;
	}
	/* client key, server key, client salt, server salt (RFC 5764 4.2). */
	bool server = SSL_is_server(d->ssl);
	uint8_t *client = server ? k->remote : k->local, *srv = server ? k->local : k->remote;
	memcpy(client, km, key);
	memcpy(srv, km + key, key);
	memcpy(client + key, km + 2 * key, salt);
	memcpy(srv + key, km + 2 * key + salt, salt);
	k->len = key + salt;
	return 0;
}

int cr_dtls_connect(struct cr_dtls_s *d)
{
	SSL_set_connect_state(d->ssl);
	int r = SSL_do_handshake(d->ssl);
	_flush(d);
	int e = SSL_get_error(d->ssl, r);
	if (r <= 0 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		_ssl_error(d->error, sizeof(d->error), "DTLS handshake failed to start");
		d->failed = true;
		return -EPROTO;
	}
	return 0;
}

void cr_dtls_set_app(struct cr_dtls_s *d, cr_dtls_app_fn fn, void *opaque)
{
	d->app = fn;
	d->app_opaque = opaque;
}

int cr_dtls_write(struct cr_dtls_s *d, const uint8_t *p, size_t len)
{
	if (!d->done || d->failed)
		return -ENOTCONN;
	int r = SSL_write(d->ssl, p, (int)len);
	_flush(d);
	if (r <= 0) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}
