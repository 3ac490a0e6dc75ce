/*
 * Device scripts (see devscript.h): run a site script with an argument vector, a timeout
 * and, in dry-run mode, XEND_SCRIPT_DRY_RUN=1 in its environment; log and describe the
 * result. Never a shell, never a blocking wait: host->loop->spawn does the waiting.
 */
#include "devscript.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Output lines logged per script run: a chatty script must not flood the log. */
#define DEVSCRIPT_LOG_LINES 40

int devscript_setup(struct devscript *ds, struct xend_plugin *self, const struct xend_host *host,
                    const char *who, struct xend_err *err)
{
    memset(ds, 0, sizeof(*ds));
    ds->self = self;
    ds->host = host;
    ds->who = who;

    long long timeout;
    int rc = host->config->get_int(self, "script-timeout-ms", 30000, 100, 3600000, &timeout, err);
    if (rc < 0)
        return rc;
    ds->timeout_ms = (uint64_t)timeout;

    const char *mode;
    rc = host->config->get_str(self, "script-dry-run", "auto", &mode, err);
    if (rc < 0)
        return rc;
    if (strcmp(mode, "auto") == 0)
        ds->dry_run = DEVSCRIPT_DRY_AUTO;
    else if (strcmp(mode, "yes") == 0 || strcmp(mode, "true") == 0 || strcmp(mode, "1") == 0)
        ds->dry_run = DEVSCRIPT_DRY_YES;
    else if (strcmp(mode, "no") == 0 || strcmp(mode, "false") == 0 || strcmp(mode, "0") == 0)
        ds->dry_run = DEVSCRIPT_DRY_NO;
    else
        return xend_err_set(err, XEND_EINVAL, "script-dry-run must be auto, yes or no, not '%s'",
                            mode);
    return 0;
}

