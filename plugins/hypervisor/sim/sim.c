/*
 * The sim backend: xend's hypervisor operations carried out by xend-simhv, a separate
 * process reached over a unix socket with simhv's line protocol (docs/simhv.md).
 *
 * open() connects, starting xend-simhv when nothing listens (it daemonises, so it is not
 * xend's child and outlives xend, as Xen would). Ops are synchronous request/reply on one
 * connection, except creates (dom_create_async, with their confirms), which are pipelined
 * on a second one (pipeline.c), held by simhv until confirmed when xend asks (so a crash
 * of xend takes along what it had not acknowledged); save, restore and console streams each
 * get a connection of their own, so
 * save and restore may run on a worker thread while the loop thread calls the rest. The
 * state-change stream is relayed into a pipe the core watches, so the fd it watches stays
 * the same even if simhv goes away and comes back.
 *
 * Talks SXP only through host->sxp; includes nothing but include/xend/ and libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xend/host.h>

#include "pipeline.h"

#define SIM_PROTO_VERSION 2 /* simhv's, docs/simhv.md */
#define SIM_REPLY_TIMEOUT_MS 15000
#define SIM_STREAM_TIMEOUT_MS 60000
#define SIM_START_TIMEOUT_MS 10000
#define SIM_RECONNECT_MS 1000
#define SIM_LINE_MAX (64u * 1024u * 1024u)
#define SIM_REC_MAX (1024u * 1024u)
#define SIM_IMAGE_MAGIC "SIMHVIMG"
#define SIM_REC_PAGES 1u
#define SIM_REC_END 2u
#define SIM_REC_ABORT 3u
#define SIM_PAGE_ENTRY (8u + 4096u)

struct sim_ctx {
    struct xend_plugin *self;
    const struct xend_host *host;
    const struct xend_host_sxp *sxp;
    char *socket_path; /* owned */
    char *simhv_path;  /* owned */
    char *log_path;    /* owned, "" for none */
    const char *scheduler;
    long long cpus, memory_mb, slice_ms, delay_ms;

    pthread_mutex_t lock; /* the request connection and rbuf */
    int fd;               /* request connection, -1 while down */
    char *rbuf;           /* owned: its replies are read here, reused from call to call */
    size_t rcap;
    atomic_llong next_id;

    /* Creates and confirms, pipelined on a connection of their own (loop thread only). */
    struct sim_pipeline *pipe; /* owned; NULL until the first */

    /* State changes: simhv's notify stream relayed into a pipe the core watches. */
    int notify_pipe[2];
    int notify_sock;
    struct xend_watch *notify_watch;
    struct xend_timer *reconnect_timer;
    bool opened;
};

/* ---- small helpers ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int ms_left(uint64_t deadline)
{
    uint64_t now = now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Wait until fd is ready for events or the deadline passes: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, ms_left(deadline));
        if (r > 0)
            return 0;
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static int send_all(int fd, const void *data, size_t len, uint64_t deadline)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Exactly len bytes from a socket or a file: 0, -EPIPE at an early end, or -errno. */
static int recv_exact(int fd, void *data, size_t len, uint64_t deadline)
{
    char *p = data;
    while (len > 0) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t n = read(fd, p, len);
        if (n == 0)
            return -EPIPE;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write all of data to a caller's fd (file, pipe or socket; blocking or not). */
static int write_all(int fd, const void *data, size_t len, uint64_t deadline)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * One reply line, read with MSG_PEEK so nothing after the newline is consumed: on stream
 * connections the bytes that follow belong to the caller. *line owned (free).
 */
static int read_line(int fd, char **line, uint64_t deadline)
{
    char *buf = NULL;
    size_t len = 0;
    char peek[16384];
    for (;;) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0) {
            free(buf);
            return rc;
        }
        ssize_t n = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) {
            free(buf);
            return -EPIPE;
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            free(buf);
            return -errno;
        }
        char *nl = memchr(peek, '\n', (size_t)n);
        size_t take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
        if (len + take > SIM_LINE_MAX) {
            free(buf);
            return -EMSGSIZE;
        }
        char *nb = realloc(buf, len + take + 1);
        if (nb == NULL)
            abort(); /* the ABI's OOM policy */
        buf = nb;
        if (recv(fd, buf + len, take, MSG_DONTWAIT) != (ssize_t)take) {
            free(buf);
            return -EIO;
        }
        len += take;
        if (nl != NULL) {
            buf[len - 1] = '\0';
            *line = buf;
            return 0;
        }
    }
}

/*
 * One reply line on the request connection, into c->rbuf (NUL-terminated, *len without
 * the newline). Between requests simhv never speaks, so nothing can follow the line and
 * large reads with a blocking socket (SO_RCVTIMEO bounds each wait) replace the
 * poll + peek + read of read_line.
 */
static int read_reply(struct sim_ctx *c, int fd, uint64_t deadline, size_t *len)
{
    size_t have = 0;
    for (;;) {
        if (c->rcap - have < 8192) {
            size_t cap = c->rcap ? c->rcap * 2 : 65536;
            if (cap > SIM_LINE_MAX + 1)
                return -EMSGSIZE;
            char *nb = realloc(c->rbuf, cap);
            if (nb == NULL)
                abort(); /* the ABI's OOM policy */
            c->rbuf = nb;
            c->rcap = cap;
        }
        ssize_t n = recv(fd, c->rbuf + have, c->rcap - have - 1, 0);
        if (n == 0)
            return -EPIPE;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -ETIMEDOUT;
            if (errno != EINTR)
                return -errno;
            n = 0;
        }
        char *nl = memchr(c->rbuf + have, '\n', (size_t)n);
        have += (size_t)n;
        if (nl != NULL) {
            if (nl != c->rbuf + have - 1)
                return -EPROTO; /* bytes after the reply: the connection is out of step */
            *nl = '\0';
            *len = have - 1;
            return 0;
        }
        if (now_ms() >= deadline)
            return -ETIMEDOUT;
    }
}

