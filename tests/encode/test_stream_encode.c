/* A software encoder inside the stream core: the test source (YUYV, so the
 * encode stage converts to the backend's in_format) -> encoded subscriber.
 * Writes the packets to a file for check_encode.py's ffprobe checks and
 * prints one line per packet as test_encode does ("pkt <i> <size> <key>
 * <config>"); "request <i>" marks where a keyframe was asked for.
 *
 *   test_stream_encode CODEC OUT FRAMES
 *
 * With "cc" after FRAMES (H.264): a noise pattern at 2 Mbit/s, cut to
 * 400 kbit/s three times (packets 30, 90, 150; back to 2 Mbit/s between)
 * with a keyframe asked for at each cut: as congestion control cuts
 * (cr_sub_set_network_bitrate) with a keyframe, then with a small one
 * (cr_sub_request_small_keyframe), then as a user's call (cr_sub_set_bitrate)
 * with a keyframe: "key network|small|user <size>".
 *
 * Real-time paced (the stream runs the source at 30 fps): only counts are
 * checked, never durations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/options.h"
#include "core/stream.h"
#include "source/source.h"

static void _le32(FILE *f, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		fputc((int)(v >> (8 * i)) & 0xFF, f);
}

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "cc"))) {
		fprintf(stderr, "usage: test_stream_encode CODEC OUT FRAMES [cc]\n");
		return 2;
	}
	bool cc = argc == 5;
	enum cr_codec_e codec = cr_codec_from_name(argv[1]);
	int frames = atoi(argv[3]);
	int w = 320, h = 240;
	struct cr_stream_cfg_s cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "enc");
	cfg.n_sources = 1;
	snprintf(cfg.sources[0].capture.backend, sizeof(cfg.sources[0].capture.backend), "test");
	cfg.sources[0].capture.width = w;
	cfg.sources[0].capture.height = h;
	cfg.sources[0].capture.fps = 30;
	cfg.sources[0].capture.pixel_format = CR_PIXFMT_YUYV;
	const struct cr_source_ops_s *test = cr_source_find("test");
	if (cc && test) { /* detail and motion: every keyframe as large as the rate buffer lets it be */
		cr_options_defaults(test->options, cfg.sources[0].capture.opts);
		char e[200];
		if (cr_option_set_text(test->options, cfg.sources[0].capture.opts, "pattern", "noise", e, sizeof(e)) < 0) {
			fprintf(stderr, "pattern: %s\n", e);
			return 1;
		}
	}

	FILE *out = fopen(argv[2], "wb");
	struct cr_stream_s *s = cr_stream_new(&cfg);
	char err[256];
	if (!out || !s || cr_stream_start(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "cannot start the stream or open %s: %s\n", argv[2], s ? err : "");
		return 1;
	}
	bool ivf = codec == CR_CODEC_VP8 || codec == CR_CODEC_VP9 || codec == CR_CODEC_AV1;
	if (ivf) {
		const char *fourcc = codec == CR_CODEC_VP8 ? "VP80" : codec == CR_CODEC_VP9 ? "VP90" : "AV01";
		fwrite("DKIF\0\0\x20\0", 1, 8, out);
		fwrite(fourcc, 1, 4, out);
		_le32(out, (uint32_t)(w | h << 16));
		_le32(out, 90000);
		_le32(out, 1);
		_le32(out, (uint32_t)frames);
		_le32(out, 0);
	}
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .depth = 30, .name = "test"};
	req.encoder.present = true;
	req.encoder.codec = codec;
	snprintf(req.encoder.backend, sizeof(req.encoder.backend), "software");
	req.encoder.bitrate = cc ? 2000000 : 300000;
	req.encoder.gop = cc ? 1000 : 15;
	struct cr_sub_s *sub = cr_stream_subscribe(s, &req);
	if (!sub) {
		fprintf(stderr, "cannot subscribe to %s\n", argv[1]);
		return 1;
	}
	int n = 0, rc = 0;
	const char *key_wanted = NULL; /* cc: the keyframe asked for, printed when it comes */
	int64_t deadline = cr_now_ns() + 20 * 1000000000LL; /* a bound, not a measurement */
	while (n < frames && cr_now_ns() < deadline) {
		struct cr_packet_s *p = cr_sub_pop(sub, 100);
		if (!p)
			continue;
		if (ivf) {
			_le32(out, (uint32_t)p->size);
			_le32(out, (uint32_t)p->pts);
			_le32(out, (uint32_t)((uint64_t)p->pts >> 32));
		}
		fwrite(p->data, 1, p->size, out);
		printf("pkt %d %zu %d %d\n", n, p->size, !!(p->flags & CR_PACKET_KEYFRAME),
		       !!(p->flags & CR_PACKET_CONFIG));
		if (p->width != w || p->height != h || p->codec != codec) {
			fprintf(stderr, "packet %d: %dx%d codec %d\n", n, p->width, p->height, p->codec);
			rc = 1;
		}
		if (key_wanted && (p->flags & CR_PACKET_KEYFRAME)) {
			printf("key %s %zu\n", key_wanted, p->size);
			key_wanted = NULL;
		}
		cr_packet_unref(p);
		++n;
		if (cc) { /* each keyframe asked for with the cut to 400 kbit/s, as whep_cc.c does */
			if (n == 30 || n == 60 || n == 90)
				cr_sub_set_network_bitrate(sub, n == 60 ? 2000000 : 400000);
			else if (n == 120 || n == 150)
				cr_sub_set_bitrate(sub, n == 120 ? 2000000 : 400000);
			if (n == 30 || n == 150)
				cr_sub_request_keyframe(sub);
			else if (n == 90)
				cr_sub_request_small_keyframe(sub);
			key_wanted = n == 30 ? "network" : n == 90 ? "small" : n == 150 ? "user" : key_wanted;
		} else if (n == frames / 2) {
			printf("request %d\n", n);
			cr_sub_request_keyframe(sub);
		}
	}
	cr_stream_unsubscribe(sub);
	cr_stream_destroy(s);
	fclose(out);
	if (n < frames) {
		fprintf(stderr, "only %d of %d packets within 20 s\n", n, frames);
		rc = 1;
	}
	return rc;
}
