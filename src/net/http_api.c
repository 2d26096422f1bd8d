/* /api/streams (JSON, written and read with jansson), camera controls, and
 * /metrics (Prometheus text format). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "audio/audio.h"
#include "core/frame.h"
#include "core/pool.h"
#include "core/h264.h"
#include "net/http_access.h"
#include "net/http_conn.h"
#include "net/http_priv.h"
#include "net/rtsp.h"
#include "net/limits.h"
#include "net/whep.h"
#include "net/whip.h"
#include "sink/rtp_sink.h"

/* ---- JSON ---- */

static void _reply_json(struct evhttp_request *req, int code, json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text) {
		cr_http_reply_text(req, 500, "cannot format JSON (out of memory?)");
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		free(text);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add(b, text, strlen(text));
	evbuffer_add(b, "\n", 1);
	free(text);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "application/json");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
	evbuffer_free(b);
}

void cr_http_reply_json(struct evhttp_request *req, int code, struct json_t *j) { _reply_json(req, code, j); }

static const char *_kind_name(enum cr_sub_kind_e k)
{
	return k == CR_SUB_RAW ? "raw" : k == CR_SUB_ENCODED ? "encoded" : "?";
}

struct _subs_ctx_s {
	json_t *arr;
	bool admin;
};

static void _add_sub(const struct cr_sub_info_s *info, void *opaque)
{
	struct _subs_ctx_s *ctx = opaque;
	json_t *c = json_object();
	/* "mjpeg 192.0.2.7:50122": the peer's address only for admins. */
	json_object_set_new(c, "name", ctx->admin ? json_string(info->name)
						  : json_stringn(info->name, strcspn(info->name, " ")));
	json_object_set_new(c, "kind", json_string(_kind_name(info->kind)));
	if (info->kind == CR_SUB_RAW)
		json_object_set_new(c, "format", json_string(info->format ? cr_pixfmt_name(info->format)
									   : "as captured"));
	else
		json_object_set_new(c, "codec", json_string(cr_codec_name(info->codec)));
	json_object_set_new(c, "offered", json_integer((json_int_t)info->offered));
	json_object_set_new(c, "delivered", json_integer((json_int_t)info->delivered));
	json_object_set_new(c, "dropped", json_integer((json_int_t)info->dropped));
	/* the caps of what it was handed last (the core's caps events), null before its first item */
	const struct cr_caps_s *cp = &info->caps;
	json_t *caps = !cp->generation ? json_null()
				       : json_pack("{s:I,s:i,s:i,s:s,s:i,s:i}", "generation", (json_int_t)cp->generation,
						   "width", cp->width, "height", cp->height, "format",
						   cp->kind == CR_SUB_RAW ? cr_pixfmt_name(cp->format)
									  : cr_codec_name(cp->codec),
						   "fps_num", cp->fps_num, "fps_den", cp->fps_den);
	if (cp->generation && cp->level) { /* H.264/H.265: from the SPS */
		char level[16];
		json_object_set_new(caps, "profile_idc", json_integer(cp->profile));
		json_object_set_new(caps, "level_idc", json_integer(cp->level));
		json_object_set_new(caps, "level", json_string(cr_level_name(cp->codec, cp->level, level, sizeof(level))));
	}
	json_object_set_new(c, "caps", caps);
	json_object_set_new(c, "stage_dropped", json_integer((json_int_t)info->stage_dropped));
	json_array_append_new(ctx->arr, c);
}

static json_t *_latency(struct cr_latency_s *l)
{
	return json_pack("{s:f,s:f}", "p50", cr_latency_percentile(l, 50) / 1000.0, "p99",
			 cr_latency_percentile(l, 99) / 1000.0);
}

struct _viewers_ctx_s {
	const char *stream;
	json_t *arr;
	bool admin;
};