static int dial(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* ---- starting simhv ---- */

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
    uint64_t deadline = now_ms() + SIM_START_TIMEOUT_MS;
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
            int fd = dial(c->socket_path);
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
        if (ms_left(deadline) == 0) {
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

/* A connection to simhv, starting it first when `start` and nothing listens. */
static int sim_connect(struct sim_ctx *c, bool start, int *out, struct xend_err *err)
{
    int fd = dial(c->socket_path);
    if (fd < 0 && start && (fd == -ENOENT || fd == -ECONNREFUSED)) {
        int rc = sim_start(c, err);
        if (rc < 0)
            return rc;
        fd = dial(c->socket_path);
    }
    if (fd < 0)
        return xend_err_set(err, XEND_EBACKEND, "cannot connect to xend-simhv at %s: %s",
                            c->socket_path, strerror(-fd));
    *out = fd;
    return 0;
}

/* ---- requests ---- */

static struct xend_sxp *req_new(struct sim_ctx *c, const char *op)
{
    struct xend_sxp *r = c->sxp->list();
    c->sxp->append_take(r, c->sxp->atom(op));
    c->sxp->append_take(r, c->sxp->atom_int(atomic_fetch_add(&c->next_id, 1)));
    return r;
}

static struct xend_sxp *req_dom(struct sim_ctx *c, const char *op, uint32_t domid)
{
    return c->sxp->add_kv_int(req_new(c, op), "domid", domid);
}

/*
 * The error of a request whose connection broke with r (a negative errno); why says how,
 * or NULL to say it from r.
 */
static int lost_simhv(struct sim_ctx *c, const char *opname, int r, const char *why,
                      struct xend_err *err)
{
    if (why == NULL)
        why = r == -EPIPE ? "connection closed" : strerror(-r);
    return xend_err_set(err, r == -ETIMEDOUT ? XEND_ETIMEDOUT : XEND_EBACKEND,
                        "lost xend-simhv at %s during %s: %s", c->socket_path, opname, why);
}

/*
 * req (freed here) as its protocol line: owned text with its newline, *len bytes; its id
 * and op name copied out for checking the answer.
 */
static char *req_line(struct sim_ctx *c, struct xend_sxp *req, size_t *len, char *want_id,
                      size_t want_id_len, char *opname, size_t opname_len)
{
    const struct xend_host_sxp *sx = c->sxp;
    const char *op = sx->name(req);
    snprintf(opname, opname_len, "%s", op ? op : "?");
    const char *id_text = sx->atom_text(sx->nth(req, 1));
    snprintf(want_id, want_id_len, "%s", id_text ? id_text : "");
    char *text = sx->print(req);
    sx->free(req);
    size_t tlen = strlen(text);
    char *nt = realloc(text, tlen + 2);
    if (nt == NULL)
        abort();
    nt[tlen] = '\n';
    nt[tlen + 1] = '\0';
    *len = tlen + 1;
    return nt;
}

/*
 * Is the reply line answer[0..alen) an ok for request want_id? 0, simhv's error as it came,
 * or -XEND_EBACKEND with *broken set for a line that is not an answer to it.
 */
static int check_answer(struct sim_ctx *c, const char *answer, size_t alen, const char *want_id,
                        const char *opname, bool *broken, struct xend_err *err)
{
    const struct xend_host_sxp *sx = c->sxp;
    /* The usual answer, (ok ID ...), needs no parse to be recognised. */
    size_t idl = strlen(want_id);
    if (alen > 4 + idl && memcmp(answer, "(ok ", 4) == 0 && memcmp(answer + 4, want_id, idl) == 0 &&
        (answer[4 + idl] == ' ' || answer[4 + idl] == ')'))
        return 0;
    struct xend_sxp *rep = NULL;
    char msg[128];
    int rc = 0;
    if (sx->parse(answer, alen, NULL, &rep, msg, sizeof(msg)) < 0) {
        *broken = true;
        return xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to %s: %s", opname,
                            msg);
    }
    const char *head = sx->name(rep);
    const char *got_id = sx->atom_text(sx->nth(rep, 1));
    if (head == NULL || got_id == NULL || strcmp(got_id, want_id) != 0) {
        *broken = true;
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv answered %s out of turn", opname);
    } else if (strcmp(head, "err") == 0) {
        const char *code_text = sx->atom_text(sx->nth(rep, 2));
        const char *m = sx->atom_text(sx->nth(rep, 3));
        int code = code_text ? atoi(code_text) : 0;
        if (code <= 0 || code >= XEND_ERROR_COUNT)
            code = XEND_EBACKEND;
        rc = xend_err_set(err, code, "%s", m ? m : xend_strerror(code));
    }
    /* else an ok that is not spelt as simhv spells it: still an ok */
    sx->free(rep);
    return rc;
}

/*
 * Send req (freed here) on fd and read its reply line: on the shared request connection
 * (shared: into c->rbuf, *owned NULL) or on a connection about to become a stream (read
 * without consuming what follows the line; *owned is the line, to free). 0 and *line for
 * an ok reply with the right id, the simhv error as it came, or -XEND_EIO for a broken
 * connection (with *broken set, so the caller can drop it).
 */
static int sim_exchange(struct sim_ctx *c, int fd, bool shared, struct xend_sxp *req,
                        const char **line, size_t *line_len, char **owned, char *opname,
                        size_t opname_len, bool *broken, struct xend_err *err)
{
    char want_id[32];
    size_t tlen;
    char *text = req_line(c, req, &tlen, want_id, sizeof(want_id), opname, opname_len);
    uint64_t deadline = now_ms() + SIM_REPLY_TIMEOUT_MS;
    int r = send_all(fd, text, tlen, deadline);
    free(text);
    *owned = NULL;
    size_t alen = 0;
    const char *answer = NULL;
    if (r == 0 && shared) {
        r = read_reply(c, fd, deadline, &alen);
        answer = c->rbuf;
    } else if (r == 0) {
        r = read_line(fd, owned, deadline);
        answer = *owned;
        alen = r == 0 ? strlen(answer) : 0;
    }
    if (r < 0) {
        *broken = true;
        return lost_simhv(c, opname, r, NULL, err);
    }
    int rc = check_answer(c, answer, alen, want_id, opname, broken, err);
    if (rc == 0) {
        *line = answer;
        *line_len = alen;
    } else {
        free(*owned);
        *owned = NULL;
    }
    return rc;
}

/*
 * The reply as a tree: `raw` borrowed from the exchange; 0 and *reply (owned) when wanted.
 */
static int reply_tree(struct sim_ctx *c, const char *raw, size_t len, const char *opname,
                      struct xend_sxp **reply, bool *broken, struct xend_err *err)
{
    if (reply == NULL)
        return 0;
    char msg[128];
    if (c->sxp->parse(raw, len, NULL, reply, msg, sizeof(msg)) < 0) {
        *broken = true;
        return xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to %s: %s", opname,
                            msg);
    }
    return 0;
}

/* A connection about to become a stream: send req (freed here), read its reply. */
static int sim_call_fd(struct sim_ctx *c, int fd, struct xend_sxp *req, struct xend_sxp **reply,
                       bool *broken, struct xend_err *err)
{
    const char *line = NULL;
    size_t len = 0;
    char *owned = NULL;
    char opname[32];
    int rc = sim_exchange(c, fd, false, req, &line, &len, &owned, opname, sizeof(opname), broken,
                          err);
    if (rc == 0)
        rc = reply_tree(c, line, len, opname, reply, broken, err);
    free(owned);
    return rc;
}

/*
 * The shared connection, locked and (re)connected: 0, or an error with the lock released.
 * SO_RCVTIMEO bounds read_reply's waits on it.
 */
