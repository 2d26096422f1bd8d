/* ALSA in the core: the capture backend's entry and the talk-back functions
 * of talk.h. ALSA capture (alsa.c) and talk-back playback (talk.c) are the
 * module camrelay-alsa.so (core/module.h), so libasound is mapped only when
 * a stream captures from ALSA (its start loads the module), a viewer asks to
 * talk on a stream with a `playback` device, or `camrelay list` lists sound
 * cards; an MJPEG-only camrelay does not map it (issue 20, item 3). Without
 * the module the stream's start and every talk-back claim say which package
 * to install. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "audio/talk.h"
#include "core/module_entry.h"

#define _PACKAGE "camrelay-alsa"

CR_AUDIO_MODULE("alsa", "cr_audio_alsa", _PACKAGE)

static int _alsa_list(struct cr_audio_device_s *out, int max)
{
	const struct cr_audio_ops_s *ops = _mod(NULL, 0);
	return ops ? ops->list(out, max) : -ENOPKG;
}

const struct cr_audio_ops_s cr_audio_alsa_module = {
	.name = "alsa",
	.device_default = "default",
	CR_AUDIO_MODULE_OPS,
	.list = _alsa_list,
};

/* Talk-back: the module's object, or (module missing) why not. */
struct cr_talk_s {
	const struct cr_talk_ops_s *ops; /* NULL: the module did not load */
	void *t;
	char device[128];
	char why[256];
	uint64_t refused;
};

struct cr_talk_s *cr_talk_new(const char *stream, const char *device, int channels)
{
	struct cr_talk_s *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->device, sizeof(t->device), "%s", device);
	t->ops = cr_module_symbol("alsa", "cr_talk_alsa", _PACKAGE, t->why, sizeof(t->why));
	if (t->ops && !(t->t = t->ops->create(stream, device, channels))) {
		free(t);
		return NULL;
	}
	return t;
}

void cr_talk_free(struct cr_talk_s *t)
{
	if (t && t->ops)
		t->ops->destroy(t->t);
	free(t);
}

int cr_talk_claim(struct cr_talk_s *t, const char *talker, char *err, size_t errlen)
{
	if (t->ops)
		return t->ops->claim(t->t, talker, err, errlen);
	t->refused++;
	snprintf(err, errlen, "no talk-back on \"%s\": %s", t->device, t->why);
	return -ENOPKG;
}

void cr_talk_refused(struct cr_talk_s *t)
{
	if (t->ops)
		t->ops->refused(t->t);
	else
		t->refused++;
}

void cr_talk_release(struct cr_talk_s *t, const char *talker)
{
	if (t->ops)
		t->ops->release(t->t, talker);
}

void cr_talk_rtp(struct cr_talk_s *t, const uint8_t *pkt, size_t len, int pt)
{
	if (t->ops)
		t->ops->rtp(t->t, pkt, len, pt);
}

void cr_talk_status(struct cr_talk_s *t, struct cr_talk_status_s *st)
{
	if (t->ops) {
		t->ops->status(t->t, st);
		return;
	}
	memset(st, 0, sizeof(*st));
	snprintf(st->device, sizeof(st->device), "%s", t->device);
	snprintf(st->message, sizeof(st->message), "%s", t->why);
	st->refused = t->refused;
	st->level_dbfs = -100;
}
