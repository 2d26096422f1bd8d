/* Logging: one line per event to stderr, with level and subsystem. Three
 * shapes: text ("12:00:00.000 warn  serve: ..."), journal ("<4>serve: ...",
 * syslog priority prefixes that journald reads, chosen when stderr is the
 * stream named by $JOURNAL_STREAM) and json (one object per line). */
#ifndef CR_LOG_H
#define CR_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum cr_log_level_e { CR_LOG_ERROR = 0, CR_LOG_WARN, CR_LOG_INFO, CR_LOG_DEBUG };

extern enum cr_log_level_e cr_log_level;

enum cr_log_format_e { CR_LOG_FMT_TEXT = 0, CR_LOG_FMT_JOURNAL, CR_LOG_FMT_JSON };

extern enum cr_log_format_e cr_log_format;

/* Sets cr_log_format: "text", "json", or NULL for the default (journal when
 * stderr is $JOURNAL_STREAM, else text). -EINVAL for another name. */
int cr_log_set_format(const char *name);

void cr_log(enum cr_log_level_e level, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A message into a caller's buffer, for functions that return -errno and
 * leave logging to their caller: cut to len, nothing written when dst is NULL
 * or len 0. (Also gcc's -Wformat-truncation does not look through it.) */
void cr_msgf(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The one "say it once" (µStreamer's US_ONCE): `said` is a bool of the
 * caller's state (per stage, device, sink); clear it to say it again, e.g.
 * after a recovery. */
#define CR_LOG_ONCE(said, level, who, ...) \
	do { \
		if (!(said)) { \
			(said) = true; \
			cr_log(level, who, __VA_ARGS__); \
		} \
	} while (0)

#define CR_LOG_E(who, ...) cr_log(CR_LOG_ERROR, who, __VA_ARGS__)
#define CR_LOG_W(who, ...) cr_log(CR_LOG_WARN, who, __VA_ARGS__)
#define CR_LOG_I(who, ...) cr_log(CR_LOG_INFO, who, __VA_ARGS__)
#define CR_LOG_D(who, ...) \
	do { \
		if (cr_log_level >= CR_LOG_DEBUG) \
			cr_log(CR_LOG_DEBUG, who, __VA_ARGS__); \
	} while (0)

#endif
