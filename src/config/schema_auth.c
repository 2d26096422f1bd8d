/* The config sections that decide who may do what: [auth], [limits], the
 * access keys of [http] and a stream's webrtc_codecs. Keys as README.md
 * documents them:
 *
 *   [http]
 *   server_names = ["cam.example"]         Host header values accepted besides the
 *                                          listen address and loopback names
 *   cors_origins = ["https://app.example"] origins that may read answers cross-origin
 *   tls_cert = "/etc/camrelay/cert.pem"    HTTPS when both are given (PEM)
 *   tls_key = "/etc/camrelay/key.pem"
 *
 *   [auth]                                 (live777's [auth], see net/auth.h)
 *   tokens = ["..."]                       static bearer tokens: every right
 *   secret = "..."                         HS256 key for JWTs
 *   [[auth.accounts]]                      HTTP Basic
 *   username = "..."
 *   password = "..."                       clear text or "$argon2id$..."
 *   rights = ["view", "control", "admin"]  (ext) default all
 *
 *   [limits]                               0 or absent = the default
 *   http_connections, http_connections_per_ip, header_timeout,
 *   whep_sessions, whep_sessions_per_stream, whep_sessions_per_ip,
 *   whep_pending_timeout, mjpeg_clients_per_stream
 */
#include <stdio.h>
#include <string.h>

#include "config/schema_get.h"
#include "config/schema_sections.h"

/* An array of strings, each shorter than size, at most max. */
static int _str_list(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		     size_t max, size_t size, char *out, int *n, const struct cr_toml_s **at)
{
	const struct cr_toml_s *arr;
	char sub[CR_CFG_PATH], item[CR_CFG_PATH];
	int rc = cr_cfg_lookup(c, t, path, key, CR_TOML_ARRAY, "an array of strings", sub, &arr);
	if (rc <= 0)
		return rc;
	if (cr_toml_len(arr) > max)
		return CR_CFG_FAIL(c, cr_toml_at(arr, max), sub, "too many entries (at most %zu)", max);
	for (size_t i = 0; i < cr_toml_len(arr); i++) {
		const struct cr_toml_s *v = cr_toml_at(arr, i);
		size_t len = 0;
		snprintf(item, sizeof(item), "%s[%zu]", sub, i);
		if (cr_toml_type(v) != CR_TOML_STRING)
			return cr_cfg_wrong_type(c, v, item, "a string");
		const char *s = cr_toml_str(v, &len);
		if (len == 0 || len >= size || strlen(s) != len)
			return CR_CFG_FAIL(c, v, item, "must be 1..%zu characters without NUL", size - 1);
		memcpy(out + i * size, s, len + 1);
		(*n)++;
	}
	if (at)
		*at = arr;
	return 1;
}

int cr_cfg_load_http_access(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_http_cfg_s *h)
{
	const struct cr_toml_s *cors = NULL, *cert = NULL;
	int rc;
	if ((rc = _str_list(c, t, "http", "server_names", CR_MAX_HTTP_NAMES, sizeof(h->server_names[0]),
			    h->server_names[0], &h->n_server_names, NULL)) < 0 ||
	    (rc = _str_list(c, t, "http", "cors_origins", CR_MAX_HTTP_NAMES, sizeof(h->cors_origins[0]),
			    h->cors_origins[0], &h->n_cors_origins, &cors)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, "http", "tls_cert", h->tls_cert, sizeof(h->tls_cert), &cert)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, "http", "tls_key", h->tls_key, sizeof(h->tls_key), cert ? NULL : &cert)) < 0)
		return rc;
	for (int i = 0; i < h->n_cors_origins; i++)
		if (strcmp(h->cors_origins[i], "*") == 0)
			return CR_CFG_FAIL(c, cr_toml_at(cors, (size_t)i), "http.cors_origins",
					   "\"*\" is not allowed: name each origin, e.g. \"https://app.example\"");
	if (!h->tls_cert[0] != !h->tls_key[0])
		return CR_CFG_FAIL(c, cert, "http", "tls_cert and tls_key go together (HTTPS needs both PEM files)");
	return 0;
}

static const char *const _right_names[] = {"view", "control", "admin", NULL};

static int _account(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		    struct cr_auth_account_cfg_s *a)
{
	static const char *const keys[] = {"username", "password", "rights", NULL};
	char names[3][16];
	const struct cr_toml_s *arr = NULL;
	int n = 0, rc;
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "username", a->username, sizeof(a->username), NULL)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "password", a->password, sizeof(a->password), NULL)) < 0 ||
	    (rc = _str_list(c, t, path, "rights", 3, sizeof(names[0]), names[0], &n, &arr)) < 0)
		return rc;
	if (!a->username[0] || strchr(a->username, ':'))
		return cr_cfg_missing(c, t, path, "username", " (non-empty, without ':')");
	if (!a->password[0])
		return cr_cfg_missing(c, t, path, "password", " (clear text or an argon2 hash)");
	a->rights = rc == 0 ? CR_RIGHTS_ALL : 0;
	for (int i = 0; i < n; i++) {
		int k = cr_cfg_index_of(_right_names, names[i]);
		if (k < 0)
			return CR_CFG_FAIL(c, cr_toml_at(arr, (size_t)i), path,
					   "unknown right \"%s\" (allowed: view, control, admin)", names[i]);
		a->rights |= 1u << k;
	}
	return 0;
}

