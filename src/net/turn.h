/* TURN (RFC 8656) over UDP and STUN server-reflexive discovery (RFC 8489)
 * for the WHIP sink's ICE agent (net/whip_peer.c): Allocate with long-term
 * credentials (the 401 realm/nonce round, 438 stale nonce), Refresh,
 * CreatePermission, ChannelBind, Send and Data indications, ChannelData.
 *
 * Written by hand on net/stun.c, about 400 lines: libnice (in Debian) has a
 * TURN client, but only inside its own agent, on GLib's main loop, with its
 * own sockets and candidate pairing; camrelay's WHIP agent is a small
 * controlling agent on libevent sharing one UDP socket with DTLS and SRTP,
 * and only needs these few requests. Everything read from the server goes
 * through cr_turn_parse / cr_turn_channel_data (fuzzed: tests/fuzz/fuzz_turn.c).
 *
 * One cr_turn_s is one server (a TURN allocation, or with no user a STUN
 * Binding for the server-reflexive address). It never touches a socket: it
 * hands datagrams for the server to `send`, and gets the server's
 * datagrams through cr_turn_input. */
#ifndef CR_TURN_H
#define CR_TURN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/stun.h"

#define CR_TURN_MAX_PEERS 16

/* ---- messages (parsing is what the fuzzer runs) ---- */

struct cr_turn_msg_s {
	struct cr_stun_msg_s stun; /* type, transaction, MESSAGE-INTEGRITY, XOR-MAPPED-ADDRESS */
	int error_code;            /* ERROR-CODE, 0 when absent */
	char reason[96];           /* its reason phrase, printable */
	const uint8_t *realm, *nonce; /* raw, into the message (sent back as they came) */
	size_t realm_len, nonce_len;
	bool has_relayed, has_peer, has_lifetime;
	struct sockaddr_storage relayed, peer;
	uint32_t lifetime;
	uint8_t *data; /* DATA, into the message */
	size_t data_len;
};

/* A STUN-format message with TURN's attributes. 0 or -EINVAL. */
int cr_turn_parse(uint8_t *p, size_t len, struct cr_turn_msg_s *m);
/* ChannelData (first byte 0x40..0x4f): the channel and its payload. 0 or -EINVAL. */
int cr_turn_channel_data(uint8_t *p, size_t len, uint16_t *channel, uint8_t **data, size_t *data_len);

/* ---- the client ---- */

enum cr_turn_state_e { CR_TURN_WAITING = 0, CR_TURN_READY, CR_TURN_FAILED };

typedef void (*cr_turn_send_fn)(void *opaque, const struct sockaddr_in6 *to, const uint8_t *b, size_t len);

struct cr_turn_s;
/* server: the TURN/STUN server (IPv4 as v4-mapped). user NULL: STUN only. */
struct cr_turn_s *cr_turn_new(const struct sockaddr_in6 *server, const char *user, const char *pass,
			      cr_turn_send_fn send, void *opaque);
void cr_turn_free(struct cr_turn_s *t);
/* Sends the first request (Binding, or Allocate). */
void cr_turn_start(struct cr_turn_s *t, int64_t now_ns);
/* Retransmissions, then refreshes of the allocation, permissions, channel. */
void cr_turn_tick(struct cr_turn_s *t, int64_t now_ns);
enum cr_turn_state_e cr_turn_state(const struct cr_turn_s *t);
const char *cr_turn_error(const struct cr_turn_s *t);
const struct sockaddr_in6 *cr_turn_server(const struct cr_turn_s *t);
/* Server-reflexive and relayed addresses (READY; family 0 when unknown). */
const struct sockaddr_in6 *cr_turn_mapped(const struct cr_turn_s *t);
const struct sockaddr_in6 *cr_turn_relayed(const struct cr_turn_s *t);
/* Whether the datagram came from this server. */
bool cr_turn_from(const struct cr_turn_s *t, const struct sockaddr_in6 *from);
/* A datagram from the server: 0 when it was TURN's own, 1 when it carried a
 * peer's datagram (*data points into b, *peer its sender), -EINVAL. */
int cr_turn_input(struct cr_turn_s *t, uint8_t *b, size_t len, int64_t now_ns, uint8_t **data, size_t *data_len,
		  struct sockaddr_in6 *peer);
/* Lets these peers' datagrams through the relay (CreatePermission, renewed). */
void cr_turn_permit(struct cr_turn_s *t, const struct sockaddr_in6 *peers, int n);
/* Binds a channel to peer: ChannelData from then on instead of indications. */
void cr_turn_bind(struct cr_turn_s *t, const struct sockaddr_in6 *peer);
/* Sends b to peer through the relay. 0 or -EMSGSIZE / -ENOTCONN. */
int cr_turn_send(struct cr_turn_s *t, const struct sockaddr_in6 *peer, const uint8_t *b, size_t len);
/* The address of "stun:host[:port]" / "turn:host[:port][?transport=...]"
 * (IPv4 first, v4-mapped; port 3478 by default), *tcp when it asks for TCP.
 * Resolves names with getaddrinfo, on the caller's thread. 0 or -ENOENT. */
int cr_turn_resolve(const char *url, struct sockaddr_in6 *out, bool *tcp);
/* Gives the allocation back (Refresh with LIFETIME 0, not retried). */
void cr_turn_release(struct cr_turn_s *t);

#endif
