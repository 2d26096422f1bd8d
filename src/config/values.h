/* Private to src/config: checks of single values that know nothing of TOML,
 * so the schema walker stays about the tree and its messages. */
#ifndef CR_CONFIG_VALUES_H
#define CR_CONFIG_VALUES_H

#include <stddef.h>
#include <stdint.h>

/* NULL if s is host:port (host a name, IPv4 dotted quad or [IPv6], port
 * 1..65535), else what is wrong with it. */
const char *cr_cfg_hostport_problem(const char *s);

/* NULL if s is an IPv4 or IPv6 address literal, else what is wrong. */
const char *cr_cfg_ip_problem(const char *s);

/* The three bytes of an H.264 profile-level-id (RFC 6184 8.1). */
struct cr_h264_id_s {
	uint8_t profile_idc, constraint_flags, level_idc;
};

/* NULL-terminated names accepted for `profile` and `level`. */
extern const char *const cr_h264_profile_names[];
extern const char *const cr_h264_level_names[];

/* level_idc of "3.1", "4", "1b" (9), ...; -1 if not an H.264 level. */
int cr_h264_level_idc(const char *name);

/* A profile name with a level_idc; level 1b becomes level_idc 11 plus
 * constraint_set3 below High (H.264 A.3.1). -EINVAL for unknown names. */
int cr_h264_id_from_name(const char *name, int level_idc, struct cr_h264_id_s *id);

/* "42001f": 6 hex digits with a known profile_idc and level_idc. NULL when
 * valid, else the problem (written into buf). */
const char *cr_h264_id_from_hex(const char *s, struct cr_h264_id_s *id, char *buf, size_t size);

#endif
