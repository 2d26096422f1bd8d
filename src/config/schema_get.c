/* The typed getters of the config schema (schema_get.h): one TOML value in,
 * checked against its type and range, or a "file:line:col: key.path:" error. */
#include "config/schema_get.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/values.h"
#include "core/config.h"

int cr_cfg_fail_at(struct cr_cfg_ctx_s *c, int line, int col, const char *path, const char *fmt, ...)
{
	if (!c->err || !c->errlen)
		return -EINVAL;
	int n = snprintf(c->err, c->errlen, "%s:%d:%d: %s: ", c->file, line, col, path);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* Values are quoted from the file; keep their control characters (an
	 * escaped ESC, say) away from the user's terminal. */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

const char *cr_cfg_join(const char *const *names, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
	return buf;
}

int cr_cfg_index_of(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* Not snprintf: gcc's -Wformat-truncation cannot see that cutting is meant. */
const char *cr_cfg_sub(char *buf, size_t size, const char *path, const char *key)
{
	size_t o = 0;
	const char *parts[3] = {path, path[0] ? "." : "", key};
	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p && o + 1 < size; p++)
			buf[o++] = *p;
	buf[o] = '\0';
	return buf;
}

const char *cr_cfg_item(char *buf, size_t size, const char *path, const char *key, size_t i)
{
	char sub[CR_CFG_PATH];
	snprintf(buf, size, "%s[%zu]", cr_cfg_sub(sub, sizeof(sub), path, key), i);
	return buf;
}

static const char *_article(enum cr_toml_type_e t)
{
	return t == CR_TOML_ARRAY || t == CR_TOML_INTEGER ? "an" : "a";
}

int cr_cfg_wrong_type(struct cr_cfg_ctx_s *c, const struct cr_toml_s *v, const char *path, const char *want)
{
	enum cr_toml_type_e t = cr_toml_type(v);
	return CR_CFG_FAIL(c, v, path, "expected %s, got %s %s", want, _article(t), cr_toml_type_name(t));
}

int cr_cfg_check_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *table, const char *path,
		      const char *const *allowed)
{
	for (size_t i = 0; i < cr_toml_len(table); i++) {
		const struct cr_toml_s *v = cr_toml_at(table, i);
		if (cr_cfg_index_of(allowed, cr_toml_key(v)) >= 0)
			continue;
		char sub[CR_CFG_PATH], list[512];
		return cr_cfg_fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v),
				      cr_cfg_sub(sub, sizeof(sub), path, cr_toml_key(v)), "unknown key (allowed: %s)",
				      cr_cfg_join(allowed, list, sizeof(list)));
	}
	return 0;
}

int cr_cfg_missing(struct cr_cfg_ctx_s *c, const struct cr_toml_s *table, const char *path, const char *key,
		   const char *hint)
{
	return CR_CFG_FAIL(c, table, path, "missing required key \"%s\"%s", key, hint ? hint : "");
}

int cr_cfg_lookup(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		  enum cr_toml_type_e type, const char *want, char sub[CR_CFG_PATH], const struct cr_toml_s **out)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	if (!v)
		return 0;
	cr_cfg_sub(sub, CR_CFG_PATH, path, key);
	if (cr_toml_type(v) != type)
		return cr_cfg_wrong_type(c, v, sub, want);
	*out = v;
	return 1;
}

int cr_cfg_get_table(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		     const struct cr_toml_s **out)
{
	char sub[CR_CFG_PATH];
	return cr_cfg_lookup(c, t, path, key, CR_TOML_TABLE, "a table", sub, out);
}

int cr_cfg_get_table_array(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			   size_t max, const struct cr_toml_s **out)
{
	static const char want[] = "an array of tables ([[...]])";
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_lookup(c, t, path, key, CR_TOML_ARRAY, want, sub, &v);
	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < cr_toml_len(v); i++)
		if (cr_toml_type(cr_toml_at(v, i)) != CR_TOML_TABLE)
			return cr_cfg_wrong_type(c, cr_toml_at(v, i), sub, want);
	if (cr_toml_len(v) > max)
		return CR_CFG_FAIL(c, cr_toml_at(v, max), sub, "too many entries (at most %zu)", max);
	*out = v;
	return 1;
}

int cr_cfg_get_str(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, char *out,
		   size_t size, const struct cr_toml_s **at)
{
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	size_t len;
	int rc = cr_cfg_lookup(c, t, path, key, CR_TOML_STRING, "a string", sub, &v);
	if (rc <= 0)
		return rc;
	const char *s = cr_toml_str(v, &len);
	if (len != strlen(s))
		return CR_CFG_FAIL(c, v, sub, "NUL characters are not allowed");
	if (len >= size)
		return CR_CFG_FAIL(c, v, sub, "too long (%zu bytes, at most %zu)", len, size - 1);
	memcpy(out, s, len + 1);
	if (at)
		*at = v;
	return 1;
}