static int shared_begin(struct sim_ctx *c, struct xend_err *err)
{
    pthread_mutex_lock(&c->lock);
    if (c->fd >= 0) {
        /* Between requests simhv never speaks: readable now means it hung up. */
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            close(c->fd);
            c->fd = -1;
        }
    }
    if (c->fd < 0) {
        int rc = sim_connect(c, true, &c->fd, err);
        if (rc < 0) {
            pthread_mutex_unlock(&c->lock);
            return rc;
        }
        struct timeval tv = {.tv_sec = SIM_REPLY_TIMEOUT_MS / 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return 0;
}

static void shared_end(struct sim_ctx *c, bool broken)
{
    if (broken) {
        close(c->fd);
        c->fd = -1;
    }
    pthread_mutex_unlock(&c->lock);
}

/*
 * A request (freed here) on the shared connection whose ok reply is handed to `fn` as the
 * raw line (borrowed for the call), with the connection still locked.
 */
typedef int reply_fn(struct sim_ctx *c, const char *line, size_t len, const char *opname,
                     void *arg, bool *broken, struct xend_err *err);

static int sim_call_raw(struct sim_ctx *c, struct xend_sxp *req, reply_fn *fn, void *arg,
                        struct xend_err *err)
{
    int rc = shared_begin(c, err);
    if (rc < 0) {
        c->sxp->free(req);
        return rc;
    }
    bool broken = false;
    const char *line = NULL;
    size_t len = 0;
    char *owned = NULL;
    char opname[32];
    rc = sim_exchange(c, c->fd, true, req, &line, &len, &owned, opname, sizeof(opname), &broken,
                      err);
    if (rc == 0 && fn != NULL)
        rc = fn(c, line, len, opname, arg, &broken, err);
    shared_end(c, broken);
    return rc;
}

static int tree_fn(struct sim_ctx *c, const char *line, size_t len, const char *opname, void *arg,
                   bool *broken, struct xend_err *err)
{
    return reply_tree(c, line, len, opname, arg, broken, err);
}

/* A request on the shared connection, (re)connecting first when it is down. */
static int sim_call(struct sim_ctx *c, struct xend_sxp *req, struct xend_sxp **reply,
                    struct xend_err *err)
{
    return sim_call_raw(c, req, reply ? tree_fn : NULL, reply, err);
}

/*
 * Send req (freed here) on fd without waiting for an answer: for a (quiet 1) request, which
 * gets none.
 */
static int send_quiet(struct sim_ctx *c, int fd, struct xend_sxp *req, struct xend_err *err)
{
    char id[32], opname[32];
    size_t len;
    char *text = req_line(c, req, &len, id, sizeof(id), opname, sizeof(opname));
    int r = send_all(fd, text, len, now_ms() + SIM_REPLY_TIMEOUT_MS);
    free(text);
    return r < 0 ? lost_simhv(c, opname, r, NULL, err) : 0;
}

/*
 * A fresh connection turned into a stream by req (freed here): the fd (owned by the
 * caller). A quiet request (with (quiet 1)) costs no round trip: should simhv refuse it,
 * the stream just ends.
 */
static int sim_stream(struct sim_ctx *c, struct xend_sxp *req, bool quiet,
                      struct xend_sxp **reply, int *out, struct xend_err *err)
{
    int fd = -1;
    int rc = sim_connect(c, false, &fd, err);
    if (rc < 0) {
        c->sxp->free(req);
        return rc;
    }
    bool broken = false;
    rc = quiet ? send_quiet(c, fd, req, err) : sim_call_fd(c, fd, req, reply, &broken, err);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

static int reply_u64(struct sim_ctx *c, const struct xend_sxp *rep, const char *key, uint64_t *out,
                     struct xend_err *err)
{
    long long v;
    if (c->sxp->child_int(rep, key, &v) < 0 || v < 0)
        return xend_err_set(err, XEND_EBACKEND, "xend-simhv reply lacks %s", key);
    *out = (uint64_t)v;
    return 0;
}

/* ---- notifications ---- */

static void notify_kick(struct sim_ctx *c)
{
    char b = '!';
    ssize_t n = write(c->notify_pipe[1], &b, 1);
    (void)n; /* a full pipe already says "something changed" */
}

static int notify_subscribe(struct sim_ctx *c, struct xend_err *err);

static void notify_drop(struct sim_ctx *c)
{
    c->host->loop->watch_remove(c->notify_watch);
    c->notify_watch = NULL;
    if (c->notify_sock >= 0)
        close(c->notify_sock);
    c->notify_sock = -1;
}

static void notify_retry(void *arg)
{
    struct sim_ctx *c = arg;
    struct xend_err err = {0};
    if (notify_subscribe(c, &err) == 0) {
        c->host->loop->timer_remove(c->reconnect_timer);
        c->reconnect_timer = NULL;
        c->host->log->emit(c->self, XEND_LOG_NOTICE, "simhv back", "socket=%s", c->socket_path);
        notify_kick(c); /* the world may have changed while we were away */
    }
}

static void notify_readable(int fd, uint32_t events, void *arg)
{
    (void)events;
    struct sim_ctx *c = arg;
    char buf[256];
    bool changed = false;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            changed = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* simhv went away: every domain with it. Tell the core, then keep trying. */
        c->host->log->emit(c->self, XEND_LOG_WARN, "simhv lost", "socket=%s", c->socket_path);
        notify_drop(c);
        changed = true;
        if (c->reconnect_timer == NULL)
            c->reconnect_timer =
                c->host->loop->timer_add(c->self, SIM_RECONNECT_MS, true, notify_retry, c);
        break;
    }
    if (changed)
        notify_kick(c);
}

static int notify_subscribe(struct sim_ctx *c, struct xend_err *err)
{
    int fd;
    int rc = sim_stream(c, req_new(c, "notify"), false, NULL, &fd, err);
    if (rc < 0)
        return rc;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->notify_sock = fd;
    c->notify_watch = c->host->loop->watch_add(c->self, fd, XEND_WATCH_READ, notify_readable, c);
    return 0;
}

/* ---- the backend ops ---- */

static bool sim_probe(void *ctx)
{
    (void)ctx;
    return true; /* simhv runs anywhere */
}

static void sim_close(void *ctx)
{
    struct sim_ctx *c = ctx;
    sim_pipeline_free(c->pipe);
    c->pipe = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (!c->opened)
        return;
    c->host->loop->timer_remove(c->reconnect_timer);
    c->reconnect_timer = NULL;
    notify_drop(c);
    close(c->notify_pipe[0]);
    close(c->notify_pipe[1]);
    c->opened = false;
}

static int sim_physinfo(void *ctx, struct xend_physinfo *out, struct xend_err *err);

static int sim_open(void *ctx, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    if (c->opened)
        return 0;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, req_new(c, "hello"), &rep, err);
    if (rc < 0)
        return rc;
    long long version = 0;
    c->sxp->child_int(rep, "version", &version);
    c->sxp->free(rep);
    /* Version 2 brought what creates rely on (dom_make, dom_confirm, quiet console
     * requests). A simhv started by an older xend keeps running across an upgrade, as Xen
     * would: say what to do rather than fail every create. */
    if (version != SIM_PROTO_VERSION)
        return xend_err_set(err, XEND_EBACKEND,
                            "xend-simhv at %s speaks protocol %lld, this plugin speaks %d: "
                            "stop it (xend-simhv --stop --socket %s; its domains go with it) "
                            "and start xend again",
                            c->socket_path, version, SIM_PROTO_VERSION, c->socket_path);
    /* A simhv that was already running keeps its machine: say so when it is not ours. */
    struct xend_physinfo pi;
    struct xend_err ignored = {0};
    if (sim_physinfo(c, &pi, &ignored) == 0 &&
        (pi.nr_cpus != (uint32_t)c->cpus || pi.total_kb != (uint64_t)c->memory_mb * 1024 ||
         strcmp(pi.scheduler, c->scheduler) != 0))
        c->host->log->emit(c->self, XEND_LOG_WARN, "simhv settings differ",
                           "socket=%s cpus=%u memory_mb=%llu scheduler=%s configured_cpus=%lld "
                           "configured_memory_mb=%lld configured_scheduler=%s",
                           c->socket_path, pi.nr_cpus, (unsigned long long)(pi.total_kb / 1024),
                           pi.scheduler, c->cpus, c->memory_mb, c->scheduler);
    if (pipe2(c->notify_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return xend_err_set(err, XEND_EIO, "pipe: %s", strerror(errno));
    c->notify_sock = -1;
    c->opened = true;
    rc = notify_subscribe(c, err);
    if (rc < 0)
        sim_close(c);
    return rc;
}

static int sim_physinfo(void *ctx, struct xend_physinfo *out, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, req_new(c, "physinfo"), &rep, err);
    if (rc < 0)
        return rc;
    uint64_t cpus = 0, cores = 0, threads = 0, mhz = 0;
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    if ((rc = reply_u64(c, rep, "nr_cpus", &cpus, err)) == 0 &&
        (rc = reply_u64(c, rep, "cores_per_socket", &cores, err)) == 0 &&
        (rc = reply_u64(c, rep, "threads_per_core", &threads, err)) == 0 &&
        (rc = reply_u64(c, rep, "cpu_mhz", &mhz, err)) == 0 &&
        (rc = reply_u64(c, rep, "total_kb", &out->total_kb, err)) == 0 &&
        (rc = reply_u64(c, rep, "free_kb", &out->free_kb, err)) == 0) {
        out->nr_cpus = (uint32_t)cpus;
        out->cores_per_socket = (uint32_t)cores;
        out->threads_per_core = (uint32_t)threads;
        out->cpu_mhz = (uint32_t)mhz;
        snprintf(out->hypervisor, sizeof(out->hypervisor), "%s",
                 c->sxp->child_value(rep, "hypervisor", "simhv"));
        snprintf(out->scheduler, sizeof(out->scheduler), "%s",
                 c->sxp->child_value(rep, "scheduler", ""));
    }
    c->sxp->free(rep);
    return rc;
}

static char *sim_dmesg(void *ctx, bool clear, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    struct xend_sxp *req = c->sxp->add_kv_int(req_new(c, "dmesg"), "clear", clear);
    if (sim_call(c, req, &rep, err) < 0)
        return NULL;
    char *text = strdup(c->sxp->child_value(rep, "text", ""));
    c->sxp->free(rep);
    if (text == NULL)
        abort();
    return text;
}

static struct xend_sxp *create_req(struct sim_ctx *c, const char *op,
                                   const struct xend_dom_create *a)
{
    struct xend_sxp *r = req_new(c, op);
    if (a == NULL)
        return r;
    if (a->name != NULL)
        c->sxp->add_kv(r, "name", a->name);
    c->sxp->add_kv_int(r, "mem_kb", (long long)a->mem_kb);
    c->sxp->add_kv_int(r, "maxmem_kb", (long long)a->maxmem_kb);
    c->sxp->add_kv_int(r, "vcpus", a->vcpus);
    c->sxp->add_kv_int(r, "want_domid", a->want_domid);
    c->sxp->add_kv_int(r, "cpu", a->cpu);
    return r;
}

static int sim_dom_create(void *ctx, const struct xend_dom_create *args, uint32_t *domid,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, create_req(c, "dom_create", args), &rep, err);
    if (rc < 0)
        return rc;
    uint64_t id = 0;
    rc = reply_u64(c, rep, "domid", &id, err);
    *domid = (uint32_t)id;
    c->sxp->free(rep);
    return rc;
}

