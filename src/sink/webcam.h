/* The virtual webcam sink (v4l2loopback). Exported: the device listing, for
 * `camrelay webcam` and `camrelay list`. */
#ifndef CR_SINK_WEBCAM_H
#define CR_SINK_WEBCAM_H

#include <stdbool.h>

/* The webcam sink's own keys (its block in struct cr_sink_cfg_s; the option
 * table in webcam.c): v4l2loopback's controls of the same names. */
struct cr_webcam_opts_s {
	bool keep_format; /* default true: the format outlives camrelay */
	int timeout_ms;   /* default 1500: "not running" picture after this long; 0 = off */
};

struct cr_webcam_dev_s {
	char path[64];   /* "/dev/video10" */
	char label[128]; /* v4l2loopback card_label */
	bool fed;        /* another producer drives it (no output side shown) */
	bool exclusive;  /* exclusive_caps=1: Chrome lists it once it is fed */
};

/* v4l2loopback devices, in /dev/videoN order; returns how many (0: module
 * not loaded). */
int cr_webcam_list(struct cr_webcam_dev_s *out, int max);

#endif
