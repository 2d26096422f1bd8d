/* Config schema, the sink blocks: [[stream.<name>.sinks]] with the keys of
 * every type and those only webcam, overlay or drm sinks take. The keys are
 * listed in schema.c's comment, the config reference. */
#include "config/schema_sections.h"

#include <stdio.h>
#include <string.h>
#include <linux/videodev2.h>

#include "config/schema_get.h"

static const char *const _sink_types[] = {"webcam", "rtp", "drm", "overlay", "whip", "rtsp", NULL};


/* Seed 003, table 3 (struct v4l2_framebuffer flags), by name. */
static const char *const _fbuf_flag_names[] = {"primary", "overlay", "chromakey", "src_chromakey",
					       "global_alpha", "local_alpha", "local_inv_alpha", NULL};
static const uint32_t _fbuf_flag_bits[] = {V4L2_FBUF_FLAG_PRIMARY, V4L2_FBUF_FLAG_OVERLAY,
					   V4L2_FBUF_FLAG_CHROMAKEY, V4L2_FBUF_FLAG_SRC_CHROMAKEY,
					   V4L2_FBUF_FLAG_GLOBAL_ALPHA, V4L2_FBUF_FLAG_LOCAL_ALPHA,
					   V4L2_FBUF_FLAG_LOCAL_INV_ALPHA};

static int _get_fbuf_flags(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, uint32_t *out)
{
	const struct cr_toml_s *v = cr_toml_get(t, "flags");
	char sub[256], list[256];
	if (!v)
		return 0;
	cr_cfg_sub(sub, sizeof(sub), path, "flags");
	if (cr_toml_type(v) != CR_TOML_ARRAY)
		return cr_cfg_wrong_type(c, v, sub, "an array of flag names");
	*out = 0;
	for (size_t i = 0; i < cr_toml_len(v); i++) {
		const struct cr_toml_s *e = cr_toml_at(v, i);
		if (cr_toml_type(e) != CR_TOML_STRING)
			return cr_cfg_wrong_type(c, e, sub, "a flag name (string)");
		int k = cr_cfg_index_of(_fbuf_flag_names, cr_toml_str(e, NULL));
		if (k < 0)
			return CR_CFG_FAIL(c, e, sub, "unknown overlay flag \"%.64s\" (allowed: %s)",
					   cr_toml_str(e, NULL), cr_cfg_join(_fbuf_flag_names, list, sizeof(list)));
		*out |= _fbuf_flag_bits[k];
	}
	return 1;
}

/* Keys that belong to one sink type only. */
static int _only_for(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *const *keys,
		     const char *type, const char *want)
{
	char sub[256];
	if (strcmp(type, want) == 0)
		return 0;
	for (int i = 0; keys[i]; i++) {
		const struct cr_toml_s *v = cr_toml_get(t, keys[i]);
		if (v)
			return cr_cfg_fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v),
					      cr_cfg_sub(sub, sizeof(sub), path, keys[i]),
					      "only %s sinks take %s (type is %s)", want, keys[i], type);
	}
	return 0;
}

static int _load_overlay_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *type,
			      struct cr_sink_cfg_s *sink)
{
	static const char *const overlay_keys[] = {"window", "clips", "bitmap", "chromakey", "global_alpha", "flags",
						   "destructive", "framebuffer", "osd", NULL};
	static const char *const drm_keys[] = {"connector", "mode", "rect", NULL};
	const struct cr_toml_s *fbv = NULL;
	char sub[256];
	int64_t key = 0;
	int rc;
	if ((rc = _only_for(c, t, path, overlay_keys, type, "overlay")) < 0 ||
	    (rc = _only_for(c, t, path, drm_keys, type, "drm")) < 0)
		return rc;
	if ((rc = cr_cfg_get_rect(c, t, path, "window", sink->window)) < 0)
		return rc;
	sink->has_window = rc > 0;
	if ((rc = cr_cfg_get_rects(c, t, path, "clips", sink->clips, &sink->n_clips)) < 0 ||
	    (rc = cr_cfg_get_rects(c, t, path, "bitmap", sink->bitmap, &sink->n_bitmap)) < 0)
		return rc;
	if ((rc = cr_cfg_get_int(c, t, path, "chromakey", 0, 0xffffff, &key)) < 0)
		return rc;
	sink->has_chromakey = rc > 0;
	sink->chromakey = (uint32_t)key;
	if ((rc = cr_cfg_get_intv(c, t, path, "global_alpha", 0, 255, &sink->global_alpha)) < 0)
		return rc;
	sink->has_global_alpha = rc > 0;
	if ((rc = _get_fbuf_flags(c, t, path, &sink->fbuf_flags)) < 0)
		return rc;
	sink->has_flags = rc > 0;
	if ((rc = cr_cfg_get_bool(c, t, path, "destructive", &sink->destructive)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, path, "osd", &sink->osd)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "framebuffer", sink->framebuffer, sizeof(sink->framebuffer), &fbv)) < 0)
		return rc;
	if (fbv && strncmp(sink->framebuffer, "/dev/fb", 7) != 0)
		return CR_CFG_FAIL(c, fbv, cr_cfg_sub(sub, sizeof(sub), path, "framebuffer"),
				   "expected a framebuffer device like \"/dev/fb0\", got \"%s\"", sink->framebuffer);
	if (sink->destructive && sink->osd)
		return CR_CFG_FAIL(c, cr_toml_get(t, "osd"), cr_cfg_sub(sub, sizeof(sub), path, "osd"),
				   "an OSD is drawn on a video output overlay, which is never destructive: drop one of "
				   "destructive and osd");
	if ((rc = cr_cfg_get_str(c, t, path, "connector", sink->connector, sizeof(sink->connector), NULL)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "mode", sink->mode, sizeof(sink->mode), NULL)) < 0)
		return rc;
	const struct cr_toml_s *mv = cr_toml_get(t, "mode");
	unsigned mw, mh, hz;
	char end;
	if (mv && sink->mode[0] && sscanf(sink->mode, "%ux%u%c", &mw, &mh, &end) != 2 &&
	    sscanf(sink->mode, "%ux%u@%u%c", &mw, &mh, &hz, &end) != 3)
		return CR_CFG_FAIL(c, mv, cr_cfg_sub(sub, sizeof(sub), path, "mode"),
				   "expected WIDTHxHEIGHT or WIDTHxHEIGHT@HZ like \"1920x1080\", got \"%s\"",
				   sink->mode);
	if ((rc = cr_cfg_get_rect(c, t, path, "rect", sink->rect)) < 0)
		return rc;
	sink->has_rect = rc > 0;
	return 0;
}

