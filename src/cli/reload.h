/* camrelay serve's running streams and live reload (SIGHUP, POST
 * /api/reload): the config file is read again and compared stream by stream
 * with what runs. A stream whose block did not change keeps running (its
 * viewers, clients and sinks are not touched); a changed one restarts its
 * source and sinks in place (its viewers stay connected and get the new
 * source's frames); a new one starts; a removed one stops (its slot stays
 * allocated, hidden from every lookup, because consumers hold indexes into
 * the stream list). A file with errors is refused whole with the same
 * file:line:column message as at start, and nothing changes. Other sections
 * ([http], [auth], [limits], [webrtc], [rtsp]) take effect at a restart;
 * a reload that finds them changed says so. */
#ifndef CR_CLI_RELOAD_H
#define CR_CLI_RELOAD_H

#include <stddef.h>

#include "core/config.h"

struct cr_http_s;
struct cr_stream_s;
struct cr_sinks_s;

/* A config a reload applied: streams' configs share its blocks, so it is
 * kept until camrelay exits (a few KB each: blocks hold what is configured). */
struct cr_serve_loaded_s {
	struct cr_config_s cfg;
	struct cr_serve_loaded_s *prev;
};

struct cr_serve_s {
	const struct cr_config_s *cfg; /* as started: the sections other than streams */
	const char *path;              /* the config file; NULL: the built-in default */
	struct cr_http_s *http;
	int n; /* slots used (removed streams keep theirs) */
	struct cr_stream_s *streams[CR_MAX_STREAMS];
	struct cr_sinks_s *sinks[CR_MAX_STREAMS];
	struct cr_serve_loaded_s *loaded; /* the reloads' configs, newest first */
};

/* cr_http_reload_fn for serve (runs on the HTTP loop): 0 with a summary
 * ("b restarted; c started; d stopped; a unchanged"), or a negative errno
 * with why the file was refused. Logs what it did either way. */
int cr_serve_reload(void *ctx, char *msg, size_t len);

/* Stops and frees every stream and its sinks (after the HTTP server
 * stopped), then the configs reloads loaded. */
void cr_serve_close(struct cr_serve_s *sv);

#endif
