/*
 * Device scripts: how the vif, vbd and vnet plugins run the site's scripts (network,
 * vif-bridge, block-file, block-TYPE, vnet) through host->loop->spawn. One place for the
 * script-dir lookup, the timeout, the dry-run environment, the output in the log and the
 * text of a failure, so that every device class reports a failing script the same way;
 * and for what a device class keeps around a script run (its per-device state, the job in
 * flight and the op it completes, a job whose device went away), so that vif and vbd
 * handle a detach during a script, or a device freed under it, the same way.
 *
 * Compiled into each plugin that uses it (vif.so, vbd.so and vnet.so each carry a private
 * copy, with hidden visibility); it holds no global state. It must never run a shell, wait
 * for a child or otherwise block the loop.
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
 * Confine a script named by a device's config (`(script NAME)`): a bare NAME is taken from
 * script-dir; an absolute path only when its realpath lies inside script-dir's realpath.
 * Anything else (a relative path with '/', "." or "..", a path resolving outside, a path
 * that does not resolve) is refused, so that a request can never make xend run an
 * arbitrary program as root. Scripts named by xend's own config are not subject to it.
 * A caller below admin (devscript_caller_role) may name no script at all.
 * Returns 0, or -XEND_EPERM (-XEND_EINVAL for a malformed name) with err set.
 */
int devscript_confine(const struct devscript *ds, const char *name, struct xend_err *err);

/*
 * The role (enum xend_role) of the caller xend acts for now (http->caller_role(NULL)):
 * devscript_confine refuses any script to a caller below admin, and a class may limit
 * more (vbd's unames). XEND_ROLE_ADMIN on a core without roles (before ABI 1.5).
 */
int devscript_caller_role(const struct devscript *ds);

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

/* A log line of the plugin: event, then fields from fmt (at most 600 bytes). */
void devscript_logf(const struct devscript *ds, enum xend_log_level level, const char *event,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- per-device state and script jobs of a device class ---- */

struct devscript_job;

/* The first member of a class's per-device state (host->device->priv). */
struct devscript_dev {
    struct xend_device *dev; /* borrowed: the core's record */
    uint32_t domid;          /* of the device's domain when last looked at, 0 for none */
    char domname[64];
    struct devscript_job *job; /* the script run in flight, NULL when none */
};

/* The first member of a class's script run, with the op it will complete. */
struct devscript_job {
    struct devscript_dev *owner; /* NULL once the device went away: the result is only logged */
    struct xend_op *op;          /* borrowed until completed */
    int step;                    /* the class's own enum */
    int rc;                      /* an undo step: the error reported once it is done */
    char script[64];             /* for the log: the script's name */
};

/*
 * dev's state: `size` bytes starting with a struct devscript_dev, zeroed and set as dev's
 * priv on first use (libc free it in the class's free op), with domid and domname read
 * again from dev's domain. Borrowed from dev.
 */
void *devscript_dev_get(const struct devscript *ds, struct xend_device *dev, size_t size);

/* A job of `size` bytes starting with a struct devscript_job, for d, not yet running.
 * Owned (libc free) until devscript_run_job took it. */
void *devscript_job_new(struct devscript_dev *d, struct xend_op *op, int step, size_t size);

/* Run argv (as devscript_run) as job (its owner's job in flight from now on); `script`
 * names it in the log. Returns 0 or -XEND_EIO with err set (the job is not running). */
int devscript_run_job(const struct devscript *ds, struct devscript_job *job, const char *script,
                      const char *const *argv, xend_spawn_fn *done, struct xend_err *err);

/* Drop d's job's claim on d (a detach or a free while it runs): its result is only logged. */
void devscript_job_orphan(struct devscript_dev *d);

/* For a finished job whose device went away: log it and set the op's error "<who>: SCRIPT
 * ACTION cancelled: the device went away". Returns -XEND_ECANCELED to complete it with. */
int devscript_job_cancelled(const struct devscript *ds, const struct devscript_job *job,
                            const char *action);

/* The record of class `cls` whose stored config is `config` itself (the core parses a new
 * device's config in place, after making its record), or NULL (a config no record holds,
 * such as a device_configure's new one). */
const struct xend_device *devscript_device_of(const struct devscript *ds, const char *cls,
                                              const struct xend_sxp *config);

/*
 * Ask the hypervisor backend to attach d's device (cls, devid) with `params` (borrowed),
 * writing its back-end name into name[0..name_len); 0 without doing anything when the
 * backend has no device calls. A device the backend already has on this instance is the
 * trace of an attach cut short by a crash (a migrated domain whose take-over the next
 * start finishes, docs/store.md): it is detached and attached again. Returns 0 or the
 * backend's negative XEND_E code with err set.
 */
int devscript_backend_attach(const struct devscript *ds, const struct devscript_dev *d,
                             const char *cls, uint32_t devid, const struct xend_sxp *params,
                             char *name, size_t name_len, struct xend_err *err);
/* The name of the hypervisor backend in use ("sim", "xenctrl"), for messages; "none". */
const char *devscript_backend_name(const struct devscript *ds);
/* Ask the hypervisor backend to detach d's device (cls, devid); 0 when the backend has no
 * device calls. Returns 0 or the backend's negative XEND_E code with err set. */
int devscript_backend_detach(const struct devscript *ds, const struct devscript_dev *d,
                             const char *cls, uint32_t devid, struct xend_err *err);

#endif
