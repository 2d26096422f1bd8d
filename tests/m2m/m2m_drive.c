/* Runs the streams of a config as `camrelay serve` does (same library calls,
 * same HTTP server with /metrics) and is itself the consumer of the first
 * stream's encoded packets: it subscribes CR_SUB_ENCODED with the stream's
 * own encoder block, which starts that encoder, and writes the first N
 * packets to a file. Then it writes DONE_FILE (packets, keyframes) and keeps
 * serving until SIGTERM/SIGINT or 120 s ($M2M_DRIVE_SECONDS), so the test
 * reads /metrics.
 *
 *   m2m_drive CONFIG OUT_FILE N DONE_FILE */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/stream.h"
#include "net/http.h"

static volatile sig_atomic_t _stop;
static void _on_signal(int sig) { (void)sig; _stop = 1; }

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: m2m_drive CONFIG OUT_FILE N DONE_FILE\n");
		return 2;
	}
	static struct cr_config_s cfg;
	char err[1024];
	if (cr_config_load(argv[1], &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	int want = atoi(argv[3]);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = _on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct cr_stream_s *s = cr_stream_new(cfg.streams[0]);
	if (!s || cr_stream_start(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "m2m_drive: %s\n", s ? err : "out of memory");
		return 1;
	}
	struct cr_http_s *http = cr_http_start(&cfg, &s, 1, err, sizeof(err));
	if (!http) {
		fprintf(stderr, "m2m_drive: %s\n", err);
		cr_stream_destroy(s);
		return 1;
	}
	struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .depth = 8, .name = "m2m_drive"};
	req.encoder = cfg.streams[0]->sources[0].encoder;
	struct cr_sub_s *sub = cr_stream_subscribe(s, &req);
	FILE *out = fopen(argv[2], "wb");
	int rc = 1, got = 0, keys = 0;
	const char *limit = getenv("M2M_DRIVE_SECONDS"); /* how long to wait for packets and serve */
	int64_t deadline = cr_now_ns() + (limit ? atoll(limit) : 120LL) * 1000000000LL;
	if (!sub || !out) {
		fprintf(stderr, "m2m_drive: cannot subscribe or open %s\n", argv[2]);
		goto out;
	}
	while (!_stop && got < want && cr_now_ns() < deadline) {
		struct cr_packet_s *pkt = cr_sub_pop(sub, 200);
		if (!pkt)
			continue;
		fwrite(pkt->data, 1, pkt->size, out);
		got++;
		keys += (pkt->flags & CR_PACKET_KEYFRAME) != 0;
		cr_sub_unref_item(sub, pkt);
	}
	fclose(out);
	out = NULL;
	FILE *d = fopen(argv[4], "w");
	if (d) {
		fprintf(d, "packets %d\nkeyframes %d\n", got, keys);
		fclose(d);
	}
	printf("m2m_drive: %d packets (%d keyframes) written to %s\n", got, keys, argv[2]);
	fflush(stdout);
	rc = got == want ? 0 : 1;
	while (!_stop && cr_now_ns() < deadline)
		usleep(50000);
out:
	if (out)
		fclose(out);
	if (sub)
		cr_stream_unsubscribe(sub);
	cr_http_stop(http);
	cr_stream_destroy(s);
	return rc;
}
