/*
 * Borrowed-Virtual-Time scheduling, after Duda & Cheriton, "Borrowed-Virtual-Time (BVT)
 * scheduling: supporting latency-sensitive threads in a general-purpose scheduler"
 * (SOSP 1999), and Xen 2.0's sched_bvt.c. Also the machinery FBVT (sched_fbvt.c) reuses.
 *
 * Virtual times here are kept in ns of run x mcuadv, so that charging is exact; Xen counts
 * whole MCUs (100 us) and its "virtual-time units" (warpvalue) are MCUs at mcuadv 1, so
 * warpvalue W is W x BVT_MCU_NS here.
 *
 * Never keeps state across cpus: each cpu has its own svt, as in Xen.
 */
#include <stddef.h>

#include "sched_class.h"

#define VT_REBASE ((int64_t)1 << 60)

const struct sched_param simhv_bvt_params[BVT_NPARAMS] = {
    {"mcuadv", 1, 1000000, 10, offsetof(struct bvt_vcpu, mcuadv)},
    {"warpback", 0, 1, 0, offsetof(struct bvt_vcpu, warpback)},
    {"warpvalue", 0, 100000000, 0, offsetof(struct bvt_vcpu, warpvalue)},
    {"warpl", 0, 3600000, 2000, offsetof(struct bvt_vcpu, warpl)},
    {"warpu", 0, 3600000, 1000, offsetof(struct bvt_vcpu, warpu)},
};

const struct sched_param simhv_bvt_node_params[BVT_NNODE_PARAMS] = {
    {"ctx_allow", 100000, 10000 * (int64_t)SCHED_MS, 5 * (int64_t)SCHED_MS,
     offsetof(struct bvt_node, ctx_allow)},
};

static struct bvt_vcpu *bvt_of(const struct sched_vcpu *sv)
{
    return sched_vpriv(sv);
}

static struct bvt_cpu *bvt_cpu_of(const struct simhv_sched *s, unsigned c)
{
    return s->cpus[c].priv;
}

static int64_t ctx_allow(const struct simhv_sched *s)
{
    return ((const struct bvt_node *)s->priv)->ctx_allow;
}

static uint64_t ceil_div(int64_t a, int64_t b)
{
    return a <= 0 ? 0 : (uint64_t)((a + b - 1) / b);
}

/*
 * Effective virtual time E = A - (warped ? W : 0). The paper bounds borrowing by L, the
 * longest a thread may run warped (here the run time since the warp began), and U, how
 * long a thread unwarped by that limit must wait before it may warp again.
 */
static void calc_evt(const struct simhv_sched *s, struct bvt_vcpu *b)
{
    if (b->warping && b->warped_run >= (uint64_t)b->warpl * SCHED_MS) {
        b->warping = false;
        b->penalised = true;
        b->unwarped_at = s->now;
    }
    b->evt = b->avt - (b->warping ? b->warpvalue * BVT_MCU_NS : 0);
}

void simhv_bvt_attach(struct simhv_sched *s, struct sched_vcpu *sv, bool added)
{
    struct bvt_vcpu *b = bvt_of(sv);
    /* A newcomer starts at the cpu's virtual time: it neither owes nor is owed. */
    b->avt = bvt_cpu_of(s, sv->cpu)->svt;
    b->warping = false;
    if (added)
        b->time_slept = 0;
    calc_evt(s, b);
}

static void bvt_wake_avt(struct bvt_vcpu *b, struct bvt_cpu *c)
{
    /* The paper: a thread that slept resumes at max(A, SVT), so sleeping banks no credit. */
    if (b->avt < c->svt)
        b->avt = c->svt;
}

uint64_t simhv_bvt_wake(struct simhv_sched *s, struct sched_vcpu *sv, const struct bvt_variant *var)
{
    struct bvt_vcpu *b = bvt_of(sv);
    struct sched_cpu *cpu = &s->cpus[sv->cpu];

    var->wake_avt(b, cpu->priv);
    /* Xen warps latency-sensitive domains from the moment they wake (I/O arrived). */
    if (b->warpback && b->warpvalue > 0 && b->warpl > 0 &&
        (!b->penalised || s->now - b->unwarped_at >= (uint64_t)b->warpu * SCHED_MS)) {
        b->warping = true;
        b->penalised = false;
        b->warped_run = 0;
    }
    calc_evt(s, b);

    if (cpu->curr == NULL || cpu->curr == sv)
        return s->now;
    struct bvt_vcpu *cb = bvt_of(cpu->curr);
    calc_evt(s, cb);
    /*
     * The paper's dispatch rule: switch to the woken thread only when its E is below the
     * current one's by more than the context-switch allowance C (in the current thread's
     * virtual time); otherwise the current one runs until that holds.
     */
    int64_t c_vt = ctx_allow(s) * cb->mcuadv;
    if (b->evt < cb->evt - c_vt)
        return s->now;
    return s->now + ceil_div(b->evt + c_vt - cb->evt, cb->mcuadv);
}

