/*
 * The scheduler registry (see scheduler.h): which schedulers plugins added, the one the
 * host runs, and each domain's parameters in its config, applied to every new instance and
 * printed in its info. Their HTTP ops are scheduler_http.c's.
 */
#include "scheduler.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "domain_table.h"
#include "hv.h"
#include "log/log.h"
#include "owner.h"
#include "sxp.h"

struct sched_reg {
    struct xend_plugin *owner;
    const struct xend_sched_ops *ops;
    void *ctx;
};

static struct {
    const char *current;
    struct sched_reg **regs;
    size_t n;
    bool hooks_added;
} S;

static struct sched_reg *find_reg(const char *name)
{
    for (size_t i = 0; i < S.n; i++)
        if (strcmp(S.regs[i]->ops->name, name) == 0)
            return S.regs[i];
    return NULL;
}

size_t xend_sched_scope_params(const struct xend_sched_ops *ops, enum xend_sched_scope scope,
                               const struct xend_sched_param **out)
{
    size_t n = 0;
    for (size_t i = 0; i < ops->nparams && n < XEND_SCHED_MAX_PARAMS; i++)
        if (ops->params[i].scope == scope)
            out[n++] = &ops->params[i];
    return n;
}

/* The domain's stored (sched ...) entry when it is for `ops`, borrowed, or NULL. The
 * lookup is kept in the domain until its config changes (xend_domain_config_changed);
 * builds with assertions check it against a fresh one. */
static const struct xend_sxp *stored_entry(struct xend_domain *dom,
                                           const struct xend_sched_ops *ops)
{
    const struct xend_sxp *s;
    if (dom->sched_entry_known) {
        s = dom->sched_entry;
        assert(s == (dom->config ? xend_sxp_child(dom->config, "sched") : NULL));
    } else {
        s = dom->config ? xend_sxp_child(dom->config, "sched") : NULL;
        dom->sched_entry = s;
        dom->sched_entry_known = true;
    }
    return s && strcmp(xend_sxp_child_value(s, "name", ""), ops->name) == 0 ? s : NULL;
}

/* A parameter's value in a stored entry (may be NULL), or the schema default. */
static int64_t entry_value(const struct xend_sxp *entry, const struct xend_sched_param *p)
{
    long long v;
    return entry && xend_sxp_child_int(entry, p->name, &v) == 0 ? v : p->dflt;
}

int64_t xend_sched_stored_value(struct xend_domain *dom, const struct xend_sched_ops *ops,
                                const struct xend_sched_param *p)
{
    return entry_value(stored_entry(dom, ops), p);
}

/* Apply a domain's stored parameters to a new instance (create, restart, restore and
 * migration; not a reattach, whose instance has them). */
static int apply_stored(const struct xend_hook_event *ev, void *arg)
{
    (void)arg;
    struct xend_domain *dom = ev->dom;
    if (dom == NULL || dom->config == NULL || ev->reason == XEND_HOOK_REATTACH)
        return 0;
    const struct xend_sxp *s = xend_sxp_child(dom->config, "sched");
    if (s == NULL)
        return 0;
    struct sched_reg *reg = find_reg(xend_sxp_child_value(s, "name", ""));
    if (reg == NULL || strcmp(reg->ops->name, S.current) != 0)
        return 0;
    const struct xend_sched_param *params[XEND_SCHED_MAX_PARAMS];
    struct xend_sched_value values[XEND_SCHED_MAX_PARAMS];
    size_t n = xend_sched_scope_params(reg->ops, XEND_SCHED_DOMAIN, params);
    for (size_t i = 0; i < n; i++) {
        values[i].name = params[i]->name;
        values[i].value = xend_sched_stored_value(dom, reg->ops, params[i]);
    }
    struct xend_err err = {0};
    if (XEND_HV_CALL(sched_set, &err, dom->id, reg->ops->name, values, n) < 0)
        xend_log_warn("scheduler parameters not applied", "domain=%s error=\"%s\"", dom->name,
                      xend_err_msg(&err));
    return 0;
}

/* (sched (name bvt) (mcuadv 10) ...) in the info: printed straight into it, as the info of
 * every domain carries one. */
static void print_info(struct xend_domain *dom, struct xend_buf *out)
{
    struct sched_reg *reg = find_reg(S.current);
    if (reg == NULL || dom->id == UINT32_MAX)
        return;
    const struct xend_sched_param *params[XEND_SCHED_MAX_PARAMS];
    size_t n = xend_sched_scope_params(reg->ops, XEND_SCHED_DOMAIN, params);
    if (n == 0)
        return;
    const struct xend_sxp *entry = stored_entry(dom, reg->ops);
    xend_buf_puts(out, " (sched");
    xend_sxp_print_kv(out, "name", reg->ops->name);
    for (size_t i = 0; i < n; i++)
        xend_sxp_print_kv_int(out, params[i]->name, entry_value(entry, params[i]));
    xend_buf_putc(out, ')');
}

