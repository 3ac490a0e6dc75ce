/*
 * The domain table, hooks, describers and the info SXP (see domain_table.h). Knows no device
 * class and no backend: devices are described through device.c, the hypervisor through
 * hv.c.
 */
#include "domain_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "device_registry.h"
#include "domain_runtime.h"
#include "domain_time.h"
#include "gather.h"
#include "hv.h"
#include "log/log.h"
#include "event_loop.h"
#include "owner.h"
#include "record_limits.h"

#define DOMAIN_MAGIC 0x444f4d31u /* "DOM1" */
#define NAME_BUCKETS 4096

struct hook_reg {
    struct xend_plugin *owner;
    enum xend_hook_point point;
    xend_hook_fn *fn;
    void *arg;
};

struct describer_reg {
    struct xend_plugin *owner;
    xend_describe_fn *fn;          /* a tree describer, or */
    xend_describe_print_fn *print; /* a text one */
    void *arg;
    bool kept; /* its text is kept with the info until describe_changed (ABI 1.9) */
};

static struct {
    struct xend_domain *by_name[NAME_BUCKETS];
    struct xend_domain **by_id; /* buckets by id % id_buckets */
    size_t id_buckets;
    size_t count;
    /* Every domain in (id, name) order: a list of ten thousand domains sorted them all on
     * every request. [0, sorted_n) is in order; the domains added after it out of order
     * wait at the end until the table is read (sorted_settle): a start adds its domains in
     * the order of their store keys, and moving the array on each of 10,000 adds was a
     * tenth of a start. */
    struct xend_domain **sorted;
    size_t sorted_cap, sorted_n;
    /* Bumped when what every domain's info prints changes at once (a describer or printer
     * added or gone): each kept info text remembers the epoch it was printed in. */
    uint64_t info_epoch;
    struct xend_buf info_scratch; /* where a kept info text is printed first */
    struct hook_reg *hooks;
    size_t nhooks;
    struct describer_reg *describers;
    size_t ndescribers;
    xend_domain_info_printer_fn **printers;
    size_t nprinters;
} T;

static void info_text_free(struct xend_info_text *t);

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NAME_BUCKETS;
}

int xend_domain_table_init(void)
{
    T.id_buckets = 4096;
    T.by_id = xend_xcalloc(T.id_buckets, sizeof(*T.by_id));
    return 0;
}

static void id_unlink(struct xend_domain *dom)
{
    for (struct xend_domain **pp = &T.by_id[dom->id % T.id_buckets]; *pp; pp = &(*pp)->id_next)
        if (*pp == dom) {
            *pp = dom->id_next;
            dom->id_next = NULL;
            return;
        }
}

static void id_link(struct xend_domain *dom)
{
    struct xend_domain **b = &T.by_id[dom->id % T.id_buckets];
    dom->id_next = *b;
    *b = dom;
}