char *devscript_path(const struct devscript *ds, const char *name)
{
    char *path;
    if (name[0] == '/') {
        path = strdup(name);
    } else {
        const char *dir = ds->host->config->dir("script");
        if (dir == NULL || dir[0] == '\0')
            dir = ".";
        size_t n = strlen(dir);
        if (asprintf(&path, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
            path = NULL;
    }
    if (path == NULL)
        abort(); /* the ABI's OOM policy */
    return path;
}

/* Inside means equal to root or below it: "/etc/xen2" is not inside "/etc/xen". */
static bool devscript_inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int devscript_caller_role(const struct devscript *ds)
{
    const struct xend_host_http *http = ds->host->http;
    if (!XEND_HAS_MEMBER(http, caller_role) || http->caller_role == NULL)
        return XEND_ROLE_ADMIN; /* a core before roles: everyone it admits is an admin */
    return http->caller_role(NULL);
}

int devscript_confine(const struct devscript *ds, const char *name, struct xend_err *err)
{
    const char *dir = ds->host->config->dir("script");
    int role = devscript_caller_role(ds);
    if (role != XEND_ROLE_ADMIN)
        return xend_err_set(err, XEND_EPERM,
                            "%s: script %s refused: role %s may not name a device script; "
                            "the default script runs (docs/security.md)",
                            ds->who, name, xend_role_name(role));
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return xend_err_set(err, XEND_EINVAL, "%s: invalid script: '%s'", ds->who, name);
    if (name[0] != '/') {
        if (strchr(name, '/') == NULL)
            return 0; /* a bare name: devscript_path looks it up in script-dir */
        return xend_err_set(err, XEND_EPERM,
                            "%s: script %s refused: name a script in script-dir %s, or give "
                            "its absolute path",
                            ds->who, name, dir ? dir : "");
    }
    char real[PATH_MAX], root[PATH_MAX];
    if (dir == NULL || dir[0] == '\0' || realpath(dir, root) == NULL)
        return xend_err_set(err, XEND_EPERM, "%s: script %s refused: script-dir %s unusable",
                            ds->who, name, dir ? dir : "");
    if (realpath(name, real) == NULL)
        return xend_err_set(err, XEND_ENOENT, "%s: script not found or not executable: %s", ds->who,
                            name);
    if (!devscript_inside(real, root))
        return xend_err_set(err, XEND_EPERM,
                            "%s: script %s refused: a device may only run scripts from "
                            "script-dir %s",
                            ds->who, name, dir);
    return 0;
}

int devscript_check(const struct devscript *ds, const char *name, struct xend_err *err)
{
    char *path = devscript_path(ds, name);
    int rc = 0;
    if (access(path, X_OK) != 0)
        rc = xend_err_set(err, XEND_ENOENT, "%s: script not found or not executable: %s", ds->who,
                          path);
    free(path);
    return rc;
}

/* The hypervisor backend in use and its context (ctx may be NULL), or NULL for none. */
static const struct xend_backend_ops *backend_of(const struct devscript *ds, void **ctx)
{
    void *unused;
    return ds->host->hv ? ds->host->hv(ctx ? ctx : &unused) : NULL;
}

bool devscript_dry_run(const struct devscript *ds)
{
    if (ds->dry_run != DEVSCRIPT_DRY_AUTO)
        return ds->dry_run == DEVSCRIPT_DRY_YES;
    const struct xend_backend_ops *hv = backend_of(ds, NULL);
    return hv != NULL && (hv->flags & XEND_BACKEND_SIMULATED) != 0;
}

/* xend's environment without DEVSCRIPT_DRY_RUN_ENV, plus `extra` when not NULL: an owned
 * array of borrowed strings (spawn copies them before we free the array). */
static const char **devscript_env(const char *extra)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    const char **env = calloc(n + 2, sizeof(*env));
    if (env == NULL)
        abort();
    size_t k = 0;
    size_t len = strlen(DEVSCRIPT_DRY_RUN_ENV);
    for (size_t i = 0; i < n; i++)
        if (!(strncmp(environ[i], DEVSCRIPT_DRY_RUN_ENV, len) == 0 && environ[i][len] == '='))
            env[k++] = environ[i];
    if (extra)
        env[k++] = extra;
    env[k] = NULL;
    return env;
}

/* argv as one line for the log: arguments holding a space in double quotes. */
static char *devscript_cmdline(const char *const *argv)
{
    size_t n = 1;
    for (size_t i = 0; argv[i]; i++)
        n += strlen(argv[i]) + 3;
    char *s = malloc(n);
    if (s == NULL)
        abort();
    char *p = s;
    for (size_t i = 0; argv[i]; i++) {
        bool quote = strchr(argv[i], ' ') != NULL || argv[i][0] == '\0';
        p += sprintf(p, "%s%s%s%s", i ? " " : "", quote ? "\"" : "", argv[i], quote ? "\"" : "");
    }
    *p = '\0';
    return s;
}

/* The environment a script runs with (owned array, NULL for xend's own) and whether that
 * is a dry run. */
static const char **devscript_envp(const struct devscript *ds, bool *dry)
{
    *dry = devscript_dry_run(ds);
    if (*dry)
        return devscript_env(DEVSCRIPT_DRY_RUN_ENV "=1");
    if (ds->dry_run == DEVSCRIPT_DRY_NO)
        return devscript_env(NULL);
    return NULL;
}

int devscript_run(const struct devscript *ds, const char *const *argv, xend_spawn_fn *done,
                  void *arg, struct xend_err *err)
{
    bool dry;
    const char **env = devscript_envp(ds, &dry);

    char *cmd = devscript_cmdline(argv);
    ds->host->log->emit(ds->self, XEND_LOG_INFO, "script run", "cmd=\"%s\" dry_run=%s", cmd,
                        dry ? "yes" : "no");
    int rc = ds->host->loop->spawn(ds->self, argv, env, ds->timeout_ms, done, arg);
    free(env);
    if (rc < 0)
        rc = xend_err_set(err, XEND_EIO, "%s: cannot run script %s", ds->who, cmd);
    free(cmd);
    return rc;
}

static uint64_t devscript_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int devscript_run_sync(const struct devscript *ds, const char *const *argv, const char *script,
                       const char *action)
{
    bool dry;
    const char **env = devscript_envp(ds, &dry);
    char *cmd = devscript_cmdline(argv);
    ds->host->log->emit(ds->self, XEND_LOG_INFO, "script run", "cmd=\"%s\" dry_run=%s wait=yes",
                        cmd, dry ? "yes" : "no");
    free(cmd);

    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        free(env);
        return -XEND_EIO;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        execve(argv[0], (char *const *)argv, env ? (char *const *)env : environ);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(env);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -XEND_EIO;
    }

    char out[65536];
    size_t len = 0;
    bool timed_out = false;
    uint64_t deadline = devscript_now_ms() + ds->timeout_ms;
    for (;;) {
        uint64_t now = devscript_now_ms();
        if (now >= deadline) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF: the script (and whatever shared its output) is done */
        size_t keep = (size_t)n < sizeof(out) - 1 - len ? (size_t)n : sizeof(out) - 1 - len;
        memcpy(out + len, buf, keep);
        len += keep;
    }
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    out[len] = '\0';
    struct xend_spawn_result res = {
        .size = sizeof(res),
        .status = status,
        .timed_out = timed_out,
        .output = out,
        .output_len = len,
    };
    devscript_log(ds, XEND_LOG_ERROR, script, action, &res);
    if (devscript_ok(&res))
        return 0;
    return timed_out ? -XEND_ETIMEDOUT : -XEND_EIO;
}

