/*
 * The pipelined connection (pipeline.h). Requests wait in a buffer until the loop's next
 * turn, so that the requests of one loop iteration go out together; replies are
 * matched to requests by their order, which is what simhv's protocol promises on one
 * connection.
 */
#include "pipeline.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PIPE_CHECK_MS 1000
#define PIPE_READ_CHUNK 65536

struct pending {
    sim_pipeline_fn *fn;
    void *arg;
    uint64_t sent_ms;
    struct pending *next;
};

struct sim_pipeline {
    struct xend_plugin *self;
    const struct xend_host *host;
    sim_pipeline_dial_fn *dial;
    void *dial_ctx;
    uint64_t timeout_ms;

    int fd; /* -1 while not connected */
    struct xend_watch *watch;
    struct xend_timer *timer;       /* deadline checks while connected */
    struct xend_timer *flush_timer; /* one-shot, 0 ms: write what this loop turn queued */
    uint32_t events;

    char *out; /* owned: bytes not yet written, from out_off */
    size_t out_off, out_len, out_cap;
    char *in; /* owned: an incomplete reply line */
    size_t in_len, in_cap;

    struct pending *head, *tail; /* owned */
    size_t in_flight;
    bool failed; /* sim_pipeline_fail: break once the dispatch is over */
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL)
        abort(); /* the ABI's out-of-memory policy */
    return q;
}

static void reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    *buf = xrealloc(*buf, n);
    *cap = n;
}

static void set_events(struct sim_pipeline *p, uint32_t events)
{
    if (p->events != events) {
        p->host->loop->watch_set(p->watch, events);
        p->events = events;
    }
}

/* Drop the connection; every request in flight ends with rc and why, in order. */
static void pipe_break(struct sim_pipeline *p, int rc, const char *why)
{
    struct pending *list = p->head;
    p->head = p->tail = NULL;
    p->in_flight = 0;
    p->host->loop->watch_remove(p->watch);
    p->watch = NULL;
    p->host->loop->timer_remove(p->timer);
    p->timer = NULL;
    p->host->loop->timer_remove(p->flush_timer);
    p->flush_timer = NULL;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->out_off = p->out_len = 0;
    p->in_len = 0;
    p->failed = false;
    /* The state is clean before any callback runs: one may send again (and reconnect). */
    while (list != NULL) {
        struct pending *next = list->next;
        list->fn(list->arg, rc, NULL, 0, why);
        free(list);
        list = next;
    }
}

/* Write what the socket takes. 0, or a negative errno for a broken connection. */
static int flush_out(struct sim_pipeline *p)
{
    while (p->out_off < p->out_len) {
        ssize_t n =
            send(p->fd, p->out + p->out_off, p->out_len - p->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            p->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return n < 0 ? -errno : -EPIPE;
    }
    if (p->out_off == p->out_len)
        p->out_off = p->out_len = 0;
    set_events(p, XEND_WATCH_READ | (p->out_len ? XEND_WATCH_WRITE : 0));
    return 0;
}

/* Hand out every complete line in p->in, in order. */
static int dispatch_lines(struct sim_pipeline *p)
{
    size_t start = 0;
    while (!p->failed) {
        char *nl = memchr(p->in + start, '\n', p->in_len - start);
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - (p->in + start));
        struct pending *q = p->head;
        if (q == NULL)
            return -EPROTO; /* simhv speaks on this connection only to answer */
        p->head = q->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->in_flight--;
        q->fn(q->arg, 0, p->in + start, len, NULL);
        free(q);
        start += len + 1;
    }
    memmove(p->in, p->in + start, p->in_len - start);
    p->in_len -= start;
    return 0;
}

