/* libFuzzer target: the TOML reader alone, walking every node it returns.
 * Faster per input than fuzz_config, so it reaches deeper into the syntax. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t _walk(const struct cr_toml_s *v, int depth)
{
	size_t n = 1, len;
	/* headers, dotted keys and inline nesting add at most 128 levels each */
	if (cr_toml_line(v) < 1 || cr_toml_col(v) < 1 || depth > 3 * 128 + 1)
		abort();
	switch (cr_toml_type(v)) {
	case CR_TOML_TABLE:
	case CR_TOML_ARRAY:
		for (size_t i = 0; i < cr_toml_len(v); i++) {
			const struct cr_toml_s *kid = cr_toml_at(v, i);
			/* every key finds its own value again (keys cannot hold U+0000) */
			if (cr_toml_type(v) == CR_TOML_TABLE &&
			    (!cr_toml_key(kid) || cr_toml_get(v, cr_toml_key(kid)) != kid))
				abort();
			n += _walk(kid, depth + 1);
		}
		break;
	case CR_TOML_STRING:
		if (cr_toml_str(v, &len)[len] != '\0')
			abort();
		break;
	default:
		break;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_toml_s *root;
	char err[256];
	if (cr_toml_parse((const char *)data, size, &root, err, sizeof(err)) < 0) {
		if (err[0] < '1' || err[0] > '9' || !strstr(err, ": "))
			abort();
		return 0;
	}
	if (cr_toml_type(root) != CR_TOML_TABLE)
		abort();
	_walk(root, 0);
	cr_toml_free(root);
	return 0;
}
