/* SRTP protect of outgoing RTP on OpenSSL's EVP (AES-NI / ARMv8 crypto
 * where the CPU has it), written by hand: Debian's libsrtp2 is built on NSS,
 * whose per-packet context set-up (allocations, locks, mechanism lookups)
 * cost 4.5 us per 1200-byte packet with AES-GCM and 26 us with
 * AES-CM/HMAC-SHA1 on the benchmark machine (bench_webrtc_client --srtp),
 * more than the rest of a viewer's send path. Here the cipher and MAC
 * contexts are keyed once per session and only re-IV'd per packet, with no
 * allocation. RTCP and everything received still go through libsrtp2, which
 * also checks this code: the unit test (test_rtp_units) compares every
 * protected packet byte for byte with libsrtp2's, and the benchmark client
 * unprotects every packet with libsrtp2.
 *   RFC 3711 4.3.1 key derivation (AES-CM PRF, key derivation rate 0),
 *   4.1.1 AES-CM, 4.2.1 HMAC-SHA1-80, appendix A index estimation;
 *   RFC 7714 8.1 AEAD_AES_128_GCM (IV from SSRC, ROC, SEQ and the salt). */
#include "net/srtp_tx.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#define _TX_SSRCS 4 /* video, RTX, audio: the SSRCs one viewer sends */

struct _ssrc_s {
	uint32_t ssrc;
	uint32_t roc;
	uint16_t s_l; /* highest sequence number sent */
	bool used;
};

struct _rtcp_ssrc_s {
	uint32_t ssrc;
	uint32_t index; /* SRTCP index of the last packet (31 bits) */
	bool used;
};

/* One direction's keys: RTP (labels 0-2) or RTCP (labels 3-5). */
struct _keys_s {
	uint8_t salt[14]; /* session salt (12 bytes used with GCM) */
	EVP_CIPHER_CTX *cipher;
	EVP_MAC_CTX *mac; /* HMAC-SHA1 keyed with the session auth key (AES-CM) */
};

struct cr_srtp_tx_s {
	bool gcm;
	EVP_MAC *mac_alg;
	struct _keys_s rtp, rtcp;
	struct _ssrc_s ssrcs[_TX_SSRCS];
	int next; /* the slot a new SSRC replaces when all are taken */
	struct _rtcp_ssrc_s rtcp_ssrcs[_TX_SSRCS];
	int rtcp_next;
};

/* RFC 3711 4.3.1 with kdr 0: AES-CTR keystream under the master key from
 * IV = (master salt XOR label at byte 7) || 0x0000. A 12-byte GCM master
 * salt is padded with two zero bytes, as libsrtp2 does. */
static int _kdf(const uint8_t *mkey, const uint8_t *msalt, size_t salt_len, uint8_t label, uint8_t *out,
		size_t n)
{
	uint8_t iv[16] = {0}, zeros[32] = {0};
	memcpy(iv, msalt, salt_len);
	iv[7] ^= label;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, ok = c && n <= sizeof(zeros) && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, mkey, iv) == 1 &&
			  EVP_EncryptUpdate(c, out, &len, zeros, (int)n) == 1 && len == (int)n;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EINVAL;
}

/* The session keys of one direction from labels base..base+2. */
static int _keys(struct cr_srtp_tx_s *t, struct _keys_s *k, const uint8_t *master, uint8_t base)
{
	size_t salt_len = t->gcm ? 12 : 14;
	uint8_t key[16], auth[20];
	int r = -EINVAL;
	if (_kdf(master, master + 16, salt_len, base, key, sizeof(key)) < 0 ||
	    _kdf(master, master + 16, salt_len, (uint8_t)(base + 2), k->salt, salt_len) < 0 ||
	    (!t->gcm && _kdf(master, master + 16, salt_len, (uint8_t)(base + 1), auth, sizeof(auth)) < 0))
		goto out;
	k->cipher = EVP_CIPHER_CTX_new();
	if (!k->cipher ||
	    EVP_EncryptInit_ex(k->cipher, t->gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), NULL, key, NULL) != 1)
		goto out;
	if (!t->gcm) {
		OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
				  OSSL_PARAM_construct_end()};
		k->mac = EVP_MAC_CTX_new(t->mac_alg);
		if (!k->mac || EVP_MAC_init(k->mac, auth, sizeof(auth), p) != 1)
			goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(auth, sizeof(auth));
	return r;
}

