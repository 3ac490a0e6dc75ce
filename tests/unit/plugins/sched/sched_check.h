/*
 * Shared checks for the scheduler plugin tests: load a plugin's descriptor into the fake
 * host, find what it registered, and assert the rules every schema must follow.
 */
#ifndef SCHED_CHECK_H
#define SCHED_CHECK_H

#include <stddef.h>

#include <xend/plugin.h>
#include <xend/sched.h>

/* Start a fake host, init desc in it, and return the scheduler `name` it registered. */
const struct xend_sched_ops *sched_check_load(const struct xend_plugin_desc *desc,
                                              const char *name);
void sched_check_unload(void);
/* Names unique (aliases too), min <= dflt <= max, unit and doc set, op lists well formed. */
void sched_check_schema(const struct xend_sched_ops *ops);
const struct xend_sched_param *sched_check_param(const struct xend_sched_ops *ops,
                                                 const char *name);
/* The NULL-terminated list equals want (NULL-terminated); a NULL list counts as empty. */
void sched_check_ops(const char *const *got, const char *const *want);
/* Run ops->validate on the given domain values; returns rc, message copied to msg. */
int sched_check_validate(const struct xend_sched_ops *ops, const struct xend_sched_value *v,
                         size_t n, char *msg, size_t msg_len);

#endif