/* WHEP viewers of one stream, with what their receiver reports say. */
static void _add_viewer(const struct cr_whep_viewer_info_s *v, void *opaque)
{
	struct _viewers_ctx_s *ctx = opaque;
	if (strcmp(v->stream, ctx->stream) != 0)
		return;
	json_t *j = json_pack("{s:s,s:s,s:s}", "id", v->id, "state", v->state ? v->state : "", "codec",
			      v->codec ? v->codec : "");
	if (ctx->admin)
		json_object_set_new(j, "remote", json_string(v->remote));
	json_object_set_new(j, "packets_sent", json_integer((json_int_t)v->packets_sent));
	json_object_set_new(j, "bytes_sent", json_integer((json_int_t)v->bytes_sent));
	json_object_set_new(j, "frames_sent", json_integer((json_int_t)v->frames_sent));
	json_object_set_new(j, "frames_dropped", json_integer((json_int_t)v->frames_dropped));
	json_object_set_new(j, "keyframes_sent", json_integer((json_int_t)v->keyframes_sent));
	json_object_set_new(j, "nacks", json_integer((json_int_t)v->nacks));
	json_object_set_new(j, "retransmits", json_integer((json_int_t)v->retransmits));
	json_object_set_new(j, "plis", json_integer((json_int_t)v->plis));
	json_object_set_new(j, "firs", json_integer((json_int_t)v->firs));
	json_object_set_new(j, "fraction_lost", json_real(v->fraction_lost));
	json_object_set_new(j, "packets_lost", json_integer((json_int_t)v->packets_lost));
	json_object_set_new(j, "jitter_ms", json_real(v->jitter_ms));
	json_object_set_new(j, "rtt_ms", json_real(v->rtt_ms));
	json_object_set_new(j, "audio_packets_sent", json_integer((json_int_t)v->audio_packets_sent));
	if (v->has_dc)
		json_object_set_new(j, "datachannel", cr_whep_dc_json(&v->dc, true));
	json_array_append_new(ctx->arr, j);
}

/* RTSP sessions of one stream, with what their receiver reports say. */
static void _add_rtsp_client(const struct cr_rtsp_client_info_s *v, void *opaque)
{
	struct _viewers_ctx_s *ctx = opaque;
	if (strcmp(v->stream, ctx->stream) != 0)
		return;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "session", v->session, "transport",
			      v->transport ? v->transport : "", "state", v->state ? v->state : "", "codec",
			      v->codec ? v->codec : "");
	if (ctx->admin)
		json_object_set_new(j, "remote", json_string(v->remote));
	json_object_set_new(j, "packets_sent", json_integer((json_int_t)v->packets_sent));
	json_object_set_new(j, "bytes_sent", json_integer((json_int_t)v->bytes_sent));
	json_object_set_new(j, "packets_dropped", json_integer((json_int_t)v->packets_dropped));
	json_object_set_new(j, "frames_sent", json_integer((json_int_t)v->frames_sent));
	json_object_set_new(j, "frames_dropped", json_integer((json_int_t)v->frames_dropped));
	json_object_set_new(j, "audio_packets_sent", json_integer((json_int_t)v->audio_packets_sent));
	json_object_set_new(j, "receiver_reports", json_integer((json_int_t)v->receiver_reports));
	json_object_set_new(j, "fraction_lost", json_real(v->fraction_lost));
	json_object_set_new(j, "packets_lost", json_integer((json_int_t)v->packets_lost));
	json_object_set_new(j, "jitter_ms", json_real(v->jitter_ms));
	json_array_append_new(ctx->arr, j);
}

/* Plain RTP sinks of one stream, with what their receiver said over RTCP. */
static void _add_rtp_sink(const struct cr_rtp_sink_info_s *r, void *opaque)
{
	struct _viewers_ctx_s *ctx = opaque;
	if (strcmp(r->stream, ctx->stream) != 0)
		return;
	json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:f,s:f}", "rtcp_packets", (json_int_t)r->rtcp_packets, "plis",
			      (json_int_t)r->plis, "firs", (json_int_t)r->firs, "keyframes_requested",
			      (json_int_t)r->keyframes_requested, "remb_bps", (json_int_t)r->remb_bps,
			      "fraction_lost", r->fraction_lost, "jitter_ms", r->jitter_ms);
	json_object_set_new(j, "keyframes_answered", json_integer((json_int_t)r->keyframes_answered));
	json_object_set_new(j, "keyframe_delay_ms", json_real(r->keyframe_delay_ms));
	json_object_set_new(j, "keyframe_delay_max_ms", json_real(r->keyframe_delay_max_ms));
	json_object_set_new(j, "caps", json_pack("{s:I,s:i,s:i}", "generation", (json_int_t)r->caps_generation, "width",
						 r->width, "height", r->height));
	if (ctx->admin)
		json_object_set_new(j, "address", json_string(r->address));
	json_array_append_new(ctx->arr, j);
}

