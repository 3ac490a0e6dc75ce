/*
 * The simulated cpus of xend-simhv: a clock that follows real time, divided into slices,
 * and a scheduler per physical cpu behind one hook (round robin, BVT, FBVT, Atropos), so
 * that cpu_time grows only while a domain runs and scheduler parameters have observable
 * effects.
 *
 * The domain model (domain.c) owns each struct simhv_vcpu and tells this module when one
 * appears, goes, is paused or unpaused; this module owns scheduling state (sched_priv) and
 * accumulates cpu_time_ns. A guest's demand is its load: the share of time it wants the
 * cpu (sim.load, 10 by default, 100 = cpu-bound); a guest below 100 alternates between
 * wanting the cpu and blocking, deterministically.
 *
 * Never touches sockets or files: unit tests drive it with simulated time alone.
 */
#ifndef SIMHV_SCHED_H
#define SIMHV_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simhv_vcpu {
    uint32_t domid;
    unsigned load_pct;    /* 0..100: how much of the time the guest wants the cpu */
    bool runnable;        /* false while paused, shut down, crashed or not yet built */
    int pin;              /* physical cpu it is pinned to, or -1 */
    uint64_t cpu_time_ns; /* accumulated by the scheduler */
    int last_cpu;         /* the physical cpu it last ran on */
    bool running;         /* running at this instant (for the r/b state flags) */
    void *sched_priv;     /* the scheduler's */
};

struct simhv_sched; /* opaque */

/* A scheduler parameter value by name (same shape as the backend ABI's). */
struct simhv_sched_value {
    const char *name;
    int64_t value;
};

/*
 * Create the scheduler `name` ("rrobin", "bvt", "fbvt", "atropos") for ncpus physical cpus
 * with a default slice of slice_ns, starting at simulated time now_ns. Returns NULL with a
 * message in err for an unknown name.
 */
struct simhv_sched *simhv_sched_new(const char *name, unsigned ncpus, uint64_t slice_ns,
                                    uint64_t now_ns, char *err, size_t err_len);
void simhv_sched_free(struct simhv_sched *s);
const char *simhv_sched_name(const struct simhv_sched *s);

/* Add a vcpu (borrowed until removed); it gets the scheduler's default parameters. */
void simhv_sched_add(struct simhv_sched *s, struct simhv_vcpu *v);
void simhv_sched_remove(struct simhv_sched *s, struct simhv_vcpu *v);
/* The vcpu's runnable or load changed (pause, unpause, shutdown). */
void simhv_sched_update(struct simhv_sched *s, struct simhv_vcpu *v);

/* Run the simulation from its last time up to now_ns, slice by slice. */
void simhv_sched_advance(struct simhv_sched *s, uint64_t now_ns);

/* Per-domain parameters of this scheduler: 0, or -1 with err (unknown name, bad value). */
int simhv_sched_set(struct simhv_sched *s, struct simhv_vcpu *v,
                    const struct simhv_sched_value *values, size_t n, char *err, size_t err_len);
int simhv_sched_get(struct simhv_sched *s, struct simhv_vcpu *v, struct simhv_sched_value *values,
                    size_t n, char *err, size_t err_len);
/* Node-wide settings (bvt ctx_allow, rrobin slice). */
int simhv_sched_node_set(struct simhv_sched *s, const struct simhv_sched_value *values, size_t n,
                         char *err, size_t err_len);

/* --- appended by the scheduler work (issue 8); declarations above are unchanged --- */

/*
 * The workload model's window: a guest with load L below 100 needs L% of each window of
 * wall time as work (its windows start when it becomes runnable), wants the cpu until that
 * is done, then blocks until its next window. Unfinished work is dropped at a window's end.
 */
#define SIMHV_SCHED_WINDOW_NS 100000000ull

/* Node-wide settings as simhv_sched_node_set takes them: 0, or -1 with err. */
int simhv_sched_node_get(struct simhv_sched *s, struct simhv_sched_value *values, size_t n,
                         char *err, size_t err_len);

/*
 * Parameters (names and units are those of the HTTP ops, so that no layer converts):
 *   rrobin   node:   slice (ns, default the slice_ns given to simhv_sched_new, else 10 ms)
 *   bvt/fbvt domain: mcuadv (1..1000000, default 10: the inverse weight), warpback (0|1),
 *                    warpvalue (Xen virtual-time units: one MCU of 100 us at mcuadv 1),
 *                    warpl (ms, warp limit, default 2000), warpu (ms, unwarp requirement,
 *                    default 1000)
 *            node:   ctx_allow (ns, context-switch allowance, default 5 ms)
 *   atropos  domain: period, slice, latency (ns), xtratime (0|1); slice <= period,
 *                    latency <= period; defaults 20/15/5 ms/1 for domain 0, else
 *                    10 s/10 ms/10 s/1 (Xen 2.0)
 */

#endif
