/*
 * Follower limits and the backlog budget (budget.h). The registry is a list: the caps
 * keep it to a hundred or so sinks, and a check walks it once per queued line.
 */
#include "event/budget.h"

#include <stdbool.h>
#include <stdio.h>

#include "log/log.h"

static struct xend_event_limits limits = {
    .max_followers = XEND_EVENT_MAX_FOLLOWERS,
    .port_max_connections = XEND_EVENT_PORT_MAX_CONNECTIONS,
    .backlog_budget = XEND_EVENT_BACKLOG_BUDGET,
    .inject_max = XEND_EVENT_INJECT_MAX,
};

static struct {
    struct xend_event_sink *head;
    unsigned n;
    unsigned long drops;
    bool checking;
} sinks;

void xend_event_limits_set(const struct xend_event_limits *l)
{
    limits.max_followers = l->max_followers ? l->max_followers : XEND_EVENT_MAX_FOLLOWERS;
    limits.port_max_connections =
        l->port_max_connections ? l->port_max_connections : XEND_EVENT_PORT_MAX_CONNECTIONS;
    limits.backlog_budget = l->backlog_budget ? l->backlog_budget : XEND_EVENT_BACKLOG_BUDGET;
    limits.inject_max = l->inject_max ? l->inject_max : XEND_EVENT_INJECT_MAX;
}

const struct xend_event_limits *xend_event_limits(void)
{
    return &limits;
}

void xend_event_sink_add(struct xend_event_sink *s)
{
    s->prev = NULL;
    s->next = sinks.head;
    if (sinks.head)
        sinks.head->prev = s;
    sinks.head = s;
    sinks.n++;
}

void xend_event_sink_remove(struct xend_event_sink *s)
{
    if (s->prev == NULL && sinks.head != s)
        return; /* not registered (dropped already) */
    if (s->prev)
        s->prev->next = s->next;
    else
        sinks.head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    sinks.n--;
}

void xend_event_budget_check(void)
{
    if (sinks.checking)
        return; /* a drop's last line comes back here */
    sinks.checking = true;
    for (;;) {
        size_t total = 0, worst_len = 0;
        struct xend_event_sink *worst = NULL;
        for (struct xend_event_sink *s = sinks.head; s != NULL; s = s->next) {
            size_t b = s->backlog(s);
            total += b;
            if (worst == NULL || b > worst_len) {
                worst = s;
                worst_len = b;
            }
        }
        if (total <= limits.backlog_budget || worst == NULL || worst_len == 0)
            break;
        if (worst->trim != NULL) {
            worst->trim(worst, total - limits.backlog_budget);
            if (worst->backlog(worst) >= worst_len)
                break; /* nothing given back: do not spin */
            continue;
        }
        char why[192];
        snprintf(why, sizeof(why),
                 "dropped: followers hold %zu unread bytes, over the budget of %zu; this one "
                 "had the most (%zu)",
                 total, limits.backlog_budget, worst_len);
        xend_log_emit(NULL, XEND_LOG_WARN, "event follower dropped",
                      "kind=%s unread=%zu total=%zu budget=%zu followers=%u", worst->kind,
                      worst_len, total, limits.backlog_budget, sinks.n);
        sinks.drops++;
        xend_event_sink_remove(worst);
        worst->drop(worst, why);
    }
    sinks.checking = false;
}

unsigned long xend_event_budget_drops(void)
{
    return sinks.drops;
}
