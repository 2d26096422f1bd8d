/* See reload.h. Everything here runs on the HTTP loop thread (cr_http_reload
 * and POST /api/reload put it there), so the HTTP, WHEP and RTSP code that
 * looks streams up sees a reload between two of its events. */
#include "cli/reload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/stream.h"
#include "encode/encoder.h"
#include "net/http.h"
#include "sink/sink.h"

/* Line numbers say where a block is in the file, not what it asks for: a
 * line added above a stream must not restart it. */
static bool _same_media(const struct cr_media_cfg_s *a, const struct cr_media_cfg_s *b)
{
	if (!a || !b)
		return a == b;
	struct cr_media_cfg_s *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
	bool same = false;
	if (x && y) {
		memcpy(x, a, sizeof(*x));
		memcpy(y, b, sizeof(*y));
		for (int k = 0; k < CR_MAX_MEDIA_LINKS; k++)
			x->links[k].line = y->links[k].line = 0;
		for (int k = 0; k < CR_MAX_MEDIA_PADS; k++)
			x->pads[k].line = y->pads[k].line = 0;
		for (int k = 0; k < CR_MAX_MEDIA_CONTROLS; k++)
			x->controls[k].line = y->controls[k].line = 0;
		same = memcmp(x, y, sizeof(*x)) == 0;
	}
	free(x);
	free(y);
	return same;
}

static bool _same_sink(const struct cr_sink_cfg_s *a, const struct cr_sink_cfg_s *b)
{
	struct cr_sink_cfg_s x = *a, y = *b;
	x.line = y.line = 0;
	x.opts = y.opts = NULL; /* blocks: compared by what they hold */
	return memcmp(&x, &y, sizeof(x)) == 0 && (!a->opts_size || memcmp(a->opts, b->opts, a->opts_size) == 0);
}

