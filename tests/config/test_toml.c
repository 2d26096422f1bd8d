/* TOML 1.0 conformance of the reader, value by value: what must be read
 * (with the exact value) and what must be refused (with the exact position).
 * Cases follow the examples of the TOML 1.0 specification. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

static int _failures, _checks;
static int _case_line;

#define FAIL(...)                                                        \
	do {                                                             \
		fprintf(stderr, "%s:%d: ", __FILE__, _case_line);        \
		fprintf(stderr, __VA_ARGS__);                            \
		fputc('\n', stderr);                                     \
		_failures++;                                             \
	} while (0)

/* Looks up a dotted path of bare keys; "[n]" after a key indexes an array. */
static const struct cr_toml_s *_at(const struct cr_toml_s *v, const char *path)
{
	char buf[256], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
		char *br = strchr(k, '[');
		if (br)
			*br = '\0';
		if (*k)
			v = cr_toml_get(v, k);
		while (br && v) {
			v = cr_toml_at(v, (size_t)atoi(br + 1));
			br = strchr(br + 1, '[');
		}
	}
	return v;
}

static struct cr_toml_s *_ok(const char *src, size_t len, int line)
{
	struct cr_toml_s *root;
	char err[256];
	_case_line = line;
	_checks++;
	if (cr_toml_parse(src, len, &root, err, sizeof(err)) < 0) {
		FAIL("unexpected error: %s\n  in: %s", err, src);
		return NULL;
	}
	return root;
}

static void _bad(const char *src, size_t len, int eline, int ecol, const char *expect, int line)
{
	struct cr_toml_s *root;
	char err[256], prefix[32];
	_case_line = line;
	_checks++;
	if (cr_toml_parse(src, len, &root, err, sizeof(err)) == 0) {
		FAIL("accepted, expected \"%d:%d: ...%s\"\n  in: %s", eline, ecol, expect, src);
		cr_toml_free(root);
		return;
	}
	snprintf(prefix, sizeof(prefix), "%d:%d: ", eline, ecol);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, expect))
		FAIL("got \"%s\", want \"%s...%s\"", err, prefix, expect);
}

#define OK(src) _ok(src, strlen(src), __LINE__)
#define BAD(src, l, c, expect) _bad(src, strlen(src), l, c, expect, __LINE__)
#define BADN(src, l, c, expect) _bad(src, sizeof(src) - 1, l, c, expect, __LINE__)

static void _want_int(const struct cr_toml_s *root, const char *path, int64_t want)
{
	const struct cr_toml_s *v = _at(root, path);
	if (!v || cr_toml_type(v) != CR_TOML_INTEGER)
		FAIL("%s: not an integer", path);
	else if (cr_toml_int(v) != want)
		FAIL("%s: got %lld, want %lld", path, (long long)cr_toml_int(v), (long long)want);
}

static void _want_float(const struct cr_toml_s *root, const char *path, double want)
{
	const struct cr_toml_s *v = _at(root, path);
	if (!v || cr_toml_type(v) != CR_TOML_FLOAT)
		FAIL("%s: not a float", path);
	else if (isnan(want) ? !isnan(cr_toml_float(v)) || signbit(want) != signbit(cr_toml_float(v))
			     : cr_toml_float(v) != want || signbit(want) != signbit(cr_toml_float(v)))
		FAIL("%s: got %.17g, want %.17g", path, cr_toml_float(v), want);
}

static void _want_str(const struct cr_toml_s *root, const char *path, const char *want, size_t wlen)
{
	const struct cr_toml_s *v = _at(root, path);
	size_t len;
	if (!v || cr_toml_type(v) != CR_TOML_STRING) {
		FAIL("%s: not a string", path);
		return;
	}
	const char *s = cr_toml_str(v, &len);
	if (len != wlen || memcmp(s, want, len) != 0)
		FAIL("%s: got \"%s\" (%zu bytes), want \"%s\" (%zu bytes)", path, s, len, want, wlen);
}

static void _want_bool(const struct cr_toml_s *root, const char *path, bool want)
{
	const struct cr_toml_s *v = _at(root, path);
	if (!v || cr_toml_type(v) != CR_TOML_BOOL || cr_toml_bool(v) != want)
		FAIL("%s: want %s", path, want ? "true" : "false");
}

