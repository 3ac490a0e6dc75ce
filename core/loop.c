/*
 * The event loop and its services (see event_loop.h). Must never block: children are reaped on
 * SIGCHLD, workers report through an eventfd, and ops finish on a later loop turn.
 */
#include "event_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "clock.h"
#include "log/log.h"
#include "owner.h"

#define SPAWN_OUTPUT_MAX ((size_t)64 * 1024)
#define LOOP_BATCH 16 /* callbacks between two polls, below the top priority */

/*
 * A watch is two libevent events on the fd, one per direction (the write one made when
 * first wanted), kept for the watch's life: changing what is watched adds or deletes one
 * of them, which libevent's epoll backend turns into one EPOLL_CTL_MOD, where one event
 * for both directions had to be deleted and added again (two syscalls and a malloc each
 * time). Both may fire in one loop turn: fn is then called once per direction.
 */
struct xend_watch {
    struct xend_watch *prev, *next; /* L.watches: found by owner when a plugin goes */
    struct xend_plugin *owner;
    struct event *rd, *wr;
    int fd;
    uint32_t events;
    xend_watch_fn *fn;
    void *arg;
};

struct xend_timer {
    struct xend_timer *prev, *next; /* L.timers */
    struct xend_plugin *owner;
    struct event *ev;
    xend_timer_fn *fn;
    void *arg;
    bool repeat;
    bool firing, removed; /* timer_remove from inside its own callback */
};

struct child {
    struct child *next;
    struct xend_plugin *owner;
    pid_t pid;
    int fd;
    struct event *rev;
    struct event *timeout;
    struct xend_buf out;
    bool eof, exited, timed_out;
    int status;
    xend_spawn_fn *done; /* NULL once its plugin went: the result is dropped */
    void *arg;
};

struct posted {
    struct posted *next;
    struct xend_plugin *owner;
    xend_work_fn *fn; /* NULL once its plugin went */
    void *arg;
};

struct work {
    struct work *next;
    struct xend_plugin *owner;
    xend_work_fn *work, *done;
    void *arg;
};

struct xend_op {
    char what[64];
    struct event *deadline;
    xend_op_done_fn *done;
    void *arg;
    struct xend_err err;
    bool completed; /* by the plugin */
    bool delivered; /* done() called */
    int rc;
};

static struct {
    struct event_base *base;
    struct child *children;
    struct xend_watch *watches;
    struct xend_timer *timers;
    struct event *sigchld, *sigterm, *sigint, *sighup;
    void (*on_hup)(void);
    /* posting from any thread */
    pthread_mutex_t post_lock;
    struct posted *post_head, **post_tail;
    int post_fd;
    struct event *post_ev;
    /* workers */
    pthread_t *threads;
    unsigned nthreads;
    pthread_mutex_t work_lock;
    pthread_cond_t work_cond;
    struct work *work_head, **work_tail;
    struct xend_plugin **running; /* per worker: the owner of the job it runs (work_lock) */
    bool *busy;                   /* per worker: running a job (work_lock) */
    pthread_cond_t work_idle;     /* a worker finished a job */
    bool stopping;
    unsigned work_inflight; /* submitted, done not yet run (loop thread only) */
} L = {.post_lock = PTHREAD_MUTEX_INITIALIZER,
       .work_lock = PTHREAD_MUTEX_INITIALIZER,
       .work_cond = PTHREAD_COND_INITIALIZER,
       .work_idle = PTHREAD_COND_INITIALIZER};

uint64_t xend_loop_now_ms(void)
{
    return xend_clock_ns() / 1000000u;
}

double xend_loop_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timeval ms_tv(uint64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/*
 * Arm ev to fire ms from now. libevent measures a timeout from the time it cached when the
 * loop last woke; a callback that blocked for long before arming (a hypervisor backend
 * waiting on its devices, seconds under emulation) would otherwise get a deadline already
 * in the past, and a script's 30 s timeout would fire at once.
 */
static void arm_in(struct event *ev, uint64_t ms)
{
    event_base_update_cache_time(L.base);
    struct timeval tv = ms_tv(ms);
    event_add(ev, &tv);
}

/* ---- posting ---- */

static void post_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        xend_log_warn("loop post read failed", "error=\"%s\"", strerror(errno));
    pthread_mutex_lock(&L.post_lock);
    struct posted *p = L.post_head;
    L.post_head = NULL;
    L.post_tail = &L.post_head;
    pthread_mutex_unlock(&L.post_lock);
    while (p) {
        struct posted *next = p->next;
        if (p->fn) {
            struct xend_plugin *prev = xend_owner_enter(p->owner);
            p->fn(p->arg);
            xend_owner_leave(prev);
        }
        free(p);
        p = next;
    }
}

