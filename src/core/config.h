/* camrelay configuration model: what the TOML file says, validated.
 *
 * The reader in src/config/ fills this; everything else only reads it.
 * Schema: seed 001 ([stream.<name>], [[stream.<name>.sources]] with either
 * `url` or capture/encoder/output blocks) plus camrelay's extensions
 * ([http], [stream.<name>.mjpeg], [[stream.<name>.sinks]]). README.md is the
 * reference for every key. */
#ifndef CR_CONFIG_H
#define CR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/format.h"
#include "core/options.h"

#define CR_MAX_STREAMS 32
#define CR_MAX_SOURCES 8
#define CR_MAX_SINKS 16
#define CR_MAX_CONTROLS 32
#define CR_MAX_OVERLAY_RECTS 16

/* A `key = value` pair for camera controls (V4L2 controls, gphoto2 settings).
 * Values stay text: the backend maps them to the device's own types. */
struct cr_control_cfg_s {
	char name[64];
	char value[64];
};

/* Media-controller pipeline feeding a V4L2 capture node (src/media/): how to
 * configure the sub-devices before streaming. Entities are named as the
 * driver names them ("Sensor A", "Scaler"); `camrelay media` lists them. */
#define CR_MAX_MEDIA_LINKS 16
#define CR_MAX_MEDIA_PADS 16
#define CR_MAX_MEDIA_CONTROLS 16

struct cr_media_link_cfg_s {
	char source[64]; /* entity name */
	int source_pad;
	char sink[64];
	int sink_pad;
	bool enabled;
	int line;
};

struct cr_media_pad_cfg_s {
	char entity[64];
	int pad;
	uint32_t code;     /* MEDIA_BUS_FMT_*, 0 = leave to negotiation */
	int width, height; /* 0 = leave to negotiation */
	bool has_crop, has_compose;
	int crop[4];    /* x, y, w, h */
	int compose[4]; /* x, y, w, h */
	int line;
};

struct cr_media_control_cfg_s {
	char entity[64];
	char name[64];  /* as in `camrelay media` or v4l2-ctl, normalised */
	char value[64];
	int line;
};

struct cr_media_cfg_s {
	char strategy[16]; /* "" or "auto" (default), "quality", "speed", "off" */
	int n_links;
	struct cr_media_link_cfg_s links[CR_MAX_MEDIA_LINKS];
	int n_pads;
	struct cr_media_pad_cfg_s pads[CR_MAX_MEDIA_PADS];
	int n_controls;
	struct cr_media_control_cfg_s controls[CR_MAX_MEDIA_CONTROLS];
};

struct cr_capture_cfg_s {
	char backend[16];  /* a source backend's name (cr_source_backends; "file" from a source's file key) */
	char device[256];  /* path, card name, bus info, or camera id; file: the video file */
	bool loop;         /* file: start again at the end (the source's loop key, default true) */
	int width, height; /* 0 = device default */
	int fps;           /* 0 = device default */
	enum cr_pixfmt_e pixel_format; /* CR_PIXFMT_NONE = device default */
	bool prefer_dmabuf;
	/* The backend's own keys (its ops table's options, core/options.h). */
	_Alignas(max_align_t) unsigned char opts[CR_BACKEND_OPTS_SIZE];
	bool flash; /* test: a bright box for 100 ms each second of CLOCK_MONOTONIC (set when the
		       stream's audio is the test tone, whose beeps come on the same clock) */
	int n_controls;
	struct cr_control_cfg_s controls[CR_MAX_CONTROLS];
	/* v4l2 capture behind a media controller: a block of the config's,
	 * NULL without a [media] table. */
	const struct cr_media_cfg_s *media;
};