int cr_cfg_load_auth(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_auth_cfg_s *a)
{
	static const char *const keys[] = {"tokens", "secret", "accounts", NULL};
	const struct cr_toml_s *accounts = NULL, *secret = NULL, *tokens = NULL;
	char item[CR_CFG_PATH];
	int rc;
	a->present = true;
	if ((rc = cr_cfg_check_keys(c, t, "auth", keys)) < 0 ||
	    (rc = _str_list(c, t, "auth", "tokens", CR_MAX_AUTH_TOKENS, sizeof(a->tokens[0]), a->tokens[0],
			    &a->n_tokens, &tokens)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, "auth", "secret", a->secret, sizeof(a->secret), &secret)) < 0 ||
	    (rc = cr_cfg_get_table_array(c, t, "auth", "accounts", CR_MAX_AUTH_ACCOUNTS, &accounts)) < 0)
		return rc;
	if (a->secret[0] && strlen(a->secret) < 16)
		return CR_CFG_FAIL(c, secret, "auth.secret",
				   "too short: an HS256 key needs at least 16 characters (32 random bytes is usual)");
	for (int i = 0; i < a->n_tokens; i++)
		if (strlen(a->tokens[i]) < 8)
			return CR_CFG_FAIL(c, cr_toml_at(tokens, (size_t)i), "auth.tokens",
					   "token %d is shorter than 8 characters: anyone could guess it", i + 1);
	for (size_t i = 0; i < cr_toml_len(accounts); i++)
		if ((rc = _account(c, cr_toml_at(accounts, i), cr_cfg_item(item, sizeof(item), "auth", "accounts", i),
				   &a->accounts[a->n_accounts++])) < 0)
			return rc;
	if (!a->n_tokens && !a->secret[0] && !a->n_accounts)
		return cr_cfg_fail_at(c, cr_toml_line(t), cr_toml_col(t), "auth",
				      "an [auth] table with no credentials would lock everyone out: add tokens, "
				      "secret or [[auth.accounts]]");
	return 0;
}

int cr_cfg_load_limits(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_limits_cfg_s *l)
{
	static const char *const keys[] = {"http_connections", "http_connections_per_ip", "header_timeout",
					   "whep_sessions", "whep_sessions_per_stream", "whep_sessions_per_ip",
					   "whep_pending_timeout", "mjpeg_clients_per_stream", NULL};
	int rc;
	if ((rc = cr_cfg_check_keys(c, t, "limits", keys)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "http_connections", 1, 100000, &l->http_connections)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "http_connections_per_ip", 1, 100000,
				  &l->http_connections_per_ip)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "header_timeout", 1, 600, &l->header_timeout)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "whep_sessions", 1, 10000, &l->whep_sessions)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "whep_sessions_per_stream", 1, 10000,
				  &l->whep_sessions_per_stream)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "whep_sessions_per_ip", 1, 10000, &l->whep_sessions_per_ip)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "whep_pending_timeout", 1, 600, &l->whep_pending_timeout)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "limits", "mjpeg_clients_per_stream", 1, 100000,
				  &l->mjpeg_clients_per_stream)) < 0)
		return rc;
	return 0;
}

static const enum cr_codec_e *_webrtc; /* the daemon's WHEP table, or NULL */

void cr_config_use_webrtc_codecs(const enum cr_codec_e *codecs) { _webrtc = codecs; }

static bool _webrtc_takes(enum cr_codec_e k)
{
	for (const enum cr_codec_e *p = _webrtc; p && *p; p++)
		if (*p == k)
			return true;
	return !_webrtc && k != CR_CODEC_NONE;
}

/* "h264, vp8, vp9, av1": what the WHEP table holds. */
static void _webrtc_names(char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = 0;
	for (const enum cr_codec_e *p = _webrtc; p && *p && o < size; p++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", p == _webrtc ? "" : ", ", cr_codec_name(*p));
}

int cr_cfg_load_webrtc_codecs(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			      struct cr_stream_cfg_s *s)
{
	char names[4][16], sub[CR_CFG_PATH], allowed[96];
	const struct cr_toml_s *arr = NULL;
	int n = 0;
	int rc = _str_list(c, t, path, "webrtc_codecs", 4, sizeof(names[0]), names[0], &n, &arr);
	if (rc <= 0)
		return rc;
	cr_cfg_sub(sub, sizeof(sub), path, "webrtc_codecs");
	for (int i = 0; i < n; i++) {
		enum cr_codec_e k = cr_codec_from_name(names[i]);
		if (!_webrtc_takes(k)) {
			_webrtc_names(allowed, sizeof(allowed));
			return CR_CFG_FAIL(c, cr_toml_at(arr, (size_t)i), sub,
					   "\"%s\" cannot be served over WebRTC (allowed: %s)", names[i],
					   _webrtc ? allowed : cr_codec_allowed());
		}
		s->webrtc_codecs[s->n_webrtc_codecs++] = k;
	}
	return 0;
}
