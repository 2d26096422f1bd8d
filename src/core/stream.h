/* A stream: one source feeding many consumers through shared stages.
 *
 *   source ──► [convert to F] ──► raw subscribers wanting F (webcam, display)
 *      └─────► [encode C]     ──► packet subscribers wanting C (MJPEG, WHEP, RTP)
 *
 * One stage per distinct raw format and per distinct encoder setting, shared
 * by all its subscribers; a stage exists while it has subscribers. Every
 * subscriber has its own bounded queue that keeps the newest items, so a
 * slow consumer drops frames for itself only. */
#ifndef CR_STREAM_H
#define CR_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/frame.h"
#include "core/stats.h"
#include "source/source.h"

struct cr_stream_s;
struct cr_sub_s;

enum cr_sub_kind_e { CR_SUB_RAW = 1, CR_SUB_ENCODED };

/* Explicit caps: what a subscriber's items are. The core works them out
 * from what its stage delivers and tells the subscriber when they change,
 * so a consumer never compares frames or packets itself. */
struct cr_caps_s {
	enum cr_sub_kind_e kind;
	uint64_t generation;     /* 1 for the subscriber's first caps, +1 at each change; 0 = none yet */
	int width, height;
	enum cr_pixfmt_e format; /* raw: the pixel format (CR_PIXFMT_NONE for encoded) */
	enum cr_codec_e codec;   /* encoded: the codec (0 for raw) */
	bool full_range;         /* raw: YUV 0..255 (JPEG); false = BT.601 limited range */
	int fps_num, fps_den;    /* the source's frame rate = num/den; 0/0: variable or unknown */
	/* encoded H.264/H.265: profile_idc and level_idc of the stream's SPS (the
	 * encoder's, or the source's when passed through); 0 = unknown or other codec */
	int profile, level;
};

struct cr_sub_req_s {
	enum cr_sub_kind_e kind;
	enum cr_pixfmt_e format;         /* raw: wanted format; NONE = as captured */
	int width, height;               /* raw: wanted size; 0 = as captured */
	struct cr_encoder_cfg_s encoder; /* encoded: codec and its parameters */
	int depth;                       /* queue depth, default 2 */
	/* Optional: called (from a pipeline thread) after each push. */
	void (*notify)(void *opaque);
	/* Optional, instead of the queue: called on the stage thread with each
	 * item (a borrowed reference: take one to keep it). It must not
	 * unsubscribe or destroy the stream; a slow one delays the stage. */
	void (*deliver)(void *item, void *opaque);
	/* Optional: called when the caps of this subscriber's items change
	 * (before its first item, and again before the first item with other
	 * caps: a camera back at another size, an encoder restarted), with the
	 * new caps. It runs where the item is handed over: on the stage thread
	 * for `deliver`, inside cr_sub_pop() for a queue. */
	void (*caps)(const struct cr_caps_s *caps, void *opaque);
	void *opaque; /* for notify, deliver and caps */
	const char *name; /* for /api/streams, e.g. "mjpeg 127.0.0.1:5678" */
};

enum cr_source_state_e {
	CR_SOURCE_STARTING = 0,
	CR_SOURCE_RUNNING,
	CR_SOURCE_NO_SIGNAL,    /* open, but no frames arrive */
	CR_SOURCE_RECONNECTING, /* failed; reopening with backoff */
	CR_SOURCE_STOPPED,
};

struct cr_stream_status_s {
	enum cr_source_state_e state;
	char message[256]; /* why, when not running */
	char note[256];    /* negotiation note */
	char backend[16];
	char device[256];
	enum cr_pixfmt_e format;
	int width, height;
	int buffers; /* capture buffers the device gave, 0: none of its own */
	double fps_nominal, fps_measured;
	int n_subs;
	int n_encoders;  /* encode stages: one per distinct encoder setting, shared by its subscribers */
	uint64_t drops; /* all subscribers together */
};

const char *cr_source_state_name(enum cr_source_state_e s);

struct cr_stream_s *cr_stream_new(const struct cr_stream_cfg_s *cfg);
/* Starts the capture thread (the daemon opens the configured sinks,
 * src/sink/sinks.c). */
int cr_stream_start(struct cr_stream_s *s, char *err, size_t errlen);
/* Stops everything; subscribers must be gone (or are closed). */
void cr_stream_destroy(struct cr_stream_s *s);
/* Stops the capture thread (state "stopped"); subscribers stay. */
void cr_stream_stop(struct cr_stream_s *s);
/* Live reload: stops the source, takes cfg (same name) and starts again;
 * subscribers stay subscribed and get the new source's frames. The audio
 * ([stream.X.audio]) is not touched: a change there needs a restart. */
