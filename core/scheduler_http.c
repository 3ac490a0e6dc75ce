/* The schedulers' HTTP ops (see scheduler_http.h). */
#include "scheduler_http.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "domain_table.h"
#include "domain_http.h"
#include "http/server.h"
#include "hv.h"
#include "lifecycle.h"
#include "log/log.h"
#include "scheduler.h"
#include "sxp.h"

/* The routes of one scheduler, owned here from its add until its owner goes. */
struct sched_routes {
    struct sched_routes *next;
    struct xend_plugin *owner;
    const struct xend_sched_ops *ops;
    void *ctx;
    struct sched_route *routes;
    size_t nroutes;
    /* The routes' docs, one per scope, naming the fields (so a page's form has them). */
    char *doc[2];
};

struct sched_route {
    struct sched_routes *set;
    enum xend_sched_scope scope;
    struct xend_route route;
};

static struct sched_routes *sets;

static int read_param(struct xend_request *req, const struct xend_sched_param *p, bool *given,
                      long long *v)
{
    const struct xend_host_http *http = xend_http_host_table();
    const char *name = p->name;
    if (http->arg_str(req, name) == NULL && p->alias && http->arg_str(req, p->alias))
        name = p->alias;
    *given = http->arg_str(req, name) != NULL;
    if (!*given)
        return p->optional
                   ? 0
                   : xend_err_set(http->err(req), XEND_EINVAL, "Missing parameter: %s", p->name);
    int rc = http->arg_int(req, name, v);
    if (rc < 0)
        return rc;
    if (*v < p->min || *v > p->max)
        return xend_err_set(http->err(req), XEND_EINVAL,
                            "invalid %s: %lld (must be between %lld and %lld%s%s)", p->name, *v,
                            (long long)p->min, (long long)p->max, p->unit && *p->unit ? " " : "",
                            p->unit ? p->unit : "");
    return 0;
}

static int handle_op(struct xend_request *req, void *arg)
{
    struct sched_route *sr = arg;
    const struct xend_sched_ops *ops = sr->set->ops;
    const struct xend_host_http *http = xend_http_host_table();
    struct xend_err *err = http->err(req);
    if (strcmp(xend_sched_current(), ops->name) != 0)
        return xend_err_set(err, XEND_EINVAL,
                            "%s parameters cannot be set: this host runs the %s scheduler",
                            ops->name, xend_sched_current());
    struct xend_domain *dom = sr->scope == XEND_SCHED_DOMAIN ? http->domain(req) : NULL;
    const struct xend_sched_param *params[XEND_SCHED_MAX_PARAMS];
    size_t n = xend_sched_scope_params(ops, sr->scope, params);
    struct xend_sched_value values[XEND_SCHED_MAX_PARAMS];
    for (size_t i = 0; i < n; i++) {
        bool given;
        long long v = 0;
        int rc = read_param(req, params[i], &given, &v);
        if (rc < 0)
            return rc;
        values[i].name = params[i]->name;
        values[i].value =
            given ? v : (dom ? xend_sched_stored_value(dom, ops, params[i]) : params[i]->dflt);
    }
    if (ops->validate) {
        int rc = ops->validate(sr->set->ctx, sr->scope, values, n, err);
        if (rc < 0)
            return rc;
    }
    int rc;
    if (sr->scope == XEND_SCHED_NODE) {
        rc = XEND_HV_CALL(sched_node_set, err, ops->name, values, n);
    } else if (dom == NULL) {
        /* A domain route's request always names one (XEND_ROUTE_DOMAIN). */
        return xend_err_set(err, XEND_ENOENT, "no domain");
    } else {
        if (dom->id == UINT32_MAX)
            return xend_err_set(err, XEND_EBUSY, "Domain %s is not running", dom->name);
        rc = XEND_HV_CALL(sched_set, err, dom->id, ops->name, values, n);
    }
    if (rc < 0)
        return rc;
    if (dom) {
        xend_sched_store(dom, ops, values, n); /* in the config: survives restarts */
        xend_log_info("scheduler parameters set", "domain=%s scheduler=%s", dom->name, ops->name);
        /* Acknowledged once durable: the parameters must survive a crash. */
        http->reply_take(req, 0, xend_sxp_atom_int(0));
        http->defer(req);
        xend_lifecycle_persist(dom, xend_domain_http_reply_when_durable, req);
        return 0;
    }
    xend_log_info("node scheduler parameters set", "scheduler=%s", ops->name);
    http->reply_take(req, 0, xend_sxp_atom_int(0));
    return 0;
}

