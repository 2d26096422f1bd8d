/* camrelay media [DEVICE] [--json|--dot]: a media graph's entities, pads with
 * their ACTIVE formats and selections, and links; as text (like
 * `media-ctl -p`), JSON, or Graphviz. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "media/media.h"

enum _out_e { _TEXT, _JSON, _DOT };

static bool _fmt(struct cr_media_s *m, int pad, struct v4l2_mbus_framefmt *f)
{
	return cr_media_is_subdev(m, m->pads[pad].entity) &&
	       cr_media_get_fmt(m, pad, V4L2_SUBDEV_FORMAT_ACTIVE, f, NULL, 0) == 0;
}

static bool _sel(struct cr_media_s *m, int pad, uint32_t target, struct v4l2_rect *r)
{
	return cr_media_is_subdev(m, m->pads[pad].entity) &&
	       cr_media_get_sel(m, pad, V4L2_SUBDEV_FORMAT_ACTIVE, target, r, NULL, 0) == 0;
}

static void _print_text(struct cr_media_s *m)
{
	printf("Media device %s\n  driver %s, model %s, bus %s, serial %s, hw revision 0x%x\n\n", m->path, m->driver,
	       m->model, m->bus_info, m->serial[0] ? m->serial : "-", m->hw_revision);
	for (int e = 0; e < m->n_ents; e++) {
		const struct cr_media_entity_s *en = &m->ents[e];
		printf("- entity %u: \"%s\" (%d pad%s, %s)%s%s\n", en->id, en->name, en->n_pads, en->n_pads == 1 ? "" : "s",
		       cr_media_function_name(en->function), en->devnode[0] ? " " : "", en->devnode);
		for (int i = 0; i < en->n_pads; i++) {
			int p = cr_media_pad(m, e, i);
			if (p < 0)
				continue;
			struct v4l2_mbus_framefmt f;
			struct v4l2_rect r;
			char s[64], a[96], b[96];
			printf("    pad %d: %s%s", i, m->pads[p].flags & MEDIA_PAD_FL_SINK ? "sink" : "source",
			       m->pads[p].flags & MEDIA_PAD_FL_MUST_CONNECT ? ", must connect" : "");
			if (_fmt(m, p, &f))
				printf("  [%s]", cr_media_fmt_str(&f, s, sizeof(s)));
			if (_sel(m, p, V4L2_SEL_TGT_CROP, &r))
				printf("  crop (%d,%d)/%ux%u", r.left, r.top, r.width, r.height);
			if (_sel(m, p, V4L2_SEL_TGT_COMPOSE, &r))
				printf("  compose (%d,%d)/%ux%u", r.left, r.top, r.width, r.height);
			printf("\n");
			for (int l = 0; l < m->n_links; l++) {
				const struct cr_media_link_s *ln = &m->links[l];
				if (ln->source != p && ln->sink != p)
					continue;
				printf("        %s %s  [%s%s%s]\n", ln->source == p ? "->" : "<-",
				       cr_media_pad_str(m, ln->source == p ? ln->sink : ln->source, a, sizeof(a)),
				       ln->flags & MEDIA_LNK_FL_ENABLED ? "enabled" : "disabled",
				       ln->flags & MEDIA_LNK_FL_IMMUTABLE ? ", immutable" : "",
				       ln->flags & MEDIA_LNK_FL_DYNAMIC ? ", dynamic" : "");
				(void)b;
			}
		}
		printf("\n");
	}
}

static json_t *_rect(const struct v4l2_rect *r)
{
	return json_pack("{s:i, s:i, s:I, s:I}", "left", r->left, "top", r->top, "width", (json_int_t)r->width,
			 "height", (json_int_t)r->height);
}

static json_t *_json(struct cr_media_s *m)
{
	json_t *ents = json_array(), *links = json_array();
	for (int e = 0; e < m->n_ents; e++) {
		const struct cr_media_entity_s *en = &m->ents[e];
		json_t *pads = json_array();
		for (int i = 0; i < en->n_pads; i++) {
			int p = cr_media_pad(m, e, i);
			if (p < 0)
				continue;
			json_t *pj = json_pack("{s:i, s:I, s:s, s:b}", "index", i, "id", (json_int_t)m->pads[p].id, "direction",
					       m->pads[p].flags & MEDIA_PAD_FL_SINK ? "sink" : "source", "must_connect",
					       !!(m->pads[p].flags & MEDIA_PAD_FL_MUST_CONNECT));
			struct v4l2_mbus_framefmt f;
			struct v4l2_rect r;
			if (_fmt(m, p, &f)) {
				const char *name = cr_mbus_name(f.code);
				json_object_set_new(pj, "format",
						    json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I}", "code", name, "code_value",
							      (json_int_t)f.code, "width", (json_int_t)f.width, "height",
							      (json_int_t)f.height, "field", (json_int_t)f.field, "colorspace",
							      (json_int_t)f.colorspace));
			}
			if (_sel(m, p, V4L2_SEL_TGT_CROP, &r))
				json_object_set_new(pj, "crop", _rect(&r));
			if (_sel(m, p, V4L2_SEL_TGT_COMPOSE, &r))
				json_object_set_new(pj, "compose", _rect(&r));
			json_array_append_new(pads, pj);
		}
		json_array_append_new(ents, json_pack("{s:I, s:s, s:I, s:s, s:I, s:s?, s:o}", "id", (json_int_t)en->id, "name",
						      en->name, "function", (json_int_t)en->function, "function_name",
						      cr_media_function_name(en->function), "flags", (json_int_t)en->flags,
						      "devnode", en->devnode[0] ? en->devnode : NULL, "pads", pads));
	}
	for (int l = 0; l < m->n_links; l++) {
		const struct cr_media_link_s *ln = &m->links[l];
		const struct cr_media_pad_s *a = &m->pads[ln->source], *b = &m->pads[ln->sink];
		json_array_append_new(
			links, json_pack("{s:I, s:{s:s, s:i}, s:{s:s, s:i}, s:b, s:b, s:b}", "id", (json_int_t)ln->id, "source",
					 "entity", m->ents[a->entity].name, "pad", a->index, "sink", "entity",
					 m->ents[b->entity].name, "pad", b->index, "enabled", !!(ln->flags & MEDIA_LNK_FL_ENABLED),
					 "immutable", !!(ln->flags & MEDIA_LNK_FL_IMMUTABLE), "dynamic",
					 !!(ln->flags & MEDIA_LNK_FL_DYNAMIC)));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "path", m->path, "driver", m->driver, "model",
			 m->model, "serial", m->serial, "bus_info", m->bus_info, "hw_revision", (json_int_t)m->hw_revision,
			 "driver_version", (json_int_t)m->driver_version, "entities", ents, "links", links);
}

/* Graphviz, in media-ctl --print-dot's shape: record nodes with one port per pad. */
static void _dot_label(const char *s)
{
	for (; *s; s++) {
		if (strchr("{}|<>\"\\", *s))
			putchar('\\');
		putchar(*s);
	}
}