static void _want_len(const struct cr_toml_s *root, const char *path, enum cr_toml_type_e t, size_t n)
{
	const struct cr_toml_s *v = _at(root, path);
	if (!v || cr_toml_type(v) != t || cr_toml_len(v) != n)
		FAIL("%s: want %s of %zu, got %s of %zu", path, cr_toml_type_name(t), n,
		     v ? cr_toml_type_name(cr_toml_type(v)) : "nothing", cr_toml_len(v));
}

#define STR(root, path, want) _want_str(root, path, want, sizeof(want) - 1)

static void _strings(void)
{
	struct cr_toml_s *r;

	r = OK("s = \"\\b\\t\\n\\f\\r\\\"\\\\\"\n"
	       "u = \"\\u00E9\\U0001F600\\u0041\"\n"
	       "nul = \"a\\u0000b\"\n"
	       "lit = 'C:\\Users\\nodejs\\templates'\n"
	       "q = '<\\i\\c*\\s*>'\n"
	       "tab = \"a\tb\"\n"
	       "ltab = 'a\tb'\n"
	       "empty = \"\"\n"
	       "lempty = ''\n"
	       "utf = \"caf\xC3\xA9 \xE2\x82\xAC\"\n");
	STR(r, "s", "\b\t\n\f\r\"\\");
	STR(r, "u", "\xC3\xA9\xF0\x9F\x98\x80" "A");
	STR(r, "nul", "a\0b");
	STR(r, "lit", "C:\\Users\\nodejs\\templates");
	STR(r, "q", "<\\i\\c*\\s*>");
	STR(r, "tab", "a\tb");
	STR(r, "ltab", "a\tb");
	STR(r, "empty", "");
	STR(r, "lempty", "");
	STR(r, "utf", "caf\xC3\xA9 \xE2\x82\xAC");
	cr_toml_free(r);

	/* Multi-line forms, spec section "String". */
	r = OK("a = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n"
	       "b = \"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\"\n"
	       "c = \"\"\"\\\n       The quick brown \\\n       fox.\\\n       \"\"\"\n"
	       "d = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n"
	       "e = \"\"\"Here are fifteen quotation marks: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"\n"
	       "f = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n"
	       "g = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''\n"
	       "h = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''\n"
	       "i = ''''That,' she said, 'is still pointless.''''\n"
	       "j = \"\"\"\"\"\"\n"
	       "k = \"\"\"a\r\nb\"\"\"\n"
	       "l = \"\"\"trailing \\   \n  x\"\"\"\n");
	STR(r, "a", "Roses are red\nViolets are blue");
	STR(r, "b", "The quick brown fox jumps over the lazy dog.");
	STR(r, "c", "The quick brown fox.");
	STR(r, "d", "Here are two quotation marks: \"\". Simple enough.");
	STR(r, "e", "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\".");
	STR(r, "f", "\"This,\" she said, \"is just a pointless statement.\"");
	STR(r, "g", "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n");
	STR(r, "h", "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"");
	STR(r, "i", "'That,' she said, 'is still pointless.'");
	STR(r, "j", "");
	STR(r, "k", "a\nb");
	STR(r, "l", "trailing x");
	cr_toml_free(r);

	BAD("s = \"abc\n", 1, 5, "unterminated string");
	BAD("s = 'abc", 1, 5, "unterminated string");
	BAD("s = \"\"\"abc\"\"", 1, 5, "unterminated string");
	BAD("s = \"a\\qb\"", 1, 7, "invalid escape sequence \\q");
	BAD("s = \"a\\ b\"", 1, 7, "invalid escape sequence \\ ");
	BAD("s = \"\\u12\"", 1, 6, "\\u needs exactly 4 hex digits");
	BAD("s = \"\\U0011ffff\"", 1, 6, "is not a Unicode scalar value");
	BAD("s = \"\\uDFFF\"", 1, 6, "is not a Unicode scalar value");
	BAD("s = \"\\xff\"", 1, 6, "invalid escape");
	BAD("s = \"a\x7f\"", 1, 7, "control character U+007F");
	BAD("s = 'a\x1b'", 1, 7, "control character U+001B");
	BAD("s = \"\"\"a\x01\"\"\"", 1, 9, "control character U+0001");
	BAD("s = \"\"\"a\"\"\"\"\"\"", 1, 9, "too many quotes");
	BAD("s = '''a''''''", 1, 9, "too many quotes");
	BAD("\"\"\"k\"\"\" = 1", 1, 1, "multi-line strings cannot be keys");
	BADN("s = \"a\x00\"", 1, 7, "control character U+0000");
}

static void _integers(void)
{
	struct cr_toml_s *r = OK("a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\ng = 53_49_221\n"
				 "h = 1_2_3_4_5\ni = -0\nj = +0\n"
				 "hex1 = 0xDEADBEEF\nhex2 = 0xdeadbeef\nhex3 = 0xdead_beef\nhex4 = 0x00ff\n"
				 "oct1 = 0o01234567\noct2 = 0o755\nbin1 = 0b11010110\nbin2 = 0b0_1\n"
				 "max = 9223372036854775807\nmin = -9223372036854775808\n"
				 "hmax = 0x7fffffffffffffff\nbmax = 0b111111111111111111111111111111111111111111111111111111111111111\n"
				 "bitrate = 1_000_000\n");
	_want_int(r, "a", 99);
	_want_int(r, "b", 42);
	_want_int(r, "c", 0);
	_want_int(r, "d", -17);
	_want_int(r, "e", 1000);
	_want_int(r, "f", 5349221);
	_want_int(r, "g", 5349221);
	_want_int(r, "h", 12345);
	_want_int(r, "i", 0);
	_want_int(r, "j", 0);
	_want_int(r, "hex1", 0xDEADBEEF);
	_want_int(r, "hex2", 0xDEADBEEF);
	_want_int(r, "hex3", 0xDEADBEEF);
	_want_int(r, "hex4", 255);
	_want_int(r, "oct1", 01234567);
	_want_int(r, "oct2", 0755);
	_want_int(r, "bin1", 214);
	_want_int(r, "bin2", 1);
	_want_int(r, "max", INT64_MAX);
	_want_int(r, "min", INT64_MIN);
	_want_int(r, "hmax", INT64_MAX);
	_want_int(r, "bmax", INT64_MAX);
	_want_int(r, "bitrate", 1000000);
	cr_toml_free(r);

	BAD("a = 9223372036854775808", 1, 5, "integer out of range");
	BAD("a = -9223372036854775809", 1, 5, "integer out of range");
	BAD("a = 0x8000000000000000", 1, 5, "integer out of range");
	BAD("a = 99999999999999999999999", 1, 5, "integer out of range");
	BAD("a = 01", 1, 5, "leading zeros are not allowed");
	BAD("a = -01", 1, 5, "leading zeros are not allowed");
	BAD("a = 0_1", 1, 5, "leading zeros are not allowed");
	BAD("a = 00", 1, 5, "leading zeros are not allowed");
	BAD("a = 1_", 1, 5, "invalid number");
	BAD("a = _1", 1, 5, "expected a value");
	BAD("a = 1__2", 1, 5, "invalid number");
	BAD("a = 0x", 1, 5, "invalid number");
	BAD("a = 0x_1", 1, 5, "invalid hex integer");
	BAD("a = 0x1_", 1, 5, "invalid hex integer");
	BAD("a = 0xg", 1, 5, "invalid hex integer");
	BAD("a = 0o8", 1, 5, "invalid octal integer");
	BAD("a = 0b2", 1, 5, "invalid binary integer");
	BAD("a = 0X1", 1, 5, "invalid number");
	BAD("a = +0x1", 1, 5, "cannot have a sign");
	BAD("a = -0b1", 1, 5, "cannot have a sign");
	BAD("a = --1", 1, 5, "invalid number");
	BAD("a = +-1", 1, 5, "invalid number");
	BAD("a = 1+2", 1, 5, "invalid number");
	BAD("a = 1 2", 1, 7, "expected a newline or comment");
	BAD("a = +", 1, 5, "invalid number");
}

static void _floats(void)
{
	struct cr_toml_s *r = OK("f1 = +1.0\nf2 = 3.1415\nf3 = -0.01\nf4 = 5e+22\nf5 = 1e06\nf6 = -2E-2\n"
				 "f7 = 6.626e-34\nf8 = 224_617.445_991_228\nf9 = 0e0\nf10 = -0.0\nf11 = +0.0\n"
				 "f12 = 1e-400\nf13 = 1.7976931348623157e308\nf14 = 0.1\n"
				 "i1 = inf\ni2 = +inf\ni3 = -inf\nn1 = nan\nn2 = +nan\nn3 = -nan\n");
	_want_float(r, "f1", 1.0);
	_want_float(r, "f2", 3.1415);
	_want_float(r, "f3", -0.01);
	_want_float(r, "f4", 5e22);
	_want_float(r, "f5", 1e6);
	_want_float(r, "f6", -2e-2);
	_want_float(r, "f7", 6.626e-34);
	_want_float(r, "f8", 224617.445991228);
	_want_float(r, "f9", 0.0);
	_want_float(r, "f10", -0.0);
	_want_float(r, "f11", 0.0);
	_want_float(r, "f12", 0.0);
	_want_float(r, "f13", 1.7976931348623157e308);
	_want_float(r, "f14", 0.1);
	_want_float(r, "i1", INFINITY);
	_want_float(r, "i2", INFINITY);
	_want_float(r, "i3", -INFINITY);
	_want_float(r, "n1", NAN);
	_want_float(r, "n2", NAN);
	_want_float(r, "n3", -NAN);
	cr_toml_free(r);

	BAD("f = 1.", 1, 5, "invalid number");
	BAD("f = .5", 1, 5, "expected a value");
	BAD("f = 1.e5", 1, 5, "invalid number");
	BAD("f = 1e", 1, 5, "invalid number");
	BAD("f = 1e_5", 1, 5, "invalid number");
	BAD("f = 1_.5", 1, 5, "invalid number");
	BAD("f = 1._5", 1, 5, "invalid number");
	BAD("f = 1.5_", 1, 5, "invalid number");
	BAD("f = 03.14", 1, 5, "leading zeros are not allowed");
	BAD("f = 1e1000", 1, 5, "float out of range");
	BAD("f = Inf", 1, 5, "expected a value");
	BAD("f = infinity", 1, 5, "invalid number");
	BAD("f = nan_", 1, 5, "invalid number");
	BAD("f = 1.2.3", 1, 5, "invalid number");
	BAD("f = 1e2.3", 1, 5, "invalid number");
}

static void _other_scalars(void)
{
	struct cr_toml_s *r = OK("t = true\nf = false\n");
	_want_bool(r, "t", true);
	_want_bool(r, "f", false);
	cr_toml_free(r);
	BAD("b = True", 1, 5, "expected a value");
	BAD("b = truee", 1, 9, "expected a newline or comment");
	BAD("b = tru", 1, 5, "booleans are lowercase");
	BAD("d = 1979-05-27T07:32:00Z", 1, 5, "dates and times are not supported here");
	BAD("d = 1979-05-27", 1, 5, "dates and times are not supported here");
	BAD("d = 07:32:00", 1, 5, "dates and times are not supported here");
	BAD("a = [1979-05-27]", 1, 6, "dates and times are not supported here");
	BAD("a =", 1, 4, "expected a value");
	BAD("a = # nothing", 1, 5, "expected a value");
	BAD("a = bare", 1, 5, "expected a value (strings need quotes)");
}

static void _keys(void)
{
	struct cr_toml_s *r = OK("key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\n"
				 "\"127.0.0.1\" = 5\n\"character encoding\" = 6\n\"\xCA\x8E\xC7\x9D\xCA\x9E\" = 7\n"
				 "'key2' = 8\n'quoted \"value\"' = 9\n\"\" = 10\n"
				 "name = \"Orange\"\nphysical.color = \"orange\"\nphysical.shape = \"round\"\n"
				 "site.\"google.com\" = true\n"
				 "fruit . flavor = \"banana\"\n"
				 "3.14159 = \"pi\"\n"
				 "  indented\t=\t11   # comment\n"
				 "\"esc\\u0041\" = 12\n");
	_want_int(r, "key", 1);
	_want_int(r, "bare-key", 3);
	_want_int(r, "1234", 4);
	_want_int(cr_toml_get(r, "127.0.0.1"), "", 5);
	_want_int(cr_toml_get(r, "character encoding"), "", 6);
	_want_int(cr_toml_get(r, "\xCA\x8E\xC7\x9D\xCA\x9E"), "", 7);
	_want_int(r, "key2", 8);
	_want_int(cr_toml_get(r, "quoted \"value\""), "", 9);
	_want_int(cr_toml_get(r, ""), "", 10);
	STR(r, "physical.color", "orange");
	STR(r, "physical.shape", "round");
	_want_bool(cr_toml_get(cr_toml_get(r, "site"), "google.com"), "", true);
	STR(r, "fruit.flavor", "banana");
	STR(r, "3.14159", "pi");
	_want_int(r, "indented", 11);
	_want_int(r, "escA", 12);
	/* Tables keep the order keys were written in. */
	if (r && (cr_toml_len(r) != 17 || strcmp(cr_toml_key(cr_toml_at(r, 0)), "key") != 0 ||
		  strcmp(cr_toml_key(cr_toml_at(r, 11)), "physical") != 0))
		FAIL("root order/len: %zu", cr_toml_len(r));
	/* Every key and value knows where it was written. */
	const struct cr_toml_s *v = _at(r, "physical.shape");
	if (v && (cr_toml_line(v) != 13 || cr_toml_col(v) != 18 || cr_toml_key_line(v) != 13 ||
		  cr_toml_key_col(v) != 10))
		FAIL("physical.shape at %d:%d key %d:%d", cr_toml_line(v), cr_toml_col(v), cr_toml_key_line(v),
		     cr_toml_key_col(v));
	v = _at(r, "indented");
	if (v && (cr_toml_line(v) != 17 || cr_toml_col(v) != 14 || cr_toml_key_col(v) != 3))
		FAIL("indented at %d:%d key col %d", cr_toml_line(v), cr_toml_col(v), cr_toml_key_col(v));
	cr_toml_free(r);

	/* Columns count characters, not bytes. */
	r = OK("\"\xC3\xA9\xC3\xA9\" = \"\xE2\x82\xAC\" \nx = [\"\xF0\x9F\x98\x80\", 2]");
	v = _at(r, "x[1]");
	if (!v || cr_toml_col(v) != 11)
		FAIL("column after a 4-byte character: %d", v ? cr_toml_col(v) : -1);
	cr_toml_free(r);
	BAD("\"\xC3\xA9\" = 1 2", 1, 9, "expected a newline");

	BAD("= 1", 1, 1, "expected a key, got '='");
	BAD("a", 1, 2, "expected '=' after a key");
	BAD("a b = 1", 1, 3, "expected '=' after a key");
	BAD("a. = 1", 1, 4, "expected a key");
	BAD(".a = 1", 1, 1, "expected a key");
	BAD("a..b = 1", 1, 3, "expected a key");
	BAD("a = 1\na = 2", 2, 1, "duplicate key a (first defined at 1:1)");
	BAD("spelling = 1\n\"spelling\" = 2", 2, 1, "duplicate key spelling");
	BAD("a = 1\n'a' = 2", 2, 1, "duplicate key a");
	BAD("name = \"Tom\"\nname.first = \"Tom\"", 2, 1, "name is already a string (at 1:8), not a table");
	BAD("a.b = 1\na.b = 2", 2, 3, "duplicate key a.b");
	BAD("a.b = 1\na.b.c = 2", 2, 3, "a.b is already an integer");
	BAD("\xC3\xA9 = 1", 1, 1, "expected a key");
	BAD("a\n= 1", 1, 2, "expected '=' after a key");
	BAD("a = 1 b = 2", 1, 7, "expected a newline or comment here");
	BAD("'a\nb' = 1", 1, 1, "unterminated string");
	BAD("a.\"x\\u0000y\" = 1", 1, 3, "keys containing U+0000 are not supported here");
	/* fuzz_toml found this one: a key with U+0000 used to be stored, and
	 * then looked up by its C-string prefix. */
	BAD("\"qed Yko\\u0000ey\" = 1\n'lit' = 2\nx.\"y z\".w= 3\n", 1, 1, "keys containing U+0000");
}

static void _tables(void)
{
	struct cr_toml_s *r = OK("[table-1]\nkey1 = \"some string\"\nkey2 = 123\n"
				 "[table-2]\nkey1 = \"another string\"\n"
				 "[dog.\"tater.man\"]\ntype.name = \"pug\"\n"
				 "[ j . \"\xCA\x9E\" . 'l' ]\nx = 1\n"
				 "[x.y.z.w]\n[x]\nv = 2\n"
				 "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
				 "[fruit.apple.texture]\nsmooth = true\n"
				 "[a.b.c]\nz = 9\n[a]\nb.d = 1\n");
	STR(r, "table-1.key1", "some string");
	STR(r, "table-2.key1", "another string");
	STR(cr_toml_get(cr_toml_get(r, "dog"), "tater.man"), "type.name", "pug");
	_want_int(cr_toml_get(cr_toml_get(r, "j"), "\xCA\x9E"), "l.x", 1);
	_want_int(r, "x.v", 2);
	_want_len(r, "x.y.z.w", CR_TOML_TABLE, 0);
	_want_bool(r, "fruit.apple.taste.sweet", true);
	_want_bool(r, "fruit.apple.texture.smooth", true);
	_want_int(r, "a.b.c.z", 9);
	_want_int(r, "a.b.d", 1);
	const struct cr_toml_s *t = _at(r, "table-2");
	if (t && (cr_toml_line(t) != 4 || cr_toml_col(t) != 1))
		FAIL("[table-2] at %d:%d", cr_toml_line(t), cr_toml_col(t));
	t = _at(r, "x");
	if (t && cr_toml_line(t) != 11)
		FAIL("[x] defined after [x.y.z.w] should move to line 11, is %d", cr_toml_line(t));
	cr_toml_free(r);

	r = OK("");
	_want_len(r, "", CR_TOML_TABLE, 0);
	cr_toml_free(r);
	r = OK("# only a comment\n\n   \n\t# another\n");
	_want_len(r, "", CR_TOML_TABLE, 0);
	cr_toml_free(r);

	BAD("[a]\nb = 1\n[a]", 3, 1, "table [a] is already defined (at 1:1)");
	BAD("[a]\nb = 1\n[a.b]", 3, 1, "[a.b]: a.b is already an integer");
	BAD("[fruit]\napple.color = \"red\"\n[fruit.apple]", 3, 1, "table [fruit.apple] is already defined");
	BAD("[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]", 3, 1, "table [fruit.apple.taste] is already defined");
	BAD("[a.b.c]\nz = 9\n[a]\nb.c.t = 9", 4, 3, "table b.c is already defined (at 1:1)");
	BAD("[a]\nb.c = 1\n[x]\n[a]", 4, 1, "table [a] is already defined");
	BAD("[a]\nb.c = 1\n[a.b]", 3, 1, "table [a.b] is already defined");
	BAD("a = {}\n[a]", 2, 1, "table [a] is already defined");
	BAD("a = {}\n[a.b]", 2, 2, "cannot add to inline table a");
	BAD("a = {b = 1}\na.c = 2", 2, 1, "cannot add keys to inline table a");
	BAD("a = 1\n[a.b]", 2, 2, "a is already an integer");
	BAD("[]", 1, 2, "expected a key");
	BAD("[a", 1, 3, "expected ']' to close");
	BAD("[a]]", 1, 4, "expected a newline or comment");
	BAD("[a] b = 1", 1, 5, "expected a newline or comment");
	BAD("[ [a] ]", 1, 3, "expected a key");
	BAD("[a.]", 1, 4, "expected a key");
	BAD("[\"\"\"a\"\"\"]", 1, 2, "multi-line strings cannot be keys");
}

static void _table_arrays(void)
{
	struct cr_toml_s *r = OK("[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n"
				 "[[products]]  # empty table within the array\n\n"
				 "[[products]]\nname = \"Nail\"\nsku = 284758393\ncolor = \"gray\"\n");
	_want_len(r, "products", CR_TOML_ARRAY, 3);
	STR(r, "products[0].name", "Hammer");
	_want_len(r, "products[1]", CR_TOML_TABLE, 0);
	_want_int(r, "products[2].sku", 284758393);
	if (r && !cr_toml_is_table_array(cr_toml_get(r, "products")))
		FAIL("[[products]] is a table array");
	const struct cr_toml_s *t = _at(r, "products[2]");
	if (t && (cr_toml_line(t) != 7 || cr_toml_col(t) != 1))
		FAIL("[[products]] #3 at %d:%d", cr_toml_line(t), cr_toml_col(t));
	cr_toml_free(r);

	r = OK("[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\nshape = \"round\"\n"
	       "[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits.varieties]]\nname = \"granny smith\"\n"
	       "[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n");
	_want_len(r, "fruits", CR_TOML_ARRAY, 2);
	STR(r, "fruits[0].physical.color", "red");
	_want_len(r, "fruits[0].varieties", CR_TOML_ARRAY, 2);
	STR(r, "fruits[0].varieties[1].name", "granny smith");
	_want_len(r, "fruits[1].varieties", CR_TOML_ARRAY, 1);
	STR(r, "fruits[1].varieties[0].name", "plantain");
	cr_toml_free(r);

	/* a sub-table per element */
	r = OK("[[a]]\n[a.b]\nx = 1\n[[a]]\n[a.b]\nx = 2\n");
	_want_int(r, "a[0].b.x", 1);
	_want_int(r, "a[1].b.x", 2);
	cr_toml_free(r);

	BAD("[fruit.physical]\ncolor = \"red\"\n[[fruit]]", 3, 1, "[[fruit]]: fruit is already defined as a table");
	BAD("[[fruits]]\nname = \"apple\"\n[[fruits.varieties]]\nname = \"x\"\n[fruits.varieties]", 5, 1,
	    "is an array of tables");
	BAD("[[fruits]]\n[fruits.physical]\ncolor = \"red\"\n[[fruits.physical]]", 4, 1, "already defined as a table");
	BAD("fruits = []\n[[fruits]]", 2, 1, "[[fruits]]: fruits is already defined as an array");
	BAD("a = [{b = 1}]\n[a.c]", 2, 2, "a is already an array");
	BAD("[[a]]\n[a]", 2, 1, "[a]: a is an array of tables (at 1:1); use [[a]]");
	BAD("[[a]", 1, 4, "expected ']]' to close");
	BAD("[[a] ]", 1, 4, "expected ']]' to close");
	BAD("[[]]", 1, 3, "expected a key");
}

static void _arrays_inline(void)
{
	struct cr_toml_s *r = OK("integers = [ 1, 2, 3 ]\ncolors = [ \"red\", \"yellow\", \"green\" ]\n"
				 "nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]\n"
				 "nested_mixed_array = [ [ 1, 2 ], [\"a\", \"b\", \"c\"] ]\n"
				 "string_array = [ \"all\", 'strings', \"\"\"are the same\"\"\", '''type''' ]\n"
				 "numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\n"
				 "contributors = [\n  \"Foo Bar <foo@example.com>\",\n"
				 "  { name = \"Baz Qux\", email = \"bazqux@example.com\", url = \"https://example.com/bazqux\" }\n]\n"
				 "integers2 = [\n  1, 2, 3\n]\n"
				 "integers3 = [\n  1,\n  2, # this is ok\n]\n"
				 "empty = []\nempty2 = [ # c\n\n]\n"
				 "crlf = [\r\n 1,\r\n 2\r\n]\r\n"
				 "name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
				 "point = { x = 1, y = 2 }\n"
				 "animal = { type.name = \"pug\" }\n"
				 "dotted = { a.b = 1, a.c = 2 }\n"
				 "emptyt = {}\n"
				 "nested = { a = { b = { c = [ { d = 1 } ] } } }\n");
	_want_len(r, "integers", CR_TOML_ARRAY, 3);
	_want_int(r, "integers[2]", 3);
	STR(r, "colors[1]", "yellow");
	_want_int(r, "nested_arrays_of_ints[1][2]", 5);
	STR(r, "nested_mixed_array[1][0]", "a");
	STR(r, "string_array[2]", "are the same");
	STR(r, "string_array[3]", "type");
	_want_float(r, "numbers[0]", 0.1);
	_want_int(r, "numbers[3]", 1);
	STR(r, "contributors[1].name", "Baz Qux");
	_want_len(r, "integers3", CR_TOML_ARRAY, 2);
	_want_len(r, "empty", CR_TOML_ARRAY, 0);
	_want_len(r, "empty2", CR_TOML_ARRAY, 0);
	_want_int(r, "crlf[1]", 2);
	STR(r, "name.last", "Preston-Werner");
	_want_int(r, "point.y", 2);
	STR(r, "animal.type.name", "pug");
	_want_int(r, "dotted.a.c", 2);
	_want_len(r, "emptyt", CR_TOML_TABLE, 0);
	_want_int(r, "nested.a.b.c[0].d", 1);
	if (r && cr_toml_is_table_array(cr_toml_get(r, "integers")))
		FAIL("a static array is not a table array");
	cr_toml_free(r);

	BAD("a = [1,,2]", 1, 8, "expected a value");
	BAD("a = [,]", 1, 6, "expected a value");
	BAD("a = [1 2]", 1, 8, "expected ',' or ']' in the array opened at 1:5");
	BAD("a = [1", 1, 7, "expected ',' or ']'");
	BAD("a = [1,", 1, 8, "expected a value");
	BAD("a = { b = 1, }", 1, 14, "trailing comma is not allowed");
	BAD("a = { b = 1\n}", 1, 12, "inline tables must be on one line");
	BAD("a = {\nb = 1}", 1, 6, "inline tables must be on one line");
	BAD("a = { b = 1 c = 2 }", 1, 13, "expected ',' or '}'");
	BAD("a = { b = 1, b = 2 }", 1, 14, "duplicate key b");
	BAD("a = { b = {c = 1}, b.d = 2 }", 1, 20, "cannot add keys to inline table b");
	BAD("a = { b.c = 1, b.c.d = 2 }", 1, 18, "b.c is already an integer");
	BAD("a = {", 1, 6, "expected a key");
	BAD("a = { b }", 1, 9, "expected '=' after a key");
	BAD("a = [ # c \x01\n]", 1, 11, "control character U+0001");

	/* Nesting is bounded so that hostile input cannot exhaust the stack. */
	char deep[600];
	memcpy(deep, "a = ", 4);
	memset(deep + 4, '[', 200);
	memset(deep + 204, ']', 200);
	deep[404] = '\0';
	BAD(deep, 1, 133, "nested too deeply");
	/* ...and so are dotted keys, for the same reason (fuzz_toml found
	 * a.a.a... thousands deep). */
	char dotted[400];
	for (int i = 0; i < 129; i++)
		memcpy(dotted + 2 * i, "a.", 2);
	memcpy(dotted + 258, "a = 1", 6);
	BAD(dotted, 1, 257, "dotted key has more than 128 parts");
	dotted[0] = '[';
	for (int i = 0; i < 128; i++)
		memcpy(dotted + 1 + 2 * i, "a.", 2);
	memcpy(dotted + 257, "a]\nb = 1", 9);
	BAD(dotted, 1, 258, "dotted key has more than 128 parts");
	memcpy(dotted + 256, "]\nb = 1", 8);
	r = OK(dotted);
	cr_toml_free(r);
	memset(deep + 4, '[', 100);
	memset(deep + 104, ']', 100);
	deep[204] = '\0';
	r = OK(deep);
	cr_toml_free(r);
}

static void _document(void)
{
	struct cr_toml_s *r = OK("\xEF\xBB\xBF" "a = 1\r\n# comment\twith tab \xC3\xA9\r\n[t]\r\nb = 'x' # c\r\n");
	_want_int(r, "a", 1);
	STR(r, "t.b", "x");
	cr_toml_free(r);
	r = OK("a = 1");
	_want_int(r, "a", 1);
	cr_toml_free(r);

	BAD("a = 1\rb = 2", 1, 6, "carriage return not followed by a newline");
	BAD("a = 1 # c\r", 1, 10, "carriage return not followed by a newline");
	BAD("# bad \x01 comment", 1, 7, "in a comment: control character U+0001");
	BAD("# bad \x7f comment", 1, 7, "control character U+007F");
	BAD("a = \"\xff\"", 1, 6, "invalid UTF-8");
	BAD("a = 1\n# \xC0\xAF overlong", 2, 3, "invalid UTF-8");
	BAD("a = '\xED\xA0\x80'", 1, 6, "invalid UTF-8");
	BAD("a = '\xF4\x90\x80\x80'", 1, 6, "invalid UTF-8");
	BAD("a = '\xE2\x82'", 1, 6, "invalid UTF-8");
	BADN("a = 1\n\x00", 2, 1, "expected a key");
	BAD("\x0c = 1", 1, 1, "expected a key");
}

int main(void)
{
	_strings();
	_integers();
	_floats();
	_other_scalars();
	_keys();
	_tables();
	_table_arrays();
	_arrays_inline();
	_document();
	printf("%d TOML cases, %d failures\n", _checks, _failures);
	return _failures ? 1 : 0;
}
