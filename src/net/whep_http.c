/* WHEP signalling over HTTP (POST offer / PATCH / DELETE / OPTIONS with
 * CORS), /api/webrtc, the /metrics lines; see whep.h. (/sdp/<stream> is the
 * RTP sink's, served by net/http_sdp.c.) */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/stream.h"
#include "encode/encoder.h"
#include "net/crypto.h"
#include "net/http_access.h"
#include "net/http_conn.h"
#include "net/limits.h"
#include "net/sdp.h"
#include "net/whep_priv.h"

void cr_whep_http_reply(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
{
	struct evbuffer *b = evbuffer_new();
	if (b && fmt) {
		va_list ap;
		va_start(ap, fmt);
		evbuffer_add_vprintf(b, fmt, ap);
		va_end(ap);
		evbuffer_add(b, "\n", 1);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "text/plain; charset=utf-8");
	}
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

static void _on_session(struct evhttp_request *req, void *arg);

static void _body(struct evhttp_request *req, char **text, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	*len = evbuffer_get_length(in);
	*text = (char *)evbuffer_pullup(in, -1);
}

static bool _content_type(struct evhttp_request *req, const char *want)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	return ct && strncasecmp(ct, want, strlen(want)) == 0;
}

const enum cr_codec_e *cr_whep_codecs(void)
{
	static const enum cr_codec_e codecs[] = {CR_CODEC_H264, CR_CODEC_VP8, CR_CODEC_VP9, CR_CODEC_AV1,
						 CR_CODEC_NONE};
	return codecs;
}

/* The codecs stream may be served in over WebRTC, in order of preference:
 * [stream.X] webrtc_codecs, else the configured encoder's codec plus one
 * fallback every browser decodes (H.264, or VP8 when that is the encoder's).
 * So a viewer can never start more than two encoders per stream by what it
 * offers (AV1 in software is the costliest). */
static int _allowed_codecs(const struct cr_stream_cfg_s *sc, enum cr_codec_e out[4])
{
	struct cr_encoder_cfg_s e;
	if (sc->n_webrtc_codecs > 0) {
		memcpy(out, sc->webrtc_codecs, sizeof(sc->webrtc_codecs[0]) * (size_t)sc->n_webrtc_codecs);
		return sc->n_webrtc_codecs;
	}
	if (!cr_rtp_stream_encoder(sc, CR_CODEC_H264, &e)) {
		out[0] = CR_CODEC_H264;
		out[1] = CR_CODEC_VP8;
		return 2;
	}
	out[0] = e.codec;
	out[1] = e.codec == CR_CODEC_H264 ? CR_CODEC_VP8 : CR_CODEC_H264;
	return 2;
}

static int _negotiate(struct cr_whep_s *w, int stream, const struct cr_sdp_media_s *m,
		      struct cr_encoder_cfg_s *enc, char *fmtp, size_t fmtp_len, int *rtx_pt)
{
	static const struct cr_stream_cfg_s no_encoder; /* gives the software settings */
	const struct cr_stream_cfg_s *sc = cr_stream_cfg(w->streams[stream]);
	enum cr_codec_e codecs[4];
	int n = _allowed_codecs(sc, codecs);
	for (int i = 0; i < n; i++) {
		/* The configured encoder for its codec, the software one otherwise. */
		if (!cr_rtp_stream_encoder(sc, codecs[i], enc) || enc->codec != codecs[i])
			cr_rtp_stream_encoder(&no_encoder, codecs[i], enc);
		if (!cr_encoder_find(enc->backend, enc->codec))
			continue;
		struct cr_sdp_want_s want = {enc->codec, enc->profile_idc, enc->constraint_flags};
		int idx = cr_sdp_match(m, &want, fmtp, fmtp_len, rtx_pt);
		if (idx >= 0)
			return m->fmts[idx].pt;
	}
	return -1;
}

/* [limits] on sessions: in total, per stream, per client address (pending
 * ones count too; they expire after whep_pending_timeout). */
static bool _within_limits(struct cr_whep_s *w, struct evhttp_request *req, int stream, char *peer, size_t n)
{
	const struct cr_limits_cfg_s *l = &w->cfg->limits;
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;
	if (c)
		evhttp_connection_get_peer(c, &addr, &port);
	snprintf(peer, n, "%s", addr ? addr : "?");
	int on_stream = 0, from_peer = 0;
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next) {
		on_stream += v->stream == stream;
		from_peer += strcmp(v->peer, peer) == 0;
	}
	char msg[160];
	enum cr_limit_e hit = CR_LIMIT_COUNT;
	if (from_peer >= cr_limit(l, CR_LIMIT_WHEP_PER_IP))
		hit = CR_LIMIT_WHEP_PER_IP;
	else if (on_stream >= cr_limit(l, CR_LIMIT_WHEP_PER_STREAM))
		hit = CR_LIMIT_WHEP_PER_STREAM;
	else if ((int)w->stats.sessions_active >= cr_limit(l, CR_LIMIT_WHEP_SESSIONS))
		hit = CR_LIMIT_WHEP_SESSIONS;
	if (hit == CR_LIMIT_COUNT)
		return true;
	snprintf(msg, sizeof(msg), "%d WebRTC sessions %s already; try again later", cr_limit(l, hit),
		 hit == CR_LIMIT_WHEP_PER_IP ? "from this address" : hit == CR_LIMIT_WHEP_PER_STREAM ? "of this stream" : "");
	cr_limit_reply(req, hit, msg);
	return false;
}

