/* Config schema, the source blocks: [[stream.<name>.sources]] with url or
 * capture (+ controls, media), encoder and output. The keys are listed in
 * schema.c's comment, the config reference. */
#include "config/schema_sections.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/schema_get.h"
#include "config/values.h"
#include "encode/encoder.h"
#include "source/source.h"
#include "media/mbus_names.h"

/* The schema's view of the generated backend tables (backends.c): names and
 * the keys each declares. Capture backends are those capture.backend names
 * (not the ones a source's url/file key picks). */
static size_t _capture_backends(struct cr_cfg_backend_s *out, const char **names, size_t max)
{
	size_t n = 0;
	for (const struct cr_source_ops_s *const *p = cr_source_backends; *p && n + 1 < max; p++)
		if (!(*p)->source_key) {
			out[n] = (struct cr_cfg_backend_s){(*p)->name, (*p)->options};
			names[n++] = (*p)->name;
		}
	names[n] = NULL;
	return n;
}

/* "software" (the first software backend for the codec) and every encoder. */
static size_t _encoder_backends(struct cr_cfg_backend_s *out, const char **names, size_t max)
{
	size_t n = 0;
	names[n] = "software";
	out[n++] = (struct cr_cfg_backend_s){"software", NULL};
	for (const struct cr_encoder_ops_s *const *p = cr_encoder_backends; *p && n + 1 < max; p++) {
		out[n] = (struct cr_cfg_backend_s){(*p)->name, (*p)->options};
		names[n++] = (*p)->name;
	}
	names[n] = NULL;
	return n;
}

