/* Talk-back (intercom): one WHEP viewer's microphone played on the
 * stream's `[stream.<name>.audio] playback` ALSA device (talk.c).
 *
 *   WHEP loop: claim ─► RTP/Opus packets ─► cr_talk_rtp ─► playout buffer (talk_jb.c)
 *   playback thread: 20 ms blocks ─► libasound (the device paces it) ─► speaker
 *
 * One talker at a time: the first claim holds the device (opened then, so a
 * missing, busy or forbidden device is told to the viewer that asked) until
 * it releases it; a second claim gets -EBUSY and a reason. Everything but
 * the playback thread runs on the WHEP loop. */
#ifndef CR_TALK_H
#define CR_TALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cr_talk_s;

struct cr_talk_status_s {
	char device[128];
	char talker[33];   /* the viewer's public id; "" = nobody talks */
	char message[256]; /* the last device error */
	uint64_t talkers;  /* claims granted */
	uint64_t refused;  /* claims refused (busy: someone talks; device errors) */
	uint64_t packets, bytes, bad, late, dropped, decoded, fec, concealed;
	uint64_t underruns;   /* the device ran dry (ALSA xrun), recovered */
	uint64_t device_errors;
	double level_dbfs;    /* of the last 20 ms played */
	/* An Opus packet's arrival → its first sample leaving the device
	 * (buffer wait + what the device still holds, snd_pcm_delay). */
	double delay_p50_ms, delay_p99_ms;
};

struct cr_talk_s *cr_talk_new(const char *stream, const char *device, int channels);
void cr_talk_free(struct cr_talk_s *t);
/* Opens the device for talker (a viewer's public id) and starts playing.
 * -EBUSY: someone else talks; other -errno: the device failed; err says
 * why in words a user can act on. */
int cr_talk_claim(struct cr_talk_s *t, const char *talker, char *err, size_t errlen);
/* A talker refused before it got here (no right): counted. */
void cr_talk_refused(struct cr_talk_s *t);
/* The talker leaves: the device is closed, free for the next one. */
void cr_talk_release(struct cr_talk_s *t, const char *talker);
/* One RTP packet (after SRTP) from the talker, Opus on payload type pt. */
void cr_talk_rtp(struct cr_talk_s *t, const uint8_t *pkt, size_t len, int pt);
void cr_talk_status(struct cr_talk_s *t, struct cr_talk_status_s *st);

/* With libasound, talk.c is in the module camrelay-alsa.so (core/module.h)
 * and exports its functions in this table; audio/alsa_module.c holds the
 * functions above in the core, loads the module at the first cr_talk_new
 * and forwards (without the module every claim is refused naming the
 * package). The talk-back objects are the module's: void * here. */
struct cr_talk_ops_s {
	void *(*create)(const char *stream, const char *device, int channels);
	void (*destroy)(void *t);
	int (*claim)(void *t, const char *talker, char *err, size_t errlen);
	void (*refused)(void *t);
	void (*release)(void *t, const char *talker);
	void (*rtp)(void *t, const uint8_t *pkt, size_t len, int pt);
	void (*status)(void *t, struct cr_talk_status_s *st);
};

/* alsa.c: libasound says "no such device" for a card it may not open;
 * true when /dev/snd has sound devices and this user may open none. */
bool cr_alsa_denied(void);

#endif
