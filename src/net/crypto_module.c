/* The crypto module's table (net/crypto.h): what camrelay-crypto.so
 * exports besides cr_module_init. */
#include "net/crypto.h"

#include "core/module.h"
#include "cr_build.h"

CR_MODULE_EXPORT const struct cr_crypto_s cr_crypto_table = {
	.size = sizeof(struct cr_crypto_s),
#if CR_HAVE_WEBRTC
	.dtls_ctx_new = cr_dtls_ctx_new,
	.dtls_ctx_free = cr_dtls_ctx_free,
	.dtls_fingerprint = cr_dtls_fingerprint,
	.dtls_fp_alg_known = cr_dtls_fp_alg_known,
	.dtls_new = cr_dtls_new,
	.dtls_free = cr_dtls_free,
	.dtls_connect = cr_dtls_connect,
	.dtls_input = cr_dtls_input,
	.dtls_tick = cr_dtls_tick,
	.dtls_done = cr_dtls_done,
	.dtls_set_app = cr_dtls_set_app,
	.dtls_write = cr_dtls_write,
	.dtls_srtp_keys = cr_dtls_srtp_keys,
	.dtls_error = cr_dtls_error,
	.srtp_new = cr_srtp_new,
	.srtp_free = cr_srtp_free,
	.srtp_protect = cr_srtp_protect,
	.srtp_protect_from = cr_srtp_protect_from,
	.srtp_protect_libsrtp = cr_srtp_protect_libsrtp,
	.srtp_protect_rtcp_libsrtp = cr_srtp_protect_rtcp_libsrtp,
	.srtp_protect_rtcp = cr_srtp_protect_rtcp,
	.srtp_unprotect_rtcp = cr_srtp_unprotect_rtcp,
	.srtp_unprotect = cr_srtp_unprotect,
#endif
#if CR_HAVE_USRSCTP
	.sctp_new = cr_sctp_new,
	.sctp_free = cr_sctp_free,
	.sctp_input = cr_sctp_input,
	.sctp_send = cr_sctp_send,
	.sctp_reset_stream = cr_sctp_reset_stream,
	.sctp_up = cr_sctp_up,
	.sctp_hold = cr_sctp_hold,
	.sctp_release = cr_sctp_release,
	.sctp_timers = cr_sctp_timers,
	.sctp_active = cr_sctp_active,
	.sctp_abandoned = cr_sctp_abandoned,
	.sctp_data_chunks = cr_sctp_data_chunks,
#endif
	.tls_server_new = cr_tls_server_new,
	.tls_client_new = cr_tls_client_new,
	.tls_free = cr_tls_free,
	.tls_accept_bev = cr_tls_accept_bev,
	.tls_connect_bev = cr_tls_connect_bev,
	.digest = cr_digest,
	.hmac = cr_hmac,
	.argon2_ok = cr_argon2_ok,
};
