/* [limits] values, refusal counting and logging; see limits.h. */
#include "net/limits.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdatomic.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/log.h"

static const struct {
	const char *reason; /* metric label */
	int def;            /* default value */
	int code;           /* HTTP status of a refusal */
	const char *what;
} _limits[CR_LIMIT_COUNT] = {
	[CR_LIMIT_HTTP_CONNECTIONS] = {"http_connections", 1000, 503, "HTTP connection (total cap)"},
	[CR_LIMIT_HTTP_PER_IP] = {"http_connections_per_ip", 256, 429, "HTTP connection (per address cap)"},
	[CR_LIMIT_HEADER_TIMEOUT] = {"header_timeout", 10, 408, "HTTP request not sent in time (closed)"},
	[CR_LIMIT_WHEP_SESSIONS] = {"whep_sessions", 200, 503, "WebRTC session (total cap)"},
	[CR_LIMIT_WHEP_PER_STREAM] = {"whep_sessions_per_stream", 100, 503, "WebRTC session (per stream cap)"},
	[CR_LIMIT_WHEP_PER_IP] = {"whep_sessions_per_ip", 50, 429, "WebRTC session (per address cap)"},
	[CR_LIMIT_MJPEG_PER_STREAM] = {"mjpeg_clients_per_stream", 200, 503, "MJPEG client (per stream cap)"},
	[CR_LIMIT_CONTROL_WAITING] = {"control_requests_waiting", 16, 503, "camera control request (waiting cap)"},
};

static atomic_uint_fast64_t _refused[CR_LIMIT_COUNT];
static _Atomic int64_t _logged_ns[CR_LIMIT_COUNT];
static atomic_uint_fast64_t _logged_count[CR_LIMIT_COUNT];

int cr_limit(const struct cr_limits_cfg_s *l, enum cr_limit_e which)
{
	const int *v[CR_LIMIT_COUNT] = {
		[CR_LIMIT_HTTP_CONNECTIONS] = &l->http_connections,
		[CR_LIMIT_HTTP_PER_IP] = &l->http_connections_per_ip,
		[CR_LIMIT_HEADER_TIMEOUT] = &l->header_timeout,
		[CR_LIMIT_WHEP_SESSIONS] = &l->whep_sessions,
		[CR_LIMIT_WHEP_PER_STREAM] = &l->whep_sessions_per_stream,
		[CR_LIMIT_WHEP_PER_IP] = &l->whep_sessions_per_ip,
		[CR_LIMIT_MJPEG_PER_STREAM] = &l->mjpeg_clients_per_stream,
	};
	return v[which] && *v[which] > 0 ? *v[which] : _limits[which].def; /* no key: the default */
}

void cr_limit_refused(enum cr_limit_e which, const char *detail)
{
	uint64_t n = atomic_fetch_add(&_refused[which], 1) + 1;
	int64_t now = cr_now_ns(), last = atomic_load(&_logged_ns[which]);
	if (last && now - last < 60000000000LL)
		return;
	if (!atomic_compare_exchange_strong(&_logged_ns[which], &last, now))
		return;
	uint64_t before = atomic_exchange(&_logged_count[which], n);
	CR_LOG_W("limits", "%s refused: %s ([limits] %s; %llu refused in the last minute, logged once a minute)",
		 _limits[which].what, detail, _limits[which].reason, (unsigned long long)(n - before));
}

void cr_limit_reply(struct evhttp_request *req, enum cr_limit_e which, const char *detail)
{
	cr_limit_refused(which, detail);
	cr_limit_answer(req, which, detail);
}

void cr_limit_answer(struct evhttp_request *req, enum cr_limit_e which, const char *detail)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Retry-After", _limits[which].code == 429 ? "30" : "10");
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	struct evbuffer *b = evbuffer_new();
	if (b)
		evbuffer_add_printf(b, "%d: %s ([limits] %s)\n", _limits[which].code, detail, _limits[which].reason);
	evhttp_send_reply(req, _limits[which].code, _limits[which].code == 429 ? "Too Many Requests"
									: "Service Unavailable", b);
	if (b)
		evbuffer_free(b);
}

uint64_t cr_limit_refusals(enum cr_limit_e which) { return atomic_load(&_refused[which]); }

void cr_limits_metrics(struct evbuffer *out)
{
	evbuffer_add_printf(out, "# HELP camrelay_limit_refusals_total Requests, connections and sessions refused "
				 "by [limits], by reason.\n# TYPE camrelay_limit_refusals_total counter\n");
	for (int i = 0; i < CR_LIMIT_COUNT; i++)
		evbuffer_add_printf(out, "camrelay_limit_refusals_total{reason=\"%s\"} %llu\n", _limits[i].reason,
				    (unsigned long long)atomic_load(&_refused[i]));
}
