/*
 * A live save's pre-copy rounds on Xen 4.17, told to the core and bounded by it (ABI 1.8
 * save_with).
 *
 * libxenguest asks its precopy policy twice a round: before it (with the number of pages
 * the round will send) and after it (with the number -1 and the rounds sent so far). So a
 * round is known whole, with what the guest dirtied meanwhile, only at the next round's
 * first question, or when the guest suspends. The policy stops pre-copy when the next
 * round's pages would fit the last round's bound, or when the rounds run out; libxenguest
 * cannot slow a guest, so one that dirties faster than the link meets the round bound and
 * its last round is whatever it dirtied (the report says how big). A cancel (the core's
 * progress verdict) aborts between batches instead of waiting for the cut stream.
 */
#include <string.h>
#include <time.h>

#include "xc_priv.h"

/* libxenguest's own bounds, kept when the core gives none: five rounds while the guest
 * runs and the suspended one, or stop once fewer than 50 pages are left. */
enum { PRECOPY_DEFAULT_ROUNDS = 6, PRECOPY_DEFAULT_LAST_PAGES = 50, PAGE_KB = 4 };

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void xcb_precopy_init(struct xcb_precopy *p, struct xcb_conn *h, uint32_t domid,
                      uint64_t guest_pages, const struct xend_save_args *args)
{
    memset(p, 0, sizeof(*p));
    p->h = h;
    p->domid = domid;
    p->guest_pages = guest_pages;
    p->args = args;
}

/* Tell the core of the round just whole; dirty: what the guest dirtied during it. */
static void report(struct xcb_precopy *p, uint64_t end_ns, uint64_t dirty)
{
    if (p->round == 0 || p->reported == p->round)
        return;
    p->reported = p->round;
    if (p->args->round == NULL)
        return;
    struct xend_save_round r = {.size = sizeof(r),
                                .round = p->round,
                                .pages = p->round_pages,
                                .ns = end_ns - p->round_start_ns,
                                .dirty_pages = dirty};
    p->args->round(p->args->progress_arg, &r);
}

/* A last round of `pages` fits the core's bound (libxenguest's own without one). */
static bool fits_last(const struct xcb_precopy *p, uint64_t pages)
{
    if (p->args->max_last_kb == 0)
        return pages < PRECOPY_DEFAULT_LAST_PAGES;
    return pages * PAGE_KB <= p->args->max_last_kb;
}

/* Pre-copy may send no round beyond this one: the next is the last, with the guest
 * suspended. libxenguest sends at least one round live, so a bound below 2 counts as 2. */
static bool rounds_spent(const struct xcb_precopy *p)
{
    uint32_t max = p->args->max_rounds ? p->args->max_rounds : PRECOPY_DEFAULT_ROUNDS;
    return p->round + 1 >= (max < 2 ? 2 : max);
}

int xcb_precopy_policy(struct xcb_precopy *p, struct precopy_stats st)
{
    if (p->h->stop)
        return XGS_POLICY_ABORT;
    uint64_t now = clock_ns();
    if (st.dirty_count < 0) {
        /* After a round: its pages went out; what the guest dirtied is told next. */
        p->round_end_ns = now;
        return rounds_spent(p) ? XGS_POLICY_STOP_AND_COPY : XGS_POLICY_CONTINUE_PRECOPY;
    }
    /* Before a round: the previous one is whole, and this one sends dirty_count pages,
     * live even when it is the policy's last word (the suspended round comes after it). */
    uint64_t pages = (uint64_t)st.dirty_count;
    report(p, p->round_end_ns, pages);
    /* The first round is asked about with the whole physical address space (a PVH guest's
     * reaches past 4 GiB); it sends the pages the guest has. */
    if (p->guest_pages && pages > p->guest_pages)
        pages = p->guest_pages;
    bool stop = p->round > 0 && (fits_last(p, pages) || rounds_spent(p));
    p->round++;
    p->round_pages = pages;
    p->round_start_ns = now;
    p->round_end_ns = 0;
    return stop ? XGS_POLICY_STOP_AND_COPY : XGS_POLICY_CONTINUE_PRECOPY;
}

/* Pages the guest dirtied since libxenguest last read the log, or 0 when Xen says none. */
static uint64_t dirty_since_read(struct xcb_precopy *p)
{
    xc_shadow_op_stats_t st;
    memset(&st, 0, sizeof(st));
    if (xc_logdirty_control(p->h->xch, p->domid, XEN_DOMCTL_SHADOW_OP_PEEK, NULL, 0, 0, &st) < 0)
        return 0;
    return st.dirty_count;
}

void xcb_precopy_suspended(struct xcb_precopy *p)
{
    uint64_t now = clock_ns();
    p->paused_ns = now;
    p->last_pages = dirty_since_read(p);
    report(p, p->round_end_ns ? p->round_end_ns : now, p->last_pages);
}

void xcb_precopy_end(struct xcb_precopy *p)
{
    if (p->paused_ns == 0 || p->args->round == NULL)
        return;
    struct xend_save_round r = {.size = sizeof(r),
                                .round = p->round + 1,
                                .last = 1,
                                .pages = p->last_pages,
                                .ns = clock_ns() - p->paused_ns,
                                .paused_at_ns = p->paused_ns};
    p->args->round(p->args->progress_arg, &r);
}
