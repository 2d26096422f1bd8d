/* camrelay probe DEVICE: what one V4L2 device offers — inputs, formats with
 * their sizes and frame intervals (discrete, stepwise, continuous), the
 * current format and rate, and every control with its range, default,
 * current value and menu items. */
#include <errno.h>
#include <jansson.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/discovery.h"
#include "core/format.h"
#include "core/v4l2_util.h"
#include "source/v4l2_ctrl.h"

static json_t *_fract(struct v4l2_fract f)
{
	json_t *o = json_pack("{s:i,s:i}", "numerator", (int)f.numerator, "denominator", (int)f.denominator);
	if (f.numerator)
		json_object_set_new(o, "fps", json_real((double)f.denominator / f.numerator));
	return o;
}

static json_t *_intervals(int fd, uint32_t fourcc, uint32_t w, uint32_t h)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < 128; i++) {
		struct v4l2_frmivalenum fi = {.index = i, .pixel_format = fourcc, .width = w, .height = h};
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) < 0)
			break;
		if (fi.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			json_t *o = _fract(fi.discrete);
			json_object_set_new(o, "type", json_string("discrete"));
			json_array_append_new(a, o);
			continue;
		}
		json_t *o = json_pack("{s:s,s:o,s:o}", "type",
				      fi.type == V4L2_FRMIVAL_TYPE_CONTINUOUS ? "continuous" : "stepwise", "min",
				      _fract(fi.stepwise.min), "max", _fract(fi.stepwise.max));
		if (fi.type == V4L2_FRMIVAL_TYPE_STEPWISE)
			json_object_set_new(o, "step", _fract(fi.stepwise.step));
		json_array_append_new(a, o);
		break;
	}
	return a;
}

static json_t *_sizes(int fd, uint32_t fourcc)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < 512; i++) {
		struct v4l2_frmsizeenum fs = {.index = i, .pixel_format = fourcc};
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0)
			break;
		if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			json_array_append_new(a, json_pack("{s:s,s:i,s:i,s:o}", "type", "discrete", "width",
							   (int)fs.discrete.width, "height", (int)fs.discrete.height,
							   "intervals",
							   _intervals(fd, fourcc, fs.discrete.width, fs.discrete.height)));
			continue;
		}
		const struct v4l2_frmsize_stepwise *s = &fs.stepwise;
		json_array_append_new(
			a, json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i}", "type",
				     fs.type == V4L2_FRMSIZE_TYPE_CONTINUOUS ? "continuous" : "stepwise", "min_width",
				     (int)s->min_width, "max_width", (int)s->max_width, "step_width", (int)s->step_width,
				     "min_height", (int)s->min_height, "max_height", (int)s->max_height, "step_height",
				     (int)s->step_height));
		break;
	}
	return a;
}

/* What probe adds to list's format entries. */
static void _format_detail(int fd, const struct v4l2_fmtdesc *d, json_t *o)
{
	if (d->flags & V4L2_FMT_FLAG_EMULATED)
		json_object_set_new(o, "emulated", json_true());
	json_object_set_new(o, "sizes", _sizes(fd, d->pixelformat));
}

static json_t *_current(int fd, uint32_t type)
{
	struct v4l2_format f = {.type = type};
	if (cr_v4l2_ioctl(fd, VIDIOC_G_FMT, &f) < 0)
		return NULL;
	char fcc[16];
	bool mp = type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE || type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
	json_t *o = json_pack("{s:s,s:i,s:i,s:i}", "fourcc",
			      cr_v4l2_fourcc_str(mp ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat, fcc), "width",
			      (int)(mp ? f.fmt.pix_mp.width : f.fmt.pix.width), "height",
			      (int)(mp ? f.fmt.pix_mp.height : f.fmt.pix.height), "bytesperline",
			      (int)(mp ? f.fmt.pix_mp.plane_fmt[0].bytesperline : f.fmt.pix.bytesperline));
	struct v4l2_streamparm p = {.type = type};
	if (cr_v4l2_ioctl(fd, VIDIOC_G_PARM, &p) == 0 && p.parm.capture.timeperframe.numerator)
		json_object_set_new(o, "interval", _fract(p.parm.capture.timeperframe));
	return o;
}

