/*
 * xend's command line control: argument parsing, the locked pid file, detaching with a
 * ready handshake, status and stop.
 *
 * The pid file's flock is what says "a xend owns this file": the kernel drops it when the
 * process dies, however it dies, so a file whose lock can be taken is stale whatever pid
 * it names. The pid is used only to signal, and only after checking that the process is
 * still a xend (same program as the caller).
 *
 * Must never: signal a process that is not a xend, or wait without a deadline.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "sd_notify.h"

#define READY_TIMEOUT_MS 30000
#define POLL_INTERVAL_MS 10

/* ---- command line ----------------------------------------------------------------- */

static const char *const cmd_names[] = {
    [XEND_DAEMON_START] = "start",   [XEND_DAEMON_STOP] = "stop", [XEND_DAEMON_RESTART] = "restart",
    [XEND_DAEMON_STATUS] = "status", [XEND_DAEMON_CERT] = "cert", [XEND_DAEMON_TOKEN] = "token",
    [XEND_DAEMON_CHECK] = "check",   [XEND_DAEMON_HELP] = "help", [XEND_DAEMON_VERSION] = "version",
};

void xend_daemon_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s COMMAND [OPTION]...\n"
            "\n"
            "commands:\n"
            "  start              start xend in the background; returns once it serves HTTP\n"
            "  stop               stop the running xend (SIGTERM) and wait for it to exit\n"
            "  restart            stop (if running), then start\n"
            "  status             say whether xend is running (exit 0) or not (exit 3)\n"
            "  cert               make this host's relocation key and certificate (the files\n"
            "                     relocation-key and relocation-cert name) unless they exist,\n"
            "                     and print the certificate's fingerprint for the peers\n"
            "  token add NAME ROLE  make an API token for the HTTPS port (ROLE: admin,\n"
            "                     operator or viewer), print it once and append its hash\n"
            "                     to xend-token-file\n"
            "  check              check the configuration file without starting xend: its\n"
            "                     syntax, every value, and every setting that neither xend\n"
            "                     nor a plugin reads (a typo: 'did you mean'), each with\n"
            "                     its line; exit 0 when there is no problem, 1 otherwise\n"
            "\n"
            "options:\n"
            "  -c, --config FILE  configuration file (default /etc/xen/xend.conf; *.sxp: legacy)\n"
            "  -f, --foreground   start: stay in the foreground and log to stderr too\n"
            "  -o KEY=VALUE       override a configuration setting (repeatable)\n"
            "  -h, --help         print this help and exit\n"
            "  -V, --version      print the version and exit\n",
            prog);
}

void xend_daemon_args_free(struct xend_daemon_args *args)
{
    for (size_t i = 0; i < args->n_overrides; i++)
        free(args->overrides[i].key);
    free(args->overrides);
    args->overrides = NULL;
    args->n_overrides = 0;
}

static int add_override(struct xend_daemon_args *out, const char *kv, struct xend_err *err)
{
    const char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv)
        return xend_err_set(err, XEND_EINVAL, "option -o needs KEY=VALUE, not '%s'", kv);
    out->overrides =
        xend_xrealloc(out->overrides, (out->n_overrides + 1) * sizeof(*out->overrides));
    out->overrides[out->n_overrides].key = xend_xstrndup(kv, (size_t)(eq - kv));
    out->overrides[out->n_overrides].value = eq + 1;
    out->n_overrides++;
    return 0;
}

/* The value of an option given as "-x VALUE", "-xVALUE", "--long VALUE" or "--long=VALUE";
 * NULL when `a` is not this option. */
static const char *option_value(int argc, char **argv, int *i, const char *shrt, const char *lng,
                                bool *missing)
{
    const char *a = argv[*i];
    size_t sl = strlen(shrt), ll = lng ? strlen(lng) : 0;
    const char *v = NULL;
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): argv[i] below argc is set */
    if (strcmp(a, shrt) == 0 || (lng && strcmp(a, lng) == 0)) {
        if (*i + 1 >= argc) {
            *missing = true;
            return NULL;
        }
        v = argv[++*i];
    } else if (strncmp(a, shrt, sl) == 0 && a[1] != '-') {
        v = a + sl;
    } else if (lng && strncmp(a, lng, ll) == 0 && a[ll] == '=') {
        v = a + ll + 1;
    }
    return v;
}

