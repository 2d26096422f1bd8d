/* libcamrelay's pipeline from C: the test source (or any TOML) → H.264 →
 * this program, through include/camrelay/pipeline.h only. It is also a
 * test: it checks what an embedding SFU relies on and exits 1 when any check
 * fails.
 *
 *   pipeline_example [CONFIG.toml [STREAM]] [--packets N] [--gop N] [--fwht] [--zero-copy] [--wait S] [--bench]
 *
 * Without CONFIG: the test source, 640x480@30, pattern "noise", x264 at
 * 2 Mbit/s with a keyframe every 30 frames. Build it against the installed
 * library:  cc pipeline_example.c $(pkg-config --cflags --libs camrelay)
 *
 * Checks: at least N (default 100) packets, in order; the first a keyframe
 * carrying the codec configuration; keyframes every gop packets; a keyframe
 * at most 2 packets after request_keyframe(); after set_bitrate() to a
 * quarter, the 2 s that follow carry at most half the bytes of the 2 s
 * before (counted bytes, not time); after destroy, no thread of the library
 * is left (/proc/self/task). --fwht: the stream is vicodec's FWHT (V4L2 M2M
 * test encoder), only order, codec and the first keyframe are checked;
 * --zero-copy: stats count 0 bytes copied; --wait: seconds a step may wait
 * for its packets (default 30; slow machines). --bench prints the time spent in the library
 * per packet next to the encoder's (capture to encoded). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime with -std=c17 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <camrelay/pipeline.h>

#define MAX_PACKETS 4096

struct seen {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n;
	uint64_t seq[MAX_PACKETS];
	int64_t pts[MAX_PACKETS];
	uint32_t flags[MAX_PACKETS];
	size_t size[MAX_PACKETS];
	int64_t cb_ns[MAX_PACKETS]; /* when the callback ran, CLOCK_MONOTONIC */
	int64_t enc_ns[MAX_PACKETS]; /* capture → encoded (conversion, encoder, waits) */
	int64_t lib_ns[MAX_PACKETS]; /* encoded → this callback: the library's delivery */
	int codec_ok;
	int h264; /* else FWHT (vicodec, the V4L2 M2M test encoder) */
};

/* RTP packets from camrelay's payloader, on the same thread right after
 * on_packet for the same access unit. */
struct rtp_seen {
	int n, bad_seq, bad_ts, bad_pt, markers, first_seq;
	uint16_t last_seq;
	int64_t last_pts;
};

static void on_rtp(const camrelay_rtp_packet *r, void *opaque)
{
	struct rtp_seen *s = opaque;
	if (s->n > 0 && r->sequence != (uint16_t)(s->last_seq + 1))
		s->bad_seq++;
	if (r->timestamp != (uint32_t)r->packet->pts || r->size < 13 || (r->data[0] >> 6) != 2)
		s->bad_ts++;
	if ((r->data[1] & 0x7f) != 96)
		s->bad_pt++;
	s->markers += r->marker;
	s->last_seq = r->sequence;
	s->n++;
}

/* Raw frames as captured, on the conversion stage's thread. */
struct frames_seen {
	int n, bad;
};

