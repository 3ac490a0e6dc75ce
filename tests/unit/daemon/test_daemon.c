/*
 * Unit tests of core/daemon: argument parsing, the locked pid file and stale files,
 * status, stop of a process that handles (or ignores) SIGTERM, and the detach/ready
 * handshake, each in forked processes synchronised through pipes and the pid file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"

static char tmpdir[] = "/tmp/xend-test-daemon-XXXXXX";
static char pidpath[600];

/* ---- helpers ---------------------------------------------------------------------- */

static int parse(struct xend_daemon_args *a, struct xend_err *err, ...)
{
    char *argv[32] = {"xend"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    char *s;
    while ((s = va_arg(ap, char *)) != NULL && argc < 31)
        argv[argc++] = s;
    va_end(ap);
    xend_err_clear(err);
    return xend_daemon_parse_args(argc, argv, a, err);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A pid that no process has now: a child that exited and was reaped. */
static pid_t dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0)
        _exit(0);
    assert_int_equal(waitpid(p, NULL, 0), p);
    return p;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read everything from fd until EOF, with a deadline. */
static void read_all(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t len = 0;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        assert_true(left > 0);
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
}

static int wait_exit(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static volatile sig_atomic_t got_term;
static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

/*
 * A stand-in xend, run in a child: take the pid file, tell `ready_fd` (one byte), then
 * wait for SIGTERM (or ignore it), remove the pid file and exit 0. Never returns.
 */
static void fake_xend(int ready_fd, bool ignore_term)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct sigaction sa = {.sa_handler = ignore_term ? SIG_IGN : on_term};
    sigaction(SIGTERM, &sa, NULL);
    struct xend_daemon_pidfile *pf;
    struct xend_err err = {0};
    if (xend_daemon_pidfile_create(pidpath, &pf, &err) != 0)
        _exit(2);
    if (write(ready_fd, "r", 1) != 1)
        _exit(3);
    close(ready_fd);
    while (!got_term)
        sigsuspend(&old);
    xend_daemon_pidfile_remove(pf);
    _exit(0);
}

/* Start fake_xend in a child and wait until it holds the pid file. */
static pid_t spawn_fake_xend(bool ignore_term)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        fake_xend(p[1], ignore_term);
    }
    close(p[1]);
    char c;
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return child;
}

static int setup_test(void **state)
{
    (void)state;
    unlink(pidpath);
    got_term = 0;
    return 0;
}

/* ---- arguments -------------------------------------------------------------------- */

