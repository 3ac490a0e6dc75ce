/*
 * Limits on who may follow events and how much xend buffers for them (docs/http.md,
 * "Events"): a cap on followers of GET /xend/event?follow=1 and on event port
 * connections, a size cap on injected events, and one backlog budget across every
 * follower of either kind. Each follower queues its lines in its connection's output; a
 * client that stops reading makes that queue grow, and 150 of them used to take xend to
 * 1.3 GB (issue 17). Past the budget, the follower with the most unread bytes (the
 * slowest) is dropped: it gets a last line that says why and its stream ends.
 *
 * The event history (history.h) is a sink too: its bytes count against the same budget,
 * and when it holds the most its oldest events are trimmed instead of a follower dropped.
 *
 * A follower is a `struct xend_event_sink` embedded in the follower's own state (owned by
 * it; registered while it follows). backlog() says how many bytes wait unread; drop()
 * writes the last line and ends the follower, after which the sink is unregistered
 * (drop must call xend_event_sink_remove, directly or through the follower's end).
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_EVENT_BUDGET_H
#define XEND_CORE_EVENT_BUDGET_H

#include <stddef.h>

struct xend_event_limits {
    unsigned max_followers;        /* GET /xend/event?follow=1 at once [64] */
    unsigned port_max_connections; /* event port connections at once [64] */
    size_t backlog_budget;         /* bytes unread across every follower [16 MiB] */
    size_t inject_max;             /* bytes of one injected event [65536] */
};

#define XEND_EVENT_MAX_FOLLOWERS 64u
#define XEND_EVENT_PORT_MAX_CONNECTIONS 64u
#define XEND_EVENT_BACKLOG_BUDGET (16u << 20)
#define XEND_EVENT_INJECT_MAX 65536u

/* Set the limits (a 0 field keeps its default). */
void xend_event_limits_set(const struct xend_event_limits *l);
/* The limits in force (defaults until set). */
const struct xend_event_limits *xend_event_limits(void);

struct xend_event_sink {
    size_t (*backlog)(struct xend_event_sink *s);
    void (*drop)(struct xend_event_sink *s, const char *why);
    /* Optional: a holder that can give bytes back without ending (the event history).
     * When set and this sink holds the most, trim(s, excess) is called instead of drop
     * and the sink stays registered; it should free at least `excess` bytes. */
    void (*trim)(struct xend_event_sink *s, size_t excess);
    const char *kind;                    /* "http" or "port", for the log line */
    struct xend_event_sink *prev, *next; /* the registry's */
};

void xend_event_sink_add(struct xend_event_sink *s);
void xend_event_sink_remove(struct xend_event_sink *s);
/* After a sink queued more: drop the slowest sinks while the total is over the budget.
 * Safe from an event callback (a drop only ends streams; it frees no subscription the
 * bus is walking: the bus marks removals dead). */
void xend_event_budget_check(void);
/* Followers dropped for the budget so far (for tests and info). */
unsigned long xend_event_budget_drops(void);

#endif