/* [stream.X.audio]: its source, the Opus encoder's output, level, faults. */
static json_t *_audio_json(struct cr_stream_s *s)
{
	struct cr_audio_s *a = cr_stream_audio(s);
	if (!a)
		return json_null();
	struct cr_audio_status_s st;
	cr_audio_status(a, &st);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:b}", "backend", st.backend, "device", st.device,
			      "state", st.state, "message", st.message, "codec", "opus", "rate", st.rate, "channels",
			      st.channels, "bitrate", st.bitrate, "subscribers", st.n_subs, "passthrough", st.passthrough);
	/* The source's codec passed through as it came (Opus to every output;
	 * pcmu, pcma, aac to plain RTP and RTSP, encoded to Opus for WebRTC). */
	json_object_set_new(j, "passthrough_codec", st.codec[0] ? json_string(st.codec) : json_null());
	/* Passing Opus through: not decoded, so no level. */
	json_object_set_new(j, "level_dbfs", isnan(st.level_dbfs) ? json_null() : json_real(st.level_dbfs));
	json_object_set_new(j, "counters",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "packets", (json_int_t)st.packets, "bytes",
				      (json_int_t)st.bytes, "xruns", (json_int_t)st.xruns, "reconnects",
				      (json_int_t)st.reconnects, "silent_blocks", (json_int_t)st.silent_blocks,
				      "drift_drops", (json_int_t)st.drift_drops, "drift_gaps", (json_int_t)st.drift_gaps));
	json_t *c = json_object_get(j, "counters");
	json_object_set_new(c, "encoded_frames", json_integer((json_int_t)st.encoded_frames));
	json_object_set_new(c, "passthrough_packets", json_integer((json_int_t)st.passthrough_packets));
	json_object_set_new(c, "drift_drop_samples", json_integer((json_int_t)st.drift_drop_samples));
	json_object_set_new(c, "drift_gap_samples", json_integer((json_int_t)st.drift_gap_samples));
	json_object_set_new(j, "latency_ms", json_pack("{s:f,s:f}", "p50", st.latency_p50_ms, "p99", st.latency_p99_ms));
	json_object_set_new(j, "drift_offset_ms", json_real(st.drift_offset_ms));
	return j;
}