static struct xend_sxp *image_args(struct sim_ctx *c, struct xend_sxp *r,
                                   const struct xend_dom_image *image)
{
    c->sxp->add_kv(r, "builder", image->builder ? image->builder : "linux");
    c->sxp->add_kv(r, "kernel", image->kernel ? image->kernel : "");
    if (image->ramdisk != NULL)
        c->sxp->add_kv(r, "ramdisk", image->ramdisk);
    c->sxp->add_kv(r, "cmdline", image->cmdline ? image->cmdline : "");
    return r;
}

static int sim_dom_build(void *ctx, uint32_t domid, const struct xend_dom_image *image,
                         struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, image_args(c, req_dom(c, "dom_build", domid), image), NULL, err);
}

static int sim_dom_simple(struct sim_ctx *c, const char *op, uint32_t domid, struct xend_err *err)
{
    return sim_call(c, req_dom(c, op, domid), NULL, err);
}

static int sim_dom_pause(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dom_pause", domid, err);
}

static int sim_dom_unpause(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dom_unpause", domid, err);
}

static int sim_dom_destroy(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dom_destroy", domid, err);
}

static int sim_dom_shutdown(void *ctx, uint32_t domid, enum xend_shutdown_reason reason,
                            struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, c->sxp->add_kv_int(req_dom(c, "dom_shutdown", domid), "reason", reason),
                    NULL, err);
}

/* ---- the compact domain form: (d ID FLAGS REASON VCPUS CPU CPU_TIME MEM_KB MAXMEM_KB NAME) ---- */

static int hexdig(char ch);

static bool scan_ull(const char **p, const char *end, unsigned long long *out)
{
    const char *q = *p;
    unsigned long long v = 0;
    if (q >= end || *q < '0' || *q > '9')
        return false;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        if (v > (ULLONG_MAX - (unsigned)(*q - '0')) / 10)
            return false;
        v = v * 10 + (unsigned)(*q - '0');
    }
    if (q >= end || *q != ' ')
        return false;
    *p = q + 1;
    *out = v;
    return true;
}

/* An atom as simhv's SXP printer writes it (bare, or quoted with escapes) into name. */
static bool scan_name(const char **p, const char *end, char *name, size_t cap)
{
    const char *q = *p;
    size_t n = 0;
    if (q < end && (*q == '\'' || *q == '"')) {
        char quote = *q++;
        while (q < end && *q != quote) {
            char ch = *q++;
            if (ch == '\\') {
                if (q >= end)
                    return false;
                ch = *q++;
                switch (ch) {
                case 'a': ch = '\a'; break;
                case 'b': ch = '\b'; break;
                case 't': ch = '\t'; break;
                case 'n': ch = '\n'; break;
                case 'v': ch = '\v'; break;
                case 'f': ch = '\f'; break;
                case 'r': ch = '\r'; break;
                case 'x': {
                    int h1 = q < end ? hexdig(q[0]) : -1, h2 = q + 1 < end ? hexdig(q[1]) : -1;
                    if (h1 < 0 || h2 < 0)
                        return false;
                    ch = (char)(h1 * 16 + h2);
                    q += 2;
                    break;
                }
                default:
                    if (ch >= '0' && ch <= '7') {
                        int v = ch - '0';
                        for (int k = 0; k < 2 && q < end && *q >= '0' && *q <= '7'; k++)
                            v = v * 8 + (*q++ - '0');
                        ch = (char)v;
                    }
                    break;
                }
            }
            if (n + 1 < cap)
                name[n++] = ch;
        }
        if (q >= end)
            return false;
        q++;
    } else {
        while (q < end && *q != ')' && *q != ' ' && *q != '(') {
            if (n + 1 < cap)
                name[n++] = *q;
            q++;
        }
    }
    name[n] = '\0';
    *p = q;
    return true;
}