static int post_owned(struct xend_plugin *owner, xend_work_fn *fn, void *arg)
{
    struct posted *p = xend_xcalloc(1, sizeof(*p));
    p->owner = owner;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&L.post_lock);
    bool was_empty = L.post_head == NULL;
    *L.post_tail = p;
    L.post_tail = &p->next;
    pthread_mutex_unlock(&L.post_lock);
    if (was_empty) {
        uint64_t one = 1;
        if (write(L.post_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            return -XEND_EIO;
    }
    return 0;
}

int xend_loop_post(xend_work_fn *fn, void *arg)
{
    return post_owned(NULL, fn, arg);
}

/* A plugin's post: host->loop->post takes no self, so the owner is whoever's code runs on
 * this thread (owner.h); a core call (an op completed) stays the core's. */
static int host_post(xend_work_fn *fn, void *arg)
{
    return post_owned(xend_owner_current(), fn, arg);
}

/* ---- workers ---- */

struct work_done {
    xend_work_fn *done; /* NULL once its plugin went */
    void *arg;
};

static void work_finished(void *arg)
{
    struct work_done *wd = arg;
    L.work_inflight--;
    if (wd->done)
        wd->done(wd->arg);
    free(wd);
}

static void *worker_main(void *arg)
{
    size_t me = (size_t)(uintptr_t)arg;
    for (;;) {
        pthread_mutex_lock(&L.work_lock);
        while (L.work_head == NULL && !L.stopping)
            pthread_cond_wait(&L.work_cond, &L.work_lock);
        if (L.work_head == NULL) {
            pthread_mutex_unlock(&L.work_lock);
            return NULL;
        }
        struct work *w = L.work_head;
        L.work_head = w->next;
        if (L.work_head == NULL)
            L.work_tail = &L.work_head;
        L.running[me] = w->owner;
        L.busy[me] = true;
        pthread_mutex_unlock(&L.work_lock);
        struct xend_plugin *prev = xend_owner_enter(w->owner);
        w->work(w->arg);
        xend_owner_leave(prev);
        struct work_done *wd = xend_xcalloc(1, sizeof(*wd));
        wd->done = w->done;
        wd->arg = w->arg;
        post_owned(w->owner, work_finished, wd);
        pthread_mutex_lock(&L.work_lock);
        L.running[me] = NULL;
        L.busy[me] = false;
        pthread_cond_broadcast(&L.work_idle);
        pthread_mutex_unlock(&L.work_lock);
        free(w);
    }
}

static int work_owned(struct xend_plugin *owner, xend_work_fn *work, xend_work_fn *done, void *arg)
{
    struct work *w = xend_xcalloc(1, sizeof(*w));
    w->owner = owner;
    w->work = work;
    w->done = done;
    w->arg = arg;
    L.work_inflight++;
    pthread_mutex_lock(&L.work_lock);
    *L.work_tail = w;
    L.work_tail = &w->next;
    pthread_cond_signal(&L.work_cond);
    pthread_mutex_unlock(&L.work_lock);
    return 0;
}

int xend_loop_work(xend_work_fn *work, xend_work_fn *done, void *arg)
{
    return work_owned(NULL, work, done, arg);
}

/* ---- watches and timers ---- */

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xend_watch *w = arg;
    uint32_t ev = 0;
    if (what & EV_READ)
        ev |= XEND_WATCH_READ;
    if (what & EV_WRITE)
        ev |= XEND_WATCH_WRITE;
    struct xend_plugin *prev = xend_owner_enter(w->owner);
    w->fn((int)fd, ev, w->arg);
    xend_owner_leave(prev);
}

/* Make libevent watch what w->events says, touching only the direction that changed. */
static void watch_apply(struct xend_watch *w, uint32_t old)
{
    uint32_t changed = old ^ w->events;
    if (changed & XEND_WATCH_READ) {
        if (w->events & XEND_WATCH_READ)
            event_add(w->rd, NULL);
        else
            event_del(w->rd);
    }
    if (changed & XEND_WATCH_WRITE) {
        if (!(w->events & XEND_WATCH_WRITE)) {
            event_del(w->wr);
        } else {
            /* Made on first use: most watches (listeners) never write, and a domain has a
             * few of them. */
            if (w->wr == NULL)
                w->wr = event_new(L.base, w->fd, EV_WRITE | EV_PERSIST, watch_cb, w);
            if (w->wr == NULL)
                abort(); /* libevent's allocation: the OOM policy */
            event_add(w->wr, NULL);
        }
    }
}