static int cmp_dom(const struct xend_domain *x, const struct xend_domain *y)
{
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Where dom is, or would go, in T.sorted's ordered part. Names are unique, so keys are
 * too. */
static size_t sorted_at(const struct xend_domain *dom)
{
    size_t lo = 0, hi = T.sorted_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_dom(T.sorted[mid], dom) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Into the ordered part, as the last of the waiting ones: its slot is free. */
static void sorted_place(struct xend_domain *dom)
{
    size_t at = sorted_at(dom);
    memmove(&T.sorted[at + 1], &T.sorted[at], (T.sorted_n - at) * sizeof(*T.sorted));
    T.sorted[at] = dom;
    T.sorted_n++;
}

static int cmp_dom_ptr(const void *a, const void *b)
{
    return cmp_dom(*(struct xend_domain *const *)a, *(struct xend_domain *const *)b);
}

/* The waiting domains merged into the ordered part: one by one when they are few, else
 * sorted and merged from the back, in one pass over the array. */
#define SORTED_FEW 8
static void sorted_settle(void)
{
    size_t k = T.count - T.sorted_n;
    if (k == 0)
        return;
    if (k <= SORTED_FEW) {
        struct xend_domain *wait[SORTED_FEW];
        memcpy(wait, &T.sorted[T.sorted_n], k * sizeof(*wait));
        for (size_t i = 0; i < k; i++)
            sorted_place(wait[i]);
        return;
    }
    struct xend_domain **wait = xend_xmalloc(k * sizeof(*wait));
    memcpy(wait, &T.sorted[T.sorted_n], k * sizeof(*wait));
    qsort(wait, k, sizeof(*wait), cmp_dom_ptr);
    size_t i = T.sorted_n, j = k, out = T.count;
    while (j > 0) {
        if (i > 0 && cmp_dom(T.sorted[i - 1], wait[j - 1]) > 0)
            T.sorted[--out] = T.sorted[--i];
        else
            T.sorted[--out] = wait[--j];
    }
    free(wait);
    T.sorted_n = T.count;
}

/* T.count already counts dom. A new domain usually takes the highest id: in order then. */
static void sorted_insert(struct xend_domain *dom)
{
    size_t n = T.count - 1;
    if (T.count > T.sorted_cap) {
        T.sorted_cap = T.sorted_cap ? 2 * T.sorted_cap : 64;
        T.sorted = xend_xrealloc(T.sorted, T.sorted_cap * sizeof(*T.sorted));
    }
    T.sorted[n] = dom;
    if (T.sorted_n == n && (n == 0 || cmp_dom(T.sorted[n - 1], dom) < 0))
        T.sorted_n++;
}

/* Before T.count stops counting dom. A waiting one is looked for from the end: a start
 * gives a domain its id right after adding it. */
static void sorted_remove(const struct xend_domain *dom)
{
    for (size_t i = T.count; i > T.sorted_n; i--)
        if (T.sorted[i - 1] == dom) {
            memmove(&T.sorted[i - 1], &T.sorted[i], (T.count - i) * sizeof(*T.sorted));
            return;
        }
    size_t at = sorted_at(dom);
    if (at < T.sorted_n && T.sorted[at] == dom) {
        memmove(&T.sorted[at], &T.sorted[at + 1], (T.count - at - 1) * sizeof(*T.sorted));
        T.sorted_n--;
    }
}

struct xend_domain *xend_domain_new(const char *name)
{
    if (xend_domain_by_name(name) != NULL)
        return NULL;
    struct xend_domain *d = xend_xcalloc(1, sizeof(*d));
    d->magic = DOMAIN_MAGIC;
    d->id = UINT32_MAX; /* no hypervisor domain yet */
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->shutdown_requested = -1;
    d->phase = XEND_DOM_CREATING;
    struct xend_domain **b = &T.by_name[name_hash(d->name)];
    d->name_next = *b;
    *b = d;
    id_link(d);
    T.count++;
    sorted_insert(d);
    return d;
}

void xend_domain_set_id(struct xend_domain *dom, uint32_t id)
{
    id_unlink(dom);
    sorted_remove(dom);
    dom->id = id;
    id_link(dom);
    sorted_insert(dom);
    xend_domain_info_changed(dom);
}

void xend_domain_free(struct xend_domain *dom)
{
    if (dom == NULL)
        return;
    for (struct xend_domain **pp = &T.by_name[name_hash(dom->name)]; *pp; pp = &(*pp)->name_next)
        if (*pp == dom) {
            *pp = dom->name_next;
            break;
        }
    id_unlink(dom);
    sorted_remove(dom);
    T.count--;
    for (size_t i = 0; i < dom->nprivs; i++)
        if (dom->privs[i].free_fn)
            dom->privs[i].free_fn(dom->privs[i].priv);
    free(dom->privs);
    xend_devices_free_all(dom);
    xend_sxp_free(dom->config);
    free(dom->config_text);
    info_text_free(dom->info_text);
    free(dom->halt_reason);
    free(dom->doubt);
    xend_sxp_free(dom->mark);
    dom->magic = 0;
    free(dom);
}

struct xend_domain *xend_domain_by_name(const char *name)
{
    for (struct xend_domain *d = T.by_name[name_hash(name)]; d; d = d->name_next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

struct xend_domain *xend_domain_by_id(uint32_t id)
{
    for (struct xend_domain *d = T.by_id[id % T.id_buckets]; d; d = d->id_next)
        if (d->id == id)
            return d;
    return NULL;
}

struct xend_domain *xend_domain_lookup(const char *name_or_id)
{
    struct xend_domain *d = xend_domain_by_name(name_or_id);
    long long id;
    if (d == NULL && xend_sxp_text_int(name_or_id, &id) && id >= 0 && id < UINT32_MAX)
        d = xend_domain_by_id((uint32_t)id);
    return d;
}

size_t xend_domain_all(struct xend_domain ***out)
{
    sorted_settle();
    struct xend_domain **v = xend_xcalloc(T.count ? T.count : 1, sizeof(*v));
    if (T.count > 0)
        memcpy(v, T.sorted, T.count * sizeof(*v));
    *out = v;
    return T.count;
}

struct xend_domain *const *xend_domain_sorted(size_t *n)
{
    sorted_settle();
    *n = T.count;
    return T.sorted;
}

size_t xend_domain_count(void)
{
    return T.count;
}

void xend_domain_table_free(void)
{
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++)
        xend_domain_free(all[i]);
    free(all);
    free(T.by_id);
    free(T.sorted);
    xend_buf_free(&T.info_scratch);
    free(T.hooks);
    free(T.describers);
    free(T.printers);
    memset(&T, 0, sizeof(T));
}

/* ---- hooks ---- */

static bool point_runs_reverse(enum xend_hook_point p)
{
    switch (p) {
    case XEND_HOOK_PAUSE:
    case XEND_HOOK_SHUTDOWN:
    case XEND_HOOK_DIED:
    case XEND_HOOK_DESTROY:
    case XEND_HOOK_SAVE:
    case XEND_HOOK_XEND_STOP:
        return true;
    default:
        return false;
    }
}

static bool point_may_veto(enum xend_hook_point p)
{
    return p == XEND_HOOK_VALIDATE || p == XEND_HOOK_CREATE || p == XEND_HOOK_RESTORE;
}

static const char *point_name(enum xend_hook_point p)
{
    static const char *const names[XEND_HOOK_COUNT] = {
        "validate", "create",  "unpause", "pause",   "shutdown",   "died",
        "destroy",  "restart", "save",    "restore", "xend-start", "xend-stop"};
    return p < XEND_HOOK_COUNT ? names[p] : "?";
}

static int hook_add(struct xend_plugin *self, enum xend_hook_point point, xend_hook_fn *fn,
                    void *arg)
{
    if ((unsigned)point >= XEND_HOOK_COUNT || fn == NULL)
        return -XEND_EINVAL;
    T.hooks = xend_xrealloc(T.hooks, (T.nhooks + 1) * sizeof(*T.hooks));
    T.hooks[T.nhooks++] = (struct hook_reg){self, point, fn, arg};
    return 0;
}

static int hook_remove(struct xend_plugin *self, enum xend_hook_point point, xend_hook_fn *fn,
                       void *arg)
{
    for (size_t i = 0; i < T.nhooks; i++)
        if (T.hooks[i].owner == self && T.hooks[i].point == point && T.hooks[i].fn == fn &&
            T.hooks[i].arg == arg) {
            memmove(&T.hooks[i], &T.hooks[i + 1], (T.nhooks - i - 1) * sizeof(*T.hooks));
            T.nhooks--;
            return 0;
        }
    return -XEND_ENOENT;
}

static int describer_add(struct describer_reg reg)
{
    if (reg.fn == NULL && reg.print == NULL)
        return -XEND_EINVAL;
    T.describers = xend_xrealloc(T.describers, (T.ndescribers + 1) * sizeof(*T.describers));
    T.describers[T.ndescribers++] = reg;
    xend_domain_info_changed_all();
    return 0;
}

static int describe_add(struct xend_plugin *self, xend_describe_fn *fn, void *arg)
{
    return describer_add((struct describer_reg){.owner = self, .fn = fn, .arg = arg});
}

static int describe_print_add(struct xend_plugin *self, xend_describe_print_fn *fn, void *arg)
{
    return describer_add((struct describer_reg){.owner = self, .print = fn, .arg = arg});
}

static int describe_print_kept_add(struct xend_plugin *self, xend_describe_print_fn *fn, void *arg)
{
    return describer_add(
        (struct describer_reg){.owner = self, .print = fn, .arg = arg, .kept = true});
}

void xend_domain_remove_owner(struct xend_plugin *owner)
{
    size_t j = 0;
    for (size_t i = 0; i < T.nhooks; i++)
        if (T.hooks[i].owner != owner)
            T.hooks[j++] = T.hooks[i];
    T.nhooks = j;
    j = 0;
    for (size_t i = 0; i < T.ndescribers; i++)
        if (T.describers[i].owner != owner)
            T.describers[j++] = T.describers[i];
    T.ndescribers = j;
    xend_domain_info_changed_all();
    /* The plugin's per-domain state goes with it. */
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++) {
        struct xend_domain *d = all[i];
        for (size_t k = 0; k < d->nprivs;) {
            if (d->privs[k].owner == owner) {
                if (d->privs[k].free_fn)
                    d->privs[k].free_fn(d->privs[k].priv);
                d->privs[k] = d->privs[--d->nprivs];
            } else {
                k++;
            }
        }
    }
    free(all);
}

static int run_one(const struct hook_reg *h, enum xend_hook_point point, struct xend_domain *dom,
                   int reason, int shutdown_reason, const struct xend_sxp *config,
                   struct xend_err *err)
{
    struct xend_hook_event ev = {
        .size = sizeof(ev),
        .point = point,
        .reason = (enum xend_hook_reason)reason,
        .dom = dom,
        .config = config ? config : (dom ? dom->config : NULL),
        .shutdown_reason = shutdown_reason,
        .err = err,
    };
    return h->fn(&ev, h->arg);
}

int xend_hooks_run(enum xend_hook_point point, struct xend_domain *dom, int reason,
                   int shutdown_reason, const struct xend_sxp *config, struct xend_err *err,
                   size_t *ran)
{
    bool reverse = point_runs_reverse(point), veto = point_may_veto(point);
    size_t ok = 0;
    /* Copy: a hook may register or remove hooks. */
    size_t n = T.nhooks;
    struct hook_reg *hooks = xend_xcalloc(n ? n : 1, sizeof(*hooks));
    if (n > 0) /* T.hooks is NULL while none is registered */
        memcpy(hooks, T.hooks, n * sizeof(*hooks));
    int result = 0;
    for (size_t k = 0; k < n; k++) {
        const struct hook_reg *h = &hooks[reverse ? n - 1 - k : k];
        if (h->point != point)
            continue;
        struct xend_err local = {0};
        struct xend_err *e = veto && err ? err : &local;
        int rc = run_one(h, point, dom, reason, shutdown_reason, config, e);
        if (rc < 0) {
            if (e->code == 0)
                xend_err_set(e, -rc, "%s hook of plugin %s failed", point_name(point),
                             xend_plugin_name(h->owner));
            xend_log_emit(xend_plugin_name(h->owner), veto ? XEND_LOG_WARN : XEND_LOG_ERROR,
                          "hook failed", "point=%s domain=%s error=\"%s\"", point_name(point),
                          dom ? dom->name : "-", xend_err_msg(e));
            if (veto) {
                result = rc;
                break;
            }
        } else {
            ok++;
        }
    }
    free(hooks);
    if (ran)
        *ran = ok;
    return result;
}

void xend_hooks_rollback(enum xend_hook_point point, struct xend_domain *dom, size_t ran)
{
    /* The first `ran` hooks of `point` succeeded; give each plugin its DESTROY, reversed.
     * Only plugins that had a successful up-hook are told. */
    struct xend_plugin **owners = xend_xcalloc(ran ? ran : 1, sizeof(*owners));
    size_t n = 0;
    for (size_t i = 0; i < T.nhooks && n < ran; i++)
        if (T.hooks[i].point == point)
            owners[n++] = T.hooks[i].owner;
    for (size_t k = n; k-- > 0;)
        for (size_t i = T.nhooks; i-- > 0;)
            if (T.hooks[i].point == XEND_HOOK_DESTROY && T.hooks[i].owner == owners[k]) {
                struct xend_err e = {0};
                run_one(&T.hooks[i], XEND_HOOK_DESTROY, dom, XEND_HOOK_ROLLBACK, -1, NULL, &e);
            }
    free(owners);
}

/* ---- plugin accessors ---- */

static struct xend_domain *host_lookup(const char *s)
{
    return xend_domain_lookup(s);
}

struct foreach_ctx {
    xend_domain_fn *fn;
    void *arg;
};

static void host_foreach(xend_domain_fn *fn, void *arg)
{
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++)
        fn(all[i], arg);
    free(all);
}

static uint32_t host_id(const struct xend_domain *d)
{
    return d->id;
}

static const char *host_name(const struct xend_domain *d)
{
    return d->name;
}

static const struct xend_sxp *host_config(const struct xend_domain *d)
{
    return d->config;
}

static uint32_t host_flags(const struct xend_domain *d)
{
    return d->info.flags;
}

static struct priv_slot *priv_find(const struct xend_domain *d, struct xend_plugin *owner)
{
    for (size_t i = 0; i < d->nprivs; i++)
        if (d->privs[i].owner == owner)
            return &d->privs[i];
    return NULL;
}

static void *host_priv_get(struct xend_plugin *self, const struct xend_domain *d)
{
    struct priv_slot *s = priv_find(d, self);
    return s ? s->priv : NULL;
}

static void host_priv_set(struct xend_plugin *self, struct xend_domain *d, void *priv,
                          xend_priv_free_fn *free_fn)
{
    struct priv_slot *s = priv_find(d, self);
    if (s == NULL) {
        d->privs = xend_xrealloc(d->privs, (d->nprivs + 1) * sizeof(*d->privs));
        s = &d->privs[d->nprivs++];
        s->owner = self;
    } else if (s->priv != priv && s->free_fn) {
        s->free_fn(s->priv);
    }
    s->priv = priv;
    s->free_fn = free_fn;
    xend_domain_info_changed(d); /* a kept describer may print from it */
}

static const struct xend_host_domain host_table = {
    .size = sizeof(struct xend_host_domain),
    .hook_add = hook_add,
    .hook_remove = hook_remove,
    .describe_add = describe_add,
    .describe_print_add = describe_print_add,
    .describe_print_kept_add = describe_print_kept_add,
    .describe_changed = xend_domain_info_changed,
    .lookup = host_lookup,
    .foreach = host_foreach,
    .id = host_id,
    .name = host_name,
    .config = host_config,
    /* .config_set_take is the lifecycle's, which persists the change: host.c adds it */
    .flags = host_flags,
    .priv_get = host_priv_get,
    .priv_set = host_priv_set,
};

const struct xend_host_domain *xend_domain_host_table(void)
{
    return &host_table;
}

/* ---- info ---- */

struct refresh_ctx {
    uint64_t now;
    size_t at; /* where in T.sorted the last domain was found */
};

static uint64_t refreshed_all_ms;

/* The handle of domid: backends list domains in id order, as T.sorted holds them, so the
 * next handle is nearly always one step further and no hash lookup is needed (ten
 * thousand lookups, each a cache miss, were a tenth of a detail=1 list). Only an id that
 * one handle alone has is taken this way: where two share it, by_id decides as before. */
static struct xend_domain *refresh_find(struct refresh_ctx *c, uint32_t domid)
{
    /* The handles ahead are fetched meanwhile: ten thousand do not fit in the caches. */
    if (c->at + 8 < T.count) {
        const struct xend_domain *d = T.sorted[c->at + 8];
        __builtin_prefetch(&d->id);
        __builtin_prefetch(&d->info, 1);
        __builtin_prefetch((const char *)&d->info + 64, 1);
        __builtin_prefetch(&d->info_ms, 1);
    }
    while (c->at < T.count && T.sorted[c->at]->id < domid)
        c->at++;
    if (c->at < T.count && T.sorted[c->at]->id == domid &&
        (c->at + 1 == T.count || T.sorted[c->at + 1]->id != domid))
        return T.sorted[c->at];
    return xend_domain_by_id(domid); /* out of order or shared: the cursor stays */
}

static void refresh_one(void *arg, const struct xend_dominfo *info)
{
    struct refresh_ctx *c = arg;
    struct xend_domain *d = refresh_find(c, info->domid);
    if (d == NULL)
        return;
    d->info = *info;
    d->info_known = true;
    d->info_ms = c->now;
}

int xend_domain_refresh_all(struct xend_err *err)
{
    struct refresh_ctx c = {.now = xend_loop_now_ms()};
    int rc = XEND_HV_CALL(dom_list, err, refresh_one, &c);
    if (rc == 0)
        refreshed_all_ms = c.now;
    return rc;
}

int xend_domain_refresh_all_cached(struct xend_err *err)
{
    if (refreshed_all_ms && xend_loop_now_ms() - refreshed_all_ms < XEND_INFO_FRESH_MS)
        return 0;
    return xend_domain_refresh_all(err);
}

int xend_domain_refresh(struct xend_domain *dom, struct xend_err *err)
{
    if (dom->id == UINT32_MAX)
        return 0;
    struct xend_dominfo info = {.size = sizeof(info)};
    int rc = XEND_HV_CALL(dom_info, err, dom->id, &info);
    if (rc == 0) {
        dom->info = info;
        dom->info_known = true;
        dom->info_ms = xend_loop_now_ms();
    }
    return rc;
}

int xend_domain_refresh_cached(struct xend_domain *dom, struct xend_err *err)
{
    if (dom->info_known && xend_loop_now_ms() - dom->info_ms < XEND_INFO_FRESH_MS)
        return 0;
    return xend_domain_refresh(dom, err);
}

/* Replace an owned note with fmt's text (NULL clears it). */
static void set_note(char **slot, const char *fmt, va_list ap)
{
    free(*slot);
    *slot = NULL;
    if (fmt == NULL)
        return;
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_vprintf(&b, fmt, ap);
    *slot = xend_buf_steal(&b);
}

void xend_domain_set_halt_reason(struct xend_domain *dom, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_note(&dom->halt_reason, fmt, ap);
    va_end(ap);
    xend_domain_info_changed(dom);
}

void xend_domain_set_mark(struct xend_domain *dom, struct xend_sxp *mark)
{
    xend_sxp_free(dom->mark);
    dom->mark = mark;
}

void xend_domain_set_doubt(struct xend_domain *dom, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_note(&dom->doubt, fmt, ap);
    va_end(ap);
    xend_domain_info_changed(dom);
}

void xend_domain_state_text(uint32_t f, char out[6])
{
    out[0] = (f & XEND_DOMF_RUNNING) ? 'r' : '-';
    out[1] = (f & XEND_DOMF_BLOCKED) ? 'b' : '-';
    out[2] = (f & XEND_DOMF_PAUSED) ? 'p' : '-';
    out[3] = (f & XEND_DOMF_SHUTDOWN) ? 's' : '-';
    out[4] = (f & XEND_DOMF_CRASHED) ? 'c' : '-';
    out[5] = '\0';
}

/* The items after the head of `list`, each after a space. */
static void put_items(struct xend_buf *out, const struct xend_sxp *list, size_t from)
{
    size_t n = xend_sxp_length(list);
    for (size_t i = from; i < n; i++) {
        xend_buf_putc(out, ' ');
        xend_sxp_print_buf(xend_sxp_nth(list, i), out);
    }
}

static void put_text(void *ctx, const char *text, size_t len)
{
    xend_buf_append(ctx, text, len);
}

#ifndef NDEBUG
/* Builds with assertions parse what a text describer wrote: text that is not whole items
 * would reach browsers as a 500 (the HTML and JSON forms parse the reply). */
static void check_described_text(struct xend_domain *dom, const struct xend_buf *out, size_t from)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_puts(&b, "(domain");
    xend_buf_append(&b, out->data + from, out->len - from);
    xend_buf_putc(&b, ')');
    struct xend_sxp *v = NULL;
    char msg[128];
    if (out->len > from && out->data[from] != ' ') {
        xend_log_error("describer text malformed", "domain=%s reason=\"no leading space\"",
                       dom->name);
        abort();
    }
    if (xend_sxp_parse(b.data, b.len, NULL, &v, msg, sizeof(msg)) < 0) {
        xend_log_error("describer text malformed", "domain=%s reason=\"%s\" text=\"%.*s\"",
                       dom->name, msg, (int)(out->len - from), out->data + from);
        abort();
    }
    xend_sxp_free(v);
    xend_buf_free(&b);
}
#endif

