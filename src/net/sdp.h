/* SDP (RFC 8866) for WHEP: parse a browser's offer, pick the video section
 * and codec, build the ICE-lite / DTLS-SRTP answer; and the SDP that
 * describes a plain RTP output for ffplay/GStreamer. Written by hand: the
 * subset WebRTC offers use is small and no Debian library covers it without
 * a full media stack (GStreamer's gstsdp would drag GLib in). Fuzzed. */
#ifndef CR_SDP_H
#define CR_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/format.h"

#define CR_SDP_MAX_MEDIA 8
#define CR_SDP_MAX_FMTS 48

struct cr_sdp_fmt_s {
	int pt;
	char name[16]; /* rtpmap encoding name: "H264", "rtx", ... */
	int clock;
	char fmtp[256];
	bool nack, pli, fir;
	bool twcc, remb; /* a=rtcp-fb transport-cc, goog-remb */
};

struct cr_sdp_media_s {
	char type[16];  /* video, audio, application */
	int port;
	char proto[32];
	char first_fmt[32]; /* for echoing a rejected section */
	char mid[32];
	char ufrag[64], pwd[128];
	char fp_alg[16], fingerprint[200]; /* sha-512: 191 characters */
	char setup[16];
	char direction[16];
	bool rtcp_mux;
	int sctp_port;             /* a=sctp-port (data channels), 0 = not given */
	bool sctpmap;              /* the older form: DTLS/SCTP <port> + a=sctpmap (aiortc's) */
	uint64_t max_message_size; /* a=max-message-size, 0 = not given */
	int twcc_ext; /* a=extmap id of transport-wide-cc-extensions-01 (1..14), 0 = not offered */
	int n_fmts;
	struct cr_sdp_fmt_s fmts[CR_SDP_MAX_FMTS];
};

struct cr_sdp_offer_s {
	int n_media;
	struct cr_sdp_media_s media[CR_SDP_MAX_MEDIA];
};

/* Parses an offer; session-level ICE/DTLS attributes are copied into each
 * section that lacks its own. On error returns -EINVAL and says why in err
 * (for a 400 body). */
int cr_sdp_parse_offer(const char *text, size_t len, struct cr_sdp_offer_s *o, char *err,
		       size_t errlen);

/* What the encoder produces, to match against offered formats. */
struct cr_sdp_want_s {
	enum cr_codec_e codec;
	uint8_t profile_idc, constraint_flags; /* H.264; 0 = any */
};

/* Index of the offered format to use for `want` in m, or -1. Writes the
 * fmtp line for the answer into fmtp. *rtx_pt gets the RTX payload type
 * bound to it (apt=), or -1. */
int cr_sdp_match(const struct cr_sdp_media_s *m, const struct cr_sdp_want_s *want, char *fmtp,
		 size_t fmtp_len, int *rtx_pt);

struct cr_sdp_answer_s {
	int media; /* index of the accepted video section */
	int pt, rtx_pt;
	enum cr_codec_e codec;
	const char *fmtp;
	uint32_t ssrc, rtx_ssrc;
	const char *ufrag, *pwd;
	const char *fingerprint; /* sha-256, "AB:CD:..." */
	const char *stream;      /* for msid / cname */
	uint64_t session_id;
	const char *const *candidates; /* addresses (IPv4 or IPv6 literals) */
	int n_candidates;
	int port;
	/* Audio (Opus, bundled with the video), when `audio`: the index of the
	 * offer's audio section to accept, its payload type, SSRC, channels. */
	bool audio;
	int audio_media, audio_pt;
	uint32_t audio_ssrc;
	int audio_channels;
	bool audio_recv; /* talk-back: a=sendrecv (the viewer's microphone is taken), else a=sendonly */
	/* has_dc: section dc_media, the data channels, accepted (bundled with
	 * the video): answered with a=sctp-port and a=max-message-size. */
	bool has_dc;
	int dc_media;
	int sctp_port;
	int max_message_size;
	/* Congestion control feedback to ask for: the transport-cc header
	 * extension's id (0 = none) and its rtcp-fb, goog-remb. */
	int twcc_ext;
	bool twcc_fb, remb;
};

#define CR_SDP_TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

/* The answer; returns its length or -ENOSPC. */
int cr_sdp_build_answer(const struct cr_sdp_offer_s *o, const struct cr_sdp_answer_s *a, char *out,
			size_t cap);

/* SDP for receiving a plain RTP output (ffplay -protocol_whitelist
 * file,udp,rtp -i x.sdp). ps: the H.264/H.265 parameter sets (Annex-B) for
 * sprop-* and profile-level-id, or NULL. Returns its length or -ENOSPC. */
int cr_sdp_plain_rtp(char *out, size_t cap, const char *name, const char *addr, int port,
		     enum cr_codec_e codec, int pt, int clock_rate, const uint8_t *ps, size_t ps_len);

/* The audio section (RFC 7587 Opus) appended after cr_sdp_plain_rtp's; its
 * length or -ENOSPC. */
int cr_sdp_plain_opus(char *out, size_t cap, int port, int pt, int channels, bool fec);
/* The same for what an audio output sends (audio/audio.h: Opus as above,
 * PCMU/PCMA RFC 3551 at their static types at 8 kHz mono, else at a dynamic
 * one with the rate and channels in the rtpmap, AAC RFC 3640 AAC-hbr with
 * config=), at cr_rtp_audio_pt()'s payload type. */
struct cr_audio_format_s;
int cr_sdp_plain_audio(char *out, size_t cap, int port, const struct cr_audio_format_s *f, int channels, bool fec);

/* Reads `key=value` from an fmtp parameter list into val; false if absent. */
bool cr_sdp_fmtp_get(const char *fmtp, const char *key, char *val, size_t vallen);

#endif