static json_t *_stream_json(struct cr_http_s *h, struct cr_stream_s *s, bool admin)
{
	struct cr_stream_status_s st;
	cr_stream_status(s, &st);
	struct cr_stream_stats_s *stats = cr_stream_stats(s);
	uint64_t captured = atomic_load(&stats->frames_captured);
	uint64_t placeholder = atomic_load(&stats->frames_placeholder);
	uint64_t copied = atomic_load(&stats->bytes_copied);
	uint64_t frames = captured + placeholder;

	json_t *clients = json_array();
	struct _subs_ctx_s sctx = {clients, admin};
	cr_stream_foreach_sub(s, _add_sub, &sctx);
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(cr_stream_name(s)));
	json_t *source = json_pack("{s:s,s:s}", "backend", st.backend, "device", st.device);
	if (st.buffers > 0) /* a capture's buffers (v4l2's buffers option, as the driver gave them) */
		json_object_set_new(source, "buffers", json_integer(st.buffers));
	json_object_set_new(j, "source", source);
	json_object_set_new(j, "state", json_string(cr_source_state_name(st.state)));
	json_object_set_new(j, "message", json_string(st.message));
	json_object_set_new(j, "format", json_string(cr_pixfmt_name(st.format)));
	json_object_set_new(j, "width", json_integer(st.width));
	json_object_set_new(j, "height", json_integer(st.height));
	json_object_set_new(j, "fps",
			    json_pack("{s:f,s:f}", "nominal", st.fps_nominal, "measured", st.fps_measured));
	json_object_set_new(j, "note", json_string(st.note));
	json_object_set_new(j, "clients", clients);
	json_object_set_new(j, "audio", _audio_json(s));
	struct _viewers_ctx_s vctx = {cr_stream_name(s), json_array(), admin};
	if (h->whep)
		cr_whep_foreach_viewer(h->whep, _add_viewer, &vctx);
	json_object_set_new(j, "webrtc_viewers", vctx.arr);
	struct cr_dc_stats_s dcs;
	if (h->whep && cr_whep_dc_stats(h->whep, cr_stream_name(s), &dcs))
		json_object_set_new(j, "datachannel", cr_whep_dc_json(&dcs, false));
	struct _viewers_ctx_s rctx = {cr_stream_name(s), json_array(), admin};
	cr_rtsp_foreach_client(h->rtsp, _add_rtsp_client, &rctx);
	json_object_set_new(j, "rtsp_clients", rctx.arr);
	json_object_set_new(j, "encoders", json_integer(st.n_encoders));
	json_object_set_new(j, "whip", cr_whip_json(cr_stream_name(s), admin));
	struct _viewers_ctx_s pctx = {cr_stream_name(s), json_array(), admin};
	cr_rtp_sink_foreach(_add_rtp_sink, &pctx);
	json_object_set_new(j, "rtp_sinks", pctx.arr);
	json_object_set_new(j, "drops", json_integer((json_int_t)st.drops));
	json_object_set_new(
		j, "counters",
		json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "frames_captured", (json_int_t)captured,
			  "frames_placeholder", (json_int_t)placeholder, "frames_converted",
			  (json_int_t)atomic_load(&stats->frames_converted), "packets_encoded",
			  (json_int_t)atomic_load(&stats->packets_encoded), "bytes_copied",
			  (json_int_t)copied, "bytes_copied_per_frame",
			  (json_int_t)(frames ? copied / frames : 0), "reconnects",
			  (json_int_t)atomic_load(&stats->reconnects), "encoders_opened",
			  (json_int_t)atomic_load(&stats->encoders_opened), "source_opens",
			  (json_int_t)atomic_load(&stats->source_opens), "clock_moves",
			  (json_int_t)atomic_load(&stats->clock_moves)));
	json_object_set_new(json_object_get(j, "counters"), "frames_copied",
			    json_integer((json_int_t)atomic_load(&stats->frames_copied)));
	json_object_set_new(j, "latency_ms",
			    json_pack("{s:o,s:o}", "capture_to_encoded", _latency(&stats->capture_to_encoded),
				      "capture_to_sent", _latency(&stats->capture_to_sent)));
	/* Capture to a viewer's screen, as the viewers' pages measured it. */
	json_object_set_new(j, "g2g", cr_http_g2g_json(h, cr_http_stream_index(h, cr_stream_name(s))));
	return j;
}

void cr_http_api_streams(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	unsigned rights = 0;
	if (stream >= 0) {
		cr_http_rights(h->cfg, req, cr_stream_name(h->streams[stream]), &rights);
		_reply_json(req, 200, _stream_json(h, h->streams[stream], rights & CR_RIGHT_ADMIN));
		return;
	}
	json_t *arr = json_array();
	for (int i = 0; i < h->n_streams; i++)
		if (!cr_stream_removed(h->streams[i]) &&
		    cr_http_rights(h->cfg, req, cr_stream_name(h->streams[i]), &rights) == 0 &&
		    (rights & CR_RIGHT_VIEW)) /* streams a caller may not see are not listed */
			json_array_append_new(arr, _stream_json(h, h->streams[i], rights & CR_RIGHT_ADMIN));
	_reply_json(req, 200, json_pack("{s:o}", "streams", arr));
}

/* POST /api/reload (admin right, checked by the router): re-reads the
 * certificate (HTTPS) and the config file, applied as SIGHUP would. 200 with
 * what changed; 422 when the file was refused (the running config stays);
 * 503 when there is no file (serve without -c, webcam). */
void cr_http_api_reload(struct cr_http_s *h, struct evhttp_request *req)
{
	if (!h->reload_fn) {
		cr_http_reply_text(req, 503, "nothing to reload: camrelay runs without a config file (serve -c FILE)");
		return;
	}
	char msg[2048];
	msg[0] = 0;
	cr_http_conns_reload_tls(h->conns);
	int r = h->reload_fn(h->reload_ctx, msg, sizeof(msg));
	_reply_json(req, r == 0 ? 200 : 422, json_pack("{s:b,s:s}", "applied", r == 0, "message", msg));
}

/* µStreamer's /state, for the first stream: tools written for µStreamer
 * (PiKVM's kvmd, Home Assistant cards) read the resolution, online flag and
 * client count from it. */