static void on_frame(const camrelay_raw_frame *f, void *opaque)
{
	struct frames_seen *s = opaque;
	if (strcmp(f->format, "yuyv") != 0 || f->width != 640 || f->height != 480 || f->n_planes != 1 ||
	    !f->planes[0] || f->strides[0] < 1280 || f->placeholder)
		s->bad++;
	s->n++;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* On the encoder's thread; pkt->data is only valid during this call. */
static void on_packet(const camrelay_encoded_packet *pkt, void *opaque)
{
	struct seen *s = opaque;
	int64_t t = now_ns();
	pthread_mutex_lock(&s->lock);
	if (s->n < MAX_PACKETS) {
		s->seq[s->n] = pkt->sequence;
		s->pts[s->n] = pkt->pts;
		s->flags[s->n] = pkt->flags;
		s->size[s->n] = pkt->size;
		s->cb_ns[s->n] = t;
		s->enc_ns[s->n] = pkt->encoded_time_ns - pkt->capture_time_ns;
		s->lib_ns[s->n] = t - pkt->encoded_time_ns;
		if (s->h264 ? pkt->codec != CAMRELAY_CODEC_H264 || pkt->size < 4 || pkt->data[0] != 0 || pkt->data[1] != 0
			    : pkt->codec != CAMRELAY_CODEC_FWHT || pkt->size < 8)
			s->codec_ok = 0;
		s->n++;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int wait_seconds = 30;

/* Waits until n packets arrived (wait_seconds at most); returns how many did. */
static int wait_for(struct seen *s, int n)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += wait_seconds;
	pthread_mutex_lock(&s->lock);
	while (s->n < n && pthread_cond_timedwait(&s->cond, &s->lock, &dl) != ETIMEDOUT)
		;
	int got = s->n;
	pthread_mutex_unlock(&s->lock);
	return got;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int failed, passed;

static void check(int ok, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, detail[0] ? ": " : "", detail);
	ok ? passed++ : failed++;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = 0;
	fclose(f);
	return buf;
}

static const char *default_toml =
	"[stream.example]\n"
	"[[stream.example.sources]]\n"
	"[stream.example.sources.capture]\n"
	"backend = \"test\"\n"
	"width = 640\n"
	"height = 480\n"
	"fps = 30\n"
	"pattern = \"noise\"\n"
	"[stream.example.sources.encoder]\n"
	"backend = \"x264\"\n"
	"codec = \"h264\"\n"
	"bitrate = 2_000_000\n"
	"gop = 30\n";

/* Bytes of the non-key packets in [from, to). */
static size_t bytes_between(struct seen *s, int from, int to)
{
	size_t b = 0;
	for (int i = from; i < to; i++)
		if (!(s->flags[i] & CAMRELAY_PIPELINE_KEYFRAME))
			b += s->size[i];
	return b;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *stream = NULL;
	int want = 100, bench = 0, gop = 30, fwht = 0, zero_copy = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--packets") && i + 1 < argc)
			want = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bench"))
			bench = 1;
		else if (!strcmp(argv[i], "--wait") && i + 1 < argc)
			wait_seconds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--fwht"))
			fwht = 1;
		else if (!strcmp(argv[i], "--zero-copy"))
			zero_copy = 1;
		else if (!strcmp(argv[i], "--gop") && i + 1 < argc)
			gop = atoi(argv[++i]);
		else if (!path)
			path = argv[i];
		else
			stream = argv[i];
	}
	printf("libcamrelay %s, API %u.%u (header %u.%u); %s\n", camrelay_version_string(),
	       camrelay_api_version() >> 16, camrelay_api_version() & 0xffff, CAMRELAY_API_VERSION_MAJOR,
	       CAMRELAY_API_VERSION_MINOR, camrelay_backends_string());
	if (camrelay_api_version() >> 16 != CAMRELAY_API_VERSION_MAJOR) {
		fprintf(stderr, "library API major differs from the header's\n");
		return 1;
	}
	char *text = path ? read_file(path) : NULL;
	if (path && !text) {
		perror(path);
		return 1;
	}
	int threads_before = count_threads();
	char err[1024];
	camrelay_pipeline *p = camrelay_pipeline_create_toml(text ? text : default_toml, path, stream, err,
							      sizeof(err));
	free(text);
	if (!p) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	static struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .codec_ok = 1};
	s.h264 = !fwht;
	camrelay_pipeline_set_packet_callback(p, on_packet, &s);
	static struct rtp_seen rtp;
	static struct frames_seen frames;
	if (!path) { /* the default stream: RTP and raw frames as well */
		camrelay_pipeline_set_rtp_callback(p, on_rtp, &rtp);
		camrelay_pipeline_set_frame_callback(p, on_frame, &frames);
	}
	if (camrelay_pipeline_start(p) < 0) {
		fprintf(stderr, "start: %s\n", camrelay_pipeline_last_error(p));
		camrelay_pipeline_destroy(p);
		return 1;
	}
	char d[256];

	/* 1. In order, first packet a keyframe with its configuration. */
	int got = wait_for(&s, want);
	snprintf(d, sizeof(d), "%d of %d", got, want);
	check(got >= want, "packets arrive", d);
	int in_order = 1;
	for (int i = 1; i < got; i++)
		in_order &= s.seq[i] > s.seq[i - 1] && s.pts[i] > s.pts[i - 1];
	check(in_order, "sequence numbers and pts increase", "");
	check(s.codec_ok, fwht ? "every packet is FWHT" : "every packet is Annex-B H.264", "");
	snprintf(d, sizeof(d), "flags %#x", got ? s.flags[0] : 0);
	check(got && (s.flags[0] & CAMRELAY_PIPELINE_KEYFRAME) && (fwht || (s.flags[0] & CAMRELAY_PIPELINE_CONFIG)),
	      fwht ? "first packet is a keyframe" : "first packet is a keyframe with the codec configuration", d);
	if (fwht)
		goto stats; /* FWHT: no rate control to check */

	/* 2. Keyframes every gop packets, flagged, each with its configuration. */
	int gop_ok = got > gop, n_key = 0;
	for (int i = 0; i < got; i++) {
		int key = (s.flags[i] & CAMRELAY_PIPELINE_KEYFRAME) != 0;
		n_key += key;
		if (key != (i % gop == 0) || (key && !(s.flags[i] & CAMRELAY_PIPELINE_CONFIG)))
			gop_ok = 0;
	}
	snprintf(d, sizeof(d), "%d keyframes in %d packets, gop %d", n_key, got, gop);
	check(gop_ok, "keyframes exactly every gop packets", d);

	/* 3. request_keyframe() half way through a gop. */
	pthread_mutex_lock(&s.lock);
	int base = s.n;
	pthread_mutex_unlock(&s.lock);
	while (base % gop != gop / 2)
		base = wait_for(&s, base + 1);
	camrelay_pipeline_request_keyframe(p);
	pthread_mutex_lock(&s.lock);
	int at = s.n;
	pthread_mutex_unlock(&s.lock);
	got = wait_for(&s, at + 3);
	int key_at = -1;
	for (int i = at; i < got && key_at < 0; i++)
		if (s.flags[i] & CAMRELAY_PIPELINE_KEYFRAME)
			key_at = i - at + 1;
	snprintf(d, sizeof(d), "keyframe is packet %d after the request", key_at);
	check(key_at >= 1 && key_at <= 2, "request_keyframe: keyframe within 2 frames", d);

	/* 4. set_bitrate(): 2 s (60 packets at 30 fps) before against the 2 s after. */
	pthread_mutex_lock(&s.lock);
	int before_end = s.n;
	pthread_mutex_unlock(&s.lock);
	if (before_end < 60)
		before_end = wait_for(&s, 60);
	size_t before = bytes_between(&s, before_end - 60, before_end);
	int r = camrelay_pipeline_set_bitrate(p, 500000);
	got = wait_for(&s, before_end + 60);
	size_t after = bytes_between(&s, before_end, got < before_end + 60 ? got : before_end + 60);
	snprintf(d, sizeof(d), "%zu bytes in the 60 packets before, %zu in the 60 after (set_bitrate %d)", before,
		 after, r);
	check(r == 0 && got >= before_end + 60 && after * 2 <= before, "set_bitrate: 2 Mbit/s -> 0.5 Mbit/s", d);

stats:;
	camrelay_pipeline_stats st;
	camrelay_pipeline_stats_get(p, &st, sizeof(st));
	if (zero_copy) {
		snprintf(d, sizeof(d), "%llu bytes copied over %llu frames captured",
			 (unsigned long long)st.bytes_copied, (unsigned long long)st.frames_captured);
		check(st.bytes_copied == 0 && st.frames_captured > 0, "zero copy: 0 bytes copied", d);
	}
	printf("stats: captured %llu, placeholders %llu, dropped %llu, packets %llu, bytes %llu, copied %llu, "
	       "capture->encoded p50 %u us, capture->delivered p50 %u us, %dx%d at %.1f fps\n",
	       (unsigned long long)st.frames_captured, (unsigned long long)st.frames_placeholder,
	       (unsigned long long)st.frames_dropped, (unsigned long long)st.packets, (unsigned long long)st.bytes,
	       (unsigned long long)st.bytes_copied, st.capture_to_encoded_p50_us, st.capture_to_delivered_p50_us,
	       st.width, st.height, st.fps);
	if (bench) {
		pthread_mutex_lock(&s.lock);
		int n = s.n;
		qsort(s.lib_ns, (size_t)n, sizeof(s.lib_ns[0]), cmp_i64);
		qsort(s.enc_ns, (size_t)n, sizeof(s.enc_ns[0]), cmp_i64);
		printf("bench: %d packets; library delivery (encoder handed over -> callback entered) p50 %.1f us, "
		       "p95 %.1f us; capture -> encoded p50 %.1f us, p95 %.1f us\n",
		       n, n ? s.lib_ns[n / 2] / 1e3 : 0, n ? s.lib_ns[n * 95 / 100] / 1e3 : 0,
		       n ? s.enc_ns[n / 2] / 1e3 : 0, n ? s.enc_ns[n * 95 / 100] / 1e3 : 0);
		pthread_mutex_unlock(&s.lock);
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmRSS:", 6) || !strncmp(line, "VmHWM:", 6))
				printf("bench: %s", line);
		if (f)
			fclose(f);
	}

	/* 5. destroy joins everything. */
	camrelay_pipeline_destroy(p);
	if (!path) { /* all threads are gone: the counters are final */
		snprintf(d, sizeof(d), "%d RTP packets, %d markers for %llu access units; %d sequence gaps, %d "
			 "timestamp/version errors, %d payload type errors", rtp.n, rtp.markers,
			 (unsigned long long)st.packets, rtp.bad_seq, rtp.bad_ts, rtp.bad_pt);
		check(rtp.n > (int)st.packets && rtp.markers >= (int)st.packets && !rtp.bad_seq && !rtp.bad_ts &&
			      !rtp.bad_pt,
		      "RTP callback: consecutive sequence numbers, timestamp = pts, marker per access unit", d);
		snprintf(d, sizeof(d), "%d frames, %d not yuyv 640x480", frames.n, frames.bad);
		check(frames.n >= 100 && !frames.bad, "frame callback: the captured frames", d);
	}
	/* pthread_join() returns when the kernel clears the thread's id, a
	 * moment before /proc drops its task entry: wait for that (up to 2 s). */
	int threads_after = count_threads();
	for (int i = 0; i < 100 && threads_after != threads_before; i++) {
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
		threads_after = count_threads();
	}
	snprintf(d, sizeof(d), "%d threads before create, %d after destroy", threads_before, threads_after);
	check(threads_after == threads_before, "destroy leaves no thread", d);
	printf("pipeline_example: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
