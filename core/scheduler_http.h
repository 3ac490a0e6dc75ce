/*
 * The HTTP ops of the schedulers plugins add: one route per op name of each scheduler's
 * schema, served by one generic handler, so that a third party's scheduler gets range
 * checks, its own validate, the backend call, persistence and HTML/SXP rendering without
 * code of its own. Plugins add schedulers through this part's host table, which registers
 * the scheduler (scheduler.h) and then its routes.
 */
#ifndef XEND_CORE_SCHEDULER_HTTP_H
#define XEND_CORE_SCHEDULER_HTTP_H

#include <xend/sched.h>

struct xend_plugin;

const struct xend_host_sched *xend_sched_http_host_table(void);
/* Drop the routes' records of owner's schedulers (the router drops the routes). */
void xend_sched_http_remove_owner(struct xend_plugin *owner);

#endif
