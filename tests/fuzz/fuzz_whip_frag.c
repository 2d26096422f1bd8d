/* libFuzzer: the WHIP server's trickle / ICE restart fragment
 * (application/trickle-ice-sdpfrag, net/whip_sdp.c cr_whip_parse_frag), the
 * body of a 200 answer to camrelay's PATCH. Every accepted fragment is
 * checked for what the peer relies on: credentials both or neither, within
 * their sizes and of ICE characters, candidates with a port. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/whip.h"

static int _ice_text(const char *s, size_t min, size_t max)
{
	size_t l = strlen(s);
	if (l < min || l > max)
		return 0;
	for (size_t i = 0; i < l; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '+' || s[i] == '/'))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cr_whip_frag_s f;
	char err[256] = "";
	if (cr_whip_parse_frag((const char *)data, size, &f, err, sizeof(err)) < 0) {
		if (strlen(err) == 0)
			abort(); /* a rejection always says why */
		return 0;
	}
	if (!f.ufrag[0] != !f.pwd[0] || f.n_cands < 0 || f.n_cands > CR_WHIP_MAX_CANDS)
		abort();
	if (f.ufrag[0] && (!_ice_text(f.ufrag, 4, sizeof(f.ufrag) - 1) || !_ice_text(f.pwd, 22, sizeof(f.pwd) - 1)))
		abort();
	for (int i = 0; i < f.n_cands; i++)
		if (f.cands[i].addr.sin6_port == 0 || f.cands[i].addr.sin6_family != AF_INET6)
			abort();
	return 0;
}
