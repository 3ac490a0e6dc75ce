/*
 * Schedulers: the registry of scheduler plugins, and the HTTP ops served from their
 * parameter schemas (range checks, the plugin's validate, the backend call, persistence in
 * the domain config as (sched (name N) (param V) ...), and the (sched ...) of the domain
 * info). The core names no scheduler.
 */
#ifndef XEND_CORE_SCHEDULER_H
#define XEND_CORE_SCHEDULER_H

#include <xend/sched.h>

struct xend_plugin;

/* `current` is the config's `scheduler` (borrowed for the process's life). */
int xend_sched_init(const char *current);
const struct xend_host_sched *xend_sched_host_table(void);
void xend_sched_remove_owner(struct xend_plugin *owner);
/* (schedulers (scheduler (name N) (current 0|1) (params ...)) ...), owned. */
struct xend_sxp *xend_sched_describe(void);

/* For pages: 1 when op is the first op name of the scheduler the host runs (the one a form
 * shows), 0 for another scheduler's op or another name of the same op, -1 when op is no
 * scheduler's. */
int xend_sched_op_shown(const char *op);

#endif