/* The offer's data channel section (m=application ... webrtc-datachannel),
 * when it may be bridged: the stream has a datachannel, the section has the
 * video's DTLS certificate (the answer bundles it with the video, whose ICE
 * credentials then serve both) and the caller has the control right.
 * Otherwise -1, with *refusal saying why when a section was offered (the
 * answer then rejects it with port 0, as today). */
static int _dc_section(struct cr_whep_s *w, struct evhttp_request *req, int stream,
		       const struct cr_sdp_offer_s *o, const struct cr_sdp_media_s *video, const char **refusal)
{
	int dci = -1;
	for (int i = 0; i < o->n_media && dci < 0; i++)
		if (strcmp(o->media[i].type, "application") == 0 && o->media[i].port != 0 &&
		    strstr(o->media[i].proto, "SCTP") &&
		    (strcmp(o->media[i].first_fmt, "webrtc-datachannel") == 0 || o->media[i].sctpmap))
			dci = i;
	if (dci < 0)
		return -1;
	const struct cr_sdp_media_s *d = &o->media[dci];
	unsigned rights = 0;
	if (!cr_dc_config(w->dc, stream))
		*refusal = "refused: this stream has no datachannel";
	else if (strcasecmp(d->fingerprint, video->fingerprint) != 0) /* one DTLS association for both */
		*refusal = "refused: the data channel section is not bundled with the video";
	else if (cr_http_rights(w->cfg, req, cr_stream_name(w->streams[stream]), &rights) < 0 ||
		 !(rights & CR_RIGHT_CONTROL))
		*refusal = "refused: the bridge needs the control right";
	return *refusal ? -1 : dci;
}

