/* A strict TOML 1.0 reader.
 *
 * Hand-written because Debian 12 packages no C TOML library, and a config
 * reader is small enough to own: we want exact line:col positions on every key
 * and value so the schema can point at the offending byte.
 *
 * Everything TOML 1.0 defines is read as the spec says, except dates and times,
 * which are refused ("dates and times are not supported here") because no
 * camrelay key takes one, and keys holding an escaped U+0000, which a C string
 * key could not represent. The document must be valid UTF-8.
 *
 * Usage:
 *	struct cr_toml_s *root;
 *	char err[256];
 *	if (cr_toml_parse(text, len, &root, err, sizeof(err)) < 0)
 *		... err holds "line:col: message" ...
 *	const struct cr_toml_s *http = cr_toml_get(root, "http");
 *	for (size_t i = 0; i < cr_toml_len(http); i++)
 *		... cr_toml_key(cr_toml_at(http, i)) ...
 *	cr_toml_free(root);
 */
#ifndef CR_TOML_H
#define CR_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cr_toml_type_e {
	CR_TOML_TABLE = 1,
	CR_TOML_ARRAY,
	CR_TOML_STRING,
	CR_TOML_INTEGER,
	CR_TOML_FLOAT,
	CR_TOML_BOOL,
};

/* One node of the tree: a table, an array or a scalar. Opaque. */
struct cr_toml_s;

/* Parses a whole document into a tree whose root is a table. On error returns
 * -EINVAL (or -ENOMEM) and writes "line:col: message" into err. */
int cr_toml_parse(const char *text, size_t len, struct cr_toml_s **root, char *err,
		  size_t errlen);
void cr_toml_free(struct cr_toml_s *root);

/* The accessors accept NULL (a missing key) and then return 0 / NULL. */
enum cr_toml_type_e cr_toml_type(const struct cr_toml_s *v);
/* "table", "array", "string", "integer", "float", "boolean". */
const char *cr_toml_type_name(enum cr_toml_type_e t);
/* True for an array created by [[header]]s (as opposed to `k = [...]`). */
bool cr_toml_is_table_array(const struct cr_toml_s *v);

/* Where the value starts (1-based; columns count characters). For a table
 * defined by a [header] that is the header's '['. */
int cr_toml_line(const struct cr_toml_s *v);
int cr_toml_col(const struct cr_toml_s *v);

/* The key this value is stored under in its table, and where that key was
 * written; NULL for array elements and the root (a [[x]] element keeps the
 * position of x in its header). */
const char *cr_toml_key(const struct cr_toml_s *v);
int cr_toml_key_line(const struct cr_toml_s *v);
int cr_toml_key_col(const struct cr_toml_s *v);

/* Tables: value of key or NULL. NULL table gives NULL. */
const struct cr_toml_s *cr_toml_get(const struct cr_toml_s *table, const char *key);
/* Tables and arrays: number of entries, and the i-th (tables keep the order
 * in which keys were first written). 0 / NULL for scalars. */
size_t cr_toml_len(const struct cr_toml_s *v);
const struct cr_toml_s *cr_toml_at(const struct cr_toml_s *v, size_t i);

/* Scalars. Strings are NUL-terminated UTF-8; len (may be NULL) gives the
 * length, which matters only if the text holds an escaped \u0000. Wrong-type
 * calls return "" / 0 / false. */
const char *cr_toml_str(const struct cr_toml_s *v, size_t *len);
int64_t cr_toml_int(const struct cr_toml_s *v);
double cr_toml_float(const struct cr_toml_s *v);
bool cr_toml_bool(const struct cr_toml_s *v);

#endif
