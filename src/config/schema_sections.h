/* Private to src/config: the loaders of a stream's blocks, called by the
 * stream loader in schema.c. Each returns 0 or a negative errno after writing
 * "file:line:col: path: problem" through c. */
#ifndef CR_CONFIG_SCHEMA_SECTIONS_H
#define CR_CONFIG_SCHEMA_SECTIONS_H

#include "config/schema_get.h"
#include "core/config.h"
#include "core/options.h"

/* One [[stream.<name>.sources]] entry (schema_source.c). */
int cr_cfg_load_source(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		       struct cr_source_cfg_s *src);
/* One [[stream.<name>.sinks]] entry (schema_sink.c), read when the daemon
 * has handed over its sink tables (cr_cfg_sinks_known). */
bool cr_cfg_sinks_known(void);
/* s: its stream, whose sources are read (a sink's capabilities are checked
 * against the stream's codec). */
int cr_cfg_load_sink(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_sink_cfg_s *sink,
		     const struct cr_stream_cfg_s *s);
/* [stream.<name>.audio] (schema_audio.c); after the sources (it sets their
 * test pattern's flash). */
int cr_cfg_load_audio(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_stream_cfg_s *s);

/* schema_backend.c: a backend's own keys (core/options.h), as the schema
 * sees a backend of the generated tables. */
struct cr_cfg_backend_s {
	const char *name;
	const struct cr_option_s *options;
};
/* Unknown-key check of a capture/encoder table: its common keys and every
 * key some backend declares. */
int cr_cfg_check_backend_keys(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			      const char *const *common, const struct cr_cfg_backend_s *b, size_t n);
/* The chosen backend's options from t into block (defaults first); a key
 * only other backends declare: "KEY applies to the X backend only". */
int cr_cfg_load_backend_options(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
				const struct cr_cfg_backend_s *b, size_t n, const struct cr_cfg_backend_s *chosen,
				void *block, size_t block_size);

/* One option of a backend's table from t into block (1 set, 0 absent, <0). */
int cr_cfg_load_option(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
		       const struct cr_option_s *o, void *block);
/* Where o ends in its block (offset + size of its value). */
size_t cr_cfg_option_end(const struct cr_option_s *o);
/* "missing required key" for the first required option t lacks. */
int cr_cfg_check_required(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			  const struct cr_option_s *opts);

/* schema_auth.c: [http]'s access keys, [auth], [limits], a stream's webrtc_codecs. */
int cr_cfg_load_http_access(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_http_cfg_s *h);
int cr_cfg_load_auth(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_auth_cfg_s *a);
int cr_cfg_load_limits(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_limits_cfg_s *l);
int cr_cfg_load_webrtc_codecs(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			      struct cr_stream_cfg_s *s);
/* schema_datachannel.c: [stream.<name>.datachannel]. */
int cr_cfg_load_datachannel(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
			    struct cr_datachannel_cfg_s *d);

#endif
