/* libFuzzer target: the whole config path, TOML bytes to cr_config_s.
 * Built and run by run-fuzz.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "sink/sink.h"

/* Static: its blocks are freed after each input. */
static struct cr_config_s _cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	cr_sinks_config_tables(); /* as the daemon: the sinks' keys are read too */
	int rc = cr_config_parse("fuzz.toml", (const char *)data, size, &_cfg, err, sizeof(err));

	/* Every refusal names the file and a position; every success has a
	 * stream with a source, and stays inside the fixed arrays. */
	if (rc < 0 && (strncmp(err, "fuzz.toml:", 10) != 0 || err[10] < '1' || err[10] > '9'))
		abort();
	if (rc == 0) {
		if (_cfg.n_streams < 1 || _cfg.n_streams > CR_MAX_STREAMS)
			abort();
		for (int i = 0; i < _cfg.n_streams; i++) {
			const struct cr_stream_cfg_s *s = _cfg.streams[i];
			if (s->n_sources < 1 || s->n_sources > CR_MAX_SOURCES || s->n_sinks > CR_MAX_SINKS || !s->name[0])
				abort();
			for (int k = 0; k < s->n_sources; k++) {
				const struct cr_source_cfg_s *src = &s->sources[k];
				if (!src->url[0] == !src->capture.backend[0])
					abort();
				if (src->output.payload_type < 96 || src->output.payload_type > 127)
					abort();
			}
		}
	}
	cr_config_free(&_cfg);
	return 0;
}
