/* What `camrelay list` and `camrelay probe` share (discovery.h). */
#include "cli/discovery.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/format.h"
#include "core/v4l2_util.h"

int cr_cli_discovery_opts(int argc, char **argv, void (*usage)(void), bool *json)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	int c;
	*json = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			*json = true;
		} else if (c == 'h') {
			usage();
			return 0;
		} else {
			return 2;
		}
	}
	return -1;
}

json_t *cr_cli_caps_json(uint32_t caps)
{
	char s[512];
	cr_v4l2_caps_str(caps, s, sizeof(s));
	json_t *a = json_array();
	for (char *tok = strtok(s, ", "); tok; tok = strtok(NULL, ", "))
		json_array_append_new(a, json_string(tok));
	return a;
}

json_t *cr_cli_formats_json(int fd, uint32_t type,
			    void (*add)(int fd, const struct v4l2_fmtdesc *d, json_t *o))
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < 128; i++) {
		struct v4l2_fmtdesc d = {.index = i, .type = type};
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		char fcc[16];
		enum cr_pixfmt_e f = cr_pixfmt_from_fourcc(d.pixelformat);
		json_t *o = json_pack("{s:s,s:s}", "fourcc", cr_v4l2_fourcc_str(d.pixelformat, fcc), "description",
				      (const char *)d.description);
		if (f)
			json_object_set_new(o, "camrelay", json_string(cr_pixfmt_name(f)));
		if (d.flags & V4L2_FMT_FLAG_COMPRESSED)
			json_object_set_new(o, "compressed", json_true());
		if (add)
			add(fd, &d, o);
		json_array_append_new(a, o);
	}
	return a;
}

void cr_cli_print(json_t *root, bool json, void (*print_text)(json_t *root))
{
	if (json) {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	} else {
		print_text(root);
	}
	json_decref(root);
}
