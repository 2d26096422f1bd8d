/* WHIP sink ([[stream.X.sinks]] type = "whip", url, token, ice_servers):
 * publishes the stream's encoded video to a WHIP server (RFC 9725) — an
 * SFU or media server (live777, MediaMTX, Janus's WHIP front, ...) that fans
 * it out. Its own thread runs a libevent loop: POST the offer (Bearer
 * token), follow Location, ICE/DTLS/SRTP through net/whip_peer.c, frames
 * from an encoded subscriber (the encoder WHEP viewers and the RTP sink
 * share), PLI/FIR as keyframe requests. Any failure — no answer, 4xx/5xx,
 * a malformed answer, ICE, DTLS, consent, ICMP unreachable — logs one line
 * naming the URL, the status and the server's words, and publishes again
 * after a backoff (0.25 s doubling to backoff_max_ms, 8 s by default; reset
 * once media flows) with a
 * fresh POST. DELETE of the session when the sink stops or gives it up.
 *
 * PATCH (RFC 9725 4.3, application/trickle-ice-sdpfrag): the offer goes out
 * with the host candidates at once; the server-reflexive and relayed ones
 * gathered meanwhile follow in one PATCH (If-Match: the ETag). When consent
 * is lost while publishing, ICE restarts over PATCH (If-Match: "*", new
 * ufrag/pwd; the server's fragment gives its new ones) and DTLS/SRTP carry
 * on; a server without an ETag, or answering the PATCH with anything but
 * 200 and a fragment (405/501: no PATCH; 422: no restart), gets a fresh POST.
 *
 * With [stream.X.audio] the offer has a second, bundled section with the
 * stream's Opus (RFC 7587); when the answer takes it, each packet comes
 * through a ring (audio/ring.h) to this loop and goes out beside the video;
 * when it refuses it, the video goes alone (said once in the log). */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "audio/ring.h"
#include "config/schema_get.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "net/dtls.h"
#include "net/whip.h"
#include "rtp/rtp.h"
#include "sink/sink.h"
#include "sink/whip_sink.h"

/* The sink's own keys (its block of the config). */
#define _OPTS(sink) ((const struct cr_whip_opts_s *)(sink)->cfg->opts)

#define _BACKOFF_MIN_S 0.25
#define _KEYFRAME_GAP_NS 200000000LL

struct _whip_s {
	struct cr_sink_s *sink;
	const char *stream_name;
	struct event_base *base;
	struct event *wake_ev, *retry_ev, *teardown_ev, *stats_ev, *stop_ev, *delete_ev, *trickle_ev;
	char delete_url[512]; /* a session given up, DELETEd from the loop */
	int efd;
	pthread_t thread;
	atomic_bool stop;
	bool stopping;
	struct cr_dtls_ctx_s *dtls;
	struct cr_whip_http_s *http;
	struct cr_whip_peer_s *peer;
	struct cr_whip_offer_s offer;
	struct cr_encoder_cfg_s enc;
	char fmtp[128];
	struct cr_sub_s *sub;
	struct cr_audio_ring_s *aring; /* while publishing, when the answer took the audio */
	bool audio_taken, audio_refusal_logged;
	bool wait_key;
	uint32_t ts_offset;
	int64_t last_key_ns, attempt_ns;
	double backoff_s;
	char session[512], etag[128];
	char logged_note[240];
	bool answered, trickle_pending, no_patch; /* no_patch: 405/501 to a PATCH of this session */
	int n_offered, n_trickling;               /* local candidates in the offer, in the PATCH in flight */
	/* Read by the HTTP thread through cr_whip_foreach, under lock. */
	pthread_mutex_t lock;
	const char *state;
	char last_error[400];
	uint64_t attempts, failures, publishes;
	uint64_t ice_restarts, trickled;
	char trickle[120], restart[160];
	struct cr_whip_figures_s fig;
	struct _whip_s *next;
};

static pthread_mutex_t _reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct _whip_s *_all;

static void _set_state(struct _whip_s *w, const char *st)
{
	pthread_mutex_lock(&w->lock);
	w->state = st;
	pthread_mutex_unlock(&w->lock);
}

/* The peer's figures and the sink's own (trickle, restarts); under lock. */
static void _figures(struct _whip_s *w)
{
	cr_whip_peer_figures(w->peer, &w->fig);
	w->fig.ice_restarts = w->ice_restarts;
	w->fig.trickled = w->trickled;
	snprintf(w->fig.trickle, sizeof(w->fig.trickle), "%s", w->trickle);
	snprintf(w->fig.restart, sizeof(w->fig.restart), "%s", w->restart);
}

static void _unsubscribe(struct _whip_s *w)
{
	if (w->sub)
		cr_stream_unsubscribe(w->sub);
	w->sub = NULL;
	cr_audio_ring_free(w->aring);
	w->aring = NULL;
}

