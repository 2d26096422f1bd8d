/* A camera that goes away and comes back, through the public API only
 * (include/camrelay/pipeline.h): a URL source (an HTTP MJPEG camera that
 * lib_test.py stops and starts), its JPEGs passed through as packets. Prints the pipeline's stats every
 * 200 ms as one line, plus the packets this program received and the last
 * error, until its standard input is closed; then stops and destroys the
 * pipeline. lib_test.py judges the lines: placeholder frames and packets
 * while the camera is away, a reconnect, real frames again after it.
 *
 *   recover_test URL */
#define _POSIX_C_SOURCE 200809L
#include <camrelay/pipeline.h>

#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_ulong packets, keyframes;

static void on_packet(const camrelay_encoded_packet *pkt, void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&packets, 1);
	if (pkt->flags & CAMRELAY_PIPELINE_KEYFRAME)
		atomic_fetch_add(&keyframes, 1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: recover_test URL\n");
		return 2;
	}
	char toml[1024], err[512];
	snprintf(toml, sizeof(toml),
		 "[stream.cam]\n"
		 "[[stream.cam.sources]]\n"
		 "url = \"%s\"\n",
		 argv[1]);
	camrelay_pipeline *p = camrelay_pipeline_create_toml(toml, "recover.toml", NULL, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "FAIL: create: %s\n", err);
		return 1;
	}
	camrelay_pipeline_set_packet_callback(p, on_packet, NULL);
	if (camrelay_pipeline_start(p) < 0) {
		fprintf(stderr, "FAIL: start: %s\n", camrelay_pipeline_last_error(p));
		camrelay_pipeline_destroy(p);
		return 1;
	}
	double t0 = now_s();
	for (;;) {
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		if (poll(&pfd, 1, 200) > 0) {
			char buf[64];
			if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
				break; /* stdin closed: done */
		}
		camrelay_pipeline_stats s;
		if (camrelay_pipeline_stats_get(p, &s, sizeof(s)) != 0) {
			fprintf(stderr, "FAIL: stats_get\n");
			break;
		}
		printf("t=%.2f state=%d captured=%llu placeholder=%llu reconnects=%llu packets=%lu keyframes=%lu "
		       "size=%dx%d error=%s\n",
		       now_s() - t0, (int)s.state, (unsigned long long)s.frames_captured,
		       (unsigned long long)s.frames_placeholder, (unsigned long long)s.reconnects,
		       atomic_load(&packets), atomic_load(&keyframes), s.width, s.height,
		       camrelay_pipeline_last_error(p));
		fflush(stdout);
	}
	camrelay_pipeline_stop(p);
	camrelay_pipeline_destroy(p);
	return 0;
}
