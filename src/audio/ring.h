/* An audio consumer that runs on an event loop (RTSP sessions, WHIP
 * pushes, WHEP viewers): the audio thread copies each Opus packet into a
 * small ring of the consumer's and calls notify (an eventfd write); the
 * loop pops them and payloads them there, so RTP state stays on one
 * thread. When the loop falls behind, the oldest packets are dropped. */
#ifndef CR_AUDIO_RING_H
#define CR_AUDIO_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "audio/audio.h"

#define CR_AUDIO_RING_SLOTS 16  /* 320 ms of 20 ms packets */
#define CR_AUDIO_RING_PAYLOAD 1400

struct cr_audio_ring_slot_s {
	uint16_t len;
	uint8_t codec;  /* enum cr_audio_codec_e */
	uint8_t channels;
	int clock_rate; /* of ts */
	uint32_t ts;    /* at the codec's clock */
	bool talkspurt;
	uint8_t data[CR_AUDIO_RING_PAYLOAD];
};

struct cr_audio_ring_s;

/* Subscribes a new ring to a; notify(opaque) is called on the audio thread
 * after each packet. NULL when out of memory. */
struct cr_audio_ring_s *cr_audio_ring_new(struct cr_audio_s *a, void (*notify)(void *opaque), void *opaque);
/* The same for a consumer taking the codecs in takes (cr_audio_subscribe_takes). */
struct cr_audio_ring_s *cr_audio_ring_new_takes(struct cr_audio_s *a, unsigned takes, void (*notify)(void *opaque),
						void *opaque);
/* The oldest packet waiting, copied to *out; false when none. */
bool cr_audio_ring_pop(struct cr_audio_ring_s *q, struct cr_audio_ring_slot_s *out);
/* Packets dropped because the ring was full. */
uint64_t cr_audio_ring_dropped(struct cr_audio_ring_s *q);
/* Unsubscribes (waiting for a delivery in progress) and frees; NULL is fine. */
void cr_audio_ring_free(struct cr_audio_ring_s *q);

#endif
