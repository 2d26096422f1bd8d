/* Compiled into every backend module (never into the core): the functions
 * of camrelay the module's code calls, forwarded through the table the host
 * hands over at load (core/module.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/format.h"
#include "core/hostport.h"
#include "core/module.h"
#include "cr_build.h"

static const struct cr_module_host_s *_host;

int cr_module_init(const struct cr_module_host_s *host)
{
	if (host->size != sizeof(*host) || strcmp(host->version, CR_VERSION) != 0)
		return -1;
	_host = host;
	return 0;
}

struct cr_packet_s *cr_packet_new(enum cr_codec_e codec, size_t size)
{
	return _host->packet_new(codec, size);
}

void cr_packet_unref(struct cr_packet_s *p)
{
	_host->packet_unref(p);
}

const char *cr_pixfmt_name(enum cr_pixfmt_e f)
{
	return _host->pixfmt_name(f);
}

struct cr_frame_s *cr_frame_new(enum cr_pixfmt_e fmt, int w, int h, size_t max_size)
{
	return _host->frame_new(fmt, w, h, max_size);
}

struct cr_frame_s *cr_frame_wrap(enum cr_pixfmt_e fmt, int w, int h, void *owner,
				 void (*release)(struct cr_frame_s *f))
{
	return _host->frame_wrap(fmt, w, h, owner, release);
}

void cr_frame_reuse(struct cr_frame_s *f)
{
	_host->frame_reuse(f);
}

void cr_frame_free(struct cr_frame_s *f)
{
	_host->frame_free(f);
}

void cr_frame_unref(struct cr_frame_s *f)
{
	_host->frame_unref(f);
}

struct cr_pool_s *cr_pool_new(enum cr_pixfmt_e fmt, int w, int h, size_t max_size)
{
	return _host->pool_new(fmt, w, h, max_size);
}

struct cr_frame_s *cr_pool_get(struct cr_pool_s *pool)
{
	return _host->pool_get(pool);
}

void cr_pool_destroy(struct cr_pool_s *pool)
{
	_host->pool_destroy(pool);
}

int cr_pixfmt_planes(enum cr_pixfmt_e f, int w, int h, int stride[3], int rows[3])
{
	return _host->pixfmt_planes(f, w, h, stride, rows);
}

void cr_source_caps_str(const struct cr_source_caps_s *caps, char *out, size_t size)
{
	_host->source_caps_str(caps, out, size);
}

const char *cr_audio_codec_name(enum cr_audio_codec_e c)
{
	return _host->audio_codec_name(c);
}

void cr_url_shown(const char *url, char *out, size_t n)
{
	_host->url_shown(url, out, n);
}

void cr_log(enum cr_log_level_e level, const char *who, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	_host->log(level, who, "%s", msg);
}

/* Formats into the caller's buffer: nothing of the host's is needed. */
void cr_msgf(char *dst, size_t len, const char *fmt, ...)
{
	if (!dst || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

const char *cr_stream_name(const struct cr_stream_s *s)
{
	return _host->stream_name(s);
}

struct cr_stream_stats_s *cr_stream_stats(struct cr_stream_s *s)
{
	return _host->stream_stats(s);
}

struct cr_sub_s *cr_stream_subscribe(struct cr_stream_s *s, const struct cr_sub_req_s *req)
{
	return _host->stream_subscribe(s, req);
}

void cr_stream_unsubscribe(struct cr_sub_s *sub)
{
	_host->stream_unsubscribe(sub);
}

void *cr_sub_pop(struct cr_sub_s *sub, int timeout_ms)
{
	return _host->sub_pop(sub, timeout_ms);
}

void cr_sub_sent(struct cr_sub_s *sub, int64_t ts_capture_ns)
{
	_host->sub_sent(sub, ts_capture_ns);
}

void cr_sub_drop(struct cr_sub_s *sub)
{
	_host->sub_drop(sub);
}

struct cr_converter_s *cr_converter_new(void)
{
	return _host->converter_new();
}

int cr_converter_run(struct cr_converter_s *c, const struct cr_frame_s *in, struct cr_frame_s *out)
{
	return _host->converter_run(c, in, out);
}

void cr_converter_destroy(struct cr_converter_s *c)
{
	_host->converter_destroy(c);
}
