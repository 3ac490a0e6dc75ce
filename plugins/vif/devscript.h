/*
 * Device scripts: how the vif and vbd plugins run the site's scripts (network, vif-bridge,
 * block-file, block-TYPE) through host->loop->spawn. One place for the script-dir lookup,
 * the timeout, the dry-run environment, the output in the log and the text of a failure,
 * so that every device class reports a failing script the same way.
 *
 * Compiled into each plugin that uses it (vif.so and vbd.so each carry a private copy, with
 * hidden visibility); it holds no global state. It must never run a shell, wait for a child
 * or otherwise block the loop.
 *
 * Config keys it reads (every plugin that uses it reads the same ones):
 *   script-timeout-ms  how long a script may run before it is killed (default 30000)
 *   script-dry-run     "auto" (default: yes on the sim backend), "yes" or "no": when yes,
 *                      scripts run with XEND_SCRIPT_DRY_RUN=1 in their environment, and the
 *                      shipped scripts then only print what they would do.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_PLUGIN_DEVSCRIPT_H
#define XEND_PLUGIN_DEVSCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include <xend/host.h>

#define DEVSCRIPT_DRY_RUN_ENV "XEND_SCRIPT_DRY_RUN"

enum devscript_dry_run {
    DEVSCRIPT_DRY_AUTO = 0,
    DEVSCRIPT_DRY_YES,
    DEVSCRIPT_DRY_NO,
};

struct devscript {
    struct xend_plugin *self;     /* borrowed: the plugin that runs the scripts */
    const struct xend_host *host; /* borrowed */
    const char *who;              /* "vif": the prefix of log events and error texts */
    uint64_t timeout_ms;
    enum devscript_dry_run dry_run;
};

/*
 * Read the config keys above into *ds. Call from init.
 * Returns 0, or -XEND_EINVAL with err set (a bad value in the config).
 */
int devscript_setup(struct devscript *ds, struct xend_plugin *self, const struct xend_host *host,
                    const char *who, struct xend_err *err);

/* The full path of script `name`: name itself when absolute, else script-dir/name.
 * Returns an owned string (libc free). */
char *devscript_path(const struct devscript *ds, const char *name);

/*
 * Check that script `name` exists and is executable, so that a config naming a missing
 * script fails before anything is created. Returns 0, or -XEND_ENOENT with err set.
 */
int devscript_check(const struct devscript *ds, const char *name, struct xend_err *err);

/* True when the scripts run in dry-run mode now (resolves "auto" against the backend). */
bool devscript_dry_run(const struct devscript *ds);

/*
 * Run argv (argv[0] the full path, NULL-terminated, borrowed: copied by spawn) with the
 * timeout and the dry-run environment; done(result, arg) runs on the loop when it exited.
 * The command line is logged. Returns 0, or -XEND_EIO with err set (nothing ran, done
 * will not be called).
 */
int devscript_run(const struct devscript *ds, const char *const *argv, xend_spawn_fn *done,
                  void *arg, struct xend_err *err);

/*
 * Run argv like devscript_run, but wait for it here (with the same timeout) and log the
 * result. Only for xend's stop, when the loop no longer runs and would kill a child left
 * behind: the network must be torn down before xend says it stopped.
 * Returns 0 when it succeeded, else -XEND_EIO / -XEND_ETIMEDOUT (logged, err not set).
 */
int devscript_run_sync(const struct devscript *ds, const char *const *argv, const char *script,
                       const char *action);

/* True when the script exited with status 0 in time. */
bool devscript_ok(const struct xend_spawn_result *res);

/*
 * Log a finished script: one line with its status (INFO when it succeeded, `level`
 * otherwise), then its output, one log line per output line.
 */
void devscript_log(const struct devscript *ds, enum xend_log_level level, const char *script,
                   const char *action, const struct xend_spawn_result *res);

/*
 * Set err for a failed script: "<who>: script PATH ACTION failed: exit status N: <the last
 * line of its output>" (or "killed by signal N", "timed out after N ms"). Returns
 * -XEND_EIO (-XEND_ETIMEDOUT for a timeout).
 */
int devscript_fail(const struct devscript *ds, struct xend_err *err, const char *script,
                   const char *action, const struct xend_spawn_result *res);

/* The first line of the output without its newline, owned (libc free); NULL when empty. */
char *devscript_first_line(const struct xend_spawn_result *res);

#endif
