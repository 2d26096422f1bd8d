/* Glass-to-glass figures that viewers' pages measure and post back
 * (POST /api/streams/<stream>/g2g), the clock they align to (GET /api/time),
 * and their place in /api/streams, /api/webrtc and /metrics.
 *
 * The page reads the timecode block (core/timecode.h) from each frame it
 * shows and subtracts the capture time from the server-aligned display time;
 * the server only keeps what viewers report. A report is small, needs the
 * view right on the stream, and one client address may post at most
 * _PER_SECOND a second; each stream keeps its newest _PER_STREAM viewers, and a
 * figure not refreshed for _STALE_NS is dropped. Everything here runs on
 * the HTTP loop thread. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "net/http_priv.h"

#define _PER_STREAM 8
#define _CLIENTS 64
#define _MAX_BODY 1024
#define _PER_SECOND 8 /* reports a client address may post per second (a page posts one per stream) */
#define _STALE_NS 15000000000LL

struct _entry_s {
	char viewer[40];
	char output[8]; /* "webrtc", "mjpeg" */
	double cur, p50, p95; /* ms, over the viewer's last 10 s */
	json_int_t frames, unreadable;
	int64_t updated_ns;
};

struct cr_http_g2g_s {
	struct _entry_s e[CR_MAX_STREAMS][_PER_STREAM];
	struct {
		char addr[64];
		int64_t window_ns; /* start of its current one-second window */
		int n;             /* reports in it */
	} clients[_CLIENTS];
};

struct cr_http_g2g_s *cr_http_g2g_new(void) { return calloc(1, sizeof(struct cr_http_g2g_s)); }
void cr_http_g2g_free(struct cr_http_g2g_s *g) { free(g); }

void cr_http_time(struct evhttp_request *req)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"ms\": %.3f}\n", (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "application/json");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* Whether this client address may post now (and it counts as a post). */
static bool _rate_ok(struct cr_http_g2g_s *g, struct evhttp_request *req)
{
	char *ip = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &ip, &port);
	const char *addr = ip ? ip : "?";
	int64_t now = cr_now_ns();
	int slot = 0;
	bool found = false;
	for (int i = 0; i < _CLIENTS && !found; i++) {
		if (strcmp(g->clients[i].addr, addr) == 0)
			slot = i, found = true;
		else if (g->clients[i].window_ns < g->clients[slot].window_ns)
			slot = i; /* the least recent, reused for a new address */
	}
	if (!found || now - g->clients[slot].window_ns >= 1000000000LL) {
		snprintf(g->clients[slot].addr, sizeof(g->clients[slot].addr), "%s", addr);
		g->clients[slot].window_ns = now;
		g->clients[slot].n = 0;
	}
	return ++g->clients[slot].n <= _PER_SECOND;
}

static bool _viewer_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= 40)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

/* Parses and checks a report; NULL and *why on a bad one. */
static json_t *_parse(struct evhttp_request *req, struct _entry_s *e, const char **why)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	*why = "the body is over 1024 bytes";
	if (len > _MAX_BODY)
		return NULL;
	char body[_MAX_BODY + 1];
	evbuffer_copyout(in, body, len);
	body[len] = 0;
	json_error_t jerr;
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	const char *viewer = NULL, *output = NULL;
	double cur = 0, p50 = 0, p95 = 0;
	json_int_t frames = 0, unreadable = 0;
	*why = "expected {\"viewer\": \"id\", \"output\": \"webrtc\"|\"mjpeg\", \"cur\": ms, \"p50\": ms, \"p95\": ms, "
	       "\"frames\": n, \"unreadable\": n} (cur/p50/p95 null when nothing was read)";
	/* Figures may be null: a viewer that reads no code reports only its counts. */
	json_t *jc = NULL, *j50 = NULL, *j95 = NULL;
	if (!j || json_unpack(j, "{s:s, s:s, s:o, s:o, s:o, s:I, s:I}", "viewer", &viewer, "output", &output, "cur",
			      &jc, "p50", &j50, "p95", &j95, "frames", &frames, "unreadable", &unreadable) != 0) {
		json_decref(j);
		return NULL;
	}
	json_t *figs[3] = {jc, j50, j95};
	double *vals[3] = {&cur, &p50, &p95};
	for (int i = 0; i < 3; i++) {
		if (json_is_null(figs[i]))
			*vals[i] = -1; /* none */
		else if (json_is_number(figs[i]) && json_number_value(figs[i]) >= -1000 &&
			 json_number_value(figs[i]) <= 600000)
			*vals[i] = json_number_value(figs[i]);
		else {
			*why = "cur, p50 and p95 are ms between -1000 and 600000, or null";
			json_decref(j);
			return NULL;
		}
	}
	if (!_viewer_ok(viewer) || (strcmp(output, "webrtc") != 0 && strcmp(output, "mjpeg") != 0) || frames < 0 ||
	    unreadable < 0) {
		*why = "viewer is 1..39 of [A-Za-z0-9_-], output webrtc or mjpeg, counts >= 0";
		json_decref(j);
		return NULL;
	}
	snprintf(e->viewer, sizeof(e->viewer), "%s", viewer);
	snprintf(e->output, sizeof(e->output), "%s", output);
	e->cur = cur, e->p50 = p50, e->p95 = p95;
	e->frames = frames, e->unreadable = unreadable;
	return j;
}

