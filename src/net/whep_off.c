/* WHEP when the build has no OpenSSL/libsrtp2 (meson -Dwebrtc=disabled). */
#include <stdio.h>

#include "net/whep.h"

struct cr_whep_s *cr_whep_attach(struct evhttp *http, struct event_base *base,
				 const struct cr_config_s *cfg, struct cr_stream_s **streams, int n,
				 char *err, size_t errlen)
{
	snprintf(err, errlen, "WebRTC is not in this build (OpenSSL or libsrtp2 were missing)");
	return NULL;
}

void cr_whep_detach(struct cr_whep_s *w) {}

const enum cr_codec_e *cr_whep_codecs(void) { return NULL; }

void cr_whep_add_stream(struct cr_whep_s *w, struct cr_stream_s *s) {}

void cr_whep_foreach_viewer(struct cr_whep_s *w,
			    void (*fn)(const struct cr_whep_viewer_info_s *, void *), void *opaque)
{
}

void cr_whep_stats(struct cr_whep_s *w, struct cr_whep_stats_s *out) { *out = (struct cr_whep_stats_s){0}; }

void cr_whep_metrics(struct cr_whep_s *w, struct evbuffer *out) {}

bool cr_whep_dc_stats(struct cr_whep_s *w, const char *stream, struct cr_dc_stats_s *out) { return false; }

struct json_t *cr_whep_dc_json(const struct cr_dc_stats_s *s, bool per_viewer) { return NULL; }

int cr_whep_viewer_stream(struct cr_whep_s *w, const char *id) { return -1; }

bool cr_whep_viewer_end(struct cr_whep_s *w, const char *id, const char *why) { return false; }
void cr_whep_set_g2g(struct cr_whep_s *w, struct json_t *(*fn)(void *, const char *, const char *), void *opaque) {}

const struct cr_datachannel_cfg_s *cr_whep_dc_config(struct cr_whep_s *w, int stream) { return NULL; }
