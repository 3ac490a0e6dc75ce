/*
 * xend's command line control: `xend start|stop|restart|status`, the pid file, detaching
 * from the terminal with a ready handshake, and stopping a running xend.
 *
 * These are mechanisms; main.c decides the order (read config, detach, create the pid
 * file, start serving, report ready). Typical `start`:
 *
 *     struct xend_daemon_ready ready = XEND_DAEMON_READY_INIT;
 *     if (!args.foreground && xend_daemon_detach(&ready, &err) != 0) -> print, exit 1
 *     xend_daemon_pidfile_create(pid_file, &pf, &err)            -> ready_fail on error
 *     ... load plugins, listen on the port ...                    -> ready_fail on error
 *     xend_daemon_ready_ok(&ready);
 *     ... run the loop ...; xend_daemon_pidfile_remove(pf);
 *
 * Must never: kill a process that is not a xend (a stale pid file may name any process
 * by now), or use sleeps as synchronisation (it polls with a deadline).
 * Threads: call detach before any thread is started (fork keeps only the caller).
 */
#ifndef XEND_CORE_DAEMON_H
#define XEND_CORE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <xend/abi.h>

enum xend_daemon_cmd {
    XEND_DAEMON_START,
    XEND_DAEMON_STOP,
    XEND_DAEMON_RESTART,
    XEND_DAEMON_STATUS,
    XEND_DAEMON_CERT,    /* make the relocation identity if missing, print its fingerprint */
    XEND_DAEMON_TOKEN,   /* token add NAME ROLE: make an API token, print it once */
    XEND_DAEMON_CHECK,   /* check the configuration offline, each problem with its line */
    XEND_DAEMON_HELP,    /* --help: print xend_daemon_usage to stdout, exit 0 */
    XEND_DAEMON_VERSION, /* --version */
};

struct xend_daemon_override {
    char *key;         /* owned by the args */
    const char *value; /* borrowed from argv */
};

struct xend_daemon_args {
    enum xend_daemon_cmd cmd;
    const char *config_path;                /* -c, borrowed from argv; NULL: the default file */
    bool foreground;                        /* -f / --foreground (start, restart) */
    struct xend_daemon_override *overrides; /* -o KEY=VALUE, in order; owned */
    size_t n_overrides;
    const char *token_name, *token_role; /* token add NAME ROLE; borrowed from argv */
};

/*
 * Parse `xend COMMAND [-c CONFIG] [-f|--foreground] [-o KEY=VALUE]...`, `xend --help`,
 * `xend --version` (options may come before or after the command; `--config=PATH` and
 * `-cPATH` work too). On error returns -XEND_EINVAL with a one-line message; *out then
 * holds nothing to free. Otherwise free *out with xend_daemon_args_free.
 */
int xend_daemon_parse_args(int argc, char **argv, struct xend_daemon_args *out,
                           struct xend_err *err);
void xend_daemon_args_free(struct xend_daemon_args *args);
/* The --help text: one line per command and option. */
void xend_daemon_usage(FILE *out, const char *prog);

/*
 * Is a xend running on this pid file? 0 with *pid when yes. -XEND_ENOENT when not: no
 * file, no such process, a process that is not a xend (pid reused), or nobody holding the
 * file's lock (stale file). *pid is set to the file's pid whenever one was read, else 0.
 */
int xend_daemon_status(const char *pidfile, pid_t *pid);
/*
 * `xend status`: prints "xend is running (pid N, port P)" or "xend is not running" to out
 * and returns the LSB exit code: 0 running, 3 not running.
 */
int xend_daemon_status_report(const char *pidfile, long long port, FILE *out);

/*
 * Send SIGTERM to the xend of this pid file and wait up to timeout_ms for it to exit
 * (polling). 0 once it is gone; -XEND_ENOENT when none was running (a stale pid file is
 * removed); -XEND_ETIMEDOUT when it is still running at the deadline; -XEND_EPERM when
 * the signal is not allowed. err is set in every failing case.
 */
int xend_daemon_stop(const char *pidfile, int timeout_ms, struct xend_err *err);

/*
 * The pid file of the running xend: created (or a stale one taken over) and locked with
 * flock, so that a second xend on the same file fails with -XEND_EEXIST ("xend is already
 * running (pid N)"). The file holds the pid and a newline. *out owned: release with
 * xend_daemon_pidfile_remove, which unlinks the file (if it is still ours) and unlocks.
 * Descriptors are close-on-exec, so scripts xend runs do not keep the lock.
 */
struct xend_daemon_pidfile;
int xend_daemon_pidfile_create(const char *path, struct xend_daemon_pidfile **out,
                               struct xend_err *err);
void xend_daemon_pidfile_remove(struct xend_daemon_pidfile *pf);

/*
 * The ready handshake of `xend start`. Initialise with XEND_DAEMON_READY_INIT; set
 * timeout_ms to bound how long the starting terminal waits (0: 30 s).
 */
struct xend_daemon_ready {
    int fd;         /* write end of the pipe to the waiting parent; -1: nobody waits */
    int timeout_ms; /* in: how long the parent waits for ok/fail */
};
#define XEND_DAEMON_READY_INIT                                                                     \
    {                                                                                              \
        -1, 0                                                                                      \
    }

/*
 * Detach from the terminal. fork(); the parent waits on a pipe until the child calls
 * xend_daemon_ready_ok (then it exits 0, printing nothing) or xend_daemon_ready_fail, exits,
 * or misses the deadline (then it prints "xend: MESSAGE" to stderr and exits 1): the parent
 * never returns. The child returns 0 after setsid(), chdir("/") (so paths must be absolute
 * by now) and pointing stdin/stdout/stderr at /dev/null.
 * Returns -XEND_EIO with err set, in the caller still attached, when fork or pipe fails.
 */
int xend_daemon_detach(struct xend_daemon_ready *ready, struct xend_err *err);
/* Startup is complete (the HTTP port is listening). No-op when nobody waits; once only. */
void xend_daemon_ready_ok(struct xend_daemon_ready *ready);
/* Startup failed: the waiting parent prints msg and exits 1. No-op when nobody waits. */
void xend_daemon_ready_fail(struct xend_daemon_ready *ready, const char *msg);

#endif
