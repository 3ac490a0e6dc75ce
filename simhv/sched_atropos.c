/*
 * Atropos, the Nemesis cpu scheduler (Roscoe; Leslie et al., "The design and implementation
 * of an operating system to support distributed multimedia applications", IEEE JSAC 1996)
 * as ported to Xen 2.0 (sched_atropos.c): each domain is guaranteed `slice` ns of cpu in
 * every `period` ns, domains with guaranteed time left run earliest deadline first, and
 * time nobody is guaranteed goes round robin to domains that accept extra time
 * (`xtratime`). `latency` bounds how long a domain that slept past its deadline waits
 * once it wakes.
 *
 * Unlike Xen there is no minimum quantum for guaranteed time (Xen's 5 ms floor could
 * overrun a short slice): the engine is exact, so EDF keeps every guarantee whenever
 * sum(slice / period) <= 1 on a cpu.
 */
#include <stddef.h>
#include <stdio.h>

#include "sched_class.h"

#define XTRA_QUANTUM (5 * SCHED_MS) /* Xen's BESTEFFORT_QUANTUM for slack */
#define SEC (1000 * (int64_t)SCHED_MS)

struct at_vcpu {
    int64_t period, slice, latency, xtratime; /* parameters: the natural allocation */
    int64_t cur_period, cur_slice; /* after a long block: scaled to latency, doubling back */
    int64_t remain;                /* guaranteed time left in this period (may be < 0) */
    uint64_t deadline;             /* end of the current period */
    bool unblocked;    /* woke before its deadline with time left: first claim on slack */
    bool extra;        /* the current dispatch is slack, not deducted from remain */
    bool slept;        /* blocked since its allocation last (re)started */
    uint64_t xtra_seq; /* round robin among slack takers */
};

struct at_sched {
    uint64_t xtra_seq;
};

static const struct sched_param at_params[] = {
    {"period", 100000, 3600 * SEC, 10 * SEC, offsetof(struct at_vcpu, period)},
    {"slice", 1, 3600 * SEC, 10 * (int64_t)SCHED_MS, offsetof(struct at_vcpu, slice)},
    {"latency", 100000, 3600 * SEC, 10 * SEC, offsetof(struct at_vcpu, latency)},
    {"xtratime", 0, 1, 1, offsetof(struct at_vcpu, xtratime)},
};

static struct at_vcpu *at_of(const struct sched_vcpu *sv)
{
    return sched_vpriv(sv);
}

static int at_validate(const int64_t *vals, char *err, size_t err_len)
{
    /* vals in at_params order: period, slice, latency, xtratime */
    if (vals[1] > vals[0]) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "atropos: slice (%lld) must not exceed period (%lld)",
                     (long long)vals[1], (long long)vals[0]);
        return -1;
    }
    if (vals[2] > vals[0]) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "atropos: latency (%lld) must not exceed period (%lld)",
                     (long long)vals[2], (long long)vals[0]);
        return -1;
    }
    return 0;
}

/* A fresh period with the natural allocation, starting now. */
static void restart(struct simhv_sched *s, struct at_vcpu *a)
{
    a->cur_period = a->period;
    a->cur_slice = a->slice;
    a->remain = a->slice;
    a->deadline = s->now + (uint64_t)a->period;
    a->unblocked = false;
    a->extra = false;
    a->slept = false;
}

static void at_attach(struct simhv_sched *s, struct sched_vcpu *sv, bool added)
{
    struct at_vcpu *a = at_of(sv);
    if (added && sv->v->domid == 0) {
        /* Xen 2.0 gives domain 0 a real guarantee so that it can boot the others. */
        a->period = 20 * (int64_t)SCHED_MS;
        a->slice = 15 * (int64_t)SCHED_MS;
        a->latency = 5 * (int64_t)SCHED_MS;
        a->xtratime = 1;
    }
    restart(s, a);
}

static void at_changed(struct simhv_sched *s, struct sched_vcpu *sv)
{
    restart(s, at_of(sv));
}

/* Start the periods that ended by now. */
static void refresh(struct simhv_sched *s, struct at_vcpu *a)
{
    if (a->deadline > s->now)
        return;
    if (s->now - a->deadline > 4 * (uint64_t)a->cur_period) {
        /* Far behind (cannot happen while it wants the cpu): start afresh. */
        restart(s, a);
        return;
    }
    while (a->deadline <= s->now) {
        if (a->cur_period != a->period) {
            /* Back towards the natural allocation, doubling each period (Xen). */
            a->cur_period *= 2;
            a->cur_slice *= 2;
            if (a->cur_period >= a->period) {
                a->cur_period = a->period;
                a->cur_slice = a->slice;
            }
        }
        /* Unused time is not carried over (it cannot be trusted), an overrun is. */
        a->remain = a->remain > 0 ? a->cur_slice : a->remain + a->cur_slice;
        a->deadline += (uint64_t)a->cur_period;
        a->unblocked = false;
    }
}

