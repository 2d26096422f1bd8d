/* Config schema, the sink blocks: [[stream.<name>.sinks]]. The keys every
 * sink takes (type, device, pixel_format, width, height, fps) are read here;
 * every other key belongs to the sink backends whose option table lists it
 * (src/sink/<name>.c, core/options.h). The sinks live in the daemon, so the
 * daemon hands their tables over (cr_config_use_sinks); this file keeps no
 * list of sinks or of their keys. */
#include "config/schema_sections.h"

#include <stdio.h>
#include <string.h>

#include "config/schema_get.h"

#define _MAX_SINK_TYPES 16
#define _MAX_KEYS 64

static const struct cr_sink_schema_s *_sinks;
static size_t _n_sinks;

void cr_config_use_sinks(const struct cr_sink_schema_s *sinks, size_t n)
{
	_sinks = sinks;
	_n_sinks = n < _MAX_SINK_TYPES ? n : _MAX_SINK_TYPES;
}

bool cr_cfg_sinks_known(void)
{
	return _n_sinks > 0;
}

static const char *const _common[] = {"type", "device", "pixel_format", "width", "height", "fps", NULL};

/* "overlay" / "whip and rtsp" / "a, b and c": the sinks whose table has key. */
static size_t _takers(const char *key, char *buf, size_t size)
{
	size_t n = 0, k = 0, o = 0;
	for (size_t i = 0; i < _n_sinks; i++)
		n += cr_option_find(_sinks[i].options, key) != NULL;
	buf[0] = 0;
	for (size_t i = 0; i < _n_sinks && o < size; i++)
		if (cr_option_find(_sinks[i].options, key)) {
			k++;
			o += (size_t)snprintf(buf + o, size - o, "%s%s", k == 1 ? "" : k == n ? " and " : ", ",
					      _sinks[i].name);
		}
	return n;
}

static int _check_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path)
{
	const char *keys[_MAX_KEYS];
	size_t k = 0;
	for (; _common[k]; k++)
		keys[k] = _common[k];
	keys[k] = NULL;
	for (size_t i = 0; i < _n_sinks; i++)
		for (const struct cr_option_s *o = _sinks[i].options; o && o->key && k + 1 < _MAX_KEYS; o++)
			if (cr_cfg_index_of(keys, o->key) < 0) {
				keys[k++] = o->key;
				keys[k] = NULL;
			}
	keys[k] = NULL;
	return cr_cfg_check_keys(c, t, path, keys);
}

static int _type(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		 const struct cr_sink_schema_s **out)
{
	const char *names[_MAX_SINK_TYPES + 1];
	char type[32], hint[256], list[200];
	int rc;
	for (size_t i = 0; i < _n_sinks; i++)
		names[i] = _sinks[i].name;
	names[_n_sinks] = NULL;
	if ((rc = cr_cfg_get_choice(c, t, path, "type", "sink type", names, type, sizeof(type))) < 0)
		return rc;
	if (rc == 0) {
		snprintf(hint, sizeof(hint), " (allowed: %s)", cr_cfg_join(names, list, sizeof(list)));
		return cr_cfg_missing(c, t, path, "type", hint);
	}
	*out = &_sinks[cr_cfg_index_of(names, type)];
	return 0;
}