static void _print_dot(struct cr_media_s *m)
{
	printf("digraph \"%s\" {\n\trankdir=TB\n", m->path);
	for (int e = 0; e < m->n_ents; e++) {
		const struct cr_media_entity_s *en = &m->ents[e];
		printf("\tn%08x [label=\"{{", en->id);
		for (int dir = 0; dir < 2; dir++) {
			int k = 0;
			for (int i = 0; i < en->n_pads; i++) {
				int p = cr_media_pad(m, e, i);
				if (p >= 0 && !!(m->pads[p].flags & MEDIA_PAD_FL_SOURCE) == dir)
					printf("%s<port%d> %d", k++ ? " | " : "", i, i);
			}
			if (dir == 0) {
				printf("} | ");
				_dot_label(en->name);
				if (en->devnode[0]) {
					printf("\\n");
					_dot_label(en->devnode);
				}
				printf(" | {");
			}
		}
		printf("}}\", shape=Mrecord, style=filled, fillcolor=%s]\n",
		       en->intf_type == MEDIA_INTF_T_V4L_SUBDEV ? "green" : en->devnode[0] ? "yellow" : "gray");
	}
	for (int l = 0; l < m->n_links; l++) {
		const struct cr_media_link_s *ln = &m->links[l];
		const struct cr_media_pad_s *a = &m->pads[ln->source], *b = &m->pads[ln->sink];
		printf("\tn%08x:port%d -> n%08x:port%d [style=%s]\n", m->ents[a->entity].id, a->index, m->ents[b->entity].id,
		       b->index, ln->flags & MEDIA_LNK_FL_ENABLED ? (ln->flags & MEDIA_LNK_FL_IMMUTABLE ? "bold" : "solid") : "dashed");
	}
	printf("}\n");
}