static json_t *_inputs(int fd)
{
	json_t *a = json_array();
	int cur = -1;
	cr_v4l2_ioctl(fd, VIDIOC_G_INPUT, &cur);
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_input in = {.index = i};
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUMINPUT, &in) < 0)
			break;
		const char *type = in.type == V4L2_INPUT_TYPE_CAMERA ? "camera" : in.type == V4L2_INPUT_TYPE_TUNER ? "tuner"
														     : "touch";
		json_t *o = json_pack("{s:i,s:s,s:s,s:b}", "index", (int)i, "name", (const char *)in.name, "type", type,
				      "current", (int)i == cur);
		if (in.capabilities & V4L2_IN_CAP_DV_TIMINGS)
			json_object_set_new(o, "dv_timings", json_true());
		if (in.capabilities & V4L2_IN_CAP_STD)
			json_object_set_new(o, "standards", json_true());
		if (in.status & V4L2_IN_ST_NO_SIGNAL)
			json_object_set_new(o, "no_signal", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *_controls(int fd)
{
	static struct cr_v4l2_ctrl_s c[512];
	int n = cr_v4l2_ctrl_list(fd, c, 512);
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "name", c[i].name, "label", c[i].label, "type",
				      cr_v4l2_ctrl_type_name(c[i].type), "id", (json_int_t)c[i].id);
		if (c[i].type != V4L2_CTRL_TYPE_BUTTON) {
			json_object_set_new(o, "min", json_integer(c[i].min));
			json_object_set_new(o, "max", json_integer(c[i].max));
			json_object_set_new(o, "step", json_integer(c[i].step));
			json_object_set_new(o, "default", json_integer(c[i].def));
		}
		if (c[i].has_value) {
			if (c[i].type == V4L2_CTRL_TYPE_STRING)
				json_object_set_new(o, "value", json_string(c[i].text));
			else
				json_object_set_new(o, "value", json_integer(c[i].value));
		}
		if (c[i].type == V4L2_CTRL_TYPE_MENU || c[i].type == V4L2_CTRL_TYPE_INTEGER_MENU) {
			json_t *items = json_array();
			for (int64_t k = c[i].min; k <= c[i].max && k - c[i].min < 1024; k++) {
				char name[64];
				if (cr_v4l2_ctrl_menu_item(fd, &c[i], k, name, sizeof(name)) == 0)
					json_array_append_new(items, json_pack("{s:I,s:s}", "index", (json_int_t)k, "name", name));
			}
			json_object_set_new(o, "menu", items);
		}
		json_t *flags = json_array();
		static const struct {
			uint32_t bit;
			const char *name;
		} fl[] = {{V4L2_CTRL_FLAG_READ_ONLY, "read-only"},   {V4L2_CTRL_FLAG_WRITE_ONLY, "write-only"},
			  {V4L2_CTRL_FLAG_INACTIVE, "inactive"},     {V4L2_CTRL_FLAG_GRABBED, "grabbed"},
			  {V4L2_CTRL_FLAG_VOLATILE, "volatile"},     {V4L2_CTRL_FLAG_SLIDER, "slider"},
			  {V4L2_CTRL_FLAG_UPDATE, "update"},	     {V4L2_CTRL_FLAG_EXECUTE_ON_WRITE, "execute-on-write"}};
		for (size_t k = 0; k < sizeof(fl) / sizeof(fl[0]); k++)
			if (c[i].flags & fl[k].bit)
				json_array_append_new(flags, json_string(fl[k].name));
		json_object_set_new(o, "flags", flags);
		json_array_append_new(a, o);
	}
	return a;
}

/* ---- text ---- */

static void _print_fract(const char *pre, json_t *f)
{
	printf("%s%d/%d s (%.3f fps)", pre, (int)json_integer_value(json_object_get(f, "numerator")),
	       (int)json_integer_value(json_object_get(f, "denominator")), json_real_value(json_object_get(f, "fps")));
}

