/* Backends built as loadable modules (camrelay-NAME.so), as GStreamer and
 * PipeWire load their plugins: a heavy library (libx265, ...) is mapped only
 * when a config uses its backend, and a system without it installed still
 * runs every other backend.
 *
 * The core keeps such a backend's table entry (its name, codecs and options:
 * what the config reader, `camrelay --version` and the look-ups need) in a
 * small file of its own (encode/x265_module.c); the entry loads the module on
 * first use. A module calls back into camrelay only through the table it is
 * handed at load (struct cr_module_host_s, core/module_host.c), so it loads
 * the same way into the daemon, libcamrelay.so and the test programs, none of
 * which export their internals. */
#ifndef CR_MODULE_H
#define CR_MODULE_H

#include <stddef.h>

#include "audio/audio.h"
#include "convert/convert.h"
#include "core/frame.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/stream.h"
#include "source/source.h"

/* What a module exports: its backend table(s) and cr_module_init. */
#define CR_MODULE_EXPORT __attribute__((visibility("default")))

/* camrelay's functions a module may call. A new one: a field here, its
 * value in module.c and its forwarder in module_host.c. */
struct cr_module_host_s {
	size_t size;         /* sizeof(struct cr_module_host_s) of the host */
	const char *version; /* CR_VERSION of the host */
	struct cr_packet_s *(*packet_new)(enum cr_codec_e codec, size_t size);
	void (*packet_unref)(struct cr_packet_s *p);
	struct cr_frame_s *(*frame_new)(enum cr_pixfmt_e fmt, int w, int h, size_t max_size);
	struct cr_frame_s *(*frame_wrap)(enum cr_pixfmt_e fmt, int w, int h, void *owner,
					 void (*release)(struct cr_frame_s *f));
	void (*frame_reuse)(struct cr_frame_s *f);
	void (*frame_free)(struct cr_frame_s *f);
	void (*frame_unref)(struct cr_frame_s *f);
	/* the URL source's decoder buffers (source/avframe.h) */
	struct cr_pool_s *(*pool_new)(enum cr_pixfmt_e fmt, int w, int h, size_t max_size);
	struct cr_frame_s *(*pool_get)(struct cr_pool_s *pool);
	void (*pool_destroy)(struct cr_pool_s *pool);
	const char *(*pixfmt_name)(enum cr_pixfmt_e f);
	int (*pixfmt_planes)(enum cr_pixfmt_e f, int w, int h, int stride[3], int rows[3]);
	void (*source_caps_str)(const struct cr_source_caps_s *caps, char *out, size_t size);
	const char *(*audio_codec_name)(enum cr_audio_codec_e c);
	void (*url_shown)(const char *url, char *out, size_t n);
	/* cr_log with the message formatted by the module */
	void (*log)(enum cr_log_level_e level, const char *who, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* a sink's (drm): the stream's frames, the converter */
	const char *(*stream_name)(const struct cr_stream_s *s);
	struct cr_stream_stats_s *(*stream_stats)(struct cr_stream_s *s);
	struct cr_sub_s *(*stream_subscribe)(struct cr_stream_s *s, const struct cr_sub_req_s *req);
	void (*stream_unsubscribe)(struct cr_sub_s *sub);
	void *(*sub_pop)(struct cr_sub_s *sub, int timeout_ms);
	void (*sub_sent)(struct cr_sub_s *sub, int64_t ts_capture_ns);
	void (*sub_drop)(struct cr_sub_s *sub);
	struct cr_converter_s *(*converter_new)(void);
	int (*converter_run)(struct cr_converter_s *c, const struct cr_frame_s *in, struct cr_frame_s *out);
	void (*converter_destroy)(struct cr_converter_s *c);
};

/* In every module (module_host.c): takes the host's table; 0, or -1 when the
 * module was built for another camrelay (version or table size differ). */
CR_MODULE_EXPORT int cr_module_init(const struct cr_module_host_s *host);

/* The symbol `symbol` of module camrelay-`module`.so, loading the module
 * the first time (it stays loaded). Looked for in $CAMRELAY_MODULE_DIR when
 * set (only there), else next to the running program (unless it runs from
 * the install's BINDIR) or libcamrelay.so (a build directory), else in the
 * install directory (CR_MODULE_DIR). NULL with
 * one message in err (which names `package`, what to install) when the file
 * is missing, does not load or is from another camrelay. Thread-safe. */
const void *cr_module_symbol(const char *module, const char *symbol, const char *package, char *err,
			     size_t errlen);

/* Where camrelay-`module`.so would be loaded from, without loading it:
 * 1 with its path in path, or 0 with the directories looked in (for
 * `camrelay --version`). */
int cr_module_path(const char *module, char *path, size_t size);

#endif