/* Server answers are shown as one line, control characters as '?'. */
static void _clean(char *out, size_t n, const char *in, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < len && k + 1 < n; i++) {
		char c = in[i];
		if (c == '\n' || c == '\r') {
			if (k && out[k - 1] != ' ')
				out[k++] = ' ';
			continue;
		}
		out[k++] = (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
	}
	while (k && out[k - 1] == ' ')
		k--;
	out[k] = 0;
}

static void _on_delete(void *opaque, const struct cr_whip_reply_s *r)
{
	struct _whip_s *w = opaque;
	if (r->status && (r->status < 200 || r->status > 299) && r->status != 404)
		CR_LOG_W(w->stream_name, "whip %s: DELETE of the session answered %d %s", _OPTS(w->sink)->url, r->status,
			 r->reason);
	if (w->stopping)
		event_base_loopbreak(w->base);
}

static void _delete_session(struct _whip_s *w, const char *url)
{
	char err[200];
	if (!url[0])
		return;
	if (cr_whip_http_request(w->http, "DELETE", url, _OPTS(w->sink)->token, NULL, NULL, NULL, 0, _on_delete, w, err,
				 sizeof(err)) < 0)
		CR_LOG_W(w->stream_name, "whip: DELETE %s: %s", url, err);
	else
		CR_LOG_D(w->stream_name, "whip: DELETE %s", url);
}

static void _on_delete_ev(evutil_socket_t fd, short what, void *arg)
{
	struct _whip_s *w = arg;
	(void)fd, (void)what;
	_delete_session(w, w->delete_url);
	w->delete_url[0] = 0;
}

/* Ends the attempt, says why once, and schedules the next one. */
static void _retry(struct _whip_s *w, const char *why)
{
	_unsubscribe(w);
	cr_whip_peer_free(w->peer);
	w->peer = NULL;
	if (w->stopping)
		return;
	CR_LOG_W(w->stream_name, "whip %s: %s; publishing again in %.2f s", _OPTS(w->sink)->url, why, w->backoff_s);
	pthread_mutex_lock(&w->lock);
	w->failures++;
	w->state = "retrying";
	snprintf(w->last_error, sizeof(w->last_error), "%s", why);
	memset(&w->fig.pair, 0, sizeof(w->fig.pair));
	pthread_mutex_unlock(&w->lock);
	/* Not from inside an HTTP callback: the DELETE goes out from the loop. */
	snprintf(w->delete_url, sizeof(w->delete_url), "%s", w->session);
	w->session[0] = 0;
	if (w->delete_url[0])
		event_active(w->delete_ev, EV_TIMEOUT, 0);
	struct timeval tv = {(time_t)w->backoff_s, (suseconds_t)((w->backoff_s - (int)w->backoff_s) * 1e6)};
	event_add(w->retry_ev, &tv);
	double max = _OPTS(w->sink)->backoff_max_ms / 1000.0;
	pthread_mutex_lock(&w->lock);
	w->backoff_s = w->backoff_s * 2 > max ? max : w->backoff_s * 2;
	pthread_mutex_unlock(&w->lock);
}

/* ---- PATCH: trickle and ICE restart (RFC 9725 4.3) ---- */

static bool _is_frag(const struct cr_whip_reply_s *r)
{
	return strncasecmp(r->content_type, "application/trickle-ice-sdpfrag", 31) == 0;
}

/* "405 Method Not Allowed: <the server's words>" */
static void _status_text(const struct cr_whip_reply_s *r, char *out, size_t n)
{
	char body[120];
	if (r->status == 0) {
		snprintf(out, n, "failed: %s", r->error);
		return;
	}
	_clean(body, sizeof(body), r->body ? r->body : "", r->body_len);
	snprintf(out, n, "%d %s%s%.80s", r->status, r->reason, body[0] && !_is_frag(r) ? ": " : "",
		 _is_frag(r) ? "" : body);
}

static void _on_trickle(void *opaque, const struct cr_whip_reply_s *r)
{
	struct _whip_s *w = opaque;
	char st[200], err[200];
	struct cr_whip_frag_s f;
	_status_text(r, st, sizeof(st));
	pthread_mutex_lock(&w->lock);
	if (r->status >= 200 && r->status <= 299) {
		w->trickled += (uint64_t)w->n_trickling;
		snprintf(w->trickle, sizeof(w->trickle), "%d candidate(s) sent, PATCH answered %.60s", w->n_trickling, st);
	} else {
		w->no_patch = r->status == 405 || r->status == 501;
		snprintf(w->trickle, sizeof(w->trickle), "not taken: PATCH %.90s", st);
	}
	pthread_mutex_unlock(&w->lock);
	if (r->status >= 200 && r->status <= 299)
		CR_LOG_I(w->stream_name, "whip %s: %d gathered candidate(s) trickled (PATCH %s)", _OPTS(w->sink)->url,
			 w->n_trickling, st);
	else /* ICE goes on: the server learns them from the checks (peer-reflexive) */
		CR_LOG_W(w->stream_name, "whip %s: trickle PATCH of %d candidate(s) %s%s", _OPTS(w->sink)->url,
			 w->n_trickling, r->status ? "answered " : "", st);
	if (r->status == 200 && _is_frag(r) && w->peer) {
		if (cr_whip_parse_frag(r->body ? r->body : "", r->body_len, &f, err, sizeof(err)) == 0)
			cr_whip_peer_add_remote(w->peer, &f);
		else
			CR_LOG_W(w->stream_name, "whip %s: the server's trickle answer: %s", _OPTS(w->sink)->url, err);
	}
	if (r->etag[0])
		snprintf(w->etag, sizeof(w->etag), "%s", r->etag);
}