static void pipe_ready(int fd, uint32_t events, void *arg)
{
    struct sim_pipeline *p = arg;
    if (events & XEND_WATCH_READ) {
        int lost = 0; /* why the connection ended (-1: closed), told once the answers are out */
        for (;;) {
            reserve(&p->in, &p->in_cap, p->in_len + PIPE_READ_CHUNK);
            ssize_t n = recv(fd, p->in + p->in_len, p->in_cap - p->in_len, MSG_DONTWAIT);
            if (n > 0) {
                p->in_len += (size_t)n;
                if ((size_t)n < PIPE_READ_CHUNK)
                    break;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            lost = n == 0 ? -1 : errno;
            break;
        }
        /* Answers that came before a hang-up still count (simhv answers, then stops). */
        if (dispatch_lines(p) < 0) {
            pipe_break(p, -EPROTO, "a reply nobody asked for");
            return;
        }
        if (p->failed) {
            pipe_break(p, -EPROTO, "answers out of step");
            return;
        }
        if (lost != 0) {
            pipe_break(p, -EPIPE, lost < 0 ? "connection closed" : strerror(lost));
            return;
        }
    }
    /* The requests sent since the last time (some perhaps by the callbacks just run). */
    int rc = p->out_len ? flush_out(p) : 0;
    if (rc < 0)
        pipe_break(p, rc, strerror(-rc));
}

static void pipe_flush_due(void *arg)
{
    struct sim_pipeline *p = arg;
    p->flush_timer = NULL; /* a fired one-shot timer is the core's to free */
    int rc = p->out_len ? flush_out(p) : 0;
    if (rc < 0)
        pipe_break(p, rc, strerror(-rc));
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pipe_check(void *arg)
{
    struct sim_pipeline *p = arg;
    if (p->head != NULL && now_ms() - p->head->sent_ms > p->timeout_ms)
        pipe_break(p, -ETIMEDOUT, "no answer in time");
}

static int pipe_connect(struct sim_pipeline *p)
{
    int fd = -1;
    int rc = p->dial(p->dial_ctx, &fd);
    if (rc < 0)
        return rc;
    p->fd = fd;
    p->events = XEND_WATCH_READ;
    p->watch = p->host->loop->watch_add(p->self, fd, XEND_WATCH_READ, pipe_ready, p);
    p->timer = p->host->loop->timer_add(p->self, PIPE_CHECK_MS, true, pipe_check, p);
    if (p->watch == NULL || p->timer == NULL) {
        pipe_break(p, -ENOMEM, "cannot watch the connection");
        return -ENOMEM;
    }
    return 0;
}

struct sim_pipeline *sim_pipeline_new(struct xend_plugin *self, const struct xend_host *host,
                                      sim_pipeline_dial_fn *dial, void *dial_ctx,
                                      uint64_t reply_timeout_ms)
{
    struct sim_pipeline *p = calloc(1, sizeof(*p));
    if (p == NULL)
        abort();
    p->self = self;
    p->host = host;
    p->dial = dial;
    p->dial_ctx = dial_ctx;
    p->timeout_ms = reply_timeout_ms;
    p->fd = -1;
    return p;
}

int sim_pipeline_send(struct sim_pipeline *p, const char *text, size_t len, sim_pipeline_fn *fn,
                      void *arg)
{
    if (p->fd < 0) {
        int rc = pipe_connect(p);
        if (rc < 0)
            return rc;
    }
    reserve(&p->out, &p->out_cap, p->out_len + len);
    memcpy(p->out + p->out_len, text, len);
    p->out_len += len;
    struct pending *q = calloc(1, sizeof(*q));
    if (q == NULL)
        abort();
    q->fn = fn;
    q->arg = arg;
    q->sent_ms = now_ms();
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    p->in_flight++;
    /* Written on the loop's next turn, together with whatever else this turn sends: one
     * write, and one wake-up of simhv, for a burst. A 0 ms timer costs no system call,
     * where watching the socket for writability cost two epoll_ctl per burst. */
    if (p->flush_timer == NULL && !(p->events & XEND_WATCH_WRITE)) {
        p->flush_timer = p->host->loop->timer_add(p->self, 0, false, pipe_flush_due, p);
        if (p->flush_timer == NULL)
            set_events(p, XEND_WATCH_READ | XEND_WATCH_WRITE); /* the slower way */
    }
    return 0;
}

int sim_pipeline_flush(struct sim_pipeline *p, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (p->fd >= 0 && p->out_len > 0) {
        int rc = flush_out(p);
        if (rc < 0)
            return rc; /* the read side will see the break and end the requests */
        if (p->out_len == 0)
            break;
        uint64_t now = now_ms();
        if (now >= end)
            return -ETIMEDOUT;
        struct pollfd pf = {.fd = p->fd, .events = POLLOUT};
        poll(&pf, 1, (int)(end - now));
    }
    return p->fd >= 0 ? 0 : -EPIPE;
}

void sim_pipeline_fail(struct sim_pipeline *p)
{
    p->failed = true;
}

size_t sim_pipeline_in_flight(const struct sim_pipeline *p)
{
    return p->in_flight;
}

void sim_pipeline_free(struct sim_pipeline *p)
{
    if (p == NULL)
        return;
    pipe_break(p, -ECANCELED, "xend is closing the backend");
    free(p->out);
    free(p->in);
    free(p);
}
