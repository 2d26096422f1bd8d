#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum cr_log_level_e cr_log_level = CR_LOG_INFO;

static pthread_mutex_t _log_lock = PTHREAD_MUTEX_INITIALIZER;

void cr_log(enum cr_log_level_e level, const char *who, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	if (level > cr_log_level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	/* One write per line, so lines from several threads never interleave. */
	char line[1024];
	int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %-5s %s: ", tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, names[level], who);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	if (len == sizeof(line) - 1)
		len--;
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
