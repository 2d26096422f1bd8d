/* Config files as users write them.
 *
 *   test_config_files good DIR   every *.toml loads; known files are checked
 *                                field by field
 *   test_config_files bad DIR    every *.toml fails, and the message matches
 *                                the file's header:
 *                                  # expect: <substring of the message>
 *                                  # at: <line>:<col>
 *                                the message must start "<path>:<line>:<col>: "
 */
#include <dirent.h>
#include <linux/videodev2.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "encode/encoder.h"
#include "net/whep.h"
#include "sink/drm.h"
#include "sink/fbuf.h"
#include "sink/rtp_sink.h"
#include "sink/sink.h"
#include "sink/webcam.h"
#include "sink/whip_sink.h"
#include "source/source.h"

/* ~1.6 MB: too big for the stack. */
static struct cr_config_s _cfg;

/* A backend's own key as the schema stored it in the block (its table says where). */
static const char *_opt(const struct cr_option_s *opts, const unsigned char *block, const char *key)
{
	const struct cr_option_s *o = cr_option_find(opts, key);
	return o ? (const char *)block + o->offset : "(not declared)";
}
static int _int_opt(const struct cr_option_s *opts, const unsigned char *block, const char *key)
{
	const struct cr_option_s *o = cr_option_find(opts, key);
	return o ? *(const int *)(const void *)(block + o->offset) : -1;
}
#define _SW_OPT(e, key) _opt(cr_encoder_find("software", (e)->codec)->options, (e)->opts, key)
static int _failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, \
				_cfg.path, #cond);                                       \
			_failures++;                                                     \
		}                                                                        \
	} while (0)

static int _cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.toml names in dir; NULL-terminated, caller frees. */
static char **_list(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		exit(1);
	}
	char **v = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".toml") != 0)
			continue;
		v = realloc(v, (n + 2) * sizeof(*v));
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (!v)
		v = calloc(1, sizeof(*v));
	v[n] = NULL;
	qsort(v, n, sizeof(*v), _cmp);
	return v;
}

static const struct cr_source_cfg_s *_src(const char *stream, int i)
{
	for (int s = 0; s < _cfg.n_streams; s++)
		if (strcmp(_cfg.streams[s]->name, stream) == 0)
			return i < _cfg.streams[s]->n_sources ? &_cfg.streams[s]->sources[i] : NULL;
	return NULL;
}

static const struct cr_stream_cfg_s *_stream(const char *name)
{
	for (int s = 0; s < _cfg.n_streams; s++)
		if (strcmp(_cfg.streams[s]->name, name) == 0)
			return _cfg.streams[s];
	return NULL;
}

static void _check_seed_common(const struct cr_source_cfg_s *src, const char *device, enum cr_pixfmt_e fmt)
{
	CHECK(src->url[0] == '\0');
	CHECK(strcmp(src->capture.device, device) == 0);
	CHECK(src->capture.width == 640 && src->capture.height == 480 && src->capture.fps == 30);
	CHECK(src->capture.pixel_format == fmt);
	CHECK(!src->capture.prefer_dmabuf);
	CHECK(src->encoder.present);
	CHECK(src->encoder.codec == CR_CODEC_H264);
	CHECK(src->encoder.bitrate == 1000000);
	CHECK(src->encoder.gop == 60);
	CHECK(src->output.present && src->output.payload_type == 96 && src->output.clock_rate == 90000);
	CHECK(strcmp(_cfg.http.listen, "127.0.0.1:8080") == 0);
	CHECK(_cfg.n_streams == 1 && _cfg.streams[0]->n_sources == 1 && _cfg.streams[0]->n_sinks == 0);
	CHECK(_cfg.webrtc.port == 0 && _cfg.webrtc.n_candidates == 0 && _SW_OPT(&src->encoder, "preset")[0] == '\0');
	CHECK(_cfg.streams[0]->mjpeg.quality == 80 && _cfg.streams[0]->mjpeg.fps == 0);
}

