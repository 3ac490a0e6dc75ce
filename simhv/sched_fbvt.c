/*
 * Fair BVT (Xen 2.0's sched_fair_bvt.c, G. Milos 2004): BVT that keeps a domain's share
 * when it mixes cpu work with blocking. Plain BVT resumes a sleeper at max(A, SVT), so the
 * time it slept is simply lost; FBVT banks that lag as time_slept and pays it back in two
 * limited ways: a woken domain resumes slightly before SVT (an I/O warp of at most half its
 * bank, capped), and when dispatched it may run longer (a virtual-time bonus of a fifth of
 * its bank, capped at ctx_allow), its A advancing slower while it uses the bonus.
 *
 * Same parameters as BVT. Everything else is sched_bvt.c's; this file only holds the three
 * variation points and must not duplicate BVT's dispatch logic.
 */
#include <stddef.h>

#include "sched_class.h"

#define IO_WARP_MAX (1000 * (int64_t)BVT_MCU_NS) /* Xen: 1000 virtual-time units */
#define SLEPT_MAX ((int64_t)1 << 50)             /* Xen halves the bank near overflow */

static void fbvt_wake_avt(struct bvt_vcpu *b, struct bvt_cpu *c)
{
    if (b->avt >= c->svt)
        return;
    int64_t io_warp = b->time_slept / 2;
    if (io_warp > IO_WARP_MAX)
        io_warp = IO_WARP_MAX;
    b->time_slept += c->svt - b->avt - io_warp;
    if (b->time_slept < 0)
        b->time_slept = 0;
    if (b->time_slept > SLEPT_MAX)
        b->time_slept /= 2;
    b->avt = c->svt - io_warp;
}

static int64_t fbvt_bonus(const struct simhv_sched *s, struct bvt_vcpu *b)
{
    int64_t vtb = b->time_slept / 5;
    int64_t max_vtb = ((const struct bvt_node *)s->priv)->ctx_allow * b->mcuadv;
    return vtb > max_vtb ? max_vtb : vtb;
}

/* The bonus is consumed in proportion to the part of the granted run actually used. */
static int64_t fbvt_charge_vt(struct bvt_vcpu *b, struct bvt_cpu *c, uint64_t ran_ns)
{
    int64_t dec = 0;
    if (c->r_time > 0 && c->vtb > 0)
        dec = (int64_t)((double)c->vtb * (double)ran_ns / (double)c->r_time);
    if (dec > b->time_slept)
        dec = b->time_slept;
    b->time_slept -= dec;
    return (int64_t)ran_ns * b->mcuadv - dec;
}

static const struct bvt_variant fair = {
    .wake_avt = fbvt_wake_avt,
    .bonus = fbvt_bonus,
    .charge_vt = fbvt_charge_vt,
};

static uint64_t fbvt_wake(struct simhv_sched *s, struct sched_vcpu *sv)
{
    return simhv_bvt_wake(s, sv, &fair);
}

static void fbvt_charge(struct simhv_sched *s, struct sched_vcpu *sv, uint64_t ran_ns)
{
    simhv_bvt_charge(s, sv, ran_ns, &fair);
}

static struct sched_vcpu *fbvt_pick(struct simhv_sched *s, unsigned c, uint64_t *run_ns)
{
    return simhv_bvt_pick(s, c, run_ns, &fair);
}

const struct sched_class simhv_sched_fbvt = {
    .name = "fbvt",
    BVT_CLASS_COMMON,
    .wake = fbvt_wake,
    .charge = fbvt_charge,
    .pick = fbvt_pick,
};
