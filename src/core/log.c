#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum cr_log_level_e cr_log_level = CR_LOG_INFO;
enum cr_log_format_e cr_log_format = CR_LOG_FMT_TEXT;

static pthread_mutex_t _log_lock = PTHREAD_MUTEX_INITIALIZER;

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected to
 * stderr; a child whose stderr was redirected elsewhere must not use the
 * journal shape (systemd.exec(5), "JOURNAL_STREAM"). */
static int _stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int cr_log_set_format(const char *name)
{
	if (!name)
		cr_log_format = _stderr_is_journal() ? CR_LOG_FMT_JOURNAL : CR_LOG_FMT_TEXT;
	else if (strcmp(name, "text") == 0)
		cr_log_format = CR_LOG_FMT_TEXT;
	else if (strcmp(name, "json") == 0)
		cr_log_format = CR_LOG_FMT_JSON;
	else
		return -EINVAL;
	return 0;
}

/* JSON string body of s into dst (hand-written: a dozen lines, not worth
 * jansson in the library): quote, backslash and control bytes escaped. */
static size_t _json_escape(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
		} else {
			dst[n++] = (char)c;
		}
	}
	dst[n] = 0;
	return n;
}

static size_t _format_json(char *line, size_t cap, const char *level, int prio, const char *who,
			   const char *msg)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char ewho[128], emsg[2048];
	_json_escape(ewho, sizeof(ewho), who);
	_json_escape(emsg, sizeof(emsg), msg);
	int n = snprintf(line, cap,
			 "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"priority\":%d,"
			 "\"who\":\"%s\",\"msg\":\"%s\"}",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000, level, prio, ewho, emsg);
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

void cr_log(enum cr_log_level_e level, const char *who, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	static const int prios[] = {3, 4, 6, 7}; /* syslog LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	if (level > cr_log_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One write per line, so lines from several threads never interleave. */
	char line[2560];
	size_t len;
	if (cr_log_format == CR_LOG_FMT_JSON) {
		len = _format_json(line, sizeof(line) - 1, names[level], prios[level], who, msg);
	} else if (cr_log_format == CR_LOG_FMT_JOURNAL) {
		/* the journal stamps the time itself */
		int n = snprintf(line, sizeof(line) - 1, "<%d>%s: %s", prios[level], who, msg);
		len = n < 0 ? 0 : (size_t)n >= sizeof(line) - 1 ? sizeof(line) - 2 : (size_t)n;
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct tm tm;
		localtime_r(&ts.tv_sec, &tm);
		int n = snprintf(line, sizeof(line) - 1, "%02d:%02d:%02d.%03ld %-5s %s: %s", tm.tm_hour, tm.tm_min,
				 tm.tm_sec, ts.tv_nsec / 1000000, names[level], who, msg);
		len = n < 0 ? 0 : (size_t)n >= sizeof(line) - 1 ? sizeof(line) - 2 : (size_t)n;
	}
	line[len++] = '\n';
	pthread_mutex_lock(&_log_lock);
	fwrite(line, 1, len, stderr);
	pthread_mutex_unlock(&_log_lock);
}

void cr_msgf(char *dst, size_t len, const char *fmt, ...)
{
	if (!dst || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}
