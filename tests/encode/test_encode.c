/* Test driver for the software encoders: frames from the built-in test
 * source, through the public encoder API, into a file ffprobe can read
 * (Annex-B for H.264/H.265, IVF for VP8/VP9/AV1). check_encode.py runs it
 * and checks the result with ffprobe.
 *
 * The test source runs at 1000 fps so no frame waits for the clock; the
 * frames are stamped at --fps, so rate control sees a real-time stream and
 * nothing here depends on wall-clock time.
 *
 * Writes one line per packet to stdout: "pkt <index> <size> <key> <config>",
 * then "params <size> <profile-level-id>". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camrelay/encoder.h"
#include "core/config.h"
#include "source/source.h"

struct _out_s {
	FILE *f;
	bool ivf;
	uint32_t frames;
	uint64_t index;
};

static void _le16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void _le32(uint8_t *p, uint32_t v) { _le16(p, v & 0xFFFF); _le16(p + 2, v >> 16); }

/* IVF (the libvpx test container: a 32-byte file header, a 12-byte header
 * per frame) is small enough that writing it here beats linking libavformat. */
static void _ivf_header(FILE *f, const char *fourcc, int w, int h, uint32_t frames)
{
	uint8_t hdr[32] = {'D', 'K', 'I', 'F'};
	_le16(hdr + 4, 0);
	_le16(hdr + 6, 32);
	memcpy(hdr + 8, fourcc, 4);
	_le16(hdr + 12, (unsigned)w);
	_le16(hdr + 14, (unsigned)h);
	_le32(hdr + 16, 90000); /* time base 1/90000: pts are 90 kHz */
	_le32(hdr + 20, 1);
	_le32(hdr + 24, frames);
	fwrite(hdr, 1, sizeof(hdr), f);
}

static void _on_packet(const camrelay_packet *pkt, void *opaque)
{
	struct _out_s *o = opaque;
	if (o->ivf) {
		uint8_t fh[12];
		_le32(fh, (uint32_t)pkt->size);
		_le32(fh + 4, (uint32_t)pkt->pts);
		_le32(fh + 8, (uint32_t)((uint64_t)pkt->pts >> 32));
		fwrite(fh, 1, sizeof(fh), o->f);
	}
	fwrite(pkt->data, 1, pkt->size, o->f);
	o->frames++;
	printf("pkt %llu %zu %d %d\n", (unsigned long long)o->index++, pkt->size,
	       !!(pkt->flags & CAMRELAY_PACKET_KEYFRAME), !!(pkt->flags & CAMRELAY_PACKET_CONFIG));
}

