/* TOML 1.0 reader: document structure, tables and the rules about which
 * table may be defined or extended where. Scalars are scanned in toml_lex.c.
 * Hand-written because Debian 12 packages no C TOML library (see toml.h). */
#include "config/toml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml_lex.h"

/* How a table came to exist decides who may add to it later (TOML 1.0
 * "Table" section): */
enum _origin_e {
	_IMPLICIT = 1, /* parent named in a [a.b] header: may get its own header once */
	_HEADER,       /* defined by [header] or [[header]]: closed to dotted keys elsewhere */
	_DOTTED,       /* created by `a.b = v`: open only within the same section */
	_INLINE,       /* { ... }: closed once written */
};

/* Arrays and inline tables nest by recursion, and so do freeing and walking
 * the tree; cap nesting and dotted-key length so hostile input cannot exhaust
 * the stack (the tree is then at most 3 x _MAX_DEPTH deep). */
#define _MAX_DEPTH 128

struct cr_toml_s {
	enum cr_toml_type_e type;
	enum _origin_e origin; /* tables */
	bool table_array;      /* arrays made by [[header]] */
	unsigned section;      /* _DOTTED: the section that created it */
	int line, col;
	char *key;
	size_t key_len;
	int key_line, key_col;
	union {
		struct {
			struct cr_toml_s **v;
			size_t n, cap;
		} kids;
		struct {
			char *s;
			size_t len;
		} str;
		int64_t i;
		double f;
		bool b;
	} u;
};

/* One part of a dotted key, with its position. */
struct _part_s {
	char *s;
	size_t len;
	int line, col;
};

struct _key_s {
	struct _part_s *parts;
	size_t n, cap;
};

struct _parser_s {
	struct cr_toml_lex_s lx;
	struct cr_toml_s *root, *cur;
	unsigned section, next_section;
	int depth;
};

/* --- tree ------------------------------------------------------------- */

static struct cr_toml_s *_node(enum cr_toml_type_e type, int line, int col)
{
	struct cr_toml_s *v = calloc(1, sizeof(*v));
	if (v) {
		v->type = type;
		v->line = line;
		v->col = col;
	}
	return v;
}

void cr_toml_free(struct cr_toml_s *v)
{
	if (!v)
		return;
	if (v->type == CR_TOML_TABLE || v->type == CR_TOML_ARRAY) {
		for (size_t i = 0; i < v->u.kids.n; i++)
			cr_toml_free(v->u.kids.v[i]);
		free(v->u.kids.v);
	} else if (v->type == CR_TOML_STRING) {
		free(v->u.str.s);
	}
	free(v->key);
	free(v);
}