int cr_stream_reconfigure(struct cr_stream_s *s, const struct cr_stream_cfg_s *cfg, char *err, size_t errlen);
/* A stream taken out of the config by a reload stays allocated (consumers
 * hold indexes to it) but stopped; lookups by name skip it. */
void cr_stream_set_removed(struct cr_stream_s *s, bool removed);
bool cr_stream_removed(const struct cr_stream_s *s);

const char *cr_stream_name(const struct cr_stream_s *s);
const struct cr_stream_cfg_s *cr_stream_cfg(const struct cr_stream_s *s);
struct cr_stream_stats_s *cr_stream_stats(struct cr_stream_s *s);
/* The stream's audio branch (audio/audio.h), NULL without [stream.X.audio]. */
struct cr_audio_s *cr_stream_audio(struct cr_stream_s *s);
void cr_stream_status(struct cr_stream_s *s, struct cr_stream_status_s *st);

struct cr_sub_s *cr_stream_subscribe(struct cr_stream_s *s, const struct cr_sub_req_s *req);
/* Whether two subscribers' encoder settings are served by one encoder. */
bool cr_encoder_cfg_equal(const struct cr_encoder_cfg_s *a, const struct cr_encoder_cfg_s *b);
void cr_stream_unsubscribe(struct cr_sub_s *sub);
/* Next item (struct cr_frame_s * or struct cr_packet_s *, by kind), the
 * caller owns one reference; NULL on timeout. Every item popped ends as
 * cr_sub_sent() or cr_sub_drop() (or neither, when the subscriber skips it
 * by its own choice, e.g. above its rate cap). */
void *cr_sub_pop(struct cr_sub_s *sub, int timeout_ms);
void cr_sub_unref_item(struct cr_sub_s *sub, void *item);
/* The caps of the last item handed to the subscriber (any thread); 0, or
 * -EAGAIN before its first item. */
int cr_sub_caps(struct cr_sub_s *sub, struct cr_caps_s *out);
/* Counts an item as delivered (handed to the socket, device or screen)
 * and records its capture→sent latency. */
void cr_sub_sent(struct cr_sub_s *sub, int64_t ts_capture_ns);
/* Counts an item the subscriber threw away itself (e.g. socket full). */
void cr_sub_drop(struct cr_sub_s *sub);
void cr_sub_request_keyframe(struct cr_sub_s *sub);
int cr_sub_set_bitrate(struct cr_sub_s *sub, int64_t bps);
/* Congestion control's (whep_cc.c): a bitrate that follows a network (a
 * smaller rate buffer, encoder.h), and the keyframe after a cut for a link
 * that fell, as small as the encoder makes it. */
int cr_sub_set_network_bitrate(struct cr_sub_s *sub, int64_t bps);
void cr_sub_request_small_keyframe(struct cr_sub_s *sub);
/* Frames the subscriber's stage dropped at its input (a slow encoder or
 * converter: its queue keeps the newest frames). */
uint64_t cr_sub_stage_dropped(struct cr_sub_s *sub);
/* Items dropped for this subscriber: by its full queue and by itself
 * (cr_sub_drop); the `dropped` of cr_stream_foreach_sub, without walking
 * the stream's subscribers. */
uint64_t cr_sub_dropped(struct cr_sub_s *sub);

struct cr_sub_info_s {
	char name[96];
	enum cr_sub_kind_e kind;
	enum cr_pixfmt_e format;
	enum cr_codec_e codec;
	uint64_t offered; /* pushed to its queue */
	uint64_t delivered, dropped;
	struct cr_caps_s caps; /* of the last item handed over (generation 0: none yet) */
	uint64_t stage_dropped; /* frames its stage (conversion, encoder; shared) had no time for */
};
/* Calls fn for each subscriber (under the stream's lock: keep fn short). */
void cr_stream_foreach_sub(struct cr_stream_s *s, void (*fn)(const struct cr_sub_info_s *, void *),
			   void *opaque);

/* Controls of the running source. */
int cr_stream_list_controls(struct cr_stream_s *s, struct cr_control_info_s *out, int max);
int cr_stream_set_control(struct cr_stream_s *s, const char *name, const char *value, char *err,
			  size_t errlen);

#endif
