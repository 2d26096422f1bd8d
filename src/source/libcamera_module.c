/* The libcamera source's entry in the core: the source itself (libcamera.c
 * and libcamera.cpp) is the module camrelay-libcamera.so (core/module.h), so
 * libcamera, libstdc++ and the ~20 libraries libcamera brings (GnuTLS,
 * LTTng, libdw, ...) are mapped only when a config captures through
 * libcamera. Its caps are known here without loading it; the stream's start
 * loads it, and when it is missing says which package to install. */
#include <errno.h>

#include "core/module.h"
#include "source/libcamera_formats.h"
#include "source/source.h"

static const struct cr_source_ops_s *_lc(char *err, size_t errlen)
{
	return cr_module_symbol("libcamera", "cr_source_libcamera", "camrelay-libcamera", err, errlen);
}

static int _lc_check(char *err, size_t errlen)
{
	return _lc(err, errlen) ? 0 : -ENOPKG;
}

/* From here on the source runs on the module's own table. */
static int _lc_open(struct cr_source_s *src)
{
	const struct cr_source_ops_s *ops = _lc(src->error, sizeof(src->error));
	if (!ops)
		return -ENOPKG;
	src->ops = ops;
	return ops->open(src);
}

/* Reached only by a caller that kept this table past open(): the module is
 * loaded by then. */
static int _lc_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	return _lc(NULL, 0)->read(src, out, timeout_ms);
}

static void _lc_close(struct cr_source_s *src)
{
	const struct cr_source_ops_s *ops = src->priv ? _lc(NULL, 0) : NULL;
	if (ops)
		ops->close(src);
}

static int _lc_list_controls(struct cr_source_s *src, struct cr_control_info_s *out, int max)
{
	return _lc(NULL, 0)->list_controls(src, out, max);
}

static int _lc_set_control(struct cr_source_s *src, const char *name, const char *value)
{
	return _lc(NULL, 0)->set_control(src, name, value);
}

const struct cr_source_ops_s cr_source_libcamera_module = {
	.name = "libcamera",
	.caps = &(const struct cr_source_caps_s){.formats = cr_lc_formats, .hardware = true},
	.check = _lc_check,
	.open = _lc_open,
	.read = _lc_read,
	.close = _lc_close,
	.list_controls = _lc_list_controls,
	.set_control = _lc_set_control,
};
