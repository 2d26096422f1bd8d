/* SRTP/SRTCP protect of what we send, on OpenSSL EVP, by hand (srtp_tx.c
 * says why): AEAD_AES_128_GCM (RFC 7714) and AES128_CM_SHA1_80 (RFC 3711).
 * Used by net/srtp.c; unprotect stays with libsrtp2. */
#ifndef CR_SRTP_TX_H
#define CR_SRTP_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cr_srtp_tx_s;

/* master: key (16) then salt (12 with GCM, 14 without); len their sum. */
struct cr_srtp_tx_s *cr_srtp_tx_new(bool gcm, const uint8_t *master, size_t len);
void cr_srtp_tx_free(struct cr_srtp_tx_s *t);
/* In place; *len grows by the tag (16 or 10 bytes), which needs the room.
 * No allocation. 0 or -EINVAL (not an RTP packet). */
int cr_srtp_tx_protect(struct cr_srtp_tx_s *t, uint8_t *p, size_t *len);
/* An RTP packet's header length (12 bytes, the CSRCs, the extension); 0
 * when it is longer than the packet. Inline: both the crypto module and
 * the core's send path (net/whep_send.c) use it. */
static inline size_t cr_rtp_header_len(const uint8_t *p, size_t len)
{
	if (len < 12)
		return 0;
	size_t h = 12 + 4u * (p[0] & 0x0f);
	if ((p[0] & 0x10) && h + 4 <= len)
		h += 4 + 4u * (size_t)(p[h + 2] << 8 | p[h + 3]);
	return h <= len ? h : 0;
}
/* The same with the payload encrypted from elsewhere: p holds the RTP
 * header (h bytes: fixed part, CSRCs, extension), the payload is read from
 * `payload` and its ciphertext written at p + h. One pass instead of a copy
 * and an in-place pass (the fan-out path: one per packet per viewer). */
int cr_srtp_tx_protect_from(struct cr_srtp_tx_s *t, uint8_t *p, size_t h, const uint8_t *payload,
			    size_t payload_len, size_t *len);
/* SRTCP (every packet encrypted): grows by the tag and E || index (14 or
 * 20 bytes). */
int cr_srtp_tx_protect_rtcp(struct cr_srtp_tx_s *t, uint8_t *p, size_t *len);

#endif