struct cr_encoder_cfg_s {
	bool present;
	char backend[16]; /* "software" or an encoder backend's name (cr_encoder_backends) */
	enum cr_codec_e codec;
	int64_t bitrate; /* bit/s, 0 = backend default */
	/* Congestion control of WHEP viewers (net/whep_cc.c): the encoder's
	 * bitrate is driven between min_bitrate (0 = 150 kbit/s) and bitrate
	 * (0 = 2 Mbit/s) by policy; share: percent of viewers "lowest" follows. */
	int64_t min_bitrate;
	enum cr_bitrate_policy_e { CR_BITRATE_LOWEST = 0, CR_BITRATE_MEDIAN, CR_BITRATE_FIXED } bitrate_policy;
	int bitrate_share; /* 1..100, 0 = 75 */
	/* H.264: profile_idc/constraint/level_idc from a name+level or 6-hex id. */
	char profile[32];
	char level[8];
	uint8_t profile_idc, constraint_flags, level_idc;
	int gop; /* frames between keyframes, 0 = backend default */
	/* The backend's own keys (its ops table's options, core/options.h):
	 * software encoders' preset, v4l2-m2m's device and fallback. */
	_Alignas(max_align_t) unsigned char opts[CR_ENCODER_OPTS_SIZE];
	int quality; /* MJPEG: 1..100 (from [stream.X.mjpeg]) */
	bool prefer_dmabuf;
	int line;          /* of its backend key, for start-up messages */
};

struct cr_output_cfg_s {
	bool present;
	int payload_type; /* 96..127 */
	int clock_rate;   /* 90000 for video */
};

struct cr_source_cfg_s {
	char url[512]; /* non-empty: a URL source (rtsp://, rtp://, .sdp) */
	struct cr_capture_cfg_s capture;
	struct cr_encoder_cfg_s encoder;
	struct cr_output_cfg_s output;
	/* Where the block started, for run-time messages. */
	int line;
};

enum cr_sink_type_e {
	CR_SINK_WEBCAM = 1, /* v4l2loopback */
	CR_SINK_RTP,        /* plain RTP to a UDP address */
	CR_SINK_DRM,        /* DRM/KMS display */
	CR_SINK_OVERLAY,    /* V4L2 overlay (seed 003) */
	CR_SINK_WHIP,       /* WebRTC push to a WHIP server (RFC 9725) */
	CR_SINK_RTSP,       /* RTSP push (ANNOUNCE/RECORD) to a server */
};

#define CR_MAX_ICE_SERVERS 4
#define CR_MAX_ICE_URLS 4

/* One ice_servers entry of a whip sink (live777's shape). */
struct cr_ice_server_cfg_s {
	int n_urls;
	char urls[CR_MAX_ICE_URLS][256]; /* stun:host[:port], turn:host[:port][?transport=udp] */
	char username[128];
	char credential[256];
};

/* One [[stream.<name>.sinks]] entry: the keys every sink takes, and a block
 * holding the keys of its type only (the sink backend's option table says
 * what is in it and how big it is: src/sink/<name>.h declares the struct),
 * allocated per configured sink. */
struct cr_sink_cfg_s {
	enum cr_sink_type_e type;
	char device[256];    /* webcam/drm/overlay device, or card label */
	enum cr_pixfmt_e pixel_format; /* webcam: format to write */
	int width, height, fps; /* 0 = from source */
	int line;
	void *opts;          /* the sink type's block, opts_size bytes (a block of the config's) */
	size_t opts_size;
};

struct cr_mjpeg_cfg_s {
	int quality; /* 1..100, default 80 */
	int fps;     /* 0 = every frame */
};

/* [stream.<name>.audio] (src/audio/): a second branch of the stream,
 * encoded to Opus once for every consumer (schema_audio.c). */
struct cr_audio_cfg_s {
	bool present;
	char backend[16];  /* "test", "alsa" */
	char device[128];  /* alsa: PCM name ("default", "hw:1,0") or card name */
	int rate;          /* 8000, 12000, 16000, 24000, 48000 (Opus's input rates) */
	int channels;      /* 1 or 2 */
	int bitrate;       /* Opus bit/s, 6000..510000; 0 = 32000 per channel */
	bool fec;          /* Opus in-band FEC (default true) */
	bool dtx;          /* Opus DTX: near nothing sent during silence (default false) */
	int tone;          /* test: tone frequency in Hz (default 440) */
	char playback[128]; /* talk-back: ALSA PCM a WHEP viewer's microphone plays on; "" = none */
	int line, col;     /* of the backend key, for start-up messages */
};