/* One compact domain at *p (after its "(d "), up to and past its ")". */
static bool scan_dom(const char **p, const char *end, struct xend_dominfo *out)
{
    unsigned long long domid, flags, reason, vcpus, cpu_time, mem, maxmem, ucpu;
    memset(out, 0, sizeof(*out));
    if (!scan_ull(p, end, &domid) || !scan_ull(p, end, &flags) || !scan_ull(p, end, &reason) ||
        !scan_ull(p, end, &vcpus))
        return false;
    const char *q = *p;
    bool neg = q < end && *q == '-';
    if (neg)
        q++;
    if (!scan_ull(&q, end, &ucpu) || !scan_ull(&q, end, &cpu_time) || !scan_ull(&q, end, &mem) ||
        !scan_ull(&q, end, &maxmem) || !scan_name(&q, end, out->name, sizeof(out->name)) ||
        q >= end || *q != ')')
        return false;
    if (domid > UINT32_MAX || flags > UINT32_MAX || reason > UINT32_MAX || vcpus > UINT32_MAX ||
        ucpu > INT32_MAX)
        return false;
    *p = q + 1;
    out->size = sizeof(*out);
    out->domid = (uint32_t)domid;
    out->flags = (uint32_t)flags;
    out->shutdown_reason = (uint32_t)reason;
    out->vcpus = (uint32_t)vcpus;
    out->cpu = neg ? -(int32_t)ucpu : (int32_t)ucpu;
    out->cpu_time_ns = cpu_time;
    out->mem_kb = mem;
    out->maxmem_kb = maxmem;
    return true;
}

/* The domains of a reply, handed on only once the connection is unlocked (a callback
 * may well call the backend again). */
struct dom_scan {
    struct xend_dominfo *v; /* owned */
    size_t count, cap;
};

/*
 * A (compact 1) reply, "(ok ID (d ...) (d ...))", read in place: no tree, no allocation.
 * A reply that is not in this form is a protocol error (the connection is dropped).
 */
static int doms_fn(struct sim_ctx *c, const char *line, size_t len, const char *opname, void *arg,
                   bool *broken, struct xend_err *err)
{
    (void)c;
    struct dom_scan *ds = arg;
    const char *end = line + len;
    const char *p = memchr(line + 4, ' ', len - 4); /* after "(ok ID" */
    if (p == NULL)
        p = end - 1;
    for (;;) {
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p == ')' && p + 1 == end)
            return 0;
        if (end - p < 3 || memcmp(p, "(d ", 3) != 0)
            break;
        p += 3;
        if (ds->count == ds->cap) {
            ds->cap = ds->cap ? ds->cap * 2 : 16;
            ds->v = realloc(ds->v, ds->cap * sizeof(*ds->v));
            if (ds->v == NULL)
                abort(); /* the ABI's OOM policy */
        }
        if (!scan_dom(&p, end, &ds->v[ds->count]))
            break;
        ds->count++;
    }
    *broken = true;
    return xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to %s: %.60s", opname,
                        line);
}

static int sim_dom_info(void *ctx, uint32_t domid, struct xend_dominfo *out, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct dom_scan ds = {0};
    int rc = sim_call_raw(c, c->sxp->add_kv_int(req_dom(c, "dom_info", domid), "compact", 1),
                          doms_fn, &ds, err);
    if (rc == 0 && ds.count != 1)
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv reply lacks the domain");
    if (rc == 0)
        *out = ds.v[0];
    free(ds.v);
    return rc;
}

/* ---- pipelined requests: creates and confirms ---- */

struct piped;
typedef void piped_fn(struct piped *q, int rc, const char *line, size_t len,
                      const struct xend_err *err);

/* One pipelined request: what to check its answer against, and whom to tell. */
struct piped {
    struct sim_ctx *c;
    char want_id[32];
    char opname[32];
    piped_fn *fn;
    xend_dom_created_fn *done; /* dom_create_async's caller */
    void *arg;
    uint32_t domid; /* dom_confirm's */
    struct xend_err early; /* the connection could not be made */
};

static struct piped *piped_new(piped_fn *fn)
{
    struct piped *q = calloc(1, sizeof(*q));
    if (q == NULL)
        abort(); /* the ABI's out-of-memory policy */
    q->fn = fn;
    return q;
}

static int pipe_dial(void *ctx, int *fd)
{
    struct sim_ctx *c = ctx;
    int r = dial(c->socket_path);
    if (r < 0)
        return r;
    *fd = r;
    return 0;
}

static void piped_reply(void *arg, int rc, const char *line, size_t len, const char *why)
{
    struct piped *q = arg;
    struct sim_ctx *c = q->c;
    struct xend_err err = {0};
    if (rc == -ECANCELED) { /* the backend is closing: its caller is going away too */
        free(q);
        return;
    }
    if (rc < 0) {
        rc = lost_simhv(c, q->opname, rc, why, &err);
    } else {
        bool broken = false;
        rc = check_answer(c, line, len, q->want_id, q->opname, &broken, &err);
        if (broken)
            sim_pipeline_fail(c->pipe);
    }
    q->fn(q, rc, line, len, &err);
    free(q);
}

static void piped_early(void *arg)
{
    struct piped *q = arg;
    q->fn(q, -q->early.code, NULL, 0, &q->early);
    free(q);
}

/* Send req (freed here) on the pipeline; q (taken) hears of its end, always later. */
static void pipe_request(struct sim_ctx *c, struct xend_sxp *req, struct piped *q)
{
    q->c = c;
    size_t len;
    char *text = req_line(c, req, &len, q->want_id, sizeof(q->want_id), q->opname,
                          sizeof(q->opname));
    if (c->pipe == NULL)
        c->pipe = sim_pipeline_new(c->self, c->host, pipe_dial, c, SIM_REPLY_TIMEOUT_MS);
    int r = sim_pipeline_send(c->pipe, text, len, piped_reply, q);
    free(text);
    if (r == 0)
        return;
    xend_err_set(&q->early, XEND_EBACKEND, "cannot connect to xend-simhv at %s: %s",
                 c->socket_path, strerror(-r));
    if (c->host->loop->post(piped_early, q) < 0)
        abort(); /* post fails only when the loop is gone */
}

static void make_replied(struct piped *q, int rc, const char *line, size_t len,
                         const struct xend_err *err)
{
    struct dom_scan ds = {0};
    struct xend_err e = {0};
    if (rc == 0) {
        bool broken = false;
        rc = doms_fn(q->c, line, len, q->opname, &ds, &broken, &e);
        if (rc == 0 && ds.count != 1)
            rc = xend_err_set(&e, XEND_EBACKEND, "xend-simhv reply lacks the domain");
        if (rc < 0)
            sim_pipeline_fail(q->c->pipe); /* (a domain it made may be left: it is held) */
        err = &e;
    }
    if (rc == 0)
        q->done(q->arg, 0, &ds.v[0], NULL);
    else
        q->done(q->arg, rc, NULL, err);
    free(ds.v);
}

