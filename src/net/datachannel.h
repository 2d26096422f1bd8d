/* WebRTC data channels of WHEP viewers bridged to UDP, per stream
 * ([stream.<name>.datachannel], seed 001's "DataChannel <-> UDP channel").
 *
 *   UDP datagram on listen ──► every open bridged channel of the stream's
 *                              viewers (one datagram = one message)
 *   message on a channel   ──► one datagram to forward (or the last sender)
 *
 * A viewer's channels ride on SCTP over its WHEP session's DTLS (net/sctp.h);
 * the browser opens them with DCEP (net/dcep.h). Each viewer has its own
 * bounded send buffer, message rate and channel count; what exceeds them is
 * dropped and counted, never waited for. Everything runs on the HTTP event
 * loop (net/whep.c owns the bridges and its viewers own their peers). */
#ifndef CR_NET_DATACHANNEL_H
#define CR_NET_DATACHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct event_base;
struct evbuffer;
struct cr_dc_s;
struct cr_dc_peer_s;

#define CR_DC_CHANNELS_SHOWN 8 /* channels of a viewer listed in /api/webrtc */

/* Counters of one stream's bridge (totals over its viewers) or one viewer. */
struct cr_dc_stats_s {
	uint64_t udp_in, udp_in_bytes;     /* datagrams that arrived on listen */
	uint64_t udp_out, udp_out_bytes;   /* datagrams sent (to forward / the last sender) */
	uint64_t to_viewers, to_viewers_bytes;     /* messages queued to viewers' channels */
	uint64_t from_viewers, from_viewers_bytes; /* messages that came from viewers */
	uint64_t dropped_full;  /* a viewer's buffer was full: not queued for it */
	uint64_t oversized;     /* longer than max_message_size (either way): refused */
	uint64_t rate_limited;  /* a viewer sent faster than viewer_rate */
	uint64_t no_target;     /* a viewer's message with no forward and no sender yet */
	uint64_t udp_errors;    /* sendto failed */
	uint64_t channels_opened, channels_refused; /* DCEP OPENs accepted / refused */
	uint64_t dcep_bad;      /* malformed DCEP, or data on a stream with no channel */
	uint64_t sctp_rejected; /* SCTP packets usrsctp dropped (checksum, tag, garbage) */
	uint64_t channels_open; /* now */
	uint64_t viewers;       /* now: viewers with an association up */
	/* Time inside camrelay, per message to a viewer's reliable channel: from
	 * the datagram's arrival on listen (the kernel's stamp) to the message's
	 * last piece leaving in a DTLS record (its first transmission). It includes
	 * the wait for the event loop and for usrsctp's congestion and flow window
	 * (a viewer that acknowledges slowly). Counted per viewer and stream. */
	uint64_t delay_count, delay_le_10ms, delay_le_100ms, delay_le_1s, delay_max_ms, delay_sum_us;
	/* Messages (of to_viewers) handed to the viewer's SCTP within 100 ms of
	 * the loop reading their datagram (the bridge's own part: no wait for the
	 * CPU before the read, nor for the viewer), and messages usrsctp then held
	 * for the viewer's window (it had not acknowledged enough: its pace). */
	uint64_t handed_le_100ms, window_waits;
	/* Per stream: datagrams that waited over 100 ms in the socket before the
	 * loop read them (a busy loop or a loaded machine), and the longest wait. */
	uint64_t read_waits_over_100ms, read_wait_max_ms;
	/* Per viewer only: its channels as SCTP runs them (the DCEP OPEN's type),
	 * and messages usrsctp gave up on them under partial reliability. */
	uint64_t abandoned;
	int n_channels;
	struct cr_dc_chan_info_s {
		uint16_t sid;
		bool ordered;
		uint8_t reliability; /* enum cr_dcep_reliability_e */
		uint32_t reliability_param;
		uint64_t abandoned;
	} channels[CR_DC_CHANNELS_SHOWN];
};

/* Whether this build has data channels (libusrsctp); camrelay --version. */
extern const bool cr_dc_available;

/* Checks that every configured listen address can be bound, before anything
 * starts: "file:line:col: stream.X.datachannel.listen: ..." in err. */
int cr_dc_check_config(const struct cr_config_s *cfg, char *err, size_t errlen);

/* The bridges of streams (cfgs[i] is stream i's config); opens their UDP
 * sockets on base. NULL with err when one cannot be opened. A NULL-free
 * result even when no stream has a datachannel (then it does nothing). */
struct cr_dc_s *cr_dc_new(struct event_base *base, const char *cfg_path,
			  const struct cr_stream_cfg_s *const *cfgs, int n, char *err, size_t errlen);
void cr_dc_free(struct cr_dc_s *dc);
/* The stream's bridge config, or NULL when it has none. */
const struct cr_datachannel_cfg_s *cr_dc_config(const struct cr_dc_s *dc, int stream);

/* Sends one SCTP packet as DTLS application data of the viewer's session. */
typedef void (*cr_dc_send_fn)(void *opaque, const uint8_t *p, size_t len);

/* A viewer of stream whose offer had a data channel section (a=sctp-port
 * remote_port, a=max-message-size peer_max, 0 = not said). */
struct cr_dc_peer_s *cr_dc_peer_new(struct cr_dc_s *dc, int stream, const char *viewer_id, uint16_t remote_port,
				    uint64_t peer_max, cr_dc_send_fn send, void *opaque);
/* After the DTLS handshake: starts SCTP. 0 or negative with err. */
int cr_dc_peer_start(struct cr_dc_peer_s *p, char *err, size_t errlen);
/* DTLS application data from the viewer. */
void cr_dc_peer_input(struct cr_dc_peer_s *p, const uint8_t *data, size_t len);
/* Ends its association (ABORT, through send) and frees it. */
void cr_dc_peer_free(struct cr_dc_peer_s *p);
void cr_dc_peer_stats(const struct cr_dc_peer_s *p, struct cr_dc_stats_s *out);
void cr_dc_stream_stats(const struct cr_dc_s *dc, int stream, struct cr_dc_stats_s *out);
/* camrelay_datachannel_* lines for /metrics. */
void cr_dc_metrics(const struct cr_dc_s *dc, struct evbuffer *out);

#endif
