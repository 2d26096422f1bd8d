/* README.md's config reference stays true to the backends' option tables:
 * every key a source, encoder or sink backend declares (core/options.h) has
 * a `key = ...` line in its section of the reference, every allowed value of
 * a choice is named there (on the key's line or the comment lines under it),
 * and every backend of this build is listed on its section's `backend =` /
 * `type =` line (a source with what it delivers, a sink with what it takes:
 * their declared capabilities).
 *
 *   test_readme_keys README.md */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encoder.h"
#include "sink/sink.h"
#include "source/source.h"

static char *_text;
static int _failures;

/* The text of section (a line "[...]" that starts with it) up to the next
 * line starting with '[' or the end of the code block; NULL if missing. */
static char *_section(const char *header)
{
	char *p = strstr(_text, header);
	if (!p)
		return NULL;
	char *start = strchr(p, '\n'), *end = start;
	while (end && end[1] && end[1] != '[' && strncmp(end + 1, "```", 3) != 0)
		end = strchr(end + 1, '\n');
	size_t n = end ? (size_t)(end - start) : strlen(start);
	char *out = strndup(start, n);
	return out;
}

/* The line "\nkey = ..." plus the comment-only lines that continue it. */
static bool _key_text(const char *sec, const char *key, char *out, size_t size)
{
	char pat[96];
	snprintf(pat, sizeof(pat), "\n%s ", key);
	const char *p = strstr(sec, pat);
	while (p && p[strlen(pat) + strspn(p + strlen(pat), " ")] != '=')
		p = strstr(p + 1, pat);
	if (!p)
		return false;
	const char *e = strchr(p + 1, '\n');
	while (e && e[1] == ' ' && strspn(e + 1, " ") > 8 && e[1 + strspn(e + 1, " ")] == '#')
		e = strchr(e + 1, '\n');
	snprintf(out, size, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
	return true;
}

static void _check_table(const char *header, const char *what, const struct cr_option_s *opts, const char *backend)
{
	char *sec = _section(header), line[2048];
	if (!sec) {
		fprintf(stderr, "FAIL README.md has no section %s\n", header);
		_failures++;
		return;
	}
	for (const struct cr_option_s *o = opts; o && o->key; o++) {
		if (!_key_text(sec, o->key, line, sizeof(line))) {
			fprintf(stderr, "FAIL README.md %s: no \"%s = ...\" line for the %s %s's key\n", header, o->key,
				backend, what);
			_failures++;
			continue;
		}
		for (const char *const *c = o->choices; c && *c; c++)
			if (!strstr(line, *c)) {
				fprintf(stderr, "FAIL README.md %s %s: allowed value \"%s\" (%s %s) not named in:\n%s\n",
					header, o->key, *c, backend, what, line);
				_failures++;
			}
	}
	free(sec);
}

/* name appears on the section's `key = ...` line (the list of backends). */
static void _check_listed(const char *header, const char *key, const char *name)
{
	char *sec = _section(header), line[2048];
	if (!sec || !_key_text(sec, key, line, sizeof(line)) || !strstr(line, name)) {
		fprintf(stderr, "FAIL README.md %s: %s \"%s\" is not listed on its %s line\n", header, key, name, key);
		_failures++;
	}
	free(sec);
}

int main(int argc, char **argv)
{
	FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
	if (!f) {
		fprintf(stderr, "usage: %s README.md (readable)\n", argv[0]);
		return 2;
	}
	_text = calloc(1, 1 << 20);
	size_t n = fread(_text, 1, (1 << 20) - 1, f);
	fclose(f);
	_text[n] = 0;
	int tables = 0;
	for (const struct cr_source_ops_s *const *p = cr_source_backends; *p; p++, tables++) {
		/* with what it delivers, as --version says it: "test: yuyv,...,mjpeg" */
		char caps[256], item[300];
		cr_source_caps_str((*p)->caps, caps, sizeof(caps));
		snprintf(item, sizeof(item), "%s: %s", (*p)->name, caps);
		if (!(*p)->source_key) { /* url, file: a key of the source, not a capture backend */
			_check_listed("[stream.<name>.sources.capture]", "backend", (*p)->name);
			_check_listed("[stream.<name>.sources.capture]", "backend", item);
		} else {
			_check_listed("[[stream.<name>.sources]]", (*p)->source_key, "");
			_check_listed("[[stream.<name>.sources]]", (*p)->source_key, item);
		}
		_check_table("[stream.<name>.sources.capture]", "source", (*p)->options, (*p)->name);
	}
	for (const struct cr_encoder_ops_s *const *p = cr_encoder_backends; *p; p++, tables++) {
		_check_listed("[stream.<name>.sources.encoder]", "backend", (*p)->name);
		_check_table("[stream.<name>.sources.encoder]", "encoder", (*p)->options, (*p)->name);
	}
	for (const struct cr_sink_ops_s *const *p = cr_sink_backends; *p; p++, tables++) {
		_check_listed("[[stream.<name>.sinks]]", "type", (*p)->name);
		/* and what it takes, as --version says it: "rtp: h264,...+opus" */
		char caps[160], item[200];
		cr_sink_caps_str((*p)->caps, caps, sizeof(caps));
		snprintf(item, sizeof(item), "%s: %s", (*p)->name, caps);
		_check_listed("[[stream.<name>.sinks]]", "type", item);
		_check_table("[[stream.<name>.sinks]]", "sink", (*p)->options, (*p)->name);
	}
	printf("%d backend tables checked against README.md, %d failures\n", tables, _failures);
	free(_text);
	return _failures ? 1 : 0;
}