static void _whep_post(struct cr_whep_s *w, struct evhttp_request *req, int stream)
{
	const char *sname = cr_stream_name(w->streams[stream]);
	if (!_content_type(req, "application/sdp")) {
		cr_whep_http_reply(req, 415, "Unsupported Media Type",
		       "POST /whep/%s takes an SDP offer with Content-Type: application/sdp", sname);
		return;
	}
	char *text;
	size_t len;
	_body(req, &text, &len);
	static struct cr_sdp_offer_s offer; /* large; the loop is single-threaded */
	char err[256];
	if (cr_sdp_parse_offer(text ? text : "", text ? len : 0, &offer, err, sizeof(err)) < 0) {
		cr_whep_http_reply(req, 400, "Bad Request", "%s", err);
		return;
	}
	int mi = -1;
	for (int i = 0; i < offer.n_media && mi < 0; i++)
		if (strcmp(offer.media[i].type, "video") == 0 && offer.media[i].port != 0 &&
		    strcmp(offer.media[i].direction, "sendonly") != 0 &&
		    strcmp(offer.media[i].direction, "inactive") != 0)
			mi = i;
	if (mi < 0) {
		cr_whep_http_reply(req, 400, "Bad Request", "the offer has no video section that can receive (m=video, recvonly or sendrecv)");
		return;
	}
	const struct cr_sdp_media_s *m = &offer.media[mi];
	if (!m->ufrag[0] || !m->pwd[0]) {
		cr_whep_http_reply(req, 400, "Bad Request", "the offer has no a=ice-ufrag / a=ice-pwd");
		return;
	}
	if (!m->fingerprint[0]) {
		cr_whep_http_reply(req, 400, "Bad Request", "the offer has no a=fingerprint (DTLS-SRTP is required)");
		return;
	}
	/* DTLS, SRTP and SCTP are the crypto module's (net/crypto.h), loaded by
	 * the first offer: without it no session can be made. */
	char kerr[1024];
	if (!cr_crypto_load(kerr, sizeof(kerr))) {
		CR_LOG_E("whep", "%s", kerr);
		cr_whep_http_reply(req, 503, "Service Unavailable", "%s", kerr);
		return;
	}
	if (!cr_dtls_fp_alg_known(m->fp_alg)) {
		cr_whep_http_reply(req, 400, "Bad Request",
				   "a=fingerprint uses hash \"%.16s\"; this server checks sha-1, sha-224, sha-256, "
				   "sha-384 and sha-512", m->fp_alg);
		return;
	}
	if (strcmp(m->setup, "passive") == 0) {
		cr_whep_http_reply(req, 400, "Bad Request", "the offer says a=setup:passive; this server is passive too (use actpass or active)");
		return;
	}
	if (!strstr(m->proto, "SAVPF")) {
		cr_whep_http_reply(req, 400, "Bad Request", "the video section's protocol is %s; WebRTC needs UDP/TLS/RTP/SAVPF", m->proto);
		return;
	}
	const char *dc_refusal = NULL;
	int dci = _dc_section(w, req, stream, &offer, m, &dc_refusal);
	char peer[64];
	if (!_within_limits(w, req, stream, peer, sizeof(peer)))
		return;
	struct cr_whep_viewer_s *v = calloc(1, sizeof(*v));
	if (!v) {
		cr_whep_http_reply(req, 503, "Service Unavailable", "out of memory");
		return;
	}
	char fmtp[256] = "";
	v->rtx_pt = -1;
	v->pt = _negotiate(w, stream, m, &v->enc, fmtp, sizeof(fmtp), &v->rtx_pt);
	if (v->pt < 0) {
		char offered[200] = "";
		size_t o = 0;
		for (int i = 0; i < m->n_fmts && o + 20 < sizeof(offered); i++)
			if (m->fmts[i].name[0] && !strstr(offered, m->fmts[i].name))
				o += (size_t)snprintf(offered + o, sizeof(offered) - o, "%s%s", o ? " " : "",
						      m->fmts[i].name);
		enum cr_codec_e codecs[4];
		char allowed[64] = "";
		int n = _allowed_codecs(cr_stream_cfg(w->streams[stream]), codecs);
		for (int i = 0, k = 0; i < n; i++)
			k += snprintf(allowed + k, sizeof(allowed) - (size_t)k, "%s%s", i ? ", " : "",
				      cr_codec_name(codecs[i]));
		cr_whep_http_reply(req, 400, "Bad Request",
		       "no codec in common: stream %s is served in %s (webrtc_codecs), the offer has %s", sname,
		       allowed, offered[0] ? offered : "no video formats");
		free(v);
		return;
	}
	if (!cr_encoder_find(v->enc.backend, v->enc.codec)) {
		cr_whep_http_reply(req, 503, "Service Unavailable",
				   "stream %s: no %s encoder \"%s\" in this build (camrelay --version lists them)",
				   sname, cr_codec_name(v->enc.codec), v->enc.backend);
		free(v);
		return;
	}
	v->w = w;
	v->stream = stream;
	snprintf(v->peer, sizeof(v->peer), "%s", peer);
	v->created_ns = cr_now_ns();
	v->info.rtt_ms = -1;
	/* The session URL's id is its owner's key (DELETE, PATCH): 190 random
	 * bits, never shown elsewhere; v->id is the public name in the API,
	 * /metrics and logs. */
	cr_whep_random_text(v->id, 9);
	cr_whep_random_text(v->secret, sizeof(v->secret));
	cr_whep_random_text(v->ufrag, 9);
	cr_whep_random_text(v->pwd, 25);
	snprintf(v->remote_ufrag, sizeof(v->remote_ufrag), "%s", m->ufrag);
	snprintf(v->remote_pwd, sizeof(v->remote_pwd), "%s", m->pwd);
	v->dest = -1;
	snprintf(v->path, sizeof(v->path), "/session/%s/%s", sname, v->secret);
	snprintf(v->name, sizeof(v->name), "whep %s", v->id);
	snprintf(v->info.id, sizeof(v->info.id), "%s", v->id);
	snprintf(v->info.stream, sizeof(v->info.stream), "%s", sname);
	v->info.codec = cr_codec_name(v->enc.codec);
	v->rtp = (struct cr_whep_out_s){.pt = (uint8_t)v->pt, .ssrc = cr_whep_random32(),
					.seq = (uint16_t)cr_whep_random32()};
	v->ts_offset = cr_whep_random32();
	v->rtx_ssrc = cr_whep_random32();
	v->rtx_seq = (uint16_t)cr_whep_random32();
	int apt = -1, ami = cr_whep_audio_pick(&offer, w->streams[stream], &apt);
	if (ami >= 0 && cr_whep_audio_new(v, apt) < 0)
		ami = -1;
	char talk_why[320];
	const char *talk = ami >= 0 ? cr_whep_audio_talk(v, req, &offer.media[ami], talk_why, sizeof(talk_why)) : NULL;
	/* The DTLS certificate is made for the first viewer, not at start: a
	 * camrelay nobody watches over WebRTC keeps OpenSSL's key generation and
	 * signing out of its resident memory (issue 20, item 3). */
	char dtls_err[256];
	if (!w->dtls && !(w->dtls = cr_dtls_ctx_new(dtls_err, sizeof(dtls_err))))
		CR_LOG_E("whep", "%s", dtls_err);
	v->dtls = w->dtls ? cr_dtls_new(w->dtls, m->fp_alg, m->fingerprint, cr_whep_dtls_send, v) : NULL;
	if (dci >= 0 && v->dtls) {
		v->dc = cr_dc_peer_new(w->dc, stream, v->id, (uint16_t)offer.media[dci].sctp_port,
				       offer.media[dci].max_message_size, cr_whep_dc_out, v);
		cr_dtls_set_app(v->dtls, cr_whep_dc_in, v);
	}
	const char *cands[CR_MAX_CANDIDATES * 2];
	for (int i = 0; i < w->n_candidates; i++)
		cands[i] = w->candidates[i];
	struct cr_sdp_answer_s a = {
		.media = mi, .pt = v->pt, .rtx_pt = v->rtx_pt, .codec = v->enc.codec, .fmtp = fmtp,
		.ssrc = v->rtp.ssrc, .rtx_ssrc = v->rtx_ssrc, .ufrag = v->ufrag, .pwd = v->pwd,
		.fingerprint = w->dtls ? cr_dtls_fingerprint(w->dtls) : "", .stream = sname,
		.session_id = ((uint64_t)cr_whep_random32() << 20) ^ cr_whep_random32(), .candidates = cands,
		.n_candidates = w->n_candidates, .port = w->port, .audio = ami >= 0, .audio_media = ami,
		.audio_pt = apt, .audio_ssrc = cr_whep_audio_ssrc(v),
		.audio_channels = cr_stream_cfg(w->streams[stream])->audio.channels, .audio_recv = v->info.talking,
		.has_dc = v->dc != NULL, .dc_media = dci, .sctp_port = 5000,
		.max_message_size = v->dc ? cr_dc_config(w->dc, stream)->max_message_size : 0};
	cr_whep_cc_new(v, m, &a);
	char *answer = malloc(16384);
	int alen = answer ? cr_sdp_build_answer(&offer, &a, answer, 16384) : -ENOMEM;
	if (!v->dtls || alen < 0 || evhttp_set_cb(w->http, v->path, _on_session, v) != 0) {
		cr_whep_http_reply(req, 500, "Internal Server Error", "cannot create the session");
		cr_dc_peer_free(v->dc);
		cr_dtls_free(v->dtls);
		cr_whep_audio_free(v);
		cr_whep_cc_free(v);
		free(answer);
		free(v);
		return;
	}
	v->next = w->viewers;
	w->viewers = v;
	w->stats.sessions_total++;
	w->stats.sessions_active++;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "application/sdp");
	evhttp_add_header(h, "Location", v->path);
	evhttp_add_header(h, "X-Viewer-Id", v->id); /* its public name in /api/webrtc */
	evhttp_add_header(h, "Accept-Patch", "application/trickle-ice-sdpfrag");
	if (dci >= 0 || dc_refusal)
		evhttp_add_header(h, "X-DataChannel", v->dc ? "bridged" : dc_refusal ? dc_refusal : "refused");
	if (talk)
		evhttp_add_header(h, "X-Talkback", talk);
	char etag[48];
	snprintf(etag, sizeof(etag), "\"%s\"", v->secret);
	evhttp_add_header(h, "ETag", etag);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, answer, (size_t)alen);
	evhttp_send_reply(req, 201, "Created", b);
	evbuffer_free(b);
	free(answer);
	CR_LOG_I("whep", "viewer %s of stream %s: answered (%s, payload type %d%s%s%s)", v->id, sname,
		 cr_codec_name(v->enc.codec), v->pt, v->rtx_pt >= 0 ? ", rtx" : "", v->audio ? ", Opus audio" : "",
		 v->info.talking ? ", talk-back" : "");
}

