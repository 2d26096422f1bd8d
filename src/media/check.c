/* Validation of a whole media pipeline against the ACTIVE state, and the
 * configuration of branches that stream together with the chain. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "media/media_priv.h"

int cr_mp_video_fmt(const char *node, uint32_t *fourcc, int *w, int *h)
{
	int fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	int rc = cr_v4l2_ioctl(fd, VIDIOC_G_FMT, &f);
	if (rc == 0) {
		*fourcc = f.fmt.pix.pixelformat, *w = (int)f.fmt.pix.width, *h = (int)f.fmt.pix.height;
	} else {
		f = (struct v4l2_format){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE};
		if ((rc = cr_v4l2_ioctl(fd, VIDIOC_G_FMT, &f)) == 0)
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
static int _check_node_link(struct cr_mp_ctx_s *c, int l, uint32_t fourcc, int w, int h)
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
		if (cr_mp_video_fmt(m->ents[e].devnode, &fourcc, &w, &h) < 0)
			return 0; /* cannot tell; the kernel will */
	}
	uint32_t got = cr_mbus_to_fourcc(a.code);
	if (got == fourcc && (int)a.width == w && (int)a.height == h)
		return 0;
	char p[96], s[48], x[8], y[8];
	cr_msgf(c->err, c->errlen,
	     "link %s -> \"%s\":%d: the source pad gives %s (%s %ux%u at %s) but %s is set to %s %dx%d; %s %s %ux%u%s%s",
	     cr_media_pad_str(m, src, p, sizeof(p)), m->ents[e].name, m->pads[m->links[l].sink].index,
	     cr_media_fmt_str(&a, s, sizeof(s)), got ? cr_mp_fourcc_str(got, x) : "no known pixel format", a.width, a.height,
	     m->ents[e].devnode, m->ents[e].devnode, cr_mp_fourcc_str(fourcc, y), w, h,
	     e == c->video ? "set the capture width/height/pixel_format to" : "set that node (it streams with this one) to",
	     got ? x : "?", a.width, a.height, e == c->video ? " or change " : "", e == c->video ? p : "");
	return -EPIPE;
}

/* Every enabled link of the pipeline against the ACTIVE state; the capture
 * node's format is (fourcc, w, h), or read from the node when 0. */
int cr_mp_validate(struct cr_mp_ctx_s *c, uint32_t fourcc, int w, int h)
{
	struct cr_media_s *m = c->m;
	struct v4l2_mbus_framefmt a, b;
	int rc;
	for (int i = 0; i + 1 < c->n; i++) {
		int l = cr_media_link_between(m, c->hop[i].src, c->hop[i + 1].sink);
		char pa[96], pb[96];
		if (l < 0 || !(m->links[l].flags & MEDIA_LNK_FL_ENABLED)) {
			cr_msgf(c->err, c->errlen, "link %s -> %s is not enabled; enable it in media.links",
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
			cr_mp_mismatch(c, src, sink, &a, &b, "has");
			rc = -EPIPE;
		} else if (a.field != b.field && b.field != V4L2_FIELD_NONE) {
			char pa[96], pb[96];
			cr_msgf(c->err, c->errlen, "link %s -> %s: the source pad's field order %u differs from the sink pad's %u",
			     cr_media_pad_str(m, src, pa, sizeof(pa)), cr_media_pad_str(m, sink, pb, sizeof(pb)), a.field,
			     b.field);
			rc = -EPIPE;
		}
	}
	free(in);
	return rc;
}

static int _sync_node(struct cr_mp_ctx_s *c, int src, int e, const struct v4l2_mbus_framefmt *a)
{
	struct cr_media_s *m = c->m;
	uint32_t fourcc = cr_mbus_to_fourcc(a->code), have = 0;
	int w = 0, h = 0;
	if (!fourcc || (cr_mp_video_fmt(m->ents[e].devnode, &have, &w, &h) == 0 && have == fourcc &&
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
	int rc = cr_v4l2_ioctl(fd, VIDIOC_S_FMT, &f);
	if (rc < 0) {
		char p[96], x[8];
		cr_msgf(c->err, c->errlen,
		     "%s (\"%s\") streams together with %s (both fed by %s) but VIDIOC_S_FMT %s %ux%u on it failed: %s%s",
		     m->ents[e].devnode, m->ents[e].name, m->ents[c->video].devnode, cr_media_pad_str(m, src, p, sizeof(p)),
		     cr_mp_fourcc_str(fourcc, x), a->width, a->height, strerror(-rc),
		     rc == -EBUSY ? "; another program captures from it: stop it first" : "");
	}
	close(fd);
	return rc;
}

/* Branches that stream together with the configured chain (enabled links
 * out of its source pads to entities off the chain: vimc's Raw Capture 0
 * and Debayer A both hang off Sensor A) get the format their source pad
 * gives, so the kernel's STREAMON check of the whole pipeline passes.
 * With TRY (during negotiation): sub-device sink pads are tried and the
 * steps recorded for the ACTIVE replay, capture nodes only checked; a sink
 * that cannot take the format fails the attempt with the link named, before
 * anything changes. With ACTIVE (after the replay): capture nodes are set. */
int cr_mp_sync_siblings(struct cr_mp_ctx_s *c, uint32_t which)
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
		if (cr_media_get_fmt(m, src, which, &a, NULL, 0) < 0)
			continue;
		for (int l = 0; l < m->n_links && rc == 0; l++) {
			int sink = m->links[l].sink, e = m->pads[sink].entity;
			if (m->links[l].source != src || !c->want[l] || on_chain[e])
				continue;
			if (_is_video(m, e)) {
				if (which == V4L2_SUBDEV_FORMAT_ACTIVE)
					rc = _sync_node(c, src, e, &a);
				continue;
			}
			if (!cr_media_is_subdev(m, e))
				continue;
			if (which == V4L2_SUBDEV_FORMAT_TRY) {
				struct v4l2_mbus_framefmt b = a;
				if ((rc = cr_media_set_fmt(m, sink, which, &b, c->err, c->errlen)) < 0 ||
				    (rc = cr_mp_record(c, &(struct cr_mp_op_s){.pad = sink, .fmt = b})) < 0)
					break;
				if (b.code != a.code || b.width != a.width || b.height != a.height) {
					char pa[96], pb[96], fa[48], fb[48];
					cr_msgf(c->err, c->errlen,
						"link %s -> %s streams together with this pipeline (the kernel checks it at "
						"STREAMON) but %s takes %s where %s gives %s; ask for a capture format whose "
						"media bus code both accept, or disable that link in media.links if it is "
						"not immutable",
						cr_media_pad_str(m, src, pa, sizeof(pa)), cr_media_pad_str(m, sink, pb, sizeof(pb)),
						pb, cr_media_fmt_str(&b, fb, sizeof(fb)), pa, cr_media_fmt_str(&a, fa, sizeof(fa)));
					rc = -EPIPE;
					break;
				}
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
