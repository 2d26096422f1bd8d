/* The one table of H.264 profiles and levels (H.264 Annex A; RFC 6184's
 * profile-level-id): the config schema, the public encoder API and the V4L2
 * M2M encoder all read it. */
#ifndef CR_H264_H
#define CR_H264_H

#include <stddef.h>
#include <stdint.h>

#include "core/format.h"

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

/* The level's name from this table ("3.1" for H.264 level_idc 31; for
 * H.265, whose level_idc is 30 x the level, "3.1" for 93) into buf; "" when
 * unknown. */
const char *cr_level_name(enum cr_codec_e codec, int level_idc, char *buf, size_t size);

/* profile_idc and level_idc of the first sequence parameter set in an Annex B
 * access unit: H.264's SPS (NAL type 7: the bytes after its header), H.265's
 * (type 33: general_profile_idc and general_level_idc of its
 * profile_tier_level). 0; -ENOENT without one (or another codec). Hand-written:
 * reads fixed positions after removing emulation-prevention bytes. */
int cr_sps_profile_level(enum cr_codec_e codec, const uint8_t *data, size_t size, int *profile, int *level);

#endif