static const struct cr_encoder_ops_s *_encoder_ops(const char *name)
{
	for (const struct cr_encoder_ops_s *const *p = cr_encoder_backends; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}

/* Fills profile_idc, constraint_flags and level_idc from profile/level. */
static int _h264_profile(struct cr_cfg_ctx_s *c, const struct cr_toml_s *enc, const char *path,
			 struct cr_encoder_cfg_s *e)
{
	const struct cr_toml_s *pv = NULL, *lv = NULL;
	char psub[256], lsub[256], list[256], why[128];
	struct cr_h264_id_s id;
	int rc, level_idc = -1;
	const char *profile = cr_cfg_get_name(c, enc, path, "profile", &pv, &rc);
	if (rc < 0)
		return rc;
	const char *lname = cr_cfg_get_name(c, enc, path, "level", &lv, &rc);
	if (rc < 0)
		return rc;
	cr_cfg_sub(psub, sizeof(psub), path, "profile");
	cr_cfg_sub(lsub, sizeof(lsub), path, "level");

	if ((pv || lv) && e->codec != CR_CODEC_H264)
		return CR_CFG_FAIL(c, pv ? pv : lv, pv ? psub : lsub,
				   "profile and level apply to h264 only (codec is %s)", cr_codec_name(e->codec));
	if (lv) {
		if ((level_idc = cr_h264_level_idc(lname)) < 0)
			return CR_CFG_FAIL(c, lv, lsub, "unknown H.264 level \"%.64s\" (allowed: %s)", lname,
					   cr_cfg_join(cr_h264_level_names, list, sizeof(list)));
		if (!pv)
			return CR_CFG_FAIL(c, lv, lsub,
					   "a level needs a profile (allowed: %s, or a profile-level-id like 42001f)",
					   cr_cfg_join(cr_h264_profile_names, list, sizeof(list)));
		snprintf(e->level, sizeof(e->level), "%s", lname);
	}
	if (!pv)
		return 0;
	if (cr_cfg_index_of(cr_h264_profile_names, profile) >= 0) {
		if (!lv)
			return CR_CFG_FAIL(c, enc, path,
					   "missing required key \"level\" (profile \"%s\" needs a level, e.g. \"3.1\")",
					   profile);
		cr_h264_id_from_name(profile, level_idc, &id);
	} else {
		const char *problem = cr_h264_id_from_hex(profile, &id, why, sizeof(why));
		if (problem == why) /* hex, but not a profile or level H.264 has */
			return CR_CFG_FAIL(c, pv, psub, "profile-level-id \"%s\": %s", profile, problem);
		if (problem)
			return CR_CFG_FAIL(c, pv, psub,
					   "unknown H.264 profile \"%.64s\" (allowed: %s, or a profile-level-id of 6 "
					   "hex digits like 42001f)",
					   profile, cr_cfg_join(cr_h264_profile_names, list, sizeof(list)));
		/* both given: they must agree (1b may be spelled 11 + constraint_set3) */
		if (lv && level_idc != id.level_idc && !(level_idc == 9 && id.level_idc == 11 && (id.constraint_flags & 0x10)))
			return CR_CFG_FAIL(c, lv, lsub,
					   "level \"%s\" contradicts profile-level-id \"%s\" (level_idc %u); drop one",
					   lname, profile, id.level_idc);
	}
	snprintf(e->profile, sizeof(e->profile), "%s", profile);
	e->profile_idc = id.profile_idc;
	e->constraint_flags = id.constraint_flags;
	e->level_idc = id.level_idc;
	return 0;
}

/* Control values reach the device as text: integers and booleans are written
 * out here; false for strings and other types, which the caller checks. */
static bool _control_number_text(const struct cr_toml_s *v, char *out, size_t size)
{
	if (cr_toml_type(v) == CR_TOML_INTEGER)
		snprintf(out, size, "%" PRId64, cr_toml_int(v));
	else if (cr_toml_type(v) == CR_TOML_BOOL)
		snprintf(out, size, "%s", cr_toml_bool(v) ? "true" : "false");
	else
		return false;
	return true;
}

static int _load_controls(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			  struct cr_capture_cfg_s *cap)
{
	char sub[256];
	for (size_t i = 0; i < cr_toml_len(t); i++) {
		const struct cr_toml_s *v = cr_toml_at(t, i);
		const char *name = cr_toml_key(v);
		cr_cfg_sub(sub, sizeof(sub), path, name);
		if (cap->n_controls >= CR_MAX_CONTROLS)
			return cr_cfg_fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v), sub,
					      "too many controls (at most %d)", CR_MAX_CONTROLS);
		struct cr_control_cfg_s *ctl = &cap->controls[cap->n_controls];
		if (strlen(name) >= sizeof(ctl->name) || !name[0])
			return cr_cfg_fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v), sub,
					      "control name must be 1..%zu bytes", sizeof(ctl->name) - 1);
		size_t len;
		if (cr_toml_type(v) == CR_TOML_STRING) {
			cr_toml_str(v, &len);
			if (len >= sizeof(ctl->value) || len != strlen(cr_toml_str(v, NULL)))
				return CR_CFG_FAIL(c, v, sub, "control value must be under %zu bytes, without NUL",
						   sizeof(ctl->value));
			memcpy(ctl->value, cr_toml_str(v, NULL), len + 1);
		} else if (!_control_number_text(v, ctl->value, sizeof(ctl->value))) {
			return cr_cfg_wrong_type(c, v, sub, "an integer, boolean or string");
		}
		snprintf(ctl->name, sizeof(ctl->name), "%s", name);
		cap->n_controls++;
	}
	return 0;
}

/* [stream.X.sources.capture.media] (ext): the media-controller pipeline
 * feeding a V4L2 capture node (src/media/media.h).
 *   strategy = "auto"                        auto, quality, speed, off
 *   [[...media.links]]   source = "Sensor A:0", sink = "Debayer A:0", enabled = true
 *   [[...media.pads]]    entity = "Scaler", pad = 0, format = "RGB888_1X24",
 *                        width = 640, height = 480, crop = [x, y, w, h], compose = [x, y, w, h]
 *   [[...media.controls]] entity = "Sensor A", name = "test_pattern", value = 1 */
static const char *const _media_strategies[] = {"auto", "quality", "speed", "off", NULL};