/* Keys the sink backends declare in their own tables (src/sink/<name>.c). */
static void _check_sink_keys(const char *name)
{
	const struct cr_stream_cfg_s *s = _stream("cam");
	CHECK(s != NULL);
	if (!s)
		return;
	if (name[0] == 'w') {
		/* each sink's keys in the block of its type, and only that block */
		CHECK(s->n_sinks == 2 && s->sinks[0]->type == CR_SINK_WHIP &&
		      s->sinks[0]->opts_size == sizeof(struct cr_whip_opts_s) && s->sinks[1]->opts_size == sizeof(struct cr_whip_opts_s));
		const struct cr_whip_opts_s *w = s->sinks[0]->opts, *w2 = s->sinks[1]->opts;
		CHECK(strcmp(w->url, "https://sfu.example/whip/cam1") == 0);
		CHECK(strcmp(w->token, "eyJhbGciOiJIUzI1NiJ9.e30.x") == 0 && w->backoff_max_ms == 30000);
		CHECK(w->n_ice_servers == 1 && w->ice_servers[0].n_urls == 2 &&
		      strcmp(w->ice_servers[0].urls[1], "turn:turn.example:3478?transport=udp") == 0 &&
		      strcmp(w->ice_servers[0].credential, "p") == 0);
		CHECK(w2->backoff_max_ms == 8000 && w2->n_ice_servers == 0 && w2->token[0] == '\0'); /* defaults */
		return;
	}
	CHECK(s->n_sinks == 3 && s->sinks[0]->type == CR_SINK_OVERLAY && s->sinks[2]->type == CR_SINK_DRM);
	CHECK(s->sinks[0]->opts_size == sizeof(struct cr_overlay_opts_s) && s->sinks[2]->opts_size == sizeof(struct cr_drm_opts_s));
	const struct cr_overlay_opts_s *o = s->sinks[0]->opts, *osd = s->sinks[1]->opts;
	const struct cr_drm_opts_s *d = s->sinks[2]->opts;
	CHECK(o->destructive && !o->osd);
	CHECK(strcmp(o->framebuffer, "/dev/fb0") == 0 && o->has_window && o->window[2] == 320);
	CHECK(o->n_clips == 2 && o->clips[1][0] == 200 && o->n_bitmap == 1 && o->bitmap[0][2] == 160);
	CHECK(!o->has_chromakey && !o->has_flags && !o->has_global_alpha);
	CHECK(osd->osd && osd->has_flags && osd->fbuf_flags == V4L2_FBUF_FLAG_CHROMAKEY);
	CHECK(osd->has_chromakey && osd->chromakey == 0x00ff00 && osd->has_global_alpha && osd->global_alpha == 200);
	CHECK(strcmp(d->connector, "Virtual-1") == 0 && strcmp(d->mode, "1024x768") == 0);
	CHECK(d->has_rect && d->rect[0] == 100 && d->rect[3] == 360);
}

