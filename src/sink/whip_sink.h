/* The whip sink's own keys (its block in struct cr_sink_cfg_s; the option
 * table in whip.c). */
#ifndef CR_SINK_WHIP_SINK_H
#define CR_SINK_WHIP_SINK_H

#include "core/config.h"

struct cr_whip_opts_s {
	char url[512];      /* http:// or https:// WHIP endpoint */
	char token[1024];   /* Authorization: Bearer; "" = none */
	int backoff_max_ms; /* longest wait between attempts, default 8000 */
	int n_ice_servers;
	struct cr_ice_server_cfg_s ice_servers[CR_MAX_ICE_SERVERS];
};

#endif
