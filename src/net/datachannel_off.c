/* The bridge when the build has no libusrsctp (meson -Ddatachannel=disabled,
 * or without WebRTC): a config that asks for one is refused at start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "net/datachannel.h"

const bool cr_dc_available = false;

struct cr_dc_s {
	int unused;
};

int cr_dc_check_config(const struct cr_config_s *cfg, char *err, size_t errlen)
{
	for (int i = 0; i < cfg->n_streams; i++)
		if (cfg->streams[i]->datachannel.present) {
			snprintf(err, errlen,
				 "%s: stream.%s.datachannel: data channels are not in this build (it was built without "
				 "libusrsctp or without WebRTC; camrelay --version lists what is)",
				 cfg->path, cfg->streams[i]->name);
			return -ENOTSUP;
		}
	return 0;
}

struct cr_dc_s *cr_dc_new(struct event_base *base, const char *cfg_path,
			  const struct cr_stream_cfg_s *const *cfgs, int n, char *err, size_t errlen)
{
	struct cr_dc_s *dc = calloc(1, sizeof(*dc));
	if (!dc)
		snprintf(err, errlen, "out of memory");
	return dc;
}

void cr_dc_free(struct cr_dc_s *dc) { free(dc); }
const struct cr_datachannel_cfg_s *cr_dc_config(const struct cr_dc_s *dc, int stream) { return NULL; }

struct cr_dc_peer_s *cr_dc_peer_new(struct cr_dc_s *dc, int stream, const char *viewer_id, uint16_t remote_port,
				    uint64_t peer_max, cr_dc_send_fn send, void *opaque)
{
	return NULL;
}

int cr_dc_peer_start(struct cr_dc_peer_s *p, char *err, size_t errlen) { return -ENOTSUP; }
void cr_dc_peer_input(struct cr_dc_peer_s *p, const uint8_t *data, size_t len) {}
void cr_dc_peer_free(struct cr_dc_peer_s *p) {}
void cr_dc_peer_stats(const struct cr_dc_peer_s *p, struct cr_dc_stats_s *out) { *out = (struct cr_dc_stats_s){0}; }
void cr_dc_stream_stats(const struct cr_dc_s *dc, int stream, struct cr_dc_stats_s *out)
{
	*out = (struct cr_dc_stats_s){0};
}
void cr_dc_metrics(const struct cr_dc_s *dc, struct evbuffer *out) {}
