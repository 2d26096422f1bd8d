/* Private to src/api: helpers of the public API's implementation. */
#ifndef CR_API_H
#define CR_API_H

#include "camrelay/pipeline.h"

/* The TOML (seed 001's schema) that says what cfg says, for the one config
 * reader to check; malloc'ed, NULL when out of memory. */
char *cr_api_config_toml(const camrelay_pipeline_config *cfg);

#endif
