/* Private to the TOML reader: the cursor and the scanners for the lexical
 * pieces (strings, numbers, comments, newlines). toml.c builds the tree. */
#ifndef CR_TOML_LEX_H
#define CR_TOML_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cr_toml_lex_s {
	const char *s;
	size_t len, pos;
	int line, col; /* of s[pos]; columns count UTF-8 characters */
	char *err;
	size_t errlen;
};

/* Byte at pos+off, or -1 past the end. */
static inline int cr_toml_lex_peek(const struct cr_toml_lex_s *lx, size_t off)
{
	return lx->pos + off < lx->len ? (unsigned char)lx->s[lx->pos + off] : -1;
}

void cr_toml_lex_adv(struct cr_toml_lex_s *lx);

/* Writes "line:col: message" (first error wins) and returns -EINVAL. */
int cr_toml_lex_fail(struct cr_toml_lex_s *lx, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Rejects text that is not UTF-8 (TOML requires it) before parsing starts. */
int cr_toml_lex_check_utf8(struct cr_toml_lex_s *lx);

void cr_toml_lex_skip_ws(struct cr_toml_lex_s *lx);
/* At '#': consumes the comment up to (not including) the newline. */
int cr_toml_lex_comment(struct cr_toml_lex_s *lx);
/* At '\n' or "\r\n": consumes it. 1 if consumed, 0 if not at a newline,
 * negative on a lone '\r'. */
int cr_toml_lex_newline(struct cr_toml_lex_s *lx);

/* At a quote: reads one string into a malloc'd, NUL-terminated buffer.
 * Multi-line forms are refused when multiline is false (keys). */
int cr_toml_lex_string(struct cr_toml_lex_s *lx, bool multiline, char **out, size_t *outlen);
/* Reads [A-Za-z0-9_-]+ into a malloc'd buffer. */
int cr_toml_lex_bare_key(struct cr_toml_lex_s *lx, char **out, size_t *outlen);
bool cr_toml_lex_is_bare(int c);

/* At a value starting with a digit, sign, 'i' or 'n': an integer or float. */
int cr_toml_lex_number(struct cr_toml_lex_s *lx, bool *is_float, int64_t *i, double *f);

#endif