struct cr_srtp_tx_s *cr_srtp_tx_new(bool gcm, const uint8_t *master, size_t len)
{
	if (len != (gcm ? 28u : 30u))
		return NULL;
	struct cr_srtp_tx_s *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->gcm = gcm;
	if ((!gcm && !(t->mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL))) || _keys(t, &t->rtp, master, 0x00) < 0 ||
	    _keys(t, &t->rtcp, master, 0x03) < 0) {
		cr_srtp_tx_free(t);
		return NULL;
	}
	return t;
}

static void _keys_free(struct _keys_s *k)
{
	EVP_CIPHER_CTX_free(k->cipher);
	EVP_MAC_CTX_free(k->mac);
	OPENSSL_cleanse(k->salt, sizeof(k->salt));
}

void cr_srtp_tx_free(struct cr_srtp_tx_s *t)
{
	if (!t)
		return;
	_keys_free(&t->rtp);
	_keys_free(&t->rtcp);
	EVP_MAC_free(t->mac_alg);
	free(t);
}

/* The packet's rollover counter (RFC 3711 3.3.1 and appendix A, as a
 * sender that may resend an old sequence number). */
static uint32_t _roc(struct cr_srtp_tx_s *t, uint32_t ssrc, uint16_t seq)
{
	struct _ssrc_s *s = NULL;
	for (int i = 0; i < _TX_SSRCS && !s; i++)
		if (t->ssrcs[i].used && t->ssrcs[i].ssrc == ssrc)
			s = &t->ssrcs[i];
	if (!s) {
		s = &t->ssrcs[t->next];
		t->next = (t->next + 1) % _TX_SSRCS;
		*s = (struct _ssrc_s){.ssrc = ssrc, .s_l = seq, .used = true};
		return 0;
	}
	int16_t delta = (int16_t)(uint16_t)(seq - s->s_l);
	if (delta > 0) {
		if (seq < s->s_l)
			s->roc++;
		s->s_l = seq;
		return s->roc;
	}
	return seq > s->s_l && s->roc > 0 ? s->roc - 1 : s->roc; /* an earlier packet again */
}

/* Encrypts src[0..n - from) into p[from..n) (src may be p + from: in
 * place) under k with iv (16 bytes, AES-CM; 12, GCM with aad[0..aad_len)
 * authenticated too) and writes the GCM tag at p + n, or the HMAC-SHA1-80
 * of p[0..n) || tail[0..4) at p + n (AES-CM). */
static int _seal(struct cr_srtp_tx_s *t, struct _keys_s *k, const uint8_t *iv, uint8_t *p, size_t from, size_t n,
		 const uint8_t *src, const uint8_t *aad, size_t aad_len, const uint8_t *tail)
{
	int out = 0, l2 = 0;
	if (t->gcm) {
		/* The tag as a parameter read: EVP_CIPHER_CTX_ctrl(GET_TAG) makes
		 * the same read after translating the control (OpenSSL 3). */
		OSSL_PARAM tag[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, p + n, 16),
				    OSSL_PARAM_construct_end()};
		bool ok = EVP_EncryptInit_ex(k->cipher, NULL, NULL, NULL, iv) == 1 &&
			  EVP_EncryptUpdate(k->cipher, NULL, &out, aad, (int)aad_len) == 1 &&
			  EVP_EncryptUpdate(k->cipher, p + from, &out, src, (int)(n - from)) == 1 &&
			  EVP_EncryptFinal_ex(k->cipher, p + from + out, &l2) == 1 &&
			  EVP_CIPHER_CTX_get_params(k->cipher, tag) == 1;
		return ok ? 16 : -EINVAL;
	}
	uint8_t tag[EVP_MAX_MD_SIZE];
	size_t tag_len = 0;
	bool ok = EVP_EncryptInit_ex(k->cipher, NULL, NULL, NULL, iv) == 1 &&
		  EVP_EncryptUpdate(k->cipher, p + from, &out, src, (int)(n - from)) == 1 &&
		  EVP_MAC_init(k->mac, NULL, 0, NULL) == 1 && EVP_MAC_update(k->mac, p, n) == 1 &&
		  (!tail || EVP_MAC_update(k->mac, tail, 4) == 1) &&
		  EVP_MAC_final(k->mac, tag, &tag_len, sizeof(tag)) == 1 && tag_len >= 10;
	if (!ok)
		return -EINVAL;
	memcpy(p + n, tag, 10);
	return 10;
}

static void _be32(uint8_t *o, uint32_t v)
{
	o[0] = (uint8_t)(v >> 24), o[1] = (uint8_t)(v >> 16), o[2] = (uint8_t)(v >> 8), o[3] = (uint8_t)v;
}

/* The IV of either profile: the salt XOR (SSRC at 2 (GCM) or 4 (AES-CM))
 * XOR the 48-bit index that follows it. */