/* What the describers add: text ones print straight into the reply; tree ones (the first
 * ABI) write into a small tree that lives only while it is printed. */
static void put_described(struct xend_buf *out, struct xend_domain *dom)
{
    for (size_t i = 0; i < T.ndescribers; i++) {
        const struct describer_reg *r = &T.describers[i];
        if (r->print != NULL) {
#ifndef NDEBUG
            size_t from = out->len;
#endif
            r->print(dom, put_text, out, r->arg);
#ifndef NDEBUG
            check_described_text(dom, out, from);
#endif
            continue;
        }
        struct xend_sxp *d = xend_sxp_list_of("domain", NULL);
        r->fn(dom, d, r->arg);
        put_items(out, d, 1);
        xend_sxp_free(d);
    }
}

void xend_domain_described_print(struct xend_domain *dom, struct xend_buf *out)
{
    put_described(out, dom);
}

void xend_domain_info_printer_add(xend_domain_info_printer_fn *fn)
{
    T.printers = xend_xrealloc(T.printers, (T.nprinters + 1) * sizeof(*T.printers));
    T.printers[T.nprinters++] = fn;
    xend_domain_info_changed_all();
}

void xend_domain_config_changed(struct xend_domain *dom)
{
    xend_domain_info_changed(dom);
    free(dom->config_text);
    dom->config_text = NULL;
    dom->sched_entry_known = false;
}

