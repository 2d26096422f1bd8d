/* camrelay's video encoders as a library: raw frames in, encoded packets out.
 *
 * The same backends the daemon uses (x264, x265, libvpx, libaom, MJPEG),
 * behind one opaque handle. Packets come back through a callback, on the
 * thread that called camrelay_encoder_push_frame() and before it returns;
 * their data is only valid during the call (copy what you keep), as in
 * seed 001's EncodedPacketFFI.
 *
 *	camrelay_encoder_config cfg = {.codec = "h264", .width = 1280, .height = 720,
 *				       .fps = 30, .bitrate = 2000000, .gop = 60};
 *	char err[256];
 *	camrelay_encoder *enc = camrelay_encoder_create(&cfg, on_packet, ctx, err, sizeof(err));
 *	...
 *	camrelay_encoder_push_frame(enc, &frame);   // on_packet() runs in here
 *	...
 *	camrelay_encoder_destroy(enc);
 */
#ifndef CAMRELAY_ENCODER_H
#define CAMRELAY_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include <camrelay/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct camrelay_encoder camrelay_encoder;

typedef enum camrelay_pixel_format {
	CAMRELAY_PIXFMT_I420 = 1, /* Y, U, V planes, 4:2:0 ("yuv420p") */
	CAMRELAY_PIXFMT_NV12,     /* Y plane, interleaved UV plane, 4:2:0 */
	CAMRELAY_PIXFMT_YUYV,     /* one packed 4:2:2 plane, Y0 U Y1 V */
} camrelay_pixel_format;

enum {
	CAMRELAY_PACKET_KEYFRAME = 1 << 0, /* decodable on its own (IDR, VP8/VP9/AV1 key frame) */
	CAMRELAY_PACKET_CONFIG = 1 << 1,   /* carries the codec parameters (SPS/PPS, sequence header) */
};

typedef struct camrelay_encoder_config {
	const char *codec;   /* "h264", "h265", "vp8", "vp9", "av1" or "mjpeg" */
	const char *backend; /* NULL, "" or "software": the first software encoder for the
			      * codec; or by library: "x264", "x265", "vpx", "aom", "jpeg" */
	int width, height;   /* of every frame pushed */
	int fps;             /* nominal frames per second (rate control), 0 = 30 */
	int64_t bitrate;     /* bit/s, 0 = about 0.1 bit per pixel */
	const char *profile; /* h264 only: "baseline", "constrained-baseline", "main", "high",
			      * or a profile-level-id such as "42001f"; NULL = baseline */
	const char *level;   /* h264 only: "3.1" etc.; NULL = 3.1, or the profile-level-id's */
	int gop;             /* frames from one keyframe to the next, 0 = two seconds */
	const char *preset;  /* speed, x264 names: "ultrafast" .. "placebo"; NULL = ultrafast
			      * from 1280x720 up, veryfast below */
} camrelay_encoder_config;

typedef struct camrelay_frame {
	camrelay_pixel_format format;
	int width, height;        /* must match the configuration */
	const uint8_t *planes[3]; /* I420: 3, NV12: 2, YUYV: 1 */
	int strides[3];           /* bytes per row of each plane */
	int64_t timestamp_ns;     /* capture time (any monotonic clock); pts = timestamp in 90 kHz */
} camrelay_frame;

typedef struct camrelay_packet {
	const uint8_t *data; /* H.264/H.265: Annex-B access unit; VP8/VP9: one frame;
			      * AV1: one temporal unit of low-overhead OBUs; MJPEG: one JPEG */
	size_t size;
	int64_t pts, dts;     /* 90 kHz */
	int64_t timestamp_ns; /* of the frame it was encoded from */
	uint32_t flags;       /* CAMRELAY_PACKET_* */
	int width, height;
} camrelay_packet;

typedef void (*camrelay_packet_cb)(const camrelay_packet *pkt, void *opaque);

typedef struct camrelay_codec_parameters {
	/* H.264: SPS and PPS (Annex-B); H.265: VPS, SPS, PPS; AV1: the sequence
	 * header OBU; VP8, VP9, MJPEG: none (size 0). */
	const uint8_t *data;
	size_t size;
	/* H.264: the SDP profile-level-id of the stream as encoded ("42c01f"); "" otherwise. */
	char profile_level_id[7];
	const char *codec;   /* "h264", ... */
	const char *backend; /* the library chosen: "x264", ... */
} camrelay_codec_parameters;

/* Opens an encoder. NULL on failure, with the reason in err (what failed,
 * on what, and what to change). */
CAMRELAY_API camrelay_encoder *camrelay_encoder_create(const camrelay_encoder_config *cfg, camrelay_packet_cb on_packet,
					  void *opaque, char *err, size_t errlen);

/* Encodes one frame; on_packet() is called for each packet it produces
 * (with the software encoders: exactly one, for this frame). Frames in a
 * format the backend does not take are converted (libyuv). 0, or a negative
 * errno with camrelay_encoder_error() saying why. */
CAMRELAY_API int camrelay_encoder_push_frame(camrelay_encoder *enc, const camrelay_frame *frame);

/* Safe from any thread; take effect at the next push_frame: the next frame
 * becomes a keyframe / the rate control aims at the new bitrate. */
CAMRELAY_API void camrelay_encoder_request_keyframe(camrelay_encoder *enc);
CAMRELAY_API int camrelay_encoder_set_bitrate(camrelay_encoder *enc, int64_t bps);

/* Fills *out (pointers valid until camrelay_encoder_destroy()); returns 0. */
CAMRELAY_API int camrelay_encoder_codec_parameters(const camrelay_encoder *enc, camrelay_codec_parameters *out);

/* Why the last call failed ("" if it did not). */
CAMRELAY_API const char *camrelay_encoder_error(const camrelay_encoder *enc);

CAMRELAY_API void camrelay_encoder_destroy(camrelay_encoder *enc);

#ifdef __cplusplus
}
#endif

#endif