/* The candidates gathered after the POST, in one PATCH. */
static void _trickle(struct _whip_s *w)
{
	char err[200], *frag = malloc(4096);
	w->trickle_pending = false;
	cr_whip_peer_fill_offer(w->peer, &w->offer);
	int n = frag && w->offer.n_local > w->n_offered ? cr_whip_build_frag(&w->offer, w->n_offered, frag, 4096) : -1;
	w->n_trickling = w->offer.n_local - w->n_offered;
	if (n > 0 && cr_whip_http_request(w->http, "PATCH", w->session, _OPTS(w->sink)->token,
					  "application/trickle-ice-sdpfrag", w->etag[0] ? w->etag : NULL, frag, (size_t)n,
					  _on_trickle, w, err, sizeof(err)) < 0)
		CR_LOG_W(w->stream_name, "whip %s: trickle PATCH: %s", _OPTS(w->sink)->url, err);
	free(frag);
}

static void _on_restart(void *opaque, const struct cr_whip_reply_s *r)
{
	struct _whip_s *w = opaque;
	char st[200], err[200] = "", why[400];
	struct cr_whip_frag_s *f = calloc(1, sizeof(*f));
	_status_text(r, st, sizeof(st));
	int rc = -EINVAL;
	if (r->status == 200 && _is_frag(r) && f &&
	    (rc = cr_whip_parse_frag(r->body ? r->body : "", r->body_len, f, err, sizeof(err))) == 0 && !f->ufrag[0]) {
		snprintf(err, sizeof(err), "the fragment has no a=ice-ufrag/a=ice-pwd");
		rc = -EINVAL;
	}
	if (rc == 0 && w->peer && (rc = cr_whip_peer_restart(w->peer, f)) < 0)
		snprintf(err, sizeof(err), "cannot restart ICE: %s", strerror(-rc));
	free(f);
	if (rc == 0) {
		if (r->etag[0])
			snprintf(w->etag, sizeof(w->etag), "%s", r->etag);
		pthread_mutex_lock(&w->lock);
		snprintf(w->restart, sizeof(w->restart), "PATCH answered %.60s: checking the new credentials", st);
		w->state = "restarting";
		pthread_mutex_unlock(&w->lock);
		return;
	}
	if (r->status == 405 || r->status == 501)
		w->no_patch = true;
	snprintf(why, sizeof(why), "ICE consent lost; the ICE restart PATCH %s%s%s%s", r->status ? "answered " : "", st,
		 err[0] ? ": " : "", err);
	pthread_mutex_lock(&w->lock);
	snprintf(w->restart, sizeof(w->restart), "PATCH %s%.80s%s%.40s; fresh POST", r->status ? "answered " : "", st,
		 err[0] ? ": " : "", err);
	pthread_mutex_unlock(&w->lock);
	_retry(w, why);
}

/* Consent lost while publishing: ICE restart over PATCH where the server
 * can take it, else the session is given up for a fresh POST. */
static void _restart(struct _whip_s *w)
{
	char err[200], why[400], *frag;
	int n = -1;
	if (!w->etag[0] || w->no_patch) {
		const char *no = !w->etag[0] ? "the server gave no ETag" : "the server takes no PATCH";
		pthread_mutex_lock(&w->lock);
		snprintf(w->restart, sizeof(w->restart), "not tried (%s); fresh POST", no);
		pthread_mutex_unlock(&w->lock);
		snprintf(why, sizeof(why), "%s; no ICE restart (%s)", cr_whip_peer_error(w->peer), no);
		_retry(w, why);
		return;
	}
	cr_whip_peer_new_credentials(w->peer);
	cr_whip_peer_fill_offer(w->peer, &w->offer);
	if ((frag = malloc(4096)))
		n = cr_whip_build_frag(&w->offer, 0, frag, 4096);
	_set_state(w, "restarting");
	CR_LOG_W(w->stream_name, "whip %s: %s; restarting ICE (PATCH %s)", _OPTS(w->sink)->url, cr_whip_peer_error(w->peer),
		 w->session);
	if (n < 0 || cr_whip_http_request(w->http, "PATCH", w->session, _OPTS(w->sink)->token,
					  "application/trickle-ice-sdpfrag", "*", frag, (size_t)n, _on_restart, w, err,
					  sizeof(err)) < 0) {
		snprintf(why, sizeof(why), "ICE consent lost; the ICE restart PATCH: %s", n < 0 ? "no memory" : err);
		_retry(w, why);
	}
	free(frag);
}

