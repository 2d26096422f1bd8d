/* See service.h. libsystemd's sd_notify speaks the notify protocol; without
 * libsystemd (-Dsystemd=disabled) the messages go nowhere. */
#include "cli/service.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "cr_build.h"

#ifdef CR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static volatile sig_atomic_t _hup;

static void _on_hup(int sig)
{
	(void)sig;
	_hup = 1;
}

static sigset_t _service_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return set;
}

void cr_service_block_signals(void)
{
	sigset_t set = _service_signals();
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* SIGHUP stays unblocked: with [http] tls_cert the HTTP loop takes it
	 * through libevent (the certificate is re-read, net/http_conn.c), which
	 * replaces this handler; otherwise this flag, which the loop polls. */
	struct sigaction sa = {.sa_handler = _on_hup};
	sigaction(SIGHUP, &sa, NULL);
}

void cr_service_notify(const char *fmt, ...)
{
#ifdef CR_HAVE_SYSTEMD
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int r = sd_notify(0, msg);
	if (r < 0)
		CR_LOG_W("service", "sd_notify to $NOTIFY_SOCKET failed: %s", strerror(-r));
#else
	(void)fmt;
#endif
}

static uint64_t _watchdog_usec(void)
{
#ifdef CR_HAVE_SYSTEMD
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
#endif
	return 0;
}

static double _now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cr_service_loop(void (*reload)(void *ctx), void *ctx)
{
	sigset_t set = _service_signals();
	uint64_t wd = _watchdog_usec();
	/* half the watchdog period, as sd_watchdog_enabled(3) advises; else wake
	 * once a second for SIGHUP's flag and the test hook */
	uint64_t period = wd ? wd / 2 : 1000000;
	const char *stall_env = getenv("CAMRELAY_TEST_STALL_MAIN_LOOP");
	double stall_at = stall_env ? _now() + atof(stall_env) : 0;
	if (wd)
		CR_LOG_I("service", "watchdog: pinging every %.1f s (WatchdogSec %.1f s)", period / 1e6, wd / 1e6);
	if (wd)
		cr_service_notify("WATCHDOG=1");
	for (;;) {
		struct timespec to = {.tv_sec = (time_t)(period / 1000000), .tv_nsec = (long)(period % 1000000) * 1000};
		int sig = sigtimedwait(&set, NULL, &to);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (_hup) {
			_hup = 0;
			if (reload)
				reload(ctx);
			else
				CR_LOG_W("service", "SIGHUP: live reload is not in this build; restart camrelay to apply a new config");
		}
		if (stall_env && _now() >= stall_at) {
			CR_LOG_W("service", "CAMRELAY_TEST_STALL_MAIN_LOOP: main loop blocked on purpose (test hook)");
			for (;;)
				pause(); /* the service signals are blocked: only SIGKILL ends this */
		}
		if (wd)
			cr_service_notify("WATCHDOG=1");
	}
	cr_service_notify("STOPPING=1");
}
