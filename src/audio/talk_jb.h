/* Talk-back's playout buffer (talk_jb.c): a WHEP viewer's microphone, RTP
 * packets of Opus (RFC 7587), in; 20 ms blocks of 48 kHz S16 PCM out, on
 * the playback device's clock.
 *
 *   loop thread: cr_talk_jb_push(RTP packet) ──► slots by sequence number
 *   playback thread: cr_talk_jb_pull(20 ms) ◄── decoded / FEC / concealed / silence
 *
 * Not thread-safe by itself: the caller (talk.c) holds one lock around both. */
#ifndef CR_TALK_JB_H
#define CR_TALK_JB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_TALK_RATE 48000
#define CR_TALK_BLOCK 960        /* 20 ms at 48 kHz: one pull */
#define CR_TALK_MAX_PAYLOAD 1500 /* an Opus payload above this is refused (RFC 6716 allows 1275 a frame) */

struct cr_talk_jb_s;

struct cr_talk_jb_stats_s {
	uint64_t packets;     /* RTP packets taken into the buffer */
	uint64_t bytes;       /* their Opus payload bytes */
	uint64_t bad;         /* not RTP, wrong payload type, not a valid Opus packet, oversized */
	uint64_t late;        /* came after their time to play had passed (or a duplicate) */
	uint64_t dropped;     /* played-out ahead of their time: the buffer was held too deep */
	uint64_t decoded;     /* 20 ms blocks decoded from a packet */
	uint64_t fec;         /* blocks rebuilt from the next packet's in-band FEC */
	uint64_t concealed;   /* blocks Opus concealed (PLC): a packet was lost */
	uint64_t silent;      /* blocks of silence: no talker, or waiting to fill the buffer */
	uint64_t restarts;    /* the talker fell silent (or jumped) and the buffer filled again */
	double level_dbfs;    /* RMS of the last block played, -100 for digital silence */
	int depth;            /* packets waiting now */
};

/* channels: 1 or 2, of the PCM pulled. NULL when libopus refuses. */
struct cr_talk_jb_s *cr_talk_jb_new(int channels);
void cr_talk_jb_free(struct cr_talk_jb_s *jb);
/* Forgets everything buffered (a new talker), keeps the counters. */
void cr_talk_jb_reset(struct cr_talk_jb_s *jb);
/* One RTP packet (after SRTP) of payload type pt, arrived at now_ns
 * (CLOCK_MONOTONIC). 0: taken; -EINVAL: bad (counted); 1: late or a
 * duplicate (counted). */
int cr_talk_jb_push(struct cr_talk_jb_s *jb, const uint8_t *pkt, size_t len, int pt, int64_t now_ns);
/* The next CR_TALK_BLOCK frames (interleaved S16, channels wide) into pcm.
 * Returns true when it is sound from the talker (decoded, FEC or concealed),
 * false for silence. *arrival_ns: when the packet whose decoding starts
 * this block arrived, 0 when none does. */
bool cr_talk_jb_pull(struct cr_talk_jb_s *jb, int16_t *pcm, int64_t *arrival_ns);
void cr_talk_jb_stats(const struct cr_talk_jb_s *jb, struct cr_talk_jb_stats_s *st);

#endif
