/* Private to src/config: checks of single values that know nothing of TOML,
 * so the schema walker stays about the tree and its messages. */
#ifndef CR_CONFIG_VALUES_H
#define CR_CONFIG_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "core/h264.h"

/* NULL if s is host:port (host a name, IPv4 dotted quad or [IPv6], port
 * 1..65535), else what is wrong with it. */
const char *cr_cfg_hostport_problem(const char *s);

/* NULL if s is an IPv4 or IPv6 address literal, else what is wrong. */
const char *cr_cfg_ip_problem(const char *s);

#endif
