/* Helpers shared by the software encoder backends (x264, x265, libvpx,
 * libaom): defaults, thread counts, speed presets and packet creation, so
 * every backend reads its configuration the same way. */
#ifndef CR_ENCODE_SW_H
#define CR_ENCODE_SW_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode/encoder.h"

static inline int _sw_fps(const struct cr_encoder_s *enc)
{
	int fps = enc->fps_num > 0 && enc->fps_den > 0 ? (enc->fps_num + enc->fps_den / 2) / enc->fps_den : 30;
	return fps > 0 ? fps : 1;
}

/* Frames between keyframes: the configured gop, else two seconds. */
static inline int _sw_gop(const struct cr_encoder_s *enc)
{
	return enc->cfg.gop > 0 ? enc->cfg.gop : 2 * _sw_fps(enc);
}

/* bit/s: the configured bitrate, else ~0.1 bit per pixel (2.8 Mbit/s at 720p30). */
static inline int64_t _sw_bitrate(const struct cr_encoder_s *enc)
{
	if (enc->cfg.bitrate > 0)
		return enc->cfg.bitrate;
	int64_t b = (int64_t)enc->width * enc->height * _sw_fps(enc) / 10;
	return b < 100000 ? 100000 : b;
}

static inline int _sw_kbps(int64_t bps)
{
	int64_t k = (bps + 500) / 1000;
	return k < 1 ? 1 : k > 1000000 ? 1000000 : (int)k;
}

/* The software backends' own keys (sw.c's cr_sw_options), in cfg.opts. */
struct cr_sw_opts_s {
	char preset[16]; /* x264-style speed preset, "" = by picture size */
};
extern const struct cr_option_s cr_sw_options[];

static inline const char *_sw_preset(const struct cr_encoder_s *enc)
{
	return ((const struct cr_sw_opts_s *)(const void *)enc->cfg.opts)->preset;
}

/* Encoder threads: one per core, at most 8 (more only adds latency at these sizes). */
static inline int _sw_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Speed on a 0 (slowest) .. 9 (ultrafast) scale from the x264-style preset
 * name; "" picks ultrafast from 720p up, veryfast below. -1: unknown name. */
static inline int _sw_speed(const struct cr_encoder_s *enc)
{
	static const char *const names[] = {"placebo", "veryslow", "slower", "slow", "medium",
					    "fast", "faster", "veryfast", "superfast", "ultrafast"};
	const char *p = _sw_preset(enc);
	if (!*p)
		return (int64_t)enc->width * enc->height >= 1280 * 720 ? 9 : 7;
	for (int i = 0; i < 10; i++)
		if (strcmp(p, names[i]) == 0)
			return i;
	return -1;
}

static inline const char *_sw_speed_name(int speed)
{
	static const char *const names[] = {"placebo", "veryslow", "slower", "slow", "medium",
					    "fast", "faster", "veryfast", "superfast", "ultrafast"};
	return names[speed < 0 ? 0 : speed > 9 ? 9 : speed];
}

/* log2 of the tile columns for VP9/AV1: about one per thread, each at least
 * 256 pixels wide (the VP9 minimum; AV1 follows the same rule of thumb). */
static inline int _sw_tile_cols_log2(int width, int threads)
{
	int n = 0;
	while ((2 << n) <= threads && (width >> (n + 1)) >= 256 && n < 6)
		n++;
	return n;
}

#define _SW_PRESETS "ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo"

/* A packet for `size` bytes with the frame's timing copied over. */
static inline struct cr_packet_s *_sw_packet(const struct cr_encoder_s *enc, enum cr_codec_e codec,
					     size_t size, int64_t pts, uint64_t seq, int64_t ts_capture_ns)
{
	struct cr_packet_s *pkt = cr_packet_new(codec, size);
	if (!pkt)
		return NULL;
	pkt->width = enc->width;
	pkt->height = enc->height;
	pkt->pts = pkt->dts = pts;
	pkt->seq = seq;
	pkt->ts_capture_ns = ts_capture_ns;
	return pkt;
}

/* 90 kHz timestamp of a frame. */
static inline int64_t _sw_pts(const struct cr_frame_s *f)
{
	return f->ts_capture_ns / 100000 * 9 + f->ts_capture_ns % 100000 * 9 / 100000;
}

#endif
