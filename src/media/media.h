/* Media-controller pipelines (seed 002): the topology of a media device, its
 * links, the pad formats and selections of its V4L2 sub-devices, and the
 * configuration of the chain that feeds one capture video node.
 *
 * Terms are the spec's: an entity has pads (sink or source), a data link joins
 * a source pad to a sink pad, a sub-device pad has a TRY format (per file
 * handle, for negotiation) and an ACTIVE one (the device state). */
#ifndef CR_MEDIA_H
#define CR_MEDIA_H

#include <linux/media.h>
#include <linux/v4l2-subdev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct cr_media_pad_s {
	uint32_t id;
	int entity;     /* index into ents[] */
	int index;      /* pad number within its entity, as media-ctl shows it */
	uint32_t flags; /* MEDIA_PAD_FL_SINK / _SOURCE / _MUST_CONNECT */
};

struct cr_media_link_s { /* data links only (interface and ancillary links are not kept) */
	uint32_t id;
	int source, sink; /* indices into pads[] */
	uint32_t flags;   /* MEDIA_LNK_FL_ENABLED / _IMMUTABLE / _DYNAMIC */
};

struct cr_media_entity_s {
	uint32_t id;
	char name[64];
	uint32_t function; /* MEDIA_ENT_F_* */
	uint32_t flags;
	uint32_t intf_type; /* MEDIA_INTF_T_V4L_VIDEO / _SUBDEV / ..., 0 without a node */
	char devnode[64];   /* "/dev/video2", "/dev/v4l-subdev1", "" */
	int n_pads;
	int fd; /* sub-device file handle kept open during negotiation, -1 */
};

struct cr_media_s {
	int fd;
	char path[64];
	char driver[16], model[32], serial[40], bus_info[32];
	uint32_t media_version, hw_revision, driver_version;
	int n_ents, n_pads, n_links;
	struct cr_media_entity_s *ents;
	struct cr_media_pad_s *pads;
	struct cr_media_link_s *links;
};

/* Opens a media device (/dev/mediaN) and reads its topology
 * (MEDIA_IOC_G_TOPOLOGY); device nodes are resolved through
 * /sys/dev/char/M:m/uevent. 0 or -errno with a message in err. */
int cr_media_open(const char *path, struct cr_media_s **out, char *err, size_t errlen);
void cr_media_close(struct cr_media_s *m);

/* The media device whose graph has an interface for this video node.
 * 1 found (*out, *entity set), 0 none (a plain V4L2 device), -errno. */
int cr_media_find_for_video(const char *video_node, struct cr_media_s **out, int *entity, char *err,
			    size_t errlen);

/* /dev/media* sorted by number; returns how many (up to max). */
int cr_media_list_devices(char (*out)[64], int max);

/* Lookups: entity by name, pad array index by (entity, pad number),
 * data link by its two pad array indices; -1 when absent. */
int cr_media_entity_by_name(const struct cr_media_s *m, const char *name);
int cr_media_pad(const struct cr_media_s *m, int entity, int index);
int cr_media_link_between(const struct cr_media_s *m, int source_pad, int sink_pad);
bool cr_media_is_subdev(const struct cr_media_s *m, int entity);

/* Enables or disables a data link (MEDIA_IOC_SETUP_LINK). An immutable link
 * cannot change: -EPERM with a message saying so. */
int cr_media_setup_link(struct cr_media_s *m, int link, bool enable, char *err, size_t errlen);

/* Opens the sub-device node of an entity (kept in ents[e].fd until
 * cr_media_subdev_close_all), so TRY state survives between calls. */
int cr_media_subdev_fd(struct cr_media_s *m, int entity, char *err, size_t errlen);
void cr_media_subdev_close_all(struct cr_media_s *m);

/* Pad formats and selections on a pad (pads[] index); which is
 * V4L2_SUBDEV_FORMAT_TRY or _ACTIVE. Set calls return what the driver made
 * of the request in *fmt / *r. -errno with a message naming the ioctl, the
 * entity, the pad and the value. */
int cr_media_get_fmt(struct cr_media_s *m, int pad, uint32_t which, struct v4l2_mbus_framefmt *fmt, char *err,
		     size_t errlen);
int cr_media_set_fmt(struct cr_media_s *m, int pad, uint32_t which, struct v4l2_mbus_framefmt *fmt, char *err,
		     size_t errlen);
int cr_media_get_sel(struct cr_media_s *m, int pad, uint32_t which, uint32_t target, struct v4l2_rect *r,
		     char *err, size_t errlen);
int cr_media_set_sel(struct cr_media_s *m, int pad, uint32_t which, uint32_t target, uint32_t flags,
		     struct v4l2_rect *r, char *err, size_t errlen);

/* "\"Sensor A\":0" for messages. */
const char *cr_media_pad_str(const struct cr_media_s *m, int pad, char *buf, size_t len);
/* "SRGGB8_1X8/640x480" (field shown when not progressive). */
const char *cr_media_fmt_str(const struct v4l2_mbus_framefmt *f, char *buf, size_t len);
/* "V4L2 I/O", "Camera Sensor", ... (media-ctl's words where it has them). */
const char *cr_media_function_name(uint32_t function);

/* Media bus codes (src/media/mbus.c): "RGB888_1X24" <-> MEDIA_BUS_FMT_RGB888_1X24.
 * Names are accepted with or without the MEDIA_BUS_FMT_ prefix, any case. */
const char *cr_mbus_name(uint32_t code); /* NULL when unknown */
uint32_t cr_mbus_from_name(const char *name); /* 0 when unknown */
/* The V4L2 pixel format a capture node writes for a bus code, 0 if unknown. */
uint32_t cr_mbus_to_fourcc(uint32_t code);
/* The i-th bus code carrying this pixel format (preferred first), 0 past the end. */
uint32_t cr_mbus_from_fourcc(uint32_t fourcc, int i);

/* Configures the pipeline that feeds video_node so that it delivers
 * width x height fourcc (0 = keep what the pipeline gives), following
 * cfg->media: links, pad formats and selections, sub-device controls.
 * Formats are negotiated with TRY on the sub-device file handles first and
 * applied ACTIVE only once the whole chain fits, so a failure leaves the
 * device untouched. Returns 0 when done or when the node has no media graph
 * or no sub-devices (note then says why, or describes the configured chain);
 * -errno with a message in err naming the entity, pad or link and what to
 * change. */
int cr_media_prepare(const char *video_node, const struct cr_capture_cfg_s *cfg, int width, int height,
		     uint32_t fourcc, char *note, size_t notelen, char *err, size_t errlen);

/* After VIDIOC_STREAMON failed with EPIPE: which enabled link of the
 * pipeline has different formats at its two ends, both formats, and what to
 * change. 0 with a message, -errno when the graph cannot be read. */
int cr_media_explain_epipe(const char *video_node, char *msg, size_t len);

#endif
