/* Benchmark driver for bench/encode.sh.
 *
 *   bench_encode dump W H N FILE [PATTERN]
 *                                    N I420 frames of the test source (bars, or
 *                                    PATTERN noise) into FILE
 *   bench_encode read W H FILE       reads FILE as `encode` does, nothing else
 *   bench_encode encode CODEC W H FPS BITRATE GOP FILE [PRESET] [OUT]
 *                                    encodes FILE (raw I420) through the public
 *                                    encoder API, reading it frame by frame as
 *                                    ffmpeg does; prints frames, bytes and the
 *                                    encode latency (frame in -> packet out)
 *
 * CPU time is measured outside (by /usr/bin/time in encode.sh), so reading
 * the file counts as it does for ffmpeg and GStreamer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camrelay/encoder.h"
#include "core/clock.h"
#include "core/config.h"
#include "source/source.h"

static int _dump(int w, int h, int n, const char *path, const char *pattern)
{
	struct cr_capture_cfg_s cap = {.width = w, .height = h, .fps = 1000, .pixel_format = CR_PIXFMT_YUV420};
	snprintf(cap.backend, sizeof(cap.backend), "test");
	struct cr_source_s src = {.ops = cr_source_find("test"), .cfg = &cap, .stream_name = "bench"};
	char err[256] = "";
	if (src.ops && pattern && *pattern &&
	    cr_option_set_text(src.ops->options, cap.opts, "pattern", pattern, err, sizeof(err)) < 0) {
		fprintf(stderr, "test source: %s\n", err);
		return 1;
	}
	if (!src.ops || src.ops->open(&src) < 0) {
		fprintf(stderr, "test source: %s\n", src.error);
		return 1;
	}
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct cr_frame_s *fr = NULL;
		while (!fr)
			if (src.ops->read(&src, &fr, 1000) < 0) {
				fprintf(stderr, "test source: %s\n", src.error);
				return 1;
			}
		for (int p = 0; p < 3; p++) {
			int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
			for (int y = 0; y < ph; y++)
				fwrite(fr->data[p] + (size_t)y * fr->stride[p], 1, (size_t)pw, f);
		}
		cr_frame_unref(fr);
	}
	src.ops->close(&src);
	return fclose(f) == 0 ? 0 : 1;
}

struct _stats_s {
	FILE *out;
	int64_t pushed_ns;
	int64_t *lat;
	int n_lat, n_pkts;
	uint64_t bytes;
	int keys;
};

static void _on_packet(const camrelay_packet *pkt, void *opaque)
{
	struct _stats_s *s = opaque;
	s->lat[s->n_lat++] = cr_now_ns() - s->pushed_ns;
	s->n_pkts++;
	s->bytes += pkt->size;
	s->keys += !!(pkt->flags & CAMRELAY_PACKET_KEYFRAME);
	if (s->out)
		fwrite(pkt->data, 1, pkt->size, s->out);
}

static int _cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int _encode(char **argv, int argc)
{
	camrelay_encoder_config cfg = {.codec = argv[0], .width = atoi(argv[1]), .height = atoi(argv[2]),
				       .fps = atoi(argv[3]), .bitrate = atoll(argv[4]), .gop = atoi(argv[5]),
				       .preset = argc > 7 && *argv[7] ? argv[7] : NULL};
	const char *path = argv[6];
	size_t fsize = (size_t)cfg.width * cfg.height * 3 / 2;
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(fsize);
	if (!f || !buf) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	fseek(f, 0, SEEK_END);
	int n = (int)(ftell(f) / (long)fsize);
	rewind(f);
	if (n <= 0) {
		fprintf(stderr, "%s holds no %dx%d I420 frame\n", path, cfg.width, cfg.height);
		return 1;
	}
	struct _stats_s st = {.lat = calloc((size_t)n * 2, sizeof(int64_t))};
	if (argc > 8 && !(st.out = fopen(argv[8], "wb"))) {
		fprintf(stderr, "cannot write %s: %s\n", argv[8], strerror(errno));
		return 1;
	}
	char err[256];
	camrelay_encoder *enc = camrelay_encoder_create(&cfg, _on_packet, &st, err, sizeof(err));
	if (!enc) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	int w = cfg.width, h = cfg.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	for (int i = 0; i < n; i++) {
		uint8_t *y = buf;
		if (fread(buf, fsize, 1, f) != 1) {
			fprintf(stderr, "%s: short read at frame %d\n", path, i);
			return 1;
		}
		camrelay_frame fr = {.format = CAMRELAY_PIXFMT_I420, .width = w, .height = h,
				     .planes = {y, y + (size_t)w * h, y + (size_t)w * h + (size_t)cw * ch},
				     .strides = {w, cw, cw},
				     .timestamp_ns = (int64_t)i * 1000000000LL / (cfg.fps ? cfg.fps : 30)};
		st.pushed_ns = cr_now_ns();
		if (camrelay_encoder_push_frame(enc, &fr) < 0) {
			fprintf(stderr, "frame %d: %s\n", i, camrelay_encoder_error(enc));
			return 1;
		}
	}
	camrelay_encoder_destroy(enc);
	if (st.out)
		fclose(st.out);
	qsort(st.lat, (size_t)st.n_lat, sizeof(int64_t), _cmp);
	double p50 = st.n_lat ? st.lat[st.n_lat / 2] / 1e6 : 0;
	double p99 = st.n_lat ? st.lat[(st.n_lat * 99) / 100 < st.n_lat ? (st.n_lat * 99) / 100 : st.n_lat - 1] / 1e6 : 0;
	printf("frames %d packets %d keyframes %d kbps %.1f latency_p50_ms %.2f latency_p99_ms %.2f\n", n,
	       st.n_pkts, st.keys, st.bytes * 8.0 * (cfg.fps ? cfg.fps : 30) / n / 1000, p50, p99);
	free(st.lat);
	free(buf);
	fclose(f);
	return 0;
}

/* Only reads the file as _encode() does: its CPU is what the driver spends
 * besides the encoder. */
static int _read(int w, int h, const char *path)
{
	size_t fsize = (size_t)w * h * 3 / 2;
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(fsize);
	if (!f || !buf) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	unsigned sum = 0;
	int n = 0;
	while (fread(buf, fsize, 1, f) == 1) {
		sum += buf[n % fsize];
		n++;
	}
	printf("frames %d sum %u\n", n, sum);
	free(buf);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "read"))
		return _read(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "dump"))
		return _dump(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5], argc == 7 ? argv[6] : NULL);
	if (argc >= 9 && !strcmp(argv[1], "encode"))
		return _encode(argv + 2, argc - 2);
	fprintf(stderr, "usage: bench_encode dump W H N FILE [PATTERN]\n"
			"       bench_encode encode CODEC W H FPS BITRATE GOP FILE [PRESET] [OUT]\n"
			"       bench_encode read W H FILE\n");
	return 2;
}
