/* core/h264.c's SPS reader, which gives caps their H.264/H.265 profile and
 * level, and the level names from the one level table: parameter sets as
 * x264 and x265 write them (x265's with emulation-prevention bytes inside
 * its profile_tier_level), a 4-byte start code after another NAL, and
 * access units without an SPS. The real encoders' values against ffprobe
 * are checked by lib-caps and http_caps. */
#include <errno.h>
#include <string.h>

#include "core/h264.h"
#include "tests/check.h"

static void sps(enum cr_codec_e codec, const uint8_t *d, size_t n, int want_rc, int want_p, int want_l,
		const char *what)
{
	int p = -1, l = -1;
	int rc = cr_sps_profile_level(codec, d, n, &p, &l);
	CHECK(rc == want_rc && (rc < 0 || (p == want_p && l == want_l)), "%s: rc %d profile %d level %d", what, rc, p,
	      l);
}

int main(void)
{
	/* x264 high@3.1: an AUD, then the SPS after a 4-byte start code */
	static const uint8_t h264[] = {0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40};
	sps(CR_CODEC_H264, h264, sizeof(h264), 0, 100, 31, "x264 high 3.1");
	/* constrained baseline 3.0 */
	static const uint8_t cb[] = {0, 0, 1, 0x27, 0x42, 0xc0, 0x1e, 0x8c};
	sps(CR_CODEC_H264, cb, sizeof(cb), 0, 66, 30, "baseline 3.0");
	/* x265 main@3.1: VPS, then the SPS whose flags hold 00 00 03 escapes */
	static const uint8_t h265[] = {0,    0,    0,    1,    0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0,    0,    1,
				       0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
				       0x00, 0x00, 0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80};
	sps(CR_CODEC_H265, h265, sizeof(h265), 0, 1, 93, "x265 main 3.1");
	/* the same bytes are no H.264 SPS; a slice alone has none; cut short */
	sps(CR_CODEC_H264, h265 + 10, sizeof(h265) - 10, -ENOENT, 0, 0, "H.265 SPS read as H.264");
	static const uint8_t slice[] = {0, 0, 1, 0x65, 0x88, 0x84, 0x00};
	sps(CR_CODEC_H264, slice, sizeof(slice), -ENOENT, 0, 0, "IDR slice only");
	sps(CR_CODEC_H265, h265, 25, -ENOENT, 0, 0, "SPS cut before its level");
	sps(CR_CODEC_VP8, h264, sizeof(h264), -ENOENT, 0, 0, "not H.26x");

	char buf[16];
	CHECK(!strcmp(cr_level_name(CR_CODEC_H264, 31, buf, sizeof(buf)), "3.1"), "h264 31: %s", buf);
	CHECK(!strcmp(cr_level_name(CR_CODEC_H264, 9, buf, sizeof(buf)), "1b"), "h264 9: %s", buf);
	CHECK(!strcmp(cr_level_name(CR_CODEC_H264, 33, buf, sizeof(buf)), ""), "h264 33: %s", buf);
	CHECK(!strcmp(cr_level_name(CR_CODEC_H265, 93, buf, sizeof(buf)), "3.1"), "h265 93: %s", buf);
	CHECK(!strcmp(cr_level_name(CR_CODEC_H265, 120, buf, sizeof(buf)), "4"), "h265 120: %s", buf);
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	else
		printf("sps: ok\n");
	return failures ? 1 : 0;
}
