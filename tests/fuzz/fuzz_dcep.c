/* libFuzzer: what camrelay parses by hand on the data channel path: DCEP
 * DATA_CHANNEL_OPEN messages (net/dcep.c) and the text test the bridge
 * applies to UDP datagrams. SCTP itself is usrsctp's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dcep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cr_dcep_open_s o;
	int r = cr_dcep_parse_open(data, size, &o);
	if (r == 0) {
		/* What parsed must account for every byte and hold no NUL. */
		size_t ll = strlen(o.label), pl = strlen(o.protocol);
		if (size != 12 + ll + pl || (data[1] & 0x7f) > 2 || o.ordered == !!(data[1] & 0x80))
			abort();
		if (memcmp(data + 12, o.label, ll) != 0 || memcmp(data + 12 + ll, o.protocol, pl) != 0)
			abort();
	}
	bool text = cr_dcep_is_text(data, size);
	/* Text never holds bytes that cannot start or continue UTF-8. */
	for (size_t i = 0; text && i < size; i++)
		if (data[i] == 0xc0 || data[i] == 0xc1 || data[i] >= 0xf5 || data[i] == 0)
			abort();
	return 0;
}
