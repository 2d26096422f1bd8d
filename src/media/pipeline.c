/* Configuring the media pipeline that feeds one capture node (seed 002).
 *
 * 1. Plan the links: explicit ones from the config, then walk upstream from
 *    the video node to the first entity without a connected sink pad (the
 *    sensor), choosing and planning to enable a link where none is enabled.
 * 2. Negotiate with TRY formats on sub-device file handles kept open: for
 *    each hop, sink format -> sink crop -> sink compose -> source crop ->
 *    source format (the spec's order), checking that every sink pad took the
 *    format its upstream source pad gives. Nothing on the device changes.
 * 3. When the chain ends in what the capture node was asked for: set the
 *    links, replay the same steps ACTIVE with the TRY results (which the spec
 *    guarantees drivers take as-is), set sub-device controls, and validate
 *    every link once more against the ACTIVE state. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "media/media.h"

#define _MAX_HOPS 16
#define _MAX_OPS 96
#define _MAX_CODES 64

enum _strategy_e { _AUTO, _QUALITY, _SPEED, _OFF };
static const char *const _strategy_names[] = {"auto", "quality", "speed", "off"};

struct _hop_s {
	int ent;
	int sink; /* pad index into m->pads, -1 for the head (sensor) */
	int src;
};

struct _op_s {
	bool sel; /* selection, else format */
	int pad;
	uint32_t target, flags;
	struct v4l2_mbus_framefmt fmt;
	struct v4l2_rect r;
};

struct _ctx_s {
	struct cr_media_s *m;
	const struct cr_media_cfg_s *cfg;
	int video, video_pad;
	int n;
	struct _hop_s hop[_MAX_HOPS]; /* head first */
	bool *want;                    /* planned link states, by link index */
	int width, height;
	uint32_t fourcc;
	enum _strategy_e strategy; /* of the current attempt */
	int n_ops;
	struct _op_s ops[_MAX_OPS];
	char *err;
	size_t errlen;
	int progress; /* how far the failed attempt that wrote err got */
	bool own_open; /* the capture node's own format is not chosen yet (prepare without size/format) */
};

static void _msg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void _msg(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int _xioctl(int fd, unsigned long req, void *arg)
{
	int rc;
	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

static const char *_fourcc_str(uint32_t f, char buf[8])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		buf[i] = isprint((unsigned char)c) ? c : '.';
	}
	buf[4] = 0;
	return buf;
}

static const struct cr_media_pad_cfg_s *_pad_cfg(const struct _ctx_s *c, int pad)
{
	if (!c->cfg)
		return NULL;
	const struct cr_media_pad_s *p = &c->m->pads[pad];
	for (int i = 0; i < c->cfg->n_pads; i++)
		if (c->cfg->pads[i].pad == p->index && strcmp(c->cfg->pads[i].entity, c->m->ents[p->entity].name) == 0)
			return &c->cfg->pads[i];
	return NULL;
}

static void _entity_list(const struct cr_media_s *m, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < m->n_ents && o + 1 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s\"%s\"", i ? ", " : "", m->ents[i].name);
}

/* An entity name and pad number from the config, as a pad index. */
static int _cfg_pad(struct _ctx_s *c, const char *entity, int index, uint32_t dir, int line)
{
	struct cr_media_s *m = c->m;
	int e = cr_media_entity_by_name(m, entity);
	if (e < 0) {
		char list[512];
		_entity_list(m, list, sizeof(list));
		_msg(c->err, c->errlen, "config line %d: no entity \"%s\" in %s (%s); entities: %s", line, entity,
		     m->path, m->model, list);
		return -ENOENT;
	}
	int p = cr_media_pad(m, e, index);
	if (p < 0 || (dir && !(m->pads[p].flags & dir))) {
		_msg(c->err, c->errlen, "config line %d: entity \"%s\" has no %s pad %d (it has %d pad%s; see: camrelay media %s)",
		     line, entity, dir == MEDIA_PAD_FL_SOURCE ? "source" : dir == MEDIA_PAD_FL_SINK ? "sink" : "",
		     index, m->ents[e].n_pads, m->ents[e].n_pads == 1 ? "" : "s", m->path);
		return -ENOENT;
	}
	return p;
}

/* Explicit links from the config, into the plan. */
static int _plan_cfg_links(struct _ctx_s *c)
{
	struct cr_media_s *m = c->m;
	for (int i = 0; c->cfg && i < c->cfg->n_links; i++) {
		const struct cr_media_link_cfg_s *lc = &c->cfg->links[i];
		int a = _cfg_pad(c, lc->source, lc->source_pad, MEDIA_PAD_FL_SOURCE, lc->line);
		int b = a < 0 ? a : _cfg_pad(c, lc->sink, lc->sink_pad, MEDIA_PAD_FL_SINK, lc->line);
		if (b < 0)
			return b;
		int l = cr_media_link_between(m, a, b);
		char pa[96], pb[96];
		cr_media_pad_str(m, a, pa, sizeof(pa));
		cr_media_pad_str(m, b, pb, sizeof(pb));
		if (l < 0) {
			_msg(c->err, c->errlen, "config line %d: %s has no link %s -> %s (see: camrelay media %s)", lc->line,
			     m->path, pa, pb, m->path);
			return -ENOENT;
		}
		bool on = m->links[l].flags & MEDIA_LNK_FL_ENABLED;
		if ((m->links[l].flags & MEDIA_LNK_FL_IMMUTABLE) && on != lc->enabled) {
			_msg(c->err, c->errlen,
			     "config line %d: link %s -> %s is immutable (always %s): the driver does not allow %s it; "
			     "remove it from media.links",
			     lc->line, pa, pb, on ? "enabled" : "disabled", lc->enabled ? "enabling" : "disabling");
			return -EPERM;
		}
		c->want[l] = lc->enabled;
		/* One source feeds a sink pad: enabling a link disables its rivals
		 * unless the config says otherwise. */
		for (int j = 0; lc->enabled && j < m->n_links; j++)
			if (j != l && m->links[j].sink == b && !(m->links[j].flags & MEDIA_LNK_FL_IMMUTABLE))
				c->want[j] = false;
	}
	return 0;
}

/* Does following links upstream from entity e reach an entity without
 * sink pads (a sensor or test pattern generator)? */