static void _print_formats(const char *label, json_t *a)
{
	size_t i, j, k;
	json_t *f, *s, *iv;
	printf("%s formats:\n", label);
	json_array_foreach(a, i, f)
	{
		const char *cr = json_string_value(json_object_get(f, "camrelay"));
		printf("  %s (%s)%s%s%s\n", json_string_value(json_object_get(f, "fourcc")),
		       json_string_value(json_object_get(f, "description")), cr ? " = pixel_format \"" : "",
		       cr ? cr : "", cr ? "\"" : " (camrelay cannot take it)");
		json_array_foreach(json_object_get(f, "sizes"), j, s)
		{
			const char *type = json_string_value(json_object_get(s, "type"));
			if (strcmp(type, "discrete") == 0) {
				printf("    %lldx%lld:", json_integer_value(json_object_get(s, "width")),
				       json_integer_value(json_object_get(s, "height")));
				json_array_foreach(json_object_get(s, "intervals"), k, iv)
				{
					if (strcmp(json_string_value(json_object_get(iv, "type")), "discrete") == 0) {
						printf(" %.4g", json_real_value(json_object_get(iv, "fps")));
					} else {
						_print_fract(" ", json_object_get(iv, "min"));
						_print_fract(" to ", json_object_get(iv, "max"));
					}
				}
				printf(" fps\n");
			} else {
				printf("    %s %lldx%lld to %lldx%lld, step %lld/%lld\n", type,
				       json_integer_value(json_object_get(s, "min_width")),
				       json_integer_value(json_object_get(s, "min_height")),
				       json_integer_value(json_object_get(s, "max_width")),
				       json_integer_value(json_object_get(s, "max_height")),
				       json_integer_value(json_object_get(s, "step_width")),
				       json_integer_value(json_object_get(s, "step_height")));
			}
		}
	}
}

static void _print_text(json_t *root)
{
	printf("%s: \"%s\" (%s, %s)\n", json_string_value(json_object_get(root, "path")),
	       json_string_value(json_object_get(root, "card")), json_string_value(json_object_get(root, "driver")),
	       json_string_value(json_object_get(root, "bus_info")));
	size_t i, j;
	json_t *o, *m;
	printf("caps:");
	json_array_foreach(json_object_get(root, "caps"), i, o) printf(" %s", json_string_value(o));
	printf("\n");
	json_t *inputs = json_object_get(root, "inputs");
	if (json_array_size(inputs)) {
		printf("inputs:\n");
		json_array_foreach(inputs, i, o)
		printf("  %lld: %s (%s)%s%s\n", json_integer_value(json_object_get(o, "index")),
		       json_string_value(json_object_get(o, "name")), json_string_value(json_object_get(o, "type")),
		       json_is_true(json_object_get(o, "dv_timings")) ? ", DV timings" : "",
		       json_is_true(json_object_get(o, "current")) ? ", current" : "");
	}
	json_t *cur = json_object_get(root, "current");
	if (cur) {
		printf("current: %s %lldx%lld", json_string_value(json_object_get(cur, "fourcc")),
		       json_integer_value(json_object_get(cur, "width")), json_integer_value(json_object_get(cur, "height")));
		if (json_object_get(cur, "interval"))
			_print_fract(" @ ", json_object_get(cur, "interval"));
		printf("\n");
	}
	json_t *fmts = json_object_get(root, "formats");
	const char *key;
	json_object_foreach(fmts, key, o) _print_formats(key, o);
	printf("controls:\n");
	json_array_foreach(json_object_get(root, "controls"), i, o)
	{
		const char *type = json_string_value(json_object_get(o, "type"));
		printf("  %-32s %-7s", json_string_value(json_object_get(o, "name")), type);
		if (strcmp(type, "button") != 0)
			printf(" min=%lld max=%lld step=%lld default=%lld", json_integer_value(json_object_get(o, "min")),
			       json_integer_value(json_object_get(o, "max")), json_integer_value(json_object_get(o, "step")),
			       json_integer_value(json_object_get(o, "default")));
		json_t *v = json_object_get(o, "value");
		if (json_is_string(v))
			printf(" value=\"%s\"", json_string_value(v));
		else if (v)
			printf(" value=%lld", json_integer_value(v));
		json_t *fl;
		json_array_foreach(json_object_get(o, "flags"), j, fl)
		{
			const char *f = json_string_value(fl);
			if (strcmp(f, "slider") && strcmp(f, "update") && strcmp(f, "execute-on-write"))
				printf(" [%s]", f);
		}
		printf("\n");
		json_array_foreach(json_object_get(o, "menu"), j, m)
		printf("      %lld: %s\n", json_integer_value(json_object_get(m, "index")),
		       json_string_value(json_object_get(m, "name")));
	}
}

