/* Single-value checks for the config schema: network addresses and H.264
 * profile-level ids. */
#include "config/values.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *_ipv4_problem(const char *host, const char *colon)
{
	unsigned a, b, c, d;
	char end;
	int n = 0;
	if (sscanf(host, "%3u.%3u.%3u.%3u%c%n", &a, &b, &c, &d, &end, &n) != 5 || end != ':' ||
	    host + n != colon + 1 || a > 255 || b > 255 || c > 255 || d > 255)
		return "invalid IPv4 address";
	return NULL;
}

const char *cr_cfg_hostport_problem(const char *s)
{
	const char *colon, *host = s, *host_end;
	if (s[0] == '[') {
		host_end = strchr(s, ']');
		if (!host_end)
			return "missing ']' after the IPv6 address";
		if (host_end[1] != ':')
			return "missing :port";
		colon = host_end + 1;
		host++;
		if (host == host_end)
			return "empty host";
		for (const char *p = host; p < host_end; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return "invalid IPv6 address";
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return "missing :port";
		host_end = colon;
		if (host == host_end)
			return "empty host";
		if (memchr(host, ':', (size_t)(host_end - host)))
			return "IPv6 addresses need brackets, e.g. [::1]:8080";
		bool numeric = true;
		for (const char *p = host; p < host_end; p++) {
			if (!strchr("0123456789.", *p))
				numeric = false;
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      *p == '.' || *p == '-'))
				return "invalid character in host name";
		}
		/* all digits and dots can only mean an IPv4 address */
		if (numeric && _ipv4_problem(host, colon))
			return _ipv4_problem(host, colon);
	}
	const char *port = colon + 1;
	if (!*port)
		return "missing port number";
	long v = 0;
	for (const char *p = port; *p; p++) {
		if (*p < '0' || *p > '9')
			return "port is not a number";
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return "port out of range (allowed: 1..65535)";
	}
	if (v == 0)
		return "port out of range (allowed: 1..65535)";
	return NULL;
}

const char *cr_cfg_ip_problem(const char *s)
{
	unsigned char addr[16];
	if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1)
		return NULL;
	return "not an IPv4 or IPv6 address (ICE host candidates are addresses, not names)";
}

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
