/* libFuzzer: what a TURN/STUN server sends camrelay's WHIP agent
 * (net/turn.c): the message parser, ChannelData, and the client fed the
 * input as the server's answer (its transaction id made the one in flight,
 * so that 401s, errors and successes all reach the state machine), then a
 * tick, a permission, a channel and a relayed send. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/turn.h"

static uint8_t _last[2048];
static size_t _last_len;

static void _send(void *opaque, const struct sockaddr_in6 *to, const uint8_t *b, size_t len)
{
	(void)opaque, (void)to;
	_last_len = len < sizeof(_last) ? len : sizeof(_last);
	memcpy(_last, b, _last_len);
}

static void _inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t size)
{
	if (p && (p < buf || p + n > buf + size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];
	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	struct cr_turn_msg_s m;
	if (cr_turn_parse(buf, size, &m) == 0) {
		_inside(m.realm, m.realm_len, buf, size);
		_inside(m.nonce, m.nonce_len, buf, size);
		_inside(m.data, m.data_len, buf, size);
	}
	uint16_t ch;
	uint8_t *d = NULL;
	size_t dl = 0;
	if (cr_turn_channel_data(buf, size, &ch, &d, &dl) == 0)
		_inside(d, dl, buf, size);

	struct sockaddr_in6 srv = {.sin6_family = AF_INET6, .sin6_port = htons(3478)}, peer;
	srv.sin6_addr.s6_addr[10] = srv.sin6_addr.s6_addr[11] = 0xff;
	struct cr_turn_s *t = cr_turn_new(&srv, "user", "pass", _send, NULL);
	if (!t)
		return 0;
	cr_turn_start(t, 0);
	for (int round = 0; round < 3; round++) {
		memcpy(buf, data, size);
		if (size >= 20 && _last_len >= 20)
			memcpy(buf + 8, _last + 8, 12);
		if (cr_turn_input(t, buf, size, round, &d, &dl, &peer) == 1)
			_inside(d, dl, buf, size);
		cr_turn_tick(t, 300000000LL * (round + 1));
		if (cr_turn_state(t) == CR_TURN_READY) {
			cr_turn_permit(t, &srv, 1);
			cr_turn_bind(t, &srv);
			cr_turn_send(t, &srv, data, size > 1400 ? 1400 : size);
		}
	}
	cr_turn_release(t);
	cr_turn_free(t);
	return 0;
}