static struct xend_watch *watch_add(struct xend_plugin *self, int fd, uint32_t events,
                                    xend_watch_fn *fn, void *arg)
{
    struct xend_watch *w = xend_xcalloc(1, sizeof(*w));
    w->owner = self;
    w->next = L.watches;
    if (L.watches)
        L.watches->prev = w;
    L.watches = w;
    w->fd = fd;
    w->fn = fn;
    w->arg = arg;
    w->rd = event_new(L.base, fd, EV_READ | EV_PERSIST, watch_cb, w);
    if (w->rd == NULL)
        abort(); /* libevent's allocation: the OOM policy */
    w->events = events & (XEND_WATCH_READ | XEND_WATCH_WRITE);
    watch_apply(w, 0);
    return w;
}

static void watch_set(struct xend_watch *w, uint32_t events)
{
    uint32_t old = w->events;
    w->events = events & (XEND_WATCH_READ | XEND_WATCH_WRITE);
    if (w->events != old)
        watch_apply(w, old);
}

static void watch_remove(struct xend_watch *w)
{
    if (w == NULL)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        L.watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    event_free(w->rd); /* event_free deletes a pending or active event first */
    if (w->wr != NULL)
        event_free(w->wr);
    free(w);
}

static void timer_free(struct xend_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        L.timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    event_del(t->ev);
    event_free(t->ev);
    free(t);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xend_timer *t = arg;
    t->firing = true;
    struct xend_plugin *prev = xend_owner_enter(t->owner);
    t->fn(t->arg);
    xend_owner_leave(prev);
    t->firing = false;
    /* A one-shot timer is done once it fired (event_loop.h); a removed one too. */
    if (!t->repeat || t->removed)
        timer_free(t);
}

static struct xend_timer *timer_add(struct xend_plugin *self, uint64_t ms, bool repeat,
                                    xend_timer_fn *fn, void *arg)
{
    struct xend_timer *t = xend_xcalloc(1, sizeof(*t));
    t->owner = self;
    t->next = L.timers;
    if (L.timers)
        L.timers->prev = t;
    L.timers = t;
    t->fn = fn;
    t->arg = arg;
    t->repeat = repeat;
    t->ev = event_new(L.base, -1, repeat ? EV_PERSIST : 0, timer_cb, t);
    arm_in(t->ev, ms);
    return t;
}

static void timer_remove(struct xend_timer *t)
{
    if (t == NULL)
        return;
    if (t->firing) {
        t->removed = true; /* freed when its callback returns */
        t->owner = NULL;   /* and no longer the plugin's to answer for */
    } else {
        timer_free(t);
    }
}

/* ---- children ---- */

static void child_finish_if_done(struct child *c)
{
    if (!c->eof || !c->exited)
        return;
    for (struct child **pp = &L.children; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    struct xend_spawn_result res = {
        .size = sizeof(res),
        .status = c->status,
        .timed_out = c->timed_out,
        .output = xend_buf_str(&c->out),
        .output_len = c->out.len,
    };
    if (c->done) {
        struct xend_plugin *prev = xend_owner_enter(c->owner);
        c->done(&res, c->arg);
        xend_owner_leave(prev);
    }
    if (c->rev)
        event_free(c->rev);
    if (c->timeout)
        event_free(c->timeout);
    if (c->fd >= 0)
        close(c->fd);
    xend_buf_free(&c->out);
    free(c);
}

static void child_close_pipe(struct child *c)
{
    c->eof = true;
    if (c->rev) {
        event_del(c->rev);
    }
}

static void child_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct child *c = arg;
    char buf[4096];
    for (;;) {
        ssize_t n = read((int)fd, buf, sizeof(buf));
        if (n > 0) {
            size_t keep = c->out.len < SPAWN_OUTPUT_MAX ? SPAWN_OUTPUT_MAX - c->out.len : 0;
            xend_buf_append(&c->out, buf, (size_t)n < keep ? (size_t)n : keep);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        child_close_pipe(c);
        child_finish_if_done(c);
        return;
    }
}

static void child_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct child *c = arg;
    c->timed_out = true;
    kill(c->pid, SIGKILL);
    /* A grandchild may still hold the pipe open; the result must not wait for it. */
    child_close_pipe(c);
    child_finish_if_done(c);
}

