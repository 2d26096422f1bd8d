/* libFuzzer: the WHIP answer parser (net/whip_sdp.c, on net/sdp.c) with
 * the offer camrelay would have posted (with and without audio); every
 * accepted answer is checked for what the peer relies on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/whip.h"

/* Once without audio offered, once with (the answer's audio section then
 * taken or refused, never another payload type). */
static void _one(const uint8_t *data, size_t size, int audio_pt)
{
	static struct cr_whip_answer_s a;
	struct cr_whip_offer_s o = {.codec = CR_CODEC_H264, .pt = 96, .rtx_pt = 97, .fmtp = "packetization-mode=1",
				    .ssrc = 1, .rtx_ssrc = 2, .ufrag = "u", .pwd = "p", .fingerprint = "AA",
				    .stream = "s", .audio_pt = audio_pt, .audio_channels = 1, .audio_ssrc = 3};
	char err[256] = "";
	if (cr_whip_parse_answer((const char *)data, size, &o, &a, err, sizeof(err)) < 0) {
		if (strlen(err) == 0)
			abort(); /* a rejection always says why */
		return;
	}
	if (a.pt != 96 || (a.rtx_pt != -1 && a.rtx_pt != 97) || a.n_cands < 1 || a.n_cands > CR_WHIP_MAX_CANDS ||
	    !a.ufrag[0] || !a.pwd[0] || !a.fingerprint[0] || (a.audio_pt != -1 && a.audio_pt != audio_pt))
		abort();
	for (int i = 0; i < a.n_cands; i++)
		if (a.cands[i].addr.sin6_port == 0 || a.cands[i].addr.sin6_family != AF_INET6)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_one(data, size, -1);
	_one(data, size, 111);
	return 0;
}
