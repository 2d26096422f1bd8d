/* The pipeline core with the real test source: shared stages, per-subscriber
 * queues, drops for slow subscribers only, conversion, MJPEG, caps that
 * follow the frame rate, and no leaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/stream.h"
#include "tests/check.h"

static struct cr_stream_cfg_s _cfg(int w, int h, int fps, enum cr_pixfmt_e fmt)
{
	struct cr_stream_cfg_s c;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "t");
	c.n_sources = 1;
	snprintf(c.sources[0].capture.backend, sizeof(c.sources[0].capture.backend), "test");
	c.sources[0].capture.width = w;
	c.sources[0].capture.height = h;
	c.sources[0].capture.fps = fps;
	c.sources[0].capture.pixel_format = fmt;
	return c;
}

static struct cr_sub_info_s infos[3];
static int n_infos;

static void _collect(const struct cr_sub_info_s *i, void *o)
{
	(void)o;
	if (n_infos < 3)
		infos[n_infos++] = *i;
}

static void test_mjpeg_fanout(void)
{
	struct cr_stream_cfg_s cfg = _cfg(320, 240, 50, CR_PIXFMT_YUYV);
	struct cr_stream_s *s = cr_stream_new(&cfg);
	char err[256];
	CHECK(cr_stream_start(s, err, sizeof(err)) == 0, "%s", err);
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .depth = 16, .name = "fast"};
	req.encoder.codec = CR_CODEC_MJPEG;
	req.encoder.quality = 80;
	struct cr_sub_s *fast = cr_stream_subscribe(s, &req);
	req.name = "stalled";
	req.depth = 4;
	struct cr_sub_s *stalled = cr_stream_subscribe(s, &req);
	struct cr_sub_req_s raw = {.kind = CR_SUB_RAW, .format = CR_PIXFMT_NV12, .depth = 16, .name = "nv12"};
	struct cr_sub_s *nv12 = cr_stream_subscribe(s, &raw);

	tjhandle tj = tjInitDecompress();
	int got = 0, decoded = 0, raw_got = 0;
	/* Counts, not time: wait for 50 packets (the deadline only bounds a hang). */
	int64_t end = cr_now_ns() + 30000000000LL;
	while ((got < 50 || raw_got < 50) && cr_now_ns() < end) {
		struct cr_packet_s *p = cr_sub_pop(fast, 50);
		if (p) {
			int w, h, ss, cs;
			got++;
			if (tjDecompressHeader3(tj, p->data, p->size, &w, &h, &ss, &cs) == 0 && w == 320 && h == 240)
				decoded++;
			CHECK(p->ts_capture_ns > 0 && p->ts_encoded_ns >= p->ts_capture_ns, "timestamps");
			cr_packet_unref(p);
		}
		struct cr_frame_s *f;
		while ((f = cr_sub_pop(nv12, 0))) {
			CHECK(f->format == CR_PIXFMT_NV12 && f->width == 320, "raw format %d", f->format);
			raw_got++;
			cr_frame_unref(f);
		}
	}
	tjDestroy(tj);
	CHECK(got >= 50, "fast subscriber got %d packets", got);
	CHECK(decoded == got, "%d of %d decoded", decoded, got);
	CHECK(raw_got >= 50, "raw subscriber got %d frames", raw_got);

	n_infos = 0;
	cr_stream_foreach_sub(s, _collect, NULL);
	int n = n_infos;
	CHECK(n == 3, "3 subscribers listed, got %d", n);
	int n_stalled = 0, n_fast = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(infos[i].name, "stalled") == 0) {
			/* It read nothing: all but the 4 it holds were dropped for it alone. */
			CHECK(infos[i].dropped + 4 + 2 >= (uint64_t)got, "stalled drops %llu of %d",
			      (unsigned long long)infos[i].dropped, got);
			n_stalled++;
		}
		if (strcmp(infos[i].name, "fast") == 0) {
			CHECK(infos[i].dropped == 0, "fast drops %llu", (unsigned long long)infos[i].dropped);
			n_fast++;
		}
	}
	/* The drop checks above ran: the list names both subscribers. */
	CHECK(n_stalled == 1 && n_fast == 1, "listed by name: stalled %d, fast %d", n_stalled, n_fast);
	struct cr_stream_status_s st;
	cr_stream_status(s, &st);
	CHECK(st.state == CR_SOURCE_RUNNING, "state %s", cr_source_state_name(st.state));
	CHECK(st.width == 320 && st.format == CR_PIXFMT_YUYV, "status %dx%d", st.width, st.height);
	CHECK(atomic_load(&cr_stream_stats(s)->frames_captured) >= 50, "captured");

	cr_stream_unsubscribe(fast);
	cr_stream_unsubscribe(stalled);
	cr_stream_unsubscribe(nv12);
	cr_stream_destroy(s);
	CHECK(atomic_load(&cr_frames_alive) == 0, "frames alive %ld", atomic_load(&cr_frames_alive));
	CHECK(atomic_load(&cr_packets_alive) == 0, "packets alive %ld", atomic_load(&cr_packets_alive));
}

