/* The audio of a URL or file source, its entry in the core: the backend
 * itself (url.c) is in the module camrelay-avformat.so (core/module.h), with
 * the URL and file video sources. The stream's start loads it, and when it
 * is missing says which package to install. */
#include "audio/audio.h"

#include "core/module_entry.h"

CR_AUDIO_MODULE("avformat", "cr_audio_url", "camrelay-avformat")

const struct cr_audio_ops_s cr_audio_url_module = {
	.name = "url",
	.from_source = true,
	CR_AUDIO_MODULE_OPS,
};
