/* Config schema, [stream.<name>.datachannel] (net/datachannel.h):
 *
 *   listen = "127.0.0.1:5005"     UDP IP:port; datagrams arriving here go to every open
 *                                 bridged channel of the stream's viewers ("" = none)
 *   forward = "127.0.0.1:5006"    UDP IP:port viewers' messages are sent to
 *                                 ("" = back to the last sender on listen)
 *   label = "control"             only channels of this label are bridged ("" = any)
 *   direction = "both"            both, to_viewers (UDP -> channels only), from_viewers
 *   message_type = "auto"         what a datagram becomes: auto (text when it is UTF-8
 *                                 without control characters, else binary), text, binary
 *   max_message_size = 65536      bytes, both ways, 1..262144; longer ones are refused
 *                                 (and UDP itself carries at most 65507 over IPv4)
 *   viewer_buffer = 262144        bytes queued towards one viewer, 4096..16777216;
 *                                 past it that viewer's messages are dropped
 *   viewer_rate = 200             messages per second one viewer may send, 1..100000
 *   max_channels = 4              open channels per viewer, 1..64
 *
 * Addresses are IP literals (no name lookups on the event loop). Whether
 * listen is free is checked by `serve` before anything starts. */
#include "config/schema_sections.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema_get.h"
#include "core/hostport.h"

static int _address(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		    char *out, size_t size)
{
	char sub[CR_CFG_PATH], host[128], port[16];
	int rc = cr_cfg_get_hostport(c, t, path, key, out, size);
	if (rc <= 0 || !out[0])
		return rc;
	struct in6_addr a6;
	if (cr_hostport_split(out, host, sizeof(host), port, sizeof(port)) < 0 ||
	    (inet_pton(AF_INET, host, &a6) != 1 && inet_pton(AF_INET6, host, &a6) != 1) || atoi(port) < 1)
		return CR_CFG_FAIL(c, cr_toml_get(t, key), cr_cfg_sub(sub, sizeof(sub), path, key),
				   "\"%s\" is not an IP address with a port 1..65535 (e.g. \"127.0.0.1:5005\" or "
				   "\"[::1]:5005\"; host names are not looked up)", out);
	return 1;
}

int cr_cfg_load_datachannel(struct cr_cfg_ctx_s *c, const struct cr_toml_s *st, const char *spath,
			    struct cr_datachannel_cfg_s *d)
{
	static const char *const keys[] = {"listen", "forward", "label", "direction", "message_type",
					   "max_message_size", "viewer_buffer", "viewer_rate", "max_channels", NULL};
	static const char *const directions[] = {"both", "to_viewers", "from_viewers", NULL};
	static const char *const types[] = {"auto", "text", "binary", NULL};
	const struct cr_toml_s *t = NULL, *listen = NULL;
	char path[CR_CFG_PATH], choice[16] = "";
	int rc = cr_cfg_get_table(c, st, spath, "datachannel", &t);
	if (rc <= 0)
		return rc;
	cr_cfg_sub(path, sizeof(path), spath, "datachannel");
	d->present = true;
	d->max_message_size = 65536;
	d->viewer_buffer = 262144;
	d->viewer_rate = 200;
	d->max_channels = 4;
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = _address(c, t, path, "listen", d->listen, sizeof(d->listen))) < 0 ||
	    (rc = _address(c, t, path, "forward", d->forward, sizeof(d->forward))) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "label", d->label, sizeof(d->label), NULL)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "max_message_size", 1, 262144, &d->max_message_size)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "viewer_buffer", 4096, 16 << 20, &d->viewer_buffer)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "viewer_rate", 1, 100000, &d->viewer_rate)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "max_channels", 1, 64, &d->max_channels)) < 0)
		return rc;
	if ((rc = cr_cfg_get_choice(c, t, path, "direction", "direction", directions, choice, sizeof(choice))) < 0)
		return rc;
	d->direction = rc ? (enum cr_dc_direction_e)cr_cfg_index_of(directions, choice) : CR_DC_BOTH;
	if ((rc = cr_cfg_get_choice(c, t, path, "message_type", "message type", types, choice, sizeof(choice))) < 0)
		return rc;
	d->message_type = rc ? (enum cr_dc_msgtype_e)cr_cfg_index_of(types, choice) : CR_DC_AUTO;
	listen = cr_toml_get(t, "listen");
	if (listen) {
		d->listen_line = cr_toml_line(listen);
		d->listen_col = cr_toml_col(listen);
	}
	if (!d->listen[0] && !d->forward[0])
		return cr_cfg_fail_at(c, cr_toml_line(t), cr_toml_col(t), path,
				      "a datachannel needs listen (UDP to viewers), forward (viewers to UDP) or both");
	if (!d->listen[0] && d->direction != CR_DC_FROM_VIEWERS)
		return cr_cfg_missing(c, t, path, "listen",
				      " (datagrams to the viewers arrive there; or set direction = \"from_viewers\")");
	return 0;
}