/* The config's text, printed once per change. Builds with assertions print it again every
 * time and stop on a difference: a change that did not call xend_domain_config_changed
 * fails the tests instead of showing a stale config. */
static const char *config_text(struct xend_domain *dom)
{
#ifndef NDEBUG
    if (dom->config_text != NULL) {
        char *now = xend_sxp_print(dom->config);
        if (strcmp(now, dom->config_text) != 0) {
            xend_log_error("stale config text", "domain=%s cached=\"%s\" config=\"%s\"", dom->name,
                           dom->config_text, now);
            abort();
        }
        free(now);
    }
#endif
    if (dom->config_text == NULL) {
        struct xend_buf b = XEND_BUF_INIT;
        xend_sxp_print_buf(dom->config, &b);
        dom->config_text_len = b.len;
        dom->config_text = xend_buf_steal(&b);
    }
    return dom->config_text;
}

int xend_domain_config_check(struct xend_domain *dom, struct xend_err *err)
{
    if (dom->config == NULL)
        return 0;
    config_text(dom); /* printed once: the reply's info prints the same text */
    struct xend_err e = {0};
    if (xend_record_check(dom->config, dom->config_text_len, true, &e) < 0)
        return xend_err_set(err, XEND_EINVAL, "Configuration error: %s", xend_err_msg(&e));
    return 0;
}

