/* camrelay's capture-and-encode pipeline as a library (seed 001's
 * SourcePipeline FFI): a camera (V4L2, media controller, libcamera, gphoto2,
 * the test source) → conversion → encoder (software, V4L2 M2M, DMA-BUF) →
 * your callback, optionally already split into RTP packets.
 *
 *	char err[512];
 *	camrelay_pipeline *p = camrelay_pipeline_create_toml(toml_text, "cam.toml", NULL, err, sizeof(err));
 *	camrelay_pipeline_set_packet_callback(p, on_packet, ctx);
 *	camrelay_pipeline_start(p);
 *	...                                     // on_packet() runs on the encoder's thread
 *	camrelay_pipeline_request_keyframe(p);  // e.g. on an RTCP PLI
 *	camrelay_pipeline_destroy(p);           // stops and joins every thread
 *
 * Threading: every function may be called from any thread, but not two of
 * start/stop/destroy at once on one pipeline. The packet and RTP callbacks
 * run on the encoder's thread, the frame callback on the capture side's
 * conversion thread, the caps callback on the thread of the output whose caps
 * changed (just before that output's first packet or frame with them); each is called by one thread at a time, and the data
 * it gets is valid only during the call (copy what you keep). Inside a
 * callback you may call request_keyframe, set_bitrate, stats, last_error and
 * the version functions; stop and destroy return -EDEADLK (0 for destroy is
 * impossible: it does nothing) there. A slow callback delays its stage, whose
 * input queue then drops the oldest frames (counted in stats.frames_dropped);
 * it never blocks capture.
 *
 * Recovery is the daemon's: a source that fails or is unplugged is reopened
 * with backoff, and meanwhile placeholder frames ("NO SIGNAL" and the reason)
 * are encoded at the configured rate, so packets keep coming. */
#ifndef CAMRELAY_PIPELINE_H
#define CAMRELAY_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <camrelay/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The API this header describes: major << 16 | minor. A program built with
 * major M runs with any library whose camrelay_api_version() has major M and
 * a minor at least as large. */
#define CAMRELAY_API_VERSION_MAJOR 0
#define CAMRELAY_API_VERSION_MINOR 3 /* 2: caps (camrelay_pipeline_caps_get, set_caps_callback);
				     3: caps carry frame rate, profile and level */
#define CAMRELAY_API_VERSION ((CAMRELAY_API_VERSION_MAJOR << 16) | CAMRELAY_API_VERSION_MINOR)

/* The API version of the library loaded at run time (CAMRELAY_API_VERSION
 * of the headers it was built from). */
CAMRELAY_API unsigned camrelay_api_version(void);
/* camrelay's release, e.g. "0.1.0", and the backends built in:
 * "sources: test v4l2 ...; encoders: x264(h264) ...". */
CAMRELAY_API const char *camrelay_version_string(void);
CAMRELAY_API const char *camrelay_backends_string(void);

typedef struct camrelay_pipeline camrelay_pipeline;

/* Seed 001's numbering (VideoCodec), plus camrelay's own. */
typedef enum camrelay_codec {
	CAMRELAY_CODEC_H264 = 100,
	CAMRELAY_CODEC_H265 = 101,
	CAMRELAY_CODEC_AV1 = 102,
	CAMRELAY_CODEC_VP8 = 103,
	CAMRELAY_CODEC_VP9 = 104,
	CAMRELAY_CODEC_MJPEG = 105,
	CAMRELAY_CODEC_FWHT = 106, /* vicodec's test codec (V4L2 M2M) */
} camrelay_codec;

/* Packet flags (the same bits as camrelay/encoder.h's). */
#define CAMRELAY_PIPELINE_KEYFRAME (1u << 0)    /* decodable on its own (IDR, key frame) */
#define CAMRELAY_PIPELINE_CONFIG (1u << 1)      /* carries SPS/PPS (VPS), a sequence header */
#define CAMRELAY_PIPELINE_PLACEHOLDER (1u << 2) /* encoded from a placeholder frame */

