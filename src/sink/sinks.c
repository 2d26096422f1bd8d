/* The configured sinks of the daemon's streams ([[stream.X.sinks]]): opened
 * after a stream starts, closed before it stops. The stream core knows no
 * sink; this layer owns them. A small table maps a stream to its open sinks
 * so the HTTP side can ask a sink for its SDP (/sdp/<stream>). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/stream.h"
#include "audio/audio.h"
#include "sink/sink.h"

struct cr_sinks_s {
	struct cr_stream_s *stream;
	int n_open;
	struct cr_sink_s sinks[CR_MAX_SINKS];
	struct cr_sinks_s *next;
};

static pthread_mutex_t _lock = PTHREAD_MUTEX_INITIALIZER;
static struct cr_sinks_s *_all;

const struct cr_sink_ops_s *cr_sink_find(enum cr_sink_type_e type)
{
	for (const struct cr_sink_ops_s *const *p = cr_sink_backends; *p; p++)
		if ((*p)->type == type)
			return *p;
	return NULL;
}

bool cr_sink_takes_format(const struct cr_sink_caps_s *caps, enum cr_pixfmt_e format)
{
	return !caps || cr_pixfmt_listed(caps->formats, format);
}

void cr_sink_caps_str(const struct cr_sink_caps_s *caps, char *out, size_t size)
{
	size_t o = (size_t)snprintf(out, size, "%s", caps && caps->raw ? "raw" : caps && caps->codecs ? "" : "none");
	for (const enum cr_pixfmt_e *f = caps && caps->raw ? caps->formats : NULL; f && *f && o < size; f++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", f == caps->formats ? " " : ",", cr_pixfmt_name(*f));
	for (const enum cr_codec_e *c = caps ? caps->codecs : NULL; c && *c && o < size; c++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", c == caps->codecs ? "" : ",", cr_codec_name(*c));
	for (int c = 0; caps && c < 8 && o < size; c++)
		if (caps->audio & (1u << c))
			o += (size_t)snprintf(out + o, size - o, "%s%s", caps->audio & ((1u << c) - 1) ? "," : "+",
					      cr_audio_codec_name((enum cr_audio_codec_e)c));
}

void cr_sinks_config_tables(void)
{
	static struct cr_sink_schema_s tables[16];
	size_t n = 0;
	for (const struct cr_sink_ops_s *const *p = cr_sink_backends; *p && n < 16; p++, n++)
		tables[n] = (struct cr_sink_schema_s){.name = (*p)->name, .type = (int)(*p)->type,
						      .options = (*p)->options, .opts_size = (*p)->opts_size,
						      .check = (*p)->check, .caps = (*p)->caps};
	cr_config_use_sinks(tables, n);
}

int cr_sinks_ready(const struct cr_stream_cfg_s *sc, const char *path, char *err, size_t errlen)
{
	for (int i = 0; i < sc->n_sinks; i++) {
		const struct cr_sink_ops_s *ops = cr_sink_find(sc->sinks[i]->type);
		char why[512];
		int r = ops && ops->ready ? ops->ready(why, sizeof(why)) : 0;
		if (r < 0) {
			snprintf(err, errlen, "%s:%d: stream \"%s\": %s sink: %s", path, sc->sinks[i]->line, sc->name,
				 ops->name, why);
			return r;
		}
	}
	return 0;
}

int cr_sinks_open(struct cr_stream_s *s, struct cr_sinks_s **out, char *err, size_t errlen)
{
	const struct cr_stream_cfg_s *cfg = cr_stream_cfg(s);
	struct cr_sinks_s *set = calloc(1, sizeof(*set));
	*out = NULL;
	if (!set) {
		snprintf(err, errlen, "stream \"%s\": out of memory for its sinks", cfg->name);
		return -ENOMEM;
	}
	set->stream = s;
	for (int i = 0; i < cfg->n_sinks; i++) {
		struct cr_sink_s *k = &set->sinks[i];
		k->cfg = cfg->sinks[i];
		k->stream = s;
		k->ops = cr_sink_find(k->cfg->type);
		if (!k->ops) {
			snprintf(err, errlen, "stream \"%s\": sink type %d (line %d) is not in this build", cfg->name,
				 (int)k->cfg->type, k->cfg->line);
			cr_sinks_close(set);
			return -ENOTSUP;
		}
		int r = k->ops->open(k);
		if (r < 0) {
			snprintf(err, errlen, "stream \"%s\": %s sink: %s", cfg->name, k->ops->name, k->error);
			cr_sinks_close(set);
			return r;
		}
		set->n_open = i + 1;
	}
	pthread_mutex_lock(&_lock);
	set->next = _all;
	_all = set;
	pthread_mutex_unlock(&_lock);
	*out = set;
	return 0;
}

void cr_sinks_close(struct cr_sinks_s *set)
{
	if (!set)
		return;
	pthread_mutex_lock(&_lock);
	for (struct cr_sinks_s **p = &_all; *p; p = &(*p)->next)
		if (*p == set) {
			*p = set->next;
			break;
		}
	pthread_mutex_unlock(&_lock);
	for (int i = set->n_open - 1; i >= 0; i--)
		set->sinks[i].ops->close(&set->sinks[i]);
	free(set);
}

int cr_sinks_sdp(struct cr_stream_s *s, char *out, size_t cap, bool last)
{
	int r = -ENOENT;
	/* Under the table's lock: a set is not closed while its sink answers. */
	pthread_mutex_lock(&_lock);
	for (struct cr_sinks_s *set = _all; set && r == -ENOENT; set = set->next)
		for (int i = 0; set->stream == s && i < set->n_open && r == -ENOENT; i++)
			if (set->sinks[i].ops->sdp)
				r = set->sinks[i].ops->sdp(&set->sinks[i], out, cap, last);
	pthread_mutex_unlock(&_lock);
	return r;
}