static void _check_good(const char *name)
{
	const struct cr_source_cfg_s *src;
	const struct cr_stream_cfg_s *s;

	if (strcmp(name, "rpi-csi.toml") == 0) {
		CHECK((src = _src("pi-cam", 0)) != NULL);
		if (!src)
			return;
		_check_seed_common(src, "0", CR_PIXFMT_YUV420);
		CHECK(strcmp(src->capture.backend, "libcamera") == 0);
		CHECK(strcmp(src->encoder.backend, "v4l2-m2m") == 0);
		CHECK(strcmp(src->encoder.profile, "baseline") == 0 && strcmp(src->encoder.level, "3.1") == 0);
		CHECK(src->encoder.profile_idc == 66 && src->encoder.constraint_flags == 0 &&
		      src->encoder.level_idc == 31);
		CHECK(src->line == 2);
	} else if (strcmp(name, "rpi-usb-v4l2.toml") == 0 || strcmp(name, "rdk-x5.toml") == 0) {
		bool rdk = name[1] == 'd';
		CHECK((src = _src(rdk ? "rdk-cam" : "usb-cam", 0)) != NULL);
		if (!src)
			return;
		_check_seed_common(src, rdk ? "/dev/video0" : "/dev/video2", CR_PIXFMT_YUYV);
		CHECK(strcmp(src->capture.backend, "v4l2") == 0);
		CHECK(_int_opt(cr_source_find("v4l2")->options, src->capture.opts, "buffers") == 6); /* the table's default */
		CHECK(strcmp(src->encoder.backend, rdk ? "rdk" : "v4l2-m2m") == 0);
		CHECK(strcmp(src->encoder.profile, "42001f") == 0 && src->encoder.level[0] == '\0');
		CHECK(src->encoder.profile_idc == 0x42 && src->encoder.constraint_flags == 0x00 &&
		      src->encoder.level_idc == 0x1f);
	} else if (strcmp(name, "extensions.toml") == 0) {
		CHECK(strcmp(_cfg.http.listen, "0.0.0.0:8081") == 0);
		CHECK(_cfg.webrtc.port == 9555 && _cfg.webrtc.timeout == 15 && _cfg.webrtc.n_candidates == 2);
		CHECK(strcmp(_cfg.webrtc.candidates[1], "fd00::10") == 0);
		CHECK(_cfg.n_streams == 4);
		CHECK((s = _stream("desk")) != NULL);
		if (!s)
			return;
		CHECK(s->mjpeg.quality == 90 && s->mjpeg.fps == 15);
		src = &s->sources[0];
		CHECK(s->n_sources == 1);
		CHECK(src->capture.width == 1920 && src->capture.height == 1080);
		CHECK(src->capture.pixel_format == CR_PIXFMT_MJPEG && src->capture.prefer_dmabuf);
		CHECK(_int_opt(cr_source_find("v4l2")->options, src->capture.opts, "buffers") == 3);
		CHECK(src->capture.n_controls == 3);
		CHECK(strcmp(src->capture.controls[0].name, "brightness") == 0);
		CHECK(strcmp(src->capture.controls[0].value, "10") == 0);
		CHECK(strcmp(src->capture.controls[1].value, "false") == 0);
		CHECK(strcmp(src->capture.controls[2].value, "50 Hz") == 0);
		CHECK(strcmp(src->encoder.backend, "x264") == 0 && src->encoder.codec == CR_CODEC_H264);
		CHECK(strcmp(_SW_OPT(&src->encoder, "preset"), "veryfast") == 0);
		CHECK(src->encoder.bitrate == 2500000 && src->encoder.gop == 30);
		CHECK(src->encoder.profile_idc == 66 && src->encoder.constraint_flags == 0xE0 &&
		      src->encoder.level_idc == 40);
		CHECK(!src->output.present && src->output.payload_type == 96 && src->output.clock_rate == 90000);
		CHECK(s->n_sinks == 4);
		CHECK(s->sinks[0]->type == CR_SINK_WEBCAM && strcmp(s->sinks[0]->device, "/dev/video10") == 0);
		CHECK(s->sinks[0]->pixel_format == CR_PIXFMT_YUYV && s->sinks[0]->width == 1280);
		const struct cr_webcam_opts_s *wo = s->sinks[0]->opts;
		CHECK(wo->keep_format && wo->timeout_ms == 1500); /* the webcam table's defaults */
		CHECK(s->sinks[1]->type == CR_SINK_RTP && s->sinks[1]->opts_size == sizeof(struct cr_rtp_sink_opts_s) &&
		      strcmp(((const struct cr_rtp_sink_opts_s *)s->sinks[1]->opts)->address, "[::1]:5004") == 0);
		CHECK(s->sinks[2]->type == CR_SINK_DRM && s->sinks[3]->type == CR_SINK_OVERLAY && s->sinks[3]->fps == 10);

		CHECK((src = _src("pattern", 0)) != NULL);
		if (src) {
			CHECK(strcmp(src->capture.backend, "test") == 0);
			CHECK(src->capture.width == 1280 && src->capture.height == 720 && src->capture.fps == 30);
			CHECK(src->capture.pixel_format == CR_PIXFMT_YUYV);
			CHECK(strcmp(_opt(cr_source_find("test")->options, src->capture.opts, "pattern"), "bars") == 0); /* the table's default */
			CHECK(src->encoder.codec == CR_CODEC_VP9 && src->encoder.bitrate == 800000);
		}
		CHECK((src = _src("dslr", 0)) != NULL);
		if (src) {
			CHECK(strcmp(src->capture.backend, "gphoto2") == 0);
			CHECK(strcmp(src->capture.device, "Nikon D750") == 0);
			CHECK(src->capture.n_controls == 2);
			CHECK(strcmp(src->capture.controls[1].name, "f-number") == 0);
			CHECK(strcmp(src->capture.controls[1].value, "f/4") == 0);
			CHECK(src->encoder.codec == CR_CODEC_MJPEG);
			CHECK(src->output.present && src->output.payload_type == 97);
		}
		CHECK((src = _src("lobby", 0)) != NULL);
		if (src) {
			CHECK(strcmp(src->url, "rtsp://192.168.1.100:554/stream") == 0);
			CHECK(!src->encoder.present && src->capture.backend[0] == '\0');
		}
	} else if (strcmp(name, "m2m-keys.toml") == 0) {
		const struct cr_encoder_ops_s *m2m = cr_encoder_find("v4l2-m2m", CR_CODEC_H264);
		CHECK((src = _src("cam", 0)) != NULL && m2m != NULL);
		if (src && m2m) {
			CHECK(strcmp(_opt(m2m->options, src->encoder.opts, "device"), "/dev/video11") == 0);
			CHECK(strcmp(_opt(m2m->options, src->encoder.opts, "fallback"), "software") == 0);
		}
	} else if (strcmp(name, "overlay-drm.toml") == 0 || strcmp(name, "whip.toml") == 0) {
		_check_sink_keys(name);
	} else {
		printf("  (no field checks for %s)\n", name);
	}
}

