/* Compiled into every backend module (never into the core): the functions
 * of camrelay the module's code calls, forwarded through the table the host
 * hands over at load (core/module.h). */
#include <string.h>

#include "core/format.h"
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