static void _usage(void)
{
	printf("Usage: camrelay probe DEVICE [--json]\n"
	       "DEVICE is a path (/dev/video0), a card name or a bus info, as in a config.\n"
	       "Shows inputs, formats with sizes and frame rates, and controls with their\n"
	       "ranges and values (names as the config's [...capture.controls] takes them).\n");
}

static int _run(int argc, char **argv)
{
	bool json;
	int rc = cr_cli_discovery_opts(argc, argv, _usage, &json);
	if (rc >= 0)
		return rc;
	if (optind != argc - 1) {
		fprintf(stderr, "camrelay probe: expected one DEVICE (see --help)\n");
		return 2;
	}
	char path[256], card[64], err[512];
	int fd = cr_v4l2_open(argv[optind], 0, path, sizeof(path), card, sizeof(card), err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "camrelay probe: %s\n", err);
		return 1;
	}
	struct v4l2_capability cap = {0};
	if (CR_V4L2_IOCTL(fd, path, VIDIOC_QUERYCAP, &cap, err, sizeof(err), "capabilities") < 0) {
		fprintf(stderr, "camrelay probe: %s\n", err);
		close(fd);
		return 1;
	}
	uint32_t caps = cr_v4l2_device_caps(&cap);
	json_t *root = json_pack("{s:s,s:s,s:s%,s:s%}", "path", path, "card", card, "driver", (const char *)cap.driver,
				 strnlen((const char *)cap.driver, 16), "bus_info", (const char *)cap.bus_info,
				 strnlen((const char *)cap.bus_info, 32));
	json_object_set_new(root, "caps", cr_cli_caps_json(caps));
	json_object_set_new(root, "inputs", _inputs(fd));
	uint32_t cur_type = 0;
	json_t *fmts = json_object();
	static const struct {
		uint32_t caps, type;
		const char *name;
	} types[] = {
		{V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_M2M, V4L2_BUF_TYPE_VIDEO_CAPTURE, "capture"},
		{V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_VIDEO_M2M_MPLANE, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE, "capture"},
		{V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_M2M, V4L2_BUF_TYPE_VIDEO_OUTPUT, "output"},
		{V4L2_CAP_VIDEO_OUTPUT_MPLANE | V4L2_CAP_VIDEO_M2M_MPLANE, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, "output"},
		{V4L2_CAP_VIDEO_OVERLAY, V4L2_BUF_TYPE_VIDEO_OVERLAY, "overlay"},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!(caps & types[i].caps))
			continue;
		json_object_set_new(fmts, types[i].name, cr_cli_formats_json(fd, types[i].type, _format_detail));
		if (!cur_type && types[i].type != V4L2_BUF_TYPE_VIDEO_OVERLAY)
			cur_type = types[i].type;
	}
	json_object_set_new(root, "formats", fmts);
	json_t *cur = cur_type ? _current(fd, cur_type) : NULL;
	if (cur)
		json_object_set_new(root, "current", cur);
	json_object_set_new(root, "controls", _controls(fd));
	close(fd);
	cr_cli_print(root, json, _print_text);
	return 0;
}

const struct cr_command_s cr_command_probe = {
	.name = "probe",
	.run = _run,
	.summary = "show one device's formats, sizes, rates and controls [--json]",
};
