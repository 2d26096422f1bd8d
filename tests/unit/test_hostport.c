/* The shared text helpers of core/hostport.c: the "host:port" splitter and the
 * URL as shown to people (credentials removed). */
#include <errno.h>
#include <string.h>

#include "core/hostport.h"
#include "tests/check.h"

static void shown(const char *url, const char *want)
{
	char out[128];
	cr_url_shown(url, out, sizeof(out));
	CHECK(strcmp(out, want) == 0, "%s -> %s (want %s)", url, out, want);
}

int main(void)
{
	shown("rtsp://viewer:s3cret@127.0.0.1:8554/cam", "rtsp://127.0.0.1:8554/cam");
	shown("rtsp://user:p@ss@host/cam", "rtsp://host/cam"); /* a raw '@' in the password */
	shown("http://user@host:80/x?a=b@c", "http://host:80/x?a=b@c");
	shown("http://host/path@not-userinfo", "http://host/path@not-userinfo");
	shown("rtsp://u:p@host", "rtsp://host");
	shown("/path/clip.mkv", "/path/clip.mkv");
	shown("udp://@239.0.0.1:5000", "udp://239.0.0.1:5000");

	char h[64], p[8];
	CHECK(cr_hostport_split("127.0.0.1:8080", h, sizeof(h), p, sizeof(p)) == 0 && !strcmp(h, "127.0.0.1") &&
		      !strcmp(p, "8080"),
	      "v4");
	CHECK(cr_hostport_split("[::1]:554", h, sizeof(h), p, sizeof(p)) == 0 && !strcmp(h, "::1") && !strcmp(p, "554"),
	      "v6");
	CHECK(cr_hostport_split(":5005", h, sizeof(h), p, sizeof(p)) == 0 && !h[0] && !strcmp(p, "5005"), "any");
	CHECK(cr_hostport_split("::1:554", h, sizeof(h), p, sizeof(p)) == -EINVAL, "v6 without brackets refused");
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	else
		printf("hostport: ok\n");
	return failures ? 1 : 0;
}
