/* Backend option tables (core/options.h): defaults and setting from text. */
#include "core/options.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cr_option_s *cr_option_find(const struct cr_option_s *opts, const char *key)
{
	for (const struct cr_option_s *o = opts; o && o->key; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

const char *cr_option_str(const struct cr_option_s *opts, const void *block, const char *key)
{
	const struct cr_option_s *o = cr_option_find(opts, key);
	if (!o || (o->type != CR_OPT_CHOICE && o->type != CR_OPT_STRING))
		return "";
	return (const char *)block + o->offset;
}

void cr_options_defaults(const struct cr_option_s *opts, void *block)
{
	char *b = block;
	for (const struct cr_option_s *o = opts; o && o->key; o++) {
		if (o->type == CR_OPT_INT)
			*(int *)(b + o->offset) = (int)o->def;
		else if (o->type == CR_OPT_BOOL)
			*(bool *)(b + o->offset) = o->def != 0;
		else if (o->type != CR_OPT_CUSTOM)
			snprintf(b + o->offset, o->size, "%s", o->def_str ? o->def_str : "");
	}
}

static void _join(const char *const *v, char *out, size_t size)
{
	out[0] = 0;
	for (size_t i = 0; v && v[i]; i++) {
		size_t n = strlen(out);
		snprintf(out + n, size - n, "%s%s", i ? ", " : "", v[i]);
	}
}

int cr_option_set_text(const struct cr_option_s *opts, void *block, const char *key, const char *value, char *err,
		       size_t errlen)
{
	const struct cr_option_s *o = cr_option_find(opts, key);
	char *b = block, list[256];
	if (!o) {
		snprintf(err, errlen, "%s does not apply to this backend", key);
		return -EINVAL;
	}
	switch (o->type) {
	case CR_OPT_INT: {
		char *end;
		long long v = strtoll(value, &end, 10);
		if (!*value || *end || v < o->min || v > o->max) {
			snprintf(err, errlen, "%s: \"%.32s\" out of range (allowed: %lld..%lld)", key, value,
				 (long long)o->min, (long long)o->max);
			return -EINVAL;
		}
		*(int *)(b + o->offset) = (int)v;
		return 0;
	}
	case CR_OPT_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(err, errlen, "%s: \"%.32s\" is not true or false", key, value);
			return -EINVAL;
		}
		*(bool *)(b + o->offset) = value[0] == 't';
		return 0;
	case CR_OPT_CHOICE:
		for (size_t i = 0; o->choices[i]; i++)
			if (strcmp(o->choices[i], value) == 0) {
				snprintf(b + o->offset, o->size, "%s", value);
				return 0;
			}
		_join(o->choices, list, sizeof(list));
		snprintf(err, errlen, "unknown %s \"%.32s\" (allowed: %s)", key, value, list);
		return -EINVAL;
	case CR_OPT_STRING:
		if (strlen(value) >= o->size) {
			snprintf(err, errlen, "%s: \"%.32s\" too long (at most %zu bytes)", key, value, o->size - 1);
			return -EINVAL;
		}
		snprintf(b + o->offset, o->size, "%s", value);
		return 0;
	case CR_OPT_CUSTOM:
		break;
	}
	snprintf(err, errlen, "%s cannot be set from text", key);
	return -EINVAL;
}
