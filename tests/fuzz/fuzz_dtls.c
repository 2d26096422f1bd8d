/* libFuzzer: datagrams into a fresh DTLS-SRTP server session, as the WebRTC
 * UDP port passes them on (first byte 20..63), several per input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dtls.h"

static size_t sent;

static void _send(void *opaque, const uint8_t *p, size_t len)
{
	(void)opaque;
	(void)p;
	if (len > 1200 + 64)
		abort(); /* datagrams are cut at record boundaries under the MTU */
	sent += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cr_dtls_ctx_s *ctx;
	if (!ctx) {
		char err[256];
		ctx = cr_dtls_ctx_new(err, sizeof(err));
		if (!ctx)
			abort();
	}
	struct cr_dtls_s *d = cr_dtls_new(ctx, "sha-256", "", _send, NULL);
	/* Input: [len16][datagram]... */
	while (size >= 2) {
		size_t n = (size_t)(data[0] << 8 | data[1]);
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		int r = cr_dtls_input(d, data, n);
		(void)cr_dtls_tick(d);
		if (r < 0)
			break;
		data += n;
		size -= n;
	}
	cr_dtls_free(d);
	return 0;
}
