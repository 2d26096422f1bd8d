/* Explicit caps through the public API (include/camrelay/pipeline.h only):
 * a file source whose picture changes size half-way (320x240 then 640x480,
 * as a camera that comes back at another size) feeds the H.264 encoder; the
 * caps callback must announce each size before the first packet and frame of
 * that size, and only then: the caps events of each output are exactly the
 * changes seen in what it delivers.
 *
 * With --test: the test source at 640x480@30 into x264 (optionally with a
 * profile and level); both outputs' caps must say 30/1 fps, the encoded one
 * the profile_idc/level_idc of its SPS (printed, and the stream written to
 * OUT, so that lib_test.py compares them with what ffprobe reads), with one
 * caps event each: the first packet's caps already carry them.
 *
 *   caps_test FILE.ts
 *   caps_test --test OUT.h264 [PROFILE LEVEL] */
#define _POSIX_C_SOURCE 200809L
#include <camrelay/pipeline.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct out_s {
	camrelay_caps caps; /* the last announced */
	int events, changes_seen, delivered, bad;
	int last_w, last_h;
	int keyframe_after_change, change_without_key;
	int saw_small, saw_big;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct out_s outs[2];

static void on_caps(const camrelay_caps *c, void *opaque)
{
	(void)opaque;
	pthread_mutex_lock(&lock);
	struct out_s *o = &outs[c->kind];
	if (c->generation != (uint64_t)o->events + 1) {
		fprintf(stderr, "FAIL: caps generation %llu after %d events\n", (unsigned long long)c->generation, o->events);
		o->bad++;
	}
	o->events++;
	o->caps = *c;
	printf("caps %s #%llu: %dx%d %s %d/%d fps profile %d level %d\n", c->kind == CAMRELAY_CAPS_RAW ? "raw" : "encoded",
	       (unsigned long long)c->generation, c->width, c->height, c->format, c->fps_num, c->fps_den, c->profile,
	       c->level);
	pthread_mutex_unlock(&lock);
}

/* What an output delivers must match the caps announced before it. */
static void seen(struct out_s *o, int w, int h, const char *what, int key)
{
	pthread_mutex_lock(&lock);
	if (o->caps.width != w || o->caps.height != h) {
		fprintf(stderr, "FAIL: %s %dx%d delivered under caps %dx%d\n", what, w, h, o->caps.width,
			o->caps.height);
		o->bad++;
	}
	if (w != o->last_w || h != o->last_h) {
		o->changes_seen++;
		if (key)
			o->keyframe_after_change++;
		else
			o->change_without_key++;
	}
	o->last_w = w;
	o->last_h = h;
	o->delivered++;
	o->saw_small |= w == 320 && h == 240;
	o->saw_big |= w == 640 && h == 480;
	pthread_mutex_unlock(&lock);
}

static void on_packet(const camrelay_encoded_packet *pkt, void *opaque)
{
	(void)opaque;
	int key = (pkt->flags & CAMRELAY_PIPELINE_KEYFRAME) && (pkt->flags & CAMRELAY_PIPELINE_CONFIG);
	seen(&outs[CAMRELAY_CAPS_ENCODED], pkt->width, pkt->height, "packet", key);
	if (outs[CAMRELAY_CAPS_ENCODED].caps.codec != pkt->codec)
		outs[CAMRELAY_CAPS_ENCODED].bad++;
}

static void on_frame(const camrelay_raw_frame *f, void *opaque)
{
	(void)opaque;
	seen(&outs[CAMRELAY_CAPS_RAW], f->width, f->height, "frame", 1);
}

static const char *TOML = "[stream.cam]\n"
			  "[[stream.cam.sources]]\n"
			  "file = \"%s\"\n"
			  "loop = false\n"
			  "[stream.cam.sources.encoder]\n"
			  "backend = \"software\"\n"
			  "codec = \"h264\"\n"
			  "gop = 300\n";

static FILE *dump; /* --test: the packets, for ffprobe */

static void on_test_packet(const camrelay_encoded_packet *pkt, void *opaque)
{
	(void)opaque;
	pthread_mutex_lock(&lock);
	fwrite(pkt->data, 1, pkt->size, dump);
	outs[CAMRELAY_CAPS_ENCODED].delivered++;
	pthread_mutex_unlock(&lock);
}