/* Reads "# expect: ..." and "# at: L:C" from the top of the file. */
static int _read_expect(const char *path, char *expect, size_t size, int *line, int *col)
{
	FILE *f = fopen(path, "rb");
	char l1[512], l2[128];
	if (!f)
		return -1;
	bool ok = fgets(l1, sizeof(l1), f) && fgets(l2, sizeof(l2), f);
	fclose(f);
	if (!ok || strncmp(l1, "# expect: ", 10) != 0 || sscanf(l2, "# at: %d:%d", line, col) != 2)
		return -1;
	l1[strcspn(l1, "\r\n")] = '\0';
	snprintf(expect, size, "%s", l1 + 10);
	return 0;
}

static int _run(const char *mode, const char *dir)
{
	bool good = strcmp(mode, "good") == 0;
	char **names = _list(dir);
	int n = 0;

	for (char **p = names; *p; p++, n++) {
		char path[1024], err[1024], expect[512], prefix[1100];
		int line, col, before = _failures;
		snprintf(path, sizeof(path), "%s/%s", dir, *p);
		cr_config_free(&_cfg); /* the last file's blocks */
		int rc = cr_config_load(path, &_cfg, err, sizeof(err));
		if (good) {
			if (rc < 0) {
				fprintf(stderr, "FAIL %s: %s\n", *p, err);
				_failures++;
			} else {
				_check_good(*p);
			}
		} else if (_read_expect(path, expect, sizeof(expect), &line, &col) < 0) {
			fprintf(stderr, "FAIL %s: needs '# expect: ...' and '# at: L:C' on lines 1-2\n", *p);
			_failures++;
		} else if (rc >= 0) {
			fprintf(stderr, "FAIL %s: loaded, expected an error containing \"%s\"\n", *p, expect);
			_failures++;
		} else {
			snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", path, line, col);
			if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, expect)) {
				fprintf(stderr, "FAIL %s:\n  got:  %s\n  want: %s... %s\n", *p, err, prefix, expect);
				_failures++;
			}
		}
		printf("%s %s%s%s\n", _failures == before ? "ok  " : "FAIL", *p, good ? "" : ": ",
		       good ? "" : err);
		free(*p);
	}
	free(names);
	printf("%d %s configs, %d failures\n", n, mode, _failures);
	/* The suite promises this many; a lost directory must not pass quietly. */
	if (n < (good ? 4 : 25)) {
		fprintf(stderr, "FAIL: only %d files in %s\n", n, dir);
		return 1;
	}
	return _failures ? 1 : 0;
}