/* A restart found a pair: the same session and subscription go on. */
static void _restarted(struct _whip_s *w)
{
	struct cr_whip_figures_s f;
	cr_whip_peer_figures(w->peer, &f);
	w->wait_key = true;
	cr_sub_request_keyframe(w->sub);
	pthread_mutex_lock(&w->lock);
	w->ice_restarts++;
	w->state = "publishing";
	snprintf(w->restart, sizeof(w->restart), "done: %.140s", f.pair);
	pthread_mutex_unlock(&w->lock);
	CR_LOG_I(w->stream_name, "whip: ICE restarted, publishing again to %s (session %s kept, %s)", _OPTS(w->sink)->url,
		 w->session, f.pair);
}

static void _on_keyframe(void *opaque)
{
	struct _whip_s *w = opaque;
	int64_t now = cr_now_ns();
	if (!w->sub || now - w->last_key_ns < _KEYFRAME_GAP_NS)
		return;
	w->last_key_ns = now;
	cr_sub_request_keyframe(w->sub);
	CR_LOG_D(w->stream_name, "whip: keyframe requested by the server (PLI/FIR)");
}

static void _notify(void *opaque)
{
	struct _whip_s *w = opaque;
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is non-zero already, the loop wakes anyway. */
	}
}

static void _on_peer_state(void *opaque, enum cr_whip_peer_state_e st)
{
	struct _whip_s *w = opaque;
	if (st == CR_WHIP_PEER_DTLS) {
		_set_state(w, "dtls");
	} else if (st == CR_WHIP_PEER_MEDIA && w->sub) {
		_restarted(w);
	} else if (st == CR_WHIP_PEER_LOST) {
		event_active(w->teardown_ev, EV_TIMEOUT, 0); /* restart or retry, not from inside the peer */
	} else if (st == CR_WHIP_PEER_MEDIA) {
		char name[600];
		snprintf(name, sizeof(name), "whip %s", _OPTS(w->sink)->url);
		struct cr_sub_req_s req = {.kind = CR_SUB_ENCODED, .encoder = w->enc, .depth = 16, .notify = _notify,
					   .opaque = w, .name = name};
		w->sub = cr_stream_subscribe(w->sink->stream, &req);
		w->wait_key = true;
		if (w->sub)
			cr_sub_request_keyframe(w->sub);
		struct cr_audio_s *au = cr_stream_audio(w->sink->stream);
		if (au && w->audio_taken && !(w->aring = cr_audio_ring_new(au, _notify, w)))
			CR_LOG_E(w->stream_name, "whip %s: out of memory: no audio", _OPTS(w->sink)->url);
		pthread_mutex_lock(&w->lock);
		w->backoff_s = _BACKOFF_MIN_S;
		w->publishes++;
		w->state = "publishing";
		w->last_error[0] = 0;
		pthread_mutex_unlock(&w->lock);
		struct cr_whip_figures_s f;
		cr_whip_peer_figures(w->peer, &f);
		CR_LOG_I(w->stream_name, "whip: publishing %s to %s (session %s, %s, %.0f ms after the POST)",
			 cr_codec_name(w->enc.codec), _OPTS(w->sink)->url, w->session, f.pair,
			 (cr_now_ns() - w->attempt_ns) / 1e6);
	} else if (st == CR_WHIP_PEER_FAILED) {
		event_active(w->teardown_ev, EV_TIMEOUT, 0); /* not from inside the peer's callback */
	}
}

static void _on_teardown(evutil_socket_t fd, short what, void *arg)
{
	struct _whip_s *w = arg;
	(void)fd, (void)what;
	if (w->peer && cr_whip_peer_state(w->peer) == CR_WHIP_PEER_LOST) {
		_restart(w);
	} else if (w->peer && cr_whip_peer_state(w->peer) == CR_WHIP_PEER_FAILED) {
		char why[300];
		snprintf(why, sizeof(why), "%s", cr_whip_peer_error(w->peer));
		_retry(w, why);
	}
}