/*
 * The kept info text. An info is the head (id to cpu), the time fields, then the body
 * (start_time to the config). Each of head and body is printed once and kept with what it
 * was printed from: the fields it compares by itself at every print, and info_gen and the
 * table's epoch for the changes it is told of. Printed anew each time: cpu_time and
 * up_time; the devices, whose classes may describe them differently at any time; and
 * describers added without "kept".
 */
struct info_head_key {
    uint64_t gen, mem_kb, maxmem_kb;
    uint32_t id, flags, shutdown_reason;
    int32_t cpu;
    bool info_known, halted;
};

struct info_body_key {
    uint64_t gen, epoch;
    double start_time, restart_time;
    const char *restart_state; /* one of a few static strings */
    uint32_t id;
    enum xend_dom_phase phase;
    bool record_failed;
};

/* Where the parts printed every time go into a kept text. */
struct info_marks {
    uint32_t describers_at; /* the describers that run every time, when describers_live */
    uint32_t devices_at;
    bool describers_live;
};

/* One block per domain: the keys next to the text they check, which a list of ten
 * thousand reads one after the other. */
struct xend_info_text {
    struct info_head_key hk;
    struct info_body_key bk;
    struct info_marks marks; /* offsets into text */
    uint32_t head_len, len;  /* text is the head, then the body */
    char text[];
};

