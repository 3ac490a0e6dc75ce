/*
 * The route table: (methods, path pattern, op) -> handler, registered by the core and the
 * plugins, and the dispatch rules of docs/http.md (404, 406, 501, 404 invalid domain).
 *
 * Patterns are split into segments once at registration; a `{name}` segment captures one
 * path segment. When several patterns match a path the most specific wins (a literal
 * segment beats a capture, leftmost first), the way the original's resource tree chose a
 * child. The table never calls a handler: request.c does.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "log/log.h"
#include "owner.h"

#define MAX_SEGS 16

/* A path pattern and the routes registered for it (by method and op). A request is matched
 * against each pattern once, then against its own routes only: a walk of every route with
 * strcmp on each literal segment was a tenth of a GET's cost in xend. */
struct pattern {
    size_t nseg;
    char *seg[MAX_SEGS]; /* literal text, or the capture name when cap[i] */
    bool cap[MAX_SEGS];
    const char *cap_name[MAX_SEGS]; /* when cap[i]: seg[i] interned (names_intern) */
    struct xend_http_route *routes; /* in registration order */
    size_t domain_routes;           /* of them, XEND_ROUTE_DOMAIN ones */
    struct pattern *next;
};

struct xend_http_route {
    struct xend_plugin *owner;
    uint32_t methods;
    char *path; /* as registered, for logs */
    char *op;   /* NULL = requests without op */
    xend_route_fn *fn;
    void *arg;
    uint32_t flags;
    uint32_t role; /* enum xend_role: the least that may call it */
    char *doc;
    struct pattern *pat;
    struct xend_http_route *next; /* the next route of its pattern */
};

/* By segment count: a path is matched only against patterns as deep as itself (a walk of
 * all of them touched some thirty blocks per request). */
static struct pattern *patterns[MAX_SEGS + 1];

/* Capture names, kept for the life of the process: a match hands them to its request,
 * which may outlive the route (a deferred request, a plugin unloaded meanwhile), and a copy
 * per request was a malloc and a free on every GET. A few distinct names ever exist. */
struct interned {
    struct interned *next;
    char name[];
};
static struct interned *names;

static const char *names_intern(const char *name)
{
    for (const struct interned *i = names; i != NULL; i = i->next)
        if (strcmp(i->name, name) == 0)
            return i->name;
    size_t len = strlen(name);
    struct interned *i = xend_xmalloc(sizeof(*i) + len + 1);
    memcpy(i->name, name, len + 1);
    i->next = names;
    names = i;
    return i->name;
}
static xend_http_domain_resolver_fn *resolver;

void xend_http_set_domain_resolver(xend_http_domain_resolver_fn *fn)
{
    resolver = fn;
}

static void route_free(struct xend_http_route *r)
{
    free(r->path);
    free(r->op);
    free(r->doc);
    free(r);
}

static void pattern_free(struct pattern *p)
{
    for (size_t i = 0; i < p->nseg; i++)
        free(p->seg[i]);
    free(p);
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* Split a pattern into r->seg; "/" alone is zero segments, one trailing '/' is dropped. */
static int parse_pattern(struct pattern *r, const char *path, struct xend_err *err)
{
    if (path == NULL || path[0] != '/')
        return xend_err_set(err, XEND_EINVAL, "route path must start with '/'");
    const char *p = path + 1;
    size_t len = strlen(p);
    if (len > 0 && p[len - 1] == '/')
        len--;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && p[e] != '/')
            e++;
        if (e == i)
            return xend_err_set(err, XEND_EINVAL, "empty segment in route path %s", path);
        if (r->nseg == MAX_SEGS)
            return xend_err_set(err, XEND_EINVAL, "route path %s too deep", path);
        size_t n = e - i;
        bool cap = p[i] == '{';
        if (cap) {
            if (n < 3 || p[e - 1] != '}' || !valid_name(p + i + 1, n - 2))
                return xend_err_set(err, XEND_EINVAL, "bad capture in route path %s", path);
            for (size_t k = 0; k < r->nseg; k++)
                if (r->cap[k] && strlen(r->seg[k]) == n - 2 &&
                    memcmp(r->seg[k], p + i + 1, n - 2) == 0)
                    return xend_err_set(err, XEND_EINVAL, "capture repeated in route path %s",
                                        path);
            r->seg[r->nseg] = xend_xstrndup(p + i + 1, n - 2);
            r->cap_name[r->nseg] = names_intern(r->seg[r->nseg]);
        } else {
            if (memchr(p + i, '{', n) != NULL || memchr(p + i, '}', n) != NULL)
                return xend_err_set(err, XEND_EINVAL, "bad capture in route path %s", path);
            r->seg[r->nseg] = xend_xstrndup(p + i, n);
        }
        r->cap[r->nseg] = cap;
        r->nseg++;
        i = e + 1;
    }
    return 0;
}

