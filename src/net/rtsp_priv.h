/* Inside the RTSP server: rtsp.c (listening, connections, requests) and
 * rtsp_media.c (sessions' media: subscriptions, RTP over UDP/TCP/multicast,
 * RTCP). Everything runs on the HTTP server's event loop; pipeline threads
 * only write the eventfd. */
#ifndef CR_RTSP_PRIV_H
#define CR_RTSP_PRIV_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "audio/ring.h"
#include "core/config.h"
#include "net/rtsp.h"
#include "rtp/rtp.h"

#define CR_RTSP_PS_MAX 1024

enum cr_rtsp_state_e { CR_RTSP_READY = 0, CR_RTSP_PLAYING, CR_RTSP_PAUSED };
enum cr_rtsp_tr_e { CR_RTSP_UDP = 0, CR_RTSP_TCP, CR_RTSP_MCAST };

struct cr_rtsp_conn_s;

/* What a URL names: a stream and its variant (codec, encoder settings). */
struct cr_rtsp_media_s {
	int stream;
	bool mjpeg; /* the /mjpeg view */
	struct cr_encoder_cfg_s enc;
};

/* A session's audio track (rtsp_audio.c): trackID=1 of a stream with
 * [stream.X.audio], the stream's one Opus encoding (RFC 7587) sent over the
 * session's transport (UDP from the same server port pair as the video, or
 * its own interleaved channels). */
struct cr_rtsp_audio_s {
	struct cr_audio_ring_s *ring;
	struct cr_audio_format_s fmt; /* what it sends (set when it starts) */
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	int channel[2]; /* interleaved RTP, RTCP */
	struct sockaddr_storage rtp_addr, rtcp_addr;
	char track_url[1024];
	int64_t last_sr_ns;
};

/* One session: its video track (trackID=0) and, when set up, its audio
 * track. Made at DESCRIBE (its video subscription, so that the SDP can
 * carry the parameter sets) or SETUP. */
struct cr_rtsp_client_s {
	struct cr_rtsp_s *r;
	struct cr_rtsp_conn_s *conn;
	char session[20]; /* "" until SETUP */
	char track_url[1024]; /* as SETUP named it */
	bool video_set;       /* trackID=0 was SETUP (an audio-only session sends no video) */
	struct cr_rtsp_audio_s *audio; /* trackID=1 was SETUP */
	struct cr_rtsp_media_s media;
	enum cr_rtsp_state_e state;
	enum cr_rtsp_tr_e tr;
	int channel[2]; /* interleaved RTP, RTCP */
	struct sockaddr_storage rtp_addr, rtcp_addr;
	socklen_t addr_len;
	struct cr_sub_s *sub;
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	bool wait_key, counted;
	bool slow; /* its TCP buffer filled: dropped at the end of this drain */
	int64_t last_seen_ns, last_sr_ns;
	struct cr_rtsp_client_info_s info;
};

struct cr_rtsp_conn_s {
	struct cr_rtsp_s *r;
	struct cr_rtsp_conn_s *next;
	struct bufferevent *bev;
	char remote[64];
	struct sockaddr_storage peer, local;
	socklen_t peer_len, local_len;
	struct cr_rtsp_client_s *client; /* at most one session per connection */
	char nonce[33]; /* Digest, made with the first challenge */
	int64_t last_rx_ns, closing_ns;
	bool closing; /* reply flushed, then closed */
};

/* Per stream: the last parameter sets seen (for DESCRIBE's sprop-*). */
struct cr_rtsp_ps_s {
	uint8_t data[CR_RTSP_PS_MAX];
	size_t len;
};

/* A multicast group of one stream: one subscription, one send for all. */
struct cr_rtsp_mcast_s {
	struct cr_sub_s *sub;
	struct cr_rtp_s rtp;
	uint32_t ts_offset;
	struct sockaddr_in group;
	int refs; /* playing sessions */
	bool wait_key;
	int64_t last_sr_ns;
};

struct cr_rtsp_s {
	struct event_base *base;
	const struct cr_config_s *cfg;
	struct cr_stream_s *streams[CR_MAX_STREAMS];
	int n_streams;
	struct evconnlistener *lev;
	char base_url[160];
	int rtp_fd, rtcp_fd, mcast_fd;
	int rtp_port;
	struct event *rtcp_ev, *wake_ev, *tick_ev;
	int efd;
	struct cr_rtsp_conn_s *conns;
	int n_conns, n_sessions;
	int per_stream[CR_MAX_STREAMS];
	int64_t last_keyframe_ns[CR_MAX_STREAMS];
	struct cr_rtsp_ps_s ps[CR_MAX_STREAMS][2]; /* [stream][mjpeg] */
	struct cr_rtsp_mcast_s mcast[CR_MAX_STREAMS];
	int64_t timeout_ns;
	size_t tcp_buffer;
	int max_clients, max_per_stream;
	struct cr_rtsp_stats_s stats;
};

