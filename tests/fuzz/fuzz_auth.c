/* libFuzzer: the Authorization header and ?token= parsers (net/auth.c):
 * Bearer/Basic schemes, base64 and base64url, JWT structure, its JSON header
 * and claims, HMAC checks, Basic user:password splitting and the account
 * lookup. Input: first byte picks the stream asked about and whether the
 * rest is a header value or a ?token= value. Invariants: no crash or leak,
 * rights within CR_RIGHTS_ALL, and a failed check grants nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cr_auth_cfg_s a;
	if (!a.present) {
		a.present = true;
		a.n_tokens = 1;
		strcpy(a.tokens[0], "static-token-3f9a1c");
		strcpy(a.secret, "jwt-secret-0123456789abcdef");
		a.n_accounts = 1;
		strcpy(a.accounts[0].username, "alice");
		strcpy(a.accounts[0].password, "wonderland");
		a.accounts[0].rights = CR_RIGHT_VIEW;
	}
	if (size < 1)
		return 0;
	static const char *const streams[] = {NULL, "a", "b", "*"};
	const char *stream = streams[data[0] & 3];
	bool as_token = data[0] & 4;
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	unsigned rights = 99;
	int rc = cr_auth_check(&a, as_token ? NULL : s, as_token ? s : NULL, stream, 1700000000, &rights);
	if (rights & ~CR_RIGHTS_ALL)
		abort();
	if (rc < 0 && (rights || !cr_auth_problem(rc)))
		abort();
	free(s);
	return 0;
}