static bool has_capture(const struct pattern *r, const char *name)
{
    for (size_t i = 0; i < r->nseg; i++)
        if (r->cap[i] && strcmp(r->seg[i], name) == 0)
            return true;
    return false;
}

/* Same pattern shape: equal segment count, literals equal, captures in the same places. */
static bool same_pattern(const struct pattern *a, const struct pattern *b)
{
    if (a->nseg != b->nseg)
        return false;
    for (size_t i = 0; i < a->nseg; i++) {
        if (a->cap[i] != b->cap[i])
            return false;
        if (!a->cap[i] && strcmp(a->seg[i], b->seg[i]) != 0)
            return false;
    }
    return true;
}

static bool same_op(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char *method_names(uint32_t m)
{
    if ((m & XEND_HTTP_GET) && (m & XEND_HTTP_POST))
        return "GET,POST";
    return (m & XEND_HTTP_GET) ? "GET" : "POST";
}

int xend_http_route_add(struct xend_plugin *owner, const struct xend_route *route)
{
    struct xend_err err = {0};
    int rc;

    /* Read only the members the caller's struct has (docs/plugins.md: structs passed in begin
     * with size); everything up to flags is required. */
    if (route == NULL || route->size < offsetof(struct xend_route, flags) + sizeof(uint32_t)) {
        rc = xend_err_set(&err, XEND_EINVAL, "route struct too small");
        goto fail;
    }
    if (route->methods == 0 || (route->methods & ~(uint32_t)(XEND_HTTP_GET | XEND_HTTP_POST))) {
        rc = xend_err_set(&err, XEND_EINVAL, "bad route methods 0x%x", route->methods);
        goto fail;
    }
    uint32_t known = XEND_ROUTE_DOMAIN | (owner == NULL ? XEND_ROUTE_CORE_INCOMING : 0u);
    if (route->flags & ~known) {
        rc = xend_err_set(&err, XEND_EINVAL, "unknown route flags 0x%x", route->flags);
        goto fail;
    }
    if (route->fn == NULL) {
        rc = xend_err_set(&err, XEND_EINVAL, "route without handler");
        goto fail;
    }
    if (route->op != NULL && !valid_name(route->op, strlen(route->op))) {
        rc = xend_err_set(&err, XEND_EINVAL, "bad route op '%s'", route->op);
        goto fail;
    }
    /* A route of a plugin built before 1.5 has no role: it needs admin. */
    uint32_t role = XEND_HAS_MEMBER(route, role) ? route->role : XEND_ROLE_ADMIN;
    if (role >= XEND_ROLE_COUNT) {
        rc = xend_err_set(&err, XEND_EINVAL, "unknown route role %u", role);
        goto fail;
    }

    struct pattern *probe = xend_xcalloc(1, sizeof(*probe));
    rc = parse_pattern(probe, route->path, &err);
    if (rc == 0 && (route->flags & XEND_ROUTE_DOMAIN) && !has_capture(probe, "domain"))
        rc = xend_err_set(&err, XEND_EINVAL, "XEND_ROUTE_DOMAIN route %s has no {domain}",
                          route->path);
    if (rc < 0) {
        pattern_free(probe);
        goto fail;
    }
    struct pattern **ptail = &patterns[probe->nseg];
    struct pattern *pat = NULL;
    for (struct pattern *o = *ptail; o != NULL && pat == NULL; o = o->next) {
        if (same_pattern(o, probe))
            pat = o;
        ptail = &o->next;
    }
    struct xend_http_route **tail = pat ? &pat->routes : NULL;
    for (struct xend_http_route *o = pat ? pat->routes : NULL; o != NULL; o = o->next) {
        if ((o->methods & route->methods) && same_op(o->op, route->op)) {
            xend_log_emit(NULL, XEND_LOG_ERROR, "route conflict",
                          "method=%s path=%s op=%s plugin=%s registered_by=%s",
                          method_names(o->methods & route->methods), route->path,
                          route->op ? route->op : "-", xend_plugin_name(owner),
                          xend_plugin_name(o->owner));
            pattern_free(probe);
            return -XEND_EEXIST;
        }
        tail = &o->next;
    }
    if (pat == NULL) {
        pat = *ptail = probe;
        tail = &pat->routes;
    } else {
        pattern_free(probe);
    }
    struct xend_http_route *r = xend_xcalloc(1, sizeof(*r));
    r->owner = owner;
    r->methods = route->methods;
    r->path = xend_xstrdup(route->path);
    r->op = route->op ? xend_xstrdup(route->op) : NULL;
    r->fn = route->fn;
    r->arg = route->arg;
    r->flags = route->flags;
    r->role = role;
    if (route->size >= offsetof(struct xend_route, doc) + sizeof(route->doc) && route->doc != NULL)
        r->doc = xend_xstrdup(route->doc);
    r->pat = pat;
    *tail = r;
    if (r->flags & XEND_ROUTE_DOMAIN)
        pat->domain_routes++;
    return 0;

fail:
    xend_log_emit(NULL, XEND_LOG_ERROR, "route refused", "plugin=%s path=%s reason=\"%s\"",
                  xend_plugin_name(owner),
                  route && route->size >= offsetof(struct xend_route, op)
                      ? (route->path ? route->path : "-")
                      : "-",
                  xend_err_msg(&err));
    return rc;
}

/* Remove the routes of `owner` that `match` accepts (NULL: all of them), at most `max`;
 * a pattern left without routes goes too. Returns how many went. */
static size_t routes_remove(struct xend_plugin *owner, bool any_owner,
                            bool (*match)(const struct xend_http_route *, const void *),
                            const void *arg, size_t max)
{
    size_t n = 0;
    for (size_t depth = 0; depth <= MAX_SEGS; depth++) {
        for (struct pattern **pp = &patterns[depth]; *pp != NULL && n < max;) {
            struct pattern *p = *pp;
            for (struct xend_http_route **rp = &p->routes; *rp != NULL && n < max;) {
                struct xend_http_route *r = *rp;
                if ((any_owner || r->owner == owner) && (match == NULL || match(r, arg))) {
                    *rp = r->next;
                    if (r->flags & XEND_ROUTE_DOMAIN)
                        p->domain_routes--;
                    route_free(r);
                    n++;
                } else {
                    rp = &r->next;
                }
            }
            if (p->routes == NULL) {
                *pp = p->next;
                pattern_free(p);
            } else {
                pp = &p->next;
            }
        }
    }
    return n;
}

struct route_key {
    const struct pattern *pat;
    uint32_t methods;
    const char *op;
};

static bool route_is(const struct xend_http_route *r, const void *arg)
{
    const struct route_key *k = arg;
    return r->methods == k->methods && same_pattern(r->pat, k->pat) && same_op(r->op, k->op);
}

int xend_http_route_remove(struct xend_plugin *owner, const struct xend_route *route)
{
    if (route == NULL || route->size < offsetof(struct xend_route, op) + sizeof(route->op))
        return -XEND_EINVAL;
    struct pattern probe = {0};
    struct xend_err err = {0};
    int rc = parse_pattern(&probe, route->path, &err);
    if (rc == 0) {
        struct route_key k = {.pat = &probe, .methods = route->methods, .op = route->op};
        rc = routes_remove(owner, false, route_is, &k, 1) == 1 ? 0 : -XEND_ENOENT;
    }
    for (size_t i = 0; i < probe.nseg; i++)
        free(probe.seg[i]);
    return rc;
}

void xend_http_routes_remove_owner(struct xend_plugin *owner)
{
    routes_remove(owner, false, NULL, NULL, SIZE_MAX);
}

void xend_http_routes_clear(void)
{
    routes_remove(NULL, true, NULL, NULL, SIZE_MAX);
}

static bool pattern_matches(const struct pattern *r, char *const *segs, size_t nseg)
{
    if (r->nseg != nseg)
        return false;
    for (size_t i = 0; i < nseg; i++) {
        if (r->cap[i]) {
            if (segs[i][0] == '\0')
                return false;
        } else if (r->seg[i][0] != segs[i][0] || strcmp(r->seg[i], segs[i]) != 0) {
            return false; /* (the first letter tells most literals apart without a call) */
        }
    }
    return true;
}

/* Positive when a is more specific than b: the first segment where one is literal and the
 * other a capture decides. */
static int specificity(const struct pattern *a, const struct pattern *b)
{
    for (size_t i = 0; i < a->nseg; i++) {
        if (a->cap[i] != b->cap[i])
            return a->cap[i] ? -1 : 1;
    }
    return 0;
}

/* The most specific pattern matching the path, or NULL. */
static const struct pattern *best_pattern(char *const *segs, size_t nseg)
{
    const struct pattern *best = NULL;
    if (nseg > MAX_SEGS)
        return NULL;
    for (const struct pattern *p = patterns[nseg]; p != NULL; p = p->next)
        if (pattern_matches(p, segs, nseg) && (best == NULL || specificity(p, best) > 0))
            best = p;
    return best;
}

static void set_err(struct xend_http_match *m, int status, const char *fmt, const char *arg)
{
    m->status = status;
    snprintf(m->msg, sizeof(m->msg), fmt, arg);
}

void xend_http_route_match(uint32_t method, char *const *segs, size_t nseg, const char *op,
                           size_t op_count, struct xend_http_match *m, struct xend_domain **domain)
{
    /* Not a memset: the message buffer is most of the struct and is written only on an
     * error. */
    m->status = 0;
    m->msg[0] = '\0';
    m->allow = 0;
    m->route = NULL;
    m->ncap = 0;
    *domain = NULL;

    const struct pattern *pat = best_pattern(segs, nseg);
    if (pat == NULL) {
        /* The message names the path as the client sent it. */
        struct xend_buf p = XEND_BUF_INIT;
        for (size_t i = 0; i < nseg; i++) {
            xend_buf_putc(&p, '/');
            xend_buf_puts(&p, segs[i]);
        }
        set_err(m, 404, "Not found %s", nseg ? xend_buf_str(&p) : "/");
        xend_buf_free(&p);
        return;
    }
    for (size_t i = 0; i < pat->nseg && m->ncap < 8; i++) {
        if (pat->cap[i]) {
            m->cap_name[m->ncap] = pat->cap_name[i];
            m->cap_value[m->ncap] = segs[i];
            m->ncap++;
        }
    }

    /* The walk stops at the op's route: /xend/domain/{domain} has some thirty. */
    const struct xend_http_route *found = pat->routes;
    while (found != NULL && !((found->methods & method) && same_op(found->op, op)))
        found = found->next;
    /* The domain is a child of /xend/domain in the original: an unknown one is 404 before
     * any op is looked at. */
    if (pat->domain_routes > 0) {
        const char *name = NULL;
        for (size_t i = 0; i < m->ncap; i++)
            if (strcmp(m->cap_name[i], "domain") == 0)
                name = m->cap_value[i];
        bool incoming = found != NULL && (found->flags & XEND_ROUTE_CORE_INCOMING);
        *domain = resolver && name ? resolver(name, incoming) : NULL;
        if (*domain == NULL) {
            set_err(m, 404, "invalid domain:%s", name ? name : "");
            return;
        }
    }

    if (op_count > 1 || (method == XEND_HTTP_POST && op == NULL)) {
        set_err(m, 406, "%s", "Invalid request");
        return;
    }
    if (found != NULL) {
        m->route = found;
        return;
    }
    uint32_t other_methods = 0; /* of routes serving the op by another method */
    for (const struct xend_http_route *r = pat->routes; op != NULL && r != NULL; r = r->next)
        if (same_op(r->op, op))
            other_methods |= r->methods;
    /* An op served by another method: a GET of an op that changes state (docs/security.md,
     * "GET never changes state"). */
    if (other_methods != 0) {
        m->allow = other_methods;
        m->status = 405;
        snprintf(m->msg, sizeof(m->msg), "Method not allowed: op %s takes %s", op,
                 method_names(other_methods));
        return;
    }
    /* The 2.0 server's own reply to an op no route serves (docs/http.md): the text the xm
     * client shows, not a missing feature of this xend. */
    if (op != NULL)
        set_err(m, 501, "Operation not implemented: %s", op);
    else
        set_err(m, 405, "%s", "Method not allowed");
}

void xend_http_match_clear(struct xend_http_match *m)
{
    m->ncap = 0;
}

xend_route_fn *xend_http_route_fn(const struct xend_http_route *r, void **arg)
{
    *arg = r->arg;
    return r->fn;
}

uint32_t xend_http_route_flags(const struct xend_http_route *r)
{
    return r->flags;
}

int xend_http_route_role(const struct xend_http_route *r)
{
    return (int)r->role;
}

const char *xend_http_method_names(uint32_t methods)
{
    return method_names(methods);
}

const char *xend_http_route_op(const struct xend_http_route *r)
{
    return r->op;
}

void xend_http_routes_posts_for(char *const *segs, size_t nseg, xend_http_route_visit_fn *fn,
                                void *arg)
{
    const struct pattern *pat = best_pattern(segs, nseg);
    if (pat == NULL)
        return;
    for (const struct xend_http_route *r = pat->routes; r != NULL; r = r->next)
        if ((r->methods & XEND_HTTP_POST) && r->op != NULL)
            fn(r->op, r->doc, (int)r->role, arg);
}