static int _append(struct cr_toml_s *parent, struct cr_toml_s *kid)
{
	if (parent->u.kids.n == parent->u.kids.cap) {
		size_t cap = parent->u.kids.cap ? parent->u.kids.cap * 2 : 4;
		struct cr_toml_s **v = realloc(parent->u.kids.v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		parent->u.kids.v = v;
		parent->u.kids.cap = cap;
	}
	parent->u.kids.v[parent->u.kids.n++] = kid;
	return 0;
}

/* Stores kid under the key part (the part's string moves into the node). On
 * failure kid is freed, so callers need not track it. */
static int _adopt(struct cr_toml_s *table, struct _part_s *part, struct cr_toml_s *kid)
{
	if (_append(table, kid) < 0) {
		cr_toml_free(kid);
		return -ENOMEM;
	}
	kid->key = part->s;
	kid->key_len = part->len;
	kid->key_line = part->line;
	kid->key_col = part->col;
	part->s = NULL;
	return 0;
}

static struct cr_toml_s *_find(const struct cr_toml_s *table, const char *key, size_t len)
{
	for (size_t i = 0; i < table->u.kids.n; i++) {
		struct cr_toml_s *k = table->u.kids.v[i];
		if (k->key_len == len && memcmp(k->key, key, len) == 0)
			return k;
	}
	return NULL;
}

enum cr_toml_type_e cr_toml_type(const struct cr_toml_s *v) { return v ? v->type : 0; }
bool cr_toml_is_table_array(const struct cr_toml_s *v) { return v && v->table_array; }
int cr_toml_line(const struct cr_toml_s *v) { return v ? v->line : 0; }
int cr_toml_col(const struct cr_toml_s *v) { return v ? v->col : 0; }
const char *cr_toml_key(const struct cr_toml_s *v) { return v ? v->key : NULL; }
int cr_toml_key_line(const struct cr_toml_s *v) { return v ? v->key_line : 0; }
int cr_toml_key_col(const struct cr_toml_s *v) { return v ? v->key_col : 0; }

const char *cr_toml_type_name(enum cr_toml_type_e t)
{
	switch (t) {
	case CR_TOML_TABLE: return "table";
	case CR_TOML_ARRAY: return "array";
	case CR_TOML_STRING: return "string";
	case CR_TOML_INTEGER: return "integer";
	case CR_TOML_FLOAT: return "float";
	case CR_TOML_BOOL: return "boolean";
	}
	return "?";
}

const struct cr_toml_s *cr_toml_get(const struct cr_toml_s *table, const char *key)
{
	if (!table || table->type != CR_TOML_TABLE)
		return NULL;
	return _find(table, key, strlen(key));
}

size_t cr_toml_len(const struct cr_toml_s *v)
{
	if (!v || (v->type != CR_TOML_TABLE && v->type != CR_TOML_ARRAY))
		return 0;
	return v->u.kids.n;
}

const struct cr_toml_s *cr_toml_at(const struct cr_toml_s *v, size_t i)
{
	return i < cr_toml_len(v) ? v->u.kids.v[i] : NULL;
}

const char *cr_toml_str(const struct cr_toml_s *v, size_t *len)
{
	bool ok = v && v->type == CR_TOML_STRING;
	if (len)
		*len = ok ? v->u.str.len : 0;
	return ok ? v->u.str.s : "";
}

int64_t cr_toml_int(const struct cr_toml_s *v) { return v && v->type == CR_TOML_INTEGER ? v->u.i : 0; }
double cr_toml_float(const struct cr_toml_s *v) { return v && v->type == CR_TOML_FLOAT ? v->u.f : 0; }
bool cr_toml_bool(const struct cr_toml_s *v) { return v && v->type == CR_TOML_BOOL && v->u.b; }

/* --- keys ------------------------------------------------------------- */

static void _key_free(struct _key_s *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i].s);
	free(k->parts);
	memset(k, 0, sizeof(*k));
}

/* key = simple-key *( ws '.' ws simple-key ) */
static int _parse_key(struct _parser_s *p, struct _key_s *k)
{
	struct cr_toml_lex_s *lx = &p->lx;
	for (;;) {
		/* Freeing and walking the tree recurse once per level, so a key
		 * like a.a.a... must not make it arbitrarily deep. */
		if (k->n >= _MAX_DEPTH)
			return cr_toml_lex_fail(lx, lx->line, lx->col, "dotted key has more than %d parts", _MAX_DEPTH);
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 4;
			struct _part_s *parts = realloc(k->parts, cap * sizeof(*parts));
			if (!parts)
				return -ENOMEM;
			k->parts = parts;
			k->cap = cap;
		}
		struct _part_s *part = &k->parts[k->n];
		part->line = lx->line;
		part->col = lx->col;
		int c = cr_toml_lex_peek(lx, 0), rc;
		if (c == '"' || c == '\'')
			rc = cr_toml_lex_string(lx, false, &part->s, &part->len);
		else
			rc = cr_toml_lex_bare_key(lx, &part->s, &part->len);
		if (rc < 0)
			return rc;
		k->n++;
		/* Keys are handed out as C strings, so one holding U+0000 could
		 * not be told from its prefix: refuse it rather than misread it. */
		if (strlen(part->s) != part->len)
			return cr_toml_lex_fail(lx, part->line, part->col, "keys containing U+0000 are not supported here");
		cr_toml_lex_skip_ws(lx);
		if (cr_toml_lex_peek(lx, 0) != '.')
			return 0;
		cr_toml_lex_adv(lx);
		cr_toml_lex_skip_ws(lx);
	}
}

/* "a.b.c" for messages, up to and including part `upto`. */
static const char *_key_text(const struct _key_s *k, size_t upto, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i <= upto && i < k->n && o + 1 < size; i++) {
		size_t n = strlen(k->parts[i].s ? k->parts[i].s : "");
		if (i > 0)
			buf[o++] = '.';
		if (n > size - o - 1)
			n = size - o - 1;
		memcpy(buf + o, k->parts[i].s ? k->parts[i].s : "", n);
		o += n;
		buf[o] = '\0';
	}
	return buf;
}