typedef struct camrelay_encoded_packet {
	const uint8_t *data; /* H.264/H.265: one Annex-B access unit; VP8/VP9: a frame;
			      * AV1: a temporal unit (low-overhead OBUs); MJPEG: a JPEG */
	size_t size;
	int64_t capture_time_ns; /* CLOCK_MONOTONIC when the frame was captured */
	int64_t pts;             /* capture time in the output clock rate ([output] clock_rate) */
	uint32_t clock_rate;     /* 90000 unless [output] says otherwise */
	uint32_t flags;          /* CAMRELAY_PIPELINE_* */
	camrelay_codec codec;
	int width, height;
	uint64_t sequence; /* frame number from the source */
	int64_t encoded_time_ns; /* CLOCK_MONOTONIC when the encoder handed it over */
} camrelay_encoded_packet;

typedef struct camrelay_rtp_packet {
	const uint8_t *data; /* a whole RTP packet: 12-byte header, payload */
	size_t size;
	uint32_t timestamp;  /* the header's, = pts of its access unit (mod 2^32) */
	uint16_t sequence;   /* the header's */
	int marker;          /* last packet of its access unit */
	const camrelay_encoded_packet *packet; /* the access unit it came from */
} camrelay_rtp_packet;

typedef struct camrelay_raw_frame {
	const char *format;  /* "yuyv", "nv12", "yuv420", "mjpeg", ... as the config names them */
	int width, height;
	int n_planes;
	const uint8_t *planes[3];
	int strides[3];
	size_t size;             /* bytes in all planes (MJPEG: the JPEG's length) */
	int dmabuf_fd;           /* a DMA-BUF of the buffer (prefer_dmabuf), or -1; do not close it */
	int64_t capture_time_ns; /* CLOCK_MONOTONIC */
	uint64_t sequence;
	int placeholder;         /* 1 for a placeholder frame (source gone) */
	int full_range;          /* 1: YUV 0..255 (JPEG); 0: BT.601 limited range */
} camrelay_raw_frame;

typedef void (*camrelay_packet_fn)(const camrelay_encoded_packet *pkt, void *opaque);
typedef void (*camrelay_rtp_fn)(const camrelay_rtp_packet *rtp, void *opaque);
typedef void (*camrelay_frame_fn)(const camrelay_raw_frame *frame, void *opaque);

/* Explicit caps: what one output of the pipeline delivers. A consumer learns
 * them from camrelay_pipeline_caps_get() or the caps callback instead of
 * probing each packet or frame. */
typedef enum camrelay_caps_kind {
	CAMRELAY_CAPS_ENCODED = 0, /* the packets of on_packet / on_rtp */
	CAMRELAY_CAPS_RAW = 1,     /* the frames of on_frame */
} camrelay_caps_kind;

typedef struct camrelay_caps {
	camrelay_caps_kind kind;
	uint64_t generation;  /* 1 for the first caps of this output, +1 at each change */
	int width, height;
	const char *format;   /* RAW: the pixel format ("yuyv", "nv12", ...); ENCODED: the codec ("h264") */
	camrelay_codec codec; /* ENCODED; 0 for RAW */
	uint32_t clock_rate;  /* ENCODED: the clock of pts and RTP timestamps; 0 for RAW */
	int full_range;       /* RAW: 1 YUV 0..255 (JPEG), 0 BT.601 limited range; ENCODED: 0 */
	/* Since API 0.3 (a caps_get with a smaller size leaves these out): */
	int fps_num, fps_den; /* the source's frame rate, fps_num/fps_den; 0/0: variable or unknown */
	int profile;          /* ENCODED H.264/H.265: profile_idc of the SPS (H.264 66 baseline, 77 main,
			       * 100 high; H.265 1 main, 2 main 10); 0: unknown or another codec */
	int level;            /* ENCODED H.264/H.265: level_idc of the SPS (H.264: 31 is level 3.1;
			       * H.265: 30 x the level, 93 is 3.1); 0: unknown or another codec */
} camrelay_caps;