static struct info_head_key head_key(const struct xend_domain *dom)
{
    struct info_head_key k = {.gen = dom->info_gen,
                              .id = dom->id,
                              .info_known = dom->info_known,
                              .halted = dom->phase == XEND_DOM_HALTED};
    if (dom->info_known) {
        k.mem_kb = dom->info.mem_kb;
        k.maxmem_kb = dom->info.maxmem_kb;
        k.flags = dom->info.flags;
        k.shutdown_reason = dom->info.shutdown_reason;
        k.cpu = dom->info.cpu;
    }
    return k;
}

static bool head_key_eq(const struct info_head_key *a, const struct info_head_key *b)
{
    return a->gen == b->gen && a->mem_kb == b->mem_kb && a->maxmem_kb == b->maxmem_kb &&
           a->id == b->id && a->flags == b->flags && a->shutdown_reason == b->shutdown_reason &&
           a->cpu == b->cpu && a->info_known == b->info_known && a->halted == b->halted;
}

static struct info_body_key body_key(const struct xend_domain *dom)
{
    return (struct info_body_key){.gen = dom->info_gen,
                                  .epoch = T.info_epoch,
                                  .start_time = dom->start_time,
                                  .restart_time = dom->restart_time,
                                  .restart_state = dom->restart_state,
                                  .id = dom->id,
                                  .phase = dom->phase,
                                  .record_failed = dom->record_failed};
}

static bool body_key_eq(const struct info_body_key *a, const struct info_body_key *b)
{
    /* the times compared as set, never computed: == is what is meant */
    return a->gen == b->gen && a->epoch == b->epoch && a->start_time == b->start_time &&
           a->restart_time == b->restart_time && a->restart_state == b->restart_state &&
           a->id == b->id && a->phase == b->phase && a->record_failed == b->record_failed;
}

void xend_domain_info_changed(struct xend_domain *dom)
{
    dom->info_gen++;
}

void xend_domain_info_changed_all(void)
{
    T.info_epoch++;
}

static void info_text_free(struct xend_info_text *t)
{
    free(t);
}

