/* WebRTC push to a WHIP server (RFC 9725): the pieces of the whip sink
 * (src/sink/whip.c), which drives them on its own thread and event loop.
 *
 *   whip_sdp.c   the offer camrelay posts, the answer it gets back (fuzzed)
 *   whip_http.c  POST / DELETE over libevent's HTTP client (https through
 *                bufferevent_openssl, the system's CA store)
 *   whip_peer.c  one UDP socket: ICE as the controlling full agent (checks
 *                to the server's candidates, ICE-lite ones included, directly
 *                and through a TURN relay), DTLS client, SRTP, RTP with a
 *                NACK history and RTX, RTCP
 *   turn.c       TURN and STUN client for the srflx/relay candidates
 *
 * The DTLS, SRTP, STUN, RTCP and payloader code is WHEP's (net/dtls.c,
 * net/srtp.c, net/stun.c, rtp/). Figures reach /api/streams and /metrics
 * through cr_whip_foreach. */
#ifndef CR_WHIP_H
#define CR_WHIP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/format.h"

#define CR_WHIP_MAX_CANDS 16
#define CR_WHIP_MAX_LOCAL 8
/* transport-wide sequence numbers (one-byte header extension) for transport-cc feedback */
#define CR_WHIP_TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define CR_WHIP_TWCC_ID 3

struct event_base;
struct evbuffer;
struct cr_dtls_ctx_s;
struct cr_ice_server_cfg_s;

/* ---- SDP (whip_sdp.c) ---- */

struct cr_whip_cand_s {
	struct sockaddr_in6 addr; /* IPv4 as v4-mapped */
	uint32_t priority;
	char type[8]; /* host, srflx, prflx, relay */
};

struct cr_whip_offer_s {
	enum cr_codec_e codec;
	int pt, rtx_pt;
	const char *fmtp; /* "" for none */
	uint32_t ssrc, rtx_ssrc;
	const char *ufrag, *pwd, *fingerprint, *stream;
	/* Audio (the stream's Opus, RFC 7587) as a second section, bundled:
	 * audio_pt -1 for none. */
	int audio_pt, audio_channels;
	bool audio_fec;
	uint32_t audio_ssrc;
	uint64_t session_id;
	int n_local;
	struct cr_whip_cand_s local[CR_WHIP_MAX_LOCAL];
	bool trickling; /* more candidates follow in a PATCH: no a=end-of-candidates */
};

struct cr_whip_answer_s {
	bool ice_lite;
	char ufrag[64], pwd[128];
	char fingerprint[160]; /* sha-256 */
	char setup[16]; /* "passive" (or none): camrelay is the DTLS client; "active": the server */
	int pt, rtx_pt; /* rtx_pt -1 when the server took no RTX */
	int audio_pt;   /* the offer's, when the server took the audio; else -1 */
	bool nack, pli, fir, remb;
	int twcc_id;  /* the transport-cc header extension's id when the answer kept it, else 0 */
	bool twcc_fb; /* a=rtcp-fb:<pt> transport-cc */
	int n_cands;
	struct cr_whip_cand_s cands[CR_WHIP_MAX_CANDS];
};

/* Returns the offer's length or -ENOSPC. */
int cr_whip_build_offer(const struct cr_whip_offer_s *o, char *out, size_t cap);
/* The server's answer to offer o: one accepted video section with o's
 * payload type (then the audio section, when offered: taken or refused),
 * ICE credentials, a sha-256 fingerprint, UDP candidates (host names and
 * mDNS ones skipped). -EINVAL with the reason in err. */
int cr_whip_parse_answer(const char *text, size_t len, const struct cr_whip_offer_s *o,
			 struct cr_whip_answer_s *a, char *err, size_t errlen);
/* "a=candidate:..." value (after "candidate:") into c; false when it is not
 * a UDP candidate of component 1 with a literal address. */
bool cr_whip_parse_candidate(const char *v, size_t len, struct cr_whip_cand_s *c);
/* Trickle ICE / ICE restart fragments (RFC 8840 application/trickle-ice-sdpfrag,
 * RFC 9725 4.3): what camrelay PATCHes, what the server answers. */
