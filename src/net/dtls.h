/* DTLS 1.2 server for DTLS-SRTP (RFC 5763/5764) over OpenSSL, driven one
 * datagram at a time through memory BIOs so that all sessions share one UDP
 * socket and one event loop. */
#ifndef CR_DTLS_H
#define CR_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/srtp.h"

struct cr_dtls_ctx_s;
struct cr_dtls_s;

/* Sends one datagram of the handshake. */
typedef void (*cr_dtls_send_fn)(void *opaque, const uint8_t *p, size_t len);

/* Generates a self-signed ECDSA P-256 certificate for this process. */
struct cr_dtls_ctx_s *cr_dtls_ctx_new(char *err, size_t errlen);
void cr_dtls_ctx_free(struct cr_dtls_ctx_s *ctx);
/* "AB:CD:..." SHA-256 of the certificate, for a=fingerprint. */
const char *cr_dtls_fingerprint(const struct cr_dtls_ctx_s *ctx);

/* Whether fp_alg (an a=fingerprint hash name) is one cr_dtls_new takes:
 * sha-1, sha-224, sha-256, sha-384, sha-512. */
bool cr_dtls_fp_alg_known(const char *fp_alg);
/* remote_fp: the offer's fingerprint ("AB:CD:...", hash fp_alg) that the
 * client's certificate must match; nothing else is accepted. NULL when
 * fp_alg is not known (or out of memory). */
struct cr_dtls_s *cr_dtls_new(struct cr_dtls_ctx_s *ctx, const char *fp_alg, const char *remote_fp,
			      cr_dtls_send_fn send, void *opaque);
void cr_dtls_free(struct cr_dtls_s *d);
/* Takes the client role instead (WHIP, src/net/whip_peer.c) and sends the
 * ClientHello; cr_dtls_tick resends it. 0 or -EPROTO. */
int cr_dtls_connect(struct cr_dtls_s *d);
/* One datagram from the peer. Returns 1 when the handshake has just
 * completed, 0 when more is needed (or it already had), -EPIPE when the peer
 * closed, another negative value on failure (message in cr_dtls_error). */
int cr_dtls_input(struct cr_dtls_s *d, const uint8_t *p, size_t len);
/* Retransmits when a handshake timer expired; returns the ms until the next
 * timer, or -1 when none runs. */
int cr_dtls_tick(struct cr_dtls_s *d);
bool cr_dtls_done(const struct cr_dtls_s *d);
/* Application data (SCTP for data channels, RFC 8261): records that arrive
 * after the handshake go to fn; without fn they are read and dropped. */
typedef void (*cr_dtls_app_fn)(void *opaque, const uint8_t *p, size_t len);
void cr_dtls_set_app(struct cr_dtls_s *d, cr_dtls_app_fn fn, void *opaque);
/* Sends p as one application data record. 0, -ENOTCONN before the
 * handshake completed, -EIO. */
int cr_dtls_write(struct cr_dtls_s *d, const uint8_t *p, size_t len);
/* The negotiated SRTP profile and keys (we are the DTLS server). */
int cr_dtls_srtp_keys(struct cr_dtls_s *d, struct cr_srtp_keys_s *keys);
const char *cr_dtls_error(const struct cr_dtls_s *d);

#endif
