/* "rdk": the Horizon RDK X5's hardware encoder, a backend name of seed 001's
 * schema. camrelay has no driver for it: the name is declared so that seed
 * 001's configs load (and say what the backend encodes), and `serve` then
 * stops at start naming the line ("not in this build"). It declares no keys
 * of its own (device and fallback are v4l2-m2m's). No open(): never picked. */
#include "encode/encoder.h"

const struct cr_encoder_ops_s cr_encoder_rdk = {
	.name = "rdk",
	.hardware = true,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H264, CR_CODEC_H265, CR_CODEC_MJPEG, CR_CODEC_NONE},
};
