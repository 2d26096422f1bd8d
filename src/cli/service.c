/* See service.h. The notify protocol (sd_notify(3)) is spoken here, not
 * through libsystemd: that library and the five it needs cost a camrelay
 * ~0.9 MB resident for one datagram now and then (issue 20, item 3). With
 * -Dsystemd=disabled the messages go nowhere. */
#include "cli/service.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "cr_build.h"

#ifdef CR_HAVE_SYSTEMD
/* One datagram to the AF_UNIX socket $NOTIFY_SOCKET names: a path, or
 * "@name" in the abstract namespace (what systemd 252 hands out). 0 when the
 * variable is unset (not under a service manager), 1 when sent, -errno. */
static int _sd_notify(const char *msg)
{
	const char *addr = getenv("NOTIFY_SOCKET");
	if (!addr || !*addr)
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(addr);
	if ((addr[0] != '/' && addr[0] != '@') || n >= sizeof(sa.sun_path))
		return -EAFNOSUPPORT;
	memcpy(sa.sun_path, addr, n);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ssize_t r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	int e = errno;
	close(fd);
	return r < 0 ? -e : 1;
}
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
	int r = _sd_notify(msg);
	if (r < 0)
		CR_LOG_W("service", "sd_notify to $NOTIFY_SOCKET failed: %s", strerror(-r));
#else
	(void)fmt;
#endif
}

static uint64_t _watchdog_usec(void)
{
#ifdef CR_HAVE_SYSTEMD
	/* sd_watchdog_enabled(3): WATCHDOG_USEC, for this process when
	 * WATCHDOG_PID names one */
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	uint64_t v = usec ? strtoull(usec, &end, 10) : 0;
	if (!usec || end == usec || *end || v == 0)
		return 0;
	if (pid && *pid && strtoll(pid, NULL, 10) != (long long)getpid())
		return 0;
	return v;
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
