#include "source/v4l2_ctrl.h"

#include <errno.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/v4l2_util.h"

#define _MAX_CTRLS 256

const char *cr_v4l2_ctrl_type_name(uint32_t type)
{
	switch (type) {
	case V4L2_CTRL_TYPE_INTEGER:
		return "int";
	case V4L2_CTRL_TYPE_BOOLEAN:
		return "bool";
	case V4L2_CTRL_TYPE_MENU:
		return "menu";
	case V4L2_CTRL_TYPE_INTEGER_MENU:
		return "intmenu";
	case V4L2_CTRL_TYPE_BUTTON:
		return "button";
	case V4L2_CTRL_TYPE_INTEGER64:
		return "int64";
	case V4L2_CTRL_TYPE_STRING:
		return "string";
	case V4L2_CTRL_TYPE_BITMASK:
		return "bitmask";
	default:
		return "?";
	}
}

static bool _plain_type(uint32_t t)
{
	return t == V4L2_CTRL_TYPE_INTEGER || t == V4L2_CTRL_TYPE_BOOLEAN || t == V4L2_CTRL_TYPE_MENU ||
	       t == V4L2_CTRL_TYPE_INTEGER_MENU || t == V4L2_CTRL_TYPE_BUTTON ||
	       t == V4L2_CTRL_TYPE_INTEGER64 || t == V4L2_CTRL_TYPE_STRING ||
	       t == V4L2_CTRL_TYPE_BITMASK;
}

int cr_v4l2_ctrl_menu_item(int fd, const struct cr_v4l2_ctrl_s *c, int64_t index, char *out, size_t n)
{
	struct v4l2_querymenu qm = {.id = c->id, .index = (uint32_t)index};
	int r = cr_v4l2_ioctl(fd, VIDIOC_QUERYMENU, &qm);
	if (r < 0)
		return r;
	if (c->type == V4L2_CTRL_TYPE_INTEGER_MENU)
		snprintf(out, n, "%lld", (long long)qm.value);
	else
		snprintf(out, n, "%.32s", (const char *)qm.name);
	return 0;
}

static void _read_value(int fd, struct cr_v4l2_ctrl_s *c, uint32_t elem_size)
{
	if (c->type == V4L2_CTRL_TYPE_BUTTON || (c->flags & V4L2_CTRL_FLAG_WRITE_ONLY))
		return;
	struct v4l2_ext_control ec = {.id = c->id};
	char str[256];
	if (c->type == V4L2_CTRL_TYPE_STRING) {
		ec.size = elem_size < sizeof(str) ? elem_size : sizeof(str);
		ec.string = str;
	}
	struct v4l2_ext_controls ecs = {.which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1, .controls = &ec};
	if (cr_v4l2_ioctl(fd, VIDIOC_G_EXT_CTRLS, &ecs) < 0)
		return;
	c->has_value = true;
	if (c->type == V4L2_CTRL_TYPE_STRING)
		snprintf(c->text, sizeof(c->text), "%.63s", str);
	else if (c->type == V4L2_CTRL_TYPE_INTEGER64)
		c->value = ec.value64;
	else if (c->type == V4L2_CTRL_TYPE_BITMASK)
		c->value = (uint32_t)ec.value;
	else
		c->value = ec.value;
	if (c->type == V4L2_CTRL_TYPE_MENU || c->type == V4L2_CTRL_TYPE_INTEGER_MENU)
		cr_v4l2_ctrl_menu_item(fd, c, c->value, c->text, sizeof(c->text));
}