bool devscript_ok(const struct xend_spawn_result *res)
{
    return !res->timed_out && WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0;
}

/* "exit status 1", "killed by signal 9", "timed out after 30000 ms" */
static void devscript_status(const struct devscript *ds, const struct xend_spawn_result *res,
                             char *buf, size_t len)
{
    if (res->timed_out)
        snprintf(buf, len, "timed out after %llu ms", (unsigned long long)ds->timeout_ms);
    else if (WIFEXITED(res->status))
        snprintf(buf, len, "exit status %d", WEXITSTATUS(res->status));
    else if (WIFSIGNALED(res->status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(res->status));
    else
        snprintf(buf, len, "wait status %d", res->status);
}

/* Copy one output line for a log field or an error text: control characters and double
 * quotes become '?', so the line cannot break the log's key="value" shape. */
static void devscript_clean(const char *line, size_t n, char *out, size_t outlen)
{
    if (n >= outlen)
        n = outlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        out[i] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    out[n] = '\0';
}

void devscript_log(const struct devscript *ds, enum xend_log_level level, const char *script,
                   const char *action, const struct xend_spawn_result *res)
{
    bool ok = devscript_ok(res);
    char status[64];
    devscript_status(ds, res, status, sizeof(status));
    ds->host->log->emit(ds->self, ok ? XEND_LOG_INFO : level, ok ? "script ok" : "script failed",
                        "script=%s action=%s status=\"%s\"", script, action, status);

    const char *p = res->output ? res->output : "";
    const char *end = p + (res->output ? res->output_len : 0);
    int lines = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (lines++ == DEVSCRIPT_LOG_LINES) {
            ds->host->log->emit(ds->self, XEND_LOG_INFO, "script output",
                                "script=%s line=\"(more output not logged)\"", script);
            break;
        }
        char line[400];
        devscript_clean(p, n, line, sizeof(line));
        ds->host->log->emit(ds->self, ok ? XEND_LOG_INFO : level, "script output",
                            "script=%s line=\"%s\"", script, line);
        p += n + 1;
    }
}

int devscript_fail(const struct devscript *ds, struct xend_err *err, const char *script,
                   const char *action, const struct xend_spawn_result *res)
{
    char status[64];
    devscript_status(ds, res, status, sizeof(status));

    /* The last non-empty line is where scripts (set -e, or an explicit message) say why. */
    const char *out = res->output ? res->output : "";
    size_t n = res->output ? res->output_len : 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    size_t start = n;
    while (start > 0 && out[start - 1] != '\n')
        start--;
    char last[256];
    devscript_clean(out + start, n - start, last, sizeof(last));

    int code = res->timed_out ? XEND_ETIMEDOUT : XEND_EIO;
    if (last[0] != '\0')
        return xend_err_set(err, code, "%s: script %s %s failed: %s: %s", ds->who, script, action,
                            status, last);
    return xend_err_set(err, code, "%s: script %s %s failed: %s", ds->who, script, action, status);
}

char *devscript_first_line(const struct xend_spawn_result *res)
{
    if (res->output == NULL || res->output_len == 0)
        return NULL;
    const char *nl = memchr(res->output, '\n', res->output_len);
    size_t n = nl ? (size_t)(nl - res->output) : res->output_len;
    while (n > 0 && (res->output[n - 1] == '\r' || res->output[n - 1] == ' '))
        n--;
    if (n == 0)
        return NULL;
    char *line = strndup(res->output, n);
    if (line == NULL)
        abort();
    return line;
}

void devscript_logf(const struct devscript *ds, enum xend_log_level level, const char *event,
                    const char *fmt, ...)
{
    char fields[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof(fields), fmt, ap);
    va_end(ap);
    ds->host->log->emit(ds->self, level, event, "%s", fields);
}

/* ---- per-device state and script jobs ---- */

