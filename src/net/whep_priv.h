/* Inside the WHEP module: shared by whep.c (sessions, the UDP port, RTP and
 * RTCP per viewer) and whep_http.c (signalling routes, /api/webrtc,
 * /metrics lines, /sdp). Everything here runs on the HTTP event loop. */
#ifndef CR_WHEP_PRIV_H
#define CR_WHEP_PRIV_H

#include <event2/http.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "net/datachannel.h"
#include "net/srtp.h"
#include "net/whep.h"
#include "rtp/rtp.h"

#define CR_WHEP_HIST 1024   /* most entries of a viewer's sent map (~4 s at 2 Mbit/s; the stream's ring: twice) */
#define CR_WHEP_HIST_MIN 128 /* least; between, about 1 s of the encoder's bitrate */
/* Retransmissions of one viewer may take this share of its media bytes (and
 * a burst of CR_WHEP_RTX_BURST), so NACKs cannot turn into a flood. */
#define CR_WHEP_RTX_SHARE 4 /* one quarter */
#define CR_WHEP_RTX_BURST (128 * 1024)
#define CR_WHEP_BATCH 64    /* datagrams per sendmmsg (UDP_MAX_SEGMENTS too) */
#define CR_WHEP_LAT_BUCKETS 20 /* the send-latency histograms' (whep_send.c) */
#define CR_WHEP_MAX_ADDRS 4 /* candidate pairs per viewer (remote addresses that sent valid checks) */
#define CR_WHEP_PKT_CAP (CR_RTP_MAX_PACKET + CR_SRTP_MAX_TRAILER + 16)
/* The pacer (whep_send.c): a viewer with transport-cc gets its video
 * (and retransmissions) at CR_WHEP_PACE_FACTOR x its estimate, in bursts of
 * at most CR_WHEP_PACE_BURST_NS of that rate, on average no faster than its
 * estimate beyond CR_WHEP_PACE_DEPTH_NS of it; its queue holds references to
 * the stream's packets, half as many as its sent map has entries. */
#define CR_WHEP_PACE_FACTOR 1.5
#define CR_WHEP_PACE_BURST_NS 5000000LL
#define CR_WHEP_PACE_DEPTH_NS 40000000LL /* beyond this much of the estimate, no faster than it */
#define CR_WHEP_PACE_STALE_NS 1000000000LL /* a longer backlog at the estimate is dropped */

enum cr_whep_state_e { CR_WHEP_CONNECTING = 0, CR_WHEP_DTLS, CR_WHEP_SENDING };

/* Control data, aligned as CMSG_FIRSTHDR expects: sending IP(V6)_PKTINFO
 * and a UDP_SEGMENT size; receiving both PKTINFOs (a dual-stack socket
 * reports IPv4 datagrams' address both ways; a buffer that cuts the second
 * short hands over a truncated one). */
