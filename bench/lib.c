/* libcamrelay's per-packet cost next to the encoder's, both through the
 * public API only:
 *   1. a pipeline (test source, pattern noise, x264) delivers packets to a
 *      callback: the library's delivery time is callback entry minus the
 *      packet's encoded_time_ns (lock, subscriber scan, struct fill);
 *   2. the same frames (taken from the pipeline's raw-frame callback) are
 *      encoded again with camrelay_encoder_push_frame(), timed around the
 *      call: the encoder's own time (x264 + the I420 hand-over).
 * Prints both medians and their ratio.
 *   bench_lib [WIDTH HEIGHT [N]]     default 1280 720 150 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <camrelay/encoder.h>
#include <camrelay/pipeline.h>

#define MAX 1000

static int64_t _now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int _cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

struct run {
	pthread_mutex_t lock;
	int n_pkt, n_frames, want;
	int64_t delivery[MAX];
	uint8_t *frames[MAX]; /* I420 copies */
	int w, h;
};

static void _on_packet(const camrelay_encoded_packet *p, void *opaque)
{
	int64_t t = _now();
	struct run *r = opaque;
	pthread_mutex_lock(&r->lock);
	if (r->n_pkt < MAX)
		r->delivery[r->n_pkt++] = t - p->encoded_time_ns;
	pthread_mutex_unlock(&r->lock);
}

static void _on_frame(const camrelay_raw_frame *f, void *opaque)
{
	struct run *r = opaque;
	if (strcmp(f->format, "yuv420") != 0 || f->width != r->w || f->height != r->h)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->n_frames < r->want && (r->frames[r->n_frames] = malloc((size_t)r->w * r->h * 3 / 2))) {
		uint8_t *d = r->frames[r->n_frames++];
		for (int p = 0; p < 3; p++) {
			int pw = p ? r->w / 2 : r->w, ph = p ? r->h / 2 : r->h;
			for (int y = 0; y < ph; y++, d += pw)
				memcpy(d, f->planes[p] + (size_t)y * f->strides[p], (size_t)pw);
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static void _discard(const camrelay_packet *pkt, void *opaque) { (void)pkt, (void)opaque; }

static double _median_us(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), _cmp);
	return n ? v[n / 2] / 1e3 : 0;
}

int main(int argc, char **argv)
{
	static struct run r = {.lock = PTHREAD_MUTEX_INITIALIZER};
	r.w = argc > 2 ? atoi(argv[1]) : 1280;
	r.h = argc > 2 ? atoi(argv[2]) : 720;
	r.want = argc > 3 ? atoi(argv[3]) : 150;
	r.want = r.want > MAX ? MAX : r.want;
	camrelay_pipeline_config cfg = {
		.name = "bench", .capture_backend = "test", .width = r.w, .height = r.h, .fps = 30,
		.pixel_format = "yuv420", .pattern = "noise", .encoder_backend = "x264", .codec = "h264",
		.bitrate = 2000000, .gop = 30,
	};
	char err[512];
	camrelay_pipeline *p = camrelay_pipeline_create(&cfg, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	camrelay_pipeline_set_packet_callback(p, _on_packet, &r);
	camrelay_pipeline_set_frame_callback(p, _on_frame, &r);
	if (camrelay_pipeline_start(p) < 0) {
		fprintf(stderr, "%s\n", camrelay_pipeline_last_error(p));
		return 1;
	}
	for (int i = 0; i < 600; i++) { /* up to 60 s */
		pthread_mutex_lock(&r.lock);
		int done = r.n_pkt >= r.want && r.n_frames >= r.want;
		pthread_mutex_unlock(&r.lock);
		if (done)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
	}
	camrelay_pipeline_destroy(p);

	camrelay_encoder_config ec = {.codec = "h264", .backend = "x264", .width = r.w, .height = r.h, .fps = 30,
				      .bitrate = 2000000, .gop = 30};
	camrelay_encoder *enc = camrelay_encoder_create(&ec, _discard, NULL, err, sizeof(err));
	if (!enc) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	static int64_t enc_ns[MAX];
	for (int i = 0; i < r.n_frames; i++) {
		uint8_t *y = r.frames[i];
		camrelay_frame f = {.format = CAMRELAY_PIXFMT_I420, .width = r.w, .height = r.h,
				    .planes = {y, y + r.w * r.h, y + r.w * r.h * 5 / 4},
				    .strides = {r.w, r.w / 2, r.w / 2}, .timestamp_ns = i * 33333333LL};
		int64_t t0 = _now();
		camrelay_encoder_push_frame(enc, &f);
		enc_ns[i] = _now() - t0;
		free(y);
	}
	camrelay_encoder_destroy(enc);
	double lib = _median_us(r.delivery, r.n_pkt), x264 = _median_us(enc_ns, r.n_frames);
	printf("bench_lib %dx%d: library delivery per packet p50 %.1f us (%d packets); x264 encode per frame "
	       "p50 %.1f us (%d frames); library/encoder %.4f\n",
	       r.w, r.h, lib, r.n_pkt, x264, r.n_frames, x264 > 0 ? lib / x264 : 0);
	return r.n_pkt && r.n_frames ? 0 : 1;
}
