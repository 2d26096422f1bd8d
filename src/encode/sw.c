/* The keys every software encoder backend (x264, x265, libvpx, libaom)
 * declares: one table, shared through sw.h. */
#include <stddef.h>

#include "encode/sw.h"

/* x264's names; each backend maps them to its own speed (sw.h). */
static const char *const _presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
				       "slow", "slower", "veryslow", "placebo", NULL};

const struct cr_option_s cr_sw_options[] = {
	{.key = "preset", .type = CR_OPT_CHOICE, .offset = offsetof(struct cr_sw_opts_s, preset),
	 .size = sizeof(((struct cr_sw_opts_s *)0)->preset), .choices = _presets,
	 .help = "speed: ultrafast .. placebo; unset: ultrafast from 720p up, veryfast below"},
	CR_OPTS_END,
};
_Static_assert(sizeof(struct cr_sw_opts_s) <= CR_BACKEND_OPTS_SIZE, "software options fit their block");