static bool _reaches_head(const struct cr_media_s *m, int e, int depth)
{
	if (depth > _MAX_HOPS)
		return false;
	bool has_sink = false;
	for (int l = 0; l < m->n_links; l++) {
		if (m->pads[m->links[l].sink].entity != e)
			continue;
		has_sink = true;
		if (_reaches_head(m, m->pads[m->links[l].source].entity, depth + 1))
			return true;
	}
	return !has_sink;
}

/* The link to follow upstream from a sink pad, planning to enable one when
 * none is. -errno with a message when there is no way. */
static int _upstream_link(struct _ctx_s *c, int pad)
{
	struct cr_media_s *m = c->m;
	int cand[32], n = 0, on = -1, n_on = 0;
	for (int l = 0; l < m->n_links && n < 32; l++) {
		if (m->links[l].sink != pad)
			continue;
		cand[n++] = l;
		if (c->want[l])
			on = l, n_on++;
	}
	char p[96];
	cr_media_pad_str(m, pad, p, sizeof(p));
	if (n_on == 1)
		return on;
	if (n_on > 1) {
		_msg(c->err, c->errlen, "%d enabled links feed %s of %s; disable all but one in media.links", n_on, p,
		     m->path);
		return -EINVAL;
	}
	if (n == 0) {
		_msg(c->err, c->errlen, "no link feeds %s of %s: nothing upstream can be configured", p, m->path);
		return -ENOENT;
	}
	if (c->strategy == _OFF) {
		char q[96];
		_msg(c->err, c->errlen,
		     "no enabled link feeds %s of %s and media.strategy is \"off\"; enable one in media.links (e.g. "
		     "source = \"%s:%d\", sink = \"%s:%d\", enabled = true)",
		     p, m->path, m->ents[m->pads[m->links[cand[0]].source].entity].name,
		     m->pads[m->links[cand[0]].source].index, m->ents[m->pads[pad].entity].name, m->pads[pad].index);
		(void)q;
		return -EINVAL;
	}
	/* Prefer a camera sensor upstream, then anything that leads to a head. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			int e = m->pads[m->links[cand[i]].source].entity;
			if ((pass == 0 && m->ents[e].function != MEDIA_ENT_F_CAM_SENSOR) || !_reaches_head(m, e, 0))
				continue;
			c->want[cand[i]] = true;
			return cand[i];
		}
	_msg(c->err, c->errlen, "no link into %s of %s leads to a source entity", p, m->path);
	return -ENOENT;
}

/* Builds c->hop[] from the video node up to the head. */
static int _build_chain(struct _ctx_s *c)
{
	struct cr_media_s *m = c->m;
	struct _hop_s rev[_MAX_HOPS];
	int n = 0, pad = c->video_pad;
	while (pad >= 0) {
		if (n == _MAX_HOPS) {
			_msg(c->err, c->errlen, "the pipeline feeding %s is longer than %d entities (a loop?)",
			     m->ents[c->video].devnode, _MAX_HOPS);
			return -ELOOP;
		}
		int l = _upstream_link(c, pad);
		if (l < 0)
			return l;
		int src = m->links[l].source, e = m->pads[src].entity;
		if (!cr_media_is_subdev(m, e)) {
			_msg(c->err, c->errlen,
			     "entity \"%s\" upstream of %s has no sub-device node, so its pads cannot be configured "
			     "(the driver configures it itself; set media.strategy = \"off\")",
			     m->ents[e].name, m->ents[c->video].devnode);
			return -ENODEV;
		}
		rev[n] = (struct _hop_s){.ent = e, .sink = -1, .src = src};
		/* Continue from the entity's first sink pad that has links. */
		pad = -1;
		for (int i = 0; i < m->ents[e].n_pads && pad < 0; i++) {
			int p = cr_media_pad(m, e, i);
			if (p >= 0 && (m->pads[p].flags & MEDIA_PAD_FL_SINK))
				for (int k = 0; k < m->n_links; k++)
					if (m->links[k].sink == p)
						pad = p;
		}
		rev[n++].sink = pad;
	}
	c->n = n;
	for (int i = 0; i < n; i++)
		c->hop[i] = rev[n - 1 - i];
	return 0;
}

static void _chain_str(const struct _ctx_s *c, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < c->n && o + 1 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s\"%s\"", i ? " -> " : "", c->m->ents[c->hop[i].ent].name);
	if (o + 1 < len)
		snprintf(out + o, len - o, " -> \"%s\"", c->m->ents[c->video].name);
}

/* --- TRY negotiation ---------------------------------------------------- */

static int _record(struct _ctx_s *c, const struct _op_s *op)
{
	if (c->n_ops == _MAX_OPS) {
		_msg(c->err, c->errlen, "media pipeline needs more than %d configuration steps", _MAX_OPS);
		return -E2BIG;
	}
	c->ops[c->n_ops++] = *op;
	return 0;
}

static int _try_fmt(struct _ctx_s *c, int pad, struct v4l2_mbus_framefmt *f)
{
	int rc = cr_media_set_fmt(c->m, pad, V4L2_SUBDEV_FORMAT_TRY, f, c->err, c->errlen);
	if (rc < 0)
		return rc;
	return _record(c, &(struct _op_s){.pad = pad, .fmt = *f});
}

/* A selection step: the config's rectangle, else (strategy off) the ACTIVE
 * one copied so TRY mirrors the device; silently nothing where the pad has
 * no such target. */
static int _try_sel(struct _ctx_s *c, int pad, uint32_t target, const int *rect)
{
	struct v4l2_rect r;
	if (rect) {
		r = (struct v4l2_rect){.left = rect[0], .top = rect[1], .width = (uint32_t)rect[2],
				       .height = (uint32_t)rect[3]};
	} else if (c->strategy == _OFF) {
		if (cr_media_get_sel(c->m, pad, V4L2_SUBDEV_FORMAT_ACTIVE, target, &r, NULL, 0) < 0)
			return 0;
	} else {
		return 0;
	}
	struct v4l2_rect asked = r;
	int rc = cr_media_set_sel(c->m, pad, V4L2_SUBDEV_FORMAT_TRY, target, 0, &r, c->err, c->errlen);
	if (rc < 0)
		return rect ? rc : 0;
	if (rect && (r.left != asked.left || r.top != asked.top || r.width != asked.width || r.height != asked.height)) {
		char p[96];
		_msg(c->err, c->errlen,
		     "%s %s (%d,%d)/%ux%u from the config is not possible; the driver offers (%d,%d)/%ux%u: use that "
		     "in media.pads",
		     cr_media_pad_str(c->m, pad, p, sizeof(p)), target == V4L2_SEL_TGT_CROP ? "crop" : "compose",
		     asked.left, asked.top, asked.width, asked.height, r.left, r.top, r.width, r.height);
		return -EINVAL;
	}
	return _record(c, &(struct _op_s){.sel = true, .pad = pad, .target = target, .r = r});
}

