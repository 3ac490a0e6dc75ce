/*
 * What the scheduler plugins (plugins/sched/...) share: registering one scheduler table at
 * init, with the failure explained. A scheduler plugin is only a description (name,
 * parameter schema, op names, cross-parameter rules); the core serves the ops, the backend
 * applies the values. It must never call the backend or keep per-domain state itself.
 */
#ifndef XEND_SCHED_PLUGIN_H
#define XEND_SCHED_PLUGIN_H

#include <string.h>

#include <xend/host.h>
#include <xend/plugin.h>
#include <xend/sched.h>

static inline int sched_plugin_register(struct xend_plugin *self, const struct xend_host *host,
                                        const struct xend_sched_ops *ops, void *ctx)
{
    if (!XEND_HAS_MEMBER(host, sched) || host->sched == NULL ||
        !XEND_HAS_MEMBER(host->sched, add)) {
        host->plugin_err_set(self, "this xend has no scheduler registry");
        return -XEND_EABI;
    }
    int rc = host->sched->add(self, ops, ctx);
    if (rc < 0)
        host->plugin_err_set(self, "cannot register scheduler %s: %s", ops->name,
                             xend_strerror(rc));
    return rc;
}

/* The value named `name` among the n given to validate(), or NULL. */
static inline const struct xend_sched_value *sched_plugin_value(const struct xend_sched_value *v,
                                                                size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].name != NULL && strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

#endif