/* rtsp_media.c */
int cr_rtsp_media_init(struct cr_rtsp_s *r, char *err, size_t errlen);
void cr_rtsp_media_free(struct cr_rtsp_s *r);
/* The encoder settings and codec a URL path names; -ENOENT for no stream. */
int cr_rtsp_media_for(struct cr_rtsp_s *r, const char *path, struct cr_rtsp_media_s *m);
int cr_rtsp_client_subscribe(struct cr_rtsp_client_s *c);
void cr_rtsp_client_play(struct cr_rtsp_client_s *c);
void cr_rtsp_client_free(struct cr_rtsp_client_s *c);
/* Interleaved data from the client on channel ch. */
void cr_rtsp_client_rtcp(struct cr_rtsp_client_s *c, const uint8_t *p, size_t len);
/* The current RTP sequence number and timestamp (for RTP-Info). */
void cr_rtsp_client_position(struct cr_rtsp_client_s *c, uint16_t *seq, uint32_t *rtptime);
/* Each tick: receiver reports, sender reports, timeouts. */
void cr_rtsp_media_tick(struct cr_rtsp_s *r, int64_t now);
/* The SDP for DESCRIBE; its length, -EAGAIN while the parameter sets are not
 * known yet (and !last), -ENOSPC. */
int cr_rtsp_media_sdp(struct cr_rtsp_s *r, const struct cr_rtsp_media_s *m, const char *local_ip, char *out,
		      size_t cap, bool last);
/* A plain RTP section (out, n bytes) made the server's track number track:
 * a=recvonly replaced by its a=control; the new length or -ENOSPC. */
int cr_rtsp_sdp_control(char *out, size_t cap, int n, int track);

/* One RTP packet of a session's track: on its interleaved channel (TCP)
 * or to `to` (UDP) from the server's RTP port; counted. false: dropped. */
bool cr_rtsp_send_rtp(struct cr_rtsp_client_s *c, int channel, const struct sockaddr_storage *to, const uint8_t *pkt,
		      size_t len);
/* Interleaved data for a TCP session (dropped, and the session marked
 * slow, when its buffer is full). */
void cr_rtsp_tcp_send(struct cr_rtsp_client_s *c, int channel, const uint8_t *p, size_t len);
/* SSRCs, sequence and timestamp offsets. */
uint32_t cr_rtsp_random32(void);
/* Wakes the loop (the eventfd): pipeline and audio threads call it. */
void cr_rtsp_notify(void *opaque);
/* Sender report for rtp (90 kHz or 48 kHz RTP time rtp_now at NTP now). */
void cr_rtsp_send_sr(const struct cr_rtp_s *rtp, uint32_t rtp_now, int tcp_channel, struct cr_rtsp_client_s *c,
		     const struct sockaddr *to, socklen_t to_len, int fd);

/* rtsp_audio.c */
/* Whether the stream has an audio track to offer. */
bool cr_rtsp_audio_offered(struct cr_rtsp_s *r, int stream);
/* Appends the audio section (trackID=1) to a DESCRIBE SDP; its length or -ENOSPC. */
int cr_rtsp_audio_sdp(struct cr_rtsp_s *r, int stream, char *out, size_t cap);
/* SETUP of trackID=1: c->audio (made once; NULL when out of memory), then,
 * with its transport filled in, start subscribes it (-ENOMEM). */
struct cr_rtsp_audio_s *cr_rtsp_audio_new(struct cr_rtsp_client_s *c);
int cr_rtsp_audio_start(struct cr_rtsp_client_s *c);
void cr_rtsp_audio_drain(struct cr_rtsp_client_s *c);
void cr_rtsp_audio_tick(struct cr_rtsp_client_s *c, int64_t now);
/* RTP-Info's seq and rtptime of the audio track. */
void cr_rtsp_audio_position(struct cr_rtsp_client_s *c, uint16_t *seq, uint32_t *rtptime);
void cr_rtsp_audio_free(struct cr_rtsp_client_s *c);

/* rtsp_auth.c */
struct cr_rtsp_msg_s;
/* 0 when the request may use stream (no [auth], or credentials with the
 * view right); else -1 with *code 401 or 403 (logged). */
int cr_rtsp_authorize(struct cr_rtsp_conn_s *c, const struct cr_rtsp_msg_s *m, const char *stream, const char *query,
		      int *code);
/* The WWW-Authenticate headers of a 401 (CRLF-terminated lines). */
void cr_rtsp_challenge(struct cr_rtsp_conn_s *c, char *out, size_t cap);

/* rtsp.c */
void cr_rtsp_conn_close(struct cr_rtsp_conn_s *c, const char *why);

#endif
