/* Subcommands. Each extra command (list, probe, media, overlay, webcam, ...)
 * lives in its own file under src/cli/ and exports one const table, added to
 * `cli_commands` in src/cli/meson.build. */
#ifndef CR_CLI_H
#define CR_CLI_H

struct cr_command_s {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;               /* one line for `camrelay --help` */
};

extern const struct cr_command_s *const cr_extra_commands[];

#endif
