/*
 * Shared by the test-only plugins (header only, so each .so keeps its own copy and still
 * exports nothing but xend_plugin_desc): a recorder of the lifecycle hooks a plugin saw,
 * in order, served as SXP by a route and logged as "test hook" lines. The log lines of
 * several plugins interleave in the order the core called them, which is what the hook
 * order tests read. Never used by a real plugin.
 */
#ifndef XEND_TEST_RECORDER_H
#define XEND_TEST_RECORDER_H

#include <stdio.h>
#include <string.h>

#include <xend/host.h>

#define RECORDER_MAX 256

struct recorder {
    const char *plugin;           /* the plugin's name, static */
    const struct xend_host *host; /* borrowed for the life of the plugin */
    struct xend_plugin *self;
    const char *veto_domain; /* CREATE of this domain fails (NULL: never) */
    size_t n;
    char entry[RECORDER_MAX][96]; /* "create vm1 normal" */
};

static inline const char *recorder_point(enum xend_hook_point p)
{
    switch (p) {
    case XEND_HOOK_CREATE:
        return "create";
    case XEND_HOOK_DESTROY:
        return "destroy";
    default:
        return "other";
    }
}

static inline const char *recorder_reason(enum xend_hook_reason r)
{
    switch (r) {
    case XEND_HOOK_NORMAL:
        return "normal";
    case XEND_HOOK_ROLLBACK:
        return "rollback";
    case XEND_HOOK_REATTACH:
        return "reattach";
    case XEND_HOOK_FOR_RESTART:
        return "for-restart";
    default:
        return "other";
    }
}

static inline int recorder_hook(const struct xend_hook_event *ev, void *arg)
{
    struct recorder *r = arg;
    const char *dom = ev->dom ? r->host->domain->name(ev->dom) : "-";
    const char *point = recorder_point(ev->point), *reason = recorder_reason(ev->reason);
    if (r->n < RECORDER_MAX)
        snprintf(r->entry[r->n++], sizeof(r->entry[0]), "%s %s %s", point, dom, reason);
    r->host->log->emit(r->self, XEND_LOG_INFO, "test hook", "point=%s domain=%s reason=%s", point,
                       dom, reason);
    if (ev->point == XEND_HOOK_CREATE && r->veto_domain && strcmp(dom, r->veto_domain) == 0)
        return xend_err_set(ev->err, XEND_EINVAL, "%s vetoes %s", r->plugin, dom);
    return 0;
}

/* GET /xend/test/<plugin>: (<plugin> (create vm1 normal) (destroy vm1 normal) ...) */
static inline int recorder_route(struct xend_request *req, void *arg)
{
    struct recorder *r = arg;
    const struct xend_host_sxp *sxp = r->host->sxp;
    struct xend_sxp *l = sxp->append_take(sxp->list(), sxp->atom(r->plugin));
    for (size_t i = 0; i < r->n; i++) {
        struct xend_sxp *e = sxp->list();
        char copy[sizeof(r->entry[0])];
        snprintf(copy, sizeof(copy), "%s", r->entry[i]);
        for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
            sxp->append_take(e, sxp->atom(w));
        sxp->append_take(l, e);
    }
    r->host->http->reply_take(req, 0, l);
    return 0;
}

/* Register the route and the CREATE and DESTROY hooks; 0 or the first failure's code. */
static inline int recorder_register(struct recorder *r, struct xend_plugin *self,
                                    const struct xend_host *host, const char *path)
{
    r->self = self;
    r->host = host;
    r->n = 0; /* a plugin loaded again after a stop starts a fresh record */
    struct xend_route route = {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET,
                               .path = path,    .fn = recorder_route,
                               .arg = r,        .doc = "test plugin record"};
    int rc = host->http->route_add(self, &route);
    if (rc < 0) {
        host->plugin_err_set(self, "cannot register GET %s", path);
        return rc;
    }
    rc = host->domain->hook_add(self, XEND_HOOK_CREATE, recorder_hook, r);
    if (rc == 0)
        rc = host->domain->hook_add(self, XEND_HOOK_DESTROY, recorder_hook, r);
    if (rc < 0)
        host->plugin_err_set(self, "cannot add hooks");
    return rc;
}

#endif