int xend_sched_register(struct xend_plugin *self, const struct xend_sched_ops *ops, void *ctx)
{
    if (ops == NULL || ops->size < offsetof(struct xend_sched_ops, validate) || ops->name == NULL ||
        (ops->nparams && ops->params == NULL))
        return -XEND_EINVAL;
    if (ops->flags != 0)
        return -XEND_EINVAL;
    if (find_reg(ops->name)) {
        xend_log_error("scheduler refused", "plugin=%s scheduler=%s reason=\"already registered\"",
                       xend_plugin_name(self), ops->name);
        return -XEND_EEXIST;
    }
    struct sched_reg *reg = xend_xcalloc(1, sizeof(*reg));
    reg->owner = self;
    reg->ops = ops;
    reg->ctx = ctx;
    S.regs = xend_xrealloc(S.regs, (S.n + 1) * sizeof(*S.regs));
    S.regs[S.n++] = reg;
    xend_domain_info_changed_all(); /* the current scheduler's fields may appear */
    return 0;
}

void xend_sched_unregister(const struct xend_sched_ops *ops)
{
    for (size_t i = 0; i < S.n; i++)
        if (S.regs[i]->ops == ops) {
            free(S.regs[i]);
            S.regs[i] = S.regs[--S.n];
            xend_domain_info_changed_all();
            return;
        }
}

const char *xend_sched_current(void)
{
    return S.current;
}

void xend_sched_store(struct xend_domain *dom, const struct xend_sched_ops *ops,
                      const struct xend_sched_value *values, size_t n)
{
    struct xend_sxp *entry = xend_sxp_list_of("sched", NULL);
    xend_sxp_add_kv(entry, "name", ops->name);
    for (size_t i = 0; i < n; i++)
        xend_sxp_add_kv_int(entry, values[i].name, values[i].value);
    if (dom->config == NULL)
        dom->config = xend_sxp_list_of("vm", NULL);
    long at = xend_sxp_child_index(dom->config, "sched");
    if (at >= 0)
        xend_sxp_replace_take(dom->config, (size_t)at, entry);
    else
        xend_sxp_append_take(dom->config, entry);
    xend_domain_config_changed(dom);
}

int xend_sched_init(const char *current)
{
    S.current = current;
    xend_domain_info_changed_all(); /* every info prints the current scheduler's fields */
    if (!S.hooks_added) {
        const struct xend_host_domain *d = xend_domain_host_table();
        d->hook_add(NULL, XEND_HOOK_CREATE, apply_stored, NULL);
        d->hook_add(NULL, XEND_HOOK_RESTART, apply_stored, NULL);
        /* A restored or migrated-in instance is made afresh too. */
        d->hook_add(NULL, XEND_HOOK_RESTORE, apply_stored, NULL);
        xend_domain_info_printer_add(print_info);
        S.hooks_added = true;
    }
    return 0;
}

void xend_sched_remove_owner(struct xend_plugin *owner)
{
    for (size_t i = 0; i < S.n;) {
        if (S.regs[i]->owner == owner) {
            free(S.regs[i]);
            S.regs[i] = S.regs[--S.n];
        } else {
            i++;
        }
    }
    if (owner == NULL) {
        free(S.regs);
        S.regs = NULL;
        S.n = 0;
    }
    xend_domain_info_changed_all();
}

struct xend_sxp *xend_sched_describe(void)
{
    struct xend_sxp *l = xend_sxp_list_of("schedulers", NULL);
    for (size_t i = 0; i < S.n; i++) {
        const struct xend_sched_ops *ops = S.regs[i]->ops;
        struct xend_sxp *s = xend_sxp_list_of("scheduler", NULL);
        xend_sxp_add_kv(s, "name", ops->name);
        xend_sxp_add_kv_int(s, "current", strcmp(ops->name, S.current) == 0);
        struct xend_sxp *ps = xend_sxp_list_of("params", NULL);
        for (size_t k = 0; k < ops->nparams; k++) {
            const struct xend_sched_param *p = &ops->params[k];
            struct xend_sxp *e = xend_sxp_list_of(p->name, NULL);
            xend_sxp_add_kv(e, "scope", p->scope == XEND_SCHED_NODE ? "node" : "domain");
            xend_sxp_add_kv_int(e, "min", p->min);
            xend_sxp_add_kv_int(e, "max", p->max);
            xend_sxp_add_kv_int(e, "default", p->dflt);
            if (p->unit && *p->unit)
                xend_sxp_add_kv(e, "unit", p->unit);
            if (p->doc)
                xend_sxp_add_kv(e, "doc", p->doc);
            xend_sxp_append_take(ps, e);
        }
        xend_sxp_append_take(s, ps);
        xend_sxp_append_take(l, s);
    }
    return l;
}

int xend_sched_op_shown(const char *op)
{
    for (size_t i = 0; i < S.n; i++) {
        const struct xend_sched_ops *ops = S.regs[i]->ops;
        bool current = S.current != NULL && strcmp(ops->name, S.current) == 0;
        for (int scope = 0; scope < 2; scope++) {
            const char *const *names = scope == XEND_SCHED_DOMAIN ? ops->domain_ops : ops->node_ops;
            for (size_t k = 0; names && names[k]; k++)
                if (strcmp(names[k], op) == 0)
                    return current && k == 0;
        }
    }
    return -1;
}