static void _on_post(void *opaque, const struct cr_whip_reply_s *r)
{
	struct _whip_s *w = opaque;
	char why[400], body[200], err[240];
	if (r->status == 0) {
		snprintf(why, sizeof(why), "POST failed: %s", r->error);
	} else if (r->status != 201) {
		_clean(body, sizeof(body), r->body ? r->body : "", r->body_len);
		snprintf(why, sizeof(why), "POST answered %d %s%s%s", r->status, r->reason, body[0] ? ": " : "", body);
	} else if (!r->location[0]) {
		snprintf(why, sizeof(why), "POST answered 201 without a Location header (not a WHIP server?)");
	} else if (strncasecmp(r->content_type, "application/sdp", 15) != 0) {
		snprintf(w->session, sizeof(w->session), "%s", r->location);
		snprintf(why, sizeof(why), "POST answered 201 with Content-Type \"%.60s\", not application/sdp",
			 r->content_type);
	} else {
		snprintf(w->session, sizeof(w->session), "%s", r->location);
		snprintf(w->etag, sizeof(w->etag), "%s", r->etag);
		struct cr_whip_answer_s *a = calloc(1, sizeof(*a));
		int rc = a ? cr_whip_parse_answer(r->body ? r->body : "", r->body_len, &w->offer, a, err, sizeof(err))
			   : -ENOMEM;
		if (rc == 0 && (rc = cr_whip_peer_start(w->peer, a)) < 0)
			snprintf(err, sizeof(err), "cannot start ICE");
		w->audio_taken = rc == 0 && a->audio_pt >= 0;
		if (rc == 0 && w->offer.audio_pt >= 0 && !w->audio_taken && !w->audio_refusal_logged) {
			CR_LOG_W(w->stream_name, "whip %s: the server refused the audio (Opus); publishing the video alone",
				 _OPTS(w->sink)->url);
			w->audio_refusal_logged = true;
		}
		free(a);
		if (rc == 0) {
			_set_state(w, "connecting");
			w->answered = true;
			if (w->trickle_pending)
				_trickle(w);
			return;
		}
		snprintf(why, sizeof(why), "bad answer: %s", a ? err : "out of memory");
	}
	_retry(w, why);
}

/* The offer, once the peer has its candidates. */
static void _post(struct _whip_s *w)
{
	char err[256], why[300];
	char *sdp = malloc(8192);
	cr_whip_peer_fill_offer(w->peer, &w->offer);
	struct cr_whip_figures_s f;
	cr_whip_peer_figures(w->peer, &f);
	if (strcmp(f.ice_note, w->logged_note) != 0 && f.ice_note[0]) /* once, not at every attempt */
		CR_LOG_W(w->stream_name, "whip %s: ICE servers: %s", _OPTS(w->sink)->url, f.ice_note);
	snprintf(w->logged_note, sizeof(w->logged_note), "%s", f.ice_note);
	pthread_mutex_lock(&w->lock);
	_figures(w);
	w->state = "posting";
	pthread_mutex_unlock(&w->lock);
	w->n_offered = w->offer.n_local;
	w->answered = w->trickle_pending = w->no_patch = false;
	w->etag[0] = 0;
	int n = sdp ? cr_whip_build_offer(&w->offer, sdp, 8192) : -ENOMEM;
	if (n < 0 || cr_whip_http_request(w->http, "POST", _OPTS(w->sink)->url, _OPTS(w->sink)->token, "application/sdp",
					  NULL, sdp, (size_t)n, _on_post, w, err, sizeof(err)) < 0) {
		snprintf(why, sizeof(why), "%s", !sdp ? "out of memory" : n < 0 ? "the offer does not fit" : err);
		_retry(w, why);
	}
	free(sdp);
}

static void _on_gathered(void *opaque)
{
	event_active(((struct _whip_s *)opaque)->trickle_ev, EV_TIMEOUT, 0); /* not from inside the peer */
}

static void _on_trickle_ev(evutil_socket_t fd, short what, void *arg)
{
	struct _whip_s *w = arg;
	(void)fd, (void)what;
	if (!w->peer || w->stopping)
		return;
	if (w->answered)
		_trickle(w);
	else
		w->trickle_pending = true; /* after the POST's answer */
}

static void _attempt(struct _whip_s *w)
{
	char err[256], why[300];
	pthread_mutex_lock(&w->lock);
	w->attempts++;
	w->state = "posting";
	pthread_mutex_unlock(&w->lock);
	w->attempt_ns = cr_now_ns();
	w->offer.stream = w->stream_name;
	w->offer.fmtp = w->fmtp;
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(w->sink->stream);
	w->offer.audio_pt = cr_stream_audio(w->sink->stream) ? CR_RTP_OPUS_PT : -1;
	w->offer.audio_channels = sc->audio.channels;
	w->offer.audio_fec = sc->audio.fec;
	if (getrandom(&w->offer.session_id, sizeof(w->offer.session_id), 0) < 0)
		w->offer.session_id = (uint64_t)w->attempt_ns;
	w->offer.session_id >>= 2;
	struct cr_whip_peer_cbs_s cbs = {.keyframe = _on_keyframe, .state = _on_peer_state, .gathered = _on_gathered,
					 .opaque = w};
	w->peer = cr_whip_peer_new(w->base, w->dtls, &cbs, &w->offer, _OPTS(w->sink)->ice_servers,
				   _OPTS(w->sink)->n_ice_servers, err, sizeof(err));
	if (!w->peer) {
		snprintf(why, sizeof(why), "%s", err);
		_retry(w, why);
	} else {
		_post(w); /* gathering goes on: its candidates follow in a PATCH */
	}
}

