/* Sub-device controls from [[media.controls]], by entity name (seed 002:
 * hidden duplicates of controls the video node shows, or controls only the
 * sub-device has). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "media/media_priv.h"

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
		if (cr_v4l2_ioctl(fd, VIDIOC_QUERYMENU, &qm) < 0)
			continue;
		_norm((const char *)qm.name, name, sizeof(name));
		if (strcmp(name, want) == 0) {
			*v = i;
			return 0;
		}
	}
	return -EINVAL;
}

int cr_mp_set_control(struct cr_mp_ctx_s *c, const struct cr_media_control_cfg_s *cc)
{
	struct cr_media_s *m = c->m;
	int e = cr_media_entity_by_name(m, cc->entity);
	if (e < 0) {
		char list[512];
		cr_mp_entity_list(m, list, sizeof(list));
		cr_msgf(c->err, c->errlen, "config line %d: no entity \"%s\" in %s; entities: %s", cc->line, cc->entity,
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
	while (cr_v4l2_ioctl(fd, VIDIOC_QUERY_EXT_CTRL, &q) == 0) {
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
		cr_msgf(c->err, c->errlen, "config line %d: \"%s\" (%s) has no control \"%s\"; it has: %s", cc->line,
		     cc->entity, m->ents[e].devnode, cc->name, have[0] ? have : "none");
		return -ENOENT;
	}
	int64_t v;
	if (_ctrl_value(fd, &q, cc->value, &v) < 0 || (q.type != V4L2_CTRL_TYPE_BUTTON && (v < q.minimum || v > q.maximum))) {
		cr_msgf(c->err, c->errlen, "config line %d: value \"%s\" for control \"%s\" of \"%s\" is out of range (%lld..%lld%s)",
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
	int rc = cr_v4l2_ioctl(fd, VIDIOC_S_EXT_CTRLS, &cs);
	if (rc < 0)
		cr_msgf(c->err, c->errlen, "VIDIOC_S_EXT_CTRLS on %s (\"%s\" %s = %lld) failed: %s", m->ents[e].devnode,
		     cc->entity, name, (long long)v, strerror(-rc));
	return rc;
}
