/* The one table of H.264 profiles and levels (H.264 Annex A; RFC 6184's
 * profile-level-id): the config schema, the public encoder API and the V4L2
 * M2M encoder all read it. */
#ifndef CR_H264_H
#define CR_H264_H

#include <stddef.h>
#include <stdint.h>

/* The three bytes of an H.264 profile-level-id (RFC 6184 8.1). */
struct cr_h264_id_s {
	uint8_t profile_idc, constraint_flags, level_idc;
};

/* NULL-terminated names accepted for `profile` and `level`. */
extern const char *const cr_h264_profile_names[];
extern const char *const cr_h264_level_names[];

/* level_idc of "3.1", "4", "1b" (9), ...; -1 if not an H.264 level. */
int cr_h264_level_idc(const char *name);

/* Position of a level_idc in Annex A order (1, 1b, 1.1, ... 6.2), which is
 * also V4L2's enum v4l2_mpeg_video_h264_level; -1 if not a level. */
int cr_h264_level_index(int level_idc);

/* A profile name with a level_idc; level 1b becomes level_idc 11 plus
 * constraint_set3 below High (H.264 A.3.1). -EINVAL for unknown names. */
int cr_h264_id_from_name(const char *name, int level_idc, struct cr_h264_id_s *id);

/* "42001f": 6 hex digits with a known profile_idc and level_idc. NULL when
 * valid, else the problem (a constant when s is not 6 hex digits at all,
 * else written into buf). */
const char *cr_h264_id_from_hex(const char *s, struct cr_h264_id_s *id, char *buf, size_t size);

#endif
