/*
 * Schedulers: the registry of scheduler plugins, and each domain's parameters kept in its
 * config as (sched (name N) (param V) ...), applied to each new instance and shown as the
 * (sched ...) of its info. The HTTP ops served from their schemas are
 * scheduler_http.h's. The core names no scheduler.
 */
#ifndef XEND_CORE_SCHEDULER_H
#define XEND_CORE_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include <xend/sched.h>

struct xend_domain;
struct xend_plugin;

/* The most parameters of one scope a scheduler's schema may have that the core uses. */
#define XEND_SCHED_MAX_PARAMS 32

/* `current` is the config's `scheduler` (borrowed for the process's life). */
int xend_sched_init(const char *current);
/* Register a scheduler (ops static): -XEND_EINVAL for a bad schema, -XEND_EEXIST (logged)
 * for a taken name. */
int xend_sched_register(struct xend_plugin *self, const struct xend_sched_ops *ops, void *ctx);
void xend_sched_unregister(const struct xend_sched_ops *ops);
void xend_sched_remove_owner(struct xend_plugin *owner);
/* The scheduler the host runs (config `scheduler`), borrowed. */
const char *xend_sched_current(void);
/* The parameters of `scope`, in schema order, at most XEND_SCHED_MAX_PARAMS. */
size_t xend_sched_scope_params(const struct xend_sched_ops *ops, enum xend_sched_scope scope,
                               const struct xend_sched_param **out);
/* The stored value of a domain's parameter, or the schema default. */
int64_t xend_sched_stored_value(struct xend_domain *dom, const struct xend_sched_ops *ops,
                                const struct xend_sched_param *p);
/* Keep values as dom's (sched ...) in its config (in memory: the caller persists it). */
void xend_sched_store(struct xend_domain *dom, const struct xend_sched_ops *ops,
                      const struct xend_sched_value *values, size_t n);
/* (schedulers (scheduler (name N) (current 0|1) (params ...)) ...), owned. */
struct xend_sxp *xend_sched_describe(void);

/* For pages: 1 when op is the first op name of the scheduler the host runs (the one a form
 * shows), 0 for another scheduler's op or another name of the same op, -1 when op is no
 * scheduler's. */
int xend_sched_op_shown(const char *op);

#endif