static void on_test_frame(const camrelay_raw_frame *f, void *opaque)
{
	(void)f;
	(void)opaque;
	pthread_mutex_lock(&lock);
	outs[CAMRELAY_CAPS_RAW].delivered++;
	pthread_mutex_unlock(&lock);
}

static int test_source(const char *out, const char *profile, const char *level)
{
	char toml[1024], extra[128] = "", err[512];
	if (profile && *profile)
		snprintf(extra, sizeof(extra), "profile = \"%s\"\nlevel = \"%s\"\n", profile, level);
	snprintf(toml, sizeof(toml),
		 "[stream.cam]\n[[stream.cam.sources]]\n[stream.cam.sources.capture]\nbackend = \"test\"\n"
		 "width = 640\nheight = 480\nfps = 30\n[stream.cam.sources.encoder]\nbackend = \"x264\"\n"
		 "codec = \"h264\"\ngop = 30\n%s",
		 extra);
	dump = fopen(out, "wb");
	camrelay_pipeline *p = dump ? camrelay_pipeline_create_toml(toml, "caps-test.toml", NULL, err, sizeof(err)) : NULL;
	if (!p) {
		fprintf(stderr, "FAIL: create: %s\n", dump ? err : out);
		return 1;
	}
	camrelay_pipeline_set_caps_callback(p, on_caps, NULL);
	camrelay_pipeline_set_packet_callback(p, on_test_packet, NULL);
	camrelay_pipeline_set_frame_callback(p, on_test_frame, NULL);
	int fails = 0;
	if (camrelay_pipeline_start(p) < 0) {
		fprintf(stderr, "FAIL: start: %s\n", camrelay_pipeline_last_error(p));
		fails++;
	}
	for (int i = 0; i < 200 && !fails; i++) { /* up to 20 s: 60 packets and frames */
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&lock);
		int done = outs[0].delivered >= 60 && outs[1].delivered >= 60;
		pthread_mutex_unlock(&lock);
		if (done)
			break;
	}
	camrelay_pipeline_stop(p);
	fclose(dump);
	for (int k = 0; k < 2; k++) {
		const camrelay_caps *c = &outs[k].caps;
		const char *name = k ? "raw" : "encoded";
		printf("%s: %d delivered, %d caps events; caps %dx%d %s %d/%d fps profile %d level %d\n", name,
		       outs[k].delivered, outs[k].events, c->width, c->height, c->format, c->fps_num, c->fps_den,
		       c->profile, c->level);
		if (outs[k].delivered < 60 || outs[k].events != 1 || outs[k].bad || c->width != 640 || c->height != 480 ||
		    c->fps_num != 30 || c->fps_den != 1) {
			fprintf(stderr, "FAIL: %s caps are not one event of 640x480 at 30/1 fps\n", name);
			fails++;
		}
		camrelay_caps got;
		if (camrelay_pipeline_caps_get(p, (camrelay_caps_kind)k, &got, sizeof(got)) != 0 ||
		    memcmp(&got, c, sizeof(got)) != 0) {
			fprintf(stderr, "FAIL: %s caps_get is not the announced caps\n", name);
			fails++;
		}
	}
	if (outs[0].caps.profile <= 0 || outs[0].caps.level <= 0 || outs[1].caps.profile || outs[1].caps.level) {
		fprintf(stderr, "FAIL: profile/level: encoded %d/%d (want the SPS's), raw %d/%d (want 0)\n",
			outs[0].caps.profile, outs[0].caps.level, outs[1].caps.profile, outs[1].caps.level);
		fails++;
	}
	/* The library's introspection names what each source delivers (its
	 * table's caps): the test source's formats, up to its closing ')'. */
	const char *b = camrelay_backends_string(), *t = strstr(b, " test(");
	const char *end = t ? strchr(t, ')') : NULL;
	if (!end || !strstr(t, "yuyv") || strstr(t, "yuyv") > end || (camrelay_api_version() & 0xffff) < 3) {
		fprintf(stderr, "FAIL: API %u.%u, backends string without the test source's formats: %s\n",
			camrelay_api_version() >> 16, camrelay_api_version() & 0xffff, b);
		fails++;
	}
	/* for lib_test.py, against ffprobe */
	printf("sps-caps: profile_idc=%d level_idc=%d fps=%d/%d\n", outs[0].caps.profile, outs[0].caps.level,
	       outs[0].caps.fps_num, outs[0].caps.fps_den);
	camrelay_pipeline_destroy(p);
	printf("caps_test --test: %s\n", fails ? "FAILED" : "ok");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	char toml[1024], err[512];
	if (argc >= 3 && strcmp(argv[1], "--test") == 0)
		return test_source(argv[2], argc >= 5 ? argv[3] : NULL, argc >= 5 ? argv[4] : NULL);
	if (argc != 2) {
		fprintf(stderr, "usage: caps_test FILE | caps_test --test OUT.h264 [PROFILE LEVEL]\n");
		return 2;
	}
	snprintf(toml, sizeof(toml), TOML, argv[1]);
	camrelay_pipeline *p = camrelay_pipeline_create_toml(toml, "caps.toml", NULL, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "FAIL: create: %s\n", err);
		return 1;
	}
	camrelay_caps c;
	int fails = 0;
	if (camrelay_pipeline_caps_get(p, CAMRELAY_CAPS_ENCODED, &c, sizeof(c)) != -EAGAIN) {
		fprintf(stderr, "FAIL: caps before start\n");
		fails++;
	}
	camrelay_pipeline_set_caps_callback(p, on_caps, NULL);
	camrelay_pipeline_set_packet_callback(p, on_packet, NULL);
	camrelay_pipeline_set_frame_callback(p, on_frame, NULL);
	if (camrelay_pipeline_start(p) < 0) {
		fprintf(stderr, "FAIL: start: %s\n", camrelay_pipeline_last_error(p));
		camrelay_pipeline_destroy(p);
		return 1;
	}
	if (camrelay_pipeline_set_caps_callback(p, NULL, NULL) != -EBUSY) {
		fprintf(stderr, "FAIL: caps callback changed while running\n");
		fails++;
	}
	for (int i = 0; i < 200; i++) { /* up to 20 s: until 30 packets of the second size */
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&lock);
		int done = outs[0].saw_big && outs[1].saw_big && outs[0].last_w == 640 && outs[0].delivered > 60;
		pthread_mutex_unlock(&lock);
		if (done)
			break;
	}
	camrelay_pipeline_stop(p);
	for (int k = 0; k < 2; k++) {
		struct out_s *o = &outs[k];
		const char *name = k ? "raw" : "encoded";
		printf("%s: %d delivered, %d caps events, %d size changes seen, sizes 320x240 %s, 640x480 %s\n", name,
		       o->delivered, o->events, o->changes_seen, o->saw_small ? "yes" : "no", o->saw_big ? "yes" : "no");
		if (o->bad || !o->saw_small || !o->saw_big || o->events != o->changes_seen || o->events < 2) {
			fprintf(stderr, "FAIL: %s caps do not match what was delivered\n", name);
			fails++;
		}
		if (camrelay_pipeline_caps_get(p, (camrelay_caps_kind)k, &c, sizeof(c)) != 0 ||
		    c.generation != (uint64_t)o->events || c.width != o->last_w || c.height != o->last_h) {
			fprintf(stderr, "FAIL: %s caps_get is not the last announced caps\n", name);
			fails++;
		}
	}
	if (outs[0].change_without_key) {
		fprintf(stderr, "FAIL: %d encoded size changes began without a keyframe + parameter sets\n",
			outs[0].change_without_key);
		fails++;
	}
	/* the clip is 30 fps (lib_test.py makes it) */
	if (outs[0].caps.fps_num != 30 || outs[0].caps.fps_den != 1 || outs[1].caps.fps_num != 30 ||
	    outs[1].caps.fps_den != 1) {
		fprintf(stderr, "FAIL: frame rate in caps %d/%d (encoded), %d/%d (raw), want 30/1\n", outs[0].caps.fps_num,
			outs[0].caps.fps_den, outs[1].caps.fps_num, outs[1].caps.fps_den);
		fails++;
	}
	if (strcmp(outs[0].caps.format, "h264") != 0 || outs[0].caps.codec != CAMRELAY_CODEC_H264 ||
	    outs[0].caps.clock_rate != 90000) {
		fprintf(stderr, "FAIL: encoded caps say %s/%d at %u Hz\n", outs[0].caps.format, outs[0].caps.codec,
			outs[0].caps.clock_rate);
		fails++;
	}
	camrelay_pipeline_destroy(p);
	printf("caps_test: %s\n", fails ? "FAILED" : "ok");
	return fails ? 1 : 0;
}
