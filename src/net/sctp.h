/* SCTP over DTLS (RFC 8261) for WebRTC data channels, on Debian's
 * libusrsctp (the userland stack browsers and Janus used). One association
 * per WHEP viewer; its packets travel as DTLS application data of the
 * viewer's session (the caller moves them both ways).
 *
 * usrsctp keeps global state: it is started with the first association and
 * finished after the last (usrsctp_init_nothreads: no receive or timer
 * threads; only its idle "iterator" thread runs). Every call here, and
 * every callback, happens on the caller's one thread (the HTTP event loop);
 * cr_sctp_timers must be called often (every 10..50 ms) while associations
 * exist. Callbacks run after usrsctp has returned, never inside it, and must
 * not free the association they are called for. */
#ifndef CR_NET_SCTP_H
#define CR_NET_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cr_sctp_s;

struct cr_sctp_cb_s {
	/* One SCTP packet to send as DTLS application data. */
	void (*output)(void *opaque, const uint8_t *p, size_t len);
	/* A whole message (never truncated). */
	void (*message)(void *opaque, uint16_t sid, uint32_t ppid, const uint8_t *p, size_t len);
	/* A message longer than max_message arrived and was discarded. */
	void (*oversized)(void *opaque, uint16_t sid, size_t len);
	/* The peer reset (closed) its outgoing stream sid. */
	void (*stream_reset)(void *opaque, uint16_t sid);
	/* The association came up (true) or ended (false). */
	void (*state)(void *opaque, bool up);
};

struct cr_sctp_opts_s {
	uint16_t local_port, remote_port; /* a=sctp-port of the answer and of the offer */
	int sndbuf;         /* bytes queued towards the peer at most (its buffer) */
	int rcvbuf;         /* the receive window */
	size_t max_message; /* longer incoming messages are discarded */
};

/* Starts the association (both ends connect, RFC 8841). NULL with a message
 * in err on failure. */
struct cr_sctp_s *cr_sctp_new(const struct cr_sctp_opts_s *o, const struct cr_sctp_cb_s *cb, void *opaque,
			      char *err, size_t errlen);
/* Closes it at once (ABORT to the peer) and forgets it. */
void cr_sctp_free(struct cr_sctp_s *s);
/* One SCTP packet from the peer (DTLS application data). Returns 0, or
 * -EBADMSG when usrsctp dropped it (bad checksum, tag, too short...). */
int cr_sctp_input(struct cr_sctp_s *s, const uint8_t *p, size_t len);
/* Queues one message. pr_policy: 0 reliable, 1 at most pr_value
 * retransmissions, 2 given up after pr_value ms. 0; -EAGAIN when the
 * peer's buffer (sndbuf) has no room for it; -ENOTCONN before the
 * association is up or after it ended; -EMSGSIZE; -EIO. */
int cr_sctp_send(struct cr_sctp_s *s, uint16_t sid, uint32_t ppid, bool unordered, int pr_policy,
		 uint32_t pr_value, const void *p, size_t len);
/* Resets (closes) our outgoing stream sid: how a channel is closed or
 * refused (RFC 8831 6.7). */
int cr_sctp_reset_stream(struct cr_sctp_s *s, uint16_t sid);
bool cr_sctp_up(const struct cr_sctp_s *s);
/* Keeps usrsctp initialised between associations (an owner's lifetime):
 * without a hold it is finished after the last association ends. */
void cr_sctp_hold(void);
void cr_sctp_release(void);
/* Runs usrsctp's timers for the time passed since the last call. */
void cr_sctp_timers(void);
/* Whether any association exists (the caller's timer can stop). */
bool cr_sctp_active(void);
/* Messages of our stream sid that usrsctp gave up under partial reliability
 * (sent or not yet sent), as it counts them. 0 or -errno. */
int cr_sctp_abandoned(const struct cr_sctp_s *s, uint16_t sid, uint64_t *out);

/* One DATA chunk of an SCTP packet. */
struct cr_sctp_data_s {
	uint32_t tsn, ppid;
	uint16_t sid;
	uint8_t flags; /* CR_SCTP_DATA_* */
};
#define CR_SCTP_DATA_END 0x01       /* the message's last piece */
#define CR_SCTP_DATA_BEGIN 0x02
#define CR_SCTP_DATA_UNORDERED 0x04
/* Calls fn for each DATA chunk of one SCTP packet (e.g. one that output is
 * handed); stops at the first chunk whose length does not fit. */
void cr_sctp_data_chunks(const uint8_t *p, size_t len, void (*fn)(void *opaque, const struct cr_sctp_data_s *d),
			 void *opaque);

#endif
