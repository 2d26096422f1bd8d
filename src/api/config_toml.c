/* camrelay_pipeline_config → TOML text, so that a struct is checked by the
 * same reader and rules (and gives the same messages) as a config file. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

struct _buf_s {
	char *p;
	size_t len, cap;
	bool failed;
};

static void _put(struct _buf_s *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void _put(struct _buf_s *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->failed = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

/* key = "value" as a TOML basic string (\" \\ and control characters escaped). */
static void _str(struct _buf_s *b, const char *key, const char *v)
{
	if (!v)
		return;
	_put(b, "%s = \"", key);
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (*c == '"' || *c == '\\')
			_put(b, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			_put(b, "\\u%04x", *c);
		else
			_put(b, "%c", *c);
	}
	_put(b, "\"\n");
}

static void _int(struct _buf_s *b, const char *key, long long v)
{
	if (v)
		_put(b, "%s = %lld\n", key, v);
}

char *cr_api_config_toml(const camrelay_pipeline_config *c)
{
	struct _buf_s b = {0};
	const char *name = c->name ? c->name : "camrelay";
	/* A bad name is reported by the schema; only what would break the
	 * quoting is replaced here. */
	char qname[160];
	size_t q = 0;
	for (const char *n = name; *n && q < sizeof(qname) - 2; n++)
		qname[q++] = *n == '"' || *n == '\\' || (unsigned char)*n < 0x20 ? '_' : *n;
	qname[q] = 0;
	_put(&b, "[stream.\"%s\"]\n[[stream.\"%s\".sources]]\n[stream.\"%s\".sources.capture]\n", qname, qname,
	     qname);
	_str(&b, "backend", c->capture_backend);
	_str(&b, "device", c->device);
	_int(&b, "width", c->width);
	_int(&b, "height", c->height);
	_int(&b, "fps", c->fps);
	_str(&b, "pixel_format", c->pixel_format);
	if (c->prefer_dmabuf)
		_put(&b, "prefer_dmabuf = true\n");
	_str(&b, "pattern", c->pattern);
	_put(&b, "[stream.\"%s\".sources.encoder]\n", qname);
	_str(&b, "backend", c->encoder_backend ? c->encoder_backend : "software");
	_str(&b, "codec", c->codec ? c->codec : "h264");
	_int(&b, "bitrate", c->bitrate);
	_str(&b, "profile", c->profile);
	_str(&b, "level", c->level);
	_int(&b, "gop", c->gop);
	_str(&b, "device", c->encoder_device);
	_str(&b, "fallback", c->fallback);
	if (c->encoder_prefer_dmabuf)
		_put(&b, "prefer_dmabuf = true\n");
	if (c->payload_type || c->clock_rate) {
		_put(&b, "[stream.\"%s\".sources.output]\n", qname);
		_int(&b, "payload_type", c->payload_type ? c->payload_type : 96);
		_int(&b, "clock_rate", c->clock_rate ? c->clock_rate : 90000);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
