/* Single-value checks for the config schema: network addresses (H.264
 * profile-level ids: core/h264.c). */
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
