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
#include "log/log.h"
#include "transfer/internal.h"

#define PROGRESS_EVERY_NS 1000000000ull

struct progress_note {
    char name[64];
    uint32_t domid;
    const char *op; /* a literal */
    uint64_t done, total, bytes, bytes_per_s;
    struct xend_save_round round;
};

/* The backends count pages of 4 KiB (Xen's and simhv's). */
#define ROUND_PAGE_BYTES 4096u

static uint64_t dirty_bytes_per_s(const struct xend_save_round *r)
{
    return r->ns ? (uint64_t)((long double)r->dirty_pages * ROUND_PAGE_BYTES * 1e9L / r->ns) : 0;
}

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
    const struct xend_save_round *r = &n->round;
    if (r->round > 0) {
        xend_sxp_add_kv_int(v, "round", r->round);
        xend_sxp_add_kv_int(v, "round_pages", (long long)r->pages);
        xend_sxp_add_kv_int(v, "round_bytes", (long long)r->pages * ROUND_PAGE_BYTES);
        xend_sxp_add_kv_int(v, "round_ms", (long long)(r->ns / 1000000u));
        xend_sxp_add_kv_int(v, "dirty_bytes_per_s", (long long)dirty_bytes_per_s(r));
        xend_sxp_add_kv_int(v, "throttle_pct", r->throttle_pct);
        if (r->last)
            xend_sxp_add_kv_int(v, "last", 1);
    }
    xend_event_emit("xend.domain.progress", v);
    xend_sxp_free(v);
    free(n);
}

/* Hand what p says now to the loop, which emits it. */
static void progress_post(const struct xend_transfer_progress *p, uint64_t now)
{
    struct progress_note *n = xend_xcalloc(1, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", p->name);
    n->domid = p->domid;
    n->op = p->op;
    n->done = p->done;
    n->total = p->total;
    n->bytes = p->bytes;
    n->bytes_per_s =
        now > p->start_ns ? (uint64_t)((long double)p->bytes * 1e9L / (now - p->start_ns)) : 0;
    n->round = p->round;
    if (xend_loop_post(progress_emit, n) < 0)
        free(n); /* the loop is stopping: nobody would hear it */
}

bool xend_transfer_progress_due(const struct xend_transfer_progress *p, uint64_t done,
                                uint64_t total)
{
    if (total > 0 && done >= total)
        return !p->finished;
    return !p->reported || xend_clock_ns() - p->last_ns >= PROGRESS_EVERY_NS;
}

void xend_transfer_progress_report(struct xend_transfer_progress *p, uint64_t done, uint64_t total,
                                   uint64_t bytes)
{
    if (!xend_transfer_progress_due(p, done, total))
        return;
    uint64_t now = xend_clock_ns();
    bool last = total > 0 && done >= total;
    p->reported = true;
    p->finished = last;
    p->last_ns = now;
    p->done = done;
    p->total = total;
    p->bytes = bytes;
    progress_post(p, now);
}

void xend_transfer_progress_round(struct xend_transfer_progress *p,
                                  const struct xend_save_round *round)
{
    p->round = *round;
    p->round.size = sizeof(p->round);
    xend_log_info("transfer round",
                  "domain=%s op=%s round=%u last=%u pages=%llu ms=%llu dirty_pages=%llu "
                  "dirty_mb_s=%.1f throttle_pct=%u",
                  p->name, p->op, round->round, round->last, (unsigned long long)round->pages,
                  (unsigned long long)(round->ns / 1000000u),
                  (unsigned long long)round->dirty_pages, dirty_bytes_per_s(round) / 1e6,
                  round->throttle_pct);
    /* Each round's end is news at once: rounds are few (the backend bounds them). */
    p->reported = true;
    p->last_ns = xend_clock_ns();
    progress_post(p, p->last_ns);
}