void *devscript_dev_get(const struct devscript *ds, struct xend_device *dev, size_t size)
{
    const struct xend_host *h = ds->host;
    struct devscript_dev *d = h->device->priv(dev);
    if (d == NULL) {
        d = calloc(1, size);
        if (d == NULL)
            abort();
        d->dev = dev;
        h->device->priv_set(dev, d);
    }
    struct xend_domain *dom = h->device->domain(dev);
    d->domid = dom ? h->domain->id(dom) : 0;
    snprintf(d->domname, sizeof(d->domname), "%s", dom ? h->domain->name(dom) : "");
    return d;
}

void *devscript_job_new(struct devscript_dev *d, struct xend_op *op, int step, size_t size)
{
    struct devscript_job *job = calloc(1, size);
    if (job == NULL)
        abort();
    job->owner = d;
    job->op = op;
    job->step = step;
    return job;
}

int devscript_run_job(const struct devscript *ds, struct devscript_job *job, const char *script,
                      const char *const *argv, xend_spawn_fn *done, struct xend_err *err)
{
    snprintf(job->script, sizeof(job->script), "%s", script);
    int rc = devscript_run(ds, argv, done, job, err);
    if (rc == 0)
        job->owner->job = job;
    return rc;
}

void devscript_job_orphan(struct devscript_dev *d)
{
    if (d->job) {
        d->job->owner = NULL;
        d->job = NULL;
    }
}

int devscript_job_cancelled(const struct devscript *ds, const struct devscript_job *job,
                            const char *action)
{
    /* The op lives until it is completed (the core may have timed it out meanwhile). */
    char event[64];
    snprintf(event, sizeof(event), "%s script orphaned", ds->who);
    devscript_logf(ds, XEND_LOG_WARN, event, "script=%s action=%s", job->script, action);
    return xend_err_set(ds->host->loop->op_err(job->op), XEND_ECANCELED,
                        "%s: %s %s cancelled: the device went away", ds->who, job->script, action);
}

struct devscript_find {
    const struct xend_host *host;
    const struct xend_sxp *config;
    const struct xend_device *found;
};

static void devscript_find_fn(struct xend_device *dev, void *arg)
{
    struct devscript_find *f = arg;
    if (f->host->device->config(dev) == f->config)
        f->found = dev;
}

const struct xend_device *devscript_device_of(const struct devscript *ds, const char *cls,
                                              const struct xend_sxp *config)
{
    struct devscript_find f = {.host = ds->host, .config = config};
    ds->host->device->foreach (cls, devscript_find_fn, &f);
    return f.found;
}

int devscript_backend_attach(const struct devscript *ds, const struct devscript_dev *d,
                             const char *cls, uint32_t devid, const struct xend_sxp *params,
                             char *name, size_t name_len, struct xend_err *err)
{
    void *hctx = NULL;
    const struct xend_backend_ops *hv = backend_of(ds, &hctx);
    if (hv == NULL || !XEND_HAS_MEMBER(hv, dev_attach) || hv->dev_attach == NULL)
        return 0;
    int rc = hv->dev_attach(hctx, d->domid, cls, devid, params, name, name_len, err);
    if (rc != -XEND_EEXIST || !XEND_HAS_MEMBER(hv, dev_detach) || hv->dev_detach == NULL)
        return rc;
    struct xend_err e = {0};
    if (hv->dev_detach(hctx, d->domid, cls, devid, &e) < 0)
        return rc;
    ds->host->log->emit(ds->self, XEND_LOG_NOTICE, "device taken over",
                        "class=%s domain=%s devid=%u reason=\"already attached: an attach "
                        "cut short\"",
                        cls, d->domname, devid);
    *err = (struct xend_err){0};
    return hv->dev_attach(hctx, d->domid, cls, devid, params, name, name_len, err);
}

const char *devscript_backend_name(const struct devscript *ds)
{
    const struct xend_backend_ops *hv = backend_of(ds, NULL);
    return hv ? hv->name : "none";
}

int devscript_backend_detach(const struct devscript *ds, const struct devscript_dev *d,
                             const char *cls, uint32_t devid, struct xend_err *err)
{
    void *hctx = NULL;
    const struct xend_backend_ops *hv = backend_of(ds, &hctx);
    if (hv == NULL || !XEND_HAS_MEMBER(hv, dev_detach) || hv->dev_detach == NULL)
        return 0;
    return hv->dev_detach(hctx, d->domid, cls, devid, err);
}
