/* The audio of a URL or file source, its entry in the core: the backend
 * itself (url.c) is in the module camrelay-avformat.so (core/module.h), with
 * the URL and file video sources. The stream's start loads it, and when it
 * is missing says which package to install. */
#include <errno.h>

#include "audio/audio.h"
#include "core/module.h"

static const struct cr_audio_ops_s *_url(char *err, size_t errlen)
{
	return cr_module_symbol("avformat", "cr_audio_url", "camrelay-avformat", err, errlen);
}

static int _url_check(char *err, size_t errlen)
{
	return _url(err, errlen) ? 0 : -ENOPKG;
}

/* From here on the backend runs on the module's own table, read_coded and
 * read_decoded included. */
static int _url_open(struct cr_audio_source_s *src)
{
	const struct cr_audio_ops_s *ops = _url(src->error, sizeof(src->error));
	if (!ops)
		return -ENOPKG;
	src->ops = ops;
	return ops->open(src);
}

/* Reached only by a caller that kept this table past open(): the module is
 * loaded by then. */
static int _url_read(struct cr_audio_source_s *src, int16_t *pcm, int64_t *ts_ns, int timeout_ms)
{
	return _url(NULL, 0)->read(src, pcm, ts_ns, timeout_ms);
}

static void _url_close(struct cr_audio_source_s *src)
{
	const struct cr_audio_ops_s *ops = src->priv ? _url(NULL, 0) : NULL;
	if (ops)
		ops->close(src);
}

const struct cr_audio_ops_s cr_audio_url_module = {
	.name = "url",
	.from_source = true,
	.check = _url_check,
	.open = _url_open,
	.read = _url_read,
	.close = _url_close,
};
