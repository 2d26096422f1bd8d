/* Camera controls off the event loop: GET and POST /api/streams/<s>/controls
 * are parsed on the loop, then listed and set on a worker thread of the HTTP
 * server, and answered from the loop when the worker is done. A control may
 * be USB I/O that waits for the camera (libgphoto2 holds its camera lock
 * while it grabs a live-view frame; a DSLR's setting takes a second): the
 * loop keeps serving MJPEG, WebRTC and RTSP meanwhile. One worker for all
 * streams, requests in arrival order; at most _MAX_WAITING wait (503 beyond,
 * counted as [limits] control_requests_waiting). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/stream.h"
#include "net/http_priv.h"
#include "net/limits.h"

#define _MAX_PAIRS 32
#define _MAX_CONTROLS 64

struct cr_http_ctl_job_s {
	struct cr_http_ctl_job_s *next;
	struct evhttp_request *req;
	int stream;
	int n_pairs; /* 0: list only */
	char names[_MAX_PAIRS][64];
	char values[_MAX_PAIRS][256];
	/* Filled by the worker. */
	int failed; /* index of the pair that could not be set, or -1 */
	char err[512];
	int n_ctl; /* or a negative errno */
	struct cr_control_info_s ctl[_MAX_CONTROLS];
};

struct cr_http_ctl_s {
	struct cr_http_s *h;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct cr_http_ctl_job_s *todo, *done; /* todo in arrival order */
	int waiting;                          /* todo + running + done: on the loop only */
	struct event *done_ev;
};

struct cr_http_ctl_job_s *cr_http_ctl_job(struct evhttp_request *req, int stream)
{
	struct cr_http_ctl_job_s *j = calloc(1, sizeof(*j));
	if (j) {
		j->req = req;
		j->stream = stream;
		j->failed = -1;
	}
	return j;
}

int cr_http_ctl_add(struct cr_http_ctl_job_s *j, const char *name, const char *value)
{
	if (j->n_pairs == _MAX_PAIRS)
		return -E2BIG;
	if (strlen(name) >= sizeof(j->names[0]) || strlen(value) >= sizeof(j->values[0]))
		return -ENAMETOOLONG;
	snprintf(j->names[j->n_pairs], sizeof(j->names[0]), "%s", name);
	snprintf(j->values[j->n_pairs], sizeof(j->values[0]), "%s", value);
	j->n_pairs++;
	return 0;
}

/* On the worker: the device calls. */
static void _run(struct cr_http_s *h, struct cr_http_ctl_job_s *j)
{
	struct cr_stream_s *s = h->streams[j->stream];
	for (int i = 0; i < j->n_pairs; i++)
		if (cr_stream_set_control(s, j->names[i], j->values[i], j->err, sizeof(j->err)) < 0) {
			j->failed = i;
			return;
		}
	j->n_ctl = cr_stream_list_controls(s, j->ctl, _MAX_CONTROLS);
}

static void *_worker(void *arg)
{
	struct cr_http_ctl_s *c = arg;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct cr_http_ctl_job_s *j = c->todo;
		if (!j) {
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		}
		c->todo = j->next;
		pthread_mutex_unlock(&c->lock);
		_run(c->h, j);
		pthread_mutex_lock(&c->lock);
		j->next = c->done;
		c->done = j;
		event_active(c->done_ev, EV_READ, 0); /* thread-safe: evthread_use_pthreads */
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static const char *_type_name(enum cr_control_type_e t)
{
	static const char *const names[] = {[CR_CONTROL_INT] = "int", [CR_CONTROL_BOOL] = "bool",
					    [CR_CONTROL_MENU] = "menu", [CR_CONTROL_BUTTON] = "button",
					    [CR_CONTROL_STRING] = "string"};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) && names[t] ? names[t] : "?";
}

/* On the loop: the answer. */
static void _reply(struct cr_http_s *h, struct cr_http_ctl_job_s *j)
{
	const char *name = cr_stream_name(h->streams[j->stream]);
	if (j->failed >= 0) {
		cr_http_reply_text(j->req, 400, "cannot set %s=%s on stream \"%s\": %s", j->names[j->failed],
				   j->values[j->failed], name, j->err);
		return;
	}
	if (j->n_ctl < 0) {
		cr_http_reply_text(j->req, 503, "cannot list the controls of stream \"%s\": %s", name,
				   j->n_ctl == -ENODEV   ? "its source is not open right now"
				   : j->n_ctl == -EBUSY ? "its source is busy (opening); try again"
							: strerror(-j->n_ctl));
		return;
	}
	json_t *arr = json_array();
	for (int i = 0; i < j->n_ctl; i++) {
		const struct cr_control_info_s *k = &j->ctl[i];
		json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "name", k->name, "type", _type_name(k->type),
				      "min", (json_int_t)k->min, "max", (json_int_t)k->max, "step", (json_int_t)k->step,
				      "default", (json_int_t)k->def, "value", (json_int_t)k->value);
		if (k->text[0])
			json_object_set_new(o, "text", json_string(k->text));
		json_array_append_new(arr, o);
	}
	cr_http_reply_json(j->req, 200, json_pack("{s:s,s:o}", "stream", name, "controls", arr));
}

static void _on_done(evutil_socket_t fd, short what, void *arg)
{
	struct cr_http_ctl_s *c = arg;
	pthread_mutex_lock(&c->lock);
	struct cr_http_ctl_job_s *done = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->lock);
	/* A client that left meanwhile: libevent detached the request from its
	 * connection, and the reply only frees it. */
	while (done) {
		struct cr_http_ctl_job_s *j = done;
		done = j->next;
		_reply(c->h, j);
		c->waiting--;
		free(j);
	}
}

void cr_http_ctl_submit(struct cr_http_s *h, struct cr_http_ctl_job_s *j)
{
	struct cr_http_ctl_s *c = h->ctl;
	if (!c) {
		cr_http_reply_text(j->req, 500, "camera controls are not available (no worker thread)");
		free(j);
		return;
	}
	int most = cr_limit(&h->cfg->limits, CR_LIMIT_CONTROL_WAITING);
	if (c->waiting >= most) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%d camera control requests are waiting for their devices; try again later",
			 c->waiting);
		cr_limit_reply(j->req, CR_LIMIT_CONTROL_WAITING, msg);
		free(j);
		return;
	}
	c->waiting++;
	pthread_mutex_lock(&c->lock);
	struct cr_http_ctl_job_s **p = &c->todo;
	while (*p)
		p = &(*p)->next;
	*p = j;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

struct cr_http_ctl_s *cr_http_ctl_new(struct cr_http_s *h)
{
	struct cr_http_ctl_s *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->h = h;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->done_ev = event_new(h->base, -1, 0, _on_done, c);
	if (!c->done_ev || pthread_create(&c->thread, NULL, _worker, c) != 0) {
		cr_http_ctl_free(c);
		return NULL;
	}
	c->started = true;
	return c;
}

/* After the loop has ended: the requests still waiting go with the evhttp. */
void cr_http_ctl_free(struct cr_http_ctl_s *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL); /* a device call in progress ends first */
	}
	struct cr_http_ctl_job_s *lists[2] = {c->todo, c->done};
	for (int k = 0; k < 2; k++)
		while (lists[k]) {
			struct cr_http_ctl_job_s *j = lists[k];
			lists[k] = j->next;
			free(j);
		}
	if (c->done_ev)
		event_free(c->done_ev);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