/* A raw subscriber in the captured format gets the frames as they are. */
static void test_raw_same_format(void)
{
	struct cr_stream_cfg_s cfg = _cfg(320, 240, 25, CR_PIXFMT_YUYV);
	struct cr_stream_s *s = cr_stream_new(&cfg);
	char err[256];
	CHECK(cr_stream_start(s, err, sizeof(err)) == 0, "%s", err);
	struct cr_sub_req_s raw = {.kind = CR_SUB_RAW, .format = CR_PIXFMT_YUYV, .depth = 2, .name = "raw"};
	struct cr_sub_s *sub = cr_stream_subscribe(s, &raw);
	struct cr_frame_s *f = cr_sub_pop(sub, 1000);
	CHECK(f && f->format == CR_PIXFMT_YUYV, "frame");
	cr_frame_unref(f);
	cr_stream_unsubscribe(sub);
	cr_stream_destroy(s);
}

static struct cr_caps_s caps_seen[4];
static int n_caps;

static void _on_caps(const struct cr_caps_s *c, void *o)
{
	(void)o;
	if (n_caps < 4)
		caps_seen[n_caps] = *c;
	n_caps++;
}

/* Caps carry the source's frame rate, and a new rate alone (a live reload
 * from 25 to 10 fps, same size and format) is a new generation. */
static void test_caps_rate(void)
{
	struct cr_stream_cfg_s cfg = _cfg(320, 240, 25, CR_PIXFMT_YUYV);
	struct cr_stream_s *s = cr_stream_new(&cfg);
	char err[256];
	CHECK(cr_stream_start(s, err, sizeof(err)) == 0, "%s", err);
	struct cr_sub_req_s raw = {.kind = CR_SUB_RAW, .depth = 2, .caps = _on_caps, .name = "raw"};
	struct cr_sub_s *sub = cr_stream_subscribe(s, &raw);
	cr_frame_unref(cr_sub_pop(sub, 1000));
	CHECK(n_caps == 1 && caps_seen[0].fps_num == 25 && caps_seen[0].fps_den == 1 && caps_seen[0].width == 320,
	      "first caps: %d events, %d/%d fps", n_caps, caps_seen[0].fps_num, caps_seen[0].fps_den);
	struct cr_stream_cfg_s slower = _cfg(320, 240, 10, CR_PIXFMT_YUYV);
	CHECK(cr_stream_reconfigure(s, &slower, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < 40 && n_caps < 2; i++)
		cr_frame_unref(cr_sub_pop(sub, 200));
	CHECK(n_caps == 2 && caps_seen[1].generation == 2 && caps_seen[1].fps_num == 10 && caps_seen[1].fps_den == 1 &&
		      caps_seen[1].width == 320 && caps_seen[1].format == CR_PIXFMT_YUYV,
	      "after 25 -> 10 fps: %d events, the last #%llu %d/%d fps %dx%d", n_caps,
	      (unsigned long long)caps_seen[n_caps > 1 ? 1 : 0].generation, caps_seen[n_caps > 1 ? 1 : 0].fps_num,
	      caps_seen[n_caps > 1 ? 1 : 0].fps_den, caps_seen[n_caps > 1 ? 1 : 0].width,
	      caps_seen[n_caps > 1 ? 1 : 0].height);
	cr_stream_unsubscribe(sub);
	cr_stream_destroy(s);
}

int main(void)
{
	test_mjpeg_fanout();
	test_raw_same_format();
	test_caps_rate();
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
