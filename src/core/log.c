#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
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
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&_log_lock);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %-5s %s: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, names[level], who);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&_log_lock);
	va_end(ap);
}