/* Host check, CORS for configured origins, and (except for pre-flights,
 * which carry no credentials) the right on the stream. */
static bool _door(struct cr_whep_s *w, struct evhttp_request *req, int stream, unsigned need)
{
	if (cr_http_conn_dispatched(NULL, req, false))
		return false; /* over a connection cap: answered */
	if (!cr_http_host_ok(w->cfg, req))
		return false;
	cr_http_cors(w->cfg, req);
	if (stream >= 0 && cr_stream_removed(w->streams[stream])) {
		cr_whep_http_reply(req, 404, "Not Found", "stream \"%s\" was removed from the config",
				   cr_stream_name(w->streams[stream]));
		return false;
	}
	return evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS ||
	       cr_http_allowed(w->cfg, req, stream >= 0 ? cr_stream_name(w->streams[stream]) : NULL, need);
}

static void _on_whep(struct evhttp_request *req, void *arg)
{
	struct cr_whep_route_s *r = arg;
	if (!_door(r->w, req, r->stream, CR_RIGHT_VIEW))
		return;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_OPTIONS:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Accept-Post", "application/sdp");
		cr_whep_http_reply(req, 204, "No Content", NULL);
		break;
	case EVHTTP_REQ_POST:
		_whep_post(r->w, req, r->stream);
		break;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST, OPTIONS");
		cr_whep_http_reply(req, 405, "Method Not Allowed", "use POST with an SDP offer");
	}
}

