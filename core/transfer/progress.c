/*
 * A long transfer's progress on the event stream (transfer/internal.h): the backend
 * reports on a worker thread, often; the loop, where events are emitted, hears of it at most
 * once a second and always at the end. Each report carries a copy of what it says, so it
 * needs nothing of the transfer to outlive it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "clock.h"
#include "event/event.h"
#include "event_loop.h"
#include "transfer/internal.h"

#define PROGRESS_EVERY_NS 1000000000ull

struct progress_note {
    char name[64];
    uint32_t domid;
    const char *op; /* a literal */
    uint64_t done, total, bytes, bytes_per_s;
};

void xend_transfer_progress_init(struct xend_transfer_progress *p, const char *op, const char *name,
                                 uint32_t domid)
{
    *p = (struct xend_transfer_progress){.op = op, .domid = domid, .start_ns = xend_clock_ns()};
    snprintf(p->name, sizeof(p->name), "%s", name);
}

static void progress_emit(void *arg)
{
    struct progress_note *n = arg;
    struct xend_sxp *v = xend_sxp_list_of(n->name, NULL);
    /* UINT32_MAX: a domain coming in, which has no id yet */
    xend_sxp_append_take(v, xend_sxp_atom_int(n->domid == UINT32_MAX ? -1 : (long long)n->domid));
    xend_sxp_append_take(v, xend_sxp_atom(n->op));
    xend_sxp_add_kv_int(v, "done", (long long)n->done);
    xend_sxp_add_kv_int(v, "total", (long long)n->total);
    xend_sxp_add_kv_int(v, "percent",
                        n->total ? (long long)(n->done >= n->total ? 100 : n->done * 100 / n->total)
                                 : 0);
    xend_sxp_add_kv_int(v, "bytes", (long long)n->bytes);
    xend_sxp_add_kv_int(v, "bytes_per_s", (long long)n->bytes_per_s);
    xend_event_emit("xend.domain.progress", v);
    xend_sxp_free(v);
    free(n);
}

void xend_transfer_progress_report(struct xend_transfer_progress *p, uint64_t done, uint64_t total,
                                   uint64_t bytes)
{
    uint64_t now = xend_clock_ns();
    bool last = total > 0 && done >= total;
    if (!last && p->reported && now - p->last_ns < PROGRESS_EVERY_NS)
        return;
    if (last && p->finished)
        return;
    p->reported = true;
    p->finished = last;
    p->last_ns = now;
    struct progress_note *n = xend_xcalloc(1, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", p->name);
    n->domid = p->domid;
    n->op = p->op;
    n->done = done;
    n->total = total;
    n->bytes = bytes;
    n->bytes_per_s =
        now > p->start_ns ? (uint64_t)((long double)bytes * 1e9L / (now - p->start_ns)) : 0;
    if (xend_loop_post(progress_emit, n) < 0)
        free(n); /* the loop is stopping: nobody would hear it */
}
