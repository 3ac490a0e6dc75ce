/*
 * A domain migrated in from another host whose sender's decision is not known here (the
 * connection broke, or xend restarted, after it answered (received)): kept paused, it asks
 * the sender's relocation port what became of it (handover.h) until the sender says, then
 * is taken over or dropped (transfer.h, xend_transfer_doubt).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>

#include "domain_table.h"
#include "handover.h"
#include "lifecycle.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"
#include "event_loop.h"
#include "transfer/internal.h"

#define DOUBT_RETRY_MIN_MS 2000
#define DOUBT_RETRY_MAX_MS 60000

struct doubt {
    char key[33]; /* the domain's key here */
    char host[NI_MAXHOST], port[16], src_key[33];
    bool unpause;
    uint64_t delay_ms;
    enum xend_handover_state state;
    struct xend_timer *timer; /* while it waits to ask again */
    struct doubt *next;       /* in `waiting` */
};

/* Doubts waiting to ask again: what a stop must take down (a question in flight ends
 * through the loop's drain). */
static struct doubt *waiting;

static void unlink_waiting(struct doubt *d)
{
    for (struct doubt **p = &waiting; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    d->timer = NULL;
}

static void doubt_schedule(struct doubt *d);

static void doubt_end(struct doubt *d)
{
    xend_lifecycle_adopt_hold(false);
    free(d);
}

static void doubt_taken_work(void *arg)
{
    struct doubt *d = arg;
    struct xend_tls_conn *c;
    struct xend_err err = {0};
    if (xend_transfer_connect(d->host, d->port, &c, &err) == 0) {
        xend_handover_tell_taken(xend_tls_conn_fd(c), d->src_key);
        xend_tls_conn_close(c);
    }
}

static void doubt_taken_told(void *arg)
{
    doubt_end(arg);
}

static void doubt_committed(void *arg, int rc)
{
    struct doubt *d = arg;
    struct xend_domain *dom = xend_transfer_domain_by_key(d->key);
    if (dom) {
        dom->busy = false;
        xend_log_notice("migrated domain taken over", "domain=%s id=%u recorded=%s", dom->name,
                        dom->id, rc < 0 ? "no" : "yes");
        xend_lifecycle_emit("xend.domain.create", dom, NULL);
    }
    xend_loop_work(doubt_taken_work, doubt_taken_told, d);
}

static void doubt_dropped(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    (void)rc;
    (void)err;
    (void)dom;
    doubt_end(arg);
}

static void doubt_ask_work(void *arg)
{
    struct doubt *d = arg;
    struct xend_tls_conn *c;
    struct xend_err err = {0};
    d->state = XEND_HANDOVER_UNREACHABLE;
    if (xend_transfer_connect(d->host, d->port, &c, &err) == 0) {
        d->state = xend_handover_ask(xend_tls_conn_fd(c), d->src_key);
        xend_tls_conn_close(c);
    }
}

static void doubt_answered(void *arg)
{
    struct doubt *d = arg;
    struct xend_domain *dom = xend_transfer_domain_by_key(d->key);
    if (dom == NULL) { /* an operator destroyed it meanwhile */
        doubt_end(d);
        return;
    }
    switch (d->state) {
    case XEND_HANDOVER_RELEASED:
        xend_domain_set_doubt(dom, NULL);
        xend_domain_set_mark(dom, NULL);
        xend_lifecycle_restored(dom, d->unpause, doubt_committed, d);
        return;
    case XEND_HANDOVER_HELD:
        xend_log_notice("migrated copy dropped: the sender kept the domain",
                        "domain=%s sender=%s:%s", dom->name, d->host, d->port);
        xend_domain_set_doubt(dom, NULL);
        dom->shutdown_requested = XEND_SHUTDOWN_HALT;
        xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, doubt_dropped, d);
        return;
    default:
        dom->busy = false;
        xend_domain_set_doubt(dom, "the sender %s:%s is %s; kept paused until it answers", d->host,
                              d->port, xend_handover_state_name(d->state));
        xend_log_warn("migration in doubt", "domain=%s sender=%s:%s answer=%s retry_ms=%llu",
                      dom->name, d->host, d->port, xend_handover_state_name(d->state),
                      (unsigned long long)d->delay_ms);
        doubt_schedule(d);
        return;
    }
}

static void doubt_tick(void *arg)
{
    struct doubt *d = arg;
    unlink_waiting(d);
    struct xend_domain *dom = xend_transfer_domain_by_key(d->key);
    if (dom == NULL) {
        doubt_end(d);
        return;
    }
    if (dom->busy) {
        doubt_schedule(d);
        return;
    }
    dom->busy = true;
    xend_loop_work(doubt_ask_work, doubt_answered, d);
}

static void doubt_schedule(struct doubt *d)
{
    uint64_t delay = d->delay_ms;
    d->delay_ms = d->delay_ms * 2 > DOUBT_RETRY_MAX_MS ? DOUBT_RETRY_MAX_MS : d->delay_ms * 2;
    d->timer = xend_loop_host_table()->timer_add(NULL, delay, false, doubt_tick, d);
    d->next = waiting;
    waiting = d;
}

void xend_transfer_doubts_stop(void)
{
    while (waiting) {
        struct doubt *d = waiting;
        waiting = d->next;
        xend_loop_host_table()->timer_remove(d->timer);
        doubt_end(d);
    }
}

void xend_transfer_doubt(struct xend_domain *dom, const char *host, const char *port,
                         const char *src_key, bool unpause)
{
    struct doubt *d = xend_xcalloc(1, sizeof(*d));
    snprintf(d->key, sizeof(d->key), "%s", dom->uuid);
    snprintf(d->host, sizeof(d->host), "%s", host);
    snprintf(d->port, sizeof(d->port), "%s", port);
    snprintf(d->src_key, sizeof(d->src_key), "%s", src_key);
    d->unpause = unpause;
    d->delay_ms = DOUBT_RETRY_MIN_MS;
    xend_domain_set_doubt(dom, "asking the sender %s:%s; kept paused until it answers", host, port);
    /* The first question goes at once; it is not a stranger to adopt meanwhile. */
    xend_lifecycle_adopt_hold(true);
    dom->busy = true;
    xend_loop_work(doubt_ask_work, doubt_answered, d);
}
