/*
 * Schedulers: BVT, FBVT, Atropos, round robin, or a third party's, each registered by a
 * plugin as a name, a parameter schema and the HTTP op names that set them.
 *
 * From the schema the core serves the ops (POST /xend/domain/D op=cpu_bvt_set ...,
 * POST /xend/node op=cpu_bvt_slice_set ...), reads and range-checks every parameter
 * (a missing or out-of-range value is an (xend.err "...") naming it, and nothing changes),
 * calls validate() for rules across parameters, refuses ops of a scheduler the host does
 * not run (config `scheduler`), hands the values to the backend, stores per-domain values
 * in the domain's config as (sched (name bvt) (mcuadv 10) ...) so they survive restarts,
 * and shows them in the domain info.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_SCHED_H
#define XEND_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>
#include <xend/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_plugin;

enum xend_sched_scope {
    XEND_SCHED_DOMAIN = 0, /* per domain: set by the domain ops */
    XEND_SCHED_NODE = 1,   /* host-wide: set by the node ops */
};

struct xend_sched_param {
    const char *name;  /* the HTTP parameter and the (sched ...) key: "mcuadv" */
    const char *alias; /* another HTTP name for it (the manual's "warp"), or NULL */
    enum xend_sched_scope scope;
    int64_t min, max; /* inclusive */
    int64_t dflt;     /* used when a domain has never been set */
    bool optional;    /* may be omitted from a set op: keeps its current value */
    const char *unit; /* "ns", "ms", "" */
    const char *doc;  /* one line */
};

struct xend_sched_ops {
    size_t size;                           /* XEND_SCHED_OPS_INIT */
    const char *name;                      /* "bvt": what config `scheduler` names */
    uint32_t flags;                        /* none defined yet: 0 */
    const struct xend_sched_param *params; /* static array */
    size_t nparams;
    /* Domain op names (NULL-terminated), e.g. {"cpu_bvt_set", "bvt_set", NULL}. */
    const char *const *domain_ops;
    /* Node op names (NULL-terminated) or NULL. */
    const char *const *node_ops;
    /*
     * Rules across parameters (Atropos: slice <= period), on the full set of values in
     * schema order for the scope being set. NULL when ranges are enough.
     */
    int (*validate)(void *ctx, enum xend_sched_scope scope, const struct xend_sched_value *v,
                    size_t n, struct xend_err *err);
};

#define XEND_SCHED_OPS_INIT .size = sizeof(struct xend_sched_ops)

struct xend_host_sched {
    size_t size;
    /* Register a scheduler; ops static. -XEND_EEXIST for a taken name or op. */
    int (*add)(struct xend_plugin *self, const struct xend_sched_ops *ops, void *ctx);
    /* The scheduler the host runs (config `scheduler`), borrowed. */
    const char *(*current)(void);
};

#ifdef __cplusplus
}
#endif
#endif
