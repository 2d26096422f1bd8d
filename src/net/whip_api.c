/* The whip sinks' figures for /api/streams and /metrics; see whip.h. */
#include <event2/buffer.h>
#include <jansson.h>
#include <string.h>

#include "net/whip.h"

struct _json_ctx_s {
	const char *stream;
	bool admin;
	json_t *arr;
};

static void _add(const struct cr_whip_info_s *i, void *opaque)
{
	struct _json_ctx_s *c = opaque;
	if (strcmp(i->stream, c->stream) != 0)
		return;
	const struct cr_whip_figures_s *f = &i->f;
	json_t *j = json_pack("{s:s,s:I,s:I,s:I}", "state", i->state, "attempts", (json_int_t)i->attempts,
			      "failures", (json_int_t)i->failures, "publishes", (json_int_t)i->publishes);
	if (c->admin) {
		json_object_set_new(j, "url", json_string(i->url));
		json_object_set_new(j, "last_error", json_string(i->last_error));
		json_object_set_new(j, "pair", json_string(f->pair));
		json_object_set_new(j, "gathered", json_string(f->gathered));
		json_object_set_new(j, "ice_note", json_string(f->ice_note));
		json_object_set_new(j, "trickle", json_string(f->trickle));
		json_object_set_new(j, "restart", json_string(f->restart));
	}
	json_object_set_new(j, "trickled", json_integer((json_int_t)f->trickled));
	json_object_set_new(j, "ice_restarts", json_integer((json_int_t)f->ice_restarts));
	json_object_set_new(j, "relayed", json_boolean(f->relayed));
	json_object_set_new(j, "rtx", json_boolean(f->rtx));
	json_object_set_new(j, "dtls_role", json_string(f->dtls_role ? f->dtls_role : ""));
	json_object_set_new(j, "packets_sent", json_integer((json_int_t)f->packets_sent));
	json_object_set_new(j, "bytes_sent", json_integer((json_int_t)f->bytes_sent));
	json_object_set_new(j, "frames_sent", json_integer((json_int_t)f->frames_sent));
	json_object_set_new(j, "keyframes_sent", json_integer((json_int_t)f->keyframes_sent));
	json_object_set_new(j, "audio_packets_sent", json_integer((json_int_t)f->audio_packets_sent));
	json_object_set_new(j, "nacks", json_integer((json_int_t)f->nacks));
	json_object_set_new(j, "retransmits", json_integer((json_int_t)f->retransmits));
	json_object_set_new(j, "plis", json_integer((json_int_t)f->plis));
	json_object_set_new(j, "firs", json_integer((json_int_t)f->firs));
	json_object_set_new(j, "remb_bps", json_integer((json_int_t)f->remb_bps));
	json_object_set_new(j, "remb_packets", json_integer((json_int_t)f->remb_packets));
	json_object_set_new(j, "transport_cc", json_boolean(f->twcc));
	json_object_set_new(j, "twcc_feedbacks", json_integer((json_int_t)f->twcc_feedbacks));
	json_object_set_new(j, "twcc_received", json_integer((json_int_t)f->twcc_received));
	json_object_set_new(j, "twcc_lost", json_integer((json_int_t)f->twcc_lost));
	json_object_set_new(j, "fraction_lost", json_real(f->fraction_lost));
	json_object_set_new(j, "packets_lost", json_integer((json_int_t)f->packets_lost));
	json_object_set_new(j, "jitter_ms", json_real(f->jitter_ms));
	json_object_set_new(j, "rtt_ms", json_real(f->rtt_ms));
	json_array_append_new(c->arr, j);
}

json_t *cr_whip_json(const char *stream, bool admin)
{
	struct _json_ctx_s c = {stream, admin, json_array()};
	cr_whip_foreach(_add, &c);
	return c.arr;
}

static void _metric(const struct cr_whip_info_s *i, void *opaque)
{
	struct evbuffer *b = opaque;
	const struct cr_whip_figures_s *f = &i->f;
	const char *s = i->stream;
	evbuffer_add_printf(b,
			    "camrelay_whip_publishing{stream=\"%s\"} %d\n"
			    "camrelay_whip_attempts_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_failures_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_packets_sent_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_bytes_sent_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_frames_sent_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_nacks_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_retransmits_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_plis_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_remb_bps{stream=\"%s\"} %llu\n"
			    "camrelay_whip_rtt_ms{stream=\"%s\"} %.2f\n"
			    "camrelay_whip_relayed{stream=\"%s\"} %d\n"
			    "camrelay_whip_twcc_received_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_twcc_lost_total{stream=\"%s\"} %llu\n"
			    "camrelay_whip_ice_restarts_total{stream=\"%s\"} %llu\n",
			    s, strcmp(i->state, "publishing") == 0, s, (unsigned long long)i->attempts, s,
			    (unsigned long long)i->failures, s, (unsigned long long)f->packets_sent, s,
			    (unsigned long long)f->bytes_sent, s, (unsigned long long)f->frames_sent, s,
			    (unsigned long long)f->nacks, s, (unsigned long long)f->retransmits, s,
			    (unsigned long long)f->plis, s, (unsigned long long)f->remb_bps, s, f->rtt_ms, s,
			    f->relayed, s, (unsigned long long)f->twcc_received, s, (unsigned long long)f->twcc_lost, s,
			    (unsigned long long)f->ice_restarts);
}

void cr_whip_metrics(struct evbuffer *out) { cr_whip_foreach(_metric, out); }
