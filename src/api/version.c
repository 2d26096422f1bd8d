/* Version and build information of the library. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "camrelay/pipeline.h"
#include "cr_build.h"
#include "encode/encoder.h"
#include "source/source.h"

unsigned camrelay_api_version(void) { return CAMRELAY_API_VERSION; }

const char *camrelay_version_string(void) { return CR_VERSION; }

static char _backends[2048];
static pthread_once_t _once = PTHREAD_ONCE_INIT;

static void _fill(void)
{
	size_t n = 0, cap = sizeof(_backends);
	n += (size_t)snprintf(_backends + n, cap - n, "sources:");
	for (const struct cr_source_ops_s *const *p = cr_source_backends; *p && n < cap; p++) {
		char caps[256];
		cr_source_caps_str((*p)->caps, caps, sizeof(caps));
		n += (size_t)snprintf(_backends + n, cap - n, " %s(%s)", (*p)->name, caps);
	}
	if (n < cap)
		n += (size_t)snprintf(_backends + n, cap - n, "; encoders:");
	for (const struct cr_encoder_ops_s *const *p = cr_encoder_backends; *p && n < cap; p++) {
		if (!(*p)->open) /* declared, not built */
			continue;
		n += (size_t)snprintf(_backends + n, cap - n, " %s(", (*p)->name);
		for (const enum cr_codec_e *c = (*p)->codecs; *c && n < cap; c++)
			n += (size_t)snprintf(_backends + n, cap - n, "%s%s", c == (*p)->codecs ? "" : ",",
					      cr_codec_name(*c));
		if (n < cap)
			n += (size_t)snprintf(_backends + n, cap - n, ")");
	}
}

const char *camrelay_backends_string(void)
{
	pthread_once(&_once, _fill);
	return _backends;
}
