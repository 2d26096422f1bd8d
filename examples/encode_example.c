/* Encodes 60 frames of a moving gradient with camrelay's encoder API.
 *
 *   encode_example OUT [CODEC]     CODEC: h264 (default), h265, vp8, vp9, av1
 *
 * H.264/H.265 go out as an Annex-B stream, VP8/VP9/AV1 in an IVF file; both
 * play with ffplay. Only the public header is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <camrelay/encoder.h>

#define W 320
#define H 240
#define FRAMES 60

struct out {
	FILE *f;
	int ivf;
};

static void put_le(FILE *f, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		fputc((int)(v >> (8 * i)) & 0xFF, f);
}

/* Called from inside camrelay_encoder_push_frame(); pkt->data is only valid
 * until we return, so it is written out right here. */
static void on_packet(const camrelay_packet *pkt, void *opaque)
{
	struct out *o = opaque;
	if (o->ivf) {
		put_le(o->f, pkt->size, 4);
		put_le(o->f, (uint64_t)pkt->pts, 8);
	}
	fwrite(pkt->data, 1, pkt->size, o->f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUT [h264|h265|vp8|vp9|av1]\n", argv[0]);
		return 2;
	}
	const char *codec = argc > 2 ? argv[2] : "h264";
	const char *fourcc = !strcmp(codec, "vp8") ? "VP80" : !strcmp(codec, "vp9") ? "VP90"
							   : !strcmp(codec, "av1") ? "AV01" : NULL;
	struct out o = {fopen(argv[1], "wb"), fourcc != NULL};
	if (!o.f) {
		perror(argv[1]);
		return 1;
	}
	if (o.ivf) { /* IVF file header: time base 1/90000, as the packets' pts */
		fwrite("DKIF", 1, 4, o.f);
		put_le(o.f, 0, 2);
		put_le(o.f, 32, 2);
		fwrite(fourcc, 1, 4, o.f);
		put_le(o.f, W, 2);
		put_le(o.f, H, 2);
		put_le(o.f, 90000, 4);
		put_le(o.f, 1, 4);
		put_le(o.f, FRAMES, 4);
		put_le(o.f, 0, 4);
	}

	camrelay_encoder_config cfg = {
		.codec = codec, .width = W, .height = H, .fps = 30, .bitrate = 500000, .gop = 30,
	};
	char err[256];
	camrelay_encoder *enc = camrelay_encoder_create(&cfg, on_packet, &o, err, sizeof(err));
	if (!enc) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	camrelay_codec_parameters params;
	camrelay_encoder_codec_parameters(enc, &params);
	fprintf(stderr, "%s via %s, %zu bytes of codec parameters%s%s\n", params.codec, params.backend,
		params.size, params.profile_level_id[0] ? ", profile-level-id " : "", params.profile_level_id);

	static uint8_t y[W * H], u[W * H / 4], v[W * H / 4];
	for (int n = 0; n < FRAMES; n++) {
		for (int r = 0; r < H; r++)
			for (int c = 0; c < W; c++)
				y[r * W + c] = (uint8_t)(c + r + 4 * n);
		memset(u, 128 + n, sizeof(u));
		memset(v, 128 - n, sizeof(v));
		camrelay_frame frame = {
			.format = CAMRELAY_PIXFMT_I420, .width = W, .height = H,
			.planes = {y, u, v}, .strides = {W, W / 2, W / 2},
			.timestamp_ns = (int64_t)n * 1000000000 / 30,
		};
		if (camrelay_encoder_push_frame(enc, &frame) < 0) {
			fprintf(stderr, "frame %d: %s\n", n, camrelay_encoder_error(enc));
			return 1;
		}
	}
	camrelay_encoder_destroy(enc);
	return fclose(o.f) == 0 ? 0 : 1;
}
