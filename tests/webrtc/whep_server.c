/* `camrelay serve` for the WebRTC tests and benchmarks, with the [webrtc]
 * settings given on the command line (so each test picks its own UDP port
 * and a short consent timeout even where the config schema lacks them):
 *   whep_server CONFIG HTTP_PORT UDP_PORT [TIMEOUT_S]
 * Same streams, same HTTP server (cr_http_start attaches WHEP), same exit on
 * SIGTERM/SIGINT. Set CR_DEBUG=1 for debug logging. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/http.h"

static volatile sig_atomic_t _stop;

static void _on_signal(int sig)
{
	(void)sig;
	_stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: whep_server CONFIG HTTP_PORT UDP_PORT [TIMEOUT_S]\n");
		return 2;
	}
	static struct cr_config_s cfg;
	char err[1024];
	if (cr_config_load(argv[1], &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	if (getenv("CR_DEBUG"))
		cr_log_level = CR_LOG_DEBUG;
	snprintf(cfg.http.listen, sizeof(cfg.http.listen), "127.0.0.1:%d", atoi(argv[2]));
	cfg.webrtc.port = atoi(argv[3]);
	cfg.webrtc.timeout = argc > 4 ? atoi(argv[4]) : 0;
	cfg.webrtc.n_candidates = 1;
	snprintf(cfg.webrtc.candidates[0], sizeof(cfg.webrtc.candidates[0]), "127.0.0.1");
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = _on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct cr_stream_s *streams[CR_MAX_STREAMS] = {0};
	int rc = 0;
	for (int i = 0; i < cfg.n_streams; i++) {
		streams[i] = cr_stream_new(&cfg.streams[i]);
		if (!streams[i] || cr_stream_start(streams[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
			goto out;
		}
	}
	struct cr_http_s *http = cr_http_start(&cfg, streams, cfg.n_streams, err, sizeof(err));
	if (!http) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
		goto out;
	}
	while (!_stop)
		pause();
	cr_http_stop(http);
out:
	for (int i = 0; i < cfg.n_streams; i++)
		cr_stream_destroy(streams[i]);
	return rc;
}