static void _on_session(struct evhttp_request *req, void *arg)
{
	struct cr_whep_viewer_s *v = arg;
	/* The URL is the owner's key; with [auth] its credentials must hold too. */
	if (!_door(v->w, req, v->stream, CR_RIGHT_VIEW))
		return;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_OPTIONS:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Accept-Patch",
				  "application/trickle-ice-sdpfrag");
		cr_whep_http_reply(req, 204, "No Content", NULL);
		break;
	case EVHTTP_REQ_DELETE:
		CR_LOG_I("whep", "viewer %s: session deleted by the client", v->id);
		cr_whep_http_reply(req, 200, "OK", NULL);
		cr_whep_viewer_close(v);
		break;
	case EVHTTP_REQ_PATCH: {
		if (!_content_type(req, "application/trickle-ice-sdpfrag")) {
			cr_whep_http_reply(req, 415, "Unsupported Media Type",
			       "PATCH takes application/trickle-ice-sdpfrag");
			break;
		}
		/* ICE-lite: the client's candidates are learnt from its STUN
		 * requests, so trickled ones are accepted and need no action. An
		 * ICE restart (new credentials) is not supported. */
		char *text;
		size_t len;
		_body(req, &text, &len);
		char frag[64];
		bool restart = false;
		for (size_t i = 0; text && i + 12 < len; i++)
			if (memcmp(text + i, "a=ice-ufrag:", 12) == 0) {
				size_t k = 0;
				i += 12;
				while (i < len && k + 1 < sizeof(frag) && text[i] != '\r' && text[i] != '\n')
					frag[k++] = text[i++];
				frag[k] = 0;
				restart = strcmp(frag, v->remote_ufrag) != 0;
				break;
			}
		if (restart)
			cr_whep_http_reply(req, 422, "Unprocessable Content", "ICE restarts are not supported; start a new session");
		else
			cr_whep_http_reply(req, 204, "No Content", NULL);
		break;
	}
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
				  "PATCH, DELETE, OPTIONS");
		cr_whep_http_reply(req, 405, "Method Not Allowed", "use DELETE to end the session");
	}
}

static const char *_state_name(enum cr_whep_state_e s)
{
	return s == CR_WHEP_SENDING ? "sending" : s == CR_WHEP_DTLS ? "dtls" : "connecting";
}

void cr_whep_foreach_viewer(struct cr_whep_s *w,
			    void (*fn)(const struct cr_whep_viewer_info_s *, void *), void *opaque)
{
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next) {
		v->info.state = _state_name(v->state);
		v->info.has_dc = v->dc != NULL;
		if (v->dc)
			cr_dc_peer_stats(v->dc, &v->info.dc);
		fn(&v->info, opaque);
	}
}

static struct cr_whep_viewer_s *_by_public_id(struct cr_whep_s *w, const char *id)
{
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		if (strcmp(v->id, id) == 0)
			return v;
	return NULL;
}

int cr_whep_viewer_stream(struct cr_whep_s *w, const char *id)
{
	struct cr_whep_viewer_s *v = w ? _by_public_id(w, id) : NULL;
	return v ? v->stream : -1;
}

bool cr_whep_viewer_end(struct cr_whep_s *w, const char *id, const char *why)
{
	struct cr_whep_viewer_s *v = w ? _by_public_id(w, id) : NULL;
	if (!v)
		return false;
	CR_LOG_I("whep", "viewer %s of stream %s: session ended %s", v->id, v->info.stream, why);
	cr_whep_viewer_close(v);
	return true;
}

void cr_whep_stats(struct cr_whep_s *w, struct cr_whep_stats_s *out) { *out = w->stats; }

bool cr_whep_dc_stats(struct cr_whep_s *w, const char *stream, struct cr_dc_stats_s *out)
{
	for (int i = 0; w && i < w->n_streams; i++)
		if (strcmp(cr_stream_name(w->streams[i]), stream) == 0 && cr_dc_config(w->dc, i)) {
			cr_dc_stream_stats(w->dc, i, out);
			return true;
		}
	return false;
}

