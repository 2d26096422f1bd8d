/* A software encoder inside the stream core: the test source (YUYV, so the
 * encode stage converts to the backend's in_format) -> encoded subscriber.
 * Writes the packets to a file for check_encode.py's ffprobe checks and
 * prints one line per packet as test_encode does ("pkt <i> <size> <key>
 * <config>"); "request <i>" marks where a keyframe was asked for.
 *
 *   test_stream_encode CODEC OUT FRAMES
 *
 * Real-time paced (the stream runs the source at 30 fps): only counts are
 * checked, never durations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/stream.h"

static void _le32(FILE *f, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		fputc((int)(v >> (8 * i)) & 0xFF, f);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_stream_encode CODEC OUT FRAMES\n");
		return 2;
	}
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
	req.encoder.bitrate = 300000;
	req.encoder.gop = 15;
	struct cr_sub_s *sub = cr_stream_subscribe(s, &req);
	if (!sub) {
		fprintf(stderr, "cannot subscribe to %s\n", argv[1]);
		return 1;
	}
	int n = 0, rc = 0;
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
		cr_packet_unref(p);
		if (++n == frames / 2) {
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
