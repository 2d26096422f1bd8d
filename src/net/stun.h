/* STUN (RFC 5389/8489) as ICE-lite needs it: parse a Binding request, check
 * its MESSAGE-INTEGRITY (short-term credentials) and FINGERPRINT, and answer
 * with XOR-MAPPED-ADDRESS. Written by hand (about 200 lines): libnice's STUN
 * API would bring GLib and an agent model this server does not use. */
#ifndef CR_STUN_H
#define CR_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CR_STUN_BINDING_REQUEST 0x0001
#define CR_STUN_BINDING_SUCCESS 0x0101
#define CR_STUN_BINDING_INDICATION 0x0011

struct cr_stun_msg_s {
	uint16_t type;
	uint8_t tid[12];
	const uint8_t *username; /* points into the message; not terminated */
	size_t username_len;
	bool use_candidate, ice_controlling, ice_controlled;
	uint32_t priority;
	size_t integrity_at; /* offset of the MESSAGE-INTEGRITY attribute, 0 when absent */
	bool fingerprint;    /* present (and checked by parse) */
	bool has_xor_mapped;
	struct sockaddr_storage xor_mapped;
};

/* RFC 7983 first-byte demultiplexing: 0..3 is STUN. */
static inline bool cr_stun_is(const uint8_t *p, size_t len)
{
	return len >= 20 && p[0] < 4 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xa4 && p[7] == 0x42;
}

/* Structure, attribute bounds and FINGERPRINT when present. 0 or -EINVAL. */
int cr_stun_parse(const uint8_t *p, size_t len, struct cr_stun_msg_s *m);
/* MESSAGE-INTEGRITY with the short-term key (the ICE password). */
bool cr_stun_check_integrity(const uint8_t *p, size_t len, const struct cr_stun_msg_s *m,
			     const char *key, size_t keylen);
/* A Binding success response for the request `tid`, from `addr`, signed with
 * key and fingerprinted. Returns its length, 0 if cap is too small. */
size_t cr_stun_binding_response(uint8_t *out, size_t cap, const uint8_t tid[12],
				const struct sockaddr *addr, const char *key, size_t keylen);
/* A Binding request (for tests and clients): USERNAME, PRIORITY,
 * ICE-CONTROLLING, USE-CANDIDATE when asked, MESSAGE-INTEGRITY, FINGERPRINT. */
size_t cr_stun_binding_request(uint8_t *out, size_t cap, const uint8_t tid[12], const char *username,
			       const char *key, size_t keylen, bool use_candidate);
/* The same with the ICE role chosen: an ICE-lite agent's consent checks
 * (RFC 7675) carry ICE-CONTROLLED and no USE-CANDIDATE. */
size_t cr_stun_check_request(uint8_t *out, size_t cap, const uint8_t tid[12], const char *username,
			     const char *key, size_t keylen, bool use_candidate, bool controlling);

/* For TURN (net/turn.c): an XOR-*-ADDRESS value into ss (family 0 when
 * malformed); one written as attribute `type` (returns its size, 0 when it
 * does not fit); MESSAGE-INTEGRITY and FINGERPRINT appended to a message of
 * `off` bytes (returns the new size, 0 when it does not fit). */
void cr_stun_xor_addr(const uint8_t *v, size_t len, const uint8_t *tid, struct sockaddr_storage *ss);
size_t cr_stun_put_xor_addr(uint8_t *a, size_t cap, uint16_t type, const struct sockaddr *addr,
			    const uint8_t tid[12]);
size_t cr_stun_seal(uint8_t *out, size_t cap, size_t off, const char *key, size_t keylen);

#endif