void cr_http_g2g_post(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	struct _entry_s in = {0};
	const char *why;
	if (!_rate_ok(h->g2g, req)) {
		cr_http_reply_text(req, 429, "at most %d glass-to-glass reports a second per client", _PER_SECOND);
		return;
	}
	json_t *j = _parse(req, &in, &why);
	if (!j) {
		cr_http_reply_text(req, 400, "glass-to-glass report for \"%s\": %s", cr_stream_name(h->streams[stream]),
				   why);
		return;
	}
	json_decref(j);
	in.updated_ns = cr_now_ns();
	struct _entry_s *e = h->g2g->e[stream], *slot = &e[0];
	for (int i = 0; i < _PER_STREAM; i++) {
		if (strcmp(e[i].viewer, in.viewer) == 0) {
			slot = &e[i];
			break;
		}
		if (e[i].updated_ns < slot->updated_ns)
			slot = &e[i]; /* the oldest gives way */
	}
	*slot = in;
	evhttp_send_reply(req, 204, "No Content", NULL);
}

static bool _live(const struct _entry_s *e) { return e->viewer[0] && cr_now_ns() - e->updated_ns < _STALE_NS; }

static json_t *_fig(double v) { return v < -999 ? json_null() : json_real(v); }

static json_t *_entry_json(const struct _entry_s *e)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:f}", "viewer", e->viewer, "output", e->output, "cur_ms",
			 _fig(e->cur), "p50_ms", _fig(e->p50), "p95_ms", _fig(e->p95), "frames", e->frames,
			 "unreadable", e->unreadable, "age_s", (double)(cr_now_ns() - e->updated_ns) / 1e9);
}

json_t *cr_http_g2g_json(struct cr_http_s *h, int stream)
{
	json_t *arr = json_array();
	for (int i = 0; i < _PER_STREAM; i++)
		if (_live(&h->g2g->e[stream][i]))
			json_array_append_new(arr, _entry_json(&h->g2g->e[stream][i]));
	return arr;
}

json_t *cr_http_g2g_viewer(void *opaque, const char *stream, const char *viewer)
{
	struct cr_http_s *h = opaque;
	int s = cr_http_stream_index(h, stream);
	for (int i = 0; s >= 0 && i < _PER_STREAM; i++)
		if (_live(&h->g2g->e[s][i]) && strcmp(h->g2g->e[s][i].viewer, viewer) == 0)
			return _entry_json(&h->g2g->e[s][i]);
	return NULL;
}

void cr_http_g2g_metrics(struct cr_http_s *h, struct evbuffer *b)
{
	evbuffer_add_printf(b, "# HELP camrelay_g2g_ms glass-to-glass latency a viewer's page measured (capture to "
			       "display), over its last 10 s\n# TYPE camrelay_g2g_ms gauge\n"
			       "# HELP camrelay_g2g_unreadable_total frames whose timecode a viewer could not read\n"
			       "# TYPE camrelay_g2g_unreadable_total counter\n");
	for (int s = 0; s < h->n_streams; s++)
		for (int i = 0; i < _PER_STREAM; i++) {
			const struct _entry_s *e = &h->g2g->e[s][i];
			if (!_live(e))
				continue;
			/* Stream names and viewer ids are [A-Za-z0-9_-]: no escaping needed. */
			const char *n = cr_stream_name(h->streams[s]);
			static const char *const q[] = {"cur", "0.5", "0.95"};
			double v[] = {e->cur, e->p50, e->p95};
			for (int k = 0; k < 3; k++)
				if (v[k] > -999)
					evbuffer_add_printf(b,
							    "camrelay_g2g_ms{stream=\"%s\",viewer=\"%s\",output=\"%s\","
							    "quantile=\"%s\"} %.1f\n",
							    n, e->viewer, e->output, q[k], v[k]);
			evbuffer_add_printf(b, "camrelay_g2g_unreadable_total{stream=\"%s\",viewer=\"%s\",output=\"%s\"} %lld\n",
					    n, e->viewer, e->output, (long long)e->unreadable);
		}
}