/* --- values ----------------------------------------------------------- */

static int _parse_value(struct _parser_s *p, struct cr_toml_s **out);
static int _set_kv(struct _parser_s *p, struct cr_toml_s *table, struct _key_s *k, struct cr_toml_s *val,
		   unsigned section);

/* Whitespace, newlines and comments, as allowed between array elements. */
static int _skip_ws_nl_comments(struct _parser_s *p)
{
	for (;;) {
		cr_toml_lex_skip_ws(&p->lx);
		int c = cr_toml_lex_peek(&p->lx, 0), rc;
		if (c == '#') {
			if ((rc = cr_toml_lex_comment(&p->lx)) < 0)
				return rc;
			continue;
		}
		if ((rc = cr_toml_lex_newline(&p->lx)) <= 0)
			return rc;
	}
}

static int _parse_array(struct _parser_s *p, struct cr_toml_s *arr)
{
	struct cr_toml_lex_s *lx = &p->lx;
	int rc;
	cr_toml_lex_adv(lx); /* '[' */
	for (;;) {
		if ((rc = _skip_ws_nl_comments(p)) < 0)
			return rc;
		if (cr_toml_lex_peek(lx, 0) == ']')
			break;
		struct cr_toml_s *v;
		if ((rc = _parse_value(p, &v)) < 0)
			return rc;
		if (_append(arr, v) < 0) {
			cr_toml_free(v);
			return -ENOMEM;
		}
		if ((rc = _skip_ws_nl_comments(p)) < 0)
			return rc;
		int c = cr_toml_lex_peek(lx, 0);
		if (c == ']')
			break;
		if (c != ',')
			return cr_toml_lex_fail(lx, lx->line, lx->col, "expected ',' or ']' in the array opened at %d:%d",
						arr->line, arr->col);
		cr_toml_lex_adv(lx);
	}
	cr_toml_lex_adv(lx); /* ']' */
	return 0;
}

static int _parse_inline_table(struct _parser_s *p, struct cr_toml_s *tab)
{
	struct cr_toml_lex_s *lx = &p->lx;
	/* Dotted keys inside may extend each other, as within one section. */
	unsigned section = ++p->next_section;
	int rc;
	cr_toml_lex_adv(lx); /* '{' */
	cr_toml_lex_skip_ws(lx);
	if (cr_toml_lex_peek(lx, 0) == '}') {
		cr_toml_lex_adv(lx);
		return 0;
	}
	for (;;) {
		struct _key_s k = {0};
		struct cr_toml_s *v = NULL;
		int c = cr_toml_lex_peek(lx, 0);
		if (c == '\n' || c == '\r')
			return cr_toml_lex_fail(lx, lx->line, lx->col, "inline tables must be on one line (TOML 1.0)");
		if (c == '}')
			return cr_toml_lex_fail(lx, lx->line, lx->col, "trailing comma is not allowed in an inline table");
		if ((rc = _parse_key(p, &k)) < 0)
			goto kv_error;
		if (cr_toml_lex_peek(lx, 0) != '=') {
			rc = cr_toml_lex_fail(lx, lx->line, lx->col, "expected '=' after a key");
			goto kv_error;
		}
		cr_toml_lex_adv(lx);
		cr_toml_lex_skip_ws(lx);
		if ((rc = _parse_value(p, &v)) < 0)
			goto kv_error;
		rc = _set_kv(p, tab, &k, v, section);
		_key_free(&k);
		if (rc < 0)
			return rc;
		cr_toml_lex_skip_ws(lx);
		c = cr_toml_lex_peek(lx, 0);
		if (c == '}')
			break;
		if (c != ',')
			return cr_toml_lex_fail(lx, lx->line, lx->col,
						c == '\n' || c == '\r' ? "inline tables must be on one line (TOML 1.0)"
								       : "expected ',' or '}' in an inline table");
		cr_toml_lex_adv(lx);
		cr_toml_lex_skip_ws(lx);
		continue;
	kv_error:
		_key_free(&k);
		return rc;
	}
	cr_toml_lex_adv(lx); /* '}' */
	return 0;
}