/*
 * Reap the children that ended. A finished child's callback may spawn, and spawn calls this
 * again (a child may end before SIGCHLD is armed for it), which may finish and free any
 * other child: so after each finish the walk starts over instead of following a pointer it
 * read before. Each child is finished once, so that costs a few walks of a short list.
 */
static void sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    bool again = true;
    while (again) {
        again = false;
        for (struct child *c = L.children; c; c = c->next) {
            if (c->exited)
                continue;
            int status;
            if (waitpid(c->pid, &status, WNOHANG) != c->pid)
                continue;
            c->exited = true;
            c->status = status;
            if (c->eof) {
                child_finish_if_done(c);
                again = true;
                break;
            }
        }
    }
}

static int spawn(struct xend_plugin *self, const char *const *argv, const char *const *envp,
                 uint64_t timeout_ms, xend_spawn_fn *done, void *arg)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return -XEND_EIO;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -XEND_EIO;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        int fl = fcntl(1, F_GETFL);
        fcntl(1, F_SETFL, fl & ~O_NONBLOCK);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (envp)
            execve(argv[0], (char *const *)argv, (char *const *)envp);
        else
            execv(argv[0], (char *const *)argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    struct child *c = xend_xcalloc(1, sizeof(*c));
    c->owner = self;
    c->pid = pid;
    c->fd = p[0];
    c->done = done;
    c->arg = arg;
    c->rev = event_new(L.base, c->fd, EV_READ | EV_PERSIST, child_read, c);
    event_add(c->rev, NULL);
    c->timeout = evtimer_new(L.base, child_timeout, c);
    arm_in(c->timeout, timeout_ms);
    c->next = L.children;
    L.children = c;
    xend_log_debug("spawn", "plugin=%s pid=%d prog=%s", xend_plugin_name(self), (int)pid, argv[0]);
    /* The child may already have exited before the SIGCHLD event was armed for it. */
    sigchld_cb(SIGCHLD, 0, NULL);
    return 0;
}

/* ---- ops ---- */

static void op_maybe_free(struct xend_op *op)
{
    if (op->completed && op->delivered) {
        if (op->deadline)
            event_free(op->deadline);
        free(op);
    }
}

static void op_deliver(void *arg)
{
    struct xend_op *op = arg;
    if (!op->delivered) {
        op->delivered = true;
        if (op->deadline)
            event_del(op->deadline);
        op->done(op->rc, &op->err, op->arg);
    }
    op_maybe_free(op);
}

static void op_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xend_op *op = arg;
    if (op->delivered)
        return;
    op->delivered = true;
    struct xend_err err = {0};
    xend_err_set(&err, XEND_ETIMEDOUT, "%s timed out", op->what);
    xend_log_warn("operation timed out", "what=\"%s\"", op->what);
    op->done(-XEND_ETIMEDOUT, &err, op->arg);
    /* The op lives on until the plugin completes it (it still holds the pointer). */
}

struct xend_op *xend_op_new(const char *what, uint64_t timeout_ms, xend_op_done_fn *done, void *arg)
{
    struct xend_op *op = xend_xcalloc(1, sizeof(*op));
    snprintf(op->what, sizeof(op->what), "%s", what);
    op->done = done;
    op->arg = arg;
    if (timeout_ms) {
        op->deadline = evtimer_new(L.base, op_deadline, op);
        arm_in(op->deadline, timeout_ms);
    }
    return op;
}

void xend_op_complete(struct xend_op *op, int rc)
{
    if (op->completed)
        return; /* completing twice is a plugin bug; the first one counts */
    op->completed = true;
    op->rc = rc > 0 ? -rc : rc;
    if (op->rc < 0 && op->err.code == 0)
        xend_err_set(&op->err, -op->rc, NULL);
    if (op->delivered) {
        op_maybe_free(op);
        return;
    }
    xend_loop_post(op_deliver, op);
}

struct xend_err *xend_op_err(struct xend_op *op)
{
    return &op->err;
}

/* ---- signals and lifetime ---- */

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    xend_log_notice("signal", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
    event_base_loopbreak(L.base);
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    if (L.on_hup)
        L.on_hup();
}

void xend_loop_on_signals(void (*on_hup)(void))
{
    L.on_hup = on_hup;
    L.sigterm = evsignal_new(L.base, SIGTERM, stop_cb, NULL);
    L.sigint = evsignal_new(L.base, SIGINT, stop_cb, NULL);
    L.sighup = evsignal_new(L.base, SIGHUP, hup_cb, NULL);
    event_add(L.sigterm, NULL);
    event_add(L.sigint, NULL);
    event_add(L.sighup, NULL);
}

