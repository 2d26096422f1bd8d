/* The timecode block: a frame's capture time (the server's wall clock, ms
 * since the Unix epoch) and frame number as large black/white cells in the
 * top-left corner, for a glass-to-glass meter to read back from the picture
 * a viewer sees (the player page's JS reads the same layout).
 *
 * The frame is cut into a grid of 80 x 45 cells (x edges at i*w/80, y edges
 * at j*h/45), so the code scales with the picture and survives scaling to
 * 320x180 (4x4-pixel cells) and coarse JPEG/H.264. The block covers cells
 * 0..17 x 0..8: a black ring, then inside (columns 1..16, rows 1..7) one row
 * of reference cells (8 white, 8 black) and six rows of data bits, MSB first:
 * 48 bits of ms, 16 bits of frame number, 32 bits of CRC-32 (zlib's) of those
 * 8 bytes, big-endian. White is a 1. */
#ifndef CR_TIMECODE_H
#define CR_TIMECODE_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/frame.h"

#define CR_TC_GRID_W 80
#define CR_TC_GRID_H 45
#define CR_TC_COLS 18 /* the block, ring included, in cells */
#define CR_TC_ROWS 9
/* Smallest frame the code is drawn on or read from (2x2-pixel cells). */
#define CR_TC_MIN_W 160
#define CR_TC_MIN_H 90

struct cr_timecode_s {
	uint64_t ms;    /* wall clock, ms since 1970 (48 bits) */
	uint16_t frame; /* frame number, low 16 bits */
};

/* Draws the block into a raw frame of any uncompressed format in place.
 * -ENOTSUP for MJPEG, -EINVAL for a frame smaller than the minimum. */
int cr_timecode_draw(struct cr_frame_s *f, const struct cr_timecode_s *tc);

/* Reads the block from an 8-bit luma (or grey) plane of the whole picture,
 * at any size. 0 and *tc filled; -EBADMSG when the block is not readable
 * (no contrast between the reference cells, a reference cell wrong, or the
 * CRC does not match); -EINVAL for a plane below the minimum size. */
int cr_timecode_read(const uint8_t *luma, int stride, int w, int h, struct cr_timecode_s *tc);

/* The wall-clock ms of a CLOCK_MONOTONIC time stamp (e.g. ts_capture_ns). */
uint64_t cr_timecode_wall_ms(int64_t mono_ns);

/* For [stream.<name>] timecode = true: a copy of f (a source's buffer is not
 * ours to draw into) with the block drawn; MJPEG is decoded to I420 first
 * (through *conv, made on first use; the caller destroys it).
 * The bytes copied are added to *copied. NULL on failure (f is then to be
 * passed on unstamped). */
struct cr_converter_s;
struct cr_frame_s *cr_timecode_stamp(const struct cr_frame_s *f, struct cr_converter_s **conv,
				     atomic_uint_least64_t *copied);

#endif
