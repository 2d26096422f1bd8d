/* H.264 profiles and levels: names, idcs and profile-level-id text. */
#include "core/h264.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *const cr_h264_profile_names[] = {"baseline", "constrained-baseline", "main", "high", NULL};

static const struct cr_h264_id_s _profiles[] = {
	{66, 0x00, 0},
	/* constraint_set0..2: what browsers offer as 42e0xx */
	{66, 0xE0, 0},
	{77, 0x00, 0},
	{100, 0x00, 0},
};

/* Profile idcs a profile-level-id may carry (H.264 Annex A). */
static const uint8_t _profile_idcs[] = {66, 77, 88, 100, 110, 122, 244, 44};

const char *const cr_h264_level_names[] = {"1", "1b", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2",
					   "4", "4.1", "4.2", "5", "5.1", "5.2", "6", "6.1", "6.2", NULL};
static const uint8_t _level_idcs[] = {10, 9, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60, 61, 62};

int cr_h264_level_idc(const char *name)
{
	for (size_t i = 0; cr_h264_level_names[i]; i++)
		if (strcmp(cr_h264_level_names[i], name) == 0)
			return _level_idcs[i];
	return -1;
}

int cr_h264_level_index(int level_idc)
{
	for (size_t i = 0; i < sizeof(_level_idcs); i++)
		if (_level_idcs[i] == level_idc)
			return (int)i;
	return -1;
}

int cr_h264_id_from_name(const char *name, int level_idc, struct cr_h264_id_s *id)
{
	for (size_t i = 0; cr_h264_profile_names[i]; i++) {
		if (strcmp(cr_h264_profile_names[i], name) != 0)
			continue;
		*id = _profiles[i];
		id->level_idc = (uint8_t)level_idc;
		if (level_idc == 9 && id->profile_idc != 100) {
			id->level_idc = 11;
			id->constraint_flags |= 0x10;
		}
		return 0;
	}
	return -EINVAL;
}

const char *cr_h264_id_from_hex(const char *s, struct cr_h264_id_s *id, char *buf, size_t size)
{
	unsigned b[3];
	int n = 0;
	if (strlen(s) != 6 || strspn(s, "0123456789abcdefABCDEF") != 6 ||
	    sscanf(s, "%2x%2x%2x%n", &b[0], &b[1], &b[2], &n) != 3 || n != 6)
		return "not a profile-level-id of 6 hex digits";
	bool known = memchr(_profile_idcs, (int)b[0], sizeof(_profile_idcs)) != NULL;
	if (!known) {
		snprintf(buf, size, "unknown profile_idc 0x%02x (allowed: 42, 4d, 58, 64, 6e, 7a, f4, 2c)", b[0]);
		return buf;
	}
	if (!memchr(_level_idcs, (int)b[2], sizeof(_level_idcs))) {
		snprintf(buf, size, "unknown level_idc 0x%02x (%u)", b[2], b[2]);
		return buf;
	}
	id->profile_idc = (uint8_t)b[0];
	id->constraint_flags = (uint8_t)b[1];
	id->level_idc = (uint8_t)b[2];
	return NULL;
}

const char *cr_level_name(enum cr_codec_e codec, int level_idc, char *buf, size_t size)
{
	int i = codec == CR_CODEC_H264 ? cr_h264_level_index(level_idc) : -1;
	if (i >= 0)
		snprintf(buf, size, "%s", cr_h264_level_names[i]);
	else if (codec == CR_CODEC_H265 && level_idc > 0 && level_idc % 3 == 0)
		snprintf(buf, size, level_idc % 30 ? "%d.%d" : "%d", level_idc / 30, level_idc % 30 / 3);
	else if (size)
		buf[0] = 0;
	return buf;
}

/* Up to size bytes of RBSP from a NAL's payload (00 00 03 -> 00 00). */
static size_t _unescape(const uint8_t *p, const uint8_t *end, uint8_t *out, size_t size)
{
	size_t n = 0;
	int zeros = 0;
	for (; p < end && n < size; p++) {
		if (zeros >= 2 && *p == 3) {
			zeros = 0;
			continue;
		}
		zeros = *p == 0 ? zeros + 1 : 0;
		out[n++] = *p;
	}
	return n;
}

int cr_sps_profile_level(enum cr_codec_e codec, const uint8_t *data, size_t size, int *profile, int *level)
{
	if (codec != CR_CODEC_H264 && codec != CR_CODEC_H265)
		return -ENOENT;
	const uint8_t *end = data + size;
	for (size_t i = 0; data && i + 4 < size; i++) {
		if (data[i] != 0 || data[i + 1] != 0 || data[i + 2] != 1)
			continue;
		const uint8_t *nal = data + i + 3;
		uint8_t rbsp[13];
		if (codec == CR_CODEC_H264 && (nal[0] & 0x1f) == 7 && _unescape(nal + 1, end, rbsp, 3) == 3) {
			*profile = rbsp[0];
			*level = rbsp[2];
			return 0;
		}
		/* H.265: 2-byte header; then vps id, sub-layers, nesting (1 byte),
		 * profile space/tier/profile_idc (1), 32 compatibility flags, 48
		 * bits of constraint flags, general_level_idc. */
		if (codec == CR_CODEC_H265 && (nal[0] >> 1 & 0x3f) == 33 && nal + 2 <= end &&
		    _unescape(nal + 2, end, rbsp, 13) == 13) {
			*profile = rbsp[1] & 0x1f;
			*level = rbsp[12];
			return 0;
		}
	}
	return -ENOENT;
}
