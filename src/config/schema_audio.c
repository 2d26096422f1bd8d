/* Config schema, [stream.<name>.audio] (src/audio/): the stream's sound.
 *
 *   backend = "test"        test (a tone, beeping each second), alsa, url (the audio of the
 *                           stream's URL or file source)
 *   device = "default"     alsa: PCM name ("default", "hw:1,0", "plughw:CARD=Loopback,DEV=1")
 *                           or a card name as `camrelay list` shows it
 *   rate = 48000            8000, 12000, 16000, 24000, 48000
 *   channels = 1            1 or 2
 *   bitrate = 32000         Opus bit/s, 6000..510000 (default 32000 per channel)
 *   fec = true              Opus in-band forward error correction
 *   dtx = false             Opus discontinuous transmission (little is sent in silence)
 *   tone = 440              test: the tone's frequency in Hz, 50..8000 (below rate / 2)
 *   playback = "hw:1,0"     talk-back: ALSA PCM name a WHEP viewer's microphone is played on
 *                           (one talker at a time, with the control right); "" = none
 *
 * With the test backend, a test video source of the stream flashes a box
 * for 100 ms each second of the same clock the beeps come on. */
#include "config/schema_sections.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "audio/audio.h"
#include "config/schema_get.h"

/* The audio backends' names from their tables (src/audio/: one file each,
 * cr_audio_backends[]), NULL-terminated: all of them, those whose table
 * takes a key (device, tone), or those with an input of their own (not
 * from_source). */
enum { _KEY_ANY, _KEY_DEVICE, _KEY_TONE, _KEY_OWN_INPUT };

static bool _has(const struct cr_audio_ops_s *o, int key)
{
	return key == _KEY_ANY || (key == _KEY_DEVICE && o->device_default) || (key == _KEY_TONE && o->tone) ||
	       (key == _KEY_OWN_INPUT && !o->from_source);
}

static const char *const *_audio_backends(const char **names, size_t max, int key)
{
	size_t n = 0;
	for (const struct cr_audio_ops_s *const *p = cr_audio_backends; *p && n + 1 < max; p++)
		if (_has(*p, key))
			names[n++] = (*p)->name;
	names[n] = NULL;
	return names;
}

/* KEY is set but the backend's table does not take it: the error names the
 * backends whose tables do. */
static int _not_taken(struct cr_cfg_ctx_s *c, const struct cr_toml_s *v, const char *path, const char *key,
		      int which, const char *backend)
{
	char sub[CR_CFG_PATH], list[128];
	const char *names[16];
	_audio_backends(names, 16, which);
	return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, key),
			   "%s applies to the %s backend%s only (backend is %s)", key,
			   names[0] ? cr_cfg_join(names, list, sizeof(list)) : "(none in this build)",
			   names[0] && names[1] ? "s" : "", backend);
}

static int _rate_ok(int r)
{
	return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000;
}

static int _load_opus(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_audio_cfg_s *a,
		      const struct cr_audio_ops_s *ops)
{
	char sub[CR_CFG_PATH];
	const struct cr_toml_s *v;
	int rc;
	a->fec = true;
	if ((rc = cr_cfg_get_intv(c, t, path, "bitrate", 6000, 510000, &a->bitrate)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, path, "fec", &a->fec)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, path, "dtx", &a->dtx)) < 0)
		return rc;
	if ((v = cr_toml_get(t, "tone")) && !ops->tone)
		return _not_taken(c, v, path, "tone", _KEY_TONE, a->backend);
	a->tone = 440;
	if ((rc = cr_cfg_get_intv(c, t, path, "tone", 50, 8000, &a->tone)) < 0)
		return rc;
	if (a->tone * 2 >= a->rate)
		return CR_CFG_FAIL(c, cr_toml_get(t, "tone"), cr_cfg_sub(sub, sizeof(sub), path, "tone"),
				   "a %d Hz tone needs a rate above %d (rate is %d)", a->tone, 2 * a->tone, a->rate);
	return 0;
}

