/* libFuzzer: compound RTCP from viewers (after SRTCP), including
 * transport-cc feedback with its receive deltas, fed on into a viewer's
 * bandwidth estimator (net/gcc.c); and the payloaders fed arbitrary
 * "encoded" data (the first byte picks the codec), and the same data to the
 * SPS reader the stream core takes caps' profile/level from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/h264.h"
#include "net/gcc.h"
#include "rtp/rtp.h"

static size_t total;

static void _emit(void *opaque, uint8_t *pkt, size_t len)
{
	(void)opaque;
	if (len < CR_RTP_HEADER || len > CR_RTP_HEADER + CR_RTP_DEFAULT_PAYLOAD)
		abort();
	total += len;
	(void)pkt[len - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_rtcp_info_s ri;
	(void)cr_rtcp_parse(data, size, &ri);
	if (ri.n_rr > 4 || ri.n_nack > 256 || ri.twcc_count > 1024)
		abort();
	/* The estimator: packets "sent" around the feedback's base, then the feedback. */
	static struct cr_gcc_s g;
	static int64_t now_us = 1000000;
	if (!g.max_bps)
		cr_gcc_init(&g, 1000000, 50000, 5000000);
	for (int i = 0; i < 64; i++)
		cr_gcc_sent(&g, (uint16_t)(ri.twcc_base + i), 1200, now_us += 1000);
	now_us += 20000;
	cr_gcc_feedback(&g, &ri, 1, now_us);
	if (g.estimate_bps < g.min_bps || g.estimate_bps > g.max_bps)
		abort();
	if (size < 1)
		return 0;
	static const enum cr_codec_e codecs[] = {CR_CODEC_H264, CR_CODEC_H265, CR_CODEC_VP8,
						 CR_CODEC_VP9, CR_CODEC_AV1, CR_CODEC_MJPEG};
	static struct cr_rtp_s r;
	cr_rtp_init(&r, codecs[data[0] % 6], 96, 1, 65530);
	r.emit = _emit;
	total = 0;
	int n = cr_rtp_payload(&r, data + 1, size - 1, 0, data[0] & 0x80, 320, 240);
	if (n > 0 && r.packets != (uint32_t)n)
		abort();
	/* The same "access unit" as the stream core reads its caps from it
	 * (core/h264.c: the SPS's profile and level). */
	int profile = -1, level = -1;
	if (cr_sps_profile_level(codecs[data[0] % 6], data + 1, size - 1, &profile, &level) == 0 &&
	    (profile < 0 || profile > 255 || level < 0 || level > 255))
		abort();
	return 0;
}