static void _iv(const struct cr_srtp_tx_s *t, const struct _keys_s *k, uint8_t *iv, const uint8_t *ssrc,
		uint32_t hi, uint16_t lo)
{
	size_t at = t->gcm ? 2 : 4, size = t->gcm ? 12 : 16;
	memset(iv, 0, size);
	memcpy(iv + at, ssrc, 4);
	_be32(iv + at + 4, hi);
	iv[at + 8] = (uint8_t)(lo >> 8), iv[at + 9] = (uint8_t)lo;
	for (size_t i = 0; i < (t->gcm ? 12u : 14u); i++)
		iv[i] ^= k->salt[i];
}

int cr_srtp_tx_protect_from(struct cr_srtp_tx_s *t, uint8_t *p, size_t h, const uint8_t *payload,
			    size_t payload_len, size_t *len)
{
	size_t n = h + payload_len;
	if (h < 12 || cr_rtp_header_len(p, h) != h || (p[0] >> 6) != 2 || n > 65535)
		return -EINVAL;
	uint32_t ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
	uint32_t roc = _roc(t, ssrc, seq);
	uint8_t iv[16], roc_be[4];
	/* GCM: (00 00 || SSRC || ROC || SEQ) XOR salt, the header as AAD;
	 * AES-CM: salt || 00 00 XOR SSRC at 4 XOR the 48-bit index at 8. */
	_iv(t, &t->rtp, iv, p + 8, roc, seq);
	_be32(roc_be, roc);
	int tag = _seal(t, &t->rtp, iv, p, h, n, payload, p, h, roc_be);
	if (tag < 0)
		return tag;
	*len = n + (size_t)tag;
	return 0;
}

int cr_srtp_tx_protect(struct cr_srtp_tx_s *t, uint8_t *p, size_t *len)
{
	size_t n = *len, h = cr_rtp_header_len(p, n);
	if (!h)
		return -EINVAL;
	return cr_srtp_tx_protect_from(t, p, h, p + h, n - h, len);
}

int cr_srtp_tx_protect_rtcp(struct cr_srtp_tx_s *t, uint8_t *p, size_t *len)
{
	size_t n = *len;
	if (n < 8 || (p[0] >> 6) != 2)
		return -EINVAL;
	uint32_t ssrc = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	struct _rtcp_ssrc_s *s = NULL;
	for (int i = 0; i < _TX_SSRCS && !s; i++)
		if (t->rtcp_ssrcs[i].used && t->rtcp_ssrcs[i].ssrc == ssrc)
			s = &t->rtcp_ssrcs[i];
	if (!s) {
		s = &t->rtcp_ssrcs[t->rtcp_next];
		t->rtcp_next = (t->rtcp_next + 1) % _TX_SSRCS;
		*s = (struct _rtcp_ssrc_s){.ssrc = ssrc, .used = true};
	}
	s->index = (s->index + 1) & 0x7fffffff; /* the first packet is index 1, as in libsrtp2 */
	uint8_t iv[16], e_index[4];
	_be32(e_index, 0x80000000u | s->index); /* E: encrypted */
	/* The 31-bit index takes the low 32 bits of the 48-bit index field. */
	_iv(t, &t->rtcp, iv, p + 4, s->index >> 16, (uint16_t)s->index);
	if (t->gcm) {
		/* AAD: the first 8 bytes, then E || index; tag, then E || index. */
		uint8_t aad[12];
		memcpy(aad, p, 8);
		memcpy(aad + 8, e_index, 4);
		int tag = _seal(t, &t->rtcp, iv, p, 8, n, p + 8, aad, sizeof(aad), NULL);
		if (tag < 0)
			return tag;
		memcpy(p + n + (size_t)tag, e_index, 4);
		*len = n + (size_t)tag + 4;
		return 0;
	}
	/* AES-CM: E || index follows the payload and is authenticated with it. */
	int out = 0;
	if (EVP_EncryptInit_ex(t->rtcp.cipher, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(t->rtcp.cipher, p + 8, &out, p + 8, (int)(n - 8)) != 1)
		return -EINVAL;
	memcpy(p + n, e_index, 4);
	uint8_t tag[EVP_MAX_MD_SIZE];
	size_t tag_len = 0;
	if (EVP_MAC_init(t->rtcp.mac, NULL, 0, NULL) != 1 || EVP_MAC_update(t->rtcp.mac, p, n + 4) != 1 ||
	    EVP_MAC_final(t->rtcp.mac, tag, &tag_len, sizeof(tag)) != 1 || tag_len < 10)
		return -EINVAL;
	memcpy(p + n + 4, tag, 10);
	*len = n + 14;
	return 0;
}
