/* Private to src/config: the typed getters the schema loaders read keys with,
 * and the "file:line:col: key.path: problem" error they all write.
 *
 * The getters know TOML types and value ranges but no section of the config;
 * the loaders (schema.c, schema_source.c, schema_sink.c) know the sections
 * and call these, never the reverse. */
#ifndef CR_CONFIG_SCHEMA_GET_H
#define CR_CONFIG_SCHEMA_GET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/toml.h"
#include "core/format.h"

/* Where messages go: the file name they start with and the caller's buffer. */
struct cr_config_s;

struct cr_cfg_ctx_s {
	const char *file;
	char *err;
	size_t errlen;
	struct cr_config_s *cfg; /* where blocks come from (cr_config_block) */
};

/* Key paths only ever appear in messages; longer ones are cut. */
#define CR_CFG_PATH 256

/* Writes "file:line:col: path: message" (control characters shown as '?')
 * and returns -EINVAL. */
int cr_cfg_fail_at(struct cr_cfg_ctx_s *c, int line, int col, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* cr_cfg_fail_at at the position of value (or table) v. */
#define CR_CFG_FAIL(c, v, path, ...) cr_cfg_fail_at(c, cr_toml_line(v), cr_toml_col(v), path, __VA_ARGS__)

/* "expected <want>, got a string" at v. */
int cr_cfg_wrong_type(struct cr_cfg_ctx_s *c, const struct cr_toml_s *v, const char *path, const char *want);

/* "missing required key "key"<hint>" at table's header. */
int cr_cfg_missing(struct cr_cfg_ctx_s *c, const struct cr_toml_s *table, const char *path, const char *key,
		   const char *hint);

/* Fails on the first key of table that is not in allowed (NULL-terminated). */
int cr_cfg_check_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *table, const char *path,
		      const char *const *allowed);

/* names joined with ", " into buf (for "allowed: ..." lists). */
const char *cr_cfg_join(const char *const *names, char *buf, size_t size);
/* Index of s in the NULL-terminated names, or -1. */
int cr_cfg_index_of(const char *const *names, const char *s);
/* path + "." + key ("key" alone at the root), cut to size. */
const char *cr_cfg_sub(char *buf, size_t size, const char *path, const char *key);
/* path + "." + key + "[i]": the i-th entry of an array of tables. */
const char *cr_cfg_item(char *buf, size_t size, const char *path, const char *key, size_t i);

/* The getters return 1 when the key is present and valid, 0 when it is
 * absent (out untouched), or a negative errno after writing the message. */

/* The value of key if it has type (else "expected <want>"); sub receives
 * path.key for further messages. */
int cr_cfg_lookup(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		  enum cr_toml_type_e type, const char *want, char sub[CR_CFG_PATH], const struct cr_toml_s **out);

int cr_cfg_get_table(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		     const struct cr_toml_s **out);
/* An array of tables, written as [[x]] or as x = [{...}, ...], at most max. */
int cr_cfg_get_table_array(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			   size_t max, const struct cr_toml_s **out);
/* A string without NUL, shorter than size; at (may be NULL) gets its value. */
int cr_cfg_get_str(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, char *out,
		   size_t size, const struct cr_toml_s **at);
int cr_cfg_get_int(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int64_t min,
		   int64_t max, int64_t *out);
int cr_cfg_get_intv(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int min,
		    int max, int *out);
int cr_cfg_get_bool(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, bool *out);

/* A string value that must name something; returns it (NULL when absent or
 * after an error, told apart by rc). Names are checked before any copy, so a
 * very long value reads as unknown rather than as too long. */
const char *cr_cfg_get_name(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			    const struct cr_toml_s **at, int *rc);
/* A string that must be one of names ("unknown <what>"); copied to out. */
int cr_cfg_get_choice(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		      const char *what, const char *const *names, char *out, size_t size);
/* pixel_format = "yuyv", ... (core/format.h names). */
int cr_cfg_get_pixfmt(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, enum cr_pixfmt_e *out);
/* host:port, IPv6 as [addr]:port. */
int cr_cfg_get_hostport(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			char *out, size_t size);
/* [x, y, w, h] with x, y in -16384..16384 and w, h in 1..16384. */
int cr_cfg_get_rect(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int out[4]);
/* An array of such rectangles, at most CR_MAX_OVERLAY_RECTS; n gets the count. */
int cr_cfg_get_rects(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		     int (*out)[4], int *n);

#endif