static void _on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	_attempt(arg);
}

static void _drain(struct _whip_s *w)
{
	struct cr_packet_s *pkt;
	while (w->sub && (pkt = cr_sub_pop(w->sub, 0))) {
		bool key = pkt->flags & CR_PACKET_KEYFRAME;
		if (w->wait_key && !key) {
			cr_sub_unref_item(w->sub, pkt);
			continue;
		}
		w->wait_key = false;
		cr_whip_peer_send_frame(w->peer, pkt->data, pkt->size, (uint32_t)pkt->pts + w->ts_offset, key, pkt->width,
					pkt->height);
		cr_sub_sent(w->sub, pkt->ts_capture_ns);
		cr_sub_unref_item(w->sub, pkt);
	}
	struct cr_audio_ring_slot_s a;
	while (w->aring && cr_audio_ring_pop(w->aring, &a))
		cr_whip_peer_send_audio(w->peer, a.data, a.len, a.ts, a.talkspurt);
}

static void _on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(((struct _whip_s *)arg)->base);
}

static void _on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct _whip_s *w = arg;
	uint64_t n;
	(void)what;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: woken for nothing */
	}
	if (atomic_load(&w->stop) && !w->stopping) {
		w->stopping = true;
		_unsubscribe(w);
		event_del(w->retry_ev);
		cr_whip_peer_free(w->peer);
		w->peer = NULL;
		if (!w->session[0]) {
			event_base_loopbreak(w->base);
			return;
		}
		_delete_session(w, w->session); /* its answer, or 2 s, ends the loop */
		struct timeval tv = {2, 0};
		event_add(w->stop_ev, &tv);
		return;
	}
	if (w->peer)
		_drain(w);
}

static void _on_stats(evutil_socket_t fd, short what, void *arg)
{
	struct _whip_s *w = arg;
	(void)fd, (void)what;
	if (!w->peer)
		return;
	pthread_mutex_lock(&w->lock);
	_figures(w);
	pthread_mutex_unlock(&w->lock);
}

static void *_thread(void *arg)
{
	struct _whip_s *w = arg;
	_attempt(w);
	event_base_dispatch(w->base);
	_unsubscribe(w);
	cr_whip_peer_free(w->peer);
	w->peer = NULL;
	return NULL;
}

/* H.264's fmtp from the encoder's profile (constrained baseline 3.1 unless
 * the stream says otherwise); the others need none. */
static void _fmtp(struct _whip_s *w)
{
	w->fmtp[0] = 0;
	if (w->enc.codec == CR_CODEC_H264)
		snprintf(w->fmtp, sizeof(w->fmtp), "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%02x%02x%02x",
			 w->enc.profile_idc ? w->enc.profile_idc : 0x42,
			 w->enc.profile_idc ? w->enc.constraint_flags : 0xe0, w->enc.level_idc ? w->enc.level_idc : 0x1f);
}

static int _setup_loop(struct _whip_s *w)
{
	w->base = event_base_new();
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->base || w->efd < 0)
		return -ENOMEM;
	w->wake_ev = event_new(w->base, w->efd, EV_READ | EV_PERSIST, _on_wake, w);
	w->retry_ev = evtimer_new(w->base, _on_retry, w);
	w->teardown_ev = evtimer_new(w->base, _on_teardown, w);
	w->delete_ev = evtimer_new(w->base, _on_delete_ev, w);
	w->stop_ev = evtimer_new(w->base, _on_stop_timeout, w);
	w->trickle_ev = evtimer_new(w->base, _on_trickle_ev, w);
	w->stats_ev = event_new(w->base, -1, EV_PERSIST, _on_stats, w);
	struct timeval tv = {0, 250000};
	if (!w->wake_ev || !w->retry_ev || !w->teardown_ev || !w->delete_ev || !w->stop_ev || !w->stats_ev || !w->trickle_ev ||
	    event_add(w->wake_ev, NULL) < 0 || event_add(w->stats_ev, &tv) < 0)
		return -ENOMEM;
	w->http = cr_whip_http_new(w->base);
	return w->http ? 0 : -ENOMEM;
}