/* "Entity name:pad" */
static int _media_pad_ref(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			  char *name, size_t size, int *pad)
{
	const struct cr_toml_s *v = NULL;
	char sub[256];
	int rc;
	const char *s = cr_cfg_get_name(c, t, path, key, &v, &rc);
	if (!s)
		return rc ? rc : cr_cfg_missing(c, t, path, key, " (\"entity name:pad number\", e.g. \"Sensor A:0\")");
	cr_cfg_sub(sub, sizeof(sub), path, key);
	const char *colon = strrchr(s, ':');
	char *end;
	long n = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == s || !colon[1] || *end || n < 0 || n > 255)
		return CR_CFG_FAIL(c, v, sub,
				   "expected \"entity name:pad number\" such as \"Sensor A:0\", got \"%.64s\"", s);
	if ((size_t)(colon - s) >= size)
		return CR_CFG_FAIL(c, v, sub, "entity name too long (at most %zu bytes)", size - 1);
	snprintf(name, size, "%.*s", (int)(colon - s), s);
	*pad = (int)n;
	return 1;
}

/* [x, y, w, h] */
static int _media_rect(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int out[4],
		       bool *has)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	if (!v)
		return 0;
	cr_cfg_sub(sub, sizeof(sub), path, key);
	if (cr_toml_type(v) != CR_TOML_ARRAY || cr_toml_len(v) != 4)
		return CR_CFG_FAIL(c, v, sub, "expected [x, y, width, height] (4 integers)");
	for (size_t i = 0; i < 4; i++) {
		const struct cr_toml_s *e = cr_toml_at(v, i);
		if (cr_toml_type(e) != CR_TOML_INTEGER)
			return cr_cfg_wrong_type(c, e, sub, "an integer in [x, y, width, height]");
		int64_t x = cr_toml_int(e);
		if (x < (i < 2 ? 0 : 1) || x > 65535)
			return CR_CFG_FAIL(c, e, sub, "out of range: %" PRId64 " (allowed: %d..65535 for %s)", x,
					   i < 2 ? 0 : 1, (const char *[]){"x", "y", "width", "height"}[i]);
		out[i] = (int)x;
	}
	*has = true;
	return 1;
}

static int _load_media_link(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			    struct cr_media_link_cfg_s *l)
{
	static const char *const keys[] = {"source", "sink", "enabled", NULL};
	int rc;
	l->enabled = true;
	l->line = cr_toml_line(t);
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = _media_pad_ref(c, t, path, "source", l->source, sizeof(l->source), &l->source_pad)) < 0 ||
	    (rc = _media_pad_ref(c, t, path, "sink", l->sink, sizeof(l->sink), &l->sink_pad)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, path, "enabled", &l->enabled)) < 0)
		return rc;
	return 0;
}

static int _load_media_pad(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			   struct cr_media_pad_cfg_s *p)
{
	static const char *const keys[] = {"entity", "pad", "format", "width", "height", "crop", "compose", NULL};
	const struct cr_toml_s *v = NULL;
	char sub[256];
	int rc;
	p->line = cr_toml_line(t);
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "entity", p->entity, sizeof(p->entity), NULL)) < 0)
		return rc;
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "entity", " (an entity name as `camrelay media` shows it)");
	if ((rc = cr_cfg_get_intv(c, t, path, "pad", 0, 255, &p->pad)) < 0)
		return rc;
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "pad", " (the pad number)");
	const char *fmt = cr_cfg_get_name(c, t, path, "format", &v, &rc);
	if (rc < 0)
		return rc;
	if (fmt && !(p->code = cr_mbus_code_of_name(fmt)))
		return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, "format"),
				   "unknown media bus format \"%.64s\" (allowed: a MEDIA_BUS_FMT_* name without the prefix, "
				   "such as RGB888_1X24, SRGGB8_1X8, YUYV8_2X8, UYVY8_1X16)",
				   fmt);
	if ((rc = cr_cfg_get_intv(c, t, path, "width", 1, 65535, &p->width)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "height", 1, 65535, &p->height)) < 0 ||
	    (rc = _media_rect(c, t, path, "crop", p->crop, &p->has_crop)) < 0 ||
	    (rc = _media_rect(c, t, path, "compose", p->compose, &p->has_compose)) < 0)
		return rc;
	return 0;
}