static void sim_dom_create_async(void *ctx, const struct xend_dom_create *args,
                                 const struct xend_dom_image *image, xend_dom_created_fn *done,
                                 void *arg)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = create_req(c, "dom_make", args);
    image_args(c, r, image);
    if (XEND_HAS_MEMBER(args, flags) && (args->flags & XEND_DOM_CREATE_HOLD))
        c->sxp->add_kv_int(r, "hold", 1);
    struct piped *q = piped_new(make_replied);
    q->done = done;
    q->arg = arg;
    pipe_request(c, r, q);
}

static void confirm_replied(struct piped *q, int rc, const char *line, size_t len,
                            const struct xend_err *err)
{
    (void)line;
    (void)len;
    if (rc < 0)
        q->c->host->log->emit(q->c->self, XEND_LOG_WARN, "domain confirm failed",
                              "id=%u error=\"%s\"", q->domid, err->msg);
}

/*
 * Written now, answered later: what counts is that simhv reads it before any hang-up, so
 * it is in the socket before this returns (and before xend acknowledges the create).
 */
static int sim_dom_confirm(void *ctx, uint32_t domid, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct piped *q = piped_new(confirm_replied);
    q->domid = domid;
    pipe_request(c, req_dom(c, "dom_confirm", domid), q);
    int r = c->pipe ? sim_pipeline_flush(c->pipe, SIM_REPLY_TIMEOUT_MS) : -EPIPE;
    if (r < 0)
        return xend_err_set(err, XEND_EBACKEND, "cannot confirm domain %u to xend-simhv: %s",
                            domid, strerror(-r));
    return 0;
}

static int sim_dom_list(void *ctx, xend_dominfo_fn *fn, void *arg, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct dom_scan ds = {0};
    int rc = sim_call_raw(c, c->sxp->add_kv_int(req_new(c, "dom_list"), "compact", 1), doms_fn,
                          &ds, err);
    for (size_t i = 0; rc == 0 && i < ds.count; i++)
        fn(arg, &ds.v[i]);
    free(ds.v);
    return rc;
}

static int sim_dom_kb(struct sim_ctx *c, const char *op, uint32_t domid, uint64_t kb,
                      struct xend_err *err)
{
    return sim_call(c, c->sxp->add_kv_int(req_dom(c, op, domid), "kb", (long long)kb), NULL, err);
}

static int sim_dom_set_maxmem(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err)
{
    return sim_dom_kb(ctx, "dom_set_maxmem", domid, kb, err);
}

static int sim_dom_set_target(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err)
{
    return sim_dom_kb(ctx, "dom_set_target", domid, kb, err);
}

static int sim_dom_pin_vcpu(void *ctx, uint32_t domid, uint32_t vcpu, int32_t cpu,
                            struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = req_dom(c, "dom_pin_vcpu", domid);
    c->sxp->add_kv_int(r, "vcpu", vcpu);
    c->sxp->add_kv_int(r, "cpu", cpu);
    return sim_call(c, r, NULL, err);
}

static struct xend_sxp *sched_req(struct sim_ctx *c, struct xend_sxp *r, const char *sched,
                                  const struct xend_sched_value *values, size_t n)
{
    c->sxp->add_kv(r, "sched", sched ? sched : "");
    struct xend_sxp *v = c->sxp->list();
    c->sxp->append_take(v, c->sxp->atom("values"));
    for (size_t i = 0; i < n; i++)
        c->sxp->add_kv_int(v, values[i].name, values[i].value);
    return c->sxp->append_take(r, v);
}

static int sim_sched_set(void *ctx, uint32_t domid, const char *sched,
                         const struct xend_sched_value *values, size_t n, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, sched_req(c, req_dom(c, "sched_set", domid), sched, values, n), NULL, err);
}

static int sim_sched_get(void *ctx, uint32_t domid, const char *sched,
                         struct xend_sched_value *values, size_t n, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, sched_req(c, req_dom(c, "sched_get", domid), sched, values, n), &rep, err);
    if (rc < 0)
        return rc;
    const struct xend_sxp *v = c->sxp->child(rep, "values");
    for (size_t i = 0; i < n && rc == 0; i++) {
        long long val;
        if (v == NULL || c->sxp->child_int(v, values[i].name, &val) < 0)
            rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv did not return %s", values[i].name);
        else
            values[i].value = val;
    }
    c->sxp->free(rep);
    return rc;
}

static int sim_sched_node_set(void *ctx, const char *sched, const struct xend_sched_value *values,
                              size_t n, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, sched_req(c, req_new(c, "sched_node_set"), sched, values, n), NULL, err);
}

static int sim_console_open(void *ctx, uint32_t domid, int *fd, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    /* (quiet 1): no answer to wait for; should simhv refuse, the stream just ends. */
    int rc = sim_stream(c, c->sxp->add_kv_int(req_dom(c, "console", domid), "quiet", 1), true,
                        NULL, fd, err);
    if (rc == 0)
        fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
    return rc;
}

static int sim_notify_fd(void *ctx)
{
    struct sim_ctx *c = ctx;
    return c->opened ? c->notify_pipe[0] : -1;
}

static void sim_notify_ack(void *ctx)
{
    struct sim_ctx *c = ctx;
    char buf[256];
    while (c->opened && read(c->notify_pipe[0], buf, sizeof(buf)) > 0)
        ;
}

static int sim_dev_attach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                          const struct xend_sxp *params, char *name, size_t name_len,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = req_dom(c, "dev_attach", domid);
    c->sxp->add_kv(r, "cls", cls ? cls : "");
    c->sxp->add_kv_int(r, "devid", devid);
    if (params != NULL) {
        struct xend_sxp *p = c->sxp->list();
        c->sxp->append_take(p, c->sxp->atom("params"));
        c->sxp->append_take(r, c->sxp->append_take(p, c->sxp->copy(params)));
    }
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, r, &rep, err);
    if (rc < 0)
        return rc;
    snprintf(name, name_len, "%s", c->sxp->child_value(rep, "name", ""));
    c->sxp->free(rep);
    return 0;
}

static int sim_dev_detach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = req_dom(c, "dev_detach", domid);
    c->sxp->add_kv(r, "cls", cls ? cls : "");
    c->sxp->add_kv_int(r, "devid", devid);
    return sim_call(c, r, NULL, err);
}

/* ---- save and restore (worker thread: only immutable ctx fields are used) ---- */

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int io_err(struct xend_err *err, const char *what, int r)
{
    return xend_err_set(err, r == -ETIMEDOUT ? XEND_ETIMEDOUT : XEND_EIO, "%s: %s", what,
                        r == -EPIPE ? "stream ended early" : strerror(-r));
}