int cr_v4l2_ctrl_list(int fd, struct cr_v4l2_ctrl_s *out, int max)
{
	int n = 0;
	struct v4l2_query_ext_ctrl qc = {.id = V4L2_CTRL_FLAG_NEXT_CTRL};
	while (n < max) {
		int r = cr_v4l2_ioctl(fd, VIDIOC_QUERY_EXT_CTRL, &qc);
		if (r == -EINVAL)
			break; /* past the last control */
		if (r < 0)
			return n > 0 ? n : r;
		if (qc.type != V4L2_CTRL_TYPE_CTRL_CLASS && !(qc.flags & V4L2_CTRL_FLAG_DISABLED) &&
		    _plain_type(qc.type) && qc.nr_of_dims == 0) {
			struct cr_v4l2_ctrl_s *c = &out[n++];
			memset(c, 0, sizeof(*c));
			c->id = qc.id;
			c->type = qc.type;
			c->flags = qc.flags;
			snprintf(c->label, sizeof(c->label), "%.31s", qc.name);
			cr_v4l2_norm_name(qc.name, c->name, sizeof(c->name));
			c->min = qc.minimum;
			c->max = qc.maximum;
			c->step = (int64_t)qc.step;
			c->def = qc.default_value;
			_read_value(fd, c, qc.elem_size);
		}
		qc.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return n;
}

static int _names_list(const struct cr_v4l2_ctrl_s *c, int n, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + o, len - o, "%s%s", i ? ", " : "", c[i].name);
		if (w < 0 || (size_t)w >= len - o) {
			if (len > 4)
				strcpy(out + len - 4, "...");
			break;
		}
		o += (size_t)w;
	}
	return 0;
}

