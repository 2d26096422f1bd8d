/* The one "host:port" splitter: "host:port", "[v6]:port" or ":port" (any
 * address). The config checks the text first (config/values.c says what is
 * wrong with it); the HTTP listener, the RTP sink and its SDP split it here. */
#ifndef CR_HOSTPORT_H
#define CR_HOSTPORT_H

#include <stddef.h>

/* host without brackets ("" for ":port"), port digits. 0, or -EINVAL when s
 * is not of that shape or either part does not fit. */
int cr_hostport_split(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

/* The URL as shown in messages, logs and /api: "scheme://user:pass@host/..."
 * without its "user:pass@" (the last '@' before the path counts, as a raw '@'
 * in a password is common). A text without "://" is copied as it is. */
void cr_url_shown(const char *url, char *out, size_t n);

#endif