static void _free(struct _whip_s *w)
{
	struct event *evs[] = {w->wake_ev, w->retry_ev, w->teardown_ev, w->delete_ev, w->stop_ev, w->stats_ev, w->trickle_ev};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	cr_whip_http_free(w->http);
	if (w->base)
		event_base_free(w->base);
	if (w->efd >= 0)
		close(w->efd);
	cr_dtls_ctx_free(w->dtls);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static int _open(struct cr_sink_s *sink)
{
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(sink->stream);
	struct _whip_s *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(sink->error, sizeof(sink->error), "out of memory");
		return -ENOMEM;
	}
	w->sink = sink;
	w->stream_name = sc->name;
	w->efd = -1;
	w->state = "starting";
	w->backoff_s = _BACKOFF_MIN_S;
	pthread_mutex_init(&w->lock, NULL);
	cr_rtp_stream_encoder(sc, CR_CODEC_H264, &w->enc);
	if (!cr_rtp_supported(w->enc.codec)) {
		snprintf(sink->error, sizeof(sink->error), "whip sink (line %d): codec %s has no RTP payloader",
			 sink->cfg->line, cr_codec_name(w->enc.codec));
		_free(w);
		return -EINVAL;
	}
	const struct cr_output_cfg_s *o = &sc->sources[0].output;
	w->offer.codec = w->enc.codec;
	w->offer.pt = o->present && o->payload_type ? o->payload_type : 96;
	w->offer.rtx_pt = w->offer.pt == 127 ? 126 : w->offer.pt + 1;
	_fmtp(w);
	if (getrandom(&w->ts_offset, sizeof(w->ts_offset), 0) < 0)
		w->ts_offset = (uint32_t)rand();
	char err[200];
	if (!(w->dtls = cr_dtls_ctx_new(err, sizeof(err))) || _setup_loop(w) < 0) {
		snprintf(sink->error, sizeof(sink->error), "whip sink: %s", w->dtls ? "cannot set up its event loop" : err);
		_free(w);
		return -ENOMEM;
	}
	if (pthread_create(&w->thread, NULL, _thread, w) != 0) {
		snprintf(sink->error, sizeof(sink->error), "whip sink: cannot start its thread");
		_free(w);
		return -EAGAIN;
	}
	pthread_mutex_lock(&_reg_lock);
	w->next = _all;
	_all = w;
	pthread_mutex_unlock(&_reg_lock);
	sink->priv = w;
	CR_LOG_I(sc->name, "whip sink: publishing %s to %s", cr_codec_name(w->enc.codec), _OPTS(sink)->url);
	return 0;
}

