/* Talk-back in a build without libasound: every claim is refused, saying why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/talk.h"

struct cr_talk_s {
	char device[128];
	uint64_t refused;
};

struct cr_talk_s *cr_talk_new(const char *stream, const char *device, int channels)
{
	(void)stream, (void)channels;
	struct cr_talk_s *t = calloc(1, sizeof(*t));
	if (t)
		snprintf(t->device, sizeof(t->device), "%s", device);
	return t;
}

void cr_talk_free(struct cr_talk_s *t) { free(t); }

int cr_talk_claim(struct cr_talk_s *t, const char *talker, char *err, size_t errlen)
{
	(void)talker;
	t->refused++;
	snprintf(err, errlen, "this build has no ALSA (libasound): no talk-back on \"%s\"", t->device);
	return -ENOTSUP;
}

void cr_talk_refused(struct cr_talk_s *t) { t->refused++; }

void cr_talk_release(struct cr_talk_s *t, const char *talker) { (void)t, (void)talker; }
void cr_talk_rtp(struct cr_talk_s *t, const uint8_t *pkt, size_t len, int pt) { (void)t, (void)pkt, (void)len, (void)pt; }

void cr_talk_status(struct cr_talk_s *t, struct cr_talk_status_s *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->device, sizeof(st->device), "%s", t->device);
	st->refused = t->refused;
	st->level_dbfs = -100;
}
