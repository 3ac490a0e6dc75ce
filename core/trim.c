/*
 * Giving freed heap memory back to the system once xend goes quiet. A burst of creates or
 * a list of every domain leaves free pages inside glibc's heaps (and the store writer's
 * arena), which glibc keeps resident: after 100 creates xend held ~140 kB of them, after a
 * detail=1 list of 1,000 domains ~500 kB. malloc_trim hands whole free pages back, and
 * xend_libevent_mem_trim those of libevent's small allocations (on the loop, the thread
 * that drives libevent, as it requires). Blocks kept for reuse (the loop's SXP nodes, the
 * HTTP server's request blocks) are freed first: kept, they pin the pages around them.
 *
 * It runs on the loop when a check finds that requests came in (or HTTP connections
 * closed: a flood of idle connections frees its buffers without a single request) since
 * the one before but none since the last: a busy xend never pays for it, and a quiet one
 * only reads two counters twice a second.
 */
#include "trim.h"

#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "libevent_mem.h"
#include "log/log.h"
#include "sxp.h"
#include "event_loop.h"

#define TRIM_CHECK_MS 500

static struct {
    struct xend_timer *timer;
    uint64_t seen; /* requests started, at the last check */
    bool dirty;    /* some came in before the last check */
} TR;

static void check(void *arg)
{
    (void)arg;
    uint64_t now = xend_http_requests_started() + xend_http_connections_closed();
    if (now != TR.seen) {
        TR.seen = now;
        TR.dirty = true;
        return;
    }
    if (TR.dirty) {
        TR.dirty = false;
        /* Blocks kept for reuse sit among what the burst freed and pin its pages. */
        xend_sxp_node_cache_empty();
        xend_http_trim();
        int released = malloc_trim(0);
        size_t pages = xend_libevent_mem_trim();
        xend_log_debug("heap trimmed", "requests=%llu released=%d libevent_bytes=%zu",
                       (unsigned long long)now, released, pages);
    }
}

void xend_trim_start(void)
{
    if (TR.timer == NULL)
        TR.timer = xend_loop_host_table()->timer_add(NULL, TRIM_CHECK_MS, true, check, NULL);
}

void xend_trim_stop(void)
{
    xend_loop_host_table()->timer_remove(TR.timer);
    TR.timer = NULL;
}
