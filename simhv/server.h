/*
 * The simhv server: one thread, one poll() loop, many clients on one unix socket. It
 * moves bytes between sockets and the machine: request lines to the protocol, console
 * bytes to and from domain consoles, save streams out, restore streams in, and a byte to
 * every notification stream when a domain changes state. It advances the machine's
 * clock before handling anything and at least every SIMHV_TICK_MS.
 *
 * A client that goes away mid-request leaves nothing half-made: its unfinished domains
 * (created, not built; restores not complete) are destroyed.
 */
#ifndef SIMHV_SERVER_H
#define SIMHV_SERVER_H

#include <signal.h>
#include <stdint.h>

#include "domain.h"

#define SIMHV_TICK_MS 100
#define SIMHV_LINE_MAX ((size_t)1024 * 1024)

/* Monotonic time in nanoseconds: the machine's clock. */
uint64_t simhv_clock_ns(void);

/* A listening unix socket at path (stale socket files replaced); -1 with err. */
int simhv_listen(const char *path, struct xend_err *err);

/*
 * Serve on listen_fd (taken) until *stop becomes non-zero or a client sends (stop). On the
 * way out it removes the socket at path, closes listen_fd, then every client connection.
 */
void simhv_serve(struct simhv_machine *m, int listen_fd, const char *path,
                 volatile sig_atomic_t *stop);

/* Log a line (set up by main: a file, stderr or nowhere). */
void simhv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write out buffered log lines; the server calls it before every wait. */
void simhv_log_flush(void);

#endif
