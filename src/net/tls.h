/* TLS on libevent bufferevents (OpenSSL, libevent_openssl), for the HTTPS
 * server (net/http_conn.c) and the WHIP client (net/whip_http.c). In the
 * crypto module (net/crypto.h, net/tls.c); the core calls the forwarders
 * of net/crypto.c, which load the module on first use. */
#ifndef CR_NET_TLS_H
#define CR_NET_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;
struct cr_tls_s; /* an SSL_CTX */

/* The server's context: TLS 1.2 or newer, no renegotiation, the PEM
 * certificate chain and key; a plain HTTP request gets a plain 400. NULL
 * with "HTTPS: what (cert, key): OpenSSL's reason" in err. */
struct cr_tls_s *cr_tls_server_new(const char *cert, const char *key, char *err, size_t errlen);
/* The client's: verifies the peer against the system's CA store. */
struct cr_tls_s *cr_tls_client_new(char *err, size_t errlen);
/* Connections made keep their own reference. NULL is fine. */
void cr_tls_free(struct cr_tls_s *t);
/* A bufferevent that accepts a TLS connection on the socket evhttp gives
 * it (closed with it), or NULL. */
struct bufferevent *cr_tls_accept_bev(struct cr_tls_s *t, struct event_base *base);
/* A bufferevent that connects to host (SNI, certificate checked for that
 * name), callbacks deferred; NULL with a message in err. */
struct bufferevent *cr_tls_connect_bev(struct cr_tls_s *t, struct event_base *base, const char *host, char *err,
				       size_t errlen);

#endif
