/* TOML 1.0 lexical scanning: strings with escapes, numbers, comments.
 * See toml.h for why this reader exists. */
#include "config/toml_lex.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cr_toml_lex_adv(struct cr_toml_lex_s *lx)
{
	if (lx->pos >= lx->len)
		return;
	unsigned char c = (unsigned char)lx->s[lx->pos++];
	if (c == '\n') {
		lx->line++;
		lx->col = 1;
	} else if (lx->pos >= lx->len || ((unsigned char)lx->s[lx->pos] & 0xC0) != 0x80) {
		/* Count a column once the whole UTF-8 sequence is behind us. */
		lx->col++;
	}
}

int cr_toml_lex_fail(struct cr_toml_lex_s *lx, int line, int col, const char *fmt, ...)
{
	if (lx->err && lx->errlen && !lx->err[0]) {
		int n = snprintf(lx->err, lx->errlen, "%d:%d: ", line, col);
		if (n >= 0 && (size_t)n < lx->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
		/* Messages quote keys from the file; an escaped newline or ESC in
		 * one must not reach the user's terminal raw. */
		for (char *p = lx->err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return -EINVAL;
}

static int _fail_here(struct cr_toml_lex_s *lx, const char *what, int c)
{
	if (c < 0)
		return cr_toml_lex_fail(lx, lx->line, lx->col, "%s: unexpected end of file", what);
	return cr_toml_lex_fail(lx, lx->line, lx->col, "%s: control character U+%04X is not allowed",
				what, c);
}

/* TOML forbids raw control characters everywhere except tab (and newlines
 * where the grammar has them). */
static bool _is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

int cr_toml_lex_check_utf8(struct cr_toml_lex_s *lx)
{
	const unsigned char *s = (const unsigned char *)lx->s;
	int line = 1, col = 1;
	for (size_t i = 0; i < lx->len;) {
		unsigned c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (n == 0 || i + n > lx->len)
			goto bad;
		uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			goto bad;
		i += n;
		if (c == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
		continue;
	bad:
		return cr_toml_lex_fail(lx, line, col, "invalid UTF-8 (byte 0x%02X); TOML files must be UTF-8", c);
	}
	return 0;
}

void cr_toml_lex_skip_ws(struct cr_toml_lex_s *lx)
{
	int c;
	while ((c = cr_toml_lex_peek(lx, 0)) == ' ' || c == '\t')
		cr_toml_lex_adv(lx);
}

int cr_toml_lex_newline(struct cr_toml_lex_s *lx)
{
	int c = cr_toml_lex_peek(lx, 0);
	if (c == '\n') {
		cr_toml_lex_adv(lx);
		return 1;
	}
	if (c == '\r') {
		if (cr_toml_lex_peek(lx, 1) != '\n')
			return cr_toml_lex_fail(lx, lx->line, lx->col, "carriage return not followed by a newline");
		cr_toml_lex_adv(lx);
		cr_toml_lex_adv(lx);
		return 1;
	}
	return 0;
}

int cr_toml_lex_comment(struct cr_toml_lex_s *lx)
{
	cr_toml_lex_adv(lx); /* '#' */
	for (;;) {
		int c = cr_toml_lex_peek(lx, 0);
		if (c < 0 || c == '\n' || (c == '\r' && cr_toml_lex_peek(lx, 1) == '\n'))
			return 0;
		if (c == '\r')
			return cr_toml_lex_fail(lx, lx->line, lx->col, "carriage return not followed by a newline");
		if (_is_control(c))
			return _fail_here(lx, "in a comment", c);
		cr_toml_lex_adv(lx);
	}
}

bool cr_toml_lex_is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-';
}

/* A growable byte buffer for string contents. */
struct _buf_s {
	char *p;
	size_t len, cap;
};

static int _put(struct _buf_s *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int _put_utf8(struct _buf_s *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return _put(b, u, n);
}

static int _hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At the backslash of an escape in a basic string. */
static int _escape(struct cr_toml_lex_s *lx, struct _buf_s *b)
{
	int line = lx->line, col = lx->col;
	cr_toml_lex_adv(lx);
	int c = cr_toml_lex_peek(lx, 0);
	const char *simple = NULL;
	switch (c) {
	case 'b': simple = "\b"; break;
	case 't': simple = "\t"; break;
	case 'n': simple = "\n"; break;
	case 'f': simple = "\f"; break;
	case 'r': simple = "\r"; break;
	case '"': simple = "\""; break;
	case '\\': simple = "\\"; break;
	case 'u':
	case 'U':
		break;
	default:
		if (c < 0x20 || c >= 0x7f)
			return cr_toml_lex_fail(lx, line, col, "invalid escape sequence");
		return cr_toml_lex_fail(lx, line, col, "invalid escape sequence \\%c (allowed: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)", c);
	}
	cr_toml_lex_adv(lx);
	if (simple)
		return _put(b, simple, 1);
	int digits = c == 'u' ? 4 : 8;
	uint32_t cp = 0;
	for (int i = 0; i < digits; i++) {
		int h = _hex(cr_toml_lex_peek(lx, 0));
		if (h < 0)
			return cr_toml_lex_fail(lx, line, col, "\\%c needs exactly %d hex digits", c, digits);
		cp = (cp << 4) | (uint32_t)h;
		cr_toml_lex_adv(lx);
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return cr_toml_lex_fail(lx, line, col, "\\%c%0*X is not a Unicode scalar value", c, digits, cp);
	return _put_utf8(b, cp);
}

/* At a backslash in a multi-line basic string: if only whitespace follows
 * on the line, it is a "line ending backslash" and TOML drops it together with
 * every space, tab and newline up to the next visible character. Returns 1
 * when trimmed, 0 for an ordinary escape. */
static int _trim_continuation(struct cr_toml_lex_s *lx)
{
	size_t k = 1;
	while (cr_toml_lex_peek(lx, k) == ' ' || cr_toml_lex_peek(lx, k) == '\t')
		k++;
	int c = cr_toml_lex_peek(lx, k);
	if (c != '\n' && !(c == '\r' && cr_toml_lex_peek(lx, k + 1) == '\n'))
		return 0;
	cr_toml_lex_adv(lx);
	for (;;) {
		c = cr_toml_lex_peek(lx, 0);
		if (c == ' ' || c == '\t') {
			cr_toml_lex_adv(lx);
			continue;
		}
		int rc = cr_toml_lex_newline(lx);
		if (rc <= 0)
			return rc < 0 ? rc : 1;
	}
}

int cr_toml_lex_string(struct cr_toml_lex_s *lx, bool multiline, char **out, size_t *outlen)
{
	int line = lx->line, col = lx->col;
	int q = cr_toml_lex_peek(lx, 0);
	bool basic = q == '"';
	bool ml = cr_toml_lex_peek(lx, 1) == q && cr_toml_lex_peek(lx, 2) == q;
	struct _buf_s b = {0};
	int rc;

	if (ml && !multiline)
		return cr_toml_lex_fail(lx, line, col, "multi-line strings cannot be keys");
	for (int i = 0; i < (ml ? 3 : 1); i++)
		cr_toml_lex_adv(lx);
	/* A newline right after the opening delimiter is not part of the text. */
	if (ml && (rc = cr_toml_lex_newline(lx)) < 0)
		goto error;
	if ((rc = _put(&b, "", 0)) < 0)
		goto error;
	for (;;) {
		int c = cr_toml_lex_peek(lx, 0);
		if (c == q) {
			if (!ml) {
				cr_toml_lex_adv(lx);
				break;
			}
			size_t n = 0;
			while (cr_toml_lex_peek(lx, n) == q)
				n++;
			if (n < 3) {
				/* one or two quotes inside the text */
			} else if (n <= 5) {
				/* up to two quotes may sit just before the closing three */
				if ((rc = _put(&b, basic ? "\"\"" : "''", n - 3)) < 0)
					goto error;
				for (size_t i = 0; i < n; i++)
					cr_toml_lex_adv(lx);
				break;
			} else {
				rc = cr_toml_lex_fail(lx, lx->line, lx->col, "too many quotes at the end of a multi-line string");
				goto error;
			}
			if ((rc = _put(&b, lx->s + lx->pos, n)) < 0)
				goto error;
			for (size_t i = 0; i < n; i++)
				cr_toml_lex_adv(lx);
			continue;
		}
		if (c < 0 || (!ml && (c == '\n' || c == '\r'))) {
			rc = cr_toml_lex_fail(lx, line, col, "unterminated string");
			goto error;
		}
		if (c == '\n' || c == '\r') {
			/* multi-line: CRLF is read as LF */
			if ((rc = cr_toml_lex_newline(lx)) < 0 || (rc = _put(&b, "\n", 1)) < 0)
				goto error;
			continue;
		}
		if (basic && c == '\\') {
			if (ml && (rc = _trim_continuation(lx)) != 0) {
				if (rc < 0)
					goto error;
				continue;
			}
			if ((rc = _escape(lx, &b)) < 0)
				goto error;
			continue;
		}
		if (_is_control(c)) {
			rc = _fail_here(lx, "in a string", c);
			goto error;
		}
		if ((rc = _put(&b, lx->s + lx->pos, 1)) < 0)
			goto error;
		cr_toml_lex_adv(lx);
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
error:
	free(b.p);
	return rc;
}

int cr_toml_lex_bare_key(struct cr_toml_lex_s *lx, char **out, size_t *outlen)
{
	size_t start = lx->pos;
	while (cr_toml_lex_is_bare(cr_toml_lex_peek(lx, 0)))
		cr_toml_lex_adv(lx);
	size_t n = lx->pos - start;
	if (n == 0) {
		int c = cr_toml_lex_peek(lx, 0);
		if (c < 0 || c == '\n' || c == '\r')
			return cr_toml_lex_fail(lx, lx->line, lx->col, "expected a key");
		if (c >= 0x20 && c < 0x7f)
			return cr_toml_lex_fail(lx, lx->line, lx->col,
						"expected a key, got '%c' (bare keys are A-Za-z0-9_-; quote others)", c);
		return cr_toml_lex_fail(lx, lx->line, lx->col,
					"expected a key (bare keys are A-Za-z0-9_-; quote others)");
	}
	char *s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, lx->s + start, n);
	s[n] = '\0';
	*out = s;
	*outlen = n;
	return 0;
}

/* Digits of one base with TOML's underscore rule: each '_' sits between two
 * digits. Copies the digits (without '_') to out. Returns digits read, or
 * -1 on a misplaced underscore. */
static int _digits(const char *s, size_t n, size_t *i, int base, char *out, size_t *outn)
{
	int count = 0;
	bool prev_digit = false;
	while (*i < n) {
		int c = (unsigned char)s[*i];
		int d = _hex(c);
		if (c == '_') {
			if (!prev_digit)
				return -1;
			prev_digit = false;
		} else if (d >= 0 && d < base) {
			out[(*outn)++] = (char)c;
			prev_digit = true;
			count++;
		} else {
			break;
		}
		(*i)++;
	}
	if (count > 0 && !prev_digit)
		return -1; /* trailing underscore */
	return count;
}

static bool _looks_like_date(const char *s, size_t n)
{
	size_t d = 0;
	while (d < n && s[d] >= '0' && s[d] <= '9')
		d++;
	return (d == 4 && d < n && s[d] == '-') || (d == 2 && d < n && s[d] == ':');
}

static int _int_from(struct cr_toml_lex_s *lx, int line, int col, const char *digits, size_t n, int base,
		     bool neg, int64_t *out)
{
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t k = 0; k < n; k++) {
		uint64_t d = (uint64_t)_hex((unsigned char)digits[k]);
		if (v > (limit - d) / (uint64_t)base)
			return cr_toml_lex_fail(lx, line, col, "integer out of range (TOML integers are 64-bit signed)");
		v = v * (uint64_t)base + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int cr_toml_lex_number(struct cr_toml_lex_s *lx, bool *is_float, int64_t *iv, double *fv)
{
	int line = lx->line, col = lx->col;
	size_t start = lx->pos, n = 0;
	int c;
	/* The token runs to the first character no number can hold. */
	while ((c = cr_toml_lex_peek(lx, n)) >= 0 &&
	       (cr_toml_lex_is_bare(c) || c == '+' || c == '.' || c == ':'))
		n++;
	const char *s = lx->s + start;
	char *clean = malloc(n + 2);
	if (!clean)
		return -ENOMEM;
	size_t cn = 0, i = 0;
	bool neg = false;
	int rc = -EINVAL;

	if (_looks_like_date(s, n)) {
		rc = cr_toml_lex_fail(lx, line, col, "dates and times are not supported here");
		goto out;
	}
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		neg = s[i] == '-';
		clean[cn++] = s[i++];
	}
	if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
		*is_float = true;
		*fv = s[i] == 'i' ? INFINITY : NAN;
		if (neg)
			*fv = -*fv;
		rc = 0;
		goto out;
	}
	if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
		int base = s[i + 1] == 'x' ? 16 : s[i + 1] == 'o' ? 8 : 2;
		if (i > 0) {
			rc = cr_toml_lex_fail(lx, line, col, "hex, octal and binary integers cannot have a sign");
			goto out;
		}
		i += 2;
		cn = 0;
		if (_digits(s, n, &i, base, clean, &cn) <= 0 || i != n) {
			rc = cr_toml_lex_fail(lx, line, col, "invalid %s integer \"%.*s\"",
					      base == 16 ? "hex" : base == 8 ? "octal" : "binary", (int)n, s);
			goto out;
		}
		*is_float = false;
		rc = _int_from(lx, line, col, clean, cn, base, false, iv);
		goto out;
	}
	size_t int_at = i, sign_n = cn;
	if (_digits(s, n, &i, 10, clean, &cn) <= 0)
		goto invalid;
	if (s[int_at] == '0' && i - int_at > 1) {
		rc = cr_toml_lex_fail(lx, line, col, "leading zeros are not allowed in \"%.*s\"", (int)n, s);
		goto out;
	}
	size_t int_digits = cn - sign_n;
	*is_float = false;
	if (i < n && s[i] == '.') {
		clean[cn++] = s[i++];
		if (_digits(s, n, &i, 10, clean, &cn) <= 0)
			goto invalid;
		*is_float = true;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		clean[cn++] = s[i++];
		if (i < n && (s[i] == '+' || s[i] == '-'))
			clean[cn++] = s[i++];
		/* the exponent may have leading zeros */
		if (_digits(s, n, &i, 10, clean, &cn) <= 0)
			goto invalid;
		*is_float = true;
	}
	if (i != n)
		goto invalid;
	if (!*is_float) {
		rc = _int_from(lx, line, col, clean + sign_n, int_digits, 10, neg, iv);
		goto out;
	}
	clean[cn] = '\0';
	/* strtod reads '.' as the radix: camrelay never calls setlocale. */
	*fv = strtod(clean, NULL);
	if (isinf(*fv)) {
		rc = cr_toml_lex_fail(lx, line, col, "float out of range \"%.*s\"", (int)n, s);
		goto out;
	}
	rc = 0;
	goto out;
invalid:
	rc = cr_toml_lex_fail(lx, line, col, "invalid number \"%.*s\"", n > 40 ? 40 : (int)n, s);
out:
	free(clean);
	if (rc == 0)
		for (size_t k = 0; k < n; k++)
			cr_toml_lex_adv(lx);
	return rc;
}