/* Called when an output's caps change: before its first packet or frame, and
 * again whenever size, format, codec, frame rate, profile or level change (a camera that comes back at
 * another size, placeholders while it is gone, an encoder restarted at a new
 * size: that packet is a keyframe with its parameter sets). Not called while
 * nothing changes. */
typedef void (*camrelay_caps_fn)(const camrelay_caps *caps, void *opaque);

/* Creates a stopped pipeline from TOML in seed 001's schema:
 *
 *	[stream.cam]
 *	[[stream.cam.sources]]
 *	[stream.cam.sources.capture]   backend, device, width, height, fps, pixel_format, prefer_dmabuf, ...
 *	[stream.cam.sources.encoder]   backend, codec, bitrate, profile, level, gop, ...
 *	[stream.cam.sources.output]    payload_type, clock_rate
 *
 * with camrelay's extensions (README.md). `stream` picks a stream by name
 * (NULL: the first). `name` is used in messages ("cam.toml"; NULL: "<toml>").
 * A configuration error gives NULL and the message the daemon prints
 * ("cam.toml:7:10: stream.cam.sources[0].encoder.codec: ... (allowed: ...)")
 * in err; nothing is opened before start. [http] and [webrtc] are checked
 * but not used, [[...sinks]] blocks (the daemon's: their keys live in its
 * sink backends) are skipped unread: the callbacks are the outputs. Without an [encoder]
 * block the pipeline encodes H.264 constrained baseline in software. */
CAMRELAY_API camrelay_pipeline *camrelay_pipeline_create_toml(const char *toml, const char *name,
							      const char *stream, char *err, size_t errlen);

/* The same settings as a struct, for programs without TOML. NULL strings and
 * zeros mean "default" as for a missing key. */
typedef struct camrelay_pipeline_config {
	const char *name;             /* stream name in messages and placeholders; NULL: "camrelay" */
	const char *capture_backend;  /* "test", "v4l2", "libcamera", "gphoto2" (required) */
	const char *device;
	int width, height, fps;
	const char *pixel_format;     /* "yuyv", "nv12", "yuv420", "mjpeg", "rgb888", ... */
	int prefer_dmabuf;
	const char *pattern;          /* test source: "bars" (default) or "noise" */
	const char *encoder_backend;  /* "software", "x264", "v4l2-m2m", ...; NULL: software */
	const char *codec;            /* "h264", "h265", "vp8", "vp9", "av1", "mjpeg", "fwht"; NULL: h264 */
	int64_t bitrate;              /* bit/s */
	const char *profile, *level;  /* H.264: "baseline" + "3.1", or a profile-level-id "42001f" */
	int gop;
	const char *encoder_device;   /* v4l2-m2m: node, card or bus info */
	const char *fallback;         /* v4l2-m2m: "software" */
	int encoder_prefer_dmabuf;
	int payload_type, clock_rate; /* RTP: 96..127, Hz; 0: 96 and 90000 */
} camrelay_pipeline_config;

/* Like camrelay_pipeline_create_toml, from a struct (checked by the same
 * rules; messages name the struct's fields as TOML keys). */
CAMRELAY_API camrelay_pipeline *camrelay_pipeline_create(const camrelay_pipeline_config *cfg, char *err,
							 size_t errlen);

/* Callbacks, set while the pipeline is stopped (-EBUSY when running); NULL
 * removes one. on_packet gets every encoded packet; on_rtp the same packets
 * split by camrelay's payloaders (payload type and clock rate from [output],
 * a random SSRC and first sequence number); on_frame the raw frames as
 * captured. Encoding runs only with on_packet or on_rtp set. */
CAMRELAY_API int camrelay_pipeline_set_packet_callback(camrelay_pipeline *p, camrelay_packet_fn fn,
						       void *opaque);
CAMRELAY_API int camrelay_pipeline_set_rtp_callback(camrelay_pipeline *p, camrelay_rtp_fn fn, void *opaque);
CAMRELAY_API int camrelay_pipeline_set_frame_callback(camrelay_pipeline *p, camrelay_frame_fn fn,
						      void *opaque);

