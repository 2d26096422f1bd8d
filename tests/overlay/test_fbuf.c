/* Host test of the overlay helpers (no device needed): capability and flag
 * names both ways, the chroma-key packing into framebuffer formats, and the
 * errors for things that are not overlay devices or framebuffers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sink/fbuf.h"

static int _fails;

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (!(cond)) {                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);              \
			printf("\n");                     \
			_fails++;                         \
		}                                         \
	} while (0)

int main(void)
{
	char s[256];
	cr_fbuf_caps_str(0xff, s, sizeof(s));
	CHECK(strcmp(s, "externoverlay, chromakey, list_clipping, bitmap_clipping, local_alpha, global_alpha, "
			"local_inv_alpha, src_chromakey") == 0,
	      "all caps: %s", s);
	cr_fbuf_caps_str(V4L2_FBUF_CAP_LIST_CLIPPING | V4L2_FBUF_CAP_BITMAP_CLIPPING, s, sizeof(s));
	CHECK(strcmp(s, "list_clipping, bitmap_clipping") == 0, "vivid capture caps: %s", s);
	cr_fbuf_flags_str(0, s, sizeof(s));
	CHECK(strcmp(s, "none") == 0, "no flags: %s", s);
	cr_fbuf_flags_str(V4L2_FBUF_FLAG_OVERLAY | V4L2_FBUF_FLAG_LOCAL_INV_ALPHA, s, sizeof(s));
	CHECK(strcmp(s, "overlay, local_inv_alpha") == 0, "flags: %s", s);
	/* every name maps back to its bit */
	static const char *const names[] = {"primary", "overlay", "chromakey", "src_chromakey", "global_alpha",
					    "local_alpha", "local_inv_alpha"};
	uint32_t all = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t b = cr_fbuf_flag_bit(names[i]);
		CHECK(b && strcmp(cr_fbuf_flag_name(b), names[i]) == 0, "flag %s -> 0x%x", names[i], b);
		all |= b;
	}
	CHECK(all == 0x7f, "flag bits 0x%x", all);
	CHECK(cr_fbuf_flag_bit("inv_alpha") == 0, "unknown flag");
	/* tiny buffer: cut, never overflow */
	char tiny[8];
	cr_fbuf_caps_str(0xff, tiny, sizeof(tiny));
	CHECK(strlen(tiny) < sizeof(tiny), "cut");

	CHECK(cr_fbuf_pack_rgb(V4L2_PIX_FMT_ARGB555, 0x00ff00, false) == 0x03e0, "argb555 green");
	CHECK(cr_fbuf_pack_rgb(V4L2_PIX_FMT_ARGB555, 0xffffff, true) == 0xffff, "argb555 opaque white");
	CHECK(cr_fbuf_pack_rgb(V4L2_PIX_FMT_RGB565, 0x00ff00, false) == 0x07e0, "rgb565 green");
	CHECK(cr_fbuf_pack_rgb(V4L2_PIX_FMT_RGB565, 0xff0000, false) == 0xf800, "rgb565 red");
	CHECK(cr_fbuf_pack_rgb(V4L2_PIX_FMT_ABGR32, 0x123456, true) == 0xff123456, "abgr32");
	CHECK(cr_fbuf_bpp(V4L2_PIX_FMT_ARGB555) == 2 && cr_fbuf_bpp(V4L2_PIX_FMT_XBGR32) == 4 &&
		      cr_fbuf_bpp(V4L2_PIX_FMT_YUYV) == 0,
	      "bpp");

	struct cr_fbdev_s fbd;
	char err[512];
	int r = cr_fbdev_info("/dev/null", &fbd, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "/dev/null") && strstr(err, "not a framebuffer"), "fbdev /dev/null: %d %s", r, err);
	r = cr_fbdev_info("/nonexistent/fb9", &fbd, err, sizeof(err));
	CHECK(r == -ENOENT && strstr(err, "cannot open framebuffer /nonexistent/fb9"), "fbdev missing: %s", err);

	struct cr_fbuf_state_s st;
	int fd = open("/dev/null", O_RDWR);
	r = cr_fbuf_query(fd, "/dev/null", &st, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "VIDIOC_QUERYCAP") && strstr(err, "/dev/null"), "query /dev/null: %s", err);
	close(fd);

	printf("fbuf: %s\n", _fails ? "FAILED" : "all passed");
	return _fails ? 1 : 0;
}
