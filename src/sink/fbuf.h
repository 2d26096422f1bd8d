/* V4L2 overlays (seed 003): framebuffer parameters (VIDIOC_G_FBUF/S_FBUF),
 * the overlay window (VIDIOC_S_FMT with V4L2_BUF_TYPE_VIDEO_OVERLAY or
 * _VIDEO_OUTPUT_OVERLAY) and start/stop (VIDIOC_OVERLAY). Shared by the
 * overlay sink (src/sink/overlay.c) and `camrelay overlay`.
 *
 * Capability and flag names are the spec's without their prefix, lower case:
 * V4L2_FBUF_CAP_LIST_CLIPPING is "list_clipping", V4L2_FBUF_FLAG_LOCAL_INV_ALPHA
 * is "local_inv_alpha". */
#ifndef CR_SINK_FBUF_H
#define CR_SINK_FBUF_H

#include <linux/videodev2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* "chromakey, list_clipping, ..." ("none" for 0). */
void cr_fbuf_caps_str(uint32_t caps, char *out, size_t n);
void cr_fbuf_flags_str(uint32_t flags, char *out, size_t n);
/* Bit of a flag name, 0 when unknown. */
uint32_t cr_fbuf_flag_bit(const char *name);
/* "primary, overlay, chromakey, ..." for messages. */
const char *cr_fbuf_flag_names(void);
/* Name of the first capability/flag bit set in bits ("?" when none). */
const char *cr_fbuf_cap_name(uint32_t bit);
const char *cr_fbuf_flag_name(uint32_t bit);

#define CR_FBUF_MAX_CLIPS 64

/* The overlay sink's own keys (its block in struct cr_sink_cfg_s, its option
 * table in src/sink/overlay.c; also what `camrelay overlay` sets). Rectangles
 * are x, y, w, h. */
struct cr_overlay_opts_s {
	bool has_window;
	int window[4];       /* overlay window on the framebuffer */
	int n_clips;
	int clips[CR_MAX_OVERLAY_RECTS][4];  /* framebuffer areas the video leaves alone */
	int n_bitmap;
	int bitmap[CR_MAX_OVERLAY_RECTS][4]; /* window areas where video shows (clip bitmap) */
	bool has_chromakey;
	uint32_t chromakey;  /* 0xRRGGBB, converted to the framebuffer's format */
	bool has_global_alpha;
	int global_alpha;    /* 0..255 */
	uint32_t fbuf_flags; /* V4L2_FBUF_FLAG_* named in `flags` */
	bool has_flags;
	bool destructive;    /* capture overlay into framebuffer memory (needs CAP_SYS_ADMIN) */
	char framebuffer[64];/* /dev/fbN: destructive target, or where the OSD is drawn */
	bool osd;            /* output overlay: draw stream name, time, fps, viewers */
};

/* What a device says about its overlay. */
struct cr_fbuf_state_s {
	bool output;                 /* video output overlay (OSD) rather than capture overlay */
	char card[32];
	struct v4l2_framebuffer fb;  /* VIDIOC_G_FBUF */
	bool has_win;                /* VIDIOC_G_FMT of the overlay type worked */
	struct v4l2_window win;      /* win.clips points into clips[] */
	struct v4l2_clip clips[CR_FBUF_MAX_CLIPS];
	int n_clips;
	bool has_bitmap;
};

/* Reads the device's framebuffer parameters and overlay window. -errno and
 * a message when the device has no overlay. */
int cr_fbuf_query(int fd, const char *dev, struct cr_fbuf_state_s *st, char *err, size_t errlen);

/* Applies the overlay keys of cfg (framebuffer, destructive, flags, window,
 * clips, bitmap, chromakey, global_alpha); refuses what the device's
 * capabilities do not offer, naming them. st is re-read afterwards. A
 * driver that adjusts a value (window size follows the capture size on
 * most devices) is not an error; notes (may be NULL) says what changed. */
int cr_fbuf_apply(int fd, const char *dev, const struct cr_overlay_opts_s *cfg, struct cr_fbuf_state_s *st,
		  char *notes, size_t noteslen, char *err, size_t errlen);

/* VIDIOC_OVERLAY on (true) or off. */
int cr_fbuf_overlay(int fd, const char *dev, bool on, char *err, size_t errlen);

/* A Linux framebuffer device (/dev/fbN) as V4L2 sees it: physical base
 * address (smem_start, as v4l2-ctl --set-fbuf-video fb= does), size, line
 * length and pixel format. */
struct cr_fbdev_s {
	unsigned long phys;
	uint32_t width, height, bytesperline, bpp, size;
	uint32_t pixelformat; /* V4L2_PIX_FMT_*, 0 when not expressible */
	char id[20];
};
int cr_fbdev_info(const char *path, struct cr_fbdev_s *fbd, char *err, size_t errlen);
/* The /dev/fbN whose memory is at phys (output overlays report it), or -ENOENT. */
int cr_fbdev_find(unsigned long phys, char *path, size_t len);

/* 0xRRGGBB as one pixel of a framebuffer format (ARGB555, RGB565, 32-bit
 * RGB; alpha opaque where the format has it), host order. */
uint32_t cr_fbuf_pack_rgb(uint32_t pixelformat, uint32_t rgb, bool opaque);
/* Bytes per pixel of a packed RGB framebuffer format (2 or 4), 0 otherwise. */
int cr_fbuf_bpp(uint32_t pixelformat);

#endif