/* The caps callback (set while stopped, -EBUSY when running; NULL removes
 * it). Caps exist for the outputs in use (a packet or RTP callback: ENCODED;
 * a frame callback: RAW). */
CAMRELAY_API int camrelay_pipeline_set_caps_callback(camrelay_pipeline *p, camrelay_caps_fn fn, void *opaque);
/* The current caps of one output into the first `size` bytes of *out (pass
 * sizeof(camrelay_caps)). 0; -EAGAIN before that output delivered anything
 * (since the last start); -EINVAL. The format string stays valid as long as
 * the library is loaded. */
CAMRELAY_API int camrelay_pipeline_caps_get(camrelay_pipeline *p, camrelay_caps_kind kind, camrelay_caps *out,
					    size_t size);

/* Starts capture and encoding threads. 0, or a negative errno with the reason
 * in camrelay_pipeline_last_error(). A device that cannot be opened is not an
 * error: the source is retried and placeholders flow meanwhile (see stats). */
CAMRELAY_API int camrelay_pipeline_start(camrelay_pipeline *p);
/* Stops and joins every thread of the pipeline; no callback runs after it
 * returns. Start may be called again. 0, or -EDEADLK inside a callback. */
CAMRELAY_API int camrelay_pipeline_stop(camrelay_pipeline *p);
/* Stops (as above) and frees the pipeline. NULL is allowed. */
CAMRELAY_API void camrelay_pipeline_destroy(camrelay_pipeline *p);

/* The next encoded frame is a keyframe (with its parameter sets). */
CAMRELAY_API int camrelay_pipeline_request_keyframe(camrelay_pipeline *p);
/* The encoder aims at bps from its next frame. 0, -EINVAL (bps <= 0), or
 * -ENOTSUP when the encoder cannot change its rate while running. */
CAMRELAY_API int camrelay_pipeline_set_bitrate(camrelay_pipeline *p, int64_t bps);

typedef enum camrelay_source_state {
	CAMRELAY_SOURCE_STARTING = 0,
	CAMRELAY_SOURCE_RUNNING,
	CAMRELAY_SOURCE_NO_SIGNAL,    /* open, but no frames arrive */
	CAMRELAY_SOURCE_RECONNECTING, /* failed; reopening with backoff, placeholders flow */
	CAMRELAY_SOURCE_STOPPED,
} camrelay_source_state;

typedef struct camrelay_pipeline_stats {
	uint64_t frames_captured;    /* from the device */
	uint64_t frames_placeholder; /* generated while the source was down */
	uint64_t frames_dropped;     /* thrown away before the encoder (it was busy) */
	uint64_t frames_converted;   /* pixel-format conversions */
	uint64_t packets;            /* delivered to on_packet/on_rtp */
	uint64_t bytes;              /* encoded bytes in those packets */
	uint64_t rtp_packets;
	uint64_t bytes_copied;       /* CPU copies of frame data (0 on a zero-copy path) */
	uint64_t reconnects;
	uint32_t capture_to_encoded_p50_us, capture_to_encoded_p95_us; /* the last 512 packets */
	uint32_t capture_to_delivered_p50_us, capture_to_delivered_p95_us; /* callback returned */
	camrelay_source_state state;
	int width, height;           /* what the source delivers now */
	double fps;                  /* measured over the last 2 s */
} camrelay_pipeline_stats;

/* Fills the first `size` bytes of *out (pass sizeof(camrelay_pipeline_stats):
 * a newer library fills only what an older program knows). 0 or -EINVAL. */
CAMRELAY_API int camrelay_pipeline_stats_get(camrelay_pipeline *p, camrelay_pipeline_stats *out, size_t size);

/* Why the last call on p failed, or while the source is down what is wrong
 * with it ("" when nothing is). Valid until the next call on p from any
 * thread that changes it; copy it if you keep it. */
CAMRELAY_API const char *camrelay_pipeline_last_error(camrelay_pipeline *p);

#ifdef __cplusplus
}
#endif

#endif
