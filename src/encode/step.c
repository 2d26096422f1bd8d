/* The one encode step (encoder.h): requests, conversion, encode. */
#include <errno.h>
#include <stdio.h>

#include "encode/encoder.h"

static bool _takes(const struct cr_encoder_s *enc, const struct cr_frame_s *f)
{
	/* JPEG takes either range and writes full range; the others want limited. */
	if (f->full_range && enc->cfg.codec != CR_CODEC_MJPEG)
		return false;
	if (f->format == enc->in_format)
		return true;
	/* A software backend takes every format it lists; a device only the
	 * one it was opened with. */
	if (enc->ops->hardware)
		return false;
	for (const enum cr_pixfmt_e *p = enc->ops->formats; p && *p; p++)
		if (*p == f->format)
			return true;
	return false;
}

int cr_encode_step_run(struct cr_encode_step_s *s, struct cr_frame_s *f)
{
	struct cr_encoder_s *enc = &s->enc;
	s->error[0] = enc->error[0] = 0;
	s->convert_failed = false;
	if (atomic_exchange(&s->keyframe_wanted, false) && enc->ops->request_keyframe) {
		enc->small_keyframe = atomic_exchange(&s->small_keyframe_wanted, false); /* stored first */
		enc->ops->request_keyframe(enc);
	}
	long long bps = atomic_exchange(&s->bitrate_wanted, 0);
	if (bps > 0)
		enc->network_rate = atomic_load(&s->network_rate);
	if (bps > 0 && enc->ops->set_bitrate && enc->ops->set_bitrate(enc, bps) < 0)
		snprintf(s->error, sizeof(s->error), "%s", enc->error); /* reported; the frame is still encoded */
	struct cr_frame_s *in = f;
	if (!_takes(enc, f)) {
		in = cr_convert_step_run(&s->cv, f, enc->in_format, f->width, f->height, enc->stats, s->error,
					 sizeof(s->error));
		if (!in) {
			s->convert_failed = true;
			return -EINVAL;
		}
	}
	int r = enc->ops->encode(enc, in);
	if (r < 0)
		snprintf(s->error, sizeof(s->error), "%s", enc->error[0] ? enc->error : "encoding failed");
	if (in != f)
		cr_frame_unref(in);
	return r;
}

void cr_encode_step_close(struct cr_encode_step_s *s)
{
	if (s->open)
		s->enc.ops->close(&s->enc);
	s->open = false;
}

void cr_encode_step_free(struct cr_encode_step_s *s)
{
	cr_encode_step_close(s);
	cr_convert_step_free(&s->cv);
}