int xend_loop_init(unsigned workers, struct xend_err *err)
{
    signal(SIGPIPE, SIG_IGN);
    /* After LOOP_BATCH callbacks of the middle priority or below the loop polls again, so
     * that a completion posted meanwhile (top priority, below) waits for at most that many
     * clients, not for every client the last poll found ready (docs/http.md "Priority"). */
    struct event_config *cfg = event_config_new();
    if (cfg != NULL)
        event_config_set_max_dispatch_interval(cfg, NULL, LOOP_BATCH, 1);
    L.base = cfg != NULL ? event_base_new_with_config(cfg) : NULL;
    if (cfg != NULL)
        event_config_free(cfg);
    if (L.base == NULL)
        return xend_err_set(err, XEND_EIO, "cannot create the event loop");
    /* Three priorities, every event at the middle one (libevent's default, n/2), so that
     * the HTTP server's bulk lane can sit below them all and the completions posted by
     * other threads above them. */
    event_base_priority_init(L.base, 3);
    /* A loop made again after xend_loop_free (the unit tests do) starts afresh: a stale
     * `stopping` sent new workers home before they took any work. */
    L.stopping = false;
    L.post_head = NULL;
    L.work_head = NULL;
    L.post_tail = &L.post_head;
    L.work_tail = &L.work_head;
    L.post_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (L.post_fd < 0)
        return xend_err_set(err, XEND_EIO, "eventfd: %s", strerror(errno));
    L.post_ev = event_new(L.base, L.post_fd, EV_READ | EV_PERSIST, post_drain, NULL);
    /* A completion (a store write durable, a worker's result) finishes a request that is
     * already in xend: it goes before new requests. It cannot starve them: threads post
     * at most once per finished piece of work, and a drain takes everything posted. */
    event_priority_set(L.post_ev, 0);
    event_add(L.post_ev, NULL);
    L.sigchld = evsignal_new(L.base, SIGCHLD, sigchld_cb, NULL);
    event_add(L.sigchld, NULL);
    L.nthreads = workers ? workers : 1;
    L.threads = xend_xcalloc(L.nthreads, sizeof(*L.threads));
    L.running = xend_xcalloc(L.nthreads, sizeof(*L.running));
    L.busy = xend_xcalloc(L.nthreads, sizeof(*L.busy));
    for (unsigned i = 0; i < L.nthreads; i++)
        /* NOLINTNEXTLINE(performance-no-int-to-ptr): the worker's index, never dereferenced */
        pthread_create(&L.threads[i], NULL, worker_main, (void *)(uintptr_t)i);
    return 0;
}

struct event_base *xend_loop_base(void)
{
    return L.base;
}

