/* WebRTC delivery over WHEP (draft-ietf-wish-whep, the WHIP RFC 9725 model):
 *
 *   POST   /whep/<stream>             SDP offer → 201, SDP answer, Location
 *   DELETE /session/<stream>/<id>     ends the session
 *   PATCH  /session/<stream>/<id>     trickle candidates: 204 (ICE-lite needs
 *                                     none); ICE restart: 422
 *   OPTIONS on both                   CORS pre-flight
 *   GET    /api/webrtc                viewers and counters (JSON)
 *   (DELETE /api/sessions/<public id>: the control right ends someone else's
 *   session; routed by net/http.c, see cr_whep_viewer_stream below)
 *
 * ICE-lite + DTLS-SRTP; every viewer's media on one UDP port, demultiplexed
 * by STUN USERNAME on first contact and by remote address after. Each viewer
 * is an encoded subscriber of its stream (one encoder per setting shared by
 * all). Everything runs on the HTTP server's event loop. */
#ifndef CR_WHEP_H
#define CR_WHEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "net/datachannel.h"

struct evhttp;
struct event_base;
struct evbuffer;
struct cr_stream_s;
struct cr_whep_s;

/* Registers the routes on http and opens the UDP port on base. Call before
 * the loop runs (or on its thread). NULL with a message in err on failure. */
struct cr_whep_s *cr_whep_attach(struct evhttp *http, struct event_base *base,
				 const struct cr_config_s *cfg, struct cr_stream_s **streams, int n,
				 char *err, size_t errlen);
/* Ends every session and frees everything; call on the loop thread or after
 * the loop has stopped, before evhttp_free/event_base_free. */
void cr_whep_detach(struct cr_whep_s *w);

/* The codecs WHEP viewers can be served in (what its SDP answer and
 * payloaders handle), ended by CR_CODEC_NONE; NULL in a build without
 * WebRTC. The daemon hands it to the config reader. */
const enum cr_codec_e *cr_whep_codecs(void);
/* Live reload (on the loop thread): serve one more stream. */
void cr_whep_add_stream(struct cr_whep_s *w, struct cr_stream_s *s);

/* A viewer's bandwidth estimate (net/gcc.h) and how congestion control
 * serves it (net/whep_cc.c), when its offer asked for transport-cc or REMB. */
struct cr_whep_bwe_info_s {
	bool active; /* transport-cc or REMB negotiated */
	bool transport_cc, remb;
	int64_t estimate_bps, delay_bps, loss_bps, remb_bps, acked_bps;
	double loss, trend, threshold_ms;
	const char *usage; /* "normal", "overuse", "underuse" */
	uint64_t feedbacks, overuses, packets_acked, packets_lost;
	bool keyframes_only; /* below what the encoder sends: keyframes on demand */
	uint64_t frames_skipped, keyframe_demands;
	int pacer_queued;               /* packets in its pacer's queue */
	uint64_t pacer_drops;
};

struct cr_whep_viewer_info_s {
	char id[40];
	char stream[64];
	char remote[64]; /* "ip:port" once known */
	const char *state; /* "connecting", "dtls", "sending" */
	const char *codec;
	uint64_t packets_sent, bytes_sent, frames_sent, keyframes_sent, frames_dropped;
	uint64_t nacks, retransmits, plis, firs, keyframes_requested;
	uint64_t retransmits_refused; /* over the byte budget, or asked again within an RTT */
	uint64_t audio_packets_sent;  /* Opus, when the viewer's offer took audio */
	bool talking;                 /* its microphone plays on the stream's playback device */
	uint64_t talk_packets;        /* its audio packets received (talk-back) */
	double fraction_lost; /* 0..1, from the last receiver report */
	int64_t packets_lost;
	double jitter_ms, rtt_ms; /* rtt -1 until known */
	bool has_dc;              /* its data channels are bridged: dc holds their counters */
	struct cr_dc_stats_s dc;
	struct cr_whep_bwe_info_s bwe;
};

struct cr_whep_stats_s {
	uint64_t sessions_total, sessions_active, sessions_timed_out, sessions_pending_expired;
	uint64_t packets_sent, bytes_sent, retransmits, nacks, plis, firs, keyframes_requested;
	uint64_t retransmits_refused, retransmit_bytes;
	uint64_t stun_bad, dtls_failed, udp_garbage;
	/* The send path: sendmmsg calls and the datagrams they took (a GSO
	 * message's segments counted one by one), GSO messages sent, and
	 * refused (the viewer's packets go one by one from then on). */
	uint64_t sendmmsg_calls, sendmmsg_packets, gso_messages, gso_refused;
};

/* On the loop thread (e.g. from an /api handler). */
void cr_whep_foreach_viewer(struct cr_whep_s *w,
			    void (*fn)(const struct cr_whep_viewer_info_s *, void *), void *opaque);
void cr_whep_stats(struct cr_whep_s *w, struct cr_whep_stats_s *out);
/* The stream index of the viewer whose public id (X-Viewer-Id, /api/streams)
 * is id, or -1. */
int cr_whep_viewer_stream(struct cr_whep_s *w, const char *id);
/* Ends that viewer's session (why goes to the log); false when there is none. */
bool cr_whep_viewer_end(struct cr_whep_s *w, const char *id, const char *why);
/* The DataChannel <-> UDP bridge counters of stream; false when it has none. */
bool cr_whep_dc_stats(struct cr_whep_s *w, const char *stream, struct cr_dc_stats_s *out);
/* Those counters as a jansson object (NULL in a build without WebRTC). */
struct json_t *cr_whep_dc_json(const struct cr_dc_stats_s *s, bool per_viewer);
/* Prometheus text lines (camrelay_webrtc_*, camrelay_datachannel_*) for /metrics. */
void cr_whep_metrics(struct cr_whep_s *w, struct evbuffer *out);
/* Where /api/webrtc finds a viewer's glass-to-glass report (the HTTP
 * server's, net/http_g2g.c): a new JSON object, or NULL when none. */
struct json_t;
void cr_whep_set_g2g(struct cr_whep_s *w, struct json_t *(*fn)(void *, const char *stream, const char *viewer),
		     void *opaque);
/* The data-channel bridge of stream i (its label for the page's message
 * panel), or NULL when the stream bridges none. */
const struct cr_datachannel_cfg_s *cr_whep_dc_config(struct cr_whep_s *w, int stream);

#endif
