/* The drm sink's entry in the daemon: the sink itself (drm.c) is the module
 * camrelay-drm.so (core/module.h), so libdrm is mapped only when a config
 * shows a stream on a local screen. Its keys are read here (the config
 * reader needs them without the module); the stream's start loads the
 * module (ready(): serve and reload check it before anything opens), and
 * when it is missing says which package to install. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "config/schema_get.h"
#include "core/module.h"
#include "sink/drm.h"
#include "sink/sink.h"

static const struct cr_sink_ops_s *_mod(char *err, size_t errlen)
{
	return cr_module_symbol("drm", "cr_sink_drm", "camrelay-drm", err, errlen);
}

static int _mod_ready(char *err, size_t errlen)
{
	return _mod(err, errlen) ? 0 : -ENOPKG;
}

/* From here on the sink runs on the module's own table. */
static int _mod_open(struct cr_sink_s *sink)
{
	const struct cr_sink_ops_s *ops = _mod(sink->error, sizeof(sink->error));
	if (!ops)
		return -ENOPKG;
	sink->ops = ops;
	return ops->open(sink);
}

/* Reached only by a caller that kept this table past open(). */
static void _mod_close(struct cr_sink_s *sink)
{
	const struct cr_sink_ops_s *ops = sink->priv ? _mod(NULL, 0) : NULL;
	if (ops)
		ops->close(sink);
}

static int _load_mode(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		      const struct cr_option_s *o, void *block)
{
	struct cr_drm_opts_s *sink = block;
	const struct cr_toml_s *mv = NULL;
	unsigned mw, mh, hz;
	char end, sub[CR_CFG_PATH];
	int rc = cr_cfg_get_str(c, t, path, o->key, sink->mode, sizeof(sink->mode), &mv);
	if (rc > 0 && sink->mode[0] && sscanf(sink->mode, "%ux%u%c", &mw, &mh, &end) != 2 &&
	    sscanf(sink->mode, "%ux%u@%u%c", &mw, &mh, &hz, &end) != 3)
		return CR_CFG_FAIL(c, mv, cr_cfg_sub(sub, sizeof(sub), path, o->key),
				   "expected WIDTHxHEIGHT or WIDTHxHEIGHT@HZ like \"1920x1080\", got \"%s\"", sink->mode);
	return rc;
}

static int _load_rect(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		      const struct cr_option_s *o, void *block)
{
	struct cr_drm_opts_s *sink = block;
	int rc = cr_cfg_get_rect(c, t, path, o->key, sink->rect);
	sink->has_rect = rc > 0;
	return rc;
}

#define _FIELD_SIZE(f) sizeof(((struct cr_drm_opts_s *)0)->f)
static const struct cr_option_s _options[] = {
	{.key = "connector", .type = CR_OPT_STRING, .offset = offsetof(struct cr_drm_opts_s, connector),
	 .size = _FIELD_SIZE(connector), .help = "\"HDMI-A-1\", \"Virtual-1\"; \"\" = first connected"},
	{.key = "mode", .type = CR_OPT_CUSTOM, .offset = offsetof(struct cr_drm_opts_s, mode), .size = _FIELD_SIZE(mode),
	 .load = _load_mode, .help = "WxH or WxH@Hz; \"\" = the screen's preferred mode"},
	{.key = "rect", .type = CR_OPT_CUSTOM, .offset = offsetof(struct cr_drm_opts_s, rect), .size = _FIELD_SIZE(rect),
	 .load = _load_rect, .help = "where the video goes on the screen"},
	CR_OPTS_END,
};

const struct cr_sink_ops_s cr_sink_drm_module = {
	.name = "drm",
	.type = CR_SINK_DRM,
	.options = _options,
	.opts_size = sizeof(struct cr_drm_opts_s),
	/* raw frames of any format: converted (or scanned out as they are) by the sink */
	.caps = &(const struct cr_sink_caps_s){.raw = true},
	.open = _mod_open,
	.close = _mod_close,
	.ready = _mod_ready,
};