static void _close(struct cr_sink_s *sink)
{
	struct _whip_s *w = sink->priv;
	if (!w)
		return;
	pthread_mutex_lock(&_reg_lock);
	for (struct _whip_s **p = &_all; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_mutex_unlock(&_reg_lock);
	atomic_store(&w->stop, true);
	_notify(w);
	pthread_join(w->thread, NULL);
	_free(w);
	sink->priv = NULL;
}

void cr_whip_foreach(void (*fn)(const struct cr_whip_info_s *, void *), void *opaque)
{
	pthread_mutex_lock(&_reg_lock);
	for (struct _whip_s *w = _all; w; w = w->next) {
		pthread_mutex_lock(&w->lock);
		struct cr_whip_info_s i = {.stream = w->stream_name, .url = _OPTS(w->sink)->url, .state = w->state,
					   .session = "", .last_error = w->last_error, .attempts = w->attempts,
					   .failures = w->failures, .publishes = w->publishes,
					   .backoff_s = w->backoff_s, .f = w->fig};
		fn(&i, opaque);
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_unlock(&_reg_lock);
}

/* Config keys: url, token, backoff_max_ms, and ice_servers in the shape
 * live777's config uses ({ urls = [...], username, credential }). */
static bool _ice_url_ok(const char *u)
{
	return strncmp(u, "stun:", 5) == 0 || strncmp(u, "turn:", 5) == 0;
}

static int _load_ice_server(struct cr_cfg_ctx_s *c, const struct cr_toml_s *e, const char *path,
			    struct cr_ice_server_cfg_s *s)
{
	static const char *const keys[] = {"urls", "username", "credential", NULL};
	const struct cr_toml_s *urls = NULL;
	char sub[CR_CFG_PATH];
	int rc;
	if ((rc = cr_cfg_check_keys(c, e, path, keys)) < 0 ||
	    (rc = cr_cfg_get_str(c, e, path, "username", s->username, sizeof(s->username), NULL)) < 0 ||
	    (rc = cr_cfg_get_str(c, e, path, "credential", s->credential, sizeof(s->credential), NULL)) < 0)
		return rc;
	urls = cr_toml_get(e, "urls");
	if (!urls)
		return cr_cfg_missing(c, e, path, "urls", " (e.g. urls = [\"stun:stun.example:3478\"])");
	cr_cfg_sub(sub, sizeof(sub), path, "urls");
	/* One string or an array of them, as in the browser's RTCIceServer. */
	size_t n = cr_toml_type(urls) == CR_TOML_STRING ? 1 : cr_toml_len(urls);
	if (cr_toml_type(urls) != CR_TOML_STRING && cr_toml_type(urls) != CR_TOML_ARRAY)
		return cr_cfg_wrong_type(c, urls, sub, "an array of \"stun:...\" / \"turn:...\" strings");
	if (n == 0 || n > CR_MAX_ICE_URLS)
		return CR_CFG_FAIL(c, urls, sub, "expected 1 to %d URLs, got %zu", CR_MAX_ICE_URLS, n);
	for (size_t i = 0; i < n; i++) {
		const struct cr_toml_s *u = cr_toml_type(urls) == CR_TOML_STRING ? urls : cr_toml_at(urls, i);
		size_t len;
		if (cr_toml_type(u) != CR_TOML_STRING)
			return cr_cfg_wrong_type(c, u, sub, "a \"stun:...\" or \"turn:...\" string");
		const char *v = cr_toml_str(u, &len);
		if (len != strlen(v) || len >= sizeof(s->urls[0]) || !_ice_url_ok(v))
			return CR_CFG_FAIL(c, u, sub, "bad ICE server URL \"%.80s\" (allowed: stun:host[:port], "
					   "turn:host[:port][?transport=udp])", v);
		if (strncmp(v, "turn:", 5) == 0 && (!s->username[0] || !s->credential[0]))
			return CR_CFG_FAIL(c, u, sub, "a TURN server needs username and credential");
		snprintf(s->urls[i], sizeof(s->urls[i]), "%s", v);
	}
	s->n_urls = (int)n;
	return 0;
}

static int _load_ice_servers(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			     const struct cr_option_s *o, void *block)
{
	struct cr_whip_opts_s *sink = block;
	const struct cr_toml_s *arr = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_get_table_array(c, t, path, o->key, CR_MAX_ICE_SERVERS, &arr);
	for (size_t i = 0; rc > 0 && arr && i < cr_toml_len(arr); i++) {
		cr_cfg_item(sub, sizeof(sub), path, o->key, i);
		if ((rc = _load_ice_server(c, cr_toml_at(arr, i), sub, &sink->ice_servers[i])) < 0)
			return rc;
		sink->n_ice_servers = (int)i + 1;
		rc = 1;
	}
	return rc;
}

static int _load_url(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		     const struct cr_option_s *o, void *block)
{
	struct cr_whip_opts_s *sink = block;
	const struct cr_toml_s *url = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_get_str(c, t, path, o->key, sink->url, sizeof(sink->url), &url);
	if (rc <= 0)
		return rc;
	const char *host = strncmp(sink->url, "http://", 7) == 0 ? sink->url + 7
			   : strncmp(sink->url, "https://", 8) == 0 ? sink->url + 8 : NULL;
	if (!host || !*host || *host == '/')
		return CR_CFG_FAIL(c, url, cr_cfg_sub(sub, sizeof(sub), path, o->key),
				   "expected an http:// or https:// URL with a host, got \"%.80s\"", sink->url);
	return rc;
}

static int _load_token(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		       const struct cr_option_s *o, void *block)
{
	struct cr_whip_opts_s *sink = block;
	const struct cr_toml_s *v = NULL;
	char sub[CR_CFG_PATH];
	int rc = cr_cfg_get_str(c, t, path, o->key, sink->token, sizeof(sink->token), &v);
	for (const char *p = sink->token; rc > 0 && *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, o->key),
					   "a bearer token has no spaces or control characters");
	return rc;
}

#define _OFF(f) .offset = offsetof(struct cr_whip_opts_s, f), .size = sizeof(((struct cr_whip_opts_s *)0)->f)
static const struct cr_option_s _options[] = {
	{.key = "url", .type = CR_OPT_CUSTOM, _OFF(url), .load = _load_url,
	 .required = " (a whip sink posts to http(s)://host/whip/...)", .help = "the WHIP endpoint"},
	{.key = "token", .type = CR_OPT_CUSTOM, _OFF(token), .load = _load_token,
	 .help = "sent as Authorization: Bearer"},
	{.key = "backoff_max_ms", .type = CR_OPT_INT, .offset = offsetof(struct cr_whip_opts_s, backoff_max_ms),
	 .def = 8000, .min = 250, .max = 600000, .help = "longest wait between attempts"},
	{.key = "ice_servers", .type = CR_OPT_CUSTOM, _OFF(ice_servers), .load = _load_ice_servers,
	 .help = "STUN/TURN servers (live777's shape)"},
	CR_OPTS_END,
};

static const struct cr_sink_caps_s _caps = {.codecs = cr_rtp_codecs, .audio = CR_AUDIO_TAKES_OPUS};

const struct cr_sink_ops_s cr_sink_whip = {
	.name = "whip",
	.type = CR_SINK_WHIP,
	.options = _options,
	.opts_size = sizeof(struct cr_whip_opts_s),
	.caps = &_caps,
	.open = _open,
	.close = _close,
};
