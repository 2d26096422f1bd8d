/* The audio payloaders by codec (audio/audio.h's cr_audio_format_s): the
 * payload type camrelay gives each where it chooses (plain RTP, RTSP) and
 * the payloader a packet goes through. G.711's type depends on its rate and
 * channels: RFC 3551's static 0/8 are 8 kHz mono only. */
#include <errno.h>

#include "audio/audio.h"
#include "rtp/rtp.h"

int cr_rtp_audio_pt(int codec, int clock_rate, int channels)
{
	bool g711_static = clock_rate == 8000 && channels == 1;
	switch ((enum cr_audio_codec_e)codec) {
	case CR_AUDIO_PCMU:
		return g711_static ? 0 : CR_RTP_PCMU_DYN_PT; /* RFC 3551's static types */
	case CR_AUDIO_PCMA:
		return g711_static ? 8 : CR_RTP_PCMA_DYN_PT;
	case CR_AUDIO_AAC:
		return CR_RTP_AAC_PT;
	case CR_AUDIO_OPUS:
		break;
	}
	return CR_RTP_OPUS_PT;
}

int cr_rtp_audio(struct cr_rtp_s *r, int codec, int clock_rate, int channels, const uint8_t *data, size_t size,
		 uint32_t ts, bool talkspurt)
{
	r->pt = (uint8_t)cr_rtp_audio_pt(codec, clock_rate, channels);
	switch ((enum cr_audio_codec_e)codec) {
	case CR_AUDIO_PCMU:
	case CR_AUDIO_PCMA:
		return cr_rtp_g711(r, channels, data, size, ts, talkspurt);
	case CR_AUDIO_AAC:
		return cr_rtp_aac(r, data, size, ts);
	case CR_AUDIO_OPUS:
		return cr_rtp_opus(r, data, size, ts, talkspurt);
	}
	return -EINVAL;
}
