/* Configured outputs ([[stream.X.sinks]]): webcam, rtp, drm, overlay, whip, rtsp. One
 * file per sink, one const ops table each (cr_sink_backends[]). A sink
 * subscribes to its stream for raw frames or packets and runs on its own
 * thread; network viewers (MJPEG, WHEP) are not sinks but subscribers made
 * by the HTTP server. */
#ifndef CR_SINK_H
#define CR_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

struct cr_stream_s;

struct cr_sink_s {
	const struct cr_sink_ops_s *ops;
	const struct cr_sink_cfg_s *cfg;
	struct cr_stream_s *stream;
	void *priv;
	char error[256];
};

struct cr_sink_ops_s {
	const char *name;
	enum cr_sink_type_e type;
	int (*open)(struct cr_sink_s *sink);
	void (*close)(struct cr_sink_s *sink);
	/* Its own config keys (core/options.h), CR_OPTS_END-terminated, with
	 * offsets into its own block (struct cr_<name>_opts_s, opts_size bytes,
	 * allocated per configured sink of this type: cr_sink_cfg_s.opts), and
	 * an optional check of keys against each other (given the block); the
	 * config reader gets them through cr_sinks_config_tables(). */
	const struct cr_option_s *options;
	size_t opts_size;
	/* What it takes: codecs or pixel formats, audio (core/options.h). */
	const struct cr_sink_caps_s *caps;
	int (*check)(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, void *sink);
	/* Optional (rtp): the SDP describing what the sink sends, into out; its
	 * length, -EAGAIN while it waits for the stream's parameter sets (not
	 * when `last`), -ENOSPC. */
	int (*sdp)(struct cr_sink_s *sink, char *out, size_t cap, bool last);
	/* Optional, at program start and reload before anything opens: can the
	 * sink run here at all (a module: is it installed)? 0, or -errno with
	 * the reason in err. */
	int (*ready)(char *err, size_t errlen);
};

extern const struct cr_sink_ops_s *const cr_sink_backends[];
/* Whether caps list format (a raw sink's formats; NULL: any). */
bool cr_sink_takes_format(const struct cr_sink_caps_s *caps, enum cr_pixfmt_e format);
/* "h264, h265 ... ; audio" / "raw: yuv420, yuyv ..." / "none": what a sink
 * takes, for --version and messages. */
void cr_sink_caps_str(const struct cr_sink_caps_s *caps, char *out, size_t size);
/* Hands the sinks' option tables to the config reader (cr_config_use_sinks);
 * call before reading a config whose sinks are to be read. */
void cr_sinks_config_tables(void);
const struct cr_sink_ops_s *cr_sink_find(enum cr_sink_type_e type);

/* The sinks of one stream (sinks.c), opened after cr_stream_start() and
 * closed before cr_stream_destroy(). */
struct cr_sinks_s;
int cr_sinks_open(struct cr_stream_s *s, struct cr_sinks_s **out, char *err, size_t errlen);
/* The ready() check of every sink of a stream's config (path: the config
 * file, for the message): 0, or -errno with "PATH:LINE: stream ...: why". */
int cr_sinks_ready(const struct cr_stream_cfg_s *sc, const char *path, char *err, size_t errlen);
void cr_sinks_close(struct cr_sinks_s *set);
/* The SDP of the stream's first sink that describes itself (rtp), see
 * cr_sink_ops_s.sdp; -ENOENT when no sink of the stream has one. */
int cr_sinks_sdp(struct cr_stream_s *s, char *out, size_t cap, bool last);

#endif
