/* GET /sdp/<stream>: the SDP of the stream's plain RTP sink, which writes it
 * (sink/rtp.c); here only the HTTP side: a request that comes before the
 * sink knows the H.264/H.265 parameter sets (just after start) waits for
 * them, at most _WAIT_TICKS ticks of 50 ms, then gets the SDP without.
 * Part of the HTTP server, so it works in a build without WebRTC. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>

#include "core/stream.h"
#include "net/http_priv.h"
#include "sink/sink.h"

#define _WAIT_TICKS 60

struct cr_http_sdp_wait_s {
	struct evhttp_request *req;
	int stream, ticks;
	struct cr_http_sdp_wait_s *next;
};

/* Replies, or returns false (nothing sent) while the sink waits for the
 * parameter sets and this is not the last try. */
static bool _send(struct cr_http_s *h, int stream, struct evhttp_request *req, bool last)
{
	char sdp[4096];
	int n = cr_sinks_sdp(h->streams[stream], sdp, sizeof(sdp), last);
	const char *name = cr_stream_name(h->streams[stream]);
	if (n == -EAGAIN && !last)
		return false;
	if (n == -ENOENT) {
		cr_http_reply_text(req, 404, "stream %s has no RTP sink ([[stream.%s.sinks]] type = \"rtp\")", name,
				   name);
		return true;
	}
	if (n < 0) {
		cr_http_reply_text(req, 500, "cannot describe the RTP sink of stream %s (error %d)", name, n);
		return true;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return true;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/sdp");
	evbuffer_add(b, sdp, (size_t)n);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	return true;
}

static void _tick(evutil_socket_t fd, short what, void *arg)
{
	struct cr_http_s *h = arg;
	for (struct cr_http_sdp_wait_s **p = &h->sdp_waits; *p;) {
		struct cr_http_sdp_wait_s *q = *p;
		if (_send(h, q->stream, q->req, ++q->ticks >= _WAIT_TICKS)) {
			*p = q->next;
			free(q);
		} else {
			p = &q->next;
		}
	}
	if (!h->sdp_waits)
		event_del(h->sdp_timer);
}

void cr_http_sdp_start(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	if (_send(h, stream, req, false))
		return;
	struct cr_http_sdp_wait_s *q = calloc(1, sizeof(*q));
	if (!h->sdp_timer)
		h->sdp_timer = event_new(h->base, -1, EV_PERSIST, _tick, h);
	if (!q || !h->sdp_timer) {
		free(q);
		_send(h, stream, req, true);
		return;
	}
	/* A client that goes away meanwhile is no matter: libevent detaches the
	 * request from the dead connection, and replying then just frees it. */
	*q = (struct cr_http_sdp_wait_s){.req = req, .stream = stream, .next = h->sdp_waits};
	h->sdp_waits = q;
	struct timeval tv = {0, 50000};
	event_add(h->sdp_timer, &tv);
}

void cr_http_sdp_stop(struct cr_http_s *h)
{
	/* The requests themselves go with the evhttp that owns them. */
	while (h->sdp_waits) {
		struct cr_http_sdp_wait_s *q = h->sdp_waits;
		h->sdp_waits = q->next;
		free(q);
	}
	if (h->sdp_timer)
		event_free(h->sdp_timer);
	h->sdp_timer = NULL;
}