int xend_daemon_parse_args(int argc, char **argv, struct xend_daemon_args *out,
                           struct xend_err *err)
{
    memset(out, 0, sizeof(*out));
    bool have_cmd = false, options_done = false;
    int rc = 0, ntoken = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        bool missing = false;
        const char *v;
        if (!options_done && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0) {
                options_done = true;
            } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                xend_daemon_args_free(out);
                out->cmd = XEND_DAEMON_HELP;
                return 0;
            } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
                xend_daemon_args_free(out);
                out->cmd = XEND_DAEMON_VERSION;
                return 0;
            } else if (strcmp(a, "-f") == 0 || strcmp(a, "--foreground") == 0) {
                out->foreground = true;
            } else if ((v = option_value(argc, argv, &i, "-c", "--config", &missing))) {
                if (v[0] == '\0')
                    rc = xend_err_set(err, XEND_EINVAL, "option -c needs a file name");
                out->config_path = v;
            } else if ((v = option_value(argc, argv, &i, "-o", NULL, &missing))) {
                rc = add_override(out, v, err);
            } else if (missing) {
                rc = xend_err_set(err, XEND_EINVAL, "option %s needs a value", a);
            } else {
                rc = xend_err_set(err, XEND_EINVAL, "unknown option '%s' (try --help)", a);
            }
            continue;
        }
        if (have_cmd && out->cmd == XEND_DAEMON_TOKEN && ntoken < 3) {
            if (ntoken == 0 && strcmp(a, "add") != 0)
                rc = xend_err_set(err, XEND_EINVAL, "unknown token command '%s' (add)", a);
            else if (ntoken == 1)
                out->token_name = a;
            else if (ntoken == 2)
                out->token_role = a;
            ntoken++;
            continue;
        }
        if (have_cmd) {
            rc = xend_err_set(err, XEND_EINVAL, "unexpected argument '%s' (try --help)", a);
            continue;
        }
        for (int c = XEND_DAEMON_START; c <= XEND_DAEMON_CHECK && !have_cmd; c++) {
            if (strcmp(a, cmd_names[c]) == 0) {
                out->cmd = (enum xend_daemon_cmd)c;
                have_cmd = true;
            }
        }
        if (!have_cmd)
            rc = xend_err_set(err, XEND_EINVAL,
                              "unknown command '%s' (start, stop, restart, status, cert, "
                              "token or check)",
                              a);
    }
    if (rc == 0 && !have_cmd)
        rc = xend_err_set(err, XEND_EINVAL,
                          "no command given: start, stop, restart, status, cert, token or check "
                          "(try --help)");
    if (rc == 0 && out->cmd == XEND_DAEMON_TOKEN && ntoken != 3)
        rc = xend_err_set(err, XEND_EINVAL, "usage: xend token add NAME ROLE");
    if (rc == 0 && out->foreground && out->cmd != XEND_DAEMON_START &&
        out->cmd != XEND_DAEMON_RESTART)
        rc = xend_err_set(err, XEND_EINVAL, "option -f applies to start and restart only");
    if (rc != 0)
        xend_daemon_args_free(out);
    return rc;
}

/* ---- processes -------------------------------------------------------------------- */

static long long now_ms(void)
{
    return (long long)(xend_clock_ns() / 1000000u);
}

/* Read a small /proc file into buf without its trailing newline; false when unreadable. */
static bool read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return true;
}

/* Alive and not a zombie: a zombie has exited, it only waits for its parent. */
static bool process_alive(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno != EPERM)
        return false;
    char path[64], stat[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!read_small(path, stat, sizeof(stat)))
        return true; /* no /proc: trust kill() */
    const char *paren = strrchr(stat, ')');
    return paren == NULL || paren[1] != ' ' || (paren[2] != 'Z' && paren[2] != 'X');
}

static const char *exe_base(const char *link, char *buf, size_t size)
{
    ssize_t n = readlink(link, buf, size - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *del = strstr(buf, " (deleted)"); /* the binary was replaced since it started */
    if (del != NULL && del[10] == '\0')
        *del = '\0';
    const char *slash = strrchr(buf, '/');
    return slash ? slash + 1 : buf;
}

/* The same program as the caller (`xend status` asks about a xend). The command name
 * is checked first because /proc/PID/exe of another user's process is unreadable. */
static bool process_is_xend(pid_t pid)
{
    if (!process_alive(pid))
        return false;
    char path[64], comm[64], self_comm[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    if (!read_small(path, comm, sizeof(comm)) ||
        !read_small("/proc/self/comm", self_comm, sizeof(self_comm)))
        return true; /* no /proc: the lock and kill() are all we have */
    if (strcmp(comm, self_comm) == 0 || strcmp(comm, "xend") == 0)
        return true;
    char exe[PATH_MAX], self_exe[PATH_MAX];
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    const char *a = exe_base(path, exe, sizeof(exe));
    const char *b = exe_base("/proc/self/exe", self_exe, sizeof(self_exe));
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* ---- pid file --------------------------------------------------------------------- */

struct xend_daemon_pidfile {
    int fd;
    char *path;
    dev_t dev;
    ino_t ino;
};

static pid_t read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || v <= 0 || v > INT_MAX)
        return 0;
    return (pid_t)v;
}

/* Someone holds the lock of fd's file (a different open file, even in this process). */
static bool lock_held(int fd)
{
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        return false;
    }
    return errno == EWOULDBLOCK;
}

