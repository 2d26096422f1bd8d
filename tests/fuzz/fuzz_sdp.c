/* libFuzzer: the WHEP offer parser, codec matching and answer building. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cr_sdp_offer_s o;
	char err[256];
	if (cr_sdp_parse_offer((const char *)data, size, &o, err, sizeof(err)) < 0) {
		if (strlen(err) == 0)
			abort(); /* a rejection always says why */
		return 0;
	}
	for (int i = 0; i < o.n_media; i++) {
		static const enum cr_codec_e codecs[] = {CR_CODEC_H264, CR_CODEC_H265, CR_CODEC_VP8,
							 CR_CODEC_VP9, CR_CODEC_AV1};
		for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
			struct cr_sdp_want_s want = {codecs[c], c == 0 ? 66 : 0, c == 0 ? 0xe0 : 0};
			char fmtp[256];
			int rtx = -1;
			int k = cr_sdp_match(&o.media[i], &want, fmtp, sizeof(fmtp), &rtx);
			if (k < -1 || k >= o.media[i].n_fmts)
				abort();
			if (k >= 0) {
				const char *cands[] = {"127.0.0.1"};
				struct cr_sdp_answer_s a = {.media = i, .pt = o.media[i].fmts[k].pt, .rtx_pt = rtx,
							    .codec = codecs[c], .fmtp = fmtp, .ssrc = 1, .rtx_ssrc = 2,
							    .ufrag = "u", .pwd = "p", .fingerprint = "AA",
							    .stream = "s", .candidates = cands, .n_candidates = 1,
							    .port = 8555, .sctp_port = 5000, .max_message_size = 65536};
				/* The first data channel section, as WHEP accepts it. */
				for (int d = 0; d < o.n_media && !a.has_dc; d++)
					if (strcmp(o.media[d].type, "application") == 0)
						a.has_dc = true, a.dc_media = d;
				static char ans[32768];
				int n = cr_sdp_build_answer(&o, &a, ans, sizeof(ans));
				if (n >= (int)sizeof(ans))
					abort();
			}
		}
	}
	return 0;
}
