#include "core/hostport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cr_hostport_split(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *h = s, *h_end, *colon;
	if (s[0] == '[') {
		h = s + 1;
		h_end = strchr(h, ']');
		if (!h_end || h_end[1] != ':')
			return -EINVAL;
		colon = h_end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s))) /* IPv6 needs brackets */
			return -EINVAL;
		h_end = colon;
	}
	const char *p = colon + 1;
	size_t hl = (size_t)(h_end - h), pl = strlen(p);
	if (!pl || strspn(p, "0123456789") != pl || pl > 5 || atoi(p) > 65535 || hl >= hostlen || pl >= portlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	memcpy(port, p, pl + 1);
	return 0;
}

void cr_url_shown(const char *url, char *out, size_t n)
{
	const char *scheme = strstr(url, "://");
	if (!scheme) {
		snprintf(out, n, "%s", url);
		return;
	}
	const char *auth = scheme + 3;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	for (const char *c = auth; c < auth + alen; c++)
		if (*c == '@')
			at = c;
	if (at)
		snprintf(out, n, "%.*s%s", (int)(auth - url), url, at + 1);
	else
		snprintf(out, n, "%s", url);
}