/* fd is still the file at path (nobody removed or replaced it since we opened it). */
static bool same_file(int fd, const char *path, struct stat *st)
{
    struct stat p;
    return fstat(fd, st) == 0 && stat(path, &p) == 0 && st->st_dev == p.st_dev &&
           st->st_ino == p.st_ino;
}

int xend_daemon_pidfile_create(const char *path, struct xend_daemon_pidfile **out,
                               struct xend_err *err)
{
    *out = NULL;
    /* A few rounds: the file may be removed between our open and our lock. */
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
            return xend_err_set(err, XEND_EIO, "cannot create pid file %s: %s", path,
                                strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            pid_t pid = read_pid(fd);
            close(fd);
            if (e == EWOULDBLOCK)
                return xend_err_set(err, XEND_EEXIST,
                                    "xend is already running (pid %d, pid file %s)", (int)pid,
                                    path);
            return xend_err_set(err, XEND_EIO, "cannot lock pid file %s: %s", path, strerror(e));
        }
        struct stat st;
        if (!same_file(fd, path, &st)) {
            close(fd);
            continue;
        }
        /* The lock is ours, so whatever the file says is stale. */
        char text[32];
        int len = snprintf(text, sizeof(text), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
            int e = errno;
            close(fd);
            return xend_err_set(err, XEND_EIO, "cannot write pid file %s: %s", path, strerror(e));
        }
        struct xend_daemon_pidfile *pf = xend_xcalloc(1, sizeof(*pf));
        pf->fd = fd;
        pf->path = xend_xstrdup(path);
        pf->dev = st.st_dev;
        pf->ino = st.st_ino;
        *out = pf;
        return 0;
    }
    return xend_err_set(err, XEND_EIO, "pid file %s keeps being replaced", path);
}

void xend_daemon_pidfile_remove(struct xend_daemon_pidfile *pf)
{
    if (pf == NULL)
        return;
    struct stat st;
    /* Unlink before unlocking: a new xend then never locks a file that is about to go. */
    if (same_file(pf->fd, pf->path, &st))
        unlink(pf->path);
    close(pf->fd);
    free(pf->path);
    free(pf);
}

/* Remove a pid file nobody holds (left by a xend that was killed). */
static void remove_if_stale(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return;
    struct stat st;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && same_file(fd, path, &st))
        unlink(path);
    close(fd);
}

/* ---- status and stop -------------------------------------------------------------- */