static int _enum_codes(struct _ctx_s *c, int pad, uint32_t *out, int max)
{
	int fd = cr_media_subdev_fd(c->m, c->m->pads[pad].entity, NULL, 0);
	int n = 0;
	for (uint32_t i = 0; fd >= 0 && n < max; i++) {
		struct v4l2_subdev_mbus_code_enum e = {.pad = (uint32_t)c->m->pads[pad].index, .index = i,
						       .which = V4L2_SUBDEV_FORMAT_TRY};
		if (_xioctl(fd, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &e) < 0)
			break;
		out[n++] = e.code;
	}
	return n;
}

static bool _has(const uint32_t *codes, int n, uint32_t code)
{
	for (int i = 0; i < n; i++)
		if (codes[i] == code)
			return true;
	return false;
}

static bool _wanted_code(const struct _ctx_s *c, uint32_t code)
{
	return !c->fourcc || cr_mbus_to_fourcc(code) == c->fourcc;
}

/* The sensor size for a strategy: quality = the largest the sensor offers,
 * speed = the smallest discrete size covering the request (or the request
 * itself within a continuous range). */
static void _head_size(struct _ctx_s *c, int pad, uint32_t code, struct v4l2_mbus_framefmt *f)
{
	int fd = cr_media_subdev_fd(c->m, c->m->pads[pad].entity, NULL, 0);
	uint32_t bw = 0, bh = 0, W = (uint32_t)c->width, H = (uint32_t)c->height;
	bool quality = c->strategy == _QUALITY || !W || !H, found = false;
	for (uint32_t i = 0; fd >= 0 && i < 256; i++) {
		struct v4l2_subdev_frame_size_enum e = {.index = i, .pad = (uint32_t)c->m->pads[pad].index,
							.code = code, .which = V4L2_SUBDEV_FORMAT_TRY};
		if (_xioctl(fd, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, &e) < 0)
			break;
		uint32_t w = e.max_width, h = e.max_height;
		if (!quality) {
			if (e.min_width != e.max_width || e.min_height != e.max_height) {
				w = W < e.min_width ? e.min_width : W > e.max_width ? e.max_width : W;
				h = H < e.min_height ? e.min_height : H > e.max_height ? e.max_height : H;
			}
			bool covers = w >= W && h >= H, best_covers = found && bw >= W && bh >= H;
			if (found && (best_covers ? !covers || (uint64_t)w * h >= (uint64_t)bw * bh
						  : !covers && (uint64_t)w * h <= (uint64_t)bw * bh))
				continue;
		} else if (found && (uint64_t)w * h <= (uint64_t)bw * bh) {
			continue;
		}
		bw = w, bh = h, found = true;
	}
	if (found) {
		f->width = bw;
		f->height = bh;
	} else if (!quality) {
		f->width = W;
		f->height = H;
	}
}

/* A centred crop with the output's aspect ratio, so that scaling a full
 * sensor frame does not stretch it (quality strategy, where no crop is set). */
static int _aspect_crop(struct _ctx_s *c, int pad, const struct v4l2_mbus_framefmt *in)
{
	if (!c->width || !c->height || !in->width || !in->height)
		return 0;
	uint64_t a = (uint64_t)in->width * (uint32_t)c->height, b = (uint64_t)in->height * (uint32_t)c->width;
	if (a * 100 / b >= 99 && a * 100 / b <= 101)
		return 0;
	struct v4l2_rect r = {.width = in->width, .height = in->height};
	if (a > b)
		r.width = (uint32_t)(b / (uint32_t)c->height) & ~1u;
	else
		r.height = (uint32_t)(a / (uint32_t)c->width) & ~1u;
	r.left = (int32_t)((in->width - r.width) / 2) & ~1;
	r.top = (int32_t)((in->height - r.height) / 2) & ~1;
	if (cr_media_set_sel(c->m, pad, V4L2_SUBDEV_FORMAT_TRY, V4L2_SEL_TGT_CROP, 0, &r, NULL, 0) < 0)
		return 0; /* no sink crop on this entity: keep the full frame */
	return _record(c, &(struct _op_s){.sel = true, .pad = pad, .target = V4L2_SEL_TGT_CROP, .r = r});
}

static void _apply_cfg_fmt(const struct cr_media_pad_cfg_s *pc, struct v4l2_mbus_framefmt *f)
{
	if (!pc)
		return;
	if (pc->code)
		f->code = pc->code;
	if (pc->width)
		f->width = (uint32_t)pc->width;
	if (pc->height)
		f->height = (uint32_t)pc->height;
}

static void _mismatch(struct _ctx_s *c, int src, int sink, const struct v4l2_mbus_framefmt *a,
		      const struct v4l2_mbus_framefmt *b, const char *why)
{
	char pa[96], pb[96], fa[48], fb[48];
	const char *name = cr_mbus_name(a->code);
	_msg(c->err, c->errlen,
	     "link %s -> %s: the source pad gives %s but the sink pad %s %s; give both ends the same format, e.g. "
	     "[[...media.pads]] entity = \"%s\", pad = %d, format = \"%s\", width = %u, height = %u%s",
	     cr_media_pad_str(c->m, src, pa, sizeof(pa)), cr_media_pad_str(c->m, sink, pb, sizeof(pb)),
	     cr_media_fmt_str(a, fa, sizeof(fa)), why, cr_media_fmt_str(b, fb, sizeof(fb)),
	     c->m->ents[c->m->pads[sink].entity].name, c->m->pads[sink].index, name ? name : "?", a->width, a->height,
	     _pad_cfg(c, sink) || _pad_cfg(c, src) ? " (or drop the explicit pad formats and let media.strategy choose)"
						   : "");
}

/* The source pad code of an intermediate hop: the final wanted code when
 * the pad and the next sink pad both offer it, else the propagated code,
 * else the first code both offer. */