static void _count_mjpeg(const struct cr_sub_info_s *info, void *opaque)
{
	if (info->kind == CR_SUB_ENCODED && info->codec == CR_CODEC_MJPEG)
		(*(int *)opaque)++;
}

void cr_http_ustreamer_state(struct cr_http_s *h, struct evhttp_request *req)
{
	struct cr_stream_s *s = h->streams[0];
	struct cr_stream_status_s st;
	cr_stream_status(s, &st);
	int clients = 0;
	cr_stream_foreach_sub(s, _count_mjpeg, &clients);
	int quality = cr_http_mjpeg_encoder(h, 0).quality;
	json_t *result = json_pack(
		"{s:s,s:{s:s,s:i},s:{s:{s:i,s:i},s:b,s:i,s:i},s:{s:i,s:i,s:{}}}", "instance_id", "",
		"encoder", "type", "CPU", "quality", quality, "source", "resolution", "width", st.width,
		"height", st.height, "online", st.state == CR_SOURCE_RUNNING, "desired_fps",
		(int)(st.fps_nominal + 0.5), "captured_fps", (int)(st.fps_measured + 0.5), "stream",
		"queued_fps", (int)(st.fps_measured + 0.5), "clients", clients, "clients_stat");
	_reply_json(req, 200, json_pack("{s:b,s:o}", "ok", 1, "result", result));
}

/* ---- controls ---- */

/* A JSON value as the text the backends take ("100", "1", "auto"). */
static int _json_value_text(json_t *v, char *out, size_t n)
{
	if (json_is_string(v))
		snprintf(out, n, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, n, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, n, "%d", json_is_true(v) ? 1 : 0);
	else
		return -EINVAL;
	return 0;
}

static bool _pair(struct evhttp_request *req, struct cr_http_ctl_job_s *j, const char *name, const char *value)
{
	int r = cr_http_ctl_add(j, name, value);
	if (r == -E2BIG)
		cr_http_reply_text(req, 400, "too many controls in one request (at most 32)");
	else if (r < 0)
		cr_http_reply_text(req, 400, "control name or value too long: %.64s", name);
	return r == 0;
}

/* The body's name=value pairs into j: JSON {"brightness": 100} or a form.
 * Their number, or -1 after a 400. */
static int _parse_set(struct evhttp_request *req, struct cr_http_ctl_job_s *j, char *body, size_t len)
{
	int n = 0;
	size_t skip = strspn(body, " \t\r\n");
	if (body[skip] == '{') {
		json_error_t jerr;
		json_t *o = json_loadb(body, len, 0, &jerr);
		bool ok = o && json_is_object(o);
		if (!ok)
			cr_http_reply_text(req, 400, "request body is not a JSON object: %s (line %d column %d)",
					   o ? "not an object" : jerr.text, jerr.line, jerr.column);
		const char *key;
		json_t *v;
		json_object_foreach(ok ? o : NULL, key, v)
		{
			char text[256];
			if (_json_value_text(v, text, sizeof(text)) < 0) {
				cr_http_reply_text(req, 400, "control %s: value must be a number, string or boolean", key);
				ok = false;
			}
			if (!ok || !(ok = _pair(req, j, key, text)))
				break;
			n++;
		}
		json_decref(o);
		return ok ? n : -1;
	}
	struct evkeyvalq q = {0};
	if (evhttp_parse_query_str(body, &q) < 0) {
		cr_http_reply_text(req, 400, "request body is neither JSON ({\"brightness\": 100}) nor a form (brightness=100)");
		return -1;
	}
	bool ok = true;
	for (struct evkeyval *kv = q.tqh_first; kv && ok; kv = kv->next.tqe_next)
		n += (ok = _pair(req, j, kv->key, kv->value));
	evhttp_clear_headers(&q);
	return ok ? n : -1;
}

/* Parsed here, set and listed on the controls' worker (http_ctl.c). */
static void _controls_set(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body = malloc(len + 1);
	struct cr_http_ctl_job_s *j = cr_http_ctl_job(req, stream);
	if (!body || !j) {
		cr_http_reply_text(req, 500, "out of memory");
		free(body);
		free(j);
		return;
	}
	evbuffer_copyout(in, body, len);
	body[len] = 0;
	int n = _parse_set(req, j, body, len);
	free(body);
	if (n == 0)
		cr_http_reply_text(req, 400, "no control given: send JSON {\"brightness\": 100} or a form brightness=100");
	if (n > 0)
		cr_http_ctl_submit(h, j);
	else
		free(j);
}

