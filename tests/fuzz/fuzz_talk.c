/* libFuzzer: talk-back's playout buffer (audio/talk_jb.c) fed what a WHEP
 * viewer's microphone sends after SRTP. The input is a run of records:
 * one byte (bit 7: pull that many & 7 blocks first; bits 0-6: payload type
 * offset), two bytes of length, then that many bytes as one RTP packet
 * (lengths past the input are cut, so oversized packets happen too). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/talk_jb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cr_talk_jb_s *jb;
	if (!jb && !(jb = cr_talk_jb_new(1)))
		abort();
	cr_talk_jb_reset(jb);
	int16_t pcm[CR_TALK_BLOCK * 2];
	int64_t now = 1000000000LL, at;
	size_t off = 0;
	while (off + 3 <= size) {
		uint8_t op = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		if (op & 0x80)
			for (int i = 0; i < (op & 7); i++) {
				cr_talk_jb_pull(jb, pcm, &at);
				if (at < 0 || at > now)
					abort();
			}
		int rc = cr_talk_jb_push(jb, data + off, len, 111 + (op & 0x7f) % 2, now);
		if (rc < -22 || rc > 1)
			abort();
		off += len;
		now += 20000000LL;
	}
	cr_talk_jb_pull(jb, pcm, &at);
	struct cr_talk_jb_stats_s st;
	cr_talk_jb_stats(jb, &st);
	if (st.depth < 0 || st.depth > 32)
		abort();
	return 0;
}