json_t *cr_whep_dc_json(const struct cr_dc_stats_s *s, bool per_viewer)
{
	json_t *j = json_object();
	const struct {
		const char *name;
		uint64_t v;
		bool stream_only;
	} f[] = {
		{"udp_in", s->udp_in, true}, {"udp_in_bytes", s->udp_in_bytes, true},
		{"udp_out", s->udp_out, true}, {"udp_out_bytes", s->udp_out_bytes, true},
		{"to_viewers", s->to_viewers, false}, {"to_viewers_bytes", s->to_viewers_bytes, false},
		{"from_viewers", s->from_viewers, false}, {"from_viewers_bytes", s->from_viewers_bytes, false},
		{"dropped_full", s->dropped_full, false}, {"oversized", s->oversized, false},
		{"rate_limited", s->rate_limited, false}, {"no_target", s->no_target, false},
		{"udp_errors", s->udp_errors, false}, {"channels_opened", s->channels_opened, false},
		{"channels_refused", s->channels_refused, false}, {"dcep_bad", s->dcep_bad, false},
		{"sctp_rejected", s->sctp_rejected, false}, {"channels_open", s->channels_open, false},
		{"viewers", s->viewers, true}, {"delay_count", s->delay_count, false},
		{"delay_le_10ms", s->delay_le_10ms, false}, {"delay_le_100ms", s->delay_le_100ms, false},
		{"delay_le_1s", s->delay_le_1s, false}, {"delay_max_ms", s->delay_max_ms, false},
		{"delay_sum_us", s->delay_sum_us, false}, {"window_waits", s->window_waits, false},
		{"handed_le_100ms", s->handed_le_100ms, false},
		{"read_waits_over_100ms", s->read_waits_over_100ms, true}, {"read_wait_max_ms", s->read_wait_max_ms, true},
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!(per_viewer && f[i].stream_only))
			json_object_set_new(j, f[i].name, json_integer((json_int_t)f[i].v));
	if (!per_viewer)
		return j;
	json_object_set_new(j, "up", json_boolean(s->viewers != 0));
	json_object_set_new(j, "abandoned", json_integer((json_int_t)s->abandoned));
	static const char *const rel[] = {"reliable", "max_retransmits", "max_lifetime_ms"};
	json_t *chans = json_array();
	for (int i = 0; i < s->n_channels; i++) {
		const struct cr_dc_chan_info_s *c = &s->channels[i];
		json_array_append_new(chans, json_pack("{s:i, s:b, s:s, s:I, s:I}", "sid", c->sid, "ordered", c->ordered,
						       "reliability", rel[c->reliability < 3 ? c->reliability : 0],
						       "reliability_param", (json_int_t)c->reliability_param,
						       "abandoned", (json_int_t)c->abandoned));
	}
	json_object_set_new(j, "channels", chans);
	return j;
}

