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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "media/media_priv.h"

static const char *const _strategy_names[] = {"auto", "quality", "speed", "off"};

const char *cr_mp_fourcc_str(uint32_t f, char buf[8])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		buf[i] = isprint((unsigned char)c) ? c : '.';
	}
	buf[4] = 0;
	return buf;
}
static const struct cr_media_pad_cfg_s *_pad_cfg(const struct cr_mp_ctx_s *c, int pad)
{
	if (!c->cfg)
		return NULL;
	const struct cr_media_pad_s *p = &c->m->pads[pad];
	for (int i = 0; i < c->cfg->n_pads; i++)
		if (c->cfg->pads[i].pad == p->index && strcmp(c->cfg->pads[i].entity, c->m->ents[p->entity].name) == 0)
			return &c->cfg->pads[i];
	return NULL;
}

void cr_mp_entity_list(const struct cr_media_s *m, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < m->n_ents && o + 1 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s\"%s\"", i ? ", " : "", m->ents[i].name);
}

/* An entity name and pad number from the config, as a pad index. */
static int _cfg_pad(struct cr_mp_ctx_s *c, const char *entity, int index, uint32_t dir, int line)
{
	struct cr_media_s *m = c->m;
	int e = cr_media_entity_by_name(m, entity);
	if (e < 0) {
		char list[512];
		cr_mp_entity_list(m, list, sizeof(list));
		cr_msgf(c->err, c->errlen, "config line %d: no entity \"%s\" in %s (%s); entities: %s", line, entity,
		     m->path, m->model, list);
		return -ENOENT;
	}
	int p = cr_media_pad(m, e, index);
	if (p < 0 || (dir && !(m->pads[p].flags & dir))) {
		cr_msgf(c->err, c->errlen, "config line %d: entity \"%s\" has no %s pad %d (it has %d pad%s; see: camrelay media %s)",
		     line, entity, dir == MEDIA_PAD_FL_SOURCE ? "source" : dir == MEDIA_PAD_FL_SINK ? "sink" : "",
		     index, m->ents[e].n_pads, m->ents[e].n_pads == 1 ? "" : "s", m->path);
		return -ENOENT;
	}
	return p;
}

/* Explicit links from the config, into the plan. */
static int _plan_cfg_links(struct cr_mp_ctx_s *c)
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
			cr_msgf(c->err, c->errlen, "config line %d: %s has no link %s -> %s (see: camrelay media %s)", lc->line,
			     m->path, pa, pb, m->path);
			return -ENOENT;
		}
		bool on = m->links[l].flags & MEDIA_LNK_FL_ENABLED;
		if ((m->links[l].flags & MEDIA_LNK_FL_IMMUTABLE) && on != lc->enabled) {
			cr_msgf(c->err, c->errlen,
			     "config line %d: link %s -> %s is immutable (always %s): the driver does not allow %s it; "
			     "remove it from media.links",
			     lc->line, pa, pb, on ? "enabled" : "disabled", lc->enabled ? "enabling" : "disabling");
			return -EPERM;
		}
		c->want[l] = lc->enabled;
		c->fixed[l] = true;
		/* One source feeds a sink pad: enabling a link disables its rivals
		 * unless the config says otherwise. */
		for (int j = 0; lc->enabled && j < m->n_links; j++)
			if (j != l && m->links[j].sink == b && !(m->links[j].flags & MEDIA_LNK_FL_IMMUTABLE))
				c->want[j] = false;
	}
	return 0;
}

/* Does following links upstream from entity e reach an entity without sink
 * pads (a sensor or test pattern generator)? With sensor: a camera sensor. */
static bool _reaches_head(const struct cr_media_s *m, int e, int depth, bool sensor)
{
	if (depth > CR_MP_MAX_HOPS)
		return false;
	bool has_sink = false;
	for (int l = 0; l < m->n_links; l++) {
		if (m->pads[m->links[l].sink].entity != e)
			continue;
		has_sink = true;
		if (_reaches_head(m, m->pads[m->links[l].source].entity, depth + 1, sensor))
			return true;
	}
	return !has_sink && (!sensor || m->ents[e].function == MEDIA_ENT_F_CAM_SENSOR);
}

