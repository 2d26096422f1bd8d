/* Configuration keys a backend declares for itself (in the spirit of FFmpeg's
 * AVOption and PipeWire's SPA props): each source, encoder and sink backend lists
 * its own keys in its ops table, with type, default, range or allowed
 * values, where the value goes in the backend's own block, and a help line.
 * The config schema (src/config/schema_backend.c) walks these tables: it
 * keeps no list of backends, codecs or backend keys of its own. */
#ifndef CR_OPTIONS_H
#define CR_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/format.h"

enum cr_opt_type_e {
	CR_OPT_INT = 1, /* int; min..max */
	CR_OPT_BOOL,    /* bool */
	CR_OPT_CHOICE,  /* char[size]: one of choices ("" until set) */
	CR_OPT_STRING,  /* char[size] */
	CR_OPT_CUSTOM,  /* read by the option's own load() (rectangles, URLs, lists) */
};

struct cr_cfg_ctx_s;
struct cr_toml_s;
struct cr_option_s;
/* CR_OPT_CUSTOM: reads o->key of the TOML table t into block. 1 when set, 0
 * when absent, or a negative errno after writing "file:line:col: path: ..."
 * through c (config/schema_get.h has the getters). */
typedef int (*cr_option_load_f)(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path,
				const struct cr_option_s *o, void *block);

struct cr_option_s {
	const char *key;
	enum cr_opt_type_e type;
	size_t offset, size; /* in the backend's block (size: of a char array) */
	int64_t def, min, max;       /* INT (def, min, max), BOOL (def) */
	const char *const *choices;  /* CHOICE: NULL-terminated allowed values */
	const char *def_str;         /* CHOICE, STRING: default, NULL = "" */
	const char *noun;            /* in messages ("unknown test pattern"), NULL = key */
	const char *help;            /* one line: what it does */
	cr_option_load_f load;       /* CUSTOM */
	const char *required;        /* non-NULL: the key must be set; the hint the message ends with */
};

/* A sink backend as the config reader sees it. The sinks live in the daemon
 * (src/sink/), the reader in the library: the daemon hands its table over
 * with cr_config_use_sinks() (core/config.h) before it reads a config. */
struct cr_sink_schema_s {
	const char *name;
	int type;                          /* enum cr_sink_type_e */
	const struct cr_option_s *options; /* offsets into the sink's own block */
	size_t opts_size;                  /* that block's size (allocated per configured sink) */
	/* Optional: checks keys against each other once all are read. */
	int (*check)(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, void *sink);
	/* What it takes (struct cr_sink_caps_s), checked against the stream. */
	const struct cr_sink_caps_s *caps;
};

/* A sink's capabilities, declared in its ops table: checked when the config
 * is read (an encoded stream's codec, a raw sink's pixel_format) and shown
 * by `camrelay --version`. */
struct cr_sink_caps_s {
	bool raw;                         /* takes raw frames (else encoded packets, or none: overlay) */
	const enum cr_codec_e *codecs;    /* encoded: the codecs it sends, CR_CODEC_NONE-terminated */
	const enum cr_pixfmt_e *formats;  /* raw: the pixel formats it writes (pixel_format), NONE-terminated;
					   * NULL: it converts what it gets itself */
	unsigned audio;                   /* the audio codecs it carries (audio.h CR_AUDIO_TAKES_*: 1 << codec,
					   * bit 0 Opus), 0: no audio */
};

/* Every backend's block is this big at most (its options' offset + size;
 * a backend's table is checked against it when the config is read). */
#define CR_BACKEND_OPTS_SIZE 32
/* An encoder's block: room for v4l2-m2m's device path and fallback. */
#define CR_ENCODER_OPTS_SIZE 304
#define CR_OPTS_END {0}

/* The option named key, or NULL. */
const struct cr_option_s *cr_option_find(const struct cr_option_s *opts, const char *key);
/* The value of a CHOICE or STRING option key in block; "" when opts does
 * not declare key (a key of other backends). */
const char *cr_option_str(const struct cr_option_s *opts, const void *block, const char *key);
/* Writes every option's default into block. */
void cr_options_defaults(const struct cr_option_s *opts, void *block);
/* Sets one option from text (the public API's char * settings). 0, or
 * -EINVAL with the problem (allowed values listed) in err. */
int cr_option_set_text(const struct cr_option_s *opts, void *block, const char *key, const char *value, char *err,
		       size_t errlen);

#endif