static int _load_media_control(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			       struct cr_media_control_cfg_s *ctl)
{
	static const char *const keys[] = {"entity", "name", "value", NULL};
	const struct cr_toml_s *v = cr_toml_get(t, "value");
	char sub[256];
	int rc;
	ctl->line = cr_toml_line(t);
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "entity", ctl->entity, sizeof(ctl->entity), NULL)) < 0)
		return rc;
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "entity", " (the sub-device's entity name)");
	if ((rc = cr_cfg_get_str(c, t, path, "name", ctl->name, sizeof(ctl->name), NULL)) < 0)
		return rc;
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "name",
				      " (the control name, as v4l2-ctl -d /dev/v4l-subdevN -L shows it)");
	if (!v)
		return cr_cfg_missing(c, t, path, "value", "");
	if (cr_toml_type(v) == CR_TOML_STRING)
		return (rc = cr_cfg_get_str(c, t, path, "value", ctl->value, sizeof(ctl->value), NULL)) < 0 ? rc : 0;
	if (!_control_number_text(v, ctl->value, sizeof(ctl->value)))
		return cr_cfg_wrong_type(c, v, cr_cfg_sub(sub, sizeof(sub), path, "value"),
					 "an integer, boolean or string (a menu item)");
	return 0;
}

static int _load_media(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_media_cfg_s *m)
{
	static const char *const keys[] = {"strategy", "links", "pads", "controls", NULL};
	const struct cr_toml_s *links = NULL, *pads = NULL, *ctls = NULL;
	char item[300];
	int rc;
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_choice(c, t, path, "strategy", "media pipeline strategy", _media_strategies, m->strategy,
				    sizeof(m->strategy))) < 0 ||
	    (rc = cr_cfg_get_table_array(c, t, path, "links", CR_MAX_MEDIA_LINKS, &links)) < 0 ||
	    (rc = cr_cfg_get_table_array(c, t, path, "pads", CR_MAX_MEDIA_PADS, &pads)) < 0 ||
	    (rc = cr_cfg_get_table_array(c, t, path, "controls", CR_MAX_MEDIA_CONTROLS, &ctls)) < 0)
		return rc;
	for (size_t i = 0; i < cr_toml_len(links); i++)
		if ((rc = _load_media_link(c, cr_toml_at(links, i), cr_cfg_item(item, sizeof(item), path, "links", i),
					   &m->links[m->n_links++])) < 0)
			return rc;
	for (size_t i = 0; i < cr_toml_len(pads); i++)
		if ((rc = _load_media_pad(c, cr_toml_at(pads, i), cr_cfg_item(item, sizeof(item), path, "pads", i),
					  &m->pads[m->n_pads++])) < 0)
			return rc;
	for (size_t i = 0; i < cr_toml_len(ctls); i++)
		if ((rc = _load_media_control(c, cr_toml_at(ctls, i),
					      cr_cfg_item(item, sizeof(item), path, "controls", i),
					      &m->controls[m->n_controls++])) < 0)
			return rc;
	return 0;
}

#define _MAX_BACKENDS 24

/* pixel_format against what the backend declares it delivers (its caps). */
static int _check_delivers(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			   const struct cr_source_ops_s *ops, const struct cr_capture_cfg_s *cap)
{
	const struct cr_source_caps_s *caps = ops ? ops->caps : NULL;
	if (!cap->pixel_format || cr_source_delivers(caps, cap->pixel_format))
		return 0;
	const char *names[CR_PIXFMT_COUNT + 1];
	char list[256], sub[256];
	size_t n = 0;
	for (const enum cr_pixfmt_e *f = caps->formats; *f && n < CR_PIXFMT_COUNT; f++)
		names[n++] = cr_pixfmt_name(*f);
	names[n] = NULL;
	return CR_CFG_FAIL(c, cr_toml_get(t, "pixel_format"), cr_cfg_sub(sub, sizeof(sub), path, "pixel_format"),
			   "%s sources do not deliver %s (allowed: %s)", ops->name, cr_pixfmt_name(cap->pixel_format),
			   cr_cfg_join(names, list, sizeof(list)));
}

