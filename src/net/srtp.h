/* SRTP/SRTCP (libsrtp2) with keys from a DTLS-SRTP handshake (RFC 5764). */
#ifndef CR_SRTP_H
#define CR_SRTP_H

#include <stddef.h>
#include <stdint.h>

enum cr_srtp_profile_e {
	CR_SRTP_AES128_CM_SHA1_80 = 1,
	CR_SRTP_AEAD_AES_128_GCM,
};

struct cr_srtp_keys_s {
	enum cr_srtp_profile_e profile;
	uint8_t local[30], remote[30]; /* master key (16) then salt (14 or 12) */
	size_t len;                    /* key + salt */
};

#define CR_SRTP_MAX_TRAILER 144 /* bytes protect may add; the buffer needs this room */

struct cr_srtp_s;

struct cr_srtp_s *cr_srtp_new(const struct cr_srtp_keys_s *keys, char *err, size_t errlen);
void cr_srtp_free(struct cr_srtp_s *s);
/* In place; *len grows by the auth tag. The buffer must have
 * CR_SRTP_MAX_TRAILER spare bytes. 0 or a negative error. RTP goes through
 * OpenSSL directly (net/srtp_tx.c), as does RTCP protect; the rest is
 * libsrtp2's. */
int cr_srtp_protect(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
/* dst[0..h) holds the RTP header; the payload comes from `payload`
 * (cr_srtp_tx_protect_from; through libsrtp2: copied, then in place). */
int cr_srtp_protect_from(struct cr_srtp_s *s, uint8_t *dst, size_t h, const uint8_t *payload, size_t payload_len,
			 size_t *len);
/* The same through libsrtp2 (the reference the unit test compares with). */
int cr_srtp_protect_libsrtp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
int cr_srtp_protect_rtcp_libsrtp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
int cr_srtp_protect_rtcp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
int cr_srtp_unprotect_rtcp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);
/* For tests: the receiving side of the same keys (local and remote swapped). */
int cr_srtp_unprotect(struct cr_srtp_s *s, uint8_t *pkt, size_t *len);

#endif