static int sched_add(struct xend_plugin *self, const struct xend_sched_ops *ops, void *ctx)
{
    int rc = xend_sched_register(self, ops, ctx);
    if (rc < 0)
        return rc;
    struct sched_routes *reg = xend_xcalloc(1, sizeof(*reg));
    reg->owner = self;
    reg->ops = ops;
    reg->ctx = ctx;
    /* One route per op name; the array is sized first so route args stay put. */
    for (const char *const *n = ops->domain_ops; n && *n; n++)
        reg->nroutes++;
    for (const char *const *n = ops->node_ops; n && *n; n++)
        reg->nroutes++;
    reg->routes = xend_xcalloc(reg->nroutes ? reg->nroutes : 1, sizeof(*reg->routes));
    for (int scope = 0; scope < 2; scope++) {
        struct xend_buf d = XEND_BUF_INIT;
        xend_buf_printf(&d, "%s scheduler parameters. params:", ops->name);
        const struct xend_sched_param *params[XEND_SCHED_MAX_PARAMS];
        size_t np = xend_sched_scope_params(ops, (enum xend_sched_scope)scope, params);
        for (size_t i = 0; i < np; i++)
            xend_buf_printf(&d, " %s", params[i]->name);
        reg->doc[scope] = xend_buf_steal(&d);
    }
    size_t k = 0;
    for (int scope = 0; scope < 2 && rc == 0; scope++) {
        const char *const *names = scope == XEND_SCHED_DOMAIN ? ops->domain_ops : ops->node_ops;
        for (size_t i = 0; names && names[i] && rc == 0; i++, k++) {
            struct sched_route *sr = &reg->routes[k];
            sr->set = reg;
            sr->scope = (enum xend_sched_scope)scope;
            sr->route = (struct xend_route){
                XEND_ROUTE_INIT,
                .methods = XEND_HTTP_POST,
                .path = scope == XEND_SCHED_DOMAIN ? "/xend/domain/{domain}" : "/xend/node",
                .op = names[i],
                .fn = handle_op,
                .arg = sr,
                .flags = scope == XEND_SCHED_DOMAIN ? XEND_ROUTE_DOMAIN : 0,
                .doc = reg->doc[scope],
                /* What share of the host's cpu a domain gets: the host's, not a guest's. */
                .role = XEND_ROLE_ADMIN,
            };
            rc = xend_http_route_add(self, &sr->route);
        }
    }
    if (rc < 0) {
        xend_http_routes_remove_owner(self);
        free(reg->routes);
        free(reg->doc[0]);
        free(reg->doc[1]);
        free(reg);
        xend_sched_unregister(ops);
        return rc;
    }
    reg->next = sets;
    sets = reg;
    return 0;
}

static const struct xend_host_sched host_table = {
    .size = sizeof(struct xend_host_sched),
    .add = sched_add,
    .current = xend_sched_current,
};

const struct xend_host_sched *xend_sched_http_host_table(void)
{
    return &host_table;
}

void xend_sched_http_remove_owner(struct xend_plugin *owner)
{
    for (struct sched_routes **p = &sets; *p != NULL;) {
        struct sched_routes *r = *p;
        if (r->owner != owner) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        free(r->routes);
        free(r->doc[0]);
        free(r->doc[1]);
        free(r);
    }
}