static int _load_capture(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			 struct cr_capture_cfg_s *cap)
{
	static const char *const keys[] = {"backend", "device", "width", "height", "fps", "pixel_format",
					   "prefer_dmabuf", "controls", "media", NULL};
	struct cr_cfg_backend_s b[_MAX_BACKENDS];
	const char *names[_MAX_BACKENDS];
	size_t n = _capture_backends(b, names, _MAX_BACKENDS);
	const struct cr_toml_s *controls = NULL, *media = NULL;
	char sub[256];
	int rc;

	if ((rc = cr_cfg_check_backend_keys(c, t, path, keys, b, n)) < 0)
		return rc;
	if ((rc = cr_cfg_get_choice(c, t, path, "backend", "capture backend", names, cap->backend,
				    sizeof(cap->backend))) < 0)
		return rc;
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "backend", "");
	if ((rc = cr_cfg_get_str(c, t, path, "device", cap->device, sizeof(cap->device), NULL)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "width", 0, 16384, &cap->width)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "height", 0, 16384, &cap->height)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "fps", 0, 1000, &cap->fps)) < 0 ||
	    (rc = cr_cfg_get_pixfmt(c, t, path, &cap->pixel_format)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, path, "prefer_dmabuf", &cap->prefer_dmabuf)) < 0 ||
	    (rc = cr_cfg_get_table(c, t, path, "controls", &controls)) < 0)
		return rc;
	if (controls && (rc = _load_controls(c, controls, cr_cfg_sub(sub, sizeof(sub), path, "controls"), cap)) < 0)
		return rc;
	if ((rc = cr_cfg_get_table(c, t, path, "media", &media)) < 0)
		return rc;
	if (media) { /* a block only for a capture that has a media pipeline */
		struct cr_media_cfg_s *m = cr_config_block(c->cfg, sizeof(*m));
		cr_cfg_sub(sub, sizeof(sub), path, "media");
		if (!m)
			return CR_CFG_FAIL(c, media, sub, "out of memory");
		cap->media = m;
		if ((rc = _load_media(c, media, sub, m)) < 0)
			return rc;
	}
	const struct cr_source_ops_s *ops = cr_source_find(cap->backend);
	const struct cr_cfg_backend_s *chosen = &b[cr_cfg_index_of(names, cap->backend)];
	if ((rc = cr_cfg_load_backend_options(c, t, path, b, n, chosen, cap->opts, sizeof(cap->opts))) < 0)
		return rc;
	const struct cr_capture_defaults_s *d = ops ? ops->defaults : NULL;
	if (d) { /* a backend without a device to ask for defaults */
		if (!cap->width)
			cap->width = d->width;
		if (!cap->height)
			cap->height = d->height;
		if (!cap->fps)
			cap->fps = d->fps;
		if (!cap->pixel_format)
			cap->pixel_format = d->format;
	}
	return _check_delivers(c, t, path, ops, cap);
}

/* The backend's codecs, joined for messages. */
static const char *_codec_names(const struct cr_encoder_ops_s *ops, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = 0;
	for (const enum cr_codec_e *k = ops->codecs; *k && o < size; k++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", cr_codec_name(*k));
	return buf;
}

/* min_bitrate, bitrate_policy, bitrate_share: how congestion control of WHEP
 * viewers drives this encoder (net/whep_cc.c). */
static int _load_bitrate_control(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
				 struct cr_encoder_cfg_s *e, const struct cr_encoder_ops_s *ops)
{
	static const char *const policies[] = {"lowest", "median", "fixed", NULL};
	char pol[16] = "", sub[256];
	int rc;
	if ((rc = cr_cfg_get_int(c, t, path, "min_bitrate", 0, 1000000000, &e->min_bitrate)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "bitrate_share", 1, 100, &e->bitrate_share)) < 0 ||
	    (rc = cr_cfg_get_choice(c, t, path, "bitrate_policy", "bitrate policy", policies, pol, sizeof(pol))) < 0)
		return rc;
	if (rc > 0)
		e->bitrate_policy = (enum cr_bitrate_policy_e)cr_cfg_index_of(policies, pol);
	const struct cr_toml_s *mv = cr_toml_get(t, "min_bitrate");
	if (e->min_bitrate > 0 && e->bitrate > 0 && e->min_bitrate > e->bitrate)
		return CR_CFG_FAIL(c, mv, cr_cfg_sub(sub, sizeof(sub), path, "min_bitrate"),
				   "min_bitrate %lld is above bitrate %lld (allowed: 0..bitrate)", (long long)e->min_bitrate,
				   (long long)e->bitrate);
	/* A backend that cannot change its bitrate while it runs cannot follow
	 * the viewers: asking for it is an error, the default is not. */
	if (rc > 0 && e->bitrate_policy != CR_BITRATE_FIXED && ops && ops->open && !ops->set_bitrate)
		return CR_CFG_FAIL(c, cr_toml_get(t, "bitrate_policy"), cr_cfg_sub(sub, sizeof(sub), path, "bitrate_policy"),
				   "encoder backend \"%s\" cannot change its bitrate while it runs (allowed: \"fixed\")",
				   e->backend);
	return 0;
}