void cr_whep_metrics(struct cr_whep_s *w, struct evbuffer *out)
{
	const struct cr_whep_stats_s *s = &w->stats;
	evbuffer_add_printf(out,
			    "camrelay_webrtc_sessions_total %llu\ncamrelay_webrtc_sessions_active %llu\n"
			    "camrelay_webrtc_sessions_timed_out_total %llu\n"
			    "camrelay_webrtc_packets_sent_total %llu\ncamrelay_webrtc_bytes_sent_total %llu\n"
			    "camrelay_webrtc_retransmits_total %llu\ncamrelay_webrtc_nacks_total %llu\n"
			    "camrelay_webrtc_retransmits_refused_total %llu\ncamrelay_webrtc_retransmit_bytes_total %llu\n"
			    "camrelay_webrtc_sessions_pending_expired_total %llu\n"
			    "camrelay_webrtc_plis_total %llu\ncamrelay_webrtc_firs_total %llu\n"
			    "camrelay_webrtc_keyframes_requested_total %llu\n"
			    "camrelay_webrtc_stun_rejected_total %llu\ncamrelay_webrtc_dtls_failed_total %llu\n"
			    "camrelay_webrtc_udp_garbage_total %llu\n",
			    (unsigned long long)s->sessions_total, (unsigned long long)s->sessions_active,
			    (unsigned long long)s->sessions_timed_out, (unsigned long long)s->packets_sent,
			    (unsigned long long)s->bytes_sent, (unsigned long long)s->retransmits,
			    (unsigned long long)s->nacks, (unsigned long long)s->retransmits_refused,
			    (unsigned long long)s->retransmit_bytes, (unsigned long long)s->sessions_pending_expired,
			    (unsigned long long)s->plis,
			    (unsigned long long)s->firs, (unsigned long long)s->keyframes_requested,
			    (unsigned long long)s->stun_bad, (unsigned long long)s->dtls_failed,
			    (unsigned long long)s->udp_garbage);
	cr_whep_send_metrics(w, out);
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		evbuffer_add_printf(out,
				    "camrelay_webrtc_viewer_packets_sent{stream=\"%s\",id=\"%s\"} %llu\n"
				    "camrelay_webrtc_viewer_fraction_lost{stream=\"%s\",id=\"%s\"} %.4f\n"
				    "camrelay_webrtc_viewer_jitter_ms{stream=\"%s\",id=\"%s\"} %.2f\n"
				    "camrelay_webrtc_viewer_rtt_ms{stream=\"%s\",id=\"%s\"} %.2f\n",
				    v->info.stream, v->id, (unsigned long long)v->info.packets_sent,
				    v->info.stream, v->id, v->info.fraction_lost, v->info.stream, v->id,
				    v->info.jitter_ms, v->info.stream, v->id, v->info.rtt_ms);
	cr_dc_metrics(w->dc, out);
	cr_whep_audio_talk_metrics(w, out);
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next) {
		struct cr_dc_stats_s d;
		if (!v->dc)
			continue;
		cr_dc_peer_stats(v->dc, &d);
		evbuffer_add_printf(out,
				    "camrelay_datachannel_viewer_to_viewer_total{stream=\"%s\",id=\"%s\"} %llu\n"
				    "camrelay_datachannel_viewer_from_viewer_total{stream=\"%s\",id=\"%s\"} %llu\n"
				    "camrelay_datachannel_viewer_dropped_total{stream=\"%s\",id=\"%s\"} %llu\n",
				    v->info.stream, v->id, (unsigned long long)d.to_viewers, v->info.stream, v->id,
				    (unsigned long long)d.from_viewers, v->info.stream, v->id,
				    (unsigned long long)(d.dropped_full + d.oversized + d.rate_limited));
	}
}

struct _api_ctx_s {
	struct cr_whep_s *w;
	json_t *arr;
};

static json_t *_bwe_json(const struct cr_whep_bwe_info_s *b)
{
	if (!b->active)
		return json_null();
	json_t *o = json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:s, s:I, s:I, s:I, s:I, s:b, s:I, s:I}",
			 "transport_cc", b->transport_cc, "remb", b->remb, "estimate_bps", (json_int_t)b->estimate_bps,
			 "delay_bps", (json_int_t)b->delay_bps, "loss_bps", (json_int_t)b->loss_bps, "remb_bps",
			 (json_int_t)b->remb_bps, "acked_bps", (json_int_t)b->acked_bps, "loss", b->loss, "trend",
			 b->trend, "threshold_ms", b->threshold_ms, "usage", b->usage ? b->usage : "normal",
			 "feedbacks", (json_int_t)b->feedbacks, "overuses", (json_int_t)b->overuses, "packets_acked",
			 (json_int_t)b->packets_acked, "packets_lost", (json_int_t)b->packets_lost, "keyframes_only",
			 b->keyframes_only, "frames_skipped", (json_int_t)b->frames_skipped, "keyframe_demands",
			 (json_int_t)b->keyframe_demands);
	if (o) {
		json_object_set_new(o, "pacer_queued", json_integer(b->pacer_queued));
		json_object_set_new(o, "pacer_drops", json_integer((json_int_t)b->pacer_drops));
	}
	return o;
}

static void _add_viewer_json(const struct cr_whep_viewer_info_s *i, void *opaque)
{
	struct _api_ctx_s *ctx = opaque;
	json_t *g = ctx->w->g2g ? ctx->w->g2g(ctx->w->g2g_opaque, i->stream, i->id) : NULL;
	json_t *j =
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:f, s:f}",
			  "id", i->id, "stream", i->stream, "remote", i->remote, "state", i->state,
			  "codec", i->codec, "packets_sent", (json_int_t)i->packets_sent, "bytes_sent",
			  (json_int_t)i->bytes_sent, "frames_sent", (json_int_t)i->frames_sent,
			  "keyframes_sent", (json_int_t)i->keyframes_sent,
			  "frames_dropped", (json_int_t)i->frames_dropped, "nacks", (json_int_t)i->nacks,
			  "retransmits", (json_int_t)i->retransmits, "plis", (json_int_t)i->plis, "firs",
			  (json_int_t)i->firs, "keyframes_requested", (json_int_t)i->keyframes_requested,
			  "fraction_lost", i->fraction_lost, "packets_lost", (json_int_t)i->packets_lost,
			  "jitter_ms", i->jitter_ms, "rtt_ms", i->rtt_ms);
	if (j) {
		json_object_set_new(j, "retransmits_refused", json_integer((json_int_t)i->retransmits_refused));
		json_object_set_new(j, "audio_packets_sent", json_integer((json_int_t)i->audio_packets_sent));
		json_object_set_new(j, "talking", json_boolean(i->talking));
		json_object_set_new(j, "talk_packets", json_integer((json_int_t)i->talk_packets));
		if (i->has_dc)
			json_object_set_new(j, "datachannel", cr_whep_dc_json(&i->dc, true));
		json_object_set_new(j, "g2g", g ? g : json_null()); /* the viewer's page's own report */
		json_object_set_new(j, "bwe", _bwe_json(&i->bwe));
	} else {
		json_decref(g);
	}
	json_array_append_new(ctx->arr, j);
}