static void print_head(struct xend_domain *dom, struct xend_buf *out)
{
    xend_buf_puts(out, "(domain");
    xend_sxp_print_kv_int(out, "id", dom->id == UINT32_MAX ? -1 : (long long)dom->id);
    xend_sxp_print_kv(out, "name", dom->name);
    long long mem_mb = 0;
    if (dom->info_known)
        mem_mb = (long long)(dom->info.mem_kb / 1024);
    else if (dom->config)
        xend_sxp_child_int(dom->config, "memory", &mem_mb);
    xend_sxp_print_kv_int(out, "memory", mem_mb);
    if (dom->info_known && dom->phase != XEND_DOM_HALTED) {
        xend_sxp_print_kv_int(out, "maxmem", (long long)(dom->info.maxmem_kb / 1024));
        char st[6];
        xend_domain_state_text(dom->info.flags, st);
        xend_sxp_print_kv(out, "state", st);
        if (dom->info.flags & XEND_DOMF_SHUTDOWN)
            xend_sxp_print_kv(out, "shutdown_reason",
                              xend_shutdown_reason_name((int)dom->info.shutdown_reason));
        xend_sxp_print_kv_int(out, "cpu", dom->info.cpu);
    } else if (dom->phase == XEND_DOM_HALTED) {
        xend_sxp_print_kv(out, "state", "-----");
    }
}

static bool describers_all_kept(void)
{
    for (size_t i = 0; i < T.ndescribers; i++)
        if (!T.describers[i].kept)
            return false;
    return true;
}

/* The body without its devices; m says where the parts printed every time go. */
static void print_body(struct xend_domain *dom, struct info_marks *m, struct xend_buf *out)
{
    if (dom->start_time > 0)
        xend_sxp_print_kv_double(out, "start_time", dom->start_time);
    /* Plugins' fields (console ...) come where docs/http.md puts them; the core's own
     * additions (sched ...) after them. */
    m->describers_live = !describers_all_kept();
    if (!m->describers_live)
        put_described(out, dom);
    m->describers_at = (uint32_t)out->len;
    for (size_t i = 0; i < T.nprinters; i++)
        T.printers[i](dom, out);
    if (dom->restart_state)
        xend_sxp_print_kv(out, "restart_state", dom->restart_state);
    else if (dom->phase == XEND_DOM_HALTED)
        xend_sxp_print_kv(out, "restart_state", "refused");
    if (dom->halt_reason)
        xend_sxp_print_kv(out, "restart_refused", dom->halt_reason);
    if (dom->doubt)
        xend_sxp_print_kv(out, "migration_in_doubt", dom->doubt);
    if (dom->restart_time > 0)
        xend_sxp_print_kv_double(out, "restart_time", dom->restart_time);
    if (dom->record_failed)
        xend_sxp_print_kv(out, "store_error",
                          "its last change is not durable yet: the store could not write its "
                          "record and retries");
    xend_buf_putc(out, ' ');
    m->devices_at = (uint32_t)out->len;
    if (dom->config) {
        xend_buf_puts(out, " (config ");
        const char *text = config_text(dom);
        xend_buf_append(out, text, dom->config_text_len);
        xend_buf_putc(out, ')');
    }
    xend_buf_putc(out, ')');
}

#ifndef NDEBUG
/* Builds with assertions print the info again at every use and stop on a difference: a
 * change that neither the keys see nor xend_domain_info_changed announced fails the tests
 * instead of showing a stale info. */
static void check_kept(struct xend_domain *dom, const struct xend_info_text *t,
                       struct xend_buf *now)
{
    struct info_marks m;
    xend_buf_reset(now);
    print_head(dom, now);
    uint32_t head_len = (uint32_t)now->len;
    print_body(dom, &m, now);
    if (head_len == t->head_len && now->len == t->len && memcmp(now->data, t->text, t->len) == 0 &&
        m.describers_at == t->marks.describers_at && m.devices_at == t->marks.devices_at &&
        m.describers_live == t->marks.describers_live)
        return;
    xend_log_error("stale info text", "domain=%s kept=\"%.*s\" now=\"%.*s\"", dom->name,
                   (int)t->len, t->text, (int)now->len, now->data);
    abort();
}
#endif

static const struct xend_info_text *kept_text(struct xend_domain *dom)
{
    struct xend_info_text *t = dom->info_text;
    struct info_head_key hk = head_key(dom);
    struct info_body_key bk = body_key(dom);
    bool head_ok = t != NULL && head_key_eq(&t->hk, &hk);
    bool body_ok = t != NULL && body_key_eq(&t->bk, &bk);
    struct xend_buf *b = &T.info_scratch;
    if (!head_ok || !body_ok) {
        /* What is still right is copied, the rest printed. */
        xend_buf_reset(b);
        if (head_ok)
            xend_buf_append(b, t->text, t->head_len);
        else
            print_head(dom, b);
        uint32_t head_len = (uint32_t)b->len;
        struct info_marks m;
        if (body_ok) {
            xend_buf_append(b, t->text + t->head_len, t->len - t->head_len);
            m = t->marks;
            m.describers_at = m.describers_at - t->head_len + head_len;
            m.devices_at = m.devices_at - t->head_len + head_len;
        } else {
            print_body(dom, &m, b);
            /* The config's text is in the kept one now: ten thousand domains need not
             * hold it twice (config_check prints it again if it runs). */
            free(dom->config_text);
            dom->config_text = NULL;
        }
        t = dom->info_text = xend_xrealloc(t, sizeof(*t) + b->len);
        *t = (struct xend_info_text){
            .hk = hk, .bk = bk, .marks = m, .head_len = head_len, .len = (uint32_t)b->len};
        memcpy(t->text, b->data, b->len);
    }
#ifndef NDEBUG
    check_kept(dom, t, b);
#endif
    return t;
}