static int _load_encoder(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			 struct cr_encoder_cfg_s *e)
{
	static const char *const keys[] = {"backend", "codec", "bitrate", "profile", "level", "gop", "prefer_dmabuf",
					   "min_bitrate", "bitrate_policy", "bitrate_share", NULL};
	struct cr_cfg_backend_s b[_MAX_BACKENDS];
	const char *names[_MAX_BACKENDS];
	size_t n = _encoder_backends(b, names, _MAX_BACKENDS);
	const struct cr_toml_s *cv = NULL;
	char sub[256], list[128];
	int rc;

	e->present = true;
	if ((rc = cr_cfg_check_backend_keys(c, t, path, keys, b, n)) < 0)
		return rc;
	if ((rc = cr_cfg_get_choice(c, t, path, "backend", "encoder backend", names, e->backend,
				    sizeof(e->backend))) < 0)
		return rc;
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "backend", "");
	e->line = cr_toml_key_line(cr_toml_get(t, "backend"));
	const struct cr_encoder_ops_s *ops = _encoder_ops(e->backend);
	const char *codec = cr_cfg_get_name(c, t, path, "codec", &cv, &rc);
	cr_cfg_sub(sub, sizeof(sub), path, "codec");
	if (rc < 0)
		return rc;
	if (codec) {
		if ((e->codec = cr_codec_from_name(codec)) == CR_CODEC_NONE)
			return CR_CFG_FAIL(c, cv, sub, "unknown codec \"%.64s\" (allowed: %s)", codec,
					   cr_codec_allowed());
	} else {
		e->codec = ops ? ops->codecs[0] : CR_CODEC_H264; /* "software": H.264 */
	}
	bool ok = !ops;
	for (const enum cr_codec_e *k = ops ? ops->codecs : NULL; k && *k; k++)
		ok |= *k == e->codec;
	if (!ok)
		return CR_CFG_FAIL(c, cv, sub, "encoder backend \"%s\" cannot encode %s (allowed: %s)", e->backend,
				   cr_codec_name(e->codec), _codec_names(ops, list, sizeof(list)));
	if ((rc = cr_cfg_get_int(c, t, path, "bitrate", 0, 1000000000, &e->bitrate)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "gop", 0, 1000000, &e->gop)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, path, "prefer_dmabuf", &e->prefer_dmabuf)) < 0)
		return rc;
	if ((rc = _load_bitrate_control(c, t, path, e, ops)) < 0)
		return rc;
	/* "software" takes the keys of the software backend the codec gets. */
	struct cr_cfg_backend_s sw;
	const struct cr_cfg_backend_s *chosen = &b[cr_cfg_index_of(names, e->backend)];
	if (!ops) {
		const struct cr_encoder_ops_s *s = cr_encoder_find("software", e->codec);
		sw = (struct cr_cfg_backend_s){"software", s ? s->options : NULL};
		chosen = &sw;
	}
	if ((rc = cr_cfg_load_backend_options(c, t, path, b, n, chosen, e->opts, sizeof(e->opts))) < 0)
		return rc;
	return _h264_profile(c, t, path, e);
}

static int _load_output(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_output_cfg_s *o)
{
	static const char *const keys[] = {"payload_type", "clock_rate", NULL};
	int rc;
	o->present = true;
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "payload_type", 96, 127, &o->payload_type)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "clock_rate", 1, INT32_MAX, &o->clock_rate)) < 0)
		return rc;
	return 0;
}