/* [stream.<name>.datachannel]: WebRTC data channels of the stream's WHEP
 * viewers bridged to UDP (net/datachannel.h; config/schema_datachannel.c). */
enum cr_dc_direction_e { CR_DC_BOTH = 0, CR_DC_TO_VIEWERS, CR_DC_FROM_VIEWERS };
enum cr_dc_msgtype_e { CR_DC_AUTO = 0, CR_DC_TEXT, CR_DC_BINARY };
struct cr_datachannel_cfg_s {
	bool present;
	char listen[128];  /* UDP IP:port whose datagrams go to the viewers; "" = none */
	char forward[128]; /* UDP IP:port viewers' messages go to; "" = the last sender on listen */
	char label[64];    /* only channels of this label are bridged; "" = any */
	enum cr_dc_direction_e direction;
	enum cr_dc_msgtype_e message_type; /* what a datagram becomes: auto = text when it reads as text */
	int max_message_size; /* bytes, both ways (default 65536) */
	int viewer_buffer;    /* bytes queued towards one viewer at most (default 262144) */
	int viewer_rate;      /* messages per second one viewer may send (default 200) */
	int max_channels;     /* open channels per viewer (default 4) */
	int listen_line, listen_col; /* for a listen address that turns out to be taken */
};

struct cr_stream_cfg_s {
	char name[64];
	struct cr_audio_cfg_s audio;
	int n_sources;
	struct cr_source_cfg_s sources[CR_MAX_SOURCES];
	struct cr_mjpeg_cfg_s mjpeg;
	int n_sinks;
	struct cr_sink_cfg_s *sinks[CR_MAX_SINKS]; /* blocks of the config's, one per configured sink */
	/* Codecs WebRTC viewers may be served in; none = the encoder's codec
	 * plus one fallback browsers decode (net/whep_http.c). */
	int n_webrtc_codecs;
	enum cr_codec_e webrtc_codecs[4];
	struct cr_datachannel_cfg_s datachannel;
	bool timecode; /* draw the capture time as a timecode block (core/timecode.h) */
};

#define CR_MAX_HTTP_NAMES 8
struct cr_http_cfg_s {
	char listen[128]; /* "127.0.0.1:8080" */
	int n_server_names; /* Host header values accepted besides the listen address */
	char server_names[CR_MAX_HTTP_NAMES][128];
	int n_cors_origins; /* origins allowed to read answers cross-origin; none = same origin only */
	char cors_origins[CR_MAX_HTTP_NAMES][128];
	char tls_cert[256], tls_key[256]; /* PEM files: HTTPS when both are set */
};

/* [auth] (net/auth.h): rights a credential grants, per stream. */
#define CR_RIGHT_VIEW 1u    /* MJPEG, snapshot, WHEP, /sdp, the pages */
#define CR_RIGHT_CONTROL 2u /* camera controls, ending other sessions */
#define CR_RIGHT_ADMIN 4u   /* /api details, /metrics */
#define CR_RIGHTS_ALL 7u
#define CR_MAX_AUTH_TOKENS 16
#define CR_MAX_AUTH_ACCOUNTS 16
struct cr_auth_account_cfg_s {
	char username[64];
	char password[256]; /* clear text, or an argon2 hash "$argon2id$..." */
	unsigned rights;    /* CR_RIGHT_*, default all */
};
struct cr_auth_cfg_s {
	bool present; /* an [auth] table: every request needs credentials */
	int n_tokens; /* static bearer tokens: every right on every stream (as live777) */
	char tokens[CR_MAX_AUTH_TOKENS][256];
	char secret[256]; /* HS256 key of JWTs, "" = no JWTs */
	int n_accounts;   /* HTTP Basic (and RTSP) accounts */
	struct cr_auth_account_cfg_s accounts[CR_MAX_AUTH_ACCOUNTS];
};

