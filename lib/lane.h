/*
 * A lane: jobs admitted a few at a time, the rest waiting in arrival order. xend puts domain
 * starts (creates and restores) through one, so that a flood of them cannot take the loop
 * from the requests that must stay answerable (destroy, shutdown, list, info; docs/http.md
 * "Priority"): a waiting job costs its memory and nothing else.
 *
 * Contract:
 *   - xend_lane_enter runs go(arg, true) at once while fewer than `limit` jobs run (limit 0:
 *     no limit), else queues the job. Each job that ran must call xend_lane_leave exactly
 *     once when it is done, which lets the oldest waiting job go.
 *   - A waiting job whose `wanted(arg)` returns false when its turn comes (its client went)
 *     gets go(arg, false) and takes no place; so does every waiting job at xend_lane_drain.
 *     go must then release what arg holds.
 *   - go may call xend_lane_leave (a job that fails at once): the lane admits the next ones
 *     from a loop, never by recursion, so a long queue of such jobs cannot deepen the stack.
 *
 * The lane owns nothing but its queue entries; arg stays the caller's. Single-threaded (the
 * loop thread), like everything that calls it.
 */
#ifndef XEND_LIB_LANE_H
#define XEND_LIB_LANE_H

#include <stdbool.h>
#include <stddef.h>

typedef void xend_lane_go_fn(void *arg, bool run);
typedef bool xend_lane_wanted_fn(void *arg);

struct xend_lane_wait; /* a queued job, owned by the lane */

struct xend_lane {
    unsigned limit;   /* 0: every job runs at once */
    unsigned running; /* jobs that ran and have not left */
    size_t waiting;
    size_t dropped; /* waiting jobs that were no longer wanted, since init */
    struct xend_lane_wait *head, **tail;
    bool admitting; /* inside the admit loop: a nested leave only counts */
};

void xend_lane_init(struct xend_lane *lane, unsigned limit);
/* A new limit; a higher one lets waiting jobs go at once. */
void xend_lane_set_limit(struct xend_lane *lane, unsigned limit);
/* true when the job was queued behind others or a full lane, false when it ran at once. */
bool xend_lane_enter(struct xend_lane *lane, xend_lane_go_fn *go, xend_lane_wanted_fn *wanted,
                     void *arg);
void xend_lane_leave(struct xend_lane *lane);
/* Every waiting job gets go(arg, false); the lane is then empty of waiters. */
void xend_lane_drain(struct xend_lane *lane);

#endif