static uint32_t _mid_code(struct _ctx_s *c, int src, int next_sink, uint32_t propagated)
{
	uint32_t a[_MAX_CODES], b[_MAX_CODES];
	int na = _enum_codes(c, src, a, _MAX_CODES), nb = _enum_codes(c, next_sink, b, _MAX_CODES);
	if (!na || !nb)
		return propagated;
	for (int i = 0; i < na; i++)
		if (_wanted_code(c, a[i]) && c->fourcc && _has(b, nb, a[i]))
			return a[i];
	if (_has(a, na, propagated) && _has(b, nb, propagated))
		return propagated;
	for (int i = 0; i < na; i++)
		if (_has(b, nb, a[i]))
			return a[i];
	return propagated;
}

/* One hop after the head: sink format, crops, composes, source format. */
static int _negotiate_hop(struct _ctx_s *c, int i, struct v4l2_mbus_framefmt *up)
{
	struct cr_media_s *m = c->m;
	const struct _hop_s *h = &c->hop[i];
	const struct cr_media_pad_cfg_s *sc = _pad_cfg(c, h->sink), *oc = _pad_cfg(c, h->src);
	struct v4l2_mbus_framefmt f = *up;
	int rc;
	_apply_cfg_fmt(sc, &f);
	if ((rc = _try_fmt(c, h->sink, &f)) < 0)
		return rc;
	if (f.code != up->code || f.width != up->width || f.height != up->height) {
		_mismatch(c, c->hop[i - 1].src, h->sink, up, &f, sc ? "is configured to" : "only takes");
		return -EPIPE;
	}
	if ((rc = _try_sel(c, h->sink, V4L2_SEL_TGT_CROP, sc && sc->has_crop ? sc->crop : NULL)) < 0 ||
	    (rc = _try_sel(c, h->sink, V4L2_SEL_TGT_COMPOSE, sc && sc->has_compose ? sc->compose : NULL)) < 0)
		return rc;
	bool last = i == c->n - 1;
	if (last && c->strategy == _QUALITY && !(sc && sc->has_crop) && (rc = _aspect_crop(c, h->sink, &f)) < 0)
		return rc;
	if ((rc = _try_sel(c, h->src, V4L2_SEL_TGT_CROP, oc && oc->has_crop ? oc->crop : NULL)) < 0)
		return rc;
	/* Source format: start from what the driver propagated. */
	struct v4l2_mbus_framefmt o;
	if ((rc = cr_media_get_fmt(m, h->src, V4L2_SUBDEV_FORMAT_TRY, &o, c->err, c->errlen)) < 0)
		return rc;
	if (c->strategy == _OFF) {
		if ((rc = cr_media_get_fmt(m, h->src, V4L2_SUBDEV_FORMAT_ACTIVE, &o, c->err, c->errlen)) < 0)
			return rc;
	} else if (last) {
		if (c->fourcc && !_wanted_code(c, o.code))
			o.code = cr_mbus_from_fourcc(c->fourcc, 0);
		if (c->width && c->height)
			o.width = (uint32_t)c->width, o.height = (uint32_t)c->height;
	} else {
		o.code = _mid_code(c, h->src, c->hop[i + 1].sink, o.code);
	}
	_apply_cfg_fmt(oc, &o);
	if ((rc = _try_fmt(c, h->src, &o)) < 0)
		return rc;
	*up = o;
	return 0;
}

/* One attempt with a given sensor code (0 = keep, for strategy off). */
static int _attempt(struct _ctx_s *c, uint32_t head_code)
{
	struct cr_media_s *m = c->m;
	const struct _hop_s *h = &c->hop[0];
	const struct cr_media_pad_cfg_s *hc = _pad_cfg(c, h->src);
	struct v4l2_mbus_framefmt f;
	int rc;
	c->n_ops = 0;
	if ((rc = cr_media_get_fmt(m, h->src, V4L2_SUBDEV_FORMAT_ACTIVE, &f, c->err, c->errlen)) < 0)
		return rc;
	if (c->strategy != _OFF) {
		f.code = head_code;
		f.field = V4L2_FIELD_NONE;
		_head_size(c, h->src, head_code, &f);
	}
	_apply_cfg_fmt(hc, &f);
	if ((rc = _try_sel(c, h->src, V4L2_SEL_TGT_CROP, hc && hc->has_crop ? hc->crop : NULL)) < 0 ||
	    (rc = _try_fmt(c, h->src, &f)) < 0)
		return rc;
	for (int i = 1; i < c->n; i++) {
		if ((rc = _negotiate_hop(c, i, &f)) < 0) {
			c->progress = i;
			return rc;
		}
	}
	c->progress = c->n;
	/* The capture node takes what the last source pad gives. */
	uint32_t fourcc = cr_mbus_to_fourcc(f.code);
	if ((c->fourcc && fourcc != c->fourcc) || (c->width && (int)f.width != c->width) ||
	    (c->height && (int)f.height != c->height) || !fourcc) {
		char p[96], s[48], a[8], b[8];
		int last = c->hop[c->n - 1].src;
		_msg(c->err, c->errlen,
		     "link %s -> \"%s\":%d: the source pad gives %s (%s %ux%u at the capture node) but the capture is "
		     "configured for %s %dx%d; set capture width/height/pixel_format to match, or configure %s in "
		     "media.pads",
		     cr_media_pad_str(m, last, p, sizeof(p)), m->ents[c->video].name, m->pads[c->video_pad].index,
		     cr_media_fmt_str(&f, s, sizeof(s)), fourcc ? _fourcc_str(fourcc, a) : "no known pixel format",
		     f.width, f.height, c->fourcc ? _fourcc_str(c->fourcc, b) : "any", c->width, c->height, p);
		return -EPIPE;
	}
	return 0;
}

/* Sensor codes to try, in order: those the next hop's sink pad takes (in
 * its order of preference), or the wanted one when the sensor feeds the
 * capture node directly. */
static int _head_codes(struct _ctx_s *c, uint32_t *out, int max)
{
	const struct cr_media_pad_cfg_s *hc = _pad_cfg(c, c->hop[0].src);
	if (hc && hc->code) {
		out[0] = hc->code;
		return 1;
	}
	uint32_t a[_MAX_CODES], b[_MAX_CODES];
	int na = _enum_codes(c, c->hop[0].src, a, _MAX_CODES), n = 0;
	if (c->n == 1) {
		for (int i = 0; i < na && n < max; i++)
			if (_wanted_code(c, a[i]) && cr_mbus_to_fourcc(a[i]))
				out[n++] = a[i];
		return n;
	}
	int nb = _enum_codes(c, c->hop[1].sink, b, _MAX_CODES);
	for (int i = 0; i < nb && n < max; i++)
		if (!na || _has(a, na, b[i]))
			out[n++] = b[i];
	for (int i = 0; !nb && i < na && n < max; i++)
		out[n++] = a[i];
	return n;
}

