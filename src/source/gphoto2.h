/* DSLR/mirrorless live view through libgphoto2 (backend "gphoto2").
 *
 * Only the camera listing is exported here, for `camrelay list` and
 * `camrelay webcam`; the source itself is the cr_source_gphoto2 ops table. */
#ifndef CR_SOURCE_GPHOTO2_H
#define CR_SOURCE_GPHOTO2_H

struct cr_gphoto2_camera_s {
	char model[128]; /* "Nikon DSC D750", "Canon EOS 1200D" */
	char port[64];   /* "usb:001,004" */
};

/* Cameras libgphoto2 detects (USB; PTP/IP cameras cannot be probed: name them
 * by port, "ptpip:192.168.1.1"). Returns how many were written, or -errno:
 * -ENOPKG when the module camrelay-gphoto2.so is not installed (the gphoto2
 * source's check() says so in words: call it first).
 * Weak: the symbol is NULL in a build without libgphoto2, so callers test
 * `if (cr_gphoto2_list)` instead of #ifdef. */
int cr_gphoto2_list(struct cr_gphoto2_camera_s *out, int max) __attribute__((weak));

/* What the module exports beside its source table (cr_gphoto2_module). */
struct cr_gphoto2_module_s {
	int (*list)(struct cr_gphoto2_camera_s *out, int max);
};

#endif
