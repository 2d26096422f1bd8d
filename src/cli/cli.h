/* Subcommands. Each extra command (list, probe, media, overlay, webcam, ...)
 * lives in its own file under src/cli/ and exports one const table, added to
 * `cli_commands` in src/cli/meson.build. */
#ifndef CR_CLI_H
#define CR_CLI_H

#include <stdbool.h>

struct cr_command_s {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;               /* one line for `camrelay --help` */
};

extern const struct cr_command_s *const cr_extra_commands[];

/* SIGINT and SIGTERM set a flag (src/cli/stop.c). */
void cr_cli_catch_stop(void);
bool cr_cli_stop_requested(void);
void cr_cli_wait_stop(void); /* sleeps until one of them came */

#endif