static void args_give_command_config_foreground_and_overrides(void **state)
{
    (void)state;
    struct xend_daemon_args a;
    struct xend_err err;
    assert_int_equal(parse(&a, &err, "start", "-c", "/etc/xen/x.conf", "-f", "-o", "xend-port=8001",
                           "-olog-level=debug", "-o", "xend-address=", NULL),
                     0);
    assert_int_equal(a.cmd, XEND_DAEMON_START);
    assert_string_equal(a.config_path, "/etc/xen/x.conf");
    assert_true(a.foreground);
    assert_int_equal(a.n_overrides, 3);
    assert_string_equal(a.overrides[0].key, "xend-port");
    assert_string_equal(a.overrides[0].value, "8001");
    assert_string_equal(a.overrides[1].key, "log-level");
    assert_string_equal(a.overrides[1].value, "debug");
    assert_string_equal(a.overrides[2].key, "xend-address");
    assert_string_equal(a.overrides[2].value, "");
    xend_daemon_args_free(&a);

    assert_int_equal(parse(&a, &err, "--config=/a.sxp", "--foreground", "restart", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_RESTART);
    assert_string_equal(a.config_path, "/a.sxp");
    assert_true(a.foreground);
    xend_daemon_args_free(&a);

    assert_int_equal(parse(&a, &err, "status", "-c/b.conf", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_STATUS);
    assert_string_equal(a.config_path, "/b.conf");
    assert_false(a.foreground);
    xend_daemon_args_free(&a);

    assert_int_equal(parse(&a, &err, "cert", "-c", "/c.conf", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_CERT);
    assert_string_equal(a.config_path, "/c.conf");
    xend_daemon_args_free(&a);

    assert_int_equal(parse(&a, &err, "stop", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_STOP);
    assert_null(a.config_path);
    xend_daemon_args_free(&a);

    assert_int_equal(parse(&a, &err, "token", "add", "-c", "/t.conf", "ci", "operator", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_TOKEN);
    assert_string_equal(a.token_name, "ci");
    assert_string_equal(a.token_role, "operator");
    assert_string_equal(a.config_path, "/t.conf");
    xend_daemon_args_free(&a);
}

static void help_and_version_win_over_everything(void **state)
{
    (void)state;
    struct xend_daemon_args a;
    struct xend_err err;
    assert_int_equal(parse(&a, &err, "start", "-o", "a=b", "--help", "bogus", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_HELP);
    assert_int_equal(a.n_overrides, 0);
    assert_int_equal(parse(&a, &err, "--version", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_VERSION);
    assert_int_equal(parse(&a, &err, "-h", NULL), 0);
    assert_int_equal(a.cmd, XEND_DAEMON_HELP);
}

static void bad_arguments_are_refused_with_a_reason(void **state)
{
    (void)state;
    struct xend_daemon_args a;
    struct xend_err err;
    assert_int_equal(parse(&a, &err, NULL), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "no command given"));
    assert_int_equal(parse(&a, &err, "launch", NULL), -XEND_EINVAL);
    assert_string_equal(
        err.msg, "unknown command 'launch' (start, stop, restart, status, cert, token or check)");
    assert_int_equal(parse(&a, &err, "token", "add", "ci", NULL), -XEND_EINVAL);
    assert_string_equal(err.msg, "usage: xend token add NAME ROLE");
    assert_int_equal(parse(&a, &err, "token", "del", "ci", "admin", NULL), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "unknown token command 'del'"));
    assert_int_equal(parse(&a, &err, "token", "add", "ci", "admin", "x", NULL), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "unexpected argument 'x'"));
    assert_int_equal(parse(&a, &err, "start", "stop", NULL), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "unexpected argument 'stop'"));
    assert_int_equal(parse(&a, &err, "start", "-x", NULL), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "unknown option '-x'"));
    assert_int_equal(parse(&a, &err, "start", "-c", NULL), -XEND_EINVAL);
    assert_string_equal(err.msg, "option -c needs a value");
    assert_int_equal(parse(&a, &err, "start", "-o", "novalue", NULL), -XEND_EINVAL);
    assert_string_equal(err.msg, "option -o needs KEY=VALUE, not 'novalue'");
    assert_int_equal(parse(&a, &err, "start", "-o", "a=1", "-o", "=1", NULL), -XEND_EINVAL);
    assert_int_equal(parse(&a, &err, "stop", "-f", NULL), -XEND_EINVAL);
    assert_string_equal(err.msg, "option -f applies to start and restart only");
}

static void usage_lists_every_command_and_option(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    xend_daemon_usage(f, "xend");
    fclose(f);
    const char *words[] = {"start",        "stop",         "restart", "status",   "--config",
                           "--foreground", "-o KEY=VALUE", "--help",  "--version"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(text, words[i]) == NULL)
            fail_msg("usage lacks %s", words[i]);
    free(text);
}

/* ---- pid file and status ---------------------------------------------------------- */

static void pidfile_is_exclusive_and_removed(void **state)
{
    (void)state;
    struct xend_daemon_pidfile *pf, *second;
    struct xend_err err = {0};
    pid_t pid;
    assert_int_equal(xend_daemon_status(pidpath, &pid), -XEND_ENOENT);
    assert_int_equal(pid, 0);
    assert_int_equal(xend_daemon_pidfile_create(pidpath, &pf, &err), 0);
    assert_int_equal(xend_daemon_status(pidpath, &pid), 0);
    assert_int_equal(pid, getpid());
    assert_int_equal(xend_daemon_pidfile_create(pidpath, &second, &err), -XEND_EEXIST);
    assert_null(second);
    char expect[800];
    snprintf(expect, sizeof(expect), "xend is already running (pid %d, pid file %s)", (int)getpid(),
             pidpath);
    assert_string_equal(err.msg, expect);
    xend_daemon_pidfile_remove(pf);
    assert_false(exists(pidpath));
    assert_int_equal(xend_daemon_status(pidpath, &pid), -XEND_ENOENT);
}

static void stale_pidfile_is_not_running_and_taken_over(void **state)
{
    (void)state;
    char text[32];
    pid_t gone = dead_pid(), pid;
    snprintf(text, sizeof(text), "%d\n", (int)gone);
    write_text(pidpath, text);
    assert_int_equal(xend_daemon_status(pidpath, &pid), -XEND_ENOENT);
    assert_int_equal(pid, gone);

    struct xend_daemon_pidfile *pf;
    struct xend_err err = {0};
    assert_int_equal(xend_daemon_pidfile_create(pidpath, &pf, &err), 0);
    FILE *f = fopen(pidpath, "r");
    int in_file = 0;
    assert_int_equal(fscanf(f, "%d", &in_file), 1);
    fclose(f);
    assert_int_equal(in_file, getpid());
    xend_daemon_pidfile_remove(pf);

    write_text(pidpath, "garbage\n");
    assert_int_equal(xend_daemon_status(pidpath, &pid), -XEND_ENOENT);
    assert_int_equal(xend_daemon_pidfile_create(pidpath, &pf, &err), 0);
    xend_daemon_pidfile_remove(pf);
}

/* A stale file may name a live process that is not xend: it must be left alone. */
static void unlocked_pidfile_of_another_program_is_not_running(void **state)
{
    (void)state;
    pid_t other = fork();
    assert_true(other >= 0);
    if (other == 0) {
        execlp("sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    char text[32];
    snprintf(text, sizeof(text), "%d\n", (int)other);
    write_text(pidpath, text);
    pid_t pid;
    struct xend_err err = {0};
    assert_int_equal(xend_daemon_status(pidpath, &pid), -XEND_ENOENT);
    assert_int_equal(xend_daemon_stop(pidpath, 1000, &err), -XEND_ENOENT);
    assert_string_equal(err.msg, "xend is not running");
    assert_false(exists(pidpath));       /* stale: removed */
    assert_int_equal(kill(other, 0), 0); /* and the other program was not signalled */
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
}

static void status_report_uses_lsb_exit_codes(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(xend_daemon_status_report(pidpath, 8000, f), 3);
    fflush(f);
    assert_string_equal(text, "xend is not running\n");
    struct xend_daemon_pidfile *pf;
    struct xend_err err = {0};
    assert_int_equal(xend_daemon_pidfile_create(pidpath, &pf, &err), 0);
    assert_int_equal(xend_daemon_status_report(pidpath, 8001, f), 0);
    fclose(f);
    char expect[128];
    snprintf(expect, sizeof(expect), "xend is not running\nxend is running (pid %d, port 8001)\n",
             (int)getpid());
    assert_string_equal(text, expect);
    free(text);
    xend_daemon_pidfile_remove(pf);
}

/* ---- stop ------------------------------------------------------------------------- */

static void stop_terminates_a_xend_that_handles_sigterm(void **state)
{
    (void)state;
    pid_t child = spawn_fake_xend(false);
    pid_t pid;
    assert_int_equal(xend_daemon_status(pidpath, &pid), 0);
    assert_int_equal(pid, child);
    struct xend_err err = {0};
    /* The child stays a zombie until reaped below: stop must count that as stopped. */
    assert_int_equal(xend_daemon_stop(pidpath, 10000, &err), 0);
    assert_int_equal(wait_exit(child), 0); /* a clean exit from the SIGTERM handler */
    assert_false(exists(pidpath));
    assert_int_equal(xend_daemon_stop(pidpath, 1000, &err), -XEND_ENOENT);
}

static void stop_times_out_when_sigterm_is_ignored(void **state)
{
    (void)state;
    pid_t child = spawn_fake_xend(true);
    struct xend_err err = {0};
    long long t0 = now_ms();
    assert_int_equal(xend_daemon_stop(pidpath, 200, &err), -XEND_ETIMEDOUT);
    assert_true(now_ms() - t0 >= 200);
    char expect[128];
    snprintf(expect, sizeof(expect), "xend (pid %d) did not stop within 200 ms", (int)child);
    assert_string_equal(err.msg, expect);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* killed: the file stays, but nobody holds it */
    pid_t pid;
    assert_true(exists(pidpath));
    assert_int_equal(xend_daemon_status(pidpath, &pid), -XEND_ENOENT);
}

/* ---- detach ----------------------------------------------------------------------- */

enum child_plan { PLAN_OK, PLAN_FAIL, PLAN_EXIT, PLAN_HANG };

/*
 * Fork a process that detaches as `xend start` does; its daemon half follows `plan`.
 * Returns the starting process's exit code and what it printed on stderr.
 */
static int run_detach(enum child_plan plan, int timeout_ms, char *out, size_t size)
{
    int errp[2];
    assert_int_equal(pipe(errp), 0);
    pid_t starter = fork();
    assert_true(starter >= 0);
    if (starter == 0) {
        close(errp[0]);
        dup2(errp[1], STDERR_FILENO);
        close(errp[1]);
        struct xend_daemon_ready ready = XEND_DAEMON_READY_INIT;
        ready.timeout_ms = timeout_ms;
        struct xend_err err = {0};
        if (xend_daemon_detach(&ready, &err) != 0)
            _exit(10);
        /* the daemon: detached, stdio on /dev/null; SIGTERM handled before anyone can
         * learn that it is ready */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &old);
        struct sigaction sa = {.sa_handler = on_term};
        sigaction(SIGTERM, &sa, NULL);
        if (isatty(STDERR_FILENO) || getsid(0) != getpid())
            _exit(11);
        struct xend_daemon_pidfile *pf;
        if (xend_daemon_pidfile_create(pidpath, &pf, &err) != 0) {
            xend_daemon_ready_fail(&ready, xend_err_msg(&err));
            _exit(1);
        }
        switch (plan) {
        case PLAN_OK:
            xend_daemon_ready_ok(&ready);
            break;
        case PLAN_FAIL:
            xend_daemon_ready_fail(&ready, "cannot listen on 127.0.0.1:8000:\nin use");
            xend_daemon_pidfile_remove(pf);
            _exit(1);
        case PLAN_EXIT:
            xend_daemon_pidfile_remove(pf);
            _exit(7);
        case PLAN_HANG:
            break;
        }
        while (!got_term)
            sigsuspend(&old);
        xend_daemon_pidfile_remove(pf);
        _exit(0);
    }
    close(errp[1]);
    read_all(errp[0], out, size, 20000);
    close(errp[0]);
    return wait_exit(starter);
}

static void detach_returns_zero_once_the_daemon_is_ready(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(run_detach(PLAN_OK, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    pid_t pid;
    assert_int_equal(xend_daemon_status(pidpath, &pid), 0);
    struct xend_err err = {0};
    assert_int_equal(xend_daemon_stop(pidpath, 10000, &err), 0);
    assert_false(exists(pidpath));
}

static void detach_prints_the_failure_and_exits_one(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(run_detach(PLAN_FAIL, 0, out, sizeof(out)), 1);
    assert_string_equal(out, "xend: cannot listen on 127.0.0.1:8000: in use\n");
}

static void detach_reports_a_daemon_that_exits_without_a_word(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(run_detach(PLAN_EXIT, 0, out, sizeof(out)), 1);
    assert_string_equal(out, "xend: exited during startup (status 7)\n");
}

static void detach_gives_up_at_the_deadline(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(run_detach(PLAN_HANG, 300, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "xend: not ready after 300 ms"));
    struct xend_err err = {0};
    /* the daemon got as far as its pid file: stop it through that */
    long long deadline = now_ms() + 10000;
    pid_t pid;
    while (xend_daemon_status(pidpath, &pid) != 0 && now_ms() < deadline)
        poll(NULL, 0, 10);
    assert_int_equal(xend_daemon_stop(pidpath, 10000, &err), 0);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(pidpath, sizeof(pidpath), "%s/xend.pid", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_setup(fn, setup_test)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(args_give_command_config_foreground_and_overrides),
        T(help_and_version_win_over_everything),
        T(bad_arguments_are_refused_with_a_reason),
        T(usage_lists_every_command_and_option),
        T(pidfile_is_exclusive_and_removed),
        T(stale_pidfile_is_not_running_and_taken_over),
        T(unlocked_pidfile_of_another_program_is_not_running),
        T(status_report_uses_lsb_exit_codes),
        T(stop_terminates_a_xend_that_handles_sigterm),
        T(stop_times_out_when_sigterm_is_ignored),
        T(detach_returns_zero_once_the_daemon_is_ready),
        T(detach_prints_the_failure_and_exits_one),
        T(detach_reports_a_daemon_that_exits_without_a_word),
        T(detach_gives_up_at_the_deadline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