static void at_sleep(struct simhv_sched *s, struct sched_vcpu *sv)
{
    (void)s;
    at_of(sv)->slept = true;
}

static uint64_t at_wake(struct simhv_sched *s, struct sched_vcpu *sv)
{
    struct at_vcpu *a = at_of(sv);
    if (!a->slept)
        return s->now; /* first wake of a fresh allocation (added, set): a full guarantee */
    a->slept = false;
    if (a->deadline < s->now) {
        /*
         * Long block: its period ended while it slept. Nemesis starts a new one `latency`
         * away; Xen also scales the slice to keep the share, then lets both double back to
         * the natural values period by period.
         */
        a->cur_period = a->latency;
        a->cur_slice = (int64_t)((double)a->slice * (double)a->latency / (double)a->period);
        if (a->cur_slice < 1)
            a->cur_slice = 1;
        a->remain = a->cur_slice;
        a->deadline = s->now + (uint64_t)a->latency;
        a->unblocked = false;
        return s->now;
    }
    /* Short block: keeps what is left of its slice, but only as a first claim on slack. */
    a->unblocked = a->remain > 0;
    return SCHED_NEVER;
}

static void at_charge(struct simhv_sched *s, struct sched_vcpu *sv, uint64_t ran_ns)
{
    (void)s;
    struct at_vcpu *a = at_of(sv);
    if (!a->extra)
        a->remain -= (int64_t)ran_ns;
}

static bool earlier(const struct sched_vcpu *x, const struct sched_vcpu *y)
{
    return y == NULL || at_of(x)->deadline < at_of(y)->deadline ||
           (at_of(x)->deadline == at_of(y)->deadline && x->fifo < y->fifo);
}

static struct sched_vcpu *at_pick(struct simhv_sched *s, unsigned c, uint64_t *run_ns)
{
    struct sched_cpu *cpu = &s->cpus[c];
    struct sched_vcpu *edf = NULL, *unblocked = NULL, *xtra = NULL;
    uint64_t first_deadline = SCHED_NEVER;

    for (size_t i = 0; i < cpu->n; i++) {
        struct sched_vcpu *sv = cpu->vcpus[i];
        if (!sv->wants)
            continue;
        struct at_vcpu *a = at_of(sv);
        refresh(s, a);
        a->extra = false;
        if (a->deadline < first_deadline)
            first_deadline = a->deadline;
        if (a->remain > 0 && !a->unblocked) {
            if (earlier(sv, edf))
                edf = sv;
        } else if (a->remain > 0) {
            if (earlier(sv, unblocked))
                unblocked = sv;
        } else if (a->xtratime) {
            if (xtra == NULL || a->xtra_seq < at_of(xtra)->xtra_seq ||
                (a->xtra_seq == at_of(xtra)->xtra_seq && sv->fifo < xtra->fifo))
                xtra = sv;
        }
    }

    struct sched_vcpu *next = edf != NULL ? edf : unblocked;
    uint64_t run = SCHED_NEVER;
    if (next != NULL) {
        run = (uint64_t)at_of(next)->remain;
    } else if (xtra != NULL) {
        struct at_sched *g = s->priv;
        next = xtra;
        at_of(next)->extra = true;
        at_of(next)->xtra_seq = ++g->xtra_seq;
        run = XTRA_QUANTUM;
    }
    /* Decide again when some period ends: that domain gets new guaranteed time. */
    if (first_deadline != SCHED_NEVER && first_deadline - s->now < run)
        run = first_deadline - s->now;
    *run_ns = run > 0 ? run : 1;
    return next;
}

const struct sched_class simhv_sched_atropos = {
    .name = "atropos",
    .params = at_params,
    .nparams = sizeof(at_params) / sizeof(at_params[0]),
    .vpriv_size = sizeof(struct at_vcpu),
    .gpriv_size = sizeof(struct at_sched),
    .validate = at_validate,
    .attach = at_attach,
    .changed = at_changed,
    .wake = at_wake,
    .sleep = at_sleep,
    .charge = at_charge,
    .pick = at_pick,
};