void cr_whep_set_g2g(struct cr_whep_s *w, json_t *(*fn)(void *, const char *, const char *), void *opaque)
{
	w->g2g = fn;
	w->g2g_opaque = opaque;
}

const struct cr_datachannel_cfg_s *cr_whep_dc_config(struct cr_whep_s *w, int stream)
{
	return w ? cr_dc_config(w->dc, stream) : NULL;
}

static void _on_api(struct evhttp_request *req, void *arg)
{
	struct cr_whep_s *w = arg;
	const struct cr_whep_stats_s *s = &w->stats;
	if (!_door(w, req, -1, CR_RIGHT_ADMIN))
		return;
	json_t *viewers = json_array();
	struct _api_ctx_s ctx = {w, viewers};
	cr_whep_foreach_viewer(w, _add_viewer_json, &ctx);
	json_t *root = json_pack(
		"{s:i, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "port",
		w->port, "viewers", viewers, "totals", "sessions", (json_int_t)s->sessions_total,
		"sessions_active", (json_int_t)s->sessions_active, "sessions_timed_out",
		(json_int_t)s->sessions_timed_out, "packets_sent", (json_int_t)s->packets_sent,
		"bytes_sent", (json_int_t)s->bytes_sent, "retransmits", (json_int_t)s->retransmits,
		"nacks", (json_int_t)s->nacks, "plis", (json_int_t)s->plis, "firs",
		(json_int_t)s->firs, "keyframes_requested", (json_int_t)s->keyframes_requested,
		"stun_rejected", (json_int_t)s->stun_bad, "dtls_failed", (json_int_t)s->dtls_failed,
		"udp_garbage", (json_int_t)s->udp_garbage);
	json_t *totals = json_object_get(root, "totals");
	json_object_set_new(totals, "retransmits_refused", json_integer((json_int_t)s->retransmits_refused));
	json_object_set_new(totals, "retransmit_bytes", json_integer((json_int_t)s->retransmit_bytes));
	json_object_set_new(totals, "sessions_pending_expired", json_integer((json_int_t)s->sessions_pending_expired));
	json_object_set_new(root, "bitrate", cr_whep_cc_json(w)); /* congestion control per stream */
	json_object_set_new(totals, "sendmmsg_calls", json_integer((json_int_t)s->sendmmsg_calls));
	json_object_set_new(totals, "sendmmsg_packets", json_integer((json_int_t)s->sendmmsg_packets));
	json_object_set_new(totals, "gso_messages", json_integer((json_int_t)s->gso_messages));
	json_object_set_new(root, "talkback", cr_whep_audio_talk_json(w));
	char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	json_decref(root);
	struct evbuffer *b = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	if (text)
		evbuffer_add(b, text, strlen(text));
	evhttp_send_reply(req, text ? 200 : 500, text ? "OK" : "Internal Server Error", b);
	evbuffer_free(b);
	free(text);
}

static void _register(struct cr_whep_s *w, int i)
{
	char path[128];
	w->routes[i].w = w;
	w->routes[i].stream = i;
	snprintf(path, sizeof(path), "/whep/%s", cr_stream_name(w->streams[i]));
	evhttp_set_cb(w->http, path, _on_whep, &w->routes[i]);
}

void cr_whep_http_register(struct cr_whep_s *w)
{
	for (int i = 0; i < w->n_streams; i++)
		_register(w, i);
	evhttp_set_cb(w->http, "/api/webrtc", _on_api, w);
}

void cr_whep_add_stream(struct cr_whep_s *w, struct cr_stream_s *s)
{
	if (!w || w->n_streams >= CR_MAX_STREAMS)
		return;
	w->streams[w->n_streams] = s;
	_register(w, w->n_streams++);
}

void cr_whep_http_unregister(struct cr_whep_s *w)
{
	for (int i = 0; i < w->n_streams; i++) {
		char path[128];
		snprintf(path, sizeof(path), "/whep/%s", cr_stream_name(w->streams[i]));
		evhttp_del_cb(w->http, path);
	}
	evhttp_del_cb(w->http, "/api/webrtc");
}