/* The link to follow upstream from a sink pad, planning to enable one when
 * none is. -errno with a message when there is no way. */
static int _upstream_link(struct cr_mp_ctx_s *c, int pad)
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
		cr_msgf(c->err, c->errlen, "%d enabled links feed %s of %s; disable all but one in media.links", n_on, p,
		     m->path);
		return -EINVAL;
	}
	if (n == 0) {
		cr_msgf(c->err, c->errlen, "no link feeds %s of %s: nothing upstream can be configured", p, m->path);
		return -ENOENT;
	}
	if (c->strategy == CR_MP_OFF) {
		char q[96];
		cr_msgf(c->err, c->errlen,
		     "no enabled link feeds %s of %s and media.strategy is \"off\"; enable one in media.links (e.g. "
		     "source = \"%s:%d\", sink = \"%s:%d\", enabled = true)",
		     p, m->path, m->ents[m->pads[m->links[cand[0]].source].entity].name,
		     m->pads[m->links[cand[0]].source].index, m->ents[m->pads[pad].entity].name, m->pads[pad].index);
		(void)q;
		return -EINVAL;
	}
	/* Prefer a way up to a camera sensor, then anything that leads to a
	 * head; among equals, the driver's link order. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			int e = m->pads[m->links[cand[i]].source].entity;
			if (c->fixed[cand[i]] || !_reaches_head(m, e, 0, pass == 0))
				continue;
			c->want[cand[i]] = true;
			return cand[i];
		}
	cr_msgf(c->err, c->errlen, "no link into %s of %s leads to a source entity", p, m->path);
	return -ENOENT;
}

/* Builds c->hop[] from the video node up to the head. */
static int _build_chain(struct cr_mp_ctx_s *c)
{
	struct cr_media_s *m = c->m;
	struct cr_mp_hop_s rev[CR_MP_MAX_HOPS];
	int n = 0, pad = c->video_pad;
	while (pad >= 0) {
		if (n == CR_MP_MAX_HOPS) {
			cr_msgf(c->err, c->errlen, "the pipeline feeding %s is longer than %d entities (a loop?)",
			     m->ents[c->video].devnode, CR_MP_MAX_HOPS);
			return -ELOOP;
		}
		int l = _upstream_link(c, pad);
		if (l < 0)
			return l;
		int src = m->links[l].source, e = m->pads[src].entity;
		if (!cr_media_is_subdev(m, e)) {
			cr_msgf(c->err, c->errlen,
			     "entity \"%s\" upstream of %s has no sub-device node, so its pads cannot be configured "
			     "(the driver configures it itself; set media.strategy = \"off\")",
			     m->ents[e].name, m->ents[c->video].devnode);
			return -ENODEV;
		}
		rev[n] = (struct cr_mp_hop_s){.ent = e, .sink = -1, .src = src};
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

static void _chain_str(const struct cr_mp_ctx_s *c, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < c->n && o + 1 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s\"%s\"", i ? " -> " : "", c->m->ents[c->hop[i].ent].name);
	if (o + 1 < len)
		snprintf(out + o, len - o, " -> \"%s\"", c->m->ents[c->video].name);
}

/* --- TRY negotiation ---------------------------------------------------- */

int cr_mp_record(struct cr_mp_ctx_s *c, const struct cr_mp_op_s *op)
{
	if (c->n_ops == CR_MP_MAX_OPS) {
		cr_msgf(c->err, c->errlen, "media pipeline needs more than %d configuration steps", CR_MP_MAX_OPS);
		return -E2BIG;
	}
	c->ops[c->n_ops++] = *op;
	return 0;
}

static int _try_fmt(struct cr_mp_ctx_s *c, int pad, struct v4l2_mbus_framefmt *f)
{
	int rc = cr_media_set_fmt(c->m, pad, V4L2_SUBDEV_FORMAT_TRY, f, c->err, c->errlen);
	if (rc < 0)
		return rc;
	return cr_mp_record(c, &(struct cr_mp_op_s){.pad = pad, .fmt = *f});
}

/* A selection step: the config's rectangle, else (strategy off) the ACTIVE
 * one copied so TRY mirrors the device; silently nothing where the pad has
 * no such target. */
static int _try_sel(struct cr_mp_ctx_s *c, int pad, uint32_t target, const int *rect)
{
	struct v4l2_rect r;
	if (rect) {
		r = (struct v4l2_rect){.left = rect[0], .top = rect[1], .width = (uint32_t)rect[2],
				       .height = (uint32_t)rect[3]};
	} else if (c->strategy == CR_MP_OFF) {
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
		cr_msgf(c->err, c->errlen,
		     "%s %s (%d,%d)/%ux%u from the config is not possible; the driver offers (%d,%d)/%ux%u: use that "
		     "in media.pads",
		     cr_media_pad_str(c->m, pad, p, sizeof(p)), target == V4L2_SEL_TGT_CROP ? "crop" : "compose",
		     asked.left, asked.top, asked.width, asked.height, r.left, r.top, r.width, r.height);
		return -EINVAL;
	}
	return cr_mp_record(c, &(struct cr_mp_op_s){.sel = true, .pad = pad, .target = target, .r = r});
}

static int _enum_codes(struct cr_mp_ctx_s *c, int pad, uint32_t *out, int max)
{
	int fd = cr_media_subdev_fd(c->m, c->m->pads[pad].entity, NULL, 0);
	int n = 0;
	for (uint32_t i = 0; fd >= 0 && n < max; i++) {
		struct v4l2_subdev_mbus_code_enum e = {.pad = (uint32_t)c->m->pads[pad].index, .index = i,
						       .which = V4L2_SUBDEV_FORMAT_TRY};
		if (cr_v4l2_ioctl(fd, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &e) < 0)
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

static bool _wanted_code(const struct cr_mp_ctx_s *c, uint32_t code)
{
	return !c->fourcc || cr_mbus_to_fourcc(code) == c->fourcc;
}

/* The sensor size for a strategy: quality = the largest the sensor offers,
 * speed = the smallest discrete size covering the request (or the request
 * itself within a continuous range). */
static void _head_size(struct cr_mp_ctx_s *c, int pad, uint32_t code, struct v4l2_mbus_framefmt *f)
{
	int fd = cr_media_subdev_fd(c->m, c->m->pads[pad].entity, NULL, 0);
	uint32_t bw = 0, bh = 0, W = (uint32_t)c->width, H = (uint32_t)c->height;
	bool quality = c->strategy == CR_MP_QUALITY || !W || !H, found = false;
	for (uint32_t i = 0; fd >= 0 && i < 256; i++) {
		struct v4l2_subdev_frame_size_enum e = {.index = i, .pad = (uint32_t)c->m->pads[pad].index,
							.code = code, .which = V4L2_SUBDEV_FORMAT_TRY};
		if (cr_v4l2_ioctl(fd, VIDIOC_SUBDEV_ENUM_FRAME_SIZE, &e) < 0)
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
static int _aspect_crop(struct cr_mp_ctx_s *c, int pad, const struct v4l2_mbus_framefmt *in)
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
	/* LE: the driver may round the rectangle down, never past the frame. */
	if (cr_media_set_sel(c->m, pad, V4L2_SUBDEV_FORMAT_TRY, V4L2_SEL_TGT_CROP, V4L2_SEL_FLAG_LE, &r, NULL, 0) < 0)
		return 0; /* no sink crop on this entity: keep the full frame */
	return cr_mp_record(c, &(struct cr_mp_op_s){.sel = true, .pad = pad, .target = V4L2_SEL_TGT_CROP,
						.flags = V4L2_SEL_FLAG_LE, .r = r});
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

void cr_mp_mismatch(struct cr_mp_ctx_s *c, int src, int sink, const struct v4l2_mbus_framefmt *a,
		      const struct v4l2_mbus_framefmt *b, const char *why)
{
	char pa[96], pb[96], fa[48], fb[48];
	const char *name = cr_mbus_name(a->code);
	cr_msgf(c->err, c->errlen,
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
static uint32_t _mid_code(struct cr_mp_ctx_s *c, int src, int next_sink, uint32_t propagated)
{
	uint32_t a[CR_MP_MAX_CODES], b[CR_MP_MAX_CODES];
	int na = _enum_codes(c, src, a, CR_MP_MAX_CODES), nb = _enum_codes(c, next_sink, b, CR_MP_MAX_CODES);
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
static int _negotiate_hop(struct cr_mp_ctx_s *c, int i, struct v4l2_mbus_framefmt *up)
{
	struct cr_media_s *m = c->m;
	const struct cr_mp_hop_s *h = &c->hop[i];
	const struct cr_media_pad_cfg_s *sc = _pad_cfg(c, h->sink), *oc = _pad_cfg(c, h->src);
	struct v4l2_mbus_framefmt f = *up;
	int rc;
	/* Strategy off configures nothing by itself: the sink keeps its ACTIVE
	 * format unless the config names one, and a mismatch is reported. */
	if (c->strategy == CR_MP_OFF && (rc = cr_media_get_fmt(m, h->sink, V4L2_SUBDEV_FORMAT_ACTIVE, &f, c->err,
								  c->errlen)) < 0)
		return rc;
	_apply_cfg_fmt(sc, &f);
	if ((rc = _try_fmt(c, h->sink, &f)) < 0)
		return rc;
	if (f.code != up->code || f.width != up->width || f.height != up->height) {
		cr_mp_mismatch(c, c->hop[i - 1].src, h->sink, up, &f,
			       sc ? "is configured to" : c->strategy == CR_MP_OFF ? "has" : "only takes");
		return -EPIPE;
	}
	if ((rc = _try_sel(c, h->sink, V4L2_SEL_TGT_CROP, sc && sc->has_crop ? sc->crop : NULL)) < 0 ||
	    (rc = _try_sel(c, h->sink, V4L2_SEL_TGT_COMPOSE, sc && sc->has_compose ? sc->compose : NULL)) < 0)
		return rc;
	bool last = i == c->n - 1;
	if (last && c->strategy == CR_MP_QUALITY && !(sc && sc->has_crop) && (rc = _aspect_crop(c, h->sink, &f)) < 0)
		return rc;
	if ((rc = _try_sel(c, h->src, V4L2_SEL_TGT_CROP, oc && oc->has_crop ? oc->crop : NULL)) < 0)
		return rc;
	/* Source format: start from what the driver propagated. */
	struct v4l2_mbus_framefmt o;
	if ((rc = cr_media_get_fmt(m, h->src, V4L2_SUBDEV_FORMAT_TRY, &o, c->err, c->errlen)) < 0)
		return rc;
	if (c->strategy == CR_MP_OFF) {
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

/* " (that pad offers RGB3, BGR3)": the pixel formats its bus codes carry. */
static void _offers(struct cr_mp_ctx_s *c, int pad, char *out, size_t len)
{
	uint32_t codes[CR_MP_MAX_CODES], seen[CR_MP_MAX_CODES];
	int n = _enum_codes(c, pad, codes, CR_MP_MAX_CODES), k = 0;
	size_t o = 0;
	for (int i = 0; i < n && o + 16 < len; i++) {
		uint32_t f = cr_mbus_to_fourcc(codes[i]);
		char x[8];
		if (!f || _has(seen, k, f))
			continue;
		seen[k++] = f;
		o += (size_t)snprintf(out + o, len - o, "%s%s", k == 1 ? " (that pad offers " : ", ", cr_mp_fourcc_str(f, x));
	}
	if (o && o + 2 < len)
		snprintf(out + o, len - o, ")");
}

/* One attempt with a given sensor code (0 = keep, for strategy off). */
static int _attempt(struct cr_mp_ctx_s *c, uint32_t head_code)
{
	struct cr_media_s *m = c->m;
	const struct cr_mp_hop_s *h = &c->hop[0];
	const struct cr_media_pad_cfg_s *hc = _pad_cfg(c, h->src);
	struct v4l2_mbus_framefmt f;
	int rc;
	c->n_ops = 0;
	if ((rc = cr_media_get_fmt(m, h->src, V4L2_SUBDEV_FORMAT_ACTIVE, &f, c->err, c->errlen)) < 0)
		return rc;
	if (c->strategy != CR_MP_OFF) {
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
		char p[96], s[48], a[8], b[8], offers[160] = "";
		int last = c->hop[c->n - 1].src;
		if (c->fourcc && fourcc != c->fourcc)
			_offers(c, last, offers, sizeof(offers));
		cr_msgf(c->err, c->errlen,
		     "link %s -> \"%s\":%d: the source pad gives %s (%s %ux%u at the capture node) but the capture is "
		     "configured for %s %dx%d%s; set capture width/height/pixel_format to match, or configure %s in "
		     "media.pads",
		     cr_media_pad_str(m, last, p, sizeof(p)), m->ents[c->video].name, m->pads[c->video_pad].index,
		     cr_media_fmt_str(&f, s, sizeof(s)), fourcc ? cr_mp_fourcc_str(fourcc, a) : "no known pixel format",
		     f.width, f.height, c->fourcc ? cr_mp_fourcc_str(c->fourcc, b) : "any", c->width, c->height, offers, p);
		return -EPIPE;
	}
	/* Branches that stream along must take it too (still TRY). */
	return cr_mp_sync_siblings(c, V4L2_SUBDEV_FORMAT_TRY);
}

/* Sensor codes to try, in order: those the next hop's sink pad takes (in
 * its order of preference), or the wanted one when the sensor feeds the
 * capture node directly. */
static int _head_codes(struct cr_mp_ctx_s *c, uint32_t *out, int max)
{
	const struct cr_media_pad_cfg_s *hc = _pad_cfg(c, c->hop[0].src);
	if (hc && hc->code) {
		out[0] = hc->code;
		return 1;
	}
	uint32_t a[CR_MP_MAX_CODES], b[CR_MP_MAX_CODES];
	int na = _enum_codes(c, c->hop[0].src, a, CR_MP_MAX_CODES), n = 0;
	if (c->n == 1) {
		for (int i = 0; i < na && n < max; i++)
			if (_wanted_code(c, a[i]) && cr_mbus_to_fourcc(a[i]))
				out[n++] = a[i];
		return n;
	}
	int nb = _enum_codes(c, c->hop[1].sink, b, CR_MP_MAX_CODES);
	for (int i = 0; i < nb && n < max; i++)
		if (!na || _has(a, na, b[i]))
			out[n++] = b[i];
	for (int i = 0; !nb && i < na && n < max; i++)
		out[n++] = a[i];
	return n;
}

static int _negotiate(struct cr_mp_ctx_s *c, enum cr_mp_strategy_e s)
{
	uint32_t codes[CR_MP_MAX_CODES];
	char err[1024] = "";
	int best = -1, rc = -EPIPE;
	enum cr_mp_strategy_e order[2] = {s == CR_MP_QUALITY ? CR_MP_QUALITY : CR_MP_SPEED, s == CR_MP_QUALITY ? CR_MP_SPEED : CR_MP_QUALITY};
	if (s == CR_MP_OFF) {
		c->strategy = CR_MP_OFF;
		return _attempt(c, 0);
	}
	for (int k = 0; k < 2; k++) {
		c->strategy = order[k];
		int n = _head_codes(c, codes, 16);
		if (n == 0) {
			char p[96], a[8];
			cr_msgf(c->err, c->errlen, "%s offers no media bus code that gives %s at %s (see: camrelay media %s)",
			     cr_media_pad_str(c->m, c->hop[0].src, p, sizeof(p)),
			     c->fourcc ? cr_mp_fourcc_str(c->fourcc, a) : "a known pixel format", c->m->ents[c->video].devnode,
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
	cr_msgf(c->err, c->errlen, "%s", err);
	return rc;
}

/* --- ACTIVE ------------------------------------------------------------- */

static int _apply_links(struct cr_mp_ctx_s *c)
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

static int _apply_active(struct cr_mp_ctx_s *c)
{
	for (int i = 0; i < c->n_ops; i++) {
		struct cr_mp_op_s *op = &c->ops[i];
		char p[96], a[48], b[48];
		int rc;
		/* EBUSY: the pipeline streams (another node of it); fine if the
		 * pad already is as wanted. */
		if (op->sel) {
			struct v4l2_rect r = op->r, cur;
			rc = cr_media_set_sel(c->m, op->pad, V4L2_SUBDEV_FORMAT_ACTIVE, op->target, op->flags, &r, c->err,
					      c->errlen);
			if (rc == -EBUSY &&
			    cr_media_get_sel(c->m, op->pad, V4L2_SUBDEV_FORMAT_ACTIVE, op->target, &cur, NULL, 0) == 0 &&
			    memcmp(&cur, &op->r, sizeof(cur)) == 0)
				continue;
			if (rc < 0)
				return rc;
			if (memcmp(&r, &op->r, sizeof(r)) != 0) {
				cr_msgf(c->err, c->errlen,
				     "%s: the driver changed the ACTIVE selection (%d,%d)/%ux%u that TRY accepted to "
				     "(%d,%d)/%ux%u (a driver bug); set it explicitly in media.pads",
				     cr_media_pad_str(c->m, op->pad, p, sizeof(p)), op->r.left, op->r.top, op->r.width,
				     op->r.height, r.left, r.top, r.width, r.height);
				return -EIO;
			}
			continue;
		}
		struct v4l2_mbus_framefmt f = op->fmt, cur;
		rc = cr_media_set_fmt(c->m, op->pad, V4L2_SUBDEV_FORMAT_ACTIVE, &f, c->err, c->errlen);
		if (rc == -EBUSY && cr_media_get_fmt(c->m, op->pad, V4L2_SUBDEV_FORMAT_ACTIVE, &cur, NULL, 0) == 0 &&
		    cur.code == op->fmt.code && cur.width == op->fmt.width && cur.height == op->fmt.height)
			continue;
		if (rc < 0)
			return rc;
		if (f.code != op->fmt.code || f.width != op->fmt.width || f.height != op->fmt.height) {
			cr_msgf(c->err, c->errlen,
			     "%s: the driver changed the ACTIVE format %s that TRY accepted to %s (a driver bug); set it "
			     "explicitly in media.pads",
			     cr_media_pad_str(c->m, op->pad, p, sizeof(p)), cr_media_fmt_str(&op->fmt, a, sizeof(a)),
			     cr_media_fmt_str(&f, b, sizeof(b)));
			return -EIO;
		}
	}
	return 0;
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
	if (!cfg || !cfg->media || !cfg->media->strategy[0])
		return CR_MP_AUTO;
	for (int i = 0; i < 4; i++)
		if (strcmp(cfg->media->strategy, _strategy_names[i]) == 0)
			return i;
	return -1;
}

static void _describe(struct cr_mp_ctx_s *c, char *note, size_t len, enum cr_mp_strategy_e asked)
{
	size_t o = 0;
	char p[96], f[48];
	o += (size_t)snprintf(note, len, "media %s (%s, strategy %s%s%s):", c->m->path, c->m->model,
			      _strategy_names[asked], asked == CR_MP_AUTO || asked != c->strategy ? " -> " : "",
			      asked == CR_MP_AUTO || asked != c->strategy ? _strategy_names[c->strategy] : "");
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
	struct cr_mp_ctx_s c = {.width = width, .height = height, .fourcc = fourcc, .err = err, .errlen = errlen};
	c.cfg = cfg ? cfg->media : NULL;
	c.own_open = !fourcc || !width || !height;
	if (note && notelen)
		note[0] = 0;
	int asked = _strategy(cfg);
	if (asked < 0) {
		cr_msgf(err, errlen, "media.strategy \"%s\" is not one of: auto, quality, speed, off", cfg->media->strategy);
		return -EINVAL;
	}
	int rc = cr_media_find_for_video(video_node, &c.m, &c.video, err, errlen);
	if (rc <= 0)
		return rc;
	struct cr_media_s *m = c.m;
	if (!_has_subdevs(m) || (c.video_pad = _video_pad(m, c.video)) < 0) {
		cr_msgf(note, notelen, "%s has a media graph (%s) without sub-devices to configure", video_node, m->path);
		cr_media_close(m);
		return 0;
	}
	c.want = calloc((size_t)m->n_links + 1, sizeof(bool));
	c.fixed = calloc((size_t)m->n_links + 1, sizeof(bool));
	if (!c.want || !c.fixed) {
		free(c.want), free(c.fixed);
		cr_media_close(m);
		return -ENOMEM;
	}
	for (int l = 0; l < m->n_links; l++)
		c.want[l] = m->links[l].flags & MEDIA_LNK_FL_ENABLED;
	c.strategy = (enum cr_mp_strategy_e)asked;
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
			cr_msgf(err, errlen, "config line %d: pad \"%s\":%d is not on the pipeline feeding %s (%s)", pc->line,
			     pc->entity, pc->pad, video_node, chain);
			rc = -EINVAL;
			goto out;
		}
	}
	if ((rc = _negotiate(&c, (enum cr_mp_strategy_e)asked)) < 0) {
		size_t o = strlen(err);
		cr_msgf(err + o, errlen - o, " [pipeline %s; nothing was changed on the device]", chain);
		goto out;
	}
	if ((rc = _apply_links(&c)) < 0 || (rc = _apply_active(&c)) < 0)
		goto out;
	for (int i = 0; c.cfg && i < c.cfg->n_controls; i++)
		if ((rc = cr_mp_set_control(&c, &c.cfg->controls[i])) < 0)
			goto out;
	if ((rc = cr_mp_sync_siblings(&c, V4L2_SUBDEV_FORMAT_ACTIVE)) < 0 || (rc = cr_mp_validate(&c, fourcc, width, height)) < 0)
		goto out;
	_describe(&c, note, notelen, (enum cr_mp_strategy_e)asked);
out:
	free(c.want), free(c.fixed);
	cr_media_close(m);
	return rc;
}

int cr_media_explain_epipe(const char *video_node, char *msg, size_t len)
{
	struct cr_mp_ctx_s c = {.err = msg, .errlen = len, .strategy = CR_MP_OFF};
	int rc = cr_media_find_for_video(video_node, &c.m, &c.video, msg, len);
	if (rc <= 0) {
		if (rc == 0)
			cr_msgf(msg, len, "%s is not part of a media graph; the driver rejected its format combination", video_node);
		return rc;
	}
	struct cr_media_s *m = c.m;
	c.want = calloc((size_t)m->n_links + 1, sizeof(bool));
	c.fixed = calloc((size_t)m->n_links + 1, sizeof(bool));
	if (!c.want || !c.fixed || (c.video_pad = _video_pad(m, c.video)) < 0) {
		rc = c.want && c.fixed ? -ENODEV : -ENOMEM;
		cr_msgf(msg, len, "cannot read the pipeline of %s", video_node);
		goto out;
	}
	for (int l = 0; l < m->n_links; l++)
		c.want[l] = m->links[l].flags & MEDIA_LNK_FL_ENABLED;
	uint32_t fourcc = 0;
	int w = 0, h = 0;
	cr_mp_video_fmt(video_node, &fourcc, &w, &h);
	if ((rc = _build_chain(&c)) == 0 && (rc = cr_mp_validate(&c, fourcc, w, h)) == 0) {
		char chain[512];
		_chain_str(&c, chain, sizeof(chain));
		cr_msgf(msg, len,
		     "every link of %s has the same format at both ends; the driver refused the pipeline for another "
		     "reason (see dmesg)",
		     chain);
	}
	rc = 0;
out:
	free(c.want), free(c.fixed);
	cr_media_close(m);
	return rc;
}