struct cr_whip_frag_s {
	char ufrag[64], pwd[128]; /* "" when the fragment has none */
	bool ice_lite, end;       /* a=ice-lite, a=end-of-candidates */
	int n_cands;
	struct cr_whip_cand_s cands[CR_WHIP_MAX_CANDS];
};
/* o's ICE credentials and its local candidates from index `first` on, with
 * a=end-of-candidates. Returns the length or -ENOSPC. */
int cr_whip_build_frag(const struct cr_whip_offer_s *o, int first, char *out, size_t cap);
/* The server's fragment (outside input, fuzzed: fuzz_whip_frag): ICE
 * credentials (both or neither, ice-chars, 4..63 / 22..127 long),
 * candidates, a=end-of-candidates. -EINVAL with the reason in err. */
int cr_whip_parse_frag(const char *text, size_t len, struct cr_whip_frag_s *f, char *err, size_t errlen);
/* "127.0.0.1:5000" / "[::1]:5000". */
void cr_whip_addr_text(const struct sockaddr_in6 *a, char *out, size_t n);

/* ---- HTTP (whip_http.c) ---- */

struct cr_whip_reply_s {
	int status; /* 0: no answer (message in error) */
	char reason[64];
	char content_type[96];
	char location[512]; /* resolved against the request URL */
	char etag[128];
	char *body; /* NUL-terminated, valid during the callback */
	size_t body_len;
	char error[200];
};

typedef void (*cr_whip_http_fn)(void *opaque, const struct cr_whip_reply_s *r);
struct cr_whip_http_s;

struct cr_whip_http_s *cr_whip_http_new(struct event_base *base);
void cr_whip_http_free(struct cr_whip_http_s *h);
/* One request at a time; a new one cancels the last. done runs on the loop
 * (also for failures: status 0). if_match: the If-Match header, or NULL.
 * 0, or a negative errno with err set. */
int cr_whip_http_request(struct cr_whip_http_s *h, const char *method, const char *url, const char *token,
			 const char *ctype, const char *if_match, const char *body, size_t len, cr_whip_http_fn done,
			 void *opaque, char *err, size_t errlen);
bool cr_whip_http_busy(const struct cr_whip_http_s *h);

/* ---- the media peer (whip_peer.c) ---- */

/* LOST: consent lost while sending (RFC 7675): the sink restarts ICE
 * (cr_whip_peer_restart) or gives the session up. */
enum cr_whip_peer_state_e {
	CR_WHIP_PEER_ICE = 0,
	CR_WHIP_PEER_DTLS,
	CR_WHIP_PEER_MEDIA,
	CR_WHIP_PEER_LOST,
	CR_WHIP_PEER_FAILED
};

struct cr_whip_figures_s {
	uint64_t packets_sent, bytes_sent, frames_sent, keyframes_sent;
	uint64_t audio_packets_sent; /* Opus, of packets_sent */
	uint64_t nacks, retransmits, plis, firs, remb_packets;
	uint64_t remb_bps;
	bool twcc;                  /* transport-cc negotiated: every packet numbered */
	uint64_t twcc_feedbacks;    /* transport-cc feedback messages read */
	uint64_t twcc_received, twcc_lost; /* packets they reported, each counted once */
	double fraction_lost, jitter_ms, rtt_ms; /* rtt -1 until known */
	int64_t packets_lost;
	char pair[160]; /* "host *:5000 -> host 127.0.0.1:6000", "relay A (TURN B) -> host C" */
	char gathered[160]; /* "srflx 192.0.2.1:5000, relay 198.51.100.2:49152"; "" without ice_servers */
	char ice_note[240]; /* what failed with the ice_servers */
	bool relayed;
	bool rtx;
	/* kept by the sink (src/sink/whip.c) across sessions: */
	uint64_t ice_restarts; /* ICE restarts over PATCH that brought the media back */
	uint64_t trickled;     /* local candidates sent in PATCH requests the server took */
	char trickle[120];     /* what became of the last trickle PATCH ("" without one) */
	char restart[160];     /* what became of the last ICE restart ("" before one) */
	const char *dtls_role; /* "client" or "server" */
};

