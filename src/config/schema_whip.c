/* Config schema, the keys of whip sinks ([[stream.<name>.sinks]] type =
 * "whip"): url, token and ice_servers in the shape live777's config uses
 * ({ urls = [...], username, credential }). */
#include "config/schema_sections.h"

#include <stdio.h>
#include <string.h>

#include "config/schema_get.h"

static bool _ice_url_ok(const char *u)
{
	return strncmp(u, "stun:", 5) == 0 || strncmp(u, "turn:", 5) == 0;
}

static int _load_ice_server(struct cr_cfg_ctx_s *c, const struct cr_toml_s *e, const char *path,
			    struct cr_ice_server_cfg_s *s)
{
	static const char *const keys[] = {"urls", "username", "credential", NULL};
	const struct cr_toml_s *urls = NULL;
	char sub[CR_CFG_PATH];
	int rc;
	if ((rc = cr_cfg_check_keys(c, e, path, keys)) < 0 ||
	    (rc = cr_cfg_get_str(c, e, path, "username", s->username, sizeof(s->username), NULL)) < 0 ||
	    (rc = cr_cfg_get_str(c, e, path, "credential", s->credential, sizeof(s->credential), NULL)) < 0)
		return rc;
	urls = cr_toml_get(e, "urls");
	if (!urls)
		return cr_cfg_missing(c, e, path, "urls", " (e.g. urls = [\"stun:stun.example:3478\"])");
	cr_cfg_sub(sub, sizeof(sub), path, "urls");
	/* One string or an array of them, as in the browser's RTCIceServer. */
	size_t n = cr_toml_type(urls) == CR_TOML_STRING ? 1 : cr_toml_len(urls);
	if (cr_toml_type(urls) != CR_TOML_STRING && cr_toml_type(urls) != CR_TOML_ARRAY)
		return cr_cfg_wrong_type(c, urls, sub, "an array of \"stun:...\" / \"turn:...\" strings");
	if (n == 0 || n > CR_MAX_ICE_URLS)
		return CR_CFG_FAIL(c, urls, sub, "expected 1 to %d URLs, got %zu", CR_MAX_ICE_URLS, n);
	for (size_t i = 0; i < n; i++) {
		const struct cr_toml_s *u = cr_toml_type(urls) == CR_TOML_STRING ? urls : cr_toml_at(urls, i);
		size_t len;
		if (cr_toml_type(u) != CR_TOML_STRING)
			return cr_cfg_wrong_type(c, u, sub, "a \"stun:...\" or \"turn:...\" string");
		const char *v = cr_toml_str(u, &len);
		if (len != strlen(v) || len >= sizeof(s->urls[0]) || !_ice_url_ok(v))
			return CR_CFG_FAIL(c, u, sub, "bad ICE server URL \"%.80s\" (allowed: stun:host[:port], "
					   "turn:host[:port][?transport=udp])", v);
		if (strncmp(v, "turn:", 5) == 0 && (!s->username[0] || !s->credential[0]))
			return CR_CFG_FAIL(c, u, sub, "a TURN server needs username and credential");
		snprintf(s->urls[i], sizeof(s->urls[i]), "%s", v);
	}
	s->n_urls = (int)n;
	return 0;
}

int cr_cfg_load_whip_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *type,
			  struct cr_sink_cfg_s *sink)
{
	static const char *const whip_keys[] = {"url", "token", "ice_servers", "backoff_max_ms", NULL};
	const struct cr_toml_s *url = NULL, *arr = NULL;
	char sub[CR_CFG_PATH];
	int rc;
	if (strcmp(type, "whip") != 0) {
		for (int i = 0; whip_keys[i]; i++) {
			bool url_key = strcmp(whip_keys[i], "url") == 0;
			const struct cr_toml_s *v = cr_toml_get(t, whip_keys[i]);
			if (v && !(url_key && strcmp(type, "rtsp") == 0)) /* rtsp sinks have a url too */
				return cr_cfg_fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v),
						      cr_cfg_sub(sub, sizeof(sub), path, whip_keys[i]),
						      "only %s sinks take %s (type is %s)", url_key ? "whip and rtsp" : "whip",
						      whip_keys[i], type);
		}
		return 0;
	}
	if ((rc = cr_cfg_get_str(c, t, path, "url", sink->url, sizeof(sink->url), &url)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "token", sink->token, sizeof(sink->token), NULL)) < 0)
		return rc;
	if (!url)
		return cr_cfg_missing(c, t, path, "url", " (a whip sink posts to http(s)://host/whip/...)");
	const char *host = strncmp(sink->url, "http://", 7) == 0 ? sink->url + 7
			   : strncmp(sink->url, "https://", 8) == 0 ? sink->url + 8 : NULL;
	if (!host || !*host || *host == '/')
		return CR_CFG_FAIL(c, url, cr_cfg_sub(sub, sizeof(sub), path, "url"),
				   "expected an http:// or https:// URL with a host, got \"%.80s\"", sink->url);
	for (const char *p = sink->token; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return CR_CFG_FAIL(c, cr_toml_get(t, "token"), cr_cfg_sub(sub, sizeof(sub), path, "token"),
					   "a bearer token has no spaces or control characters");
	sink->backoff_max_ms = 8000;
	if ((rc = cr_cfg_get_intv(c, t, path, "backoff_max_ms", 250, 600000, &sink->backoff_max_ms)) < 0 ||
	    (rc = cr_cfg_get_table_array(c, t, path, "ice_servers", CR_MAX_ICE_SERVERS, &arr)) < 0)
		return rc;
	for (size_t i = 0; arr && i < cr_toml_len(arr); i++) {
		cr_cfg_item(sub, sizeof(sub), path, "ice_servers", i);
		if ((rc = _load_ice_server(c, cr_toml_at(arr, i), sub, &sink->ice_servers[i])) < 0)
			return rc;
		sink->n_ice_servers = (int)i + 1;
	}
	return 0;
}