static void _check_default(void)
{
	cr_config_free(&_cfg); /* the last file's blocks */
	cr_config_default(&_cfg);
	CHECK(_cfg.n_streams == 1 && strcmp(_cfg.streams[0]->name, "test") == 0);
	const struct cr_source_cfg_s *src = &_cfg.streams[0]->sources[0];
	CHECK(_cfg.streams[0]->n_sources == 1 && strcmp(src->capture.backend, "test") == 0);
	CHECK(src->capture.width == 1280 && src->capture.height == 720 && src->capture.fps == 30);
	CHECK(src->capture.pixel_format == CR_PIXFMT_YUYV);
	CHECK(strcmp(_cfg.http.listen, "127.0.0.1:8080") == 0);
	CHECK(_cfg.streams[0]->mjpeg.quality == 80);
}

/* Profile/level decoding and load errors that need no file of their own. */
static void _check_profiles(void)
{
	static const struct {
		const char *profile, *level;
		int idc, flags, level_idc;
	} cases[] = {
		{"baseline", "3.1", 66, 0x00, 31},
		{"constrained-baseline", "3.1", 66, 0xE0, 31},
		{"main", "5.1", 77, 0x00, 51},
		{"high", "4.2", 100, 0x00, 42},
		{"baseline", "1b", 66, 0x10, 11}, /* A.3.1: 1b below High */
		{"high", "1b", 100, 0x00, 9},
		{"42e01f", NULL, 0x42, 0xE0, 0x1f},
		{"640028", "4", 0x64, 0x00, 40},
		{"4D401E", NULL, 0x4d, 0x40, 30},
	};
	char text[512], err[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "[stream.s]\n[[stream.s.sources]]\ncapture.backend = \"test\"\n"
			 "encoder = { backend = \"software\", profile = \"%s\"%s%s%s }\n",
			 cases[i].profile, cases[i].level ? ", level = \"" : "", cases[i].level ? cases[i].level : "",
			 cases[i].level ? "\"" : "");
		cr_config_free(&_cfg); /* the last file's blocks */
		if (cr_config_parse("profile.toml", text, strlen(text), &_cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "FAIL profile %s: %s\n", cases[i].profile, err);
			_failures++;
			continue;
		}
		const struct cr_encoder_cfg_s *e = &_cfg.streams[0]->sources[0].encoder;
		if (e->profile_idc != cases[i].idc || e->constraint_flags != cases[i].flags ||
		    e->level_idc != cases[i].level_idc) {
			fprintf(stderr, "FAIL profile %s/%s: got %u/0x%02x/%u\n", cases[i].profile,
				cases[i].level ? cases[i].level : "-", e->profile_idc, e->constraint_flags, e->level_idc);
			_failures++;
		}
	}
	cr_config_free(&_cfg); /* the last file's blocks */
	if (cr_config_load("/nonexistent/cam.toml", &_cfg, err, sizeof(err)) != -ENOENT ||
	    strcmp(err, "/nonexistent/cam.toml: cannot read: No such file or directory") != 0) {
		fprintf(stderr, "FAIL missing file: %s\n", err);
		_failures++;
	}
	cr_config_free(&_cfg); /* the last file's blocks */
	if (cr_config_parse("empty.toml", "", 0, &_cfg, err, sizeof(err)) >= 0 ||
	    strncmp(err, "empty.toml:1:1: stream: no streams defined", 42) != 0) {
		fprintf(stderr, "FAIL empty file: %s\n", err);
		_failures++;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "good") != 0 && strcmp(argv[1], "bad") != 0)) {
		fprintf(stderr, "usage: %s good|bad DIR\n", argv[0]);
		return 2;
	}
	cr_sinks_config_tables(); /* as the daemon: sinks are read with their tables */
	cr_config_use_webrtc_codecs(cr_whep_codecs()); /* and webrtc_codecs with WHEP's */
	if (strcmp(argv[1], "good") == 0) {
		_check_default();
		_check_profiles();
	}
	return _run(argv[1], argv[2]);
}