static bool _same_audio(const struct cr_audio_cfg_s *a, const struct cr_audio_cfg_s *b)
{
	struct cr_audio_cfg_s x, y;
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	x.line = y.line = x.col = y.col = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* Compared by value: the config's blocks (sinks, media pipelines) by what
 * they hold, the rest as it is. Every piece comes from zeroed memory (the
 * reader's blocks, whole-structure copies), so padding compares equal too. */
static bool _same(const struct cr_stream_cfg_s *a, const struct cr_stream_cfg_s *b)
{
	if (a->n_sinks != b->n_sinks)
		return false;
	for (int k = 0; k < a->n_sinks; k++)
		if (!_same_sink(a->sinks[k], b->sinks[k]))
			return false;
	for (int i = 0; i < CR_MAX_SOURCES; i++)
		if (!_same_media(a->sources[i].capture.media, b->sources[i].capture.media))
			return false;
	struct cr_stream_cfg_s *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
	bool same = false;
	if (x && y) {
		memcpy(x, a, sizeof(*x));
		memcpy(y, b, sizeof(*y));
		memset(x->sinks, 0, sizeof(x->sinks));
		memset(y->sinks, 0, sizeof(y->sinks));
		x->audio.line = y->audio.line = x->audio.col = y->audio.col = 0;
		for (int i = 0; i < CR_MAX_SOURCES; i++) {
			x->sources[i].capture.media = y->sources[i].capture.media = NULL;
			x->sources[i].line = y->sources[i].line = 0;
			x->sources[i].encoder.line = y->sources[i].encoder.line = 0;
		}
		same = memcmp(x, y, sizeof(*x)) == 0;
	}
	free(x);
	free(y);
	return same;
}

static int _slot(const struct cr_serve_s *sv, const char *name)
{
	for (int i = 0; i < sv->n; i++)
		if (strcmp(cr_stream_name(sv->streams[i]), name) == 0)
			return i;
	return -1;
}

/* What the whole file asks for is checked before anything changes. */
static int _check(const struct cr_serve_s *sv, const struct cr_config_s *next, char *msg, size_t len)
{
	int added = 0;
	char err[512];
	for (int j = 0; j < next->n_streams; j++) {
		const struct cr_stream_cfg_s *sc = next->streams[j];
		added += _slot(sv, sc->name) < 0;
		for (int k = 0; k < sc->n_sources; k++) {
			const struct cr_encoder_cfg_s *e = &sc->sources[k].encoder;
			if (e->present && cr_encoder_check(e, err, sizeof(err)) < 0) {
				snprintf(msg, len, "%s:%d: stream \"%s\": encoder backend \"%s\": %s", next->path, e->line,
					 sc->name, e->backend, err);
				return -EINVAL;
			}
		}
		if (cr_sinks_ready(sc, next->path, msg, len) < 0)
			return -EINVAL;
	}
	if (sv->n + added > CR_MAX_STREAMS) {
		snprintf(msg, len, "%s: %d new streams do not fit beside the %d this process has run (at most %d "
			 "until a restart)", next->path, added, sv->n, CR_MAX_STREAMS);
		return -ENOSPC;
	}
	return 0;
}

static void _note(char *buf, size_t len, const char *what, const char *name)
{
	size_t n = strlen(buf);
	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%s %s", n ? "; " : "", name, what);
}

/* Starts stream j of next in slot i (a new slot when i < 0), its sinks too. */
static int _start(struct cr_serve_s *sv, int i, const struct cr_stream_cfg_s *sc, char *err, size_t errlen)
{
	if (i >= 0) {
		cr_sinks_close(sv->sinks[i]);
		sv->sinks[i] = NULL;
		if (cr_stream_reconfigure(sv->streams[i], sc, err, errlen) < 0)
			return -EIO;
	} else {
		struct cr_stream_s *s = cr_stream_new(sc);
		if (!s) {
			snprintf(err, errlen, "stream \"%s\": out of memory", sc->name);
			return -ENOMEM;
		}
		if (cr_stream_start(s, err, errlen) < 0) {
			cr_stream_destroy(s);
			return -EIO;
		}
		i = sv->n++;
		sv->streams[i] = s;
		cr_http_add_stream(sv->http, s);
	}
	return cr_sinks_open(sv->streams[i], &sv->sinks[i], err, errlen) < 0 ? -EIO : 0;
}

static void _other_sections(const struct cr_serve_s *sv, const struct cr_config_s *next, char *buf, size_t len)
{
	const struct cr_config_s *a = sv->cfg;
	if (memcmp(&a->http, &next->http, sizeof(a->http)) != 0)
		_note(buf, len, "changed: applied at the next restart", "[http]");
	if (memcmp(&a->auth, &next->auth, sizeof(a->auth)) != 0)
		_note(buf, len, "changed: applied at the next restart", "[auth]");
	if (memcmp(&a->limits, &next->limits, sizeof(a->limits)) != 0)
		_note(buf, len, "changed: applied at the next restart", "[limits]");
	if (memcmp(&a->webrtc, &next->webrtc, sizeof(a->webrtc)) != 0)
		_note(buf, len, "changed: applied at the next restart", "[webrtc]");
	if (memcmp(&a->rtsp, &next->rtsp, sizeof(a->rtsp)) != 0)
		_note(buf, len, "changed: applied at the next restart", "[rtsp]");
}

static int _apply(struct cr_serve_s *sv, const struct cr_config_s *next, char *msg, size_t len)
{
	char err[512];
	int failed = 0;
	msg[0] = 0;
	for (int i = 0; i < sv->n; i++) { /* removed from the file: stop */
		struct cr_stream_s *s = sv->streams[i];
		bool kept = false;
		for (int j = 0; j < next->n_streams && !kept; j++)
			kept = strcmp(next->streams[j]->name, cr_stream_name(s)) == 0;
		if (kept || cr_stream_removed(s))
			continue;
		cr_sinks_close(sv->sinks[i]);
		sv->sinks[i] = NULL;
		cr_stream_stop(s);
		cr_stream_set_removed(s, true);
		_note(msg, len, "stopped", cr_stream_name(s));
	}
	for (int j = 0; j < next->n_streams; j++) {
		const struct cr_stream_cfg_s *sc = next->streams[j];
		int i = _slot(sv, sc->name);
		bool was = i >= 0 && !cr_stream_removed(sv->streams[i]);
		if (was && _same(cr_stream_cfg(sv->streams[i]), sc)) {
			_note(msg, len, "unchanged", sc->name);
			continue;
		}
		if (_start(sv, i, sc, err, sizeof(err)) < 0) {
			CR_LOG_E("reload", "%s", err);
			_note(msg, len, "failed to start (see the log)", sc->name);
			failed++;
			continue;
		}
		_note(msg, len, was ? "restarted" : "started", sc->name);
		if (was && !_same_audio(&cr_stream_cfg(sv->streams[i])->audio, &sc->audio))
			_note(msg, len, "audio changed: applied at the next restart", sc->name);
	}
	_other_sections(sv, next, msg, len);
	return failed ? -EIO : 0;
}

int cr_serve_reload(void *ctx, char *msg, size_t len)
{
	struct cr_serve_s *sv = ctx;
	struct cr_serve_loaded_s *l = calloc(1, sizeof(*l));
	struct cr_config_s *next = l ? &l->cfg : NULL;
	char err[1024];
	int r;
	if (!next) {
		snprintf(msg, len, "reload: out of memory");
		return -ENOMEM;
	}
	if ((r = cr_config_load(sv->path, next, err, sizeof(err))) < 0) {
		snprintf(msg, len, "%s; the running configuration stays", err);
	} else if ((r = _check(sv, next, err, sizeof(err))) < 0) {
		snprintf(msg, len, "%s; the running configuration stays", err);
	} else {
		char done[1024];
		r = _apply(sv, next, done, sizeof(done));
		snprintf(msg, len, "%s reloaded: %s", sv->path, done[0] ? done : "no streams");
		l->prev = sv->loaded; /* the running streams' configs share its blocks */
		sv->loaded = l;
		l = NULL;
	}
	if (l) {
		cr_config_free(&l->cfg);
		free(l);
	}
	if (r < 0)
		CR_LOG_E("reload", "%s", msg);
	else
		CR_LOG_I("reload", "%s", msg);
	return r;
}

void cr_serve_close(struct cr_serve_s *sv)
{
	for (int i = 0; i < sv->n; i++) {
		cr_sinks_close(sv->sinks[i]);
		cr_stream_destroy(sv->streams[i]);
	}
	sv->n = 0;
	while (sv->loaded) {
		struct cr_serve_loaded_s *l = sv->loaded;
		sv->loaded = l->prev;
		cr_config_free(&l->cfg);
		free(l);
	}
}
