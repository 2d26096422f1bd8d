/* SIGINT/SIGTERM for the commands that run until interrupted (serve, webcam,
 * overlay --hold): the handler only sets a flag the command polls or waits on. */
#include <signal.h>
#include <unistd.h>

#include "cli/cli.h"

static volatile sig_atomic_t _stop;

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
}

bool cr_cli_stop_requested(void)
{
	return _stop;
}

void cr_cli_wait_stop(void)
{
	while (!_stop)
		pause();
}
