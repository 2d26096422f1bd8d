/* Convert into pooled frames: one place for the converter-plus-pool dance. */
#include <stdio.h>

#include "convert/convert.h"
#include "core/pool.h"
#include "core/stats.h"

struct cr_frame_s *cr_convert_step_run(struct cr_convert_step_s *cs, const struct cr_frame_s *in,
				       enum cr_pixfmt_e fmt, int w, int h, struct cr_stream_stats_s *stats,
				       char *err, size_t errlen)
{
	if (!cs->conv && !(cs->conv = cr_converter_new())) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!cs->pool || cs->pool_fmt != fmt || cs->pool_w != w || cs->pool_h != h) {
		cr_pool_destroy(cs->pool);
		cs->pool = cr_pool_new(fmt, w, h, (size_t)w * h * 3 / 2 + 65536);
		cs->pool_fmt = fmt;
		cs->pool_w = w;
		cs->pool_h = h;
	}
	struct cr_frame_s *out = cs->pool ? cr_pool_get(cs->pool) : NULL;
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (cr_converter_run(cs->conv, in, out) < 0) {
		snprintf(err, errlen, "cannot convert %s %dx%d to %s: %s", cr_pixfmt_name(in->format), in->width,
			 in->height, cr_pixfmt_name(fmt), cr_converter_error(cs->conv));
		cr_frame_unref(out);
		return NULL;
	}
	out->seq = in->seq;
	out->ts_capture_ns = in->ts_capture_ns;
	out->placeholder = in->placeholder;
	if (stats) {
		atomic_fetch_add(&stats->frames_converted, 1);
		atomic_fetch_add(&stats->bytes_copied, out->size);
	}
	return out;
}

void cr_convert_step_free(struct cr_convert_step_s *cs)
{
	cr_converter_destroy(cs->conv);
	cr_pool_destroy(cs->pool);
	cs->conv = NULL;
	cs->pool = NULL;
}
