/*
 * The accept guard (listen_guard.h): one reserve descriptor and a back-off timer per
 * guarded listener.
 */
#include "http/listen_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "log/log.h"

#define GUARD_MAX 8
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
/* A shortage this soon after resuming means descriptors are still short: back off
 * longer. Later, accepts succeeded in between (closes libevent had deferred to the next
 * loop turn came through): start over at the minimum. */
#define PERSIST_NS (20ull * 1000 * 1000)
#define CALM_NS (2000ull * 1000 * 1000) /* for the log: a new episode */
/* Accepts per loop turn: libevent's listener accepts until the backlog is empty, and a
 * connection closed in the meantime frees its descriptor only on the next turn. */
#define ACCEPT_BURST 32
#define LOG_EVERY_NS (10000ull * 1000 * 1000)

struct guard {
    struct evconnlistener *l;
    const char *what, *refusal;
    struct event *resume;
    unsigned backoff_ms;
    uint64_t last_shortage_ns, last_log_ns, resumed_ns;
    unsigned accepted; /* this turn */
    unsigned long refused_since_log;
    int last_errno;
};

static struct guard guards[GUARD_MAX];
static int reserve = -1;
static unsigned long shortages;

static void reserve_open(void)
{
    if (reserve < 0)
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct guard *g = arg;
    reserve_open();
    g->accepted = 0;
    g->resumed_ns = xend_clock_ns();
    evconnlistener_enable(g->l);
}

/* Use the reserve to take one pending connection off the backlog and answer it. */
static void refuse_one(struct guard *g)
{
    if (reserve < 0)
        return;
    close(reserve);
    reserve = -1;
    int fd = accept4(evconnlistener_get_fd(g->l), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        if (g->refusal != NULL) {
            /* Best effort: a fresh socket's send buffer takes a short reply whole. */
            ssize_t w = send(fd, g->refusal, strlen(g->refusal), MSG_NOSIGNAL);
            (void)w;
        }
        close(fd);
        g->refused_since_log++;
    }
    reserve_open();
}

static void error_cb(struct evconnlistener *l, void *ptr)
{
    (void)ptr;
    int e = errno;
    struct guard *g = NULL;
    for (int i = 0; i < GUARD_MAX; i++)
        if (guards[i].l == l)
            g = &guards[i];
    if (g == NULL)
        return;
    if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
        xend_log_warn("accept failed", "listener=%s error=\"%s\"", g->what, strerror(e));
        return;
    }
    shortages++;
    uint64_t now = xend_clock_ns();
    if (g->backoff_ms == 0 || now - g->resumed_ns > PERSIST_NS)
        g->backoff_ms = BACKOFF_MIN_MS;
    else if (g->backoff_ms < BACKOFF_MAX_MS)
        g->backoff_ms = g->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : g->backoff_ms * 2;
    bool new_episode = g->last_shortage_ns == 0 || now - g->last_shortage_ns > CALM_NS;
    g->last_shortage_ns = now;
    refuse_one(g);
    if (new_episode || e != g->last_errno || now - g->last_log_ns > LOG_EVERY_NS) {
        xend_log_warn("accept paused", "listener=%s error=\"%s\" backoff_ms=%u refused=%lu",
                      g->what, strerror(e), g->backoff_ms, g->refused_since_log);
        g->last_log_ns = now;
        g->refused_since_log = 0;
        g->last_errno = e;
    }
    evconnlistener_disable(l);
    struct timeval tv = {g->backoff_ms / 1000, (suseconds_t)(g->backoff_ms % 1000) * 1000};
    evtimer_add(g->resume, &tv);
}

void xend_listen_guard_attach(struct evconnlistener *l, const char *what, const char *refusal)
{
    for (int i = 0; i < GUARD_MAX; i++) {
        struct guard *g = &guards[i];
        if (g->l != NULL)
            continue;
        memset(g, 0, sizeof(*g));
        g->resume = evtimer_new(evconnlistener_get_base(l), resume_cb, g);
        if (g->resume == NULL)
            break;
        g->l = l;
        g->what = what;
        g->refusal = refusal;
        reserve_open();
        evconnlistener_set_error_cb(l, error_cb);
        return;
    }
    xend_log_warn("accept guard not attached", "listener=%s reason=\"too many listeners\"", what);
}

void xend_listen_guard_accepted(struct evconnlistener *l)
{
    for (int i = 0; i < GUARD_MAX; i++) {
        struct guard *g = &guards[i];
        if (g->l != l)
            continue;
        if (++g->accepted >= ACCEPT_BURST) {
            /* The rest of the backlog waits for the next turn, after the requests. */
            evconnlistener_disable(l);
            struct timeval zero = {0, 0};
            evtimer_add(g->resume, &zero);
        }
        return;
    }
}

void xend_listen_guard_detach(struct evconnlistener *l)
{
    bool any = false;
    for (int i = 0; i < GUARD_MAX; i++) {
        struct guard *g = &guards[i];
        if (g->l == l) {
            evconnlistener_set_error_cb(l, NULL);
            event_free(g->resume);
            memset(g, 0, sizeof(*g));
        }
        any = any || g->l != NULL;
    }
    if (!any && reserve >= 0) {
        close(reserve);
        reserve = -1;
    }
}

unsigned long xend_listen_guard_shortages(void)
{
    return shortages;
}