static void _usage(void)
{
	fprintf(stderr, "usage: test_encode --codec C --out FILE [--backend B] [--size WxH] [--fps N]\n"
			"  [--bitrate BPS] [--gop N] [--frames N] [--profile P] [--level L] [--preset P]\n"
			"  [--pixfmt yuv420|nv12|yuyv] [--keyframe-at N] [--bitrate-at N:BPS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	camrelay_encoder_config cfg = {.width = 640, .height = 360, .fps = 30};
	const char *out_path = NULL, *pixfmt = "yuv420";
	int frames = 300, keyframe_at = -1, bitrate_at = -1;
	long long bitrate_new = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			_usage();
		i++;
		if (!strcmp(a, "--codec"))
			cfg.codec = v;
		else if (!strcmp(a, "--backend"))
			cfg.backend = v;
		else if (!strcmp(a, "--out"))
			out_path = v;
		else if (!strcmp(a, "--size") && sscanf(v, "%dx%d", &cfg.width, &cfg.height) == 2)
			;
		else if (!strcmp(a, "--fps"))
			cfg.fps = atoi(v);
		else if (!strcmp(a, "--bitrate"))
			cfg.bitrate = atoll(v);
		else if (!strcmp(a, "--gop"))
			cfg.gop = atoi(v);
		else if (!strcmp(a, "--frames"))
			frames = atoi(v);
		else if (!strcmp(a, "--profile"))
			cfg.profile = v;
		else if (!strcmp(a, "--level"))
			cfg.level = v;
		else if (!strcmp(a, "--preset"))
			cfg.preset = v;
		else if (!strcmp(a, "--pixfmt"))
			pixfmt = v;
		else if (!strcmp(a, "--keyframe-at"))
			keyframe_at = atoi(v);
		else if (!strcmp(a, "--bitrate-at") && sscanf(v, "%d:%lld", &bitrate_at, &bitrate_new) == 2)
			;
		else
			_usage();
	}
	if (!cfg.codec || !out_path || cfg.fps <= 0)
		_usage();

	camrelay_pixel_format api_fmt = !strcmp(pixfmt, "nv12")   ? CAMRELAY_PIXFMT_NV12
					: !strcmp(pixfmt, "yuyv") ? CAMRELAY_PIXFMT_YUYV
								  : CAMRELAY_PIXFMT_I420;
	struct cr_capture_cfg_s cap = {.width = cfg.width, .height = cfg.height, .fps = 1000};
	snprintf(cap.backend, sizeof(cap.backend), "test");
	cap.pixel_format = cr_pixfmt_from_name(pixfmt);
	struct cr_source_s src = {.ops = cr_source_find("test"), .cfg = &cap, .stream_name = "test"};
	if (!src.ops || cap.pixel_format == CR_PIXFMT_NONE || src.ops->open(&src) < 0) {
		fprintf(stderr, "test source (%s): %s\n", pixfmt, src.error);
		return 1;
	}

	struct _out_s out = {.f = fopen(out_path, "wb")};
	if (!out.f) {
		fprintf(stderr, "cannot write %s: %s\n", out_path, strerror(errno));
		src.ops->close(&src);
		return 1;
	}
	const char *fourcc = !strcmp(cfg.codec, "vp8") ? "VP80" : !strcmp(cfg.codec, "vp9") ? "VP90"
							   : !strcmp(cfg.codec, "av1") ? "AV01" : NULL;
	out.ivf = fourcc != NULL;
	if (out.ivf)
		_ivf_header(out.f, fourcc, cfg.width, cfg.height, 0);

	char err[256];
	camrelay_encoder *enc = camrelay_encoder_create(&cfg, _on_packet, &out, err, sizeof(err));
	if (!enc) {
		fprintf(stderr, "%s\n", err);
		src.ops->close(&src);
		fclose(out.f);
		return 1;
	}
	camrelay_codec_parameters params;
	camrelay_encoder_codec_parameters(enc, &params);
	printf("backend %s\n", params.backend);

	int rc = 0;
	for (int n = 0; n < frames && rc == 0; n++) {
		struct cr_frame_s *f = NULL;
		while (!f && rc == 0) {
			if (src.ops->read(&src, &f, 1000) < 0) {
				fprintf(stderr, "test source: %s\n", src.error);
				rc = 1;
				break;
			}
		}
		if (!f)
			break;
		camrelay_frame fr = {.format = api_fmt, .width = f->width, .height = f->height,
				     .timestamp_ns = (int64_t)n * 1000000000LL / cfg.fps};
		for (int p = 0; p < f->n_planes; p++) {
			fr.planes[p] = f->data[p];
			fr.strides[p] = f->stride[p];
		}
		if (n == keyframe_at)
			camrelay_encoder_request_keyframe(enc);
		if (n == bitrate_at && camrelay_encoder_set_bitrate(enc, bitrate_new) < 0) {
			fprintf(stderr, "set_bitrate: %s\n", camrelay_encoder_error(enc));
			rc = 1;
		}
		if (camrelay_encoder_push_frame(enc, &fr) < 0) {
			fprintf(stderr, "frame %d: %s\n", n, camrelay_encoder_error(enc));
			rc = 1;
		}
		cr_frame_unref(f);
	}
	printf("params %zu %s\n", params.size, params.profile_level_id[0] ? params.profile_level_id : "-");
	camrelay_encoder_destroy(enc);
	src.ops->close(&src);
	if (out.ivf) {
		rewind(out.f);
		_ivf_header(out.f, fourcc, cfg.width, cfg.height, out.frames);
	}
	if (fclose(out.f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	long alive_f = atomic_load(&cr_frames_alive), alive_p = atomic_load(&cr_packets_alive);
	if (alive_f || alive_p) {
		fprintf(stderr, "leak: %ld frames, %ld packets still referenced\n", alive_f, alive_p);
		return 1;
	}
	return rc;
}
