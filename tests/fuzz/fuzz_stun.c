/* libFuzzer: STUN parsing and MESSAGE-INTEGRITY checking as the WebRTC UDP
 * port sees it (first byte 0..3), and a response built for what parsed. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_stun_msg_s m;
	if (cr_stun_parse(data, size, &m) < 0)
		return 0;
	if (m.username && (m.username < data || m.username + m.username_len > data + size))
		abort();
	if (m.integrity_at && m.integrity_at + 24 > size)
		abort();
	(void)cr_stun_check_integrity(data, size, &m, "0123456789abcdefghijkl", 22);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1234)};
	uint8_t out[256];
	size_t n = cr_stun_binding_response(out, sizeof(out), m.tid, (struct sockaddr *)&a, "pw", 2);
	struct cr_stun_msg_s r;
	if (n == 0 || cr_stun_parse(out, n, &r) < 0 || !cr_stun_check_integrity(out, n, &r, "pw", 2))
		abort(); /* our own response must always verify */
	return 0;
}