union cr_whep_cmsg_u {
	uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
		    CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

/* whep_fan.c: a stream's packets from one encoder, made once for all its
 * viewers. The ring (n slots, a power of two) is also the NACK history:
 * slot idx % n holds packet idx's payload (without the 12-byte header,
 * which each viewer writes), its RTP timestamp and marker. */
#define CR_WHEP_FAN_FRAMES 64 /* access units remembered (a viewer's queue holds 16) */
struct cr_whep_fan_slot_s {
	uint32_t idx; /* the stream's packet number */
	uint32_t ts;  /* the access unit's timestamp (a viewer adds its offset) */
	uint16_t len; /* payload bytes; 0 = none */
	bool marker;
};
struct cr_packet_s;
struct cr_whep_fan_frame_s {
	const struct cr_packet_s *pkt; /* identity only, never dereferenced */
	uint64_t seq;
	int64_t pts, encoded_ns, capture_ns;
	size_t size;
	uint32_t first; /* its first packet's index */
	int count;      /* packets, 0 = not payloadable */
};
struct cr_whep_fan_s {
	struct cr_whep_s *w;
	struct cr_whep_fan_s *next;
	int stream;
	struct cr_encoder_cfg_s enc; /* one fan per encoder of the stream */
	int users; /* viewers using it: freed with the last */
	struct cr_rtp_s rtp; /* the payloader */
	uint32_t next_idx;
	int n;
	size_t slot; /* bytes per slot */
	struct cr_whep_fan_slot_s *slots;
	uint8_t *data;
	struct cr_whep_fan_frame_s frames[CR_WHEP_FAN_FRAMES];
	int frame_next;
};

/* A packet a viewer sent: its own sequence number -> the fan's packet
 * (viewers skip packets the others get, so their numbers run apart). */
struct cr_whep_sent_s {
	uint32_t idx;
	uint16_t seq;
	bool used;
	int64_t resent_ns; /* one resend per RTT at most */
};

/* A viewer's RTP header fields and sender-report counters. */
struct cr_whep_out_s {
	uint8_t pt;
	uint32_t ssrc;
	uint16_t seq; /* the next one */
	uint32_t packets, octets;
};

/* A packet waiting in a viewer's pacer queue: its bytes stay in the fan's
 * ring (seq's entry in the viewer's sent map says where), so queueing copies
 * nothing. */
enum cr_whep_paced_kind_e { CR_WHEP_PACED_MEDIA = 0, CR_WHEP_PACED_RESEND, CR_WHEP_PACED_RTX };
struct cr_whep_paced_s {
	int64_t queued_ns;
	int64_t capture_ns, encoded_ns; /* a frame's last packet: its stamps, else 0 */
	uint16_t seq, len;
	uint8_t kind;
};

/* A remote address that sent a valid ICE check (a candidate pair with our
 * address it wrote to). Media goes only where consent is fresh: the address
 * answered one of our own checks within [webrtc] timeout (RFC 7675), so a
 * forged check from elsewhere cannot aim a viewer's media at a third party. */
struct cr_whep_pair_s {
	struct sockaddr_in6 addr;
	struct in6_addr local;
	int64_t consent_ns; /* last valid answer to our check, 0 = none yet */
	int64_t checked_ns; /* our last check */
	uint8_t tid[12];    /* of that check */
	int tries;          /* checks sent without an answer */
	bool nominated;     /* USE-CANDIDATE seen from it */
};

struct cr_whep_route_s {
	struct cr_whep_s *w;
	int stream;
};

struct cr_whep_viewer_s {
	struct cr_whep_s *w;
	struct cr_whep_viewer_s *next;
	char id[33];     /* public: API, /metrics, logs */
	char secret[33]; /* the session URL's id: its owner's key */
	char path[128];
	char name[96];
	int stream;
	char peer[64]; /* the HTTP client's address ([limits] per IP) */
	enum cr_whep_state_e state;
	char ufrag[12], pwd[28];
	char remote_ufrag[64], remote_pwd[128];
	/* Addresses are IPv6, IPv4 ones v4-mapped (one dual-stack socket). */
	struct cr_whep_pair_s pairs[CR_WHEP_MAX_ADDRS];
	int n_pairs;
	int dest;                 /* the pair media goes to, -1 while none has consent */
	struct sockaddr_in6 addr; /* pairs[dest].addr */
	struct in6_addr local;    /* our address it wrote to: replies come from it */
	bool has_addr;
	struct sockaddr_in6 dtls_addr; /* where the last DTLS record came from (a pair) */
	struct in6_addr dtls_local;
	bool has_dtls_addr;
	int64_t created_ns, consent_ns; /* consent_ns: newest of the pairs' */
	struct cr_dtls_s *dtls;
	struct cr_srtp_s *srtp;
	struct cr_dc_peer_s *dc; /* its data channels, when bridged */
	struct cr_sub_s *sub;
	struct cr_encoder_cfg_s enc;
	struct cr_whep_out_s rtp;
	struct cr_whep_fan_s *fan; /* the stream's packets (whep_fan.c), from media start */
	uint32_t ts_offset;
	int pt, rtx_pt;
	uint32_t rtx_ssrc;
	uint16_t rtx_seq;
	bool wait_key;
	bool no_gso; /* the kernel refused its GSO messages (its route's MTU) */
	uint64_t own_drops;   /* cr_sub_drop calls: the core adds them to its count */
	uint64_t queue_drops; /* drops in the core's queue seen so far */
	bool overflowed;      /* set while the stream's subscriber list is walked */
	int64_t last_sr_ns;
	struct cr_whep_viewer_info_s info;
	struct cr_whep_sent_s *sent; /* n_sent (a power of two) by sequence number: what a NACK may ask for */
	int n_sent;
	int64_t rtx_credit; /* bytes retransmissions may still take */
	/* After a cut for heavy loss or a queue ramp: NACKs of packets before nack_floor (sent
	 * for the old rate) are refused until nack_floor_ns + 2 s. */
	uint16_t nack_floor;
	int64_t nack_floor_ns;
	struct cr_whep_audio_s *audio; /* whep_audio.c: Opus when the offer took it, else NULL */
	struct cr_whep_cc_s *cc;       /* whep_cc.c: its bandwidth estimate, NULL when not negotiated */
	/* Pacer (whep_send.c): a ring of pq_cap entries, pq_n from pq_head;
	 * pace_debt: bytes sent ahead of the pacing rate (decays with time);
	 * nothing leaves before pace_hold_ns (after a cut: the bottleneck's
	 * queue drains first). */
	struct cr_whep_paced_s *pq;
	int pq_cap, pq_head, pq_n;
	size_t pq_bytes;
	double pace_debt, pace_avg_debt;
	int64_t pace_last_ns, pace_hold_ns;
	uint64_t pace_drops;
};

struct cr_whep_s {
	struct json_t *(*g2g)(void *, const char *, const char *); /* cr_whep_set_g2g */
	void *g2g_opaque;
	struct event_base *base;
	struct evhttp *http;
	const struct cr_config_s *cfg;
	struct cr_stream_s *streams[CR_MAX_STREAMS];
	int n_streams;
	struct cr_whep_route_s routes[CR_MAX_STREAMS];
	int fd, efd;
	/* Set by the first cr_whep_notify since the loop last woke: the
	 * others skip the eventfd write (one per packet and viewer before). */
	atomic_bool woken;
	uint64_t jitter; /* cr_xorshift32 state: ICE consent checks' jitter */
	bool v4_only; /* no IPv6 in this kernel: an AF_INET socket */
	int port;
	struct event *udp_ev, *wake_ev, *tick_ev, *pace_ev;
	struct cr_dtls_ctx_s *dtls;
	struct cr_dc_s *dc; /* the streams' DataChannel <-> UDP bridges */
	struct cr_talk_s *talk[CR_MAX_STREAMS]; /* talk-back per stream, made at its first claim */
	char candidates[CR_MAX_CANDIDATES * 2][64];
	struct in6_addr candidate_addrs[CR_MAX_CANDIDATES * 2]; /* the same, IPv4 v4-mapped */
	int n_candidates;
	int64_t timeout_ns, pending_ns;
	int64_t last_keyframe_ns[CR_MAX_STREAMS];
	int64_t last_drop_check_ns;
	struct cr_whep_viewer_s *viewers;
	struct cr_whep_fan_s *fans;
	/* Access units payloaded (once per unit and codec, not per viewer) and
	 * sent to a viewer from a fan: /metrics camrelay_webrtc_fan_*. */
	uint64_t fan_units, fan_sends;
	struct cr_whep_stats_s stats;
	/* Outgoing batch (whep_send.c): protected datagrams in the order they
	 * were queued, a viewer's consecutive ones sent as one GSO message. */
	uint8_t batch[CR_WHEP_BATCH][CR_WHEP_PKT_CAP];
	size_t batch_len[CR_WHEP_BATCH];
	struct cr_whep_viewer_s *batch_viewer[CR_WHEP_BATCH];
	int64_t batch_capture_ns[CR_WHEP_BATCH], batch_encoded_ns[CR_WHEP_BATCH]; /* last packet of a frame */
	int batch_n;
	union cr_whep_cmsg_u batch_cmsg[CR_WHEP_BATCH];
	struct cr_whep_cc_stream_s {
		int64_t target_bps; /* the encoder bitrate last asked for, 0 = none yet */
		int64_t followed_bps; /* the estimate it follows */
		int estimating, keyframes_only;
		uint64_t changes;
		const char *note; /* why it cannot follow, or NULL */
	} cc[CR_MAX_STREAMS];
	int64_t cc_tick_ns;
	bool gso; /* the kernel takes UDP_SEGMENT (Linux 4.18) */
	/* capture -> sent and encoded -> sent of each viewer's frames (the
	 * moment its last packet went to the kernel), CR_WHEP_LAT_BUCKETS + 1
	 * counts (the last: above every bound). */
	uint64_t lat_capture[CR_WHEP_LAT_BUCKETS + 1], lat_encoded[CR_WHEP_LAT_BUCKETS + 1];
	uint64_t lat_capture_sum_us, lat_encoded_sum_us;
	/* The pacer: off with CAMRELAY_WHEP_NO_PACER=1 (benchmarks, tests);
	 * packets that went through a queue, drops from a full one (or whose
	 * history slot was taken meanwhile), the time they waited. */
	bool no_pacer;
	bool pace_armed;
	int64_t pace_due_ns;
	uint64_t pace_packets, pace_drops, pace_bypassed;
	uint64_t pace_delay[CR_WHEP_LAT_BUCKETS + 1], pace_delay_sum_us;
};

/* whep_ice.c: STUN on the shared port, candidate pairs and consent. */
void cr_whep_ice_stun(struct cr_whep_s *w, const uint8_t *p, size_t len, const struct sockaddr_in6 *from,
		      const struct in6_addr *local);
/* Consent checks due, consent expiry and the choice of destination. */
void cr_whep_ice_tick(struct cr_whep_viewer_s *v, int64_t now);
struct cr_whep_viewer_s *cr_whep_ice_viewer_by_addr(struct cr_whep_s *w, const struct sockaddr_in6 *from);
/* The host candidates to announce: [webrtc] candidates, else 127.0.0.1 when
 * HTTP listens on loopback, else every interface's address. */
void cr_whep_ice_gather(struct cr_whep_s *w);
/* Whether a datagram that arrived at local came to an announced address. */
bool cr_whep_ice_announced(const struct cr_whep_s *w, const struct in6_addr *local);

/* whep_fan.c: the fan of a stream's encoder (one more user), made with n
 * slots when there is none; NULL when out of memory. */
struct cr_whep_fan_s *cr_whep_fan_get(struct cr_whep_s *w, int stream, const struct cr_encoder_cfg_s *enc, int n);
void cr_whep_fan_put(struct cr_whep_s *w, struct cr_whep_fan_s *f); /* freed with its last user */
/* The access unit's packets, payloaded now unless done for another viewer
 * already; count 0 when it cannot be payloaded. */
const struct cr_whep_fan_frame_s *cr_whep_fan_frame(struct cr_whep_fan_s *f, const struct cr_packet_s *pkt);
/* Packet idx's slot, NULL once the ring has overwritten it. */
const struct cr_whep_fan_slot_s *cr_whep_fan_slot(const struct cr_whep_fan_s *f, uint32_t idx);
static inline uint8_t *cr_whep_fan_data(const struct cr_whep_fan_s *f, const struct cr_whep_fan_slot_s *s)
{
	return f->data + (size_t)(s - f->slots) * f->slot;
}

static inline bool cr_whep_same_addr(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b)
{
	return IN6_ARE_ADDR_EQUAL(&a->sin6_addr, &b->sin6_addr) && a->sin6_port == b->sin6_port;
}

/* whep_send.c: the send path. One datagram now (STUN, DTLS). */
void cr_whep_sendto(struct cr_whep_s *w, const void *p, size_t len, const struct sockaddr_in6 *to,
		    const struct in6_addr *local);
/* The batch out through sendmmsg (GSO runs per viewer where the kernel can). */
void cr_whep_flush(struct cr_whep_s *w);
/* Drops what of v the batch holds (v is closing). */
void cr_whep_batch_forget(struct cr_whep_s *w, struct cr_whep_viewer_s *v);
/* Whether the socket takes UDP_SEGMENT; CAMRELAY_WHEP_NO_GSO=1 (benchmarks) says no.
 * Sets up the pacer's timer (CAMRELAY_WHEP_NO_PACER=1: no pacing). */
int cr_whep_send_init(struct cr_whep_s *w);
void cr_whep_send_free(struct cr_whep_s *w);
/* A viewer's pacer queue (when media starts) and its end. */
int cr_whep_pace_new(struct cr_whep_viewer_s *v);
void cr_whep_pace_free(struct cr_whep_viewer_s *v);
/* After the loop queued packets: the pacer's timer set for the next due one. */
void cr_whep_pace_schedule(struct cr_whep_s *w);
/* After a cut for heavy loss or a queue ramp (whep_cc.c): v's queue
 * dropped, its average bucket taken as full, and nothing sent for hold_ns
 * (part of the queue the bottleneck holds: what follows, the keyframe, is
 * not dropped at its tail). */
void cr_whep_pace_cut(struct cr_whep_viewer_s *v, int64_t hold_ns);
/* A NACKed packet (RTX when negotiated), paced like media: its entry in
 * v's sent map, len its size with the header. */
void cr_whep_resend(struct cr_whep_viewer_s *v, const struct cr_whep_sent_s *h, uint16_t len);
/* An access unit of the fan's to v: each packet with v's header, mapped in
 * v->sent, paced or into the batch. */
void cr_whep_send_frame(struct cr_whep_viewer_s *v, const struct cr_whep_fan_frame_s *fr);
/* The send-path lines of /metrics (sendmmsg counters, latency histograms). */
void cr_whep_send_metrics(struct cr_whep_s *w, struct evbuffer *out);

/* whep.c */
void cr_whep_addr_text(const struct sockaddr_in6 *a, char *out, size_t n);
/* The v4-mapped form kept inside -> a plain IPv4 address when v4. */
socklen_t cr_whep_plain(const struct sockaddr_in6 *a, bool v4, struct sockaddr_storage *out);
void cr_whep_viewer_close(struct cr_whep_viewer_s *v);
void cr_whep_dtls_send(void *opaque, const uint8_t *p, size_t len);
/* SCTP packets of a viewer's data channels out through, and in from, its DTLS. */
void cr_whep_dc_out(void *opaque, const uint8_t *p, size_t len);
void cr_whep_dc_in(void *opaque, const uint8_t *p, size_t len);
void cr_whep_random_text(char *out, size_t n);
uint32_t cr_whep_random32(void);
/* whep_send.c: SRTP-protects an RTP (or RTCP) packet of v into the send batch. */
void cr_whep_queue(struct cr_whep_viewer_s *v, const uint8_t *pkt, size_t len, bool rtcp);
/* From any thread: wakes the loop to drain subscribers. */
void cr_whep_notify(struct cr_whep_s *w);

/* whep_audio.c: a viewer's Opus (RFC 7587), bundled with its video. */
struct cr_sdp_offer_s;
struct cr_sdp_media_s;
struct cr_whep_audio_s;
/* The offer's audio section that can receive Opus (*pt gets its payload
 * type), or -1 (none, or the stream has no audio). */
int cr_whep_audio_pick(const struct cr_sdp_offer_s *o, struct cr_stream_s *s, int *pt);
int cr_whep_audio_new(struct cr_whep_viewer_s *v, int pt);
uint32_t cr_whep_audio_ssrc(const struct cr_whep_viewer_s *v);
int cr_whep_audio_start(struct cr_whep_viewer_s *v);   /* subscribes, when media starts */
void cr_whep_audio_drain(struct cr_whep_viewer_s *v);  /* on wake-up */
void cr_whep_audio_tick(struct cr_whep_viewer_s *v, int64_t now); /* sender reports */
void cr_whep_audio_free(struct cr_whep_viewer_s *v);
/* Talk-back: whether v (its audio section m) gets the stream's playback
 * device. NULL: not asked for (no header); else the X-Talkback header's
 * value, "talking" or "refused: <why>" (why is the buffer it may use). */
const char *cr_whep_audio_talk(struct cr_whep_viewer_s *v, struct evhttp_request *req,
			       const struct cr_sdp_media_s *m, char *why, size_t n);
/* An RTP (not RTCP) packet from v, still SRTP-protected. */
void cr_whep_audio_in(struct cr_whep_viewer_s *v, uint8_t *p, size_t len);
struct json_t *cr_whep_audio_talk_json(struct cr_whep_s *w); /* {stream: {...}} */
void cr_whep_audio_talk_metrics(struct cr_whep_s *w, struct evbuffer *out);
void cr_whep_audio_talk_free(struct cr_whep_s *w);

/* whep_cc.c: congestion control (transport-cc, REMB, receiver-report loss
 * -> net/gcc.c's estimate per viewer -> the stream's encoder bitrate). */
struct cr_sdp_media_s;
struct cr_sdp_answer_s;
/* After the codec is chosen: allocates v->cc when the offer's video section
 * asks for transport-cc or REMB, and says so in the answer. */
void cr_whep_cc_new(struct cr_whep_viewer_s *v, const struct cr_sdp_media_s *m, struct cr_sdp_answer_s *a);
void cr_whep_cc_free(struct cr_whep_viewer_s *v);
/* Writes a video RTP packet's header into dst (may be pkt itself) with its transport-wide
 * sequence number (20 bytes: the payloader's 12 and the extension's 8) and
 * returns its length, the payload following at pkt + 12; 0 when the packet
 * takes no number (not video, or no transport-cc). */
size_t cr_whep_cc_header(struct cr_whep_viewer_s *v, uint8_t *dst, const uint8_t *pkt, size_t len);
bool cr_whep_cc_transport_cc(const struct cr_whep_viewer_s *v); /* negotiated */
/* The viewer's estimate (bit/s on the wire), 0 when it has none. */
int64_t cr_whep_cc_estimate(const struct cr_whep_viewer_s *v);
void cr_whep_cc_rtcp(struct cr_whep_viewer_s *v, const struct cr_rtcp_info_s *ri);
/* In the drain: true when this frame is not sent (keyframes only). */
bool cr_whep_cc_skip(struct cr_whep_viewer_s *v, bool key, size_t size);
void cr_whep_cc_tick(struct cr_whep_s *w, int64_t now);
struct json_t *cr_whep_cc_json(struct cr_whep_s *w);

/* whep_http.c */
void cr_whep_http_register(struct cr_whep_s *w);
void cr_whep_http_unregister(struct cr_whep_s *w);
void cr_whep_http_reply(struct evhttp_request *req, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
