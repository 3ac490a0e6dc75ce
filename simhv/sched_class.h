/*
 * Inside the simulated cpus: the per-class ops table that sched.c dispatches to, and the
 * engine state the classes read (per-cpu vcpu lists, the running vcpu, the clock).
 *
 * The engine (sched.c) owns time, the workload model and every list; a class only keeps
 * its own state (per vcpu, per cpu, per scheduler) and answers wake/sleep/charge/pick.
 * A class never changes the engine's lists or the simhv_vcpu fields, and never looks at
 * another cpu than the one it is asked about. Internal to simhv: not part of any ABI.
 */
#ifndef SIMHV_SCHED_CLASS_H
#define SIMHV_SCHED_CLASS_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched.h"

#define SCHED_NEVER UINT64_MAX
#define SCHED_MS 1000000ull

/* One vcpu as the engine sees it; the class's state follows in priv. */
struct sched_vcpu {
    struct simhv_vcpu *v; /* borrowed from the domain model */
    unsigned cpu;         /* the physical cpu whose runqueue holds it */
    bool wants;           /* on the runqueue: runnable and has work */
    uint64_t fifo;        /* queue order: smaller = queued earlier (ties, round robin) */
    /* Workload (see sched.c): the current window and the work left in it. */
    bool active;   /* runnable with load > 0: its windows are running */
    unsigned load; /* load_pct as last seen */
    bool runnable; /* runnable as last seen */
    int pin;       /* pin as last seen */
    uint64_t window_end;
    uint64_t work_left;
    alignas(max_align_t) unsigned char priv[]; /* the class's per-vcpu state */
};

struct sched_cpu {
    struct sched_vcpu **vcpus; /* every vcpu homed here, wanting or not; owned array */
    size_t n, cap;
    /* The active ones among vcpus (any order; owned array, borrowed entries): the engine
     * looks for the next event among these, so a thousand paused domains cost nothing per
     * step. */
    struct sched_vcpu **act; /* capacity: cap, as vcpus */
    size_t nactive;
    struct sched_vcpu *curr; /* running, or NULL when idle */
    uint64_t since;          /* curr has been charged up to this time */
    uint64_t decide_at;      /* when the class wants to pick again */
    void *priv;              /* the class's per-cpu state; owned */
};

struct simhv_sched {
    const struct sched_class *cls;
    unsigned ncpus;
    uint64_t now;
    uint64_t slice_ns; /* the default given to simhv_sched_new */
    uint64_t seq;      /* source of fifo stamps */
    struct sched_cpu *cpus;
    void *priv; /* the class's scheduler-wide state (node parameters); owned */
};

/*
 * A parameter: an int64_t field at `offset` in the class's per-vcpu state (domain
 * parameters) or in its scheduler-wide state (node parameters). Ranges are inclusive and
 * bound the work a simulation step can cause (no 1 ns periods).
 */
struct sched_param {
    const char *name;
    int64_t min, max, dflt;
    size_t offset;
};

struct sched_class {
    const char *name;
    const struct sched_param *params; /* per domain */
    size_t nparams;
    const struct sched_param *node_params;
    size_t nnode_params;
    size_t vpriv_size, cpriv_size, gpriv_size;
    /* Rules across domain parameters; vals in params order. 0, or -1 with err. */
    int (*validate)(const int64_t *vals, char *err, size_t err_len);
    /* Optional: the scheduler was created, node parameters hold their defaults. */
    void (*init)(struct simhv_sched *s);
    /* Optional: the vcpu joined its cpu (added, or moved by a pin); parameters are set. */
    void (*attach)(struct simhv_sched *s, struct sched_vcpu *sv, bool added);
    /* Optional: domain parameters were set (all valid). */
    void (*changed)(struct simhv_sched *s, struct sched_vcpu *sv);
    /*
     * sv starts wanting the cpu. curr (if any) is charged up to now. Returns the time at
     * which the cpu must pick again (now to preempt, SCHED_NEVER for no change).
     */
    uint64_t (*wake)(struct simhv_sched *s, struct sched_vcpu *sv);
    /* Optional: sv stops wanting the cpu (blocked, paused, removed or moved). */
    void (*sleep)(struct simhv_sched *s, struct sched_vcpu *sv);
    /* Optional: the running sv ran for ran_ns more (up to s->now). */
    void (*charge)(struct simhv_sched *s, struct sched_vcpu *sv, uint64_t ran_ns);
    /*
     * Choose what cpu runs from s->now: a wanting vcpu homed there, or NULL for idle;
     * *run_ns is how long until the class wants to decide again (>= 1, or SCHED_NEVER).
     */
    struct sched_vcpu *(*pick)(struct simhv_sched *s, unsigned cpu, uint64_t *run_ns);
};