struct cr_whip_peer_s;
/* Called on the loop: the server asked for a keyframe (PLI/FIR), the
 * peer changed state (MEDIA: sending; FAILED: cr_whip_peer_error says why),
 * or gathering through the ice_servers ended. */
struct cr_whip_peer_cbs_s {
	void (*keyframe)(void *opaque);
	void (*state)(void *opaque, enum cr_whip_peer_state_e st);
	void (*gathered)(void *opaque);
	void *opaque;
};

/* Opens the UDP socket and fills the offer's ICE part (o->ufrag, pwd,
 * fingerprint, host candidates). With ice servers it then gathers (at
 * most 3 s; cr_whip_peer_gathering) beside the checks: cbs->gathered says
 * when, and cr_whip_peer_fill_offer adds the srflx/relay candidates to the
 * offer (for the trickle PATCH).
 * NULL with err on failure. */
struct cr_whip_peer_s *cr_whip_peer_new(struct event_base *base, struct cr_dtls_ctx_s *dtls,
					const struct cr_whip_peer_cbs_s *cbs, struct cr_whip_offer_s *o,
					const struct cr_ice_server_cfg_s *servers, int n_servers, char *err,
					size_t errlen);
bool cr_whip_peer_gathering(const struct cr_whip_peer_s *p);
/* The offer's local candidates (o->n_local) as they are now; trickling
 * while gathering goes on. */
void cr_whip_peer_fill_offer(const struct cr_whip_peer_s *p, struct cr_whip_offer_s *o);
/* LOST: new local ICE credentials (into the offer's ufrag/pwd, which point
 * at the peer's), for the restart PATCH. */
void cr_whip_peer_new_credentials(struct cr_whip_peer_s *p);
/* The server's restart answer: its new credentials (and candidates, when it
 * sent any), checks again; DTLS and SRTP stay; MEDIA again when a pair
 * answers, FAILED after 10 s. */
int cr_whip_peer_restart(struct cr_whip_peer_s *p, const struct cr_whip_frag_s *f);
/* Candidates the server trickled in a 200 answer to a PATCH. */
void cr_whip_peer_add_remote(struct cr_whip_peer_s *p, const struct cr_whip_frag_s *f);

void cr_whip_peer_free(struct cr_whip_peer_s *p);
/* Starts connectivity checks to the answer's candidates, then DTLS. */
int cr_whip_peer_start(struct cr_whip_peer_s *p, const struct cr_whip_answer_s *a);
enum cr_whip_peer_state_e cr_whip_peer_state(const struct cr_whip_peer_s *p);
const char *cr_whip_peer_error(const struct cr_whip_peer_s *p);
/* One encoded frame (MEDIA state only). */
void cr_whip_peer_send_frame(struct cr_whip_peer_s *p, const uint8_t *data, size_t size, uint32_t ts90k,
			     bool key, int width, int height);
/* One Opus packet (MEDIA state, and the answer took the audio); ts48k on
 * the capture clock (the peer adds its own offset). */
void cr_whip_peer_send_audio(struct cr_whip_peer_s *p, const uint8_t *data, size_t size, uint32_t ts48k,
			     bool talkspurt);
void cr_whip_peer_figures(const struct cr_whip_peer_s *p, struct cr_whip_figures_s *out);

/* ---- figures for the HTTP side (sink/whip.c) ---- */

struct cr_whip_info_s {
	const char *stream, *url, *state;
	const char *session; /* the Location, "" before */
	const char *last_error;
	uint64_t attempts, failures, publishes;
	double backoff_s;
	struct cr_whip_figures_s f;
};
/* Every whip sink (any thread; fn runs under the registry's lock). */
void cr_whip_foreach(void (*fn)(const struct cr_whip_info_s *, void *), void *opaque);
/* whip_api.c: the whip sinks of one stream for /api/streams (URL and
 * server messages for admins only; never the token), and the
 * camrelay_whip_* lines of /metrics. Empty without WebRTC in the build. */
struct json_t;
struct json_t *cr_whip_json(const char *stream, bool admin);
void cr_whip_metrics(struct evbuffer *out);

#endif