int cr_cfg_get_int(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int64_t min,
		   int64_t max, int64_t *out)
{
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_lookup(c, t, path, key, CR_TOML_INTEGER, "an integer", sub, &v);
	if (rc <= 0)
		return rc;
	int64_t i = cr_toml_int(v);
	if (i < min || i > max)
		return CR_CFG_FAIL(c, v, sub, "out of range: %" PRId64 " (allowed: %" PRId64 "..%" PRId64 ")", i, min,
				   max);
	*out = i;
	return 1;
}

int cr_cfg_get_intv(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int min,
		    int max, int *out)
{
	int64_t i;
	int rc = cr_cfg_get_int(c, t, path, key, min, max, &i);
	if (rc > 0)
		*out = (int)i;
	return rc;
}

int cr_cfg_get_bool(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, bool *out)
{
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_lookup(c, t, path, key, CR_TOML_BOOL, "a boolean (true or false)", sub, &v);
	if (rc > 0)
		*out = cr_toml_bool(v);
	return rc;
}

const char *cr_cfg_get_name(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			    const struct cr_toml_s **at, int *rc)
{
	char sub[CR_CFG_PATH];
	if ((*rc = cr_cfg_lookup(c, t, path, key, CR_TOML_STRING, "a string", sub, at)) <= 0)
		return NULL;
	return cr_toml_str(*at, NULL);
}

int cr_cfg_get_choice(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		      const char *what, const char *const *names, char *out, size_t size)
{
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH], list[512];
	int rc;
	const char *s = cr_cfg_get_name(c, t, path, key, &v, &rc);
	if (!s)
		return rc;
	if (cr_cfg_index_of(names, s) < 0 || strlen(s) >= size)
		return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, key), "unknown %s \"%.64s\" (allowed: %s)",
				   what, s, cr_cfg_join(names, list, sizeof(list)));
	snprintf(out, size, "%s", s);
	return 1;
}

int cr_cfg_get_pixfmt(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, enum cr_pixfmt_e *out)
{
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	int rc;
	const char *s = cr_cfg_get_name(c, t, path, "pixel_format", &v, &rc);
	if (!s)
		return rc;
	if ((*out = cr_pixfmt_from_name(s)) == CR_PIXFMT_NONE)
		return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, "pixel_format"),
				   "unknown pixel format \"%.64s\" (allowed: %s)", s, cr_pixfmt_allowed());
	return 1;
}

int cr_cfg_get_hostport(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			char *out, size_t size)
{
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_get_str(c, t, path, key, out, size, &v);
	if (rc <= 0)
		return rc;
	const char *problem = cr_cfg_hostport_problem(out);
	if (problem)
		return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, key),
				   "invalid address \"%s\": %s (expected host:port, e.g. 127.0.0.1:8080)", out, problem);
	return 1;
}

/* [x, y, w, h] with w, h > 0. */
static int _rect_of(struct cr_cfg_ctx_s *c, const struct cr_toml_s *v, const char *path, int out[4])
{
	if (cr_toml_type(v) != CR_TOML_ARRAY || cr_toml_len(v) != 4)
		return CR_CFG_FAIL(c, v, path, "expected a rectangle [x, y, width, height]");
	for (size_t i = 0; i < 4; i++) {
		const struct cr_toml_s *e = cr_toml_at(v, i);
		if (cr_toml_type(e) != CR_TOML_INTEGER)
			return cr_cfg_wrong_type(c, e, path, "an integer in [x, y, width, height]");
		int64_t n = cr_toml_int(e);
		int64_t min = i < 2 ? -16384 : 1;
		if (n < min || n > 16384)
			return CR_CFG_FAIL(c, e, path, "%s out of range: %" PRId64 " (allowed: %" PRId64 "..16384)",
					   i == 0 ? "x" : i == 1 ? "y" : i == 2 ? "width" : "height", n, min);
		out[i] = (int)n;
	}
	return 1;
}

int cr_cfg_get_rect(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int out[4])
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[CR_CFG_PATH];
	if (!v)
		return 0;
	return _rect_of(c, v, cr_cfg_sub(sub, sizeof(sub), path, key), out);
}

int cr_cfg_get_rects(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		     int (*out)[4], int *n)
{
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_lookup(c, t, path, key, CR_TOML_ARRAY, "an array of rectangles [[x, y, width, height], ...]",
			       sub, &v);
	if (rc <= 0)
		return rc;
	if (cr_toml_len(v) > CR_MAX_OVERLAY_RECTS)
		return CR_CFG_FAIL(c, cr_toml_at(v, CR_MAX_OVERLAY_RECTS), sub, "too many rectangles (at most %d)",
				   CR_MAX_OVERLAY_RECTS);
	for (size_t i = 0; i < cr_toml_len(v); i++)
		if ((rc = _rect_of(c, cr_toml_at(v, i), sub, out[i])) < 0)
			return rc;
	*n = (int)cr_toml_len(v);
	return 1;
}