static inline void *sched_vpriv(const struct sched_vcpu *sv)
{
    return (void *)sv->priv;
}

static inline int64_t *sched_field(void *base, const struct sched_param *p)
{
    return (int64_t *)((unsigned char *)base + p->offset);
}

extern const struct sched_class simhv_sched_rrobin;
extern const struct sched_class simhv_sched_bvt;
extern const struct sched_class simhv_sched_fbvt;
extern const struct sched_class simhv_sched_atropos;

/*
 * BVT's machinery, shared with FBVT (sched_bvt.c). FBVT is BVT plus three variation
 * points: how a woken domain's virtual time is set, a bonus of run time for domains that
 * slept, and how a run is charged while the bonus lasts.
 */
struct bvt_vcpu {
    int64_t mcuadv, warpback, warpvalue, warpl, warpu; /* parameters; warpl/u in ms */
    int64_t avt; /* actual virtual time, in ns of run x mcuadv */
    int64_t evt; /* effective virtual time: avt - warp while warping */
    bool warping;
    bool penalised;       /* unwarped by the limit: must wait warpu before warping again */
    uint64_t warped_run;  /* ns run during the current warp */
    uint64_t unwarped_at; /* when the limit last ended a warp */
    int64_t time_slept;   /* FBVT: virtual time credited for sleeping */
};

struct bvt_cpu {
    int64_t svt;     /* scheduler virtual time: the least avt among runnable domains */
    int64_t vtb;     /* FBVT: virtual time bonus of the current dispatch */
    uint64_t r_time; /* FBVT: run time granted to the current dispatch */
};

struct bvt_node {
    int64_t ctx_allow; /* ns */
};

struct bvt_variant {
    void (*wake_avt)(struct bvt_vcpu *b, struct bvt_cpu *c);
    int64_t (*bonus)(const struct simhv_sched *s, struct bvt_vcpu *b);
    int64_t (*charge_vt)(struct bvt_vcpu *b, struct bvt_cpu *c, uint64_t ran_ns);
};

/* The pieces of a BVT class; sched_fbvt.c builds its own around its variant. */
#define BVT_NPARAMS 5
#define BVT_NNODE_PARAMS 1
extern const struct sched_param simhv_bvt_params[BVT_NPARAMS];
extern const struct sched_param simhv_bvt_node_params[BVT_NNODE_PARAMS];
uint64_t simhv_bvt_wake(struct simhv_sched *s, struct sched_vcpu *sv,
                        const struct bvt_variant *var);
void simhv_bvt_charge(struct simhv_sched *s, struct sched_vcpu *sv, uint64_t ran_ns,
                      const struct bvt_variant *var);
struct sched_vcpu *simhv_bvt_pick(struct simhv_sched *s, unsigned cpu, uint64_t *run_ns,
                                  const struct bvt_variant *var);
void simhv_bvt_attach(struct simhv_sched *s, struct sched_vcpu *sv, bool added);
void simhv_bvt_sleep(struct simhv_sched *s, struct sched_vcpu *sv);
void simhv_bvt_changed(struct simhv_sched *s, struct sched_vcpu *sv);

#define BVT_CLASS_COMMON                                                                           \
    .params = simhv_bvt_params, .nparams = BVT_NPARAMS, .node_params = simhv_bvt_node_params,      \
    .nnode_params = BVT_NNODE_PARAMS, .vpriv_size = sizeof(struct bvt_vcpu),                       \
    .cpriv_size = sizeof(struct bvt_cpu), .gpriv_size = sizeof(struct bvt_node),                   \
    .attach = simhv_bvt_attach, .changed = simhv_bvt_changed, .sleep = simhv_bvt_sleep

#define BVT_MCU_NS 100000 /* Xen's minimum charging unit, 100 us */

#endif
