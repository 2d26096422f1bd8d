/* WHIP when the build has no OpenSSL/libsrtp2 (meson -Dwebrtc=disabled):
 * no whip sink (the config names it, the sink table lacks it), no figures. */
#include <jansson.h>

#include "net/whip.h"

json_t *cr_whip_json(const char *stream, bool admin)
{
	(void)stream, (void)admin;
	return json_array();
}

void cr_whip_metrics(struct evbuffer *out) { (void)out; }
