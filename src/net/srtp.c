/* SRTP through libsrtp2; see srtp.h. */
#include "net/srtp.h"
#include "net/srtp_tx.h"

#include <errno.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libsrtp2 allows one wildcard-SSRC template per session: one session for
 * what we send, one for what we receive. What we send goes through fast
 * (srtp_tx.c, OpenSSL) when it could be set up, else libsrtp2. */
struct cr_srtp_s {
	srtp_t tx, rx;
	struct cr_srtp_tx_s *fast;
};

static pthread_once_t _once = PTHREAD_ONCE_INIT;
static srtp_err_status_t _init_status;

static void _init(void) { _init_status = srtp_init(); }

static void _policy(srtp_policy_t *p, enum cr_srtp_profile_e profile, const uint8_t *key,
		    srtp_ssrc_type_t type)
{
	memset(p, 0, sizeof(*p));
	if (profile == CR_SRTP_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
	} else {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	}
	p->ssrc.type = type;
	p->key = (unsigned char *)key;
	p->window_size = 1024;
	p->allow_repeat_tx = 1; /* NACK retransmissions resend the same index */
}

struct cr_srtp_s *cr_srtp_new(const struct cr_srtp_keys_s *keys, char *err, size_t errlen)
{
	pthread_once(&_once, _init);
	if (_init_status != srtp_err_status_ok) {
		snprintf(err, errlen, "libsrtp2 initialisation failed (error %d)", (int)_init_status);
		return NULL;
	}
	struct cr_srtp_s *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srtp_policy_t tx, rx;
	_policy(&tx, keys->profile, keys->local, ssrc_any_outbound);
	_policy(&rx, keys->profile, keys->remote, ssrc_any_inbound);
	srtp_err_status_t r = srtp_create(&s->tx, &tx);
	if (r == srtp_err_status_ok && (r = srtp_create(&s->rx, &rx)) != srtp_err_status_ok)
		srtp_dealloc(s->tx);
	if (r != srtp_err_status_ok) {
		snprintf(err, errlen, "srtp_create failed (libsrtp2 error %d)", (int)r);
		free(s);
		return NULL;
	}
	s->fast = cr_srtp_tx_new(keys->profile == CR_SRTP_AEAD_AES_128_GCM, keys->local, keys->len);
	return s;
}

void cr_srtp_free(struct cr_srtp_s *s)
{
	if (!s)
		return;
	srtp_dealloc(s->tx);
	srtp_dealloc(s->rx);
	cr_srtp_tx_free(s->fast);
	free(s);
}

static int _result(srtp_err_status_t r, int len, size_t *out)
{
	if (r != srtp_err_status_ok)
		return r == srtp_err_status_replay_fail || r == srtp_err_status_replay_old ? -EALREADY
		       : r == srtp_err_status_auth_fail                                     ? -EBADMSG
											    : -EINVAL;
	*out = (size_t)len;
	return 0;
}

int cr_srtp_protect(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	if (s->fast)
		return cr_srtp_tx_protect(s->fast, pkt, len);
	return cr_srtp_protect_libsrtp(s, pkt, len);
}

int cr_srtp_protect_from(struct cr_srtp_s *s, uint8_t *dst, size_t h, const uint8_t *payload, size_t payload_len,
			 size_t *len)
{
	if (s->fast)
		return cr_srtp_tx_protect_from(s->fast, dst, h, payload, payload_len, len);
	memmove(dst + h, payload, payload_len);
	*len = h + payload_len;
	return cr_srtp_protect_libsrtp(s, dst, len);
}

int cr_srtp_protect_libsrtp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	int l = (int)*len;
	srtp_err_status_t r = srtp_protect(s->tx, pkt, &l);
	return _result(r, l, len);
}

int cr_srtp_protect_rtcp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	if (s->fast)
		return cr_srtp_tx_protect_rtcp(s->fast, pkt, len);
	return cr_srtp_protect_rtcp_libsrtp(s, pkt, len);
}

int cr_srtp_protect_rtcp_libsrtp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	int l = (int)*len;
	srtp_err_status_t r = srtp_protect_rtcp(s->tx, pkt, &l);
	return _result(r, l, len);
}

int cr_srtp_unprotect_rtcp(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	int l = (int)*len;
	srtp_err_status_t r = srtp_unprotect_rtcp(s->rx, pkt, &l);
	return _result(r, l, len);
}

int cr_srtp_unprotect(struct cr_srtp_s *s, uint8_t *pkt, size_t *len)
{
	int l = (int)*len;
	srtp_err_status_t r = srtp_unprotect(s->rx, pkt, &l);
	return _result(r, l, len);
}