static int _match_word(struct cr_toml_lex_s *lx, const char *w)
{
	size_t n = strlen(w);
	for (size_t i = 0; i < n; i++)
		if (cr_toml_lex_peek(lx, i) != (unsigned char)w[i])
			return 0;
	for (size_t i = 0; i < n; i++)
		cr_toml_lex_adv(lx);
	return 1;
}

static int _parse_value(struct _parser_s *p, struct cr_toml_s **out)
{
	struct cr_toml_lex_s *lx = &p->lx;
	int line = lx->line, col = lx->col, c = cr_toml_lex_peek(lx, 0), rc;
	struct cr_toml_s *v;

	*out = NULL;
	if (c == '[' || c == '{') {
		if (p->depth >= _MAX_DEPTH)
			return cr_toml_lex_fail(lx, line, col, "arrays and inline tables nested too deeply");
		if (!(v = _node(c == '[' ? CR_TOML_ARRAY : CR_TOML_TABLE, line, col)))
			return -ENOMEM;
		v->origin = _INLINE;
		p->depth++;
		rc = c == '[' ? _parse_array(p, v) : _parse_inline_table(p, v);
		p->depth--;
	} else if (c == '"' || c == '\'') {
		if (!(v = _node(CR_TOML_STRING, line, col)))
			return -ENOMEM;
		rc = cr_toml_lex_string(lx, true, &v->u.str.s, &v->u.str.len);
	} else if (c == 't' || c == 'f') {
		if (!(v = _node(CR_TOML_BOOL, line, col)))
			return -ENOMEM;
		v->u.b = c == 't';
		rc = _match_word(lx, c == 't' ? "true" : "false") ? 0 :
		     cr_toml_lex_fail(lx, line, col, "expected a value (booleans are lowercase true/false)");
	} else if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'i' || c == 'n') {
		bool is_float = false;
		if (!(v = _node(CR_TOML_INTEGER, line, col)))
			return -ENOMEM;
		rc = cr_toml_lex_number(lx, &is_float, &v->u.i, &v->u.f);
		if (is_float)
			v->type = CR_TOML_FLOAT;
	} else if (c < 0 || c == '\n' || c == '\r' || c == '#') {
		return cr_toml_lex_fail(lx, line, col, "expected a value");
	} else {
		return cr_toml_lex_fail(lx, line, col, "expected a value (strings need quotes)");
	}
	if (rc < 0) {
		cr_toml_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* --- tables ----------------------------------------------------------- */

/* Inserts `k = val` into table, creating the tables a dotted key names. Takes
 * ownership of val. */
static int _set_kv(struct _parser_s *p, struct cr_toml_s *table, struct _key_s *k, struct cr_toml_s *val,
		   unsigned section)
{
	struct cr_toml_lex_s *lx = &p->lx;
	char name[256];
	int rc = -EINVAL;

	for (size_t i = 0; i + 1 < k->n; i++) {
		struct _part_s *part = &k->parts[i];
		struct cr_toml_s *t = _find(table, part->s, part->len);
		if (!t) {
			if (!(t = _node(CR_TOML_TABLE, part->line, part->col))) {
				rc = -ENOMEM;
				goto error;
			}
			t->origin = _DOTTED;
			t->section = section;
			if ((rc = _adopt(table, part, t)) < 0)
				goto error;
		} else if (t->type != CR_TOML_TABLE) {
			rc = cr_toml_lex_fail(lx, part->line, part->col, "%s is already a%s %s (at %d:%d), not a table",
					      _key_text(k, i, name, sizeof(name)),
					      t->type == CR_TOML_ARRAY || t->type == CR_TOML_INTEGER ? "n" : "",
					      cr_toml_type_name(t->type), t->line, t->col);
			goto error;
		} else if (t->origin == _INLINE) {
			rc = cr_toml_lex_fail(lx, part->line, part->col, "cannot add keys to inline table %s (written at %d:%d)",
					      _key_text(k, i, name, sizeof(name)), t->line, t->col);
			goto error;
		} else if (t->origin == _HEADER || (t->origin == _DOTTED && t->section != section)) {
			rc = cr_toml_lex_fail(lx, part->line, part->col, "table %s is already defined (at %d:%d)",
					      _key_text(k, i, name, sizeof(name)), t->line, t->col);
			goto error;
		} else if (t->origin == _IMPLICIT) {
			t->origin = _DOTTED;
			t->section = section;
		}
		table = t;
	}
	struct _part_s *last = &k->parts[k->n - 1];
	struct cr_toml_s *old = _find(table, last->s, last->len);
	if (old) {
		rc = cr_toml_lex_fail(lx, last->line, last->col, "duplicate key %s (first defined at %d:%d)",
				      _key_text(k, k->n - 1, name, sizeof(name)), old->key_line, old->key_col);
		goto error;
	}
	return _adopt(table, last, val);
error:
	cr_toml_free(val);
	return rc;
}

/* [a.b.c] or [[a.b.c]] at line:col: walks to the parent, then defines or
 * appends the last part and makes it the current table. */
static int _open_table(struct _parser_s *p, struct _key_s *k, bool array, int line, int col)
{
	struct cr_toml_lex_s *lx = &p->lx;
	struct cr_toml_s *table = p->root, *t;
	char name[256];

	for (size_t i = 0; i + 1 < k->n; i++) {
		struct _part_s *part = &k->parts[i];
		t = _find(table, part->s, part->len);
		if (!t) {
			if (!(t = _node(CR_TOML_TABLE, part->line, part->col)))
				return -ENOMEM;
			t->origin = _IMPLICIT;
			if (_adopt(table, part, t) < 0)
				return -ENOMEM;
		} else if (t->type == CR_TOML_ARRAY && t->table_array) {
			/* [a.b] after [[a]] extends the last [[a]] */
			t = t->u.kids.v[t->u.kids.n - 1];
		} else if (t->type != CR_TOML_TABLE) {
			return cr_toml_lex_fail(lx, part->line, part->col, "%s is already a%s %s (at %d:%d), not a table",
						_key_text(k, i, name, sizeof(name)),
						t->type == CR_TOML_ARRAY || t->type == CR_TOML_INTEGER ? "n" : "",
						cr_toml_type_name(t->type), t->line, t->col);
		} else if (t->origin == _INLINE) {
			return cr_toml_lex_fail(lx, part->line, part->col,
						"cannot add to inline table %s (written at %d:%d)",
						_key_text(k, i, name, sizeof(name)), t->line, t->col);
		}
		table = t;
	}
	struct _part_s *last = &k->parts[k->n - 1];
	const char *full = _key_text(k, k->n - 1, name, sizeof(name));
	t = _find(table, last->s, last->len);
	if (array) {
		if (!t) {
			if (!(t = _node(CR_TOML_ARRAY, line, col)))
				return -ENOMEM;
			t->table_array = true;
			if (_adopt(table, last, t) < 0)
				return -ENOMEM;
		} else if (!(t->type == CR_TOML_ARRAY && t->table_array)) {
			return cr_toml_lex_fail(lx, line, col, "[[%s]]: %s is already defined as a%s %s (at %d:%d)", full,
						full, t->type == CR_TOML_ARRAY || t->type == CR_TOML_INTEGER ? "n" : "",
						cr_toml_type_name(t->type), t->line, t->col);
		}
		struct cr_toml_s *elem = _node(CR_TOML_TABLE, line, col);
		if (!elem)
			return -ENOMEM;
		elem->origin = _HEADER;
		elem->key_line = last->line;
		elem->key_col = last->col;
		if (_append(t, elem) < 0) {
			cr_toml_free(elem);
			return -ENOMEM;
		}
		t = elem;
	} else if (!t) {
		if (!(t = _node(CR_TOML_TABLE, line, col)))
			return -ENOMEM;
		t->origin = _HEADER;
		if (_adopt(table, last, t) < 0)
			return -ENOMEM;
	} else if (t->type == CR_TOML_TABLE && t->origin == _IMPLICIT) {
		/* named before as a parent; this is its one definition */
		t->origin = _HEADER;
		t->line = line;
		t->col = col;
	} else if (t->type == CR_TOML_ARRAY && t->table_array) {
		return cr_toml_lex_fail(lx, line, col, "[%s]: %s is an array of tables (at %d:%d); use [[%s]]", full,
					full, t->line, t->col, full);
	} else if (t->type == CR_TOML_TABLE) {
		return cr_toml_lex_fail(lx, line, col, "table [%s] is already defined (at %d:%d)", full, t->line,
					t->col);
	} else {
		return cr_toml_lex_fail(lx, line, col, "[%s]: %s is already a%s %s (at %d:%d)", full, full,
					t->type == CR_TOML_ARRAY || t->type == CR_TOML_INTEGER ? "n" : "",
					cr_toml_type_name(t->type), t->line, t->col);
	}
	p->cur = t;
	p->section = ++p->next_section;
	return 0;
}

/* --- document --------------------------------------------------------- */

/* After a key/value or a header only a comment may follow on the line. */
static int _end_of_line(struct _parser_s *p)
{
	struct cr_toml_lex_s *lx = &p->lx;
	int rc;
	cr_toml_lex_skip_ws(lx);
	if (cr_toml_lex_peek(lx, 0) == '#' && (rc = cr_toml_lex_comment(lx)) < 0)
		return rc;
	if (cr_toml_lex_peek(lx, 0) < 0)
		return 0;
	if ((rc = cr_toml_lex_newline(lx)) != 0)
		return rc < 0 ? rc : 0;
	return cr_toml_lex_fail(lx, lx->line, lx->col, "expected a newline or comment here");
}

static int _parse_header(struct _parser_s *p)
{
	struct cr_toml_lex_s *lx = &p->lx;
	int line = lx->line, col = lx->col, rc;
	bool array = cr_toml_lex_peek(lx, 1) == '[';
	struct _key_s k = {0};

	cr_toml_lex_adv(lx);
	if (array)
		cr_toml_lex_adv(lx);
	cr_toml_lex_skip_ws(lx);
	if ((rc = _parse_key(p, &k)) < 0)
		goto out;
	if (cr_toml_lex_peek(lx, 0) != ']' || (array && cr_toml_lex_peek(lx, 1) != ']')) {
		rc = cr_toml_lex_fail(lx, lx->line, lx->col, "expected '%s' to close the table header",
				      array ? "]]" : "]");
		goto out;
	}
	cr_toml_lex_adv(lx);
	if (array)
		cr_toml_lex_adv(lx);
	if ((rc = _open_table(p, &k, array, line, col)) < 0)
		goto out;
	rc = _end_of_line(p);
out:
	_key_free(&k);
	return rc;
}

static int _parse_keyval(struct _parser_s *p)
{
	struct cr_toml_lex_s *lx = &p->lx;
	struct _key_s k = {0};
	struct cr_toml_s *v;
	int rc;

	if ((rc = _parse_key(p, &k)) < 0)
		goto out;
	if (cr_toml_lex_peek(lx, 0) != '=') {
		rc = cr_toml_lex_fail(lx, lx->line, lx->col, "expected '=' after a key");
		goto out;
	}
	cr_toml_lex_adv(lx);
	cr_toml_lex_skip_ws(lx);
	if ((rc = _parse_value(p, &v)) < 0)
		goto out;
	if ((rc = _set_kv(p, p->cur, &k, v, p->section)) < 0)
		goto out;
	rc = _end_of_line(p);
out:
	_key_free(&k);
	return rc;
}

int cr_toml_parse(const char *text, size_t len, struct cr_toml_s **root, char *err, size_t errlen)
{
	struct _parser_s p = {
		.lx = {.s = text, .len = len, .line = 1, .col = 1, .err = err, .errlen = errlen},
	};
	int rc;

	*root = NULL;
	if (err && errlen)
		err[0] = '\0';
	if ((rc = cr_toml_lex_check_utf8(&p.lx)) < 0)
		return rc;
	/* A UTF-8 byte order mark carries no meaning; editors on Windows add one. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		p.lx.pos = 3;
	if (!(p.root = _node(CR_TOML_TABLE, 1, 1)))
		return -ENOMEM;
	p.root->origin = _HEADER;
	p.cur = p.root;
	while (cr_toml_lex_peek(&p.lx, 0) >= 0) {
		cr_toml_lex_skip_ws(&p.lx);
		int c = cr_toml_lex_peek(&p.lx, 0);
		if (c < 0)
			break;
		if (c == '#')
			rc = _end_of_line(&p);
		else if (c == '\n' || c == '\r')
			rc = cr_toml_lex_newline(&p.lx);
		else if (c == '[')
			rc = _parse_header(&p);
		else
			rc = _parse_keyval(&p);
		if (rc < 0) {
			if (rc == -ENOMEM && err && errlen && !err[0])
				cr_toml_lex_fail(&p.lx, p.lx.line, p.lx.col, "out of memory");
			cr_toml_free(p.root);
			return rc;
		}
	}
	*root = p.root;
	return 0;
}