int cr_cfg_load_sink(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_sink_cfg_s *sink)
{
	static const char *const keys[] = {"type", "device", "address", "url", "pixel_format", "width", "height", "fps",
					   "window", "clips", "bitmap", "chromakey", "global_alpha", "flags",
					   "destructive", "framebuffer", "osd", "connector", "mode", "rect", "keep_format",
					   "timeout_ms", "url", "token", "ice_servers", "backoff_max_ms", NULL};
	static const char *const webcam_keys[] = {"keep_format", "timeout_ms", NULL};
	char type[16], sub[256];
	int rc;

	sink->line = cr_toml_line(t);
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_choice(c, t, path, "type", "sink type", _sink_types, type, sizeof(type))) < 0)
		return rc;
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "type", " (allowed: webcam, rtp, drm, overlay, whip, rtsp)");
	sink->type = (enum cr_sink_type_e)(CR_SINK_WEBCAM + cr_cfg_index_of(_sink_types, type));
	if ((rc = cr_cfg_get_str(c, t, path, "device", sink->device, sizeof(sink->device), NULL)) < 0 ||
	    (rc = cr_cfg_get_hostport(c, t, path, "address", sink->address, sizeof(sink->address))) < 0 ||
	    (rc = cr_cfg_get_pixfmt(c, t, path, &sink->pixel_format)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "width", 0, 16384, &sink->width)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "height", 0, 16384, &sink->height)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "fps", 0, 1000, &sink->fps)) < 0 ||
	    (rc = _only_for(c, t, path, webcam_keys, type, "webcam")) < 0)
		return rc;
	sink->keep_format = true;
	sink->timeout_ms = 1500;
	if ((rc = cr_cfg_get_bool(c, t, path, "keep_format", &sink->keep_format)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "timeout_ms", 0, 100000, &sink->timeout_ms)) < 0)
		return rc;
	/* url: rtsp here, whip in schema_whip.c (which refuses it on other types). */
	const struct cr_toml_s *url = NULL;
	if (sink->type == CR_SINK_RTSP &&
	    (rc = cr_cfg_get_str(c, t, path, "url", sink->url, sizeof(sink->url), &url)) < 0)
		return rc;
	if (sink->type == CR_SINK_RTSP && !url)
		return cr_cfg_missing(c, t, path, "url", " (an rtsp sink publishes to rtsp://server:8554/path)");
	if (sink->type == CR_SINK_RTSP && (strncmp(sink->url, "rtsp://", 7) != 0 || !sink->url[7] || sink->url[7] == '/'))
		return CR_CFG_FAIL(c, url, cr_cfg_sub(sub, sizeof(sub), path, "url"),
				   "\"%.200s\" is not an rtsp:// URL (rtsp://[user:password@]server[:port]/path)", sink->url);
	const struct cr_toml_s *addr = cr_toml_get(t, "address");
	if (sink->type == CR_SINK_RTP && !addr)
		return cr_cfg_missing(c, t, path, "address", " (an rtp sink sends to host:port)");
	if (sink->type != CR_SINK_RTP && addr)
		return CR_CFG_FAIL(c, addr, cr_cfg_sub(sub, sizeof(sub), path, "address"),
				   "only rtp sinks take an address (type is %s)", type);
	if ((rc = cr_cfg_load_whip_keys(c, t, path, type, sink)) < 0)
		return rc;
	return _load_overlay_keys(c, t, path, type, sink);
}