void xend_domain_info_ahead(struct xend_domain *const *all, size_t n, size_t i)
{
    /* Ten thousand handles and texts do not fit in the caches: a print waited for each of
     * them in turn. The handle first (the fields the keys read), its text once the handle
     * is there: the keys and the first 250 bytes or so of text, which the list copies. */
    if (i + 8 < n) {
        const struct xend_domain *d = all[i + 8];
        __builtin_prefetch(&d->info_text);
        __builtin_prefetch(&d->info);
        __builtin_prefetch(&d->phase);
    }
    if (i + 4 < n && all[i + 4]->info_text != NULL) {
        const char *t = (const char *)all[i + 4]->info_text;
        for (size_t line = 0; line < 6; line++)
            __builtin_prefetch(t + 64 * line);
    }
}

void xend_domain_info_gather_at(struct xend_domain *dom, uint64_t boot_ns, struct xend_gather *g)
{
    const struct xend_info_text *t = kept_text(dom);
    const struct info_marks *m = &t->marks;
    struct xend_buf *out = xend_gather_buf(g);
    xend_gather_borrow(g, t->text, t->head_len);
    if (dom->info_known && dom->phase != XEND_DOM_HALTED)
        xend_sxp_print_kv_double(out, "cpu_time", (double)dom->info.cpu_time_ns / 1e9);
    if (dom->start_time > 0)
        xend_sxp_print_kv_double(out, "up_time", xend_time_since(boot_ns, dom->start_ns));
    if (m->describers_live) {
        xend_gather_borrow(g, t->text + t->head_len, m->describers_at - t->head_len);
        put_described(out, dom);
        xend_gather_borrow(g, t->text + m->describers_at, m->devices_at - m->describers_at);
    } else {
        xend_gather_borrow(g, t->text + t->head_len, m->devices_at - t->head_len);
    }
    xend_devices_describe_print(dom, out);
    xend_gather_borrow(g, t->text + m->devices_at, t->len - m->devices_at);
}

void xend_domain_info_print_at(struct xend_domain *dom, uint64_t boot_ns, struct xend_buf *out)
{
    struct xend_gather g;
    xend_gather_init_copy(&g, out);
    xend_domain_info_gather_at(dom, boot_ns, &g);
    xend_gather_free(&g);
}

void xend_domain_info_print(struct xend_domain *dom, struct xend_buf *out)
{
    xend_domain_info_print_at(dom, xend_clock_boot_ns(), out);
}

static struct xend_sxp *record_build(struct xend_domain *dom, bool lend_config)
{
    struct xend_sxp *r = xend_sxp_list_of("domain_record", NULL);
    xend_sxp_add_kv(r, "uuid", dom->uuid);
    xend_sxp_add_kv_int(r, "id", dom->id == UINT32_MAX ? -1 : (long long)dom->id);
    xend_sxp_add_kv(r, "name", dom->name);
    const char *phase = dom->phase == XEND_DOM_CREATING     ? "creating"
                        : dom->phase == XEND_DOM_HALTED     ? "halted"
                        : dom->phase == XEND_DOM_RESTARTING ? "restarting"
                                                            : "live";
    xend_sxp_add_kv(r, "phase", phase);
    /* What was asked decides whether an exit restarts it, across an xend restart too. */
    if (dom->shutdown_requested >= 0)
        xend_sxp_add_kv_int(r, "shutdown_requested", dom->shutdown_requested);
    if (dom->restart_forced)
        xend_sxp_add_kv_int(r, "restart_forced", 1);
    xend_sxp_add_kv_take(r, "start_time", xend_sxp_atom_double(dom->start_time));
    if (dom->restart_time > 0)
        xend_sxp_add_kv_take(r, "restart_time", xend_sxp_atom_double(dom->restart_time));
    xend_domain_time_record(dom, r);
    xend_domain_runtime_add(dom, r);
    if (dom->restart_state)
        xend_sxp_add_kv(r, "restart_state", dom->restart_state);
    if (dom->halt_reason)
        xend_sxp_add_kv(r, "halt_reason", dom->halt_reason);
    if (dom->config)
        xend_sxp_add_kv_take(r, "config", lend_config ? dom->config : xend_sxp_copy(dom->config));
    xend_sxp_append_take(r, xend_devices_record(dom));
    if (dom->mark)
        xend_sxp_append_take(r, xend_sxp_copy(dom->mark));
    return r;
}

struct xend_sxp *xend_domain_record(struct xend_domain *dom)
{
    return record_build(dom, false);
}

struct xend_sxp *xend_domain_record_lent(struct xend_domain *dom)
{
    return record_build(dom, true);
}

void xend_domain_record_return(struct xend_domain *dom, struct xend_sxp *rec)
{
    struct xend_sxp *kv = dom->config ? xend_sxp_child(rec, "config") : NULL;
    if (kv != NULL && xend_sxp_nth(kv, 1) == dom->config)
        xend_sxp_detach(kv, 1); /* the domain's own, lent */
    xend_sxp_free(rec);
}
