/* Private to src/cli: what `camrelay list` and `camrelay probe` share — the
 * --json/--help options, V4L2 capabilities and formats as JSON, and printing
 * the result as JSON or as text. */
#ifndef CR_CLI_DISCOVERY_H
#define CR_CLI_DISCOVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/videodev2.h>

/* Reads -j/--json and -h/--help (which calls usage). Returns -1 when the
 * command goes on (optind at the first operand), else its exit status: 0
 * after --help, 2 for an unknown option (getopt has said so). */
int cr_cli_discovery_opts(int argc, char **argv, void (*usage)(void), bool *json);

/* Device capabilities as an array of names ("video_capture", ...). */
json_t *cr_cli_caps_json(uint32_t caps);

/* The formats of one buffer type: {fourcc, description, camrelay (its name
 * when camrelay takes it), compressed}; add (may be NULL) puts in more keys. */
json_t *cr_cli_formats_json(int fd, uint32_t type,
			    void (*add)(int fd, const struct v4l2_fmtdesc *d, json_t *o));

/* Prints root as indented JSON (keys in order) or through print_text, then
 * drops it. */
void cr_cli_print(json_t *root, bool json, void (*print_text)(json_t *root));

#endif
