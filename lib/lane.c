#include "lane.h"

#include <stdlib.h>

#include "buf.h" /* xend_xcalloc */

struct xend_lane_wait {
    struct xend_lane_wait *next;
    xend_lane_go_fn *go;
    xend_lane_wanted_fn *wanted;
    void *arg;
};

void xend_lane_init(struct xend_lane *lane, unsigned limit)
{
    *lane = (struct xend_lane){.limit = limit};
    lane->tail = &lane->head;
}

static bool has_room(const struct xend_lane *lane)
{
    return lane->limit == 0 || lane->running < lane->limit;
}

/* The oldest waiting job, out of the queue (its entry freed). */
static struct xend_lane_wait pop(struct xend_lane *lane)
{
    struct xend_lane_wait *w = lane->head, job = *w;
    lane->head = w->next;
    if (lane->head == NULL)
        lane->tail = &lane->head;
    lane->waiting--;
    free(w);
    return job;
}

/* Let waiting jobs go while there is room; a leave from inside a go only counts. */
static void admit(struct xend_lane *lane)
{
    if (lane->admitting)
        return;
    lane->admitting = true;
    while (lane->head != NULL && has_room(lane)) {
        struct xend_lane_wait w = pop(lane);
        bool run = w.wanted == NULL || w.wanted(w.arg);
        if (run)
            lane->running++;
        else
            lane->dropped++;
        w.go(w.arg, run);
    }
    lane->admitting = false;
}

void xend_lane_set_limit(struct xend_lane *lane, unsigned limit)
{
    lane->limit = limit;
    admit(lane);
}

bool xend_lane_enter(struct xend_lane *lane, xend_lane_go_fn *go, xend_lane_wanted_fn *wanted,
                     void *arg)
{
    /* Behind those already waiting, even when a place is free: arrival order holds. */
    if (lane->head == NULL && has_room(lane)) {
        lane->running++;
        go(arg, true);
        return false;
    }
    struct xend_lane_wait *w = xend_xcalloc(1, sizeof(*w));
    *w = (struct xend_lane_wait){.go = go, .wanted = wanted, .arg = arg};
    *lane->tail = w;
    lane->tail = &w->next;
    lane->waiting++;
    admit(lane);
    return true;
}

void xend_lane_leave(struct xend_lane *lane)
{
    if (lane->running > 0)
        lane->running--;
    admit(lane);
}

void xend_lane_drain(struct xend_lane *lane)
{
    while (lane->head != NULL) {
        struct xend_lane_wait w = pop(lane);
        w.go(w.arg, false);
    }
}
