/* SIGINT/SIGTERM for the commands that run until interrupted (serve, webcam,
 * overlay --hold): the handler only sets a flag the command polls or waits on.
 *
 * A process signal goes to any thread that does not block it: a handler run
 * on a capture or encoder thread set the flag while the main thread slept on
 * in pause() (serve then ignored SIGTERM, seen in overlay-vm). So the signals
 * are blocked from cr_cli_catch_stop() on (threads started later inherit
 * that) and the main thread takes them with sigtimedwait(); the handler stays
 * for threads that existed before, and the wait looks at its flag too. */
#include <signal.h>
#include <time.h>

#include "cli/cli.h"

static volatile sig_atomic_t _stop;
static sigset_t _set;

static void _on_signal(int sig)
{
	(void)sig;
	_stop = 1;
}

void cr_cli_catch_stop(void)
{
	struct sigaction sa = {.sa_handler = _on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&_set);
	sigaddset(&_set, SIGINT);
	sigaddset(&_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &_set, NULL);
}

/* Takes a pending SIGINT/SIGTERM, waiting up to ms. */
static void _take(long ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	if (sigtimedwait(&_set, NULL, &t) > 0)
		_stop = 1;
}

bool cr_cli_stop_requested(void)
{
	if (!_stop)
		_take(0);
	return _stop;
}

void cr_cli_wait_stop(void)
{
	while (!_stop)
		_take(200);
}