static void _controls_reply(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	struct cr_http_ctl_job_s *j = cr_http_ctl_job(req, stream);
	if (!j)
		cr_http_reply_text(req, 500, "out of memory");
	else
		cr_http_ctl_submit(h, j);
}

/* A form POST is a "simple" cross-origin request: without this, any web page
 * could change the camera's settings through a browser on this machine.
 * Browsers always send Origin then; curl and scripts send none. */
static bool _same_origin(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");
	if (!origin)
		return true;
	const char *o = strstr(origin, "://");
	return o && host && strcmp(o + 3, host) == 0;
}

void cr_http_api_controls(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if ((m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PUT) && !_same_origin(req))
		cr_http_reply_text(req, 403,
				   "a page from %s may not change the controls of stream \"%s\" "
				   "(cross-origin request refused)",
				   evhttp_find_header(evhttp_request_get_input_headers(req), "Origin"),
				   cr_stream_name(h->streams[stream]));
	else if (m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PUT)
		_controls_set(h, req, stream);
	else
		_controls_reply(h, req, stream);
}

/* ---- ending other people's sessions ---- */

/* Whether req may end sessions of stream i: the control right there, or admin. */
static bool _may_end(struct cr_http_s *h, struct evhttp_request *req, int i)
{
	unsigned rights = 0;
	return cr_http_rights(h->cfg, req, cr_stream_name(h->streams[i]), &rights) == 0 &&
	       (rights & (CR_RIGHT_CONTROL | CR_RIGHT_ADMIN));
}

/* DELETE /api/sessions/<id>: a WebRTC viewer ended by its public id (the one
 * /api/streams lists) by someone with the control right on its stream. An
 * unknown id is a 404 only for callers who may end some session: a viewer
 * learns nothing by probing ids. */
void cr_http_api_end_session(struct cr_http_s *h, struct evhttp_request *req, const char *id)
{
	unsigned rights;
	if (cr_http_rights(h->cfg, req, NULL, &rights) < 0) {
		cr_http_allowed(h->cfg, req, NULL, CR_RIGHT_CONTROL); /* the 401 */
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_DELETE) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "DELETE");
		cr_http_reply_text(req, 405, "/api/sessions/<id> accepts DELETE only");
		return;
	}
	if (!_same_origin(req)) {
		cr_http_reply_text(req, 403, "a page from %s may not end sessions (cross-origin request refused)",
				   evhttp_find_header(evhttp_request_get_input_headers(req), "Origin"));
		return;
	}
	int i = strlen(id) < 40 ? cr_whep_viewer_stream(h->whep, id) : -1;
	if (i >= 0) {
		if (!_may_end(h, req, i)) {
			cr_http_allowed(h->cfg, req, cr_stream_name(h->streams[i]), CR_RIGHT_CONTROL); /* the 403 */
			return;
		}
		cr_whep_viewer_end(h->whep, id, "by DELETE /api/sessions (control right)");
		evhttp_send_reply(req, 204, "No Content", NULL);
		return;
	}
	bool any = false;
	for (int k = 0; k < h->n_streams && !any; k++)
		any = _may_end(h, req, k);
	if (any)
		cr_http_reply_text(req, 404, "no session \"%.40s\" (ids: webrtc_viewers in /api/streams)", id);
	else
		cr_http_reply_text(req, 403, "ending sessions takes the control right on their stream%s",
				   h->cfg->auth.present ? "" : " (only given to this machine, loopback, "
							      "while no [auth] is configured)");
}

/* ---- /metrics ---- */

