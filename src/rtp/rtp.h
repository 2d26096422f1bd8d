/* RTP payloaders (one file per payload format) and RTCP.
 *
 * A payloader turns one encoded access unit / frame into RTP packets that all
 * carry the same timestamp, the marker bit on the last one. It builds each
 * packet in its own buffer and hands it to `emit`, which copies what it keeps
 * (history for NACK, SRTP protect, send). Payload formats:
 *   H.264 RFC 6184 (single NAL, STAP-A, FU-A; packetization-mode 1)
 *   H.265 RFC 7798 (single NAL, AP, FU)
 *   VP8   RFC 7741 (15-bit picture id)
 *   VP9   RFC 9628 (non-flexible mode, picture id, TL0PICIDX, SS on keyframes)
 *   AV1   AOM "RTP Payload Format for AV1" (aggregation header, OBU elements)
 *   JPEG  RFC 2435 (baseline 4:2:0 / 4:2:2, tables in band; for RTSP)
 *   Opus  RFC 7587 (audio, opus.c)
 *   G.711 RFC 3551 PCMU/PCMA (audio, g711.c)
 *   AAC   RFC 3640 mpeg4-generic AAC-hbr (audio, aac.c)
 */
#ifndef CR_RTP_H
#define CR_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/format.h"

#define CR_RTP_HEADER 12
#define CR_RTP_MAX_PACKET 1500
#define CR_RTP_DEFAULT_PAYLOAD 1180 /* leaves room for SRTP, RTX and IPv6 under a 1280 MTU */

struct cr_rtp_s {
	enum cr_codec_e codec;
	uint8_t pt;
	uint32_t ssrc;
	uint16_t seq; /* next sequence number */
	size_t max_payload;
	/* Called for every packet built; `pkt` is valid during the call. */
	void (*emit)(void *opaque, uint8_t *pkt, size_t len);
	void *opaque;
	/* Counters for sender reports. */
	uint32_t packets, octets;
	uint32_t last_ts;
	/* VP9 for plain RTP receivers (ffmpeg): picture id only, no layer
	 * indices or scalability structure, which ffmpeg 5.1 cannot parse. */
	bool vp9_minimal;
	/* Per format state. */
	uint16_t picture_id;
	uint8_t tl0_pic_idx;
	int width, height;
	uint8_t buf[CR_RTP_MAX_PACKET];
};

void cr_rtp_init(struct cr_rtp_s *r, enum cr_codec_e codec, uint8_t pt, uint32_t ssrc,
		 uint16_t first_seq);
/* Payloads one access unit / frame (Annex-B for H.264/H.265, a temporal unit
 * in low-overhead OBU format for AV1, a frame for VP8/VP9). `keyframe` marks
 * an intra frame; width/height are used where the format carries the size.
 * Returns the number of packets emitted, or -EINVAL for a malformed input. */
int cr_rtp_payload(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts,
		   bool keyframe, int width, int height);

/* Opus (RFC 7587, opus.c): one packet per payload; talkspurt sets the
 * marker. Returns 1, or -EINVAL when it does not fit a packet. */
int cr_rtp_opus(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool talkspurt);
/* The RTP clock of Opus, and the payload type camrelay offers it at where
 * it chooses (plain RTP; browsers' offers say theirs). */
#define CR_RTP_OPUS_CLOCK 48000
#define CR_RTP_OPUS_PT 111

/* G.711 (RFC 3551, g711.c): the bytes as they are (channels interleaved
 * sample by sample, RFC 3551 4.1), split past a payload at a whole sample of
 * every channel; talkspurt marks the first. AAC (RFC 3640 AAC-hbr, aac.c):
 * one raw access unit per packet (fragmented past a payload). Packets sent,
 * or -EINVAL. */
int cr_rtp_g711(struct cr_rtp_s *r, int channels, const uint8_t *data, size_t size, uint32_t ts, bool talkspurt);
int cr_rtp_aac(struct cr_rtp_s *r, const uint8_t *au, size_t size, uint32_t ts);
#define CR_RTP_AAC_PT 97
/* G.711 other than 8 kHz mono (a camera's 16 kHz, stereo): RFC 3551's
 * static types 0 and 8 mean 8000 Hz, 1 channel, so these go at a dynamic
 * type whose rtpmap says the rate and channels ("PCMU/16000/2"). */
#define CR_RTP_PCMU_DYN_PT 98
#define CR_RTP_PCMA_DYN_PT 99
/* By codec (enum cr_audio_codec_e, audio.c) at its RTP clock rate and
 * channels: the payload type camrelay gives it (PCMU 0, PCMA 8 at 8 kHz
 * mono, else 98/99; AAC 97, Opus 111), and one packet sent through its
 * payloader at that type (sets r->pt). */
int cr_rtp_audio_pt(int codec, int clock_rate, int channels);
int cr_rtp_audio(struct cr_rtp_s *r, int codec, int clock_rate, int channels, const uint8_t *data, size_t size,
		 uint32_t ts, bool talkspurt);

/* Whether a codec has a payloader for WebRTC and the RTP sink (JPEG, which
 * only RTSP sends, is not counted). */
bool cr_rtp_supported(enum cr_codec_e codec);
/* The codecs with a payloader here, CR_CODEC_NONE-terminated (the RTP, RTSP
 * and WHIP sinks declare them as what they take). */
