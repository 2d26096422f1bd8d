/* The C interface of libcamera.cpp, the project's only C++: camera, config,
 * buffers, requests and controls. Everything else of the libcamera source
 * (frames, refcounts, mappings, the ops table) is C in libcamera.c, because
 * core/frame.h's C11 atomics do not compile as C++17. Plain C types only. */
#ifndef CR_SOURCE_LIBCAMERA_PRIV_H
#define CR_SOURCE_LIBCAMERA_PRIV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_lc_s;

struct cr_lc_info_s {
	char id[200];      /* the camera's libcamera id */
	int width, height; /* as configured */
	uint32_t fourcc;   /* DRM fourcc (libcamera's PixelFormat) */
	int stride;        /* bytes per line of plane 0 */
	int n_buffers;
	char note[256];    /* the camera changed what was asked */
};

struct cr_lc_plane_s {
	int fd; /* DMA-BUF */
	uint32_t offset, length;
};

enum cr_lc_ctrl_type_e { CR_LC_INT = 1, CR_LC_BOOL, CR_LC_FLOAT, CR_LC_OTHER };

/* Opens and configures camera `device` (an index or a libcamera id) for video
 * recording; 0 for any of w/h/fps/fourcc keeps the camera's choice. */
int cr_lc_open(const char *device, int w, int h, uint32_t fourcc, struct cr_lc_s **out,
	       struct cr_lc_info_s *info, char *err, size_t errlen);
/* The planes of buffer `index` (0..n_buffers-1); returns how many (<= 3). */
int cr_lc_buffer(struct cr_lc_s *lc, int index, struct cr_lc_plane_s planes[3]);
/* Starts the camera (frame duration from fps when > 0) and queues all buffers. */
int cr_lc_start(struct cr_lc_s *lc, int fps, char *err, size_t errlen);
/* Waits up to timeout_ms for a completed buffer: its index, -1 if none, or
 * -errno. Older completed buffers are queued again (newest wins). */
int cr_lc_wait(struct cr_lc_s *lc, int timeout_ms, int64_t *ts_ns, uint32_t *bytesused);
/* Gives buffer `index` back to the camera (no-op once stopped); thread-safe. */
void cr_lc_requeue(struct cr_lc_s *lc, int index);
/* Stops the camera; buffers stay valid until cr_lc_destroy. */
void cr_lc_stop(struct cr_lc_s *lc);
void cr_lc_destroy(struct cr_lc_s *lc);
/* Control `i` of the camera (0 while there are more, -ENOENT past the last).
 * Names come in the API's style: "ExposureTime" -> "exposure_time". */
int cr_lc_control(struct cr_lc_s *lc, int i, char name[64], enum cr_lc_ctrl_type_e *type, int64_t *min,
		  int64_t *max, int64_t *def, char text[64]);
/* Sets a control (API or libcamera name) for the next request. */
int cr_lc_set_control(struct cr_lc_s *lc, const char *name, const char *value, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