/* Prometheus label values: backslash, quote and newline escaped. */
static void _label(struct evbuffer *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void _family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void _sample(struct evbuffer *b, const char *name, const char *stream, const char *extra,
		    double v)
{
	evbuffer_add_printf(b, "%s{stream=\"", name);
	_label(b, stream);
	evbuffer_add_printf(b, "\"%s} %.15g\n", extra ? extra : "", v);
}

static long _open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static long long _rss_bytes(void)
{
	long long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld %lld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

struct _metric_s {
	const char *name, *type, *help;
};

static const struct _metric_s _metrics[] = {
	{"camrelay_frames_captured_total", "counter", "Frames read from the source."},
	{"camrelay_frames_placeholder_total", "counter", "Placeholder frames sent while the source was down."},
	{"camrelay_frames_converted_total", "counter", "Frames converted to another format or size."},
	{"camrelay_packets_encoded_total", "counter", "Packets out of the stream's encoders."},
	{"camrelay_bytes_copied_total", "counter", "Bytes of frame data copied by the CPU."},
	{"camrelay_bytes_copied_per_frame", "gauge", "Bytes copied per frame, on average."},
	{"camrelay_reconnects_total", "counter", "Times the source was reopened."},
	{"camrelay_source_up", "gauge", "1 when the source delivers frames."},
	{"camrelay_clients", "gauge", "Current subscribers (MJPEG clients, sinks, snapshots)."},
	{"camrelay_drops", "gauge", "Frames dropped by the current subscribers."},
	{"camrelay_fps", "gauge", "Measured frames per second from the source."},
	{"camrelay_fps_nominal", "gauge", "Frames per second the source was set to."},
	{"camrelay_latency_seconds", "gauge",
	 "Latency quantiles of the last 512 frames, by path (capture_to_encoded, capture_to_sent)."},
};

static void _stream_metric(struct evbuffer *b, int m, struct cr_stream_s *s)
{
	struct cr_stream_status_s st;
	struct cr_stream_stats_s *x = cr_stream_stats(s);
	const char *name = _metrics[m].name, *sn = cr_stream_name(s);
	cr_stream_status(s, &st);
	uint64_t frames = atomic_load(&x->frames_captured) + atomic_load(&x->frames_placeholder);
	switch (m) {
	case 0:
		_sample(b, name, sn, NULL, (double)atomic_load(&x->frames_captured));
		break;
	case 1:
		_sample(b, name, sn, NULL, (double)atomic_load(&x->frames_placeholder));
		break;
	case 2:
		_sample(b, name, sn, NULL, (double)atomic_load(&x->frames_converted));
		break;
	case 3:
		_sample(b, name, sn, NULL, (double)atomic_load(&x->packets_encoded));
		break;
	case 4:
		_sample(b, name, sn, NULL, (double)atomic_load(&x->bytes_copied));
		break;
	case 5:
		_sample(b, name, sn, NULL, frames ? (double)atomic_load(&x->bytes_copied) / (double)frames : 0);
		break;
	case 6:
		_sample(b, name, sn, NULL, (double)atomic_load(&x->reconnects));
		break;
	case 7:
		_sample(b, name, sn, NULL, st.state == CR_SOURCE_RUNNING);
		break;
	case 8:
		_sample(b, name, sn, NULL, st.n_subs);
		break;
	case 9:
		_sample(b, name, sn, NULL, (double)st.drops);
		break;
	case 10:
		_sample(b, name, sn, NULL, st.fps_measured);
		break;
	case 11:
		_sample(b, name, sn, NULL, st.fps_nominal);
		break;
	case 12: {
		static const int q[] = {50, 90, 99};
		static const char *const qs[] = {"0.5", "0.9", "0.99"};
		for (int i = 0; i < 3; i++) {
			char extra[64];
			snprintf(extra, sizeof(extra), ",path=\"capture_to_encoded\",quantile=\"%s\"", qs[i]);
			_sample(b, name, sn, extra, cr_latency_percentile(&x->capture_to_encoded, q[i]) / 1e6);
			snprintf(extra, sizeof(extra), ",path=\"capture_to_sent\",quantile=\"%s\"", qs[i]);
			_sample(b, name, sn, extra, cr_latency_percentile(&x->capture_to_sent, q[i]) / 1e6);
		}
		break;
	}
	}
}

/* Streams with [stream.X.audio]: level, packets, faults (audio/audio.h). */
static void _audio_metrics(struct cr_http_s *h, struct evbuffer *b)
{
	static const struct _metric_s m[] = {
		{"camrelay_audio_up", "gauge", "1 when the audio source delivers (0: silence is sent)."},
		{"camrelay_audio_level_dbfs", "gauge", "RMS level of the last 20 ms of audio, dBFS (-100: silence)."},
		{"camrelay_audio_packets_total", "counter", "Opus packets encoded and handed to the audio consumers."},
		{"camrelay_audio_xruns_total", "counter", "Capture overruns recovered (samples lost)."},
		{"camrelay_audio_reconnects_total", "counter", "Times the audio device was reopened after failing."},
		{"camrelay_audio_silent_blocks_total", "counter", "20 ms blocks of silence sent while the device was away."},
		{"camrelay_audio_encoded_frames_total", "counter", "Opus packets encoded by camrelay's libopus encoder."},
		{"camrelay_audio_passthrough_packets_total", "counter",
		 "The source's own Opus packets handed on without decoding or encoding."},
		{"camrelay_audio_drift_drops_total", "counter", "Blocks dropped: the source's clock ran a block ahead."},
		{"camrelay_audio_drift_gaps_total", "counter", "Timestamp jumps: the source's clock fell a block behind."},
	};
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		_family(b, m[k].name, m[k].type, m[k].help);
		for (int i = 0; i < h->n_streams; i++) {
			struct cr_audio_s *a = cr_stream_audio(h->streams[i]);
			if (!a)
				continue;
			struct cr_audio_status_s st;
			cr_audio_status(a, &st);
			double v[] = {strcmp(st.state, "running") == 0, st.level_dbfs, (double)st.packets, (double)st.xruns,
				      (double)st.reconnects, (double)st.silent_blocks, (double)st.encoded_frames,
				      (double)st.passthrough_packets, (double)st.drift_drops, (double)st.drift_gaps};
			if (k == 1 && isnan(st.level_dbfs))
				continue; /* passing Opus through: not decoded, no level */
			_sample(b, m[k].name, cr_stream_name(h->streams[i]), NULL, v[k]);
		}
	}
}

void cr_http_metrics(struct cr_http_s *h, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	for (size_t m = 0; m < sizeof(_metrics) / sizeof(_metrics[0]); m++) {
		_family(b, _metrics[m].name, _metrics[m].type, _metrics[m].help);
		for (int i = 0; i < h->n_streams; i++)
			if (!cr_stream_removed(h->streams[i]))
				_stream_metric(b, (int)m, h->streams[i]);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	_family(b, "process_cpu_seconds_total", "counter", "User and system CPU time.");
	evbuffer_add_printf(b, "process_cpu_seconds_total %.6f\n",
			    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	_family(b, "process_resident_memory_bytes", "gauge", "Resident memory.");
	evbuffer_add_printf(b, "process_resident_memory_bytes %lld\n", _rss_bytes());
	_family(b, "process_open_fds", "gauge", "Open file descriptors.");
	evbuffer_add_printf(b, "process_open_fds %ld\n", _open_fds());
	_family(b, "camrelay_frames_alive", "gauge", "Frames allocated and not yet released.");
	evbuffer_add_printf(b, "camrelay_frames_alive %ld\n", atomic_load(&cr_frames_alive));
	_family(b, "camrelay_pool_frames_idle", "gauge", "Frames kept idle in frame pools for reuse.");
	evbuffer_add_printf(b, "camrelay_pool_frames_idle %ld\n", atomic_load(&cr_pool_frames_idle));
	_family(b, "camrelay_pool_bytes_idle", "gauge", "Pixel bytes of the frames kept idle in frame pools.");
	evbuffer_add_printf(b, "camrelay_pool_bytes_idle %ld\n", atomic_load(&cr_pool_bytes_idle));
	_family(b, "camrelay_pool_frames_made_total", "counter", "Frames frame pools allocated.");
	evbuffer_add_printf(b, "camrelay_pool_frames_made_total %ld\n", atomic_load(&cr_pool_frames_made));
	_family(b, "camrelay_packets_alive", "gauge", "Packets allocated and not yet released.");
	evbuffer_add_printf(b, "camrelay_packets_alive %ld\n", atomic_load(&cr_packets_alive));
	_audio_metrics(h, b);
	if (h->whep)
		cr_whep_metrics(h->whep, b);
	cr_http_g2g_metrics(h, b);
	if (h->rtsp)
		cr_rtsp_metrics(h->rtsp, b);
	cr_whip_metrics(b);
	cr_limits_metrics(b);
	_family(b, "camrelay_http_connections", "gauge", "Open HTTP connections.");
	evbuffer_add_printf(b, "camrelay_http_connections %d\n", cr_http_conns_open(h->conns));
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}
