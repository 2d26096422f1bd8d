/* Access control at the RTSP door: what players send for
 * rtsp://user:pass@host/stream (Basic, or Digest after our challenge) and a
 * ?token= in the URL, decided by net/auth.c like every other door. Digest
 * (RFC 2617, MD5, as RTSP clients implement it) is computed here: it needs
 * the account's clear password, which net/auth.c hands out through
 * cr_auth_account (an argon2-hashed account can only do Basic). The nonce
 * is per connection, random. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "core/log.h"
#include "net/auth.h"
#include "net/hash.h"
#include "net/rtsp_msg.h"
#include "net/rtsp_priv.h"

void cr_rtsp_md5_hex(const char *text, char out[33])
{
	uint8_t d[CR_HASH_MAX];
	int n = cr_digest(CR_HASH_MD5, &(struct iovec){(void *)text, strlen(text)}, 1, d);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", i < n ? d[i] : 0);
	out[32] = 0;
}

/* The rights a Digest Authorization gives (0 with rc < 0 when it fails). */
static int _digest(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m, unsigned *rights)
{
	const struct cr_auth_cfg_s *a = &c->r->cfg->auth;
	const char *h = m->authorization + 7;
	char user[64], realm[64], nonce[64], uri[1024], resp[64], qop[16] = "", nc[16] = "", cnonce[128] = "";
	if (!cr_rtsp_header_param(h, "username", user, sizeof(user)) ||
	    !cr_rtsp_header_param(h, "realm", realm, sizeof(realm)) ||
	    !cr_rtsp_header_param(h, "nonce", nonce, sizeof(nonce)) || !cr_rtsp_header_param(h, "uri", uri, sizeof(uri)) ||
	    !cr_rtsp_header_param(h, "response", resp, sizeof(resp)) || strlen(resp) != 32)
		return CR_AUTH_BAD;
	for (char *k = resp; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	cr_rtsp_header_param(h, "qop", qop, sizeof(qop));
	cr_rtsp_header_param(h, "nc", nc, sizeof(nc));
	cr_rtsp_header_param(h, "cnonce", cnonce, sizeof(cnonce));
	const struct cr_auth_account_cfg_s *acc = cr_auth_account(a, user);
	if (!acc || strncmp(acc->password, "$argon2", 7) == 0 || strcmp(nonce, c->nonce) != 0)
		return CR_AUTH_BAD;
	char text[1600], ha1[33], ha2[33], want[33];
	snprintf(text, sizeof(text), "%s:%s:%s", user, realm, acc->password);
	cr_rtsp_md5_hex(text, ha1);
	explicit_bzero(text, sizeof(text));
	snprintf(text, sizeof(text), "%s:%s", m->method, uri);
	cr_rtsp_md5_hex(text, ha2);
	if (qop[0])
		snprintf(text, sizeof(text), "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
	else
		snprintf(text, sizeof(text), "%s:%s:%s", ha1, nonce, ha2);
	cr_rtsp_md5_hex(text, want);
	if (!cr_same_bytes(want, resp, 32))
		return CR_AUTH_BAD;
	*rights = acc->rights;
	return 0;
}

int cr_rtsp_authorize(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m, const char *stream, const char *query,
		      int *code)
{
	const struct cr_config_s *cfg = c->r->cfg;
	if (!cfg->auth.present)
		return 0;
	char token[4097] = "";
	cr_rtsp_query_get(query, "token", token, sizeof(token));
	unsigned rights = 0;
	int rc;
	if (strncasecmp(m->authorization, "Digest ", 7) == 0)
		rc = _digest(c, m, &rights);
	else
		rc = cr_auth_check(&cfg->auth, m->authorization[0] ? m->authorization : NULL, token[0] ? token : NULL,
				   stream, (int64_t)time(NULL), &rights);
	explicit_bzero(token, sizeof(token));
	if (rc == 0 && (rights & CR_RIGHT_VIEW))
		return 0;
	*code = rc < 0 ? 401 : 403;
	CR_LOG_I("rtsp", "%s: %s %s: %d (%s)", c->remote, m->method, stream, *code,
		 rc < 0 ? cr_auth_problem(rc) : "no view right on this stream");
	return -1;
}

void cr_rtsp_challenge(struct cr_rtsp_conn_s *c, char *out, size_t cap)
{
	const struct cr_auth_cfg_s *a = &c->r->cfg->auth;
	if (!c->nonce[0]) {
		unsigned char r[16];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			memset(r, 0, sizeof(r));
		for (int i = 0; i < 16; i++)
			snprintf(c->nonce + 2 * i, 3, "%02x", r[i]);
	}
	size_t n = 0;
	out[0] = 0;
	if (a->n_accounts) /* Digest first: players take the strongest they know */
		n += (size_t)snprintf(out + n, cap - n,
				      "WWW-Authenticate: Digest realm=\"camrelay\", nonce=\"%s\", algorithm=MD5\r\n"
				      "WWW-Authenticate: Basic realm=\"camrelay\"\r\n",
				      c->nonce);
	if (n < cap && (a->n_tokens || a->secret[0]))
		snprintf(out + n, cap - n, "WWW-Authenticate: Bearer realm=\"camrelay\"\r\n");
}
