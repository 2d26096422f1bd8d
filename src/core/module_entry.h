/* The core's entry of a backend built as a module (core/module.h): its table
 * holds what is known without loading the module (name, codecs, formats,
 * caps, options) plus these forwarders. check() and open() load the module
 * (a missing one: the message naming the package, -ENOPKG); open() then
 * switches the encoder or source to the module's own table. The other
 * forwarders are reached only by a caller that kept the entry's table past
 * open(): the module is loaded by then.
 *
 *   CR_ENCODER_MODULE("x265", "cr_encoder_x265", "camrelay-x265")
 *   const struct cr_encoder_ops_s cr_encoder_x265_module = {
 *           .name = "x265", ..., CR_ENCODER_MODULE_OPS};
 *
 * One entry per file: the functions are the file's _mod_*. Include
 * encode/encoder.h or source/source.h first. */
#ifndef CR_MODULE_ENTRY_H
#define CR_MODULE_ENTRY_H

#include <errno.h>

#include "core/module.h"

#define CR_ENCODER_MODULE(module, symbol, package)                                                             \
	static const struct cr_encoder_ops_s *_mod(char *err, size_t errlen)                                   \
	{                                                                                                      \
		return cr_module_symbol(module, symbol, package, err, errlen);                                 \
	}                                                                                                      \
	static int _mod_check(const struct cr_encoder_cfg_s *cfg, char *err, size_t errlen)                    \
	{                                                                                                      \
		return _mod(err, errlen) ? 0 : -ENOPKG;                                                        \
	}                                                                                                      \
	static int _mod_open(struct cr_encoder_s *enc)                                                         \
	{                                                                                                      \
		const struct cr_encoder_ops_s *ops = _mod(enc->error, sizeof(enc->error));                     \
		if (!ops)                                                                                      \
			return -ENOPKG;                                                                        \
		enc->ops = ops;                                                                                \
		return ops->open(enc);                                                                         \
	}                                                                                                      \
	static int _mod_encode(struct cr_encoder_s *enc, struct cr_frame_s *frame)                             \
	{                                                                                                      \
		return _mod(NULL, 0)->encode(enc, frame);                                                      \
	}                                                                                                      \
	static void _mod_request_keyframe(struct cr_encoder_s *enc)                                            \
	{                                                                                                      \
		_mod(NULL, 0)->request_keyframe(enc);                                                          \
	}                                                                                                      \
	static int _mod_set_bitrate(struct cr_encoder_s *enc, int64_t bps)                                     \
	{                                                                                                      \
		return _mod(NULL, 0)->set_bitrate(enc, bps);                                                   \
	}                                                                                                      \
	static void _mod_close(struct cr_encoder_s *enc)                                                       \
	{                                                                                                      \
		const struct cr_encoder_ops_s *ops = enc->priv ? _mod(NULL, 0) : NULL;                         \
		if (ops)                                                                                       \
			ops->close(enc);                                                                       \
	}

#define CR_ENCODER_MODULE_OPS                                                                                  \
	.check = _mod_check, .open = _mod_open, .encode = _mod_encode,                                         \
	.request_keyframe = _mod_request_keyframe, .set_bitrate = _mod_set_bitrate, .close = _mod_close

/* What a source's and an audio backend's entries share: _mod() (also for
 * the file's other forwarders), check, open, close. */
#define CR_MODULE_ENTRY_COMMON(ops_t, obj_t, module, symbol, package)                                          \
	static const ops_t *_mod(char *err, size_t errlen)                                                     \
	{                                                                                                      \
		return cr_module_symbol(module, symbol, package, err, errlen);                                 \
	}                                                                                                      \
	static int _mod_check(char *err, size_t errlen)                                                        \
	{                                                                                                      \
		return _mod(err, errlen) ? 0 : -ENOPKG;                                                        \
	}                                                                                                      \
	static int _mod_open(obj_t *src)                                                                       \
	{                                                                                                      \
		const ops_t *ops = _mod(src->error, sizeof(src->error));                                       \
		if (!ops)                                                                                      \
			return -ENOPKG;                                                                        \
		src->ops = ops;                                                                                \
		return ops->open(src);                                                                         \
	}                                                                                                      \
	static void _mod_close(obj_t *src)                                                                     \
	{                                                                                                      \
		const ops_t *ops = src->priv ? _mod(NULL, 0) : NULL;                                           \
		if (ops)                                                                                       \
			ops->close(src);                                                                       \
	}

/* A source's entry; CR_SOURCE_MODULE_CONTROLS adds list_controls and
 * set_control for a module whose source has them. */
#define CR_SOURCE_MODULE(module, symbol, package)                                                              \
	CR_MODULE_ENTRY_COMMON(struct cr_source_ops_s, struct cr_source_s, module, symbol, package)            \
	static int _mod_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)                 \
	{                                                                                                      \
		return _mod(NULL, 0)->read(src, out, timeout_ms);                                              \
	}                                                                                                      \
	__attribute__((unused)) static int _mod_list_controls(struct cr_source_s *src,                         \
							       struct cr_control_info_s *out, int max)         \
	{                                                                                                      \
		return _mod(NULL, 0)->list_controls(src, out, max);                                            \
	}                                                                                                      \
	__attribute__((unused)) static int _mod_set_control(struct cr_source_s *src, const char *name,         \
							    const char *value)                                 \
	{                                                                                                      \
		return _mod(NULL, 0)->set_control(src, name, value);                                           \
	}

#define CR_SOURCE_MODULE_OPS .check = _mod_check, .open = _mod_open, .read = _mod_read, .close = _mod_close
#define CR_SOURCE_MODULE_CONTROLS .list_controls = _mod_list_controls, .set_control = _mod_set_control

/* An audio backend's entry (audio/audio.h first): as a source's, open()
 * switches the audio source to the module's table. */
#define CR_AUDIO_MODULE(module, symbol, package)                                                               \
	CR_MODULE_ENTRY_COMMON(struct cr_audio_ops_s, struct cr_audio_source_s, module, symbol, package)       \
	static int _mod_read(struct cr_audio_source_s *src, int16_t *pcm, int64_t *ts_ns, int timeout_ms)      \
	{                                                                                                      \
		return _mod(NULL, 0)->read(src, pcm, ts_ns, timeout_ms);                                       \
	}

#define CR_AUDIO_MODULE_OPS .check = _mod_check, .open = _mod_open, .read = _mod_read, .close = _mod_close

#endif