static int sim_save(void *ctx, uint32_t domid, int fd, bool live, xend_progress_fn *progress,
                    void *progress_arg, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int sock;
    int rc = sim_stream(c, c->sxp->add_kv_int(req_dom(c, "save", domid), "live", live), false,
                        &rep, &sock, err);
    if (rc < 0)
        return rc;
    uint64_t total = 0, done = 0;
    reply_u64(c, rep, "pages", &total, NULL);
    c->sxp->free(rep);

    uint8_t *buf = malloc(SIM_REC_MAX + 16);
    if (buf == NULL)
        abort();
    uint64_t deadline = now_ms() + SIM_STREAM_TIMEOUT_MS;
    int r = recv_exact(sock, buf, 16, deadline);
    if (r < 0) {
        rc = io_err(err, "reading the image from xend-simhv", r);
        goto out;
    }
    uint32_t hlen = get_le32(buf + 12);
    if (memcmp(buf, SIM_IMAGE_MAGIC, 8) != 0 || hlen > SIM_REC_MAX) {
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad image header");
        goto out;
    }
    if ((r = recv_exact(sock, buf + 16, hlen, deadline)) < 0 ||
        (r = write_all(fd, buf, 16 + hlen, deadline)) < 0) {
        rc = io_err(err, "saving the image header", r);
        goto out;
    }
    for (;;) {
        /* Each record restarts the clock: a long save is fine, a stalled one is not. */
        deadline = now_ms() + SIM_STREAM_TIMEOUT_MS;
        if ((r = recv_exact(sock, buf, 8, deadline)) < 0) {
            rc = io_err(err, "reading the image from xend-simhv", r);
            goto out;
        }
        uint32_t type = get_le32(buf), len = get_le32(buf + 4);
        if (len > SIM_REC_MAX) {
            rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a record of %u bytes", len);
            goto out;
        }
        if ((r = recv_exact(sock, buf + 8, len, deadline)) < 0) {
            rc = io_err(err, "reading the image from xend-simhv", r);
            goto out;
        }
        if (type == SIM_REC_ABORT) {
            uint32_t code = len >= 4 ? get_le32(buf + 8) : XEND_EBACKEND;
            if (code == 0 || code >= XEND_ERROR_COUNT)
                code = XEND_EBACKEND;
            rc = xend_err_set(err, (int)code, "save failed: %.*s", len >= 4 ? (int)len - 4 : 0,
                              (const char *)buf + 12);
            goto out;
        }
        if ((r = write_all(fd, buf, 8 + len, deadline)) < 0) {
            rc = io_err(err, "writing the saved image", r);
            goto out;
        }
        if (type == SIM_REC_PAGES && len >= 4)
            done += get_le32(buf + 8);
        if (progress != NULL)
            progress(progress_arg, done, done > total ? done : total);
        if (type == SIM_REC_END)
            break;
    }
out:
    free(buf);
    close(sock);
    return rc;
}

/* simhv answered before the stream ended (it refused the image): its error, or EIO. */
static int restore_early_reply(struct sim_ctx *c, int sock, const char *want_id,
                               struct xend_err *err)
{
    char *line = NULL;
    if (read_line(sock, &line, now_ms() + 1000) < 0)
        return xend_err_set(err, XEND_EIO, "xend-simhv dropped the restore");
    struct xend_sxp *rep = NULL;
    char msg[64];
    int rc = -XEND_EIO;
    if (c->sxp->parse(line, strlen(line), NULL, &rep, msg, sizeof(msg)) == 0 &&
        c->sxp->name(rep) != NULL && strcmp(c->sxp->name(rep), "err") == 0 &&
        c->sxp->atom_text(c->sxp->nth(rep, 1)) != NULL &&
        strcmp(c->sxp->atom_text(c->sxp->nth(rep, 1)), want_id) == 0) {
        const char *ct = c->sxp->atom_text(c->sxp->nth(rep, 2));
        const char *m = c->sxp->atom_text(c->sxp->nth(rep, 3));
        int code = ct ? atoi(ct) : XEND_EIO;
        if (code <= 0 || code >= XEND_ERROR_COUNT)
            code = XEND_EIO;
        rc = xend_err_set(err, code, "%s", m ? m : xend_strerror(code));
    } else {
        xend_err_set(err, XEND_EIO, "xend-simhv dropped the restore");
    }
    c->sxp->free(rep);
    free(line);
    return rc;
}

static int sim_restore(void *ctx, int fd, const struct xend_dom_create *args, uint32_t *domid,
                       xend_progress_fn *progress, void *progress_arg, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    uint8_t *buf = malloc(SIM_REC_MAX + 16);
    if (buf == NULL)
        abort();
    int sock = -1, rc = 0;
    char *line = NULL, *text = NULL;
    uint64_t deadline = now_ms() + SIM_STREAM_TIMEOUT_MS;
    int r = recv_exact(fd, buf, 16, deadline);
    if (r < 0) {
        rc = io_err(err, "reading the image", r);
        goto out;
    }
    uint32_t hlen = get_le32(buf + 12);
    if (memcmp(buf, SIM_IMAGE_MAGIC, 8) != 0 || hlen == 0 || hlen > SIM_REC_MAX) {
        rc = xend_err_set(err, XEND_EINVAL, "not a simhv image");
        goto out;
    }
    if ((r = recv_exact(fd, buf + 16, hlen, deadline)) < 0) {
        rc = io_err(err, "reading the image header", r);
        goto out;
    }
    uint64_t total = 0, done = 0;
    struct xend_sxp *h = NULL;
    char msg[64];
    if (c->sxp->parse((const char *)buf + 16, hlen, NULL, &h, msg, sizeof(msg)) == 0) {
        long long p = 0;
        if (c->sxp->child_int(h, "pages", &p) == 0 && p > 0)
            total = (uint64_t)p;
        c->sxp->free(h);
    }

    struct xend_sxp *req = create_req(c, "restore", args);
    char want_id[32];
    snprintf(want_id, sizeof(want_id), "%s", c->sxp->atom_text(c->sxp->nth(req, 1)));
    text = c->sxp->print(req);
    c->sxp->free(req);
    rc = sim_connect(c, false, &sock, err);
    if (rc < 0)
        goto out;
    size_t tlen = strlen(text);
    if ((r = send_all(sock, text, tlen, deadline)) < 0 ||
        (r = send_all(sock, "\n", 1, deadline)) < 0 ||
        (r = send_all(sock, buf, 16 + hlen, deadline)) < 0) {
        rc = restore_early_reply(c, sock, want_id, err);
        goto out;
    }
    for (;;) {
        deadline = now_ms() + SIM_STREAM_TIMEOUT_MS;
        if ((r = recv_exact(fd, buf, 8, deadline)) < 0) {
            rc = io_err(err, "reading the image", r);
            goto out;
        }
        uint32_t type = get_le32(buf), len = get_le32(buf + 4);
        if (len > SIM_REC_MAX) {
            rc = xend_err_set(err, XEND_EINVAL, "image record of %u bytes is too large", len);
            goto out;
        }
        if ((r = recv_exact(fd, buf + 8, len, deadline)) < 0) {
            rc = io_err(err, "reading the image", r);
            goto out;
        }
        /* simhv speaks before the end only to refuse: stop feeding it then. */
        struct pollfd p = {.fd = sock, .events = POLLIN};
        if (poll(&p, 1, 0) > 0 || send_all(sock, buf, 8 + len, deadline) < 0) {
            rc = restore_early_reply(c, sock, want_id, err);
            goto out;
        }
        if (type == SIM_REC_PAGES && len >= 4)
            done += get_le32(buf + 8);
        if (progress != NULL)
            progress(progress_arg, done, done > total ? done : total);
        if (type == SIM_REC_END)
            break;
    }
    if ((r = read_line(sock, &line, now_ms() + SIM_STREAM_TIMEOUT_MS)) < 0) {
        rc = io_err(err, "waiting for xend-simhv to finish the restore", r);
        goto out;
    }
    struct xend_sxp *rep = NULL;
    if (c->sxp->parse(line, strlen(line), NULL, &rep, msg, sizeof(msg)) < 0 ||
        c->sxp->name(rep) == NULL) {
        c->sxp->free(rep);
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to restore");
        goto out;
    }
    if (strcmp(c->sxp->name(rep), "ok") == 0) {
        uint64_t id = 0;
        rc = reply_u64(c, rep, "domid", &id, err);
        *domid = (uint32_t)id;
    } else {
        const char *ct = c->sxp->atom_text(c->sxp->nth(rep, 2));
        const char *m = c->sxp->atom_text(c->sxp->nth(rep, 3));
        int code = ct ? atoi(ct) : XEND_EBACKEND;
        if (code <= 0 || code >= XEND_ERROR_COUNT)
            code = XEND_EBACKEND;
        rc = xend_err_set(err, code, "%s", m ? m : xend_strerror(code));
    }
    c->sxp->free(rep);
out:
    if (sock >= 0)
        close(sock);
    free(line);
    free(text);
    free(buf);
    return rc;
}

