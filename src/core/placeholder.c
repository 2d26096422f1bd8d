#include "core/placeholder.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/draw.h"

struct cr_frame_s *cr_placeholder_render(int w, int h, const char *stream, const char *reason)
{
	struct cr_frame_s *f = cr_frame_new(CR_PIXFMT_YUV420, w, h, 0);
	if (!f)
		return NULL;
	int rows[3], stride[3];
	cr_pixfmt_planes(CR_PIXFMT_YUV420, w, h, stride, rows);
	memset(f->data[0], 32, (size_t)stride[0] * rows[0]);
	memset(f->data[1], 128, (size_t)stride[1] * rows[1]);
	memset(f->data[2], 128, (size_t)stride[2] * rows[2]);

	int scale = w >= 960 ? 4 : w >= 480 ? 2 : 1;
	char line[96];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	const char *lines[4] = {"NO SIGNAL", stream, line, reason};
	strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	int y = h / 2 - 20 * scale;
	for (int i = 0; i < 4; i++) {
		char buf[96];
		snprintf(buf, sizeof(buf), "%s", lines[i] ? lines[i] : "");
		int s = i == 0 ? scale * 2 : scale;
		/* Shorten what does not fit. */
		while (strlen(buf) > 1 && cr_draw_text_width(buf, s) > w - 8)
			buf[strlen(buf) - 1] = 0;
		int tw = cr_draw_text_width(buf, s);
		cr_draw_text(f->data[0], f->stride[0], w, h, (w - tw) / 2, y, s, buf, 235, -1);
		y += 12 * s;
	}
	return f;
}