static int _negotiate(struct _ctx_s *c, enum _strategy_e s)
{
	uint32_t codes[_MAX_CODES];
	char err[1024] = "";
	int best = -1, rc = -EPIPE;
	enum _strategy_e order[2] = {s == _QUALITY ? _QUALITY : _SPEED, s == _QUALITY ? _SPEED : _QUALITY};
	if (s == _OFF) {
		c->strategy = _OFF;
		return _attempt(c, 0);
	}
	for (int k = 0; k < 2; k++) {
		c->strategy = order[k];
		int n = _head_codes(c, codes, 16);
		if (n == 0) {
			char p[96], a[8];
			_msg(c->err, c->errlen, "%s offers no media bus code that gives %s at %s (see: camrelay media %s)",
			     cr_media_pad_str(c->m, c->hop[0].src, p, sizeof(p)),
			     c->fourcc ? _fourcc_str(c->fourcc, a) : "a known pixel format", c->m->ents[c->video].devnode,
			     c->m->path);
			return -EINVAL;
		}
		for (int i = 0; i < n; i++) {
			c->progress = 0;
			if ((rc = _attempt(c, codes[i])) == 0)
				return 0;
			if (c->progress > best) { /* keep the message of the attempt that got furthest */
				best = c->progress;
				snprintf(err, sizeof(err), "%s", c->err);
			}
		}
	}
	_msg(c->err, c->errlen, "%s", err);
	return rc;
}

/* --- ACTIVE ------------------------------------------------------------- */

static int _apply_links(struct _ctx_s *c)
{
	struct cr_media_s *m = c->m;
	int rc;
	for (int pass = 0; pass < 2; pass++) /* disable first: a sink pad takes one source */
		for (int l = 0; l < m->n_links; l++) {
			bool on = m->links[l].flags & MEDIA_LNK_FL_ENABLED;
			if (on != c->want[l] && c->want[l] == (pass == 1) &&
			    (rc = cr_media_setup_link(m, l, c->want[l], c->err, c->errlen)) < 0)
				return rc;
		}
	return 0;
}

static int _apply_active(struct _ctx_s *c)
{
	for (int i = 0; i < c->n_ops; i++) {
		struct _op_s *op = &c->ops[i];
		char p[96], a[48], b[48];
		int rc;
		if (op->sel) {
			struct v4l2_rect r = op->r;
			if ((rc = cr_media_set_sel(c->m, op->pad, V4L2_SUBDEV_FORMAT_ACTIVE, op->target, op->flags, &r,
						   c->err, c->errlen)) < 0)
				return rc;
			if (memcmp(&r, &op->r, sizeof(r)) != 0) {
				_msg(c->err, c->errlen,
				     "%s: the driver changed the ACTIVE selection (%d,%d)/%ux%u that TRY accepted to "
				     "(%d,%d)/%ux%u (a driver bug); set it explicitly in media.pads",
				     cr_media_pad_str(c->m, op->pad, p, sizeof(p)), op->r.left, op->r.top, op->r.width,
				     op->r.height, r.left, r.top, r.width, r.height);
				return -EIO;
			}
			continue;
		}
		struct v4l2_mbus_framefmt f = op->fmt;
		if ((rc = cr_media_set_fmt(c->m, op->pad, V4L2_SUBDEV_FORMAT_ACTIVE, &f, c->err, c->errlen)) < 0)
			return rc;
		if (f.code != op->fmt.code || f.width != op->fmt.width || f.height != op->fmt.height) {
			_msg(c->err, c->errlen,
			     "%s: the driver changed the ACTIVE format %s that TRY accepted to %s (a driver bug); set it "
			     "explicitly in media.pads",
			     cr_media_pad_str(c->m, op->pad, p, sizeof(p)), cr_media_fmt_str(&op->fmt, a, sizeof(a)),
			     cr_media_fmt_str(&f, b, sizeof(b)));
			return -EIO;
		}
	}
	return 0;
}

/* Sub-device controls by entity name: hidden duplicates of controls the
 * video node shows, or controls only the sub-device has. */
static void _norm(const char *in, char *out, size_t n)
{
	size_t o = 0;
	bool sep = false;
	for (; *in && o + 1 < n; in++) {
		if (isalnum((unsigned char)*in)) {
			if (sep && o)
				out[o++] = '_';
			if (o + 1 < n)
				out[o++] = (char)tolower((unsigned char)*in);
			sep = false;
		} else {
			sep = true;
		}
	}
	out[o] = 0;
}