int xend_daemon_status(const char *pidfile, pid_t *pid)
{
    *pid = 0;
    int fd = open(pidfile, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -XEND_ENOENT;
    *pid = read_pid(fd);
    bool held = lock_held(fd);
    close(fd);
    if (*pid <= 0 || !held || !process_is_xend(*pid))
        return -XEND_ENOENT;
    return 0;
}

int xend_daemon_status_report(const char *pidfile, long long port, FILE *out)
{
    pid_t pid;
    if (xend_daemon_status(pidfile, &pid) != 0) {
        fprintf(out, "xend is not running\n");
        return 3;
    }
    fprintf(out, "xend is running (pid %d, port %lld)\n", (int)pid, port);
    return 0;
}

int xend_daemon_stop(const char *pidfile, int timeout_ms, struct xend_err *err)
{
    pid_t pid;
    if (xend_daemon_status(pidfile, &pid) != 0) {
        remove_if_stale(pidfile);
        return xend_err_set(err, XEND_ENOENT, "xend is not running");
    }
    if (kill(pid, SIGTERM) != 0) {
        if (errno == ESRCH)
            return 0;
        return xend_err_set(err, errno == EPERM ? XEND_EPERM : XEND_EIO,
                            "cannot stop xend (pid %d): %s", (int)pid, strerror(errno));
    }
    long long deadline = now_ms() + timeout_ms;
    while (process_alive(pid)) {
        if (now_ms() >= deadline)
            return xend_err_set(err, XEND_ETIMEDOUT, "xend (pid %d) did not stop within %d ms",
                                (int)pid, timeout_ms);
        poll(NULL, 0, POLL_INTERVAL_MS);
    }
    return 0;
}

/* ---- detach and the ready handshake ----------------------------------------------- */

/* The starting terminal's side: wait for one line ("OK" or "FAIL message") or the
 * child's end, then exit with the outcome. */
__attribute__((noreturn)) static void wait_for_child(int fd, pid_t child, int timeout_ms)
{
    char buf[XEND_ERR_MSG_MAX + 16];
    size_t len = 0;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "xend: not ready after %d ms; it is still starting as pid %d\n",
                    timeout_ms, (int)child);
            _exit(1);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "xend: waiting for startup: %s\n", strerror(errno));
            _exit(1);
        }
        if (r <= 0)
            continue;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            len += (size_t)n;
            buf[len] = '\0';
            if (strchr(buf, '\n') == NULL && len < sizeof(buf) - 1)
                continue;
            buf[strcspn(buf, "\n")] = '\0';
            if (strcmp(buf, "OK") == 0)
                _exit(0);
            fprintf(stderr, "xend: %s\n", strncmp(buf, "FAIL ", 5) == 0 ? buf + 5 : buf);
            _exit(1);
        }
        break; /* end of file: the child closed its end without a word */
    }
    /* Say how it ended; it normally has exited by now, give it a moment. */
    int status;
    long long until = now_ms() + 1000;
    pid_t w;
    while ((w = waitpid(child, &status, WNOHANG)) == 0 && now_ms() < until)
        poll(NULL, 0, POLL_INTERVAL_MS);
    if (w == child && WIFEXITED(status))
        fprintf(stderr, "xend: exited during startup (status %d)\n", WEXITSTATUS(status));
    else if (w == child && WIFSIGNALED(status))
        fprintf(stderr, "xend: killed during startup by signal %d (%s)\n", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
    else
        fprintf(stderr, "xend: stopped reporting during startup (pid %d)\n", (int)child);
    _exit(1);
}

int xend_daemon_detach(struct xend_daemon_ready *ready, struct xend_err *err)
{
    /* A socket rather than a pipe: send(MSG_NOSIGNAL) cannot kill the daemon with
     * SIGPIPE when the waiting terminal is gone (^C). */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return xend_err_set(err, XEND_EIO, "cannot detach: socketpair: %s", strerror(errno));
    fflush(NULL); /* or both processes would write what stdio still buffers */
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return xend_err_set(err, XEND_EIO, "cannot detach: fork: %s", strerror(e));
    }
    if (child > 0) {
        close(sv[1]);
        wait_for_child(sv[0], child, ready->timeout_ms > 0 ? ready->timeout_ms : READY_TIMEOUT_MS);
    }
    close(sv[0]);
    ready->fd = sv[1];
    setsid();
    if (chdir("/") != 0) {
        /* "/" always exists; nothing useful to do if it does not */
    }
    int nul = open("/dev/null", O_RDWR | O_NOCTTY);
    if (nul >= 0) {
        dup2(nul, STDIN_FILENO);
        dup2(nul, STDOUT_FILENO);
        dup2(nul, STDERR_FILENO);
        if (nul > STDERR_FILENO)
            close(nul);
    }
    return 0;
}

static void ready_send(struct xend_daemon_ready *ready, const char *word, const char *msg)
{
    if (ready->fd < 0)
        return;
    char line[XEND_ERR_MSG_MAX + 16];
    int n = snprintf(line, sizeof(line), "%s%s%s", word, msg ? " " : "", msg ? msg : "");
    if (n < 0 || (size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' '; /* the message is one line */
    line[n++] = '\n';
    ssize_t w = send(ready->fd, line, (size_t)n, MSG_NOSIGNAL);
    (void)w; /* a vanished terminal is not an error for the daemon */
    close(ready->fd);
    ready->fd = -1;
}

void xend_daemon_ready_ok(struct xend_daemon_ready *ready)
{
    ready_send(ready, "OK", NULL);
    /* Under systemd (Type=notify, started with -f) the unit is ready now, too. */
    char state[64];
    snprintf(state, sizeof(state), "READY=1\nMAINPID=%d\nSTATUS=serving", (int)getpid());
    xend_sd_notify(state);
}

void xend_daemon_ready_fail(struct xend_daemon_ready *ready, const char *msg)
{
    ready_send(ready, "FAIL", msg ? msg : "startup failed");
}
