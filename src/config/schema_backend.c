/* Config schema, the keys backends declare for themselves (core/options.h):
 * a capture or encoder table's common keys are the schema's; every other
 * key belongs to the backends whose ops table lists it. */
#include "config/schema_sections.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/schema_get.h"

#define _MAX_KEYS 64

/* common keys + every key any backend declares, for the unknown-key check. */
static void _all_keys(const char *const *common, const struct cr_cfg_backend_s *b, size_t n, const char **out)
{
	size_t k = 0;
	for (; common[k] && k + 1 < _MAX_KEYS; k++)
		out[k] = common[k];
	for (size_t i = 0; i < n; i++)
		for (const struct cr_option_s *o = b[i].options; o && o->key && k + 1 < _MAX_KEYS; o++) {
			bool seen = false;
			for (size_t j = 0; j < k && !seen; j++)
				seen = strcmp(out[j], o->key) == 0;
			if (!seen)
				out[k++] = o->key;
		}
	out[k] = NULL;
}

/* "the test backend" / "the software, x264, x265 backends": who declares key. */
static const char *_declared_by(const struct cr_cfg_backend_s *b, size_t n, const char *key, char *buf, size_t size)
{
	size_t o = 0, count = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		if (cr_option_find(b[i].options, key) && o < size) {
			o += (size_t)snprintf(buf + o, size - o, "%s%s", count ? ", " : "the ", b[i].name);
			count++;
		}
	if (o < size)
		snprintf(buf + o, size - o, " backend%s", count > 1 ? "s" : "");
	return buf;
}

int cr_cfg_load_option(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		       const struct cr_option_s *o, void *blockp)
{
	char *block = blockp;
	int v = 0, rc;
	bool bv = false;
	switch (o->type) {
	case CR_OPT_INT:
		if ((rc = cr_cfg_get_intv(c, t, path, o->key, (int)o->min, (int)o->max, &v)) > 0)
			*(int *)(block + o->offset) = v;
		return rc;
	case CR_OPT_BOOL:
		bv = *(bool *)(block + o->offset);
		rc = cr_cfg_get_bool(c, t, path, o->key, &bv);
		*(bool *)(block + o->offset) = bv;
		return rc;
	case CR_OPT_CHOICE:
		return cr_cfg_get_choice(c, t, path, o->key, o->noun ? o->noun : o->key, o->choices, block + o->offset,
					 o->size);
	case CR_OPT_STRING:
		return cr_cfg_get_str(c, t, path, o->key, block + o->offset, o->size, NULL);
	case CR_OPT_CUSTOM:
		return o->load(c, t, path, o, block);
	}
	return 0;
}

int cr_cfg_check_backend_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			      const char *const *common, const struct cr_cfg_backend_s *b, size_t n)
{
	const char *keys[_MAX_KEYS];
	_all_keys(common, b, n, keys);
	return cr_cfg_check_keys(c, t, path, keys);
}

int cr_cfg_load_backend_options(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
				const struct cr_cfg_backend_s *b, size_t n, const struct cr_cfg_backend_s *chosen,
				void *block, size_t block_size)
{
	char sub[CR_CFG_PATH], who[256];
	int rc;
	for (const struct cr_option_s *o = chosen->options; o && o->key; o++)
		if (cr_cfg_option_end(o) > block_size)
			return cr_cfg_fail_at(c, cr_toml_line(t), cr_toml_col(t), path,
					      "backend %s: option %s does not fit its block (a bug in its table)",
					      chosen->name, o->key);
	cr_options_defaults(chosen->options, block);
	for (size_t i = 0; i < cr_toml_len(t); i++) {
		const struct cr_toml_s *v = cr_toml_at(t, i);
		const char *key = cr_toml_key(v);
		const struct cr_option_s *o = cr_option_find(chosen->options, key);
		if (o) {
			if ((rc = cr_cfg_load_option(c, t, path, o, block)) < 0)
				return rc;
			continue;
		}
		_declared_by(b, n, key, who, sizeof(who));
		if (strcmp(who, " backend") != 0) /* some other backend's key */
			return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, key),
					   "%s applies to %s only (backend is %s)", key, who, chosen->name);
	}
	return cr_cfg_check_required(c, t, path, chosen->options);
}

size_t cr_cfg_option_end(const struct cr_option_s *o)
{
	return o->offset + (o->type == CR_OPT_INT ? sizeof(int) : o->type == CR_OPT_BOOL ? sizeof(bool) : o->size);
}

int cr_cfg_check_required(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			  const struct cr_option_s *opts)
{
	for (const struct cr_option_s *o = opts; o && o->key; o++)
		if (o->required && !cr_toml_get(t, o->key))
			return cr_cfg_missing(c, t, path, o->key, o->required);
	return 0;
}
