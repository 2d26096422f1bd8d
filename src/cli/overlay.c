/* `camrelay overlay DEVICE`: a V4L2 device's overlay (seed 003) — the
 * framebuffer parameters (VIDIOC_G_FBUF) with capabilities and flags by name,
 * and the overlay window — and changes to them from the command line, with
 * the same checks as the overlay sink. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/v4l2_util.h"
#include "sink/fbuf.h"

static void _usage(FILE *f)
{
	fprintf(f,
		"Usage: camrelay overlay DEVICE [--json] [settings] [--start|--stop] [--hold SEC]\n"
		"Shows a V4L2 device's overlay: framebuffer parameters (capabilities and flags by name, pixel\n"
		"format, size, bytesperline, base) and the overlay window; applies the settings given.\n"
		"  --json                  print JSON\n"
		"  --framebuffer /dev/fbN  destructive overlay into that framebuffer (needs CAP_SYS_ADMIN)\n"
		"  --destructive           same, into /dev/fb0 unless --framebuffer names another\n"
		"  --flags a,b,...         %s\n"
		"  --window X,Y,W,H        overlay window on the framebuffer\n"
		"  --clip X,Y,W,H          framebuffer area the video leaves alone (repeatable)\n"
		"  --bitmap X,Y,W,H        window area where video shows, as a clip bitmap (repeatable)\n"
		"  --chromakey 0xRRGGBB    chroma key colour (sets the chromakey flag)\n"
		"  --global-alpha N        0..255 (sets the global_alpha flag)\n"
		"  --start / --stop        VIDIOC_OVERLAY on / off\n"
		"  --hold SEC              keep the device open SEC seconds (0: until interrupted); drivers\n"
		"                          stop an overlay when the program that started it closes the device\n"
		"Exit: 0 ok, 1 the device refused, 2 usage.\n",
		cr_fbuf_flag_names());
}

static int _rect(const char *s, int out[4])
{
	char end;
	return sscanf(s, "%d,%d,%d,%d%c", &out[0], &out[1], &out[2], &out[3], &end) == 4 && out[2] > 0 && out[3] > 0
		       ? 0
		       : -1;
}

static int _flags(const char *s, uint32_t *out)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	*out = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint32_t b = cr_fbuf_flag_bit(t);
		if (!b) {
			fprintf(stderr, "camrelay overlay: unknown flag \"%s\" (allowed: %s)\n", t, cr_fbuf_flag_names());
			return -1;
		}
		*out |= b;
	}
	return 0;
}

static json_t *_rect_json(const struct v4l2_rect *r)
{
	return json_pack("{s:i, s:i, s:i, s:i}", "left", r->left, "top", r->top, "width", (int)r->width, "height",
			 (int)r->height);
}

static json_t *_bits_json(uint32_t bits, void (*str)(uint32_t, char *, size_t))
{
	char names[256];
	str(bits, names, sizeof(names));
	json_t *a = json_array();
	if (!bits)
		return a;
	for (char *save = NULL, *t = strtok_r(names, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

static void _print_json(const char *dev, const struct cr_fbuf_state_s *st)
{
	char fcc[16], base[32];
	snprintf(base, sizeof(base), "0x%lx", (unsigned long)st->fb.base);
	json_t *fb = json_pack("{s:i, s:o, s:i, s:o, s:s, s:i, s:i, s:s, s:i, s:i, s:i, s:s}", "capability_value",
			       (int)st->fb.capability, "capabilities", _bits_json(st->fb.capability, cr_fbuf_caps_str),
			       "flags_value", (int)st->fb.flags, "flags", _bits_json(st->fb.flags, cr_fbuf_flags_str),
			       "base", base, "width", (int)st->fb.fmt.width, "height", (int)st->fb.fmt.height,
			       "pixelformat", cr_v4l2_fourcc_str(st->fb.fmt.pixelformat, fcc), "bytesperline",
			       (int)st->fb.fmt.bytesperline, "sizeimage", (int)st->fb.fmt.sizeimage, "colorspace",
			       (int)st->fb.fmt.colorspace, "destructive",
			       (st->fb.capability & V4L2_FBUF_CAP_EXTERNOVERLAY) || st->output ? "no" : "yes");
	json_t *root = json_pack("{s:s, s:s, s:s, s:o}", "device", dev, "card", st->card, "type",
				 st->output ? "video output overlay" : "video overlay", "framebuffer", fb);
	if (st->has_win) {
		json_t *clips = json_array();
		for (int i = 0; i < st->n_clips; i++)
			json_array_append_new(clips, _rect_json(&st->clips[i].c));
		json_object_set_new(root, "window",
				    json_pack("{s:o, s:i, s:i, s:i, s:o, s:b}", "rect", _rect_json(&st->win.w), "field",
					      (int)st->win.field, "chromakey", (int)st->win.chromakey, "global_alpha",
					      (int)st->win.global_alpha, "clips", clips, "bitmap", st->has_bitmap));
	}
	char *s = json_dumps(root, JSON_INDENT(2));
	if (s)
		puts(s);
	free(s);
	json_decref(root);
}

static void _print_text(const char *dev, const struct cr_fbuf_state_s *st)
{
	char caps[256], flags[160], fcc[16];
	cr_fbuf_caps_str(st->fb.capability, caps, sizeof(caps));
	cr_fbuf_flags_str(st->fb.flags, flags, sizeof(flags));
	printf("%s (%s): %s\n", dev, st->card, st->output ? "video output overlay (OSD)" : "video overlay");
	printf("Framebuffer:\n  capabilities 0x%08x: %s\n  flags        0x%08x: %s\n", st->fb.capability, caps,
	       st->fb.flags, flags);
	printf("  base %p, %ux%u %s, bytesperline %u, sizeimage %u\n", st->fb.base, st->fb.fmt.width,
	       st->fb.fmt.height, cr_v4l2_fourcc_str(st->fb.fmt.pixelformat, fcc), st->fb.fmt.bytesperline,
	       st->fb.fmt.sizeimage);
	if (!st->has_win)
		return;
	printf("Overlay window:\n  %ux%u at %d,%d, field %u, chromakey 0x%08x, global alpha %u, %d clips%s\n",
	       st->win.w.width, st->win.w.height, st->win.w.left, st->win.w.top, st->win.field, st->win.chromakey,
	       st->win.global_alpha, st->n_clips, st->has_bitmap ? ", bitmap" : "");
	for (int i = 0; i < st->n_clips; i++)
		printf("  clip %d: %ux%u at %d,%d\n", i, st->clips[i].c.width, st->clips[i].c.height, st->clips[i].c.left,
		       st->clips[i].c.top);
}

static int _run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},	  {"framebuffer", required_argument, NULL, 'F'},
		{"destructive", no_argument, NULL, 'D'},  {"flags", required_argument, NULL, 'f'},
		{"window", required_argument, NULL, 'w'}, {"clip", required_argument, NULL, 'c'},
		{"bitmap", required_argument, NULL, 'b'}, {"chromakey", required_argument, NULL, 'k'},
		{"global-alpha", required_argument, NULL, 'a'}, {"start", no_argument, NULL, 's'},
		{"stop", no_argument, NULL, 'S'},	  {"hold", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	struct cr_overlay_opts_s cfg; /* the overlay sink's keys */
	memset(&cfg, 0, sizeof(cfg));
	bool json = false, start = false, stop = false, changes = false;
	int hold = -1, c;
	char *end;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		changes = changes || (c != 'j' && c != 'H');
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'F':
			snprintf(cfg.framebuffer, sizeof(cfg.framebuffer), "%s", optarg);
			cfg.destructive = true;
			break;
		case 'D':
			cfg.destructive = true;
			break;
		case 'f':
			if (_flags(optarg, &cfg.fbuf_flags) < 0)
				return 2;
			cfg.has_flags = true;
			break;
		case 'w':
			if (_rect(optarg, cfg.window) < 0)
				goto bad_rect;
			cfg.has_window = true;
			break;
		case 'c':
		case 'b': {
			int *n = c == 'c' ? &cfg.n_clips : &cfg.n_bitmap;
			if (*n >= CR_MAX_OVERLAY_RECTS) {
				fprintf(stderr, "camrelay overlay: at most %d rectangles\n", CR_MAX_OVERLAY_RECTS);
				return 2;
			}
			if (_rect(optarg, c == 'c' ? cfg.clips[*n] : cfg.bitmap[*n]) < 0)
				goto bad_rect;
			(*n)++;
			break;
		}
		case 'k':
			cfg.chromakey = (uint32_t)strtoul(optarg, &end, 0);
			if (*end || cfg.chromakey > 0xffffff) {
				fprintf(stderr, "camrelay overlay: --chromakey wants 0xRRGGBB, got \"%s\"\n", optarg);
				return 2;
			}
			cfg.has_chromakey = true;
			break;
		case 'a':
			cfg.global_alpha = (int)strtol(optarg, &end, 0);
			if (*end || cfg.global_alpha < 0 || cfg.global_alpha > 255) {
				fprintf(stderr, "camrelay overlay: --global-alpha wants 0..255, got \"%s\"\n", optarg);
				return 2;
			}
			cfg.has_global_alpha = true;
			break;
		case 's':
			start = true;
			break;
		case 'S':
			stop = true;
			break;
		case 'H':
			hold = (int)strtol(optarg, &end, 10);
			if (*end || hold < 0) {
				fprintf(stderr, "camrelay overlay: --hold wants seconds, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'h':
			_usage(stdout);
			return 0;
		default:
			_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		_usage(stderr);
		return 2;
	}
	const char *spec = argv[optind];
	char path[256], err[768], notes[512] = "";
	int fd = cr_v4l2_open(spec, V4L2_CAP_VIDEO_OVERLAY | V4L2_CAP_VIDEO_OUTPUT_OVERLAY, path, sizeof(path), NULL,
			      0, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "camrelay overlay: %s\n", err);
		return 1;
	}
	struct cr_fbuf_state_s st;
	int r = cr_fbuf_query(fd, path, &st, err, sizeof(err));
	if (r >= 0 && stop)
		r = cr_fbuf_overlay(fd, path, false, err, sizeof(err));
	if (r >= 0 && changes)
		r = cr_fbuf_apply(fd, path, &cfg, &st, notes, sizeof(notes), err, sizeof(err));
	if (r >= 0 && start)
		r = cr_fbuf_overlay(fd, path, true, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "camrelay overlay: %s\n", err);
		close(fd);
		return 1;
	}
	if (notes[0])
		fprintf(stderr, "camrelay overlay: %s\n", notes);
	if (json)
		_print_json(path, &st);
	else
		_print_text(path, &st);
	fflush(stdout);
	if (hold >= 0) {
		cr_cli_catch_stop();
		for (int i = 0; !cr_cli_stop_requested() && (hold == 0 || i < hold * 10); i++)
			usleep(100000);
		if (start)
			cr_fbuf_overlay(fd, path, false, NULL, 0);
	}
	close(fd);
	return 0;
bad_rect:
	fprintf(stderr, "camrelay overlay: a rectangle is X,Y,W,H with W and H > 0, got \"%s\"\n", optarg);
	return 2;
}

const struct cr_command_s cr_command_overlay = {
	.name = "overlay",
	.run = _run,
	.summary = "show and set a V4L2 device's overlay (framebuffer, window, clips, alpha, chroma key)",
};