/* DEVICE is a media device, or any video/sub-device node of a graph
 * (also through /dev/v4l/by-path/... links). */
static int _open_any(const char *spec, struct cr_media_s **m, char *err, size_t errlen)
{
	int ent, rc = cr_media_open(spec, m, err, errlen);
	if (rc == 0 || rc == -ENOENT || rc == -EACCES)
		return rc;
	char first[400];
	snprintf(first, sizeof(first), "%.399s", err);
	if ((rc = cr_media_find_for_video(spec, m, &ent, err, errlen)) == 1)
		return 0;
	snprintf(err, errlen, "%.400s; nor is it a video node of a media-controller graph", first);
	return -ENODEV;
}

static int _run(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					      {"dot", no_argument, NULL, 'd'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	enum _out_e out = _TEXT;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jdh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			out = _JSON;
			break;
		case 'd':
			out = _DOT;
			break;
		case 'h':
			printf("Usage: camrelay media [DEVICE] [--json|--dot]\n"
			       "Shows a media-controller graph: entities, pads with their ACTIVE formats and\n"
			       "selections, and links. DEVICE is /dev/mediaN or a video node of the graph;\n"
			       "without it, every /dev/media*.\n"
			       "  --json   machine-readable (one object per device; an array without DEVICE)\n"
			       "  --dot    Graphviz (pipe into: dot -Tsvg)\n");
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "camrelay media: expected at most one DEVICE (see --help)\n");
		return 2;
	}
	char devs[32][64], err[512];
	const char *names[32] = {optind < argc ? argv[optind] : NULL};
	int n = 1;
	if (optind == argc && (n = cr_media_list_devices(devs, 32)) == 0) {
		fprintf(stderr, "camrelay media: no /dev/media* device (no media-controller driver is loaded)\n");
		return 1;
	}
	json_t *all = out == _JSON ? json_array() : NULL;
	int rc = 0;
	for (int i = 0; optind == argc && i < n; i++)
		names[i] = devs[i];
	for (int i = 0; i < n; i++) {
		struct cr_media_s *m;
		if (_open_any(names[i], &m, err, sizeof(err)) < 0) {
			fprintf(stderr, "camrelay media: %s\n", err);
			rc = 1;
			continue;
		}
		if (out == _TEXT)
			_print_text(m);
		else if (out == _DOT)
			_print_dot(m);
		else
			json_array_append_new(all, _json(m));
		cr_media_close(m);
	}
	if (all) {
		json_t *root = optind < argc ? json_incref(json_array_get(all, 0)) : json_incref(all);
		if (root) {
			json_dumpf(root, stdout, JSON_INDENT(2));
			printf("\n");
		}
		json_decref(root);
		json_decref(all);
	}
	return rc;
}

const struct cr_command_s cr_command_media = {
	.name = "media",
	.run = _run,
	.summary = "show a media-controller graph (entities, pads, formats, links)",
};
