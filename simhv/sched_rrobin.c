/*
 * Round robin (Xen 2.0's sched_rrobin): every runnable vcpu of a cpu runs in turn for one
 * slice, the node-wide `slice`. No per-domain parameters.
 *
 * Must never keep state of its own beyond the slice: queue order is the engine's fifo.
 */
#include <stddef.h>

#include "sched_class.h"

struct rr_node {
    int64_t slice; /* ns */
};

static const struct sched_param rr_node_params[] = {
    {"slice", 100000, 10000 * (int64_t)SCHED_MS, 10 * (int64_t)SCHED_MS,
     offsetof(struct rr_node, slice)},
};

static void rr_init(struct simhv_sched *s)
{
    const struct sched_param *p = &rr_node_params[0];
    if (s->slice_ns >= (uint64_t)p->min && s->slice_ns <= (uint64_t)p->max)
        ((struct rr_node *)s->priv)->slice = (int64_t)s->slice_ns;
}

/* A woken vcpu joins the back of the queue and waits for the current slice to end. */
static uint64_t rr_wake(struct simhv_sched *s, struct sched_vcpu *sv)
{
    (void)s, (void)sv;
    return SCHED_NEVER;
}

static struct sched_vcpu *rr_pick(struct simhv_sched *s, unsigned c, uint64_t *run_ns)
{
    const struct sched_cpu *cpu = &s->cpus[c];
    struct sched_vcpu *next = NULL;
    for (size_t i = 0; i < cpu->n; i++) {
        struct sched_vcpu *sv = cpu->vcpus[i];
        if (sv->wants && (next == NULL || sv->fifo < next->fifo))
            next = sv;
    }
    *run_ns = next != NULL ? (uint64_t)((struct rr_node *)s->priv)->slice : SCHED_NEVER;
    return next;
}

const struct sched_class simhv_sched_rrobin = {
    .name = "rrobin",
    .node_params = rr_node_params,
    .nnode_params = sizeof(rr_node_params) / sizeof(rr_node_params[0]),
    .gpriv_size = sizeof(struct rr_node),
    .init = rr_init,
    .wake = rr_wake,
    .pick = rr_pick,
};