/* The chosen sink's keys; a key only other sinks take fails at its name. */
static int _backend_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			 const struct cr_sink_schema_s *b, struct cr_sink_cfg_s *sink)
{
	char sub[CR_CFG_PATH], who[128];
	int rc;
	for (const struct cr_option_s *o = b->options; o && o->key; o++)
		if (cr_cfg_option_end(o) > b->opts_size)
			return cr_cfg_fail_at(c, cr_toml_line(t), cr_toml_col(t), path,
					      "sink %s: option %s does not fit its block (a bug in its table)", b->name,
					      o->key);
	/* the block of this sink's type only */
	if (b->opts_size && !(sink->opts = cr_config_block(c->cfg, b->opts_size)))
		return cr_cfg_fail_at(c, cr_toml_line(t), cr_toml_col(t), path, "out of memory");
	sink->opts_size = b->opts_size;
	cr_options_defaults(b->options, sink->opts);
	for (size_t i = 0; i < cr_toml_len(t); i++) {
		const struct cr_toml_s *v = cr_toml_at(t, i);
		const char *key = cr_toml_key(v);
		const struct cr_option_s *o = cr_option_find(b->options, key);
		if (o && (rc = cr_cfg_load_option(c, t, path, o, sink->opts)) < 0)
			return rc;
		if (!o && cr_cfg_index_of(_common, key) < 0 && _takers(key, who, sizeof(who)))
			return cr_cfg_fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v),
					      cr_cfg_sub(sub, sizeof(sub), path, key), "only %s sinks take %s (type is %s)",
					      who, key, b->name);
	}
	if ((rc = cr_cfg_check_required(c, t, path, b->options)) < 0)
		return rc;
	return b->check ? b->check(c, t, path, sink->opts) : 0;
}

/* "h264, h265, vp8, vp9 or av1" */
static const char *_or_list(const char *const *names, size_t n, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	return buf;
}

/* The sink's declared capabilities against its stream: the codec the
 * stream is encoded in (its first source's encoder), a raw sink's
 * pixel_format. */
static int _check_caps(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		       const struct cr_sink_schema_s *b, const struct cr_sink_cfg_s *sink, const struct cr_stream_cfg_s *s)
{
	const struct cr_sink_caps_s *caps = b->caps;
	const char *names[32];
	char list[256], sub[CR_CFG_PATH];
	size_t n = 0;
	const struct cr_encoder_cfg_s *enc = s->n_sources ? &s->sources[0].encoder : NULL;
	if (caps && caps->codecs && enc && enc->present && enc->codec) {
		bool ok = false;
		for (const enum cr_codec_e *k = caps->codecs; *k && n < 32; k++) {
			names[n++] = cr_codec_name(*k);
			ok = ok || *k == enc->codec;
		}
		const struct cr_toml_s *v = cr_toml_get(t, "type");
		if (!ok)
			return cr_cfg_fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v), cr_cfg_sub(sub, sizeof(sub), path, "type"),
					      "%s sinks send %s; stream \"%s\" is encoded as %s (its first source's encoder, "
					      "line %d): give that encoder one of those codecs",
					      b->name, _or_list(names, n, list, sizeof(list)), s->name, cr_codec_name(enc->codec),
					      enc->line ? enc->line : s->sources[0].line);
	}
	if (caps && caps->formats && sink->pixel_format) {
		bool ok = false;
		n = 0;
		for (const enum cr_pixfmt_e *f = caps->formats; *f && n < 32; f++) {
			names[n++] = cr_pixfmt_name(*f);
			ok = ok || *f == sink->pixel_format;
		}
		names[n] = NULL;
		if (!ok)
			return CR_CFG_FAIL(c, cr_toml_get(t, "pixel_format"), cr_cfg_sub(sub, sizeof(sub), path, "pixel_format"),
					   "%s sinks do not write %s (allowed: %s)", b->name,
					   cr_pixfmt_name(sink->pixel_format), cr_cfg_join(names, list, sizeof(list)));
	}
	return 0;
}

int cr_cfg_load_sink(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_sink_cfg_s *sink,
		     const struct cr_stream_cfg_s *s)
{
	const struct cr_sink_schema_s *b = NULL;
	int rc;

	sink->line = cr_toml_line(t);
	if ((rc = _check_keys(c, t, path)) < 0 || (rc = _type(c, t, path, &b)) < 0)
		return rc;
	sink->type = (enum cr_sink_type_e)b->type;
	if ((rc = cr_cfg_get_str(c, t, path, "device", sink->device, sizeof(sink->device), NULL)) < 0 ||
	    (rc = cr_cfg_get_pixfmt(c, t, path, &sink->pixel_format)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "width", 0, 16384, &sink->width)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "height", 0, 16384, &sink->height)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "fps", 0, 1000, &sink->fps)) < 0 ||
	    (rc = _check_caps(c, t, path, b, sink, s)) < 0)
		return rc;
	return _backend_keys(c, t, path, b, sink);
}
