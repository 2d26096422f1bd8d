/* Raw video frames and encoded packets, both reference-counted.
 *
 * A frame's pixels may live in heap memory, a V4L2 MMAP buffer, a DMA-BUF or
 * a libgphoto2 JPEG: whoever made it sets `release`, called when the last
 * reference drops (e.g. to VIDIOC_QBUF the buffer back). Consumers never copy
 * a frame to keep it; they take a reference. */
#ifndef CR_FRAME_H
#define CR_FRAME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/format.h"

struct cr_packet_s;

struct cr_frame_s {
	atomic_int refs;
	enum cr_pixfmt_e format;
	int width, height;
	int n_planes;
	uint8_t *data[3];
	int stride[3];
	size_t size;       /* bytes used in total (for MJPEG: the JPEG's length) */
	int dmabuf_fd;     /* exported DMA-BUF of the whole buffer, or -1 */
	uint32_t dmabuf_offset[3];
	uint64_t seq;          /* frame number from the source */
	int64_t ts_capture_ns; /* CLOCK_MONOTONIC at capture */
	bool placeholder;      /* generated while the source is unavailable */
	/* YUV range: false (the default) is BT.601 limited range, Y 16..235 and
	 * Cb/Cr 16..240, as most V4L2 cameras deliver and every raw consumer and
	 * encoder takes; true is full range 0..255, as decoded from a JPEG (JFIF)
	 * or a yuvj stream, or as a V4L2 format's quantization says. MJPEG and
	 * GREY frames are full range by definition (see cr_frame_full_range).
	 * The converter makes raw YUV outputs limited and JPEGs full
	 * (src/convert/range.h). */
	bool full_range;
	/* The encoded access unit this frame was decoded from (URL sources), or
	 * NULL: an encode stage of the same codec passes it on instead of encoding.
	 * Owned by the frame; its release() unrefs it. */
	struct cr_packet_s *coded;

	/* Owner hooks: release() gives the memory back; called once, at refs 0. */
	void (*release)(struct cr_frame_s *f);
	void *owner;
	int owner_index;
	size_t mapped; /* cr_frame_new: bytes of the frame's own mapping, 0 = malloc'd */
};

/* A heap frame of tightly packed planes (MJPEG: `max_size` bytes in plane 0). */
struct cr_frame_s *cr_frame_new(enum cr_pixfmt_e fmt, int w, int h, size_t max_size);
/* A frame of memory someone else owns (a decoder's picture, a device
 * buffer): a zeroed header with refs = 1, no DMA-BUF, counted alive;
 * release(f) gives the memory back and frees f. The caller fills the planes. */
struct cr_frame_s *cr_frame_wrap(enum cr_pixfmt_e fmt, int w, int h, void *owner,
				 void (*release)(struct cr_frame_s *f));
/* A frame header its owner keeps (a device buffer's) handed out again:
 * refs = 1, counted alive. */
void cr_frame_reuse(struct cr_frame_s *f);
/* Gives back the memory of a frame cr_frame_new made: for an owner that
 * replaced its release() and is done with the frame. */
void cr_frame_free(struct cr_frame_s *f);
/* Fills plane pointers/strides for a tightly packed buffer at `base`. */
void cr_frame_set_planes(struct cr_frame_s *f, uint8_t *base);

static inline struct cr_frame_s *cr_frame_ref(struct cr_frame_s *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

void cr_frame_unref(struct cr_frame_s *f);

/* Whether the frame's YUV is full range: flagged, a JPEG, or luma only
 * (GREY: full range by convention, as vivid sends it and JPEG greyscale). */
static inline bool cr_frame_full_range(const struct cr_frame_s *f)
{
	return f->full_range || f->format == CR_PIXFMT_MJPEG || f->format == CR_PIXFMT_GREY;
}

enum cr_packet_flags_e {
	CR_PACKET_KEYFRAME = 1 << 0,
	CR_PACKET_CONFIG = 1 << 1, /* carries (or is) parameter sets / sequence header */
};

struct cr_packet_s {
	atomic_int refs;
	enum cr_codec_e codec;
	uint8_t *data;
	size_t size;
	int64_t pts, dts; /* in the 90 kHz clock */
	uint32_t flags;
	int width, height;
	uint64_t seq;
	int64_t ts_capture_ns; /* of the frame it was encoded from */
	int64_t ts_encoded_ns;
	/* When set, `data` points into this frame (e.g. MJPEG passed through). */
	struct cr_frame_s *frame;
};

/* A packet owning `size` bytes of data (uninitialised). */
struct cr_packet_s *cr_packet_new(enum cr_codec_e codec, size_t size);
/* A packet whose data is the frame's own bytes: no copy, holds a frame ref. */
struct cr_packet_s *cr_packet_wrap_frame(enum cr_codec_e codec, struct cr_frame_s *f);

static inline struct cr_packet_s *cr_packet_ref(struct cr_packet_s *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void cr_packet_unref(struct cr_packet_s *p);

/* Global counters of live objects, for leak checks in tests and /metrics. */
extern atomic_long cr_frames_alive, cr_packets_alive;

#endif