static int _parse_int(const char *s, int64_t *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

static int _parse_bool(const char *s, int64_t *v)
{
	static const char *const t[] = {"1", "true", "on", "yes"}, *const f[] = {"0", "false", "off", "no"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, t[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(s, f[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* Menu value from an item name (normalised or as labelled), an index, or for
 * integer menus the item's number. */
static int _parse_menu(int fd, const struct cr_v4l2_ctrl_s *c, const char *s, int64_t *v,
		       char *items, size_t items_len)
{
	char want[64], norm[64], name[64];
	cr_v4l2_norm_name(s, want, sizeof(want));
	int64_t num = 0;
	bool is_num = _parse_int(s, &num) == 0;
	size_t o = 0;
	items[0] = 0;
	for (int64_t i = c->min; i <= c->max && i - c->min < 256; i++) {
		if (cr_v4l2_ctrl_menu_item(fd, c, i, name, sizeof(name)) < 0)
			continue;
		cr_v4l2_norm_name(name, norm, sizeof(norm));
		if (c->type == V4L2_CTRL_TYPE_INTEGER_MENU ? (is_num && strtoll(name, NULL, 10) == num)
							   : (strcmp(norm, want) == 0 || (is_num && num == i))) {
			*v = i;
			return 0;
		}
		int w = snprintf(items + o, items_len - o, "%s%s (%lld)", o ? ", " : "",
				 c->type == V4L2_CTRL_TYPE_INTEGER_MENU ? name : norm, (long long)i);
		if (w > 0 && (size_t)w < items_len - o)
			o += (size_t)w;
	}
	return -EINVAL;
}

static int _ctrl_set(int fd, const char *dev, const char *name, const char *value, char *err, size_t errlen,
		     struct cr_v4l2_ctrl_s *ctrls)
{
	int n = cr_v4l2_ctrl_list(fd, ctrls, _MAX_CTRLS);
	if (n < 0) {
		snprintf(err, errlen, "cannot list the controls of %s: %s%s", dev, strerror(-n),
			 cr_v4l2_errno_hint(-n, dev));
		return n;
	}
	char want[64];
	cr_v4l2_norm_name(name, want, sizeof(want));
	const struct cr_v4l2_ctrl_s *c = NULL;
	for (int i = 0; i < n && !c; i++)
		if (strcmp(ctrls[i].name, want) == 0)
			c = &ctrls[i];
	if (!c) {
		char names[1024];
		_names_list(ctrls, n, names, sizeof(names));
		snprintf(err, errlen, "%s has no control \"%s\"; available: %s", dev, name,
			 n ? names : "none");
		return -ENOENT;
	}
	if (c->flags & V4L2_CTRL_FLAG_READ_ONLY) {
		snprintf(err, errlen, "control %s of %s is read-only", c->name, dev);
		return -EACCES;
	}
	if (c->flags & V4L2_CTRL_FLAG_INACTIVE) {
		snprintf(err, errlen,
			 "control %s of %s is inactive now (another control, such as an automatic mode, "
			 "governs it); change that one first",
			 c->name, dev);
		return -EACCES;
	}

	int64_t v = 0;
	char items[512] = "";
	char str[256];
	struct v4l2_ext_control ec = {.id = c->id};
	switch (c->type) {
	case V4L2_CTRL_TYPE_BOOLEAN:
		if (_parse_bool(value, &v) < 0) {
			snprintf(err, errlen, "control %s of %s is a boolean: use true/false, on/off or 1/0, not \"%s\"",
				 c->name, dev, value);
			return -EINVAL;
		}
		break;
	case V4L2_CTRL_TYPE_MENU:
	case V4L2_CTRL_TYPE_INTEGER_MENU:
		if (_parse_menu(fd, c, value, &v, items, sizeof(items)) < 0) {
			snprintf(err, errlen, "control %s of %s has no item \"%s\"; items: %s", c->name, dev,
				 value, items);
			return -ERANGE;
		}
		break;
	case V4L2_CTRL_TYPE_BUTTON:
		v = 1;
		break;
	case V4L2_CTRL_TYPE_STRING:
		if ((int64_t)strlen(value) < c->min || (int64_t)strlen(value) > c->max) {
			snprintf(err, errlen, "control %s of %s takes %lld to %lld characters", c->name, dev,
				 (long long)c->min, (long long)c->max);
			return -ERANGE;
		}
		snprintf(str, sizeof(str), "%s", value);
		ec.string = str;
		ec.size = (uint32_t)strlen(str) + 1;
		break;
	default: /* integer, int64, bitmask */
		if (_parse_int(value, &v) < 0) {
			snprintf(err, errlen, "control %s of %s takes an integer from %lld to %lld, not \"%s\"",
				 c->name, dev, (long long)c->min, (long long)c->max, value);
			return -EINVAL;
		}
		if (c->type != V4L2_CTRL_TYPE_BITMASK && (v < c->min || v > c->max)) {
			snprintf(err, errlen, "value %lld out of range for control %s of %s: min %lld, max %lld, step %lld",
				 (long long)v, c->name, dev, (long long)c->min, (long long)c->max,
				 (long long)c->step);
			return -ERANGE;
		}
		break;
	}
	if (c->type == V4L2_CTRL_TYPE_INTEGER64)
		ec.value64 = v;
	else if (c->type != V4L2_CTRL_TYPE_STRING)
		ec.value = (int32_t)v;
	struct v4l2_ext_controls ecs = {.which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1, .controls = &ec};
	int r = cr_v4l2_ioctl(fd, VIDIOC_S_EXT_CTRLS, &ecs);
	if (r < 0) {
		const char *why = r == -EBUSY	 ? "; it cannot change while streaming"
				  : r == -EACCES ? "; the driver refuses it now (read-only or inactive)"
				  : r == -ERANGE ? "; the value is out of the device's range"
						 : cr_v4l2_errno_hint(-r, dev);
		snprintf(err, errlen, "VIDIOC_S_EXT_CTRLS on %s (%s = %s) failed: %s%s", dev, c->name, value,
			 strerror(-r), why);
		return r;
	}
	return 0;
}

/* The list on the heap for the call (56 KB): as a thread-local it sat in the
 * static TLS of every thread of the process, zeroed at each thread's start. */
int cr_v4l2_ctrl_set(int fd, const char *dev, const char *name, const char *value, char *err,
		     size_t errlen)
{
	struct cr_v4l2_ctrl_s *ctrls = calloc(_MAX_CTRLS, sizeof(*ctrls));
	if (!ctrls) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int r = _ctrl_set(fd, dev, name, value, err, errlen, ctrls);
	free(ctrls);
	return r;
}