extern const enum cr_codec_e cr_rtp_codecs[];
/* The encoding name for SDP rtpmap ("H264", "VP8", ...). */
const char *cr_rtp_encoding_name(enum cr_codec_e codec);

struct cr_stream_cfg_s;
struct cr_encoder_cfg_s;
/* The encoder settings every RTP consumer of a stream shares (WHEP viewers,
 * the plain RTP sink): the source's [encoder] block when it names an RTP
 * codec, else `fallback` (H.264 constrained baseline, VP8, ...) through the
 * "software" backend. Returns true when the stream configures the codec. */
bool cr_rtp_stream_encoder(const struct cr_stream_cfg_s *s, enum cr_codec_e fallback,
			   struct cr_encoder_cfg_s *out);

/* ---- internal to src/rtp: shared by the payloaders ---- */

/* Payload area of the next packet. */
static inline uint8_t *cr_rtp_payload_buf(struct cr_rtp_s *r) { return r->buf + CR_RTP_HEADER; }
/* Writes the header in front of `len` payload bytes and emits the packet. */
void cr_rtp_send(struct cr_rtp_s *r, size_t len, uint32_t ts, bool marker);

int cr_rtp_h264(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts);
int cr_rtp_h265(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts);
int cr_rtp_vp8(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool key);
int cr_rtp_vp9(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool key);
int cr_rtp_av1(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts, bool key);
int cr_rtp_jpeg(struct cr_rtp_s *r, const uint8_t *data, size_t size, uint32_t ts);

/* Iterates NAL units of an Annex-B buffer: returns the next NAL (without its
 * start code) and its size, or NULL at the end. */
const uint8_t *cr_annexb_next(const uint8_t **p, const uint8_t *end, size_t *nal_size);
/* The parameter sets (H.264 SPS, PPS; H.265 VPS, SPS, PPS) of an Annex-B
 * access unit, copied to out as Annex-B (4-byte start codes). Returns their
 * size: 0 when there are none, other codecs, or they do not fit in cap. */
size_t cr_annexb_param_sets(enum cr_codec_e codec, const uint8_t *data, size_t size, uint8_t *out, size_t cap);
/* The NAL unit type (H.264 nal_unit_type, H.265 nal_unit_type) of a NAL. */
int cr_nal_type(enum cr_codec_e codec, const uint8_t *nal);

/* RFC 4588 retransmission (rtx.c): the RTP packet pkt of len bytes as an
 * RTX packet of payload type rtx_pt, SSRC rtx_ssrc and sequence seq (the
 * original sequence number first in the payload) into out. Returns its
 * length (len + 2), 0 when cap is too small or pkt is shorter than a header. */
size_t cr_rtp_rtx_wrap(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, int rtx_pt, uint32_t rtx_ssrc,
		       uint16_t seq);

/* ---- RTCP (rtcp.c) ---- */

struct cr_rtcp_rr_s {
	uint32_t ssrc;        /* reported media source */
	uint8_t fraction_lost; /* /256 */
	int32_t cumulative_lost;
	uint32_t highest_seq;
	uint32_t jitter; /* in timestamp units */
	uint32_t lsr, dlsr;
};

struct cr_rtcp_info_s {
	int n_rr;
	struct cr_rtcp_rr_s rr[4];
	int pli, fir;
	int n_nack;
	uint16_t nack_seqs[256]; /* sequence numbers asked for again */
	uint32_t media_ssrc;     /* of the last feedback message */
	bool remb;
	uint64_t remb_bps;
	/* transport-wide congestion control feedback (draft-holmer-rmcat-
	 * transport-wide-cc-extensions-01), the last one: which of the
	 * transport sequence numbers base .. base+count-1 arrived (bit k of
	 * twcc_recv for base+k; at most 1024 kept) and when (twcc_arrival_us[k],
	 * the receiver's clock, valid where the bit is set) */
	bool twcc;
	uint16_t twcc_base, twcc_count;
	uint8_t twcc_recv[128];
	int64_t twcc_ref_us;
	int64_t twcc_arrival_us[1024];
};

/* Parses a compound RTCP packet (after SRTCP unprotect): receiver reports,
 * PLI, FIR, generic NACK, REMB, transport-cc. Returns 0, or -EINVAL when the packet is
 * malformed (what was parsed before the error is kept). */
int cr_rtcp_parse(const uint8_t *p, size_t len, struct cr_rtcp_info_s *out);
/* A sender report (with one SDES CNAME chunk) into buf; returns its length. */
size_t cr_rtcp_sender_report(uint8_t *buf, size_t cap, uint32_t ssrc, uint64_t ntp,
			     uint32_t rtp_ts, uint32_t packets, uint32_t octets, const char *cname);
/* Builds a PLI (used by tests and clients). */
size_t cr_rtcp_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
/* NTP time (64-bit fixed point) now, from CLOCK_REALTIME. */
uint64_t cr_ntp_now(void);
/* Round trip time in microseconds from an RR's LSR/DLSR, given the NTP time
 * the RR arrived; -1 when the RR has no LSR. */
int64_t cr_rtcp_rtt_us(uint64_t ntp_arrival, uint32_t lsr, uint32_t dlsr);

static inline bool cr_rtp_is_rtcp(const uint8_t *p, size_t len)
{
	/* RFC 5761: payload types 64-95 in the second byte mean RTCP (200-207 SR, RR, ...). */
	return len >= 2 && p[1] >= 192 && p[1] <= 223;
}

#endif
