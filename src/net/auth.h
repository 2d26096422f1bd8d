/* Access control: credentials in, rights (CR_RIGHT_VIEW/CONTROL/ADMIN, see
 * core/config.h) for one stream out. One decision for every front door:
 * HTTP (net/http_access.c), RTSP, DataChannel; nothing below re-parses a
 * credential.
 *
 * Credentials, as live777 takes them ([auth] in the config):
 *   - static bearer tokens (tokens = [...]): every right on every stream;
 *   - HS256 JWTs signed with secret: live777's claims {id, exp, mode}: id is
 *     the stream name or "*", exp is required (60 s leeway, as live777's
 *     jsonwebtoken default), nbf is honoured; mode is live777's rwx mask:
 *     4 (r, subscribe) gives view, 1 (x, manage) gives control, and with
 *     id "*" admin too; 2 (w, publish) gives nothing here yet;
 *   - [[auth.accounts]] username/password (HTTP Basic): the account's rights
 *     (default all) on every stream; password in clear or an argon2 hash.
 * A bearer token may also come as ?token= for clients that cannot set
 * headers. Comparisons of secrets are constant-time; nothing here logs. */
#ifndef CR_NET_AUTH_H
#define CR_NET_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* How a credential check ended (besides 0, which fills *rights). */
#define CR_AUTH_NONE (-1)    /* no credentials given: answer 401 with a challenge */
#define CR_AUTH_BAD (-2)     /* unknown token, bad signature or password, malformed: 401 */
#define CR_AUTH_EXPIRED (-3) /* a JWT past exp (or before nbf): 401 */

/* The rights that authorization (an Authorization header value, may be
 * NULL) and token (a ?token= value, may be NULL) give on stream (NULL: on
 * every stream, as /metrics needs). Without [auth] (a NULL or absent
 * config) every right. now is Unix time in seconds. Returns 0 and *rights
 * (possibly 0: valid but not for this stream) or a CR_AUTH_* code. */
int cr_auth_check(const struct cr_auth_cfg_s *a, const char *authorization, const char *token, const char *stream,
		  int64_t now, unsigned *rights);

/* The account named user, or NULL: for schemes that check the password
 * themselves (RTSP Digest needs the clear text: an argon2 hash cannot do
 * Digest). */
const struct cr_auth_account_cfg_s *cr_auth_account(const struct cr_auth_cfg_s *a, const char *user);
/* Whether password (len bytes) is the account's (clear or argon2). */
bool cr_auth_password_ok(const struct cr_auth_account_cfg_s *acc, const char *password, size_t len);

/* A short reason for a CR_AUTH_* code, for the 401 body ("no credentials"). */
const char *cr_auth_problem(int code);

#endif