/* backend = "url": the audio of the stream's first source, a URL or a file. */
static int _url_of(struct cr_cfg_ctx_s *c, const char *path, struct cr_stream_cfg_s *s,
		   const struct cr_audio_ops_s *ops)
{
	struct cr_audio_cfg_s *a = &s->audio;
	char sub[CR_CFG_PATH], list[128];
	const char *names[16];
	if (!ops->from_source)
		return 0;
	const struct cr_source_cfg_s *src = s->n_sources ? &s->sources[0] : NULL;
	const char *url = src && src->url[0] ? src->url
			  : src && strcmp(src->capture.backend, "file") == 0 ? src->capture.device
									       : NULL;
	/* device holds it (such a backend's table takes no device key). */
	if (url && strlen(url) >= sizeof(a->device))
		return cr_cfg_fail_at(c, a->line, a->col, cr_cfg_sub(sub, sizeof(sub), path, "backend"),
				      "backend \"%s\": the source's URL is longer than %zu characters", a->backend,
				      sizeof(a->device) - 1);
	if (url)
		snprintf(a->device, sizeof(a->device), "%s", url);
	else
		return cr_cfg_fail_at(c, a->line, a->col, cr_cfg_sub(sub, sizeof(sub), path, "backend"),
				      "backend \"%s\" takes the audio of the stream's URL or file source, and its "
				      "first source is neither (allowed here: %s)",
				      a->backend,
				      cr_cfg_join(_audio_backends(names, 16, _KEY_OWN_INPUT), list, sizeof(list)));
	return 0;
}

int cr_cfg_load_audio(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_stream_cfg_s *s)
{
	static const char *const keys[] = {"backend", "device", "rate", "channels", "bitrate", "fec", "dtx",
					   "tone", "playback", NULL};
	struct cr_audio_cfg_s *a = &s->audio;
	const struct cr_toml_s *v;
	char sub[CR_CFG_PATH], list[128], hint[160];
	const char *names[16];
	int rc;
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_choice(c, t, path, "backend", "audio backend", _audio_backends(names, 16, _KEY_ANY),
				    a->backend, sizeof(a->backend))) < 0)
		return rc;
	snprintf(hint, sizeof(hint), " (allowed: %s)", cr_cfg_join(names, list, sizeof(list)));
	if (rc == 0)
		return cr_cfg_missing(c, t, path, "backend", hint);
	const struct cr_audio_ops_s *ops = NULL; /* get_choice took the name from the same table */
	for (const struct cr_audio_ops_s *const *p = cr_audio_backends; *p && !ops; p++)
		if (strcmp((*p)->name, a->backend) == 0)
			ops = *p;
	if (!ops)
		return -EINVAL;
	v = cr_toml_get(t, "backend");
	a->line = cr_toml_line(v);
	a->col = cr_toml_col(v);
	a->rate = 48000;
	a->channels = 1;
	if ((rc = cr_cfg_get_intv(c, t, path, "rate", 1, 1000000, &a->rate)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, path, "channels", 1, 2, &a->channels)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, path, "device", a->device, sizeof(a->device), &v)) < 0)
		return rc;
	if (rc > 0 && !ops->device_default)
		return _not_taken(c, v, path, "device", _KEY_DEVICE, a->backend);
	if ((rc = cr_cfg_get_str(c, t, path, "playback", a->playback, sizeof(a->playback), &v)) < 0)
		return rc;
	if (rc > 0 && !a->playback[0])
		return CR_CFG_FAIL(c, v, cr_cfg_sub(sub, sizeof(sub), path, "playback"),
				   "playback is an ALSA PCM name (\"hw:1,0\", \"plughw:CARD=Device,DEV=0\", "
				   "\"default\"); leave the key out for no talk-back");
	if (ops->device_default && !a->device[0])
		snprintf(a->device, sizeof(a->device), "%s", ops->device_default);
	if (!_rate_ok(a->rate))
		return CR_CFG_FAIL(c, cr_toml_get(t, "rate"), cr_cfg_sub(sub, sizeof(sub), path, "rate"),
				   "unsupported rate %d (allowed: 8000, 12000, 16000, 24000, 48000: Opus's input "
				   "rates)", a->rate);
	if ((rc = _load_opus(c, t, path, a, ops)) < 0 || (rc = _url_of(c, path, s, ops)) < 0)
		return rc;
	a->present = true;
	/* The test tone beeps on CLOCK_MONOTONIC's seconds; the test picture
	 * flashes on the same ones, so a recording shows how far apart they are. */
	for (int i = 0; i < s->n_sources; i++)
		s->sources[i].capture.flash = strcmp(a->backend, "test") == 0 && !s->sources[i].url[0] &&
					      strcmp(s->sources[i].capture.backend, "test") == 0;
	return 0;
}