/* file = "/path/clip.mkv" (+ loop): the "file" capture backend on that path.
 * The file must be readable now; whether libavformat can decode it is found
 * when the stream starts. */
static int _load_file(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		      const struct cr_toml_s *file, struct cr_source_cfg_s *src)
{
	char sub[256];
	struct stat st;
	struct cr_capture_cfg_s *cap = &src->capture;
	int rc;
	cr_cfg_sub(sub, sizeof(sub), path, "file");
	if (!cap->device[0])
		return CR_CFG_FAIL(c, file, sub, "empty (a path to a video file, e.g. \"/home/me/clip.mp4\")");
	if (access(cap->device, R_OK) != 0 || stat(cap->device, &st) != 0)
		return CR_CFG_FAIL(c, file, sub, "cannot read \"%s\": %s", cap->device, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return CR_CFG_FAIL(c, file, sub, "\"%s\" is a directory, not a video file", cap->device);
	snprintf(cap->backend, sizeof(cap->backend), "file");
	cap->loop = true;
	if ((rc = cr_cfg_get_bool(c, t, path, "loop", &cap->loop)) < 0)
		return rc;
	return 0;
}

int cr_cfg_load_source(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_source_cfg_s *src)
{
	static const char *const keys[] = {"url", "file", "loop", "capture", "encoder", "output", NULL};
	const struct cr_toml_s *cap = NULL, *enc = NULL, *out = NULL, *url = NULL, *file = NULL;
	char sub[256];
	int rc;

	src->line = cr_toml_line(t);
	src->output.payload_type = 96;
	src->output.clock_rate = 90000;
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "url", src->url, sizeof(src->url), &url)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "file", src->capture.device, sizeof(src->capture.device), &file)) < 0 ||
	    (rc = cr_cfg_get_table(c, t, path, "capture", &cap)) < 0 ||
	    (rc = cr_cfg_get_table(c, t, path, "encoder", &enc)) < 0 ||
	    (rc = cr_cfg_get_table(c, t, path, "output", &out)) < 0)
		return rc;
	if (url && (cap || enc)) {
		const struct cr_toml_s *v = cap ? cap : enc;
		return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, cap ? "capture" : "encoder"),
				   "url and capture/encoder are mutually exclusive (a source is either a URL or a device)");
	}
	if (file && (url || cap)) {
		const struct cr_toml_s *v = url ? url : cap;
		return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, url ? "url" : "capture"),
				   "file and %s are mutually exclusive (a source is a URL, a file or a device)",
				   url ? "url" : "capture");
	}
	if (!file && cr_toml_get(t, "loop"))
		return CR_CFG_FAIL(c, cr_toml_get(t, "loop"), cr_cfg_sub(sub, sizeof(sub), path, "loop"),
				   "loop applies to file sources only (file = \"/path/clip.mp4\")");
	if (url && (!src->url[0] || (!strstr(src->url, "://") && !strstr(src->url, ".sdp"))))
		return CR_CFG_FAIL(c, url, cr_cfg_sub(sub, sizeof(sub), path, "url"),
				   "not a URL: \"%s\" (allowed: rtsp://..., rtp://..., udp://..., http://..., a .sdp file; "
				   "a video file is file = \"%s\")", src->url, src->url);
	if (file && (rc = _load_file(c, t, path, file, src)) < 0)
		return rc;
	if (!url && !cap && !file)
		return CR_CFG_FAIL(c, t, path,
				   "a source needs \"url\", \"file\" or a capture block (allowed: url, file, capture + encoder)");
	if (cap && (rc = _load_capture(c, cap, cr_cfg_sub(sub, sizeof(sub), path, "capture"), &src->capture)) < 0)
		return rc;
	if (enc && (rc = _load_encoder(c, enc, cr_cfg_sub(sub, sizeof(sub), path, "encoder"), &src->encoder)) < 0)
		return rc;
	if (out && (rc = _load_output(c, out, cr_cfg_sub(sub, sizeof(sub), path, "output"), &src->output)) < 0)
		return rc;
	return 0;
}