void simhv_bvt_sleep(struct simhv_sched *s, struct sched_vcpu *sv)
{
    (void)s;
    /* Blocking ends a warp (Xen's bvt_do_block); it is no reason for the warpu penalty. */
    bvt_of(sv)->warping = false;
}

void simhv_bvt_charge(struct simhv_sched *s, struct sched_vcpu *sv, uint64_t ran_ns,
                      const struct bvt_variant *var)
{
    struct bvt_vcpu *b = bvt_of(sv);
    /* A advances by run time x mcuadv: the share is proportional to 1/mcuadv. */
    if (var->charge_vt != NULL)
        b->avt += var->charge_vt(b, bvt_cpu_of(s, sv->cpu), ran_ns);
    else
        b->avt += (int64_t)ran_ns * b->mcuadv;
    if (b->warping)
        b->warped_run += ran_ns;
    calc_evt(s, b);
}

/* Keep virtual times small; only differences matter (Xen subtracts 0xe0000000). */
static void rebase(struct simhv_sched *s, unsigned c)
{
    struct bvt_cpu *bc = bvt_cpu_of(s, c);
    int64_t delta = bc->svt;
    for (size_t i = 0; i < s->cpus[c].n; i++) {
        struct bvt_vcpu *b = bvt_of(s->cpus[c].vcpus[i]);
        b->avt = b->avt - delta < -VT_REBASE ? -VT_REBASE : b->avt - delta;
        calc_evt(s, b);
    }
    bc->svt = 0;
}

struct sched_vcpu *simhv_bvt_pick(struct simhv_sched *s, unsigned c, uint64_t *run_ns,
                                  const struct bvt_variant *var)
{
    struct sched_cpu *cpu = &s->cpus[c];
    struct bvt_cpu *bc = cpu->priv;
    struct sched_vcpu *next = NULL, *prime = NULL;
    int64_t min_avt = INT64_MAX;

    /* The lowest E runs; the second lowest bounds how long. Ties go to the longest queued. */
    for (size_t i = 0; i < cpu->n; i++) {
        struct sched_vcpu *sv = cpu->vcpus[i];
        if (!sv->wants)
            continue;
        struct bvt_vcpu *b = bvt_of(sv);
        calc_evt(s, b);
        if (b->avt < min_avt)
            min_avt = b->avt;
        if (next == NULL || b->evt < bvt_of(next)->evt ||
            (b->evt == bvt_of(next)->evt && sv->fifo < next->fifo)) {
            prime = next;
            next = sv;
        } else if (prime == NULL || b->evt < bvt_of(prime)->evt ||
                   (b->evt == bvt_of(prime)->evt && sv->fifo < prime->fifo)) {
            prime = sv;
        }
    }
    if (next == NULL) {
        *run_ns = SCHED_NEVER;
        return NULL;
    }
    bc->svt = min_avt; /* SVT: the least A among runnable threads */
    if (bc->svt > VT_REBASE)
        rebase(s, c);

    struct bvt_vcpu *nb = bvt_of(next);
    int64_t bonus = var->bonus != NULL ? var->bonus(s, nb) : 0;
    uint64_t run;
    if (prime == NULL) {
        run = 10 * (uint64_t)ctx_allow(s); /* alone: Xen's constant, re-decided on a wake */
    } else {
        /* Run until E exceeds the runner-up's by the context-switch allowance. */
        run = ceil_div(bvt_of(prime)->evt + bonus - nb->evt, nb->mcuadv) + (uint64_t)ctx_allow(s);
    }
    if (nb->warping) {
        uint64_t left = (uint64_t)nb->warpl * SCHED_MS - nb->warped_run;
        if (left < run)
            run = left > 0 ? left : 1;
    }
    bc->vtb = bonus;
    bc->r_time = run;
    *run_ns = run;
    return next;
}

/* Parameters were set: they apply from now, as Xen's bvt_adjdom does. */
void simhv_bvt_changed(struct simhv_sched *s, struct sched_vcpu *sv)
{
    struct bvt_vcpu *b = bvt_of(sv);
    if (!b->warpback || b->warpvalue == 0)
        b->warping = false;
    calc_evt(s, b);
}

static const struct bvt_variant plain = {
    .wake_avt = bvt_wake_avt,
};

static uint64_t bvt_wake(struct simhv_sched *s, struct sched_vcpu *sv)
{
    return simhv_bvt_wake(s, sv, &plain);
}

static void bvt_charge(struct simhv_sched *s, struct sched_vcpu *sv, uint64_t ran_ns)
{
    simhv_bvt_charge(s, sv, ran_ns, &plain);
}

static struct sched_vcpu *bvt_pick(struct simhv_sched *s, unsigned c, uint64_t *run_ns)
{
    return simhv_bvt_pick(s, c, run_ns, &plain);
}

const struct sched_class simhv_sched_bvt = {
    .name = "bvt",
    BVT_CLASS_COMMON,
    .wake = bvt_wake,
    .charge = bvt_charge,
    .pick = bvt_pick,
};
