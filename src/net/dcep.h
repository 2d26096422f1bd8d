/* DCEP, the Data Channel Establishment Protocol (RFC 8832), and the
 * payload protocol identifiers of WebRTC data channels (RFC 8831 8.),
 * written by hand: two message types of a dozen bytes that usrsctp leaves to
 * its user. Pure functions over bytes from the network; fuzzed
 * (tests/fuzz/fuzz_dcep.c). */
#ifndef CR_NET_DCEP_H
#define CR_NET_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SCTP payload protocol identifiers. */
#define CR_PPID_DCEP 50
#define CR_PPID_STRING 51
#define CR_PPID_BINARY 53
#define CR_PPID_STRING_EMPTY 56 /* carries one byte that is not part of the message */
#define CR_PPID_BINARY_EMPTY 57

#define CR_DCEP_OPEN 0x03
#define CR_DCEP_ACK 0x02

/* Channel types (RFC 8832 5.1): bit 7 unordered, low bits the reliability. */
#define CR_DCEP_UNORDERED 0x80
enum cr_dcep_reliability_e {
	CR_DCEP_RELIABLE = 0,
	CR_DCEP_REXMIT = 1, /* partially reliable: at most `reliability` retransmissions */
	CR_DCEP_TIMED = 2,  /* partially reliable: given up after `reliability` ms */
};

#define CR_DCEP_MAX_LABEL 255

struct cr_dcep_open_s {
	bool ordered;
	enum cr_dcep_reliability_e reliability;
	uint32_t reliability_param; /* retransmissions or milliseconds */
	uint16_t priority;
	char label[CR_DCEP_MAX_LABEL + 1];    /* NUL-terminated; labels with NUL bytes are refused */
	char protocol[CR_DCEP_MAX_LABEL + 1];
};

/* A DATA_CHANNEL_OPEN message. 0, -EINVAL (not an OPEN, lengths that do not
 * add up, unknown channel type, NUL in a string) or -E2BIG (label or
 * protocol longer than CR_DCEP_MAX_LABEL). */
int cr_dcep_parse_open(const uint8_t *p, size_t len, struct cr_dcep_open_s *out);

/* Whether a datagram reads as text: valid UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF) without control characters other than tab, CR
 * and LF. The bridge sends such datagrams as string messages. */
bool cr_dcep_is_text(const uint8_t *p, size_t len);

#endif
