/* [limits]: what clients may take, the values with their defaults, and the
 * refusals: counted per reason (camrelay_limit_refusals_total in /metrics)
 * and logged at most once a minute per reason. Counters are process-wide
 * and atomic; the rest runs on the HTTP event loop. */
#ifndef CR_NET_LIMITS_H
#define CR_NET_LIMITS_H

#include <event2/http.h>
#include <stdint.h>

#include "core/config.h"

enum cr_limit_e {
	CR_LIMIT_HTTP_CONNECTIONS,
	CR_LIMIT_HTTP_PER_IP,
	CR_LIMIT_HEADER_TIMEOUT,
	CR_LIMIT_WHEP_SESSIONS,
	CR_LIMIT_WHEP_PER_STREAM,
	CR_LIMIT_WHEP_PER_IP,
	CR_LIMIT_MJPEG_PER_STREAM,
	CR_LIMIT_CONTROL_WAITING, /* camera control requests waiting for a device (fixed) */
	CR_LIMIT_COUNT
};

/* The configured value of a limit, or its default. */
int cr_limit(const struct cr_limits_cfg_s *l, enum cr_limit_e which);
/* Counts a refusal and logs "<what> refused: <detail>" once a minute per
 * reason (with the number refused meanwhile). */
void cr_limit_refused(enum cr_limit_e which, const char *detail);
/* Replies 503 (totals) or 429 (per IP) with Retry-After and a text body,
 * after cr_limit_refused. */
void cr_limit_reply(struct evhttp_request *req, enum cr_limit_e which, const char *detail);
/* The same reply without counting (the refusal was counted earlier). */
void cr_limit_answer(struct evhttp_request *req, enum cr_limit_e which, const char *detail);
uint64_t cr_limit_refusals(enum cr_limit_e which);
/* The Prometheus lines: camrelay_limit_refusals_total{reason="..."}. */
struct evbuffer;
void cr_limits_metrics(struct evbuffer *out);

#endif