/* [limits]: what one client, or all of them, may take. 0 = the default. */
struct cr_limits_cfg_s {
	int http_connections;        /* open HTTP connections in total (default 1000) */
	int http_connections_per_ip; /* per peer address (default 256) */
	int header_timeout;          /* seconds to send a whole request header (default 10) */
	int whep_sessions;           /* WebRTC sessions in total (default 200) */
	int whep_sessions_per_stream;/* default 100 */
	int whep_sessions_per_ip;    /* default 50 */
	int whep_pending_timeout;    /* seconds a session may take to connect (default 15) */
	int mjpeg_clients_per_stream;/* default 200 */
};

/* [webrtc]: every WHEP viewer's media goes through one UDP port. */
#define CR_MAX_CANDIDATES 8
struct cr_webrtc_cfg_s {
	int port;         /* UDP port, 0 = 8555 */
	int n_candidates; /* addresses announced as ICE host candidates; */
	char candidates[CR_MAX_CANDIDATES][64]; /* none = every local interface */
	int timeout;      /* seconds without ICE consent (STUN) before a viewer is dropped, 0 = 30 */
};

/* [rtsp]: the RTSP server (net/rtsp.h); every value 0/"" = its default. */
struct cr_rtsp_cfg_s {
	bool disabled;             /* enabled = false */
	char listen[128];          /* "" = 127.0.0.1:8554 */
	int rtp_port;              /* UDP RTP port (RTCP +1), 0 = a free pair */
	int session_timeout;       /* seconds, 0 = 60 */
	int max_clients;           /* sessions in total, 0 = 256 */
	int max_clients_per_stream;/* 0 = 100 */
	int tcp_buffer_kb;         /* per TCP client, 0 = 1024 */
	char multicast_group[64];  /* IPv4 group of the first stream ("" = no multicast) */
	int multicast_port;        /* 0 = 5004 */
	int multicast_ttl;         /* 0 = 4 */
};

struct cr_config_s {
	char path[256]; /* file it came from, "" for the built-in default */
	struct cr_http_cfg_s http;
	struct cr_webrtc_cfg_s webrtc;
	struct cr_auth_cfg_s auth;
	struct cr_limits_cfg_s limits;
	struct cr_rtsp_cfg_s rtsp;
	/* Each configured stream, its sinks and its media pipeline are blocks
	 * allocated for that config (cr_config_block): a config costs what it
	 * configures, not every stream's and sink's keys at their maximum. A
	 * copy of a stream's config shares the blocks: the config outlives it. */
	int n_streams;
	struct cr_stream_cfg_s *streams[CR_MAX_STREAMS];
	struct cr_config_block_s *blocks;
};

/* A zeroed block owned by cfg (freed by cr_config_free); NULL when out of
 * memory. */
void *cr_config_block(struct cr_config_s *cfg, size_t size);
/* Frees cfg's blocks and clears it. cfg must be zeroed or loaded. */
void cr_config_free(struct cr_config_s *cfg);

/* Reads and validates a config file into cfg, which must be zeroed or
 * cr_config_free'd (its blocks are freed on error too, but cfg must still
 * be cr_config_free'd after use). On error returns a negative errno-style
 * code and writes one message "file:line:col: key: problem (allowed: ...)"
 * into err. */
int cr_config_load(const char *path, struct cr_config_s *cfg, char *err, size_t errlen);

/* Same, from a string (name used in messages). */
int cr_config_parse(const char *name, const char *text, size_t len, struct cr_config_s *cfg,
		    char *err, size_t errlen);

/* The sink backends the reader knows ([[stream.<name>.sinks]] entries):
 * the daemon's table (n entries, kept, not copied). Without one (the
 * library opens no sinks) sink entries are skipped unread. */
void cr_config_use_sinks(const struct cr_sink_schema_s *sinks, size_t n);

/* The codecs WebRTC viewers can be served in ([stream.<name>]
 * webrtc_codecs): the daemon's WHEP table (cr_whep_codecs, ended by
 * CR_CODEC_NONE; kept, not copied). Without one (the library serves no
 * WebRTC, or a build without it) any codec name is taken unchecked. */
void cr_config_use_webrtc_codecs(const enum cr_codec_e *codecs);

/* The embedded default: one stream "test" from the test source at
 * 1280x720@30, HTTP on 127.0.0.1:8080. */
void cr_config_default(struct cr_config_s *cfg);

#endif
