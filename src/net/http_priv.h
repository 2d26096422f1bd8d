/* Inside the HTTP server: shared between http.c (listening, routing, pages),
 * http_api.c (JSON API, controls, metrics) and http_mjpeg.c (MJPEG streams
 * and snapshots). Everything here runs on the server's one event loop
 * thread, except the subscribers' notify callbacks (see http_mjpeg.c). */
#ifndef CR_HTTP_PRIV_H
#define CR_HTTP_PRIV_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/stream.h"
#include "net/http.h"

#include <jansson.h>

struct _mjpeg_client_s;
struct cr_http_g2g_s;
struct _snapshot_s;

struct cr_http_s {
	const struct cr_config_s *cfg;
	struct cr_stream_s *streams[CR_MAX_STREAMS];
	int n_streams;

	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
	bool thread_started;
	struct cr_whep_s *whep; /* WebRTC viewers (net/whep.h), NULL when unavailable */
	struct cr_rtsp_s *rtsp; /* the RTSP server (net/rtsp.h), NULL when off */
	struct cr_http_conns_s *conns; /* HTTPS, connection caps (net/http_conn.h) */
	struct cr_http_ctl_s *ctl;     /* the camera controls' worker (http_ctl.c) */

	/* Loop-thread state. */
	struct _mjpeg_client_s *clients;
	struct _snapshot_s *snapshots;
	struct cr_http_sdp_wait_s *sdp_waits; /* GET /sdp/ waiting for parameter sets */
	struct event *sdp_timer;

	/* Live reload (net/http.h) */
	cr_http_reload_fn reload_fn;
	void *reload_ctx;
	pthread_mutex_t call_lock;
	pthread_cond_t call_done;
	struct cr_http_g2g_s *g2g; /* viewers' glass-to-glass reports (http_g2g.c) */
};

/* Routing helpers (http.c). */
int cr_http_stream_index(struct cr_http_s *h, const char *name);
/* A short text/plain reply: "404 Not Found: no stream \"x\" ...". */
void cr_http_reply_text(struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The encoder settings every MJPEG consumer of stream i shares. */
struct cr_encoder_cfg_s cr_http_mjpeg_encoder(const struct cr_http_s *h, int i);

/* http_sdp.c: GET /sdp/<stream> (the RTP sink's SDP); stop frees what waits. */
void cr_http_sdp_start(struct cr_http_s *h, struct evhttp_request *req, int stream);
void cr_http_sdp_stop(struct cr_http_s *h);

/* http_api.c */
struct json_t;
/* Replies with j as indented JSON (and frees it); 500 when it cannot. */
void cr_http_reply_json(struct evhttp_request *req, int code, struct json_t *j);
void cr_http_api_streams(struct cr_http_s *h, struct evhttp_request *req, int stream);
void cr_http_api_controls(struct cr_http_s *h, struct evhttp_request *req, int stream);
/* DELETE /api/sessions/<id>: ends a WebRTC viewer (control right on its stream). */
void cr_http_api_end_session(struct cr_http_s *h, struct evhttp_request *req, const char *id);
void cr_http_metrics(struct cr_http_s *h, struct evhttp_request *req);
/* POST /api/reload: the reload function's result as JSON. */
void cr_http_api_reload(struct cr_http_s *h, struct evhttp_request *req);
void cr_http_ustreamer_state(struct cr_http_s *h, struct evhttp_request *req);

/* http_ctl.c: camera controls on a worker thread. A job lists the stream's
 * controls after setting its name=value pairs (none: list only); submit
 * takes it and answers req from the loop when the devices are done. */
struct cr_http_ctl_s *cr_http_ctl_new(struct cr_http_s *h);
void cr_http_ctl_free(struct cr_http_ctl_s *c); /* after the loop has ended */
struct cr_http_ctl_job_s *cr_http_ctl_job(struct evhttp_request *req, int stream);
int cr_http_ctl_add(struct cr_http_ctl_job_s *j, const char *name, const char *value); /* -E2BIG, -ENAMETOOLONG */
void cr_http_ctl_submit(struct cr_http_s *h, struct cr_http_ctl_job_s *j);

/* http_g2g.c: GET /api/time, POST /api/streams/<stream>/g2g, and the
 * reports in /api/streams (array per stream), /api/webrtc (per viewer id,
 * NULL when none) and /metrics. */
struct cr_http_g2g_s *cr_http_g2g_new(void);
void cr_http_g2g_free(struct cr_http_g2g_s *g);
void cr_http_time(struct evhttp_request *req);
void cr_http_g2g_post(struct cr_http_s *h, struct evhttp_request *req, int stream);
json_t *cr_http_g2g_json(struct cr_http_s *h, int stream);
json_t *cr_http_g2g_viewer(void *h, const char *stream, const char *viewer);
void cr_http_g2g_metrics(struct cr_http_s *h, struct evbuffer *b);

/* http_page.c: the page, at / (every stream) and /play/<stream> (one). */
void cr_http_page(struct cr_http_s *h, struct evhttp_request *req, int stream);

/* http_mjpeg.c */
void cr_http_mjpeg_start(struct cr_http_s *h, struct evhttp_request *req, int stream);
void cr_http_snapshot_start(struct cr_http_s *h, struct evhttp_request *req, int stream);
/* Closes every client and pending snapshot (at stop, on the loop thread's
 * behalf after it has ended). */
void cr_http_mjpeg_close_all(struct cr_http_s *h);

#endif
