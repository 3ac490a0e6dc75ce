/*
 * Running xend-simhv when nothing listens on its socket (sim.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"

/*
 * Run xend-simhv (which daemonises and exits once its socket listens) and wait for the
 * socket. Its stderr comes back through a pipe, so a refusal reaches the client verbatim.
 */
static int sim_start(struct sim_ctx *c, struct xend_err *err)
{
    char cpus[24], mem[24], slice[24], delay[24];
    snprintf(cpus, sizeof(cpus), "%lld", c->cpus);
    snprintf(mem, sizeof(mem), "%lld", c->memory_mb);
    snprintf(slice, sizeof(slice), "%lld", c->slice_ms);
    snprintf(delay, sizeof(delay), "%lld", c->delay_ms);
    const char *argv[] = {c->simhv_path,
                          "--socket",
                          c->socket_path,
                          "--cpus",
                          cpus,
                          "--memory",
                          mem,
                          "--scheduler",
                          c->scheduler,
                          "--slice-ms",
                          slice,
                          "--shutdown-delay-ms",
                          delay,
                          c->log_path[0] ? "--log" : NULL,
                          c->log_path,
                          NULL};
    char nomsg[256];
    snprintf(nomsg, sizeof(nomsg), "cannot run %s: exec failed\n", c->simhv_path);
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0)
        return xend_err_set(err, XEND_EIO, "cannot start xend-simhv: pipe: %s", strerror(errno));
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        close(ep[0]);
        close(ep[1]);
        if (devnull >= 0)
            close(devnull);
        return xend_err_set(err, XEND_EIO, "cannot start xend-simhv: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Only async-signal-safe calls here: the parent may have threads. */
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        dup2(ep[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(c->simhv_path, (char *const *)argv);
        ssize_t w = write(2, nomsg, strlen(nomsg));
        (void)w;
        _exit(127);
    }
    close(ep[1]);
    if (devnull >= 0)
        close(devnull);

    char msg[512] = "";
    size_t mlen = 0;
    int status = 0;
    bool exited = false, reaped = false;
    uint64_t deadline = sim_now_ms() + SIM_START_TIMEOUT_MS;
    int rc = 0;
    for (;;) {
        if (!exited) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD)) {
                exited = true;
                reaped = r == pid;
            }
        }
        if (exited) {
            /* Collect what it said, then see whether the socket answers. */
            ssize_t n;
            while (mlen < sizeof(msg) - 1 &&
                   (n = read(ep[0], msg + mlen, sizeof(msg) - 1 - mlen)) > 0)
                mlen += (size_t)n;
            msg[mlen] = '\0';
            int fd = sim_dial(c->socket_path);
            if (fd >= 0) {
                close(fd);
                break;
            }
            if (reaped && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r'))
                    msg[--mlen] = '\0';
                rc = xend_err_set(err, XEND_EBACKEND, "cannot start xend-simhv (%s): %s",
                                  c->simhv_path, mlen ? msg : "it failed without a word");
                break;
            }
        }
        if (sim_ms_left(deadline) == 0) {
            if (!exited) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
            }
            rc = xend_err_set(err, XEND_ETIMEDOUT,
                              "xend-simhv did not start listening on %s within %d s",
                              c->socket_path, SIM_START_TIMEOUT_MS / 1000);
            break;
        }
        struct pollfd p = {.fd = ep[0], .events = POLLIN};
        if (poll(&p, 1, 20) > 0 && !exited) {
            ssize_t n = read(ep[0], msg + mlen, sizeof(msg) - 1 - mlen);
            if (n > 0)
                mlen += (size_t)n;
        }
    }
    close(ep[0]);
    if (rc == 0)
        c->host->log->emit(c->self, XEND_LOG_NOTICE, "simhv started",
                           "socket=%s cpus=%lld "
                           "memory_mb=%lld scheduler=%s",
                           c->socket_path, c->cpus, c->memory_mb, c->scheduler);
    return rc;
}

int sim_connect(struct sim_ctx *c, bool start, int *out, struct xend_err *err)
{
    int fd = sim_dial(c->socket_path);
    if (fd < 0 && start && (fd == -ENOENT || fd == -ECONNREFUSED)) {
        int rc = sim_start(c, err);
        if (rc < 0)
            return rc;
        fd = sim_dial(c->socket_path);
    }
    if (fd < 0)
        return xend_err_set(err, XEND_EBACKEND, "cannot connect to xend-simhv at %s: %s",
                            c->socket_path, strerror(-fd));
    *out = fd;
    return 0;
}
