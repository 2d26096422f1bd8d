/* The crypto module, camrelay-crypto.so (core/module.h): everything that
 * links OpenSSL, libssl, libevent_openssl, libsrtp2 (and through Debian's
 * build NSS/NSPR), libusrsctp and libargon2. Mapping and relocating those
 * (~2.4 MB resident on a Pi-class board) is what camrelay paid at start
 * for WebRTC and TLS whether a config used them or not (issue 20 item 3);
 * now a camrelay serving MJPEG without TLS or [auth] maps none of them.
 *
 * The module holds the leaf pieces: DTLS (net/dtls.c), SRTP (net/srtp.c,
 * net/srtp_tx.c), SCTP (net/sctp.c), TLS bufferevents (net/tls.c), digests,
 * HMACs and argon2 (net/hash.c). WebRTC, WHIP, RTSP, HTTP and the access
 * checks stay in the core and call those through this table: the core's
 * net/crypto.c defines every function of dtls.h, srtp.h, sctp.h, tls.h and
 * hash.h as a forwarder, so callers and the test programs keep their
 * calls; the per-packet send path (net/whep_send.c) calls the table's
 * pointer itself.
 *
 * It is loaded by the first WHEP offer (a missing module: a 503 with the
 * message), a WHIP sink's start, at start when [http] has TLS or [auth] is
 * present or a stream has a data channel bridge (cr_sctp_hold), and by the
 * first digest otherwise (the RTSP push sink's Digest answer). It ships in the camrelay package: WebRTC is core functionality,
 * the point is only that it is mapped on use. */
#ifndef CR_NET_CRYPTO_H
#define CR_NET_CRYPTO_H

#include "net/dtls.h"
#include "net/hash.h"
#include "net/sctp.h"
#include "net/srtp.h"
#include "net/tls.h"

/* A new entry: a field here, its value in net/crypto_module.c and its
 * forwarder in net/crypto.c. */
struct cr_crypto_s {
	size_t size; /* sizeof(struct cr_crypto_s) the module was built with */
	/* net/dtls.h */
	struct cr_dtls_ctx_s *(*dtls_ctx_new)(char *err, size_t errlen);
	void (*dtls_ctx_free)(struct cr_dtls_ctx_s *ctx);
	const char *(*dtls_fingerprint)(const struct cr_dtls_ctx_s *ctx);
	bool (*dtls_fp_alg_known)(const char *fp_alg);
	struct cr_dtls_s *(*dtls_new)(struct cr_dtls_ctx_s *ctx, const char *fp_alg, const char *remote_fp,
				      cr_dtls_send_fn send, void *opaque);
	void (*dtls_free)(struct cr_dtls_s *d);
	int (*dtls_connect)(struct cr_dtls_s *d);
	int (*dtls_input)(struct cr_dtls_s *d, const uint8_t *p, size_t len);
	int (*dtls_tick)(struct cr_dtls_s *d);
	bool (*dtls_done)(const struct cr_dtls_s *d);
	void (*dtls_set_app)(struct cr_dtls_s *d, cr_dtls_app_fn fn, void *opaque);
	int (*dtls_write)(struct cr_dtls_s *d, const uint8_t *p, size_t len);
	int (*dtls_srtp_keys)(struct cr_dtls_s *d, struct cr_srtp_keys_s *keys);
	const char *(*dtls_error)(const struct cr_dtls_s *d);
	/* net/srtp.h */
	struct cr_srtp_s *(*srtp_new)(const struct cr_srtp_keys_s *keys, char *err, size_t errlen);
	void (*srtp_free)(struct cr_srtp_s *s);
	int (*srtp_protect)(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
	int (*srtp_protect_from)(struct cr_srtp_s *s, uint8_t *dst, size_t h, const uint8_t *payload,
				 size_t payload_len, size_t *len);
	int (*srtp_protect_libsrtp)(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
	int (*srtp_protect_rtcp_libsrtp)(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
	int (*srtp_protect_rtcp)(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
	int (*srtp_unprotect_rtcp)(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
	int (*srtp_unprotect)(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
	/* net/sctp.h; NULL in a build without data channels */
	struct cr_sctp_s *(*sctp_new)(const struct cr_sctp_opts_s *o, const struct cr_sctp_cb_s *cb, void *opaque,
				      char *err, size_t errlen);
	void (*sctp_free)(struct cr_sctp_s *s);
	int (*sctp_input)(struct cr_sctp_s *s, const uint8_t *p, size_t len);
	int (*sctp_send)(struct cr_sctp_s *s, uint16_t sid, uint32_t ppid, bool unordered, int pr_policy,
			 uint32_t pr_value, const void *p, size_t len);
	int (*sctp_reset_stream)(struct cr_sctp_s *s, uint16_t sid);
	bool (*sctp_up)(const struct cr_sctp_s *s);
	void (*sctp_hold)(void);
	void (*sctp_release)(void);
	void (*sctp_timers)(void);
	bool (*sctp_active)(void);
	int (*sctp_abandoned)(const struct cr_sctp_s *s, uint16_t sid, uint64_t *out);
	void (*sctp_data_chunks)(const uint8_t *p, size_t len,
				 void (*fn)(void *opaque, const struct cr_sctp_data_s *d), void *opaque);
	/* net/tls.h */
	struct cr_tls_s *(*tls_server_new)(const char *cert, const char *key, char *err, size_t errlen);
	struct cr_tls_s *(*tls_client_new)(char *err, size_t errlen);
	void (*tls_free)(struct cr_tls_s *t);
	struct bufferevent *(*tls_accept_bev)(struct cr_tls_s *t, struct event_base *base);
	struct bufferevent *(*tls_connect_bev)(struct cr_tls_s *t, struct event_base *base, const char *host,
					       char *err, size_t errlen);
	/* net/hash.h */
	int (*digest)(enum cr_hash_e h, const struct iovec *parts, int n, uint8_t out[CR_HASH_MAX]);
	int (*hmac)(enum cr_hash_e h, const void *key, size_t keylen, const void *p, size_t len,
		    uint8_t out[CR_HASH_MAX]);
	bool (*argon2_ok)(const char *encoded, const void *pw, size_t len);
};

/* The module's table, loading camrelay-crypto.so the first time (it stays
 * loaded); NULL with one message in err naming the file, the directories
 * looked in and the package. Thread-safe. */
const struct cr_crypto_s *cr_crypto_load(char *err, size_t errlen);
/* The table once cr_crypto_load succeeded, else NULL. Whoever holds an
 * object the module made (a DTLS or SRTP session, ...) may call through it
 * without a check. */
extern const struct cr_crypto_s *cr_crypto;

#endif