void xend_loop_run(void)
{
    event_base_dispatch(L.base);
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static bool posts_pending(void)
{
    pthread_mutex_lock(&L.post_lock);
    bool pending = L.post_head != NULL;
    pthread_mutex_unlock(&L.post_lock);
    return pending;
}

/* What a drain waits for. A child's exit or a worker's end posts the completion that
 * carries its caller on (a script's result goes on with the create that ran it): the drain
 * must run that too, and whatever it started elsewhere (busy: the store's writes). */
static bool drain_pending(bool (*busy)(void *arg), void *arg)
{
    return L.work_inflight > 0 || L.children != NULL || posts_pending() ||
           (busy != NULL && busy(arg));
}

void xend_loop_drain(uint64_t timeout_ms, bool (*busy)(void *arg), void *arg)
{
    uint64_t end = xend_loop_now_ms() + timeout_ms;
    struct event *tick = event_new(L.base, -1, EV_PERSIST, drain_tick, NULL);
    struct timeval tv = ms_tv(50);
    event_add(tick, &tv);
    while (drain_pending(busy, arg) && xend_loop_now_ms() < end)
        event_base_loop(L.base, EVLOOP_ONCE);
    event_free(tick);
    if (drain_pending(busy, arg))
        xend_log_warn("stopping with work in flight", "workers=%u children=%s other=%s",
                      L.work_inflight, L.children ? "yes" : "no",
                      posts_pending() || (busy != NULL && busy(arg)) ? "yes" : "no");
}

void xend_loop_stop(void)
{
    event_base_loopbreak(L.base);
}

void xend_loop_free(void)
{
    pthread_mutex_lock(&L.work_lock);
    L.stopping = true;
    pthread_cond_broadcast(&L.work_cond);
    pthread_mutex_unlock(&L.work_lock);
    for (unsigned i = 0; i < L.nthreads; i++)
        pthread_join(L.threads[i], NULL);
    free(L.threads);
    free(L.running);
    free(L.busy);
    L.running = NULL;
    L.busy = NULL;
    /* Work finished by the workers posted completions; run them so nothing leaks. */
    post_drain(L.post_fd, 0, NULL);
    while (L.children) {
        struct child *c = L.children;
        L.children = c->next;
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        if (c->rev)
            event_free(c->rev);
        if (c->timeout)
            event_free(c->timeout);
        close(c->fd);
        xend_buf_free(&c->out);
        free(c);
    }
    struct event *evs[] = {L.post_ev, L.sigchld, L.sigterm, L.sigint, L.sighup};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    close(L.post_fd);
    event_base_free(L.base);
    L.base = NULL;
}

static int host_work_submit(struct xend_plugin *self, xend_work_fn *work, xend_work_fn *done,
                            void *arg)
{
    return work_owned(self, work, done, arg);
}

/* True while a worker runs a job of owner (work_lock held). */
static bool owner_job_running(const struct xend_plugin *owner)
{
    for (unsigned i = 0; i < L.nthreads; i++)
        if (L.busy[i] && L.running[i] == owner)
            return true;
    return false;
}

void xend_loop_remove_owner(struct xend_plugin *owner)
{
    if (owner == NULL || L.base == NULL)
        return; /* the core's own registrations are the core's to remove */
    size_t watches = 0, timers = 0, children = 0, jobs = 0, posts = 0;
    for (struct xend_watch *w = L.watches, *next; w; w = next) {
        next = w->next;
        if (w->owner == owner) {
            watch_remove(w);
            watches++;
        }
    }
    for (struct xend_timer *t = L.timers, *next; t; t = next) {
        next = t->next;
        if (t->owner == owner) {
            timer_remove(t);
            timers++;
        }
    }
    /* A child runs on, but its result must not reach code that is going away. */
    for (struct child *c = L.children; c; c = c->next) {
        if (c->owner == owner && c->done != NULL) {
            if (!c->exited)
                kill(c->pid, SIGKILL);
            c->done = NULL;
            children++;
        }
    }
    /* Queued jobs never start; one running is waited for (the loop blocks, but this only
     * happens when a plugin fails its init or is stopped), since its code is about to be
     * unmapped. */
    pthread_mutex_lock(&L.work_lock);
    for (struct work **pp = &L.work_head; *pp;) {
        struct work *w = *pp;
        if (w->owner == owner) {
            *pp = w->next;
            free(w);
            L.work_inflight--;
            jobs++;
        } else {
            pp = &w->next;
        }
    }
    L.work_tail = &L.work_head;
    while (*L.work_tail)
        L.work_tail = &(*L.work_tail)->next;
    while (owner_job_running(owner))
        pthread_cond_wait(&L.work_idle, &L.work_lock);
    pthread_mutex_unlock(&L.work_lock);
    /* Posted calls into it, a finished job's done among them, are dropped. */
    pthread_mutex_lock(&L.post_lock);
    for (struct posted *p = L.post_head; p; p = p->next) {
        if (p->owner != owner || p->fn == NULL)
            continue;
        if (p->fn == work_finished)
            ((struct work_done *)p->arg)->done = NULL; /* it still counts the job as done */
        else
            p->fn = NULL;
        posts++;
    }
    pthread_mutex_unlock(&L.post_lock);
    if (watches + timers + children + jobs + posts > 0)
        xend_log_notice("plugin loop registrations removed",
                        "plugin=%s watches=%zu timers=%zu children=%zu jobs=%zu posts=%zu",
                        xend_plugin_name(owner), watches, timers, children, jobs, posts);
}

static const struct xend_host_loop loop_table = {
    .size = sizeof(struct xend_host_loop),
    .watch_add = watch_add,
    .watch_set = watch_set,
    .watch_remove = watch_remove,
    .timer_add = timer_add,
    .timer_remove = timer_remove,
    .spawn = spawn,
    .work_submit = host_work_submit,
    .post = host_post,
    .op_err = xend_op_err,
    .op_complete = xend_op_complete,
    .now_ms = xend_loop_now_ms,
    .wall_time = xend_loop_wall_time,
};

const struct xend_host_loop *xend_loop_host_table(void)
{
    return &loop_table;
}
