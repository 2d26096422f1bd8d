/* net/tls.h on OpenSSL and libevent_openssl (in the crypto module). */
#include "net/tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/socket.h>

#define _PLAIN_BODY "400: this port speaks HTTPS; use https:// (plain HTTP is not served on it)\n"
#define _PLAIN_LEN 75 /* strlen(_PLAIN_BODY), checked below */
#define _STR(x) #x
#define _XSTR(x) _STR(x)
static const char _plain_on_tls[] =
	"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
	"Content-Length: " _XSTR(_PLAIN_LEN) "\r\n\r\n" _PLAIN_BODY;
_Static_assert(sizeof(_PLAIN_BODY) - 1 == _PLAIN_LEN, "_PLAIN_LEN");

/* A plain HTTP request on the TLS port: OpenSSL stops at its first bytes
 * (SSL_R_HTTP_REQUEST, no alert sent), so a plain answer can still go out. */
static void _tls_info(const SSL *ssl, int where, int ret)
{
	if (!(where & SSL_CB_ACCEPT_EXIT) || ret > 0 || ERR_GET_REASON(ERR_peek_error()) != SSL_R_HTTP_REQUEST)
		return;
	int fd = SSL_get_fd(ssl);
	if (fd >= 0 && send(fd, _plain_on_tls, sizeof(_plain_on_tls) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		shutdown(fd, SHUT_WR);
}

struct cr_tls_s *cr_tls_server_new(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *what = "cannot create a TLS context";
	if (!ctx)
		goto error;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_info_callback(ctx, _tls_info);
	what = "cannot read the certificate (PEM) tls_cert";
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		goto error;
	what = "cannot read the private key (PEM) tls_key";
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		goto error;
	what = "tls_key does not belong to tls_cert";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto error;
	return (struct cr_tls_s *)ctx;
error:;
	char reason[200] = "";
	ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "HTTPS: %s (%s, %s): %s", what, cert, key, reason);
	SSL_CTX_free(ctx);
	return NULL;
}

struct cr_tls_s *cr_tls_client_new(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "cannot set up TLS (OpenSSL context or CA store)");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return (struct cr_tls_s *)ctx;
}

void cr_tls_free(struct cr_tls_s *t)
{
	SSL_CTX_free((SSL_CTX *)t);
}

struct bufferevent *cr_tls_accept_bev(struct cr_tls_s *t, struct event_base *base)
{
	SSL *ssl = SSL_new((SSL_CTX *)t);
	struct bufferevent *bev =
		ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
		    : NULL;
	if (!bev)
		SSL_free(ssl);
	return bev;
}

struct bufferevent *cr_tls_connect_bev(struct cr_tls_s *t, struct event_base *base, const char *host, char *err,
				       size_t errlen)
{
	SSL *ssl = SSL_new((SSL_CTX *)t);
	if (!ssl) {
		snprintf(err, errlen, "cannot set up TLS");
		return NULL;
	}
	SSL_set_tlsext_host_name(ssl, host);
	X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host, 0);
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
								  BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		snprintf(err, errlen, "cannot set up TLS");
	}
	return bev;
}
