/* The RTSP 1.0 server (RFC 2326), for NVRs and players (Frigate, Home
 * Assistant, VLC, ffmpeg, GStreamer):
 *
 *   rtsp://HOST:8554/<stream>        the stream's RTP codec (its [encoder], else
 *                                    H.264 from the software encoder, as WHEP)
 *   rtsp://HOST:8554/<stream>/mjpeg  the MJPEG view as RTP/JPEG (RFC 2435): a
 *                                    JPEG camera's frames, not re-encoded
 *
 * A stream with [stream.X.audio] has a second track (trackID=1): its Opus
 * (RFC 7587) over the session's transport, in sync by sender reports
 * (rtsp_audio.c; not over multicast).
 *
 * OPTIONS, DESCRIBE, SETUP (RTP/AVP over UDP unicast, UDP multicast when
 * [rtsp] multicast_group is set, RTP/AVP/TCP interleaved), PLAY, PAUSE,
 * TEARDOWN, GET_PARAMETER/SET_PARAMETER (keep-alive). Each session is one
 * encoded subscriber of its stream: the encoder is shared with WHEP viewers
 * and the RTP sink. A session lives as long as its connection (and, over
 * UDP, while it keeps talking within [rtsp] session_timeout). Runs on the
 * HTTP server's event loop; hand-written (see rtsp_msg.h). */
#ifndef CR_RTSP_H
#define CR_RTSP_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct event_base;
struct evbuffer;
struct cr_stream_s;
struct cr_rtsp_s;

/* Binds [rtsp] listen and serves the streams on base. NULL when RTSP is
 * off (err empty) or on failure (err says why). */
struct cr_rtsp_s *cr_rtsp_attach(struct event_base *base, const struct cr_config_s *cfg,
				 struct cr_stream_s **streams, int n, char *err, size_t errlen);
/* Closes every connection; on the loop thread or after the loop ended. */
void cr_rtsp_detach(struct cr_rtsp_s *r);
/* Live reload (on the loop thread): serve one more stream. */
void cr_rtsp_add_stream(struct cr_rtsp_s *r, struct cr_stream_s *s);

struct cr_rtsp_client_info_s {
	char session[20];
	char stream[64];
	char remote[64];
	const char *transport; /* "udp", "tcp", "multicast" */
	const char *state;     /* "ready", "playing", "paused" */
	const char *codec;
	uint64_t packets_sent, bytes_sent, frames_sent, frames_dropped, packets_dropped;
	uint64_t audio_packets_sent; /* Opus, of packets_sent (trackID=1) */
	double fraction_lost; /* 0..1, from the last receiver report */
	int64_t packets_lost;
	double jitter_ms;
	uint64_t receiver_reports;
};

struct cr_rtsp_stats_s {
	uint64_t connections, requests, bad_requests, sessions, sessions_timed_out;
	uint64_t clients_dropped_slow; /* TCP clients whose send buffer filled */
	uint64_t rejected_limit;       /* 453/503 answers */
	uint64_t bad_channel;          /* interleaved data on a channel not set up */
	uint64_t unauthorized;         /* 401 answers */
	uint64_t packets_sent, bytes_sent, receiver_reports;
};

/* On the loop thread. */
void cr_rtsp_foreach_client(struct cr_rtsp_s *r, void (*fn)(const struct cr_rtsp_client_info_s *, void *),
			    void *opaque);
void cr_rtsp_stats(struct cr_rtsp_s *r, struct cr_rtsp_stats_s *out);
/* Prometheus lines (camrelay_rtsp_*) for /metrics. */
void cr_rtsp_metrics(struct cr_rtsp_s *r, struct evbuffer *out);
/* "rtsp://127.0.0.1:8554" (what [rtsp] listen says), for pages. */
const char *cr_rtsp_base_url(const struct cr_rtsp_s *r);
/* rtsp://HOST:PORT/<stream> for a page: HOST from [rtsp] listen, or from
 * http_host (the page request's Host header) when it listens on every
 * address. */
void cr_rtsp_stream_url(const struct cr_rtsp_s *r, const char *http_host, const char *stream, char *out, size_t cap);

#endif
