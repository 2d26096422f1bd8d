/* camrelay serve as a service: readiness, status and watchdog pings for the
 * service manager (systemd's sd_notify protocol, through libsystemd; nothing
 * is sent when NOTIFY_SOCKET is not set or libsystemd is not in the build),
 * and the main loop that waits for SIGINT/SIGTERM (stop) and SIGHUP
 * (reload). */
#ifndef CR_SERVICE_H
#define CR_SERVICE_H

/* Blocks SIGINT and SIGTERM in the calling thread and sets a flag handler
 * for SIGHUP. Call it before any thread starts: threads inherit the mask, so
 * only cr_service_loop takes SIGINT/SIGTERM. With TLS, the HTTP loop's
 * libevent handler takes SIGHUP over (certificate re-read) and the config is
 * not re-read. */
void cr_service_block_signals(void);

/* One sd_notify message ("READY=1\nSTATUS=..."), printf-style. */
void cr_service_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs until SIGINT or SIGTERM. Sends WATCHDOG=1 every half WatchdogSec when
 * the service manager asked for it (WATCHDOG_USEC). SIGHUP calls reload(ctx)
 * within a second (NULL: the signal is logged and ignored). Sends STOPPING=1 on the way out.
 * Test hook (tests/service): CAMRELAY_TEST_STALL_MAIN_LOOP=SECONDS blocks the
 * loop for good that long after it started, so the watchdog pings stop. */
void cr_service_loop(void (*reload)(void *ctx), void *ctx);

#endif
