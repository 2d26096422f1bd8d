/* A WHEP server for the WebRTC tests and benchmarks: the library's streams
 * and WHEP module on a bare evhttp, with the [webrtc] settings given on the
 * command line (so tests can pick their own UDP port and a short consent
 * timeout).
 *   whep_server CONFIG HTTP_PORT UDP_PORT [TIMEOUT_S]
 * Prints "ready" on stdout once it serves; stops on SIGTERM/SIGINT. */
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/whep.h"

static struct event_base *base;

static void _on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(base);
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
	cfg.webrtc.port = atoi(argv[3]);
	cfg.webrtc.timeout = argc > 4 ? atoi(argv[4]) : 0;
	cfg.webrtc.n_candidates = 1;
	snprintf(cfg.webrtc.candidates[0], sizeof(cfg.webrtc.candidates[0]), "127.0.0.1");
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	base = event_base_new();
	struct evhttp *http = evhttp_new(base);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						 EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD);
	if (evhttp_bind_socket(http, "127.0.0.1", (uint16_t)atoi(argv[2])) < 0) {
		fprintf(stderr, "cannot bind 127.0.0.1:%s\n", argv[2]);
		return 1;
	}
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
	struct cr_whep_s *w = cr_whep_attach(http, base, &cfg, streams, cfg.n_streams, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
		goto out;
	}
	struct event *s1 = evsignal_new(base, SIGTERM, _on_signal, NULL);
	struct event *s2 = evsignal_new(base, SIGINT, _on_signal, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(base);
	cr_whep_detach(w);
	event_free(s1);
	event_free(s2);
out:
	for (int i = 0; i < cfg.n_streams; i++)
		cr_stream_destroy(streams[i]);
	evhttp_free(http);
	event_base_free(base);
	return rc;
}