static int sim_dirty_begin(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dirty_begin", domid, err);
}

static int sim_dirty_end(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dirty_end", domid, err);
}

static int hexdig(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static int sim_dirty_read(void *ctx, uint32_t domid, uint8_t *bitmap, uint64_t npages,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(
        c, c->sxp->add_kv_int(req_dom(c, "dirty_read", domid), "npages", (long long)npages), &rep,
        err);
    if (rc < 0)
        return rc;
    const char *hex = c->sxp->child_value(rep, "bitmap", "");
    size_t nbytes = (size_t)(npages + 7) / 8;
    if (strlen(hex) != nbytes * 2) {
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a dirty bitmap of the wrong size");
    } else {
        for (size_t i = 0; i < nbytes && rc == 0; i++) {
            int hi = hexdig(hex[2 * i]), lo = hexdig(hex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad dirty bitmap");
            else
                bitmap[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    c->sxp->free(rep);
    return rc;
}

static int sim_mem_checksum(void *ctx, uint32_t domid, uint64_t *sum, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, req_dom(c, "mem_checksum", domid), &rep, err);
    if (rc < 0)
        return rc;
    const char *hex = c->sxp->child_value(rep, "checksum", NULL);
    if (hex == NULL)
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv reply lacks the checksum");
    else
        *sum = strtoull(hex, NULL, 16);
    c->sxp->free(rep);
    return rc;
}

static const struct xend_backend_ops sim_ops = {
    XEND_BACKEND_OPS_INIT,
    .name = "sim",
    /* simhv keeps a domain's console output while no stream is open (simhv/console.h) */
    .flags = XEND_BACKEND_CONSOLE_KEEPS_OUTPUT,
    .priority = 10,
    .probe = sim_probe,
    .open = sim_open,
    .close = sim_close,
    .physinfo = sim_physinfo,
    .dmesg = sim_dmesg,
    .dom_create = sim_dom_create,
    .dom_build = sim_dom_build,
    .dom_pause = sim_dom_pause,
    .dom_unpause = sim_dom_unpause,
    .dom_shutdown = sim_dom_shutdown,
    .dom_destroy = sim_dom_destroy,
    .dom_info = sim_dom_info,
    .dom_list = sim_dom_list,
    .dom_set_maxmem = sim_dom_set_maxmem,
    .dom_set_target = sim_dom_set_target,
    .dom_pin_vcpu = sim_dom_pin_vcpu,
    .sched_set = sim_sched_set,
    .sched_get = sim_sched_get,
    .sched_node_set = sim_sched_node_set,
    .console_open = sim_console_open,
    .notify_fd = sim_notify_fd,
    .notify_ack = sim_notify_ack,
    .dev_attach = sim_dev_attach,
    .dev_detach = sim_dev_detach,
    .save = sim_save,
    .restore = sim_restore,
    .dirty_begin = sim_dirty_begin,
    .dirty_read = sim_dirty_read,
    .dirty_end = sim_dirty_end,
    .mem_checksum = sim_mem_checksum,
    .dom_create_async = sim_dom_create_async,
    .dom_confirm = sim_dom_confirm,
};

/* ---- plugin ---- */

static struct sim_ctx *sim_instance; /* for fini */

static char *join_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir && dir[0] ? dir : ".", name) < 0)
        abort();
    return p;
}

static void sim_free(struct sim_ctx *c)
{
    if (c == NULL)
        return;
    sim_close(c);
    pthread_mutex_destroy(&c->lock);
    free(c->socket_path);
    free(c->simhv_path);
    free(c->log_path);
    free(c->rbuf);
    free(c);
}

static int sim_init(struct xend_plugin *self, const struct xend_host *host)
{
    struct sim_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->self = self;
    c->host = host;
    c->sxp = host->sxp;
    c->fd = -1;
    c->notify_sock = -1;
    atomic_init(&c->next_id, 1);
    pthread_mutex_init(&c->lock, NULL);

    const struct xend_host_config *cfg = host->config;
    struct xend_err err = {0};
    char *dflt_sock = join_path(cfg->dir("state"), "simhv.sock");
    char *dflt_bin = join_path(cfg->dir("bin"), "xend-simhv");
    char *dflt_log = join_path(cfg->dir("state"), "simhv.log");
    const char *sock = NULL, *bin = NULL, *log = NULL;
    int rc;
    if ((rc = cfg->get_str(self, "simhv-socket", dflt_sock, &sock, &err)) < 0 ||
        (rc = cfg->get_str(self, "simhv-path", dflt_bin, &bin, &err)) < 0 ||
        (rc = cfg->get_str(self, "simhv-log", dflt_log, &log, &err)) < 0 ||
        (rc = cfg->get_str(self, "scheduler", "bvt", &c->scheduler, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-cpus", 2, 1, 64, &c->cpus, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-memory", 4096, 64, 1024 * 1024, &c->memory_mb, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-slice-ms", 10, 1, 10000, &c->slice_ms, &err)) < 0 ||
        (rc = cfg->get_int(self, "sim-shutdown-delay-ms", 200, 0, 3600000, &c->delay_ms, &err)) <
            0) {
        host->plugin_err_set(self, "%s", xend_err_msg(&err));
        free(dflt_sock);
        free(dflt_bin);
        free(dflt_log);
        sim_free(c);
        return rc;
    }
    c->socket_path = strdup(sock);
    c->simhv_path = strdup(bin);
    c->log_path = strdup(log);
    free(dflt_sock);
    free(dflt_bin);
    free(dflt_log);
    if (c->socket_path == NULL || c->simhv_path == NULL || c->log_path == NULL)
        abort();
    rc = host->backend->add(self, &sim_ops, c);
    if (rc < 0) {
        host->plugin_err_set(self, "cannot register the sim backend: %s", xend_strerror(rc));
        sim_free(c);
        return rc;
    }
    sim_instance = c;
    return 0;
}

static void sim_fini(struct xend_plugin *self)
{
    (void)self;
    sim_free(sim_instance);
    sim_instance = NULL;
}

XEND_PLUGIN(.name = "hv-sim", .version = "1.0",
            .description = "hypervisor backend for xend-simhv, the simulated hypervisor",
            .license = "GPL-2.0", .init = sim_init, .fini = sim_fini);
