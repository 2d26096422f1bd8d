/* libFuzzer: RTSP requests and responses as the server and the push sink
 * read them (net/rtsp_msg.c): the message parser, then the Transport
 * header, the URL and its query, and the auth headers' parameters
 * (Digest Authorization, WWW-Authenticate) of what parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/rtsp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cr_rtsp_msg_s m;
	int n = cr_rtsp_parse(data, size, &m);
	if (n > (int)size || (n < 0 && n != -400 && n != -413 && n != -505))
		abort();
	if (n > 0 && m.body && (m.body < data || m.body + m.content_length > data + size))
		abort();
	struct cr_rtsp_transport_s t;
	if (cr_rtsp_parse_transport(m.transport, &t) == 0 &&
	    (t.interleaved[0] > 255 || t.interleaved[1] > 255 || t.client_port[0] > 65535 || t.client_port[1] > 65535))
		abort();
	struct cr_rtsp_url_s u;
	char v[64];
	static const char *const keys[] = {"realm", "nonce", "username", "uri", "response", "qop", "nc", "cnonce"};
	for (size_t i = 0; n > 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (cr_rtsp_header_param(m.authorization, keys[i], v, sizeof(v)) && strlen(v) >= sizeof(v))
			abort();
		if (cr_rtsp_header_param(m.www_authenticate, keys[i], v, sizeof(v)) && strlen(v) >= sizeof(v))
			abort();
	}
	if (cr_rtsp_parse_url(m.uri, &u) == 0) {
		if ((u.host[0] && u.port < 1) || u.port > 65535 || strlen(u.path) >= sizeof(u.path))
			abort();
		cr_rtsp_query_get(u.query, "token", v, sizeof(v));
	}
	/* The raw input as a Transport value and a URL too (NUL-terminated). */
	char text[1024];
	size_t k = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, k);
	text[k] = 0;
	cr_rtsp_parse_transport(text, &t);
	cr_rtsp_header_param(text, "nonce", v, sizeof(v));
	if (cr_rtsp_parse_url(text, &u) == 0)
		cr_rtsp_query_get(u.query, "token", v, sizeof(v));
	return 0;
}
