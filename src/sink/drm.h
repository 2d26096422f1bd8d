/* The drm sink's own keys (its block in struct cr_sink_cfg_s; the option
 * table in drm.c). */
#ifndef CR_SINK_DRM_H
#define CR_SINK_DRM_H

#include <stdbool.h>

struct cr_drm_opts_s {
	char connector[32]; /* "Virtual-1", "HDMI-A-1"; "" = first connected */
	char mode[32];      /* "1024x768", "1024x768@60"; "" = preferred */
	bool has_rect;
	int rect[4];        /* where the video goes on the screen (x, y, w, h); none = full screen */
};

#endif
