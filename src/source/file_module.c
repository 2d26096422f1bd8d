/* The file source's entry in the core: the source itself (file.c, with
 * avframe.c) is in the module camrelay-avformat.so (core/module.h), with the
 * URL source (url_module.c). Its caps are known here without loading it;
 * the stream's start loads it, and when it is missing says which package to
 * install. */
#include <errno.h>

#include "core/module.h"
#include "source/source.h"

static const struct cr_source_ops_s *_file(char *err, size_t errlen)
{
	return cr_module_symbol("avformat", "cr_source_file", "camrelay-avformat", err, errlen);
}

static int _file_check(char *err, size_t errlen)
{
	return _file(err, errlen) ? 0 : -ENOPKG;
}

/* From here on the source runs on the module's own table. */
static int _file_open(struct cr_source_s *src)
{
	const struct cr_source_ops_s *ops = _file(src->error, sizeof(src->error));
	if (!ops)
		return -ENOPKG;
	src->ops = ops;
	return ops->open(src);
}

/* Reached only by a caller that kept this table past open(): the module is
 * loaded by then. */
static int _file_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	return _file(NULL, 0)->read(src, out, timeout_ms);
}

static void _file_close(struct cr_source_s *src)
{
	const struct cr_source_ops_s *ops = src->priv ? _file(NULL, 0) : NULL;
	if (ops)
		ops->close(src);
}

const struct cr_source_ops_s cr_source_file_module = {
	.name = "file",
	/* decoded by libavcodec (I420/NV12, source/avframe.c); its size may change mid-file */
	.caps = &(const struct cr_source_caps_s){.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_YUV420, CR_PIXFMT_NV12,
										     CR_PIXFMT_NONE},
						 .dynamic = true},
	.source_key = "file",
	.check = _file_check,
	.open = _file_open,
	.read = _file_read,
	.close = _file_close,
};