static int _ctrl_value(int fd, const struct v4l2_query_ext_ctrl *q, const char *text, int64_t *v)
{
	char *end;
	if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
		*v = text[0] == 't';
		return 0;
	}
	*v = strtoll(text, &end, 0);
	if (*text && !*end)
		return 0;
	if (q->type != V4L2_CTRL_TYPE_MENU)
		return -EINVAL;
	char want[64], name[64];
	_norm(text, want, sizeof(want));
	for (int64_t i = q->minimum; i <= q->maximum; i++) {
		struct v4l2_querymenu qm = {.id = q->id, .index = (uint32_t)i};
		if (_xioctl(fd, VIDIOC_QUERYMENU, &qm) < 0)
			continue;
		_norm((const char *)qm.name, name, sizeof(name));
		if (strcmp(name, want) == 0) {
			*v = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int _set_control(struct _ctx_s *c, const struct cr_media_control_cfg_s *cc)
{
	struct cr_media_s *m = c->m;
	int e = cr_media_entity_by_name(m, cc->entity);
	if (e < 0) {
		char list[512];
		_entity_list(m, list, sizeof(list));
		_msg(c->err, c->errlen, "config line %d: no entity \"%s\" in %s; entities: %s", cc->line, cc->entity,
		     m->path, list);
		return -ENOENT;
	}
	int fd = cr_media_subdev_fd(m, e, c->err, c->errlen);
	if (fd < 0)
		return fd;
	char want[64], name[64], have[512] = "";
	size_t o = 0;
	_norm(cc->name, want, sizeof(want));
	struct v4l2_query_ext_ctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND};
	while (_xioctl(fd, VIDIOC_QUERY_EXT_CTRL, &q) == 0) {
		if (q.type != V4L2_CTRL_TYPE_CTRL_CLASS) {
			_norm(q.name, name, sizeof(name));
			if (strcmp(name, want) == 0)
				break;
			if (o + 1 < sizeof(have))
				o += (size_t)snprintf(have + o, sizeof(have) - o, "%s%s", o ? ", " : "", name);
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND;
	}
	if (strcmp(name, want) != 0) {
		_msg(c->err, c->errlen, "config line %d: \"%s\" (%s) has no control \"%s\"; it has: %s", cc->line,
		     cc->entity, m->ents[e].devnode, cc->name, have[0] ? have : "none");
		return -ENOENT;
	}
	int64_t v;
	if (_ctrl_value(fd, &q, cc->value, &v) < 0 || (q.type != V4L2_CTRL_TYPE_BUTTON && (v < q.minimum || v > q.maximum))) {
		_msg(c->err, c->errlen, "config line %d: value \"%s\" for control \"%s\" of \"%s\" is out of range (%lld..%lld%s)",
		     cc->line, cc->value, name, cc->entity, (long long)q.minimum, (long long)q.maximum,
		     q.type == V4L2_CTRL_TYPE_MENU ? ", or a menu item name" : "");
		return -ERANGE;
	}
	struct v4l2_ext_control ctl = {.id = q.id};
	if (q.type == V4L2_CTRL_TYPE_INTEGER64)
		ctl.value64 = v;
	else
		ctl.value = (int32_t)v;
	struct v4l2_ext_controls cs = {.which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1, .controls = &ctl};
	int rc = _xioctl(fd, VIDIOC_S_EXT_CTRLS, &cs);
	if (rc < 0)
		_msg(c->err, c->errlen, "VIDIOC_S_EXT_CTRLS on %s (\"%s\" %s = %lld) failed: %s", m->ents[e].devnode,
		     cc->entity, name, (long long)v, strerror(-rc));
	return rc;
}

/* --- validation ------------------------------------------------------------ */

static int _video_fmt(const char *node, uint32_t *fourcc, int *w, int *h)
{
	int fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	int rc = _xioctl(fd, VIDIOC_G_FMT, &f);
	if (rc == 0) {
		*fourcc = f.fmt.pix.pixelformat, *w = (int)f.fmt.pix.width, *h = (int)f.fmt.pix.height;
	} else {
		f = (struct v4l2_format){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE};
		if ((rc = _xioctl(fd, VIDIOC_G_FMT, &f)) == 0)
			*fourcc = f.fmt.pix_mp.pixelformat, *w = (int)f.fmt.pix_mp.width, *h = (int)f.fmt.pix_mp.height;
	}
	close(fd);
	return rc;
}

/* The entities streaming together with the video node: everything reachable
 * through enabled data links. Since 6.0 the kernel validates every enabled
 * link of that set at STREAMON (all pads of a sub-device count as
 * connected), so a sibling capture node fed by the same sensor pad must
 * agree with it too (vimc's Raw Capture 0 when streaming RGB/YUV Capture). */
static void _closure(const struct cr_media_s *m, int start, bool *in)
{
	int stack[256], n = 0;
	in[start] = true;
	stack[n++] = start;
	while (n) {
		int e = stack[--n];
		for (int l = 0; l < m->n_links; l++) {
			if (!(m->links[l].flags & MEDIA_LNK_FL_ENABLED))
				continue;
			int a = m->pads[m->links[l].source].entity, b = m->pads[m->links[l].sink].entity;
			int other = a == e ? b : b == e ? a : -1;
			if (other >= 0 && !in[other] && n < 256) {
				in[other] = true;
				stack[n++] = other;
			}
		}
	}
}

static bool _is_video(const struct cr_media_s *m, int e)
{
	return m->ents[e].intf_type == MEDIA_INTF_T_V4L_VIDEO && m->ents[e].devnode[0];
}

/* A sub-device source pad against the capture node it feeds. */
static int _check_node_link(struct _ctx_s *c, int l, uint32_t fourcc, int w, int h)
{
	struct cr_media_s *m = c->m;
	int src = m->links[l].source, e = m->pads[m->links[l].sink].entity;
	struct v4l2_mbus_framefmt a;
	int rc;
	if ((rc = cr_media_get_fmt(m, src, V4L2_SUBDEV_FORMAT_ACTIVE, &a, c->err, c->errlen)) < 0)
		return rc;
	if (e == c->video && c->own_open)
		return 0;
	if (e != c->video || !fourcc) {
		if (_video_fmt(m->ents[e].devnode, &fourcc, &w, &h) < 0)
			return 0; /* cannot tell; the kernel will */
	}
	uint32_t got = cr_mbus_to_fourcc(a.code);
	if (got == fourcc && (int)a.width == w && (int)a.height == h)
		return 0;
	char p[96], s[48], x[8], y[8];
	_msg(c->err, c->errlen,
	     "link %s -> \"%s\":%d: the source pad gives %s (%s %ux%u at %s) but %s is set to %s %dx%d; %s %s %ux%u%s%s",
	     cr_media_pad_str(m, src, p, sizeof(p)), m->ents[e].name, m->pads[m->links[l].sink].index,
	     cr_media_fmt_str(&a, s, sizeof(s)), got ? _fourcc_str(got, x) : "no known pixel format", a.width, a.height,
	     m->ents[e].devnode, m->ents[e].devnode, _fourcc_str(fourcc, y), w, h,
	     e == c->video ? "set the capture width/height/pixel_format to" : "set that node (it streams with this one) to",
	     got ? x : "?", a.width, a.height, e == c->video ? " or change " : "", e == c->video ? p : "");
	return -EPIPE;
}

/* Every enabled link of the pipeline against the ACTIVE state; the capture
 * node's format is (fourcc, w, h), or read from the node when 0. */
static int _validate(struct _ctx_s *c, uint32_t fourcc, int w, int h)
{
	struct cr_media_s *m = c->m;
	struct v4l2_mbus_framefmt a, b;
	int rc;
	for (int i = 0; i + 1 < c->n; i++) {
		int l = cr_media_link_between(m, c->hop[i].src, c->hop[i + 1].sink);
		char pa[96], pb[96];
		if (l < 0 || !(m->links[l].flags & MEDIA_LNK_FL_ENABLED)) {
			_msg(c->err, c->errlen, "link %s -> %s is not enabled; enable it in media.links",
			     cr_media_pad_str(m, c->hop[i].src, pa, sizeof(pa)),
			     cr_media_pad_str(m, c->hop[i + 1].sink, pb, sizeof(pb)));
			return -EPIPE;
		}
	}
	bool *in = calloc((size_t)m->n_ents + 1, sizeof(bool));
	if (!in)
		return -ENOMEM;
	_closure(m, c->video, in);
	rc = 0;
	for (int l = 0; l < m->n_links && rc == 0; l++) {
		int src = m->links[l].source, sink = m->links[l].sink;
		int se = m->pads[src].entity, ke = m->pads[sink].entity;
		if (!(m->links[l].flags & MEDIA_LNK_FL_ENABLED) || !in[se] || !cr_media_is_subdev(m, se))
			continue;
		if (_is_video(m, ke)) {
			rc = _check_node_link(c, l, fourcc, w, h);
			continue;
		}
		if (!cr_media_is_subdev(m, ke))
			continue;
		if ((rc = cr_media_get_fmt(m, src, V4L2_SUBDEV_FORMAT_ACTIVE, &a, c->err, c->errlen)) < 0 ||
		    (rc = cr_media_get_fmt(m, sink, V4L2_SUBDEV_FORMAT_ACTIVE, &b, c->err, c->errlen)) < 0)
			break;
		if (a.code != b.code || a.width != b.width || a.height != b.height) {
			_mismatch(c, src, sink, &a, &b, "has");
			rc = -EPIPE;
		} else if (a.field != b.field && b.field != V4L2_FIELD_NONE) {
			char pa[96], pb[96];
			_msg(c->err, c->errlen, "link %s -> %s: the source pad's field order %u differs from the sink pad's %u",
			     cr_media_pad_str(m, src, pa, sizeof(pa)), cr_media_pad_str(m, sink, pb, sizeof(pb)), a.field,
			     b.field);
			rc = -EPIPE;
		}
	}
	free(in);
	return rc;
}

static int _sync_node(struct _ctx_s *c, int src, int e, const struct v4l2_mbus_framefmt *a)
{
	struct cr_media_s *m = c->m;
	uint32_t fourcc = cr_mbus_to_fourcc(a->code), have = 0;
	int w = 0, h = 0;
	if (!fourcc || (_video_fmt(m->ents[e].devnode, &have, &w, &h) == 0 && have == fourcc &&
			(uint32_t)w == a->width && (uint32_t)h == a->height))
		return 0;
	int fd = open(m->ents[e].devnode, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	f.fmt.pix.width = a->width;
	f.fmt.pix.height = a->height;
	f.fmt.pix.pixelformat = fourcc;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	int rc = _xioctl(fd, VIDIOC_S_FMT, &f);
	if (rc < 0) {
		char p[96], x[8];
		_msg(c->err, c->errlen,
		     "%s (\"%s\") streams together with %s (both fed by %s) but VIDIOC_S_FMT %s %ux%u on it failed: %s%s",
		     m->ents[e].devnode, m->ents[e].name, m->ents[c->video].devnode, cr_media_pad_str(m, src, p, sizeof(p)),
		     _fourcc_str(fourcc, x), a->width, a->height, strerror(-rc),
		     rc == -EBUSY ? "; another program captures from it: stop it first" : "");
	}
	close(fd);
	return rc;
}

/* Branches that stream together with the configured chain (enabled links
 * out of its source pads to entities off the chain: vimc's Raw Capture 0
 * and Debayer A both hang off Sensor A) get the format their source pad
 * gives, so the kernel's STREAMON check of the whole pipeline passes. A
 * sub-device sink pad that cannot take it, or a node that is streaming,
 * fails here with the link named. */
static int _sync_siblings(struct _ctx_s *c)
{
	struct cr_media_s *m = c->m;
	int *work = calloc((size_t)m->n_pads + 1, sizeof(int));
	bool *seen = calloc((size_t)m->n_pads + 1, sizeof(bool)), *on_chain = calloc((size_t)m->n_ents + 1, sizeof(bool));
	int n = 0, rc = 0;
	if (!work || !seen || !on_chain) {
		free(work), free(seen), free(on_chain);
		return -ENOMEM;
	}
	on_chain[c->video] = true;
	for (int i = 0; i < c->n; i++) {
		on_chain[c->hop[i].ent] = true;
		seen[c->hop[i].src] = true;
		work[n++] = c->hop[i].src;
	}
	while (n && rc == 0) {
		int src = work[--n];
		struct v4l2_mbus_framefmt a;
		if (cr_media_get_fmt(m, src, V4L2_SUBDEV_FORMAT_ACTIVE, &a, NULL, 0) < 0)
			continue;
		for (int l = 0; l < m->n_links && rc == 0; l++) {
			int sink = m->links[l].sink, e = m->pads[sink].entity;
			if (m->links[l].source != src || !(m->links[l].flags & MEDIA_LNK_FL_ENABLED) || on_chain[e])
				continue;
			if (_is_video(m, e)) {
				rc = _sync_node(c, src, e, &a);
				continue;
			}
			if (!cr_media_is_subdev(m, e))
				continue;
			struct v4l2_mbus_framefmt b = a;
			if ((rc = cr_media_set_fmt(m, sink, V4L2_SUBDEV_FORMAT_ACTIVE, &b, c->err, c->errlen)) < 0)
				break;
			if (b.code != a.code || b.width != a.width || b.height != a.height) {
				_mismatch(c, src, sink, &a, &b, "(which streams with this pipeline) only takes");
				rc = -EPIPE;
				break;
			}
			for (int i = 0; i < m->ents[e].n_pads && n < m->n_pads; i++) {
				int p = cr_media_pad(m, e, i);
				if (p >= 0 && (m->pads[p].flags & MEDIA_PAD_FL_SOURCE) && !seen[p]) {
					seen[p] = true;
					work[n++] = p;
				}
			}
		}
	}
	free(work), free(seen), free(on_chain);
	return rc;
}

static int _video_pad(const struct cr_media_s *m, int video)
{
	for (int i = 0; i < m->ents[video].n_pads; i++) {
		int p = cr_media_pad(m, video, i);
		if (p >= 0 && (m->pads[p].flags & MEDIA_PAD_FL_SINK))
			return p;
	}
	return -1;
}

static bool _has_subdevs(const struct cr_media_s *m)
{
	for (int e = 0; e < m->n_ents; e++)
		if (cr_media_is_subdev(m, e))
			return true;
	return false;
}

static int _strategy(const struct cr_capture_cfg_s *cfg)
{
	if (!cfg || !cfg->media.strategy[0])
		return _AUTO;
	for (int i = 0; i < 4; i++)
		if (strcmp(cfg->media.strategy, _strategy_names[i]) == 0)
			return i;
	return -1;
}

static void _describe(struct _ctx_s *c, char *note, size_t len, enum _strategy_e asked)
{
	size_t o = 0;
	char p[96], f[48];
	o += (size_t)snprintf(note, len, "media %s (%s, strategy %s%s%s):", c->m->path, c->m->model,
			      _strategy_names[asked], asked == _AUTO || asked != c->strategy ? " -> " : "",
			      asked == _AUTO || asked != c->strategy ? _strategy_names[c->strategy] : "");
	for (int i = 0; i < c->n && o + 1 < len; i++) {
		struct v4l2_mbus_framefmt a;
		if (cr_media_get_fmt(c->m, c->hop[i].src, V4L2_SUBDEV_FORMAT_ACTIVE, &a, NULL, 0) < 0)
			continue;
		o += (size_t)snprintf(note + o, len - o, "%s %s %s", i ? " ->" : "",
				      cr_media_pad_str(c->m, c->hop[i].src, p, sizeof(p)), cr_media_fmt_str(&a, f, sizeof(f)));
	}
}

int cr_media_prepare(const char *video_node, const struct cr_capture_cfg_s *cfg, int width, int height,
		     uint32_t fourcc, char *note, size_t notelen, char *err, size_t errlen)
{
	struct _ctx_s c = {.width = width, .height = height, .fourcc = fourcc, .err = err, .errlen = errlen};
	c.cfg = cfg ? &cfg->media : NULL;
	c.own_open = !fourcc || !width || !height;
	if (note && notelen)
		note[0] = 0;
	int asked = _strategy(cfg);
	if (asked < 0) {
		_msg(err, errlen, "media.strategy \"%s\" is not one of: auto, quality, speed, off", cfg->media.strategy);
		return -EINVAL;
	}
	int rc = cr_media_find_for_video(video_node, &c.m, &c.video, err, errlen);
	if (rc <= 0)
		return rc;
	struct cr_media_s *m = c.m;
	if (!_has_subdevs(m) || (c.video_pad = _video_pad(m, c.video)) < 0) {
		_msg(note, notelen, "%s has a media graph (%s) without sub-devices to configure", video_node, m->path);
		cr_media_close(m);
		return 0;
	}
	c.want = calloc((size_t)m->n_links + 1, sizeof(bool));
	if (!c.want) {
		cr_media_close(m);
		return -ENOMEM;
	}
	for (int l = 0; l < m->n_links; l++)
		c.want[l] = m->links[l].flags & MEDIA_LNK_FL_ENABLED;
	c.strategy = (enum _strategy_e)asked;
	char chain[512];
	if ((rc = _plan_cfg_links(&c)) < 0 || (rc = _build_chain(&c)) < 0)
		goto out;
	_chain_str(&c, chain, sizeof(chain));
	/* Explicit pads must be on this pipeline: anything else is a typo. */
	for (int i = 0; c.cfg && i < c.cfg->n_pads; i++) {
		const struct cr_media_pad_cfg_s *pc = &c.cfg->pads[i];
		int p = _cfg_pad(&c, pc->entity, pc->pad, 0, pc->line), found = 0;
		if (p < 0) {
			rc = p;
			goto out;
		}
		for (int k = 0; k < c.n; k++)
			found |= c.hop[k].src == p || c.hop[k].sink == p;
		if (!found) {
			_msg(err, errlen, "config line %d: pad \"%s\":%d is not on the pipeline feeding %s (%s)", pc->line,
			     pc->entity, pc->pad, video_node, chain);
			rc = -EINVAL;
			goto out;
		}
	}
	if ((rc = _negotiate(&c, (enum _strategy_e)asked)) < 0) {
		size_t o = strlen(err);
		_msg(err + o, errlen - o, " [pipeline %s; nothing was changed on the device]", chain);
		goto out;
	}
	if ((rc = _apply_links(&c)) < 0 || (rc = _apply_active(&c)) < 0)
		goto out;
	for (int i = 0; c.cfg && i < c.cfg->n_controls; i++)
		if ((rc = _set_control(&c, &c.cfg->controls[i])) < 0)
			goto out;
	if ((rc = _sync_siblings(&c)) < 0 || (rc = _validate(&c, fourcc, width, height)) < 0)
		goto out;
	_describe(&c, note, notelen, (enum _strategy_e)asked);
out:
	free(c.want);
	cr_media_close(m);
	return rc;
}

int cr_media_explain_epipe(const char *video_node, char *msg, size_t len)
{
	struct _ctx_s c = {.err = msg, .errlen = len, .strategy = _OFF};
	int rc = cr_media_find_for_video(video_node, &c.m, &c.video, msg, len);
	if (rc <= 0) {
		if (rc == 0)
			_msg(msg, len, "%s is not part of a media graph; the driver rejected its format combination", video_node);
		return rc;
	}
	struct cr_media_s *m = c.m;
	c.want = calloc((size_t)m->n_links + 1, sizeof(bool));
	if (!c.want || (c.video_pad = _video_pad(m, c.video)) < 0) {
		rc = c.want ? -ENODEV : -ENOMEM;
		_msg(msg, len, "cannot read the pipeline of %s", video_node);
		goto out;
	}
	for (int l = 0; l < m->n_links; l++)
		c.want[l] = m->links[l].flags & MEDIA_LNK_FL_ENABLED;
	uint32_t fourcc = 0;
	int w = 0, h = 0;
	_video_fmt(video_node, &fourcc, &w, &h);
	if ((rc = _build_chain(&c)) == 0 && (rc = _validate(&c, fourcc, w, h)) == 0) {
		char chain[512];
		_chain_str(&c, chain, sizeof(chain));
		_msg(msg, len,
		     "every link of %s has the same format at both ends; the driver refused the pipeline for another "
		     "reason (see dmesg)",
		     chain);
	}
	rc = 0;
out:
	free(c.want);
	cr_media_close(m);
	return rc;
}
