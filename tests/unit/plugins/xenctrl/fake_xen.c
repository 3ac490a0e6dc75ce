/*
 * The fake Xen behind the xenctrl backend's tests (see fake_xen.h): __wrap_ versions of
 * every libxen call the backend makes. Single-threaded except where save/restore tests run
 * the backend's worker-thread ops, which they do on the test's own thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_xen.h"

#include <xenevtchn.h>
#include <xenguest.h>

struct fx_state FX;

/* ---- failure injection ---- */

static struct {
    char fn[48];
    int countdown;
    int e;
} fails[16];

void fx_fail_nth(const char *fn, int n, int e)
{
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
        if (fails[i].fn[0] == '\0') {
            snprintf(fails[i].fn, sizeof(fails[i].fn), "%s", fn);
            fails[i].countdown = n;
            fails[i].e = e;
            return;
        }
    abort();
}

void fx_fail(const char *fn, int e)
{
    fx_fail_nth(fn, 1, e);
}

static int fx_take(const char *fn)
{
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
        if (fails[i].fn[0] && strcmp(fails[i].fn, fn) == 0 && --fails[i].countdown == 0) {
            int e = fails[i].e;
            fails[i].fn[0] = '\0';
            return e;
        }
    return 0;
}

/* __func__ is "__wrap_<fn>": fail as <fn> if a test asked for it. */
#define FAIL(ret)                                                                                  \
    do {                                                                                           \
        int e_ = fx_take(__func__ + 7);                                                            \
        if (e_) {                                                                                  \
            errno = e_;                                                                            \
            return ret;                                                                            \
        }                                                                                          \
    } while (0)

/* ---- xenstore ---- */

struct node {
    char *path, *value;
    struct xs_permissions perms[4];
    unsigned nperms;
};
static struct node *nodes;
static size_t nnodes;

struct watch {
    char *path, *token;
};
struct fx_xsh {
    int pipe[2];
    struct watch watches[8];
    size_t nwatches;
    char *events[64][2];
    size_t nevents;
};
static struct fx_xsh *handles[16];

static struct node *node_find(const char *path)
{
    for (size_t i = 0; i < nnodes; i++)
        if (strcmp(nodes[i].path, path) == 0)
            return &nodes[i];
    return NULL;
}

static void queue_event(struct fx_xsh *h, const char *path, const char *token)
{
    if (h->nevents == 64)
        return;
    h->events[h->nevents][0] = strdup(path);
    h->events[h->nevents][1] = strdup(token);
    h->nevents++;
    char b = 'w';
    if (write(h->pipe[1], &b, 1) != 1)
        abort();
}

static bool under(const char *path, const char *top)
{
    size_t n = strlen(top);
    return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void fire(const char *path)
{
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        struct fx_xsh *h = handles[i];
        for (size_t w = 0; h && w < h->nwatches; w++)
            if (under(path, h->watches[w].path))
                queue_event(h, path, h->watches[w].token);
    }
}

static struct node *node_make(const char *path)
{
    struct node *n = node_find(path);
    if (n)
        return n;
    /* A new node inherits its parent's permissions, as xenstored does. */
    struct xs_permissions inherit[4] = {{.id = 0, .perms = XS_PERM_NONE}};
    unsigned ninherit = 1;
    char *parent = strdup(path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        struct node *p = node_make(parent);
        memcpy(inherit, p->perms, sizeof(inherit));
        ninherit = p->nperms;
    }
    free(parent);
    nodes = realloc(nodes, (nnodes + 1) * sizeof(*nodes));
    n = &nodes[nnodes++];
    n->path = strdup(path);
    n->value = strdup("");
    memcpy(n->perms, inherit, sizeof(inherit));
    n->nperms = ninherit;
    return n;
}

static void node_set(const char *path, const char *value)
{
    struct node *n = node_make(path);
    free(n->value);
    n->value = strdup(value);
    fire(path);
}

const char *fx_xs(const char *path)
{
    struct node *n = node_find(path);
    return n ? n->value : NULL;
}

void fx_xs_set(const char *path, const char *value)
{
    node_set(path, value);
}

int fx_xs_owner(const char *path)
{
    struct node *n = node_find(path);
    return n ? (int)n->perms[0].id : -1;
}

static void release_fire(void)
{
    fire("@releaseDomain");
}

/* Play dom0's drivers and the guest where a test asked for them. */
static const char *react(const char *path, const char *value)
{
    const char *tail = strrchr(path, '/');
    if (strncmp(path, "/local/domain/0/backend/", 24) == 0 && tail && strcmp(tail, "/state") == 0) {
        if (FX.drivers && strcmp(value, "1") == 0)
            return "2";
        if (FX.guest_closes && strcmp(value, "5") == 0)
            return "6";
    }
    unsigned d;
    char rest[64];
    if (sscanf(path, "/local/domain/%u/%63s", &d, rest) == 2 &&
        strcmp(rest, "control/shutdown") == 0 && strcmp(value, "suspend") == 0 &&
        FX.guest_suspends) {
        struct fx_dom *dom = fx_dom(d);
        if (dom && (dom->flags & XEN_DOMINF_paused))
            dom->suspend_pending = true;
        else if (dom)
            fx_dom_shutdown(d, SHUTDOWN_suspend);
    }
    return value;
}

struct xs_handle *__wrap_xs_open(unsigned long flags)
{
    (void)flags;
    FAIL(NULL);
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
        if (handles[i] == NULL) {
            struct fx_xsh *h = calloc(1, sizeof(*h));
            if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
                abort();
            handles[i] = h;
            FX.xs_opens++;
            return (struct xs_handle *)h;
        }
    errno = EMFILE;
    return NULL;
}

static void handle_free(struct fx_xsh *h)
{
    for (size_t i = 0; i < h->nwatches; i++) {
        free(h->watches[i].path);
        free(h->watches[i].token);
    }
    for (size_t i = 0; i < h->nevents; i++) {
        free(h->events[i][0]);
        free(h->events[i][1]);
    }
    close(h->pipe[0]);
    close(h->pipe[1]);
    free(h);
}

void __wrap_xs_close(struct xs_handle *xsh)
{
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
        if (handles[i] == (struct fx_xsh *)xsh) {
            handle_free(handles[i]);
            handles[i] = NULL;
            FX.xs_closes++;
        }
}

void *__wrap_xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned *len)
{
    (void)h;
    (void)t;
    FAIL(NULL);
    struct node *n = node_find(path);
    if (n == NULL) {
        errno = ENOENT;
        return NULL;
    }
    if (len)
        *len = (unsigned)strlen(n->value);
    return strdup(n->value);
}

bool __wrap_xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
                     unsigned len)
{
    (void)h;
    (void)t;
    FAIL(false);
    char *v = strndup(data, len);
    node_set(path, react(path, v));
    free(v);
    return true;
}

bool __wrap_xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    (void)h;
    (void)t;
    FAIL(false);
    if (node_find(path) == NULL)
        node_set(path, "");
    return true;
}

bool __wrap_xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    (void)h;
    (void)t;
    FAIL(false);
    bool found = false;
    for (size_t i = 0; i < nnodes;) {
        if (under(nodes[i].path, path)) {
            found = true;
            fire(nodes[i].path);
            free(nodes[i].path);
            free(nodes[i].value);
            nodes[i] = nodes[--nnodes];
        } else {
            i++;
        }
    }
    if (!found) {
        errno = ENOENT;
        return false;
    }
    return true;
}

bool __wrap_xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                               struct xs_permissions *perms, unsigned num)
{
    (void)h;
    (void)t;
    FAIL(false);
    struct node *n = node_find(path);
    if (n == NULL || num == 0 || num > 4) {
        errno = n ? EINVAL : ENOENT;
        return false;
    }
    memcpy(n->perms, perms, num * sizeof(*perms));
    n->nperms = num;
    return true;
}

bool __wrap_xs_watch(struct xs_handle *xsh, const char *path, const char *token)
{
    FAIL(false);
    struct fx_xsh *h = (struct fx_xsh *)xsh;
    if (h->nwatches == 8) {
        errno = ENOSPC;
        return false;
    }
    h->watches[h->nwatches].path = strdup(path);
    h->watches[h->nwatches].token = strdup(token);
    h->nwatches++;
    queue_event(h, path, token); /* a new watch fires once, as xenstored's do */
    return true;
}

bool __wrap_xs_unwatch(struct xs_handle *xsh, const char *path, const char *token)
{
    struct fx_xsh *h = (struct fx_xsh *)xsh;
    for (size_t i = 0; i < h->nwatches; i++)
        if (strcmp(h->watches[i].path, path) == 0 && strcmp(h->watches[i].token, token) == 0) {
            free(h->watches[i].path);
            free(h->watches[i].token);
            h->watches[i] = h->watches[--h->nwatches];
            return true;
        }
    errno = ENOENT;
    return false;
}

int __wrap_xs_fileno(struct xs_handle *xsh)
{
    FAIL(-1);
    return ((struct fx_xsh *)xsh)->pipe[0];
}

char **__wrap_xs_check_watch(struct xs_handle *xsh)
{
    struct fx_xsh *h = (struct fx_xsh *)xsh;
    if (h->nevents == 0) {
        errno = EAGAIN;
        return NULL;
    }
    char b;
    if (read(h->pipe[0], &b, 1) != 1)
        abort();
    size_t a = strlen(h->events[0][0]) + 1, t = strlen(h->events[0][1]) + 1;
    char **ret = malloc(2 * sizeof(char *) + a + t);
    ret[0] = (char *)(ret + 2);
    ret[1] = ret[0] + a;
    memcpy(ret[0], h->events[0][0], a);
    memcpy(ret[1], h->events[0][1], t);
    free(h->events[0][0]);
    free(h->events[0][1]);
    memmove(h->events[0], h->events[1], (h->nevents - 1) * sizeof(h->events[0]));
    h->nevents--;
    return ret;
}

xs_transaction_t __wrap_xs_transaction_start(struct xs_handle *h)
{
    (void)h;
    FAIL(XBT_NULL);
    return 42;
}

bool __wrap_xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort_it)
{
    (void)h;
    (void)t;
    (void)abort_it;
    FX.txn_ends++;
    FAIL(false);
    return true;
}

bool __wrap_xs_introduce_domain(struct xs_handle *h, unsigned domid, unsigned long mfn,
                                unsigned port)
{
    (void)h;
    FAIL(false);
    FX.introduced++;
    FX.intro_domid = domid;
    FX.intro_mfn = mfn;
    FX.intro_port = port;
    if (FX.tty[0]) {
        char path[64];
        snprintf(path, sizeof(path), "/local/domain/%u/console/tty", domid);
        node_set(path, FX.tty);
    }
    return true;
}

/* ---- the hypervisor ---- */

static char xc_handle_storage;
#define XCH ((xc_interface *)&xc_handle_storage)

struct fx_dom *fx_dom(uint32_t id)
{
    for (int i = 0; i < FX_MAX_DOMS; i++)
        if (FX.doms[i].used && FX.doms[i].id == id)
            return &FX.doms[i];
    return NULL;
}

struct fx_dom *fx_dom_add(uint32_t id, uint32_t flags, uint64_t pages)
{
    for (int i = 0; i < FX_MAX_DOMS; i++)
        if (!FX.doms[i].used) {
            struct fx_dom *d = &FX.doms[i];
            memset(d, 0, sizeof(*d));
            d->used = true;
            d->id = id;
            d->flags = flags;
            d->tot_pages = pages;
            d->max_pages = pages;
            d->max_vcpus = 1;
            d->weight = 256;
            d->affinity_vcpu = -1;
            return d;
        }
    abort();
}

static int evtchn_pipe[2] = {-1, -1};

void fx_virq_fire(void)
{
    char b = 'v';
    if (write(evtchn_pipe[1], &b, 1) != 1)
        abort();
}

void fx_dom_shutdown(uint32_t id, unsigned code)
{
    struct fx_dom *d = fx_dom(id);
    d->flags |= XEN_DOMINF_shutdown;
    d->shutdown_code = code;
    release_fire();
    if (evtchn_pipe[1] >= 0)
        fx_virq_fire();
}

void fx_reset(void)
{
    for (size_t i = 0; i < nnodes; i++) {
        free(nodes[i].path);
        free(nodes[i].value);
    }
    free(nodes);
    nodes = NULL;
    nnodes = 0;
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++)
        if (handles[i]) {
            handle_free(handles[i]);
            handles[i] = NULL;
        }
    memset(fails, 0, sizeof(fails));
    if (evtchn_pipe[0] >= 0) {
        close(evtchn_pipe[0]);
        close(evtchn_pipe[1]);
    }
    evtchn_pipe[0] = evtchn_pipe[1] = -1;
    memset(&FX, 0, sizeof(FX));
    FX.free_pages = 262144; /* 1 GiB */
    FX.sched_id = XEN_SCHEDULER_CREDIT;
    FX.tslice_ms = 30;
    FX.ratelimit_us = 1000;
    FX.next_port = 10;
    FX.drivers = true;
    FX.guest_closes = true;
    snprintf(FX.conring, sizeof(FX.conring), "(XEN) Xen version 4.17.1\n");
    fx_dom_add(0, XEN_DOMINF_running, 262144);
    node_set("/local/domain/0/name", "Domain-0");
}

xc_interface *__wrap_xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dlogger,
                                       unsigned flags)
{
    (void)dlogger;
    (void)flags;
    FX.logger = logger;
    int e = fx_take("xc_interface_open");
    if (e) {
        /* What libxencall says when there is no /dev/xen/privcmd. */
        xtl_log(logger, XTL_ERROR, e, "xencall",
                "Could not obtain handle on privileged command interface");
        errno = e;
        return NULL;
    }
    FX.xc_opens++;
    return XCH;
}

int __wrap_xc_interface_close(xc_interface *xch)
{
    (void)xch;
    FX.xc_closes++;
    return 0;
}

int __wrap_xc_physinfo(xc_interface *xch, xc_physinfo_t *pi)
{
    (void)xch;
    FAIL(-1);
    memset(pi, 0, sizeof(*pi));
    pi->nr_cpus = 2;
    pi->cores_per_socket = 2;
    pi->threads_per_core = 1;
    pi->cpu_khz = 2400000;
    pi->total_pages = 524288;
    pi->free_pages = FX.free_pages;
    pi->capabilities =
        XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_gnttab_v1 | XEN_SYSCTL_PHYSCAP_gnttab_v2;
    if (FX.hap)
        pi->capabilities |= XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_hap;
    if (FX.shadow)
        pi->capabilities |= XEN_SYSCTL_PHYSCAP_shadow;
    return 0;
}

int __wrap_xc_set_paging_mempool_size(xc_interface *xch, uint32_t domid, uint64_t size)
{
    (void)xch;
    FAIL(-1);
    if (fx_dom(domid) == NULL) {
        errno = ESRCH;
        return -1;
    }
    FX.paging_pool = size;
    return 0;
}

int __wrap_xc_hvm_param_set(xc_interface *xch, uint32_t domid, uint32_t param, uint64_t value)
{
    (void)xch;
    (void)param;
    (void)value;
    FAIL(-1);
    if (fx_dom(domid) == NULL) {
        errno = ESRCH;
        return -1;
    }
    return 0;
}

int __wrap_xc_domain_set_memory_map(xc_interface *xch, uint32_t domid, struct e820entry entries[],
                                    uint32_t nr_entries)
{
    (void)xch;
    (void)entries;
    FAIL(-1);
    if (fx_dom(domid) == NULL) {
        errno = ESRCH;
        return -1;
    }
    FX.memmap_entries = nr_entries;
    return 0;
}

int __wrap_xc_version(xc_interface *xch, int cmd, void *arg)
{
    (void)xch;
    FAIL(-1);
    if (cmd == XENVER_version)
        return 4 << 16 | 17;
    if (cmd == XENVER_extraversion) {
        snprintf(arg, sizeof(xen_extraversion_t), ".1");
        return 0;
    }
    errno = EINVAL;
    return -1;
}

int __wrap_xc_sched_id(xc_interface *xch, int *id)
{
    (void)xch;
    FAIL(-1);
    *id = FX.sched_id;
    return 0;
}

int __wrap_xc_readconsolering(xc_interface *xch, char *buf, unsigned *n, int clear, int incremental,
                              uint32_t *index)
{
    (void)xch;
    (void)incremental;
    (void)index;
    FAIL(-1);
    size_t len = strlen(FX.conring);
    if (len > *n)
        len = *n;
    memcpy(buf, FX.conring, len);
    *n = (unsigned)len;
    if (clear)
        FX.conring[0] = '\0';
    return 0;
}

int __wrap_xc_domain_create(xc_interface *xch, uint32_t *pdomid,
                            struct xen_domctl_createdomain *cfg)
{
    (void)xch;
    FAIL(-1);
    uint32_t id = *pdomid;
    if (id != 0 && fx_dom(id) != NULL) {
        errno = EEXIST;
        return -1;
    }
    for (id = id ? id : 1; id == 0 || fx_dom(id) != NULL; id++)
        ;
    struct fx_dom *d = fx_dom_add(id, XEN_DOMINF_paused, 0);
    d->cfg = *cfg;
    d->max_vcpus = cfg->max_vcpus;
    d->max_pages = 0;
    *pdomid = id;
    return 0;
}

#define DOM_OR_ESRCH(d, id)                                                                        \
    struct fx_dom *d = fx_dom(id);                                                                 \
    if (d == NULL) {                                                                               \
        errno = ESRCH;                                                                             \
        return -1;                                                                                 \
    }

int __wrap_xc_domain_setmaxmem(xc_interface *xch, uint32_t domid, uint64_t kb)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->max_pages = kb / 4;
    return 0;
}

int __wrap_xc_domain_max_vcpus(xc_interface *xch, uint32_t domid, unsigned max)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    if (max != d->cfg.max_vcpus) {
        errno = EINVAL;
        return -1;
    }
    d->vcpus_made = true;
    return 0;
}

xc_evtchn_port_or_error_t __wrap_xc_evtchn_alloc_unbound(xc_interface *xch, uint32_t dom,
                                                         uint32_t remote)
{
    (void)xch;
    (void)remote;
    FAIL(-1);
    DOM_OR_ESRCH(d, dom);
    (void)d;
    return FX.next_port++;
}

int __wrap_xc_domain_getinfolist(xc_interface *xch, uint32_t first, unsigned max,
                                 xc_domaininfo_t *info)
{
    (void)xch;
    FAIL(-1);
    unsigned n = 0;
    for (uint32_t id = first; id < 0x7ff0 && n < max; id++) {
        struct fx_dom *d = fx_dom(id);
        if (d == NULL)
            continue;
        xc_domaininfo_t *x = &info[n++];
        memset(x, 0, sizeof(*x));
        x->domain = (domid_t)d->id;
        x->flags = d->flags;
        if (d->cfg.flags & XEN_DOMCTL_CDF_hvm)
            x->flags |= XEN_DOMINF_hvm_guest;
        x->arch_config = d->cfg.arch;
        if (d->flags & XEN_DOMINF_shutdown)
            x->flags |= (d->shutdown_code & XEN_DOMINF_shutdownmask) << XEN_DOMINF_shutdownshift;
        x->tot_pages = d->tot_pages;
        x->max_pages = d->max_pages;
        x->cpu_time = d->cpu_time;
        x->max_vcpu_id = d->max_vcpus ? d->max_vcpus - 1 : XEN_INVALID_MAX_VCPU_ID;
        x->nr_online_vcpus = d->max_vcpus;
    }
    return (int)n;
}

int __wrap_xc_vcpu_getinfo(xc_interface *xch, uint32_t domid, uint32_t vcpu, xc_vcpuinfo_t *vi)
{
    (void)xch;
    (void)vcpu;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    memset(vi, 0, sizeof(*vi));
    vi->cpu = (uint32_t)d->cpu;
    return 0;
}

int __wrap_xc_domain_pause(xc_interface *xch, uint32_t domid)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->flags |= XEN_DOMINF_paused;
    return 0;
}

int __wrap_xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->flags &= ~XEN_DOMINF_paused;
    if (d->suspend_pending) {
        d->suspend_pending = false;
        fx_dom_shutdown(domid, SHUTDOWN_suspend);
    }
    return 0;
}

int __wrap_xc_domain_destroy(xc_interface *xch, uint32_t domid)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->used = false;
    release_fire();
    return 0;
}

int __wrap_xc_domain_resume(xc_interface *xch, uint32_t domid, int fast)
{
    (void)xch;
    (void)fast;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->flags &= ~XEN_DOMINF_shutdown;
    FX.resumes++;
    return 0;
}

int __wrap_xc_vcpu_setaffinity(xc_interface *xch, uint32_t domid, int vcpu, xc_cpumap_t hard,
                               xc_cpumap_t soft, uint32_t flags)
{
    (void)xch;
    (void)soft;
    (void)flags;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->affinity = hard[0];
    d->affinity_vcpu = vcpu;
    return 0;
}

int __wrap_xc_get_max_cpus(xc_interface *xch)
{
    (void)xch;
    FAIL(-1);
    return 2;
}

int __wrap_xc_sched_credit_domain_set(xc_interface *xch, uint32_t domid,
                                      struct xen_domctl_sched_credit *s)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->weight = s->weight;
    d->cap = s->cap;
    return 0;
}

int __wrap_xc_sched_credit_domain_get(xc_interface *xch, uint32_t domid,
                                      struct xen_domctl_sched_credit *s)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    s->weight = d->weight;
    s->cap = d->cap;
    return 0;
}

int __wrap_xc_sched_credit2_domain_set(xc_interface *xch, uint32_t domid,
                                       struct xen_domctl_sched_credit2 *s)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    d->weight = s->weight;
    d->cap = s->cap;
    return 0;
}

int __wrap_xc_sched_credit2_domain_get(xc_interface *xch, uint32_t domid,
                                       struct xen_domctl_sched_credit2 *s)
{
    (void)xch;
    FAIL(-1);
    DOM_OR_ESRCH(d, domid);
    s->weight = d->weight;
    s->cap = d->cap;
    return 0;
}

int __wrap_xc_sched_credit_params_get(xc_interface *xch, uint32_t pool,
                                      struct xen_sysctl_credit_schedule *s)
{
    (void)xch;
    (void)pool;
    FAIL(-1);
    s->tslice_ms = FX.tslice_ms;
    s->ratelimit_us = FX.ratelimit_us;
    return 0;
}

int __wrap_xc_sched_credit_params_set(xc_interface *xch, uint32_t pool,
                                      struct xen_sysctl_credit_schedule *s)
{
    (void)xch;
    (void)pool;
    FAIL(-1);
    FX.tslice_ms = s->tslice_ms;
    FX.ratelimit_us = s->ratelimit_us;
    return 0;
}

int __wrap_xc_sched_credit2_params_get(xc_interface *xch, uint32_t pool,
                                       struct xen_sysctl_credit2_schedule *s)
{
    (void)xch;
    (void)pool;
    FAIL(-1);
    s->ratelimit_us = FX.credit2_ratelimit_us;
    return 0;
}

int __wrap_xc_sched_credit2_params_set(xc_interface *xch, uint32_t pool,
                                       struct xen_sysctl_credit2_schedule *s)
{
    (void)xch;
    (void)pool;
    FAIL(-1);
    FX.credit2_ratelimit_us = s->ratelimit_us;
    return 0;
}

/* ---- the domain builder ---- */

struct xc_dom_image *__wrap_xc_dom_allocate(xc_interface *xch, const char *cmdline,
                                            const char *features)
{
    (void)xch;
    (void)features;
    FAIL(NULL);
    FX.dom_allocs++;
    snprintf(FX.cmdline, sizeof(FX.cmdline), "%s", cmdline ? cmdline : "");
    return calloc(1, sizeof(struct xc_dom_image));
}

void __wrap_xc_dom_release(struct xc_dom_image *dom)
{
    FX.dom_releases++;
    free(dom);
}

int __wrap_xc_dom_kernel_file(struct xc_dom_image *dom, const char *file)
{
    (void)dom;
    FAIL(-1);
    snprintf(FX.kernel, sizeof(FX.kernel), "%s", file);
    return 0;
}

int __wrap_xc_dom_module_file(struct xc_dom_image *dom, const char *file, const char *cmdline)
{
    (void)dom;
    (void)cmdline;
    FAIL(-1);
    snprintf(FX.ramdisk, sizeof(FX.ramdisk), "%s", file);
    return 0;
}

int __wrap_xc_dom_boot_xen_init(struct xc_dom_image *dom, xc_interface *xch, uint32_t domid)
{
    (void)xch;
    FAIL(-1);
    dom->guest_domid = domid;
    return 0;
}

int __wrap_xc_dom_parse_image(struct xc_dom_image *dom)
{
    (void)dom;
    int e = fx_take("xc_dom_parse_image");
    if (e) {
        /* libxenguest says why before it fails */
        xtl_log(FX.logger, XTL_ERROR, -1, "xc", "xc_dom_find_loader: no loader found");
        errno = e;
        return -1;
    }
    return 0;
}

int __wrap_xc_dom_mem_init(struct xc_dom_image *dom, unsigned mem_mb)
{
    (void)dom;
    FAIL(-1);
    FX.mem_mb = mem_mb;
    return 0;
}

int __wrap_xc_dom_boot_mem_init(struct xc_dom_image *dom)
{
    (void)dom;
    FAIL(-1);
    return 0;
}

int __wrap_xc_dom_build_image(struct xc_dom_image *dom)
{
    FAIL(-1);
    dom->console_pfn = 0x1001;
    dom->xenstore_pfn = 0x1002;
    return 0;
}

int __wrap_xc_dom_boot_image(struct xc_dom_image *dom)
{
    FAIL(-1);
    struct fx_dom *d = fx_dom(dom->guest_domid);
    if (d && !d->vcpus_made) { /* SETVCPUCONTEXT on a domain without vcpus */
        xtl_log(FX.logger, XTL_ERROR, -1, "xc",
                "panic: xg_dom_x86.c:970: vcpu_x86_64: SETVCPUCONTEXT failed (rc=-1)");
        errno = EINVAL;
        return -1;
    }
    if (d) {
        d->built = true;
        d->tot_pages = (uint64_t)FX.mem_mb * 256;
    }
    return 0;
}

int __wrap_xc_dom_gnttab_init(struct xc_dom_image *dom)
{
    (void)dom;
    FAIL(-1);
    return 0;
}

bool __wrap_xc_dom_translated(const struct xc_dom_image *dom)
{
    (void)dom;
    return true; /* so xc_dom_p2m(pfn) is pfn: the tests see the pfns as mfns */
}

/* ---- save and restore: a one-line stream ---- */

/* libxenguest's own pre-copy policy (5 rounds, or fewer than 50 pages left). */
static int default_precopy_policy(struct precopy_stats st, void *data)
{
    (void)data;
    return (st.dirty_count >= 0 && st.dirty_count < 50) || st.iteration >= 5
               ? XGS_POLICY_STOP_AND_COPY
               : XGS_POLICY_CONTINUE_PRECOPY;
}

/* A live save's pre-copy loop, asking the policy as libxenguest 4.17 does: before a round
 * with its page count, after it with -1 and the rounds sent. -1 when told to abort. */
static int precopy(const struct fx_dom *d, struct save_callbacks *cb)
{
    precopy_policy_t policy = cb->precopy_policy ? cb->precopy_policy : default_precopy_policy;
    /* the first question names the whole physical address space, more than it has */
    struct precopy_stats st = {.dirty_count = (long)d->tot_pages * 4};
    int decision, rounds = 0;
    for (;;) {
        decision = policy(st, cb->data);
        if (decision == XGS_POLICY_ABORT)
            break;
        rounds++;
        /* the round's pages go out; libxenguest tells its logger how far it got */
        if (FX.logger != NULL)
            xtl_progress(FX.logger, "xc", "Memory", (unsigned long)st.dirty_count,
                         (unsigned long)st.dirty_count);
        if (decision != XGS_POLICY_CONTINUE_PRECOPY)
            break;
        st.iteration = (unsigned)rounds;
        st.total_written += (unsigned long)st.dirty_count;
        st.dirty_count = -1;
        decision = policy(st, cb->data);
        if (decision != XGS_POLICY_CONTINUE_PRECOPY)
            break;
        int i = rounds - 1 < FX.precopy_ndirty ? rounds - 1 : FX.precopy_ndirty - 1;
        st.dirty_count = i >= 0 ? FX.precopy_dirty[i] : 0;
    }
    FX.precopy_rounds = rounds;
    return decision == XGS_POLICY_ABORT ? -1 : 0;
}

long long __wrap_xc_logdirty_control(xc_interface *xch, uint32_t domid, unsigned int sop,
                                     xc_hypercall_buffer_t *dirty_bitmap, unsigned long pages,
                                     unsigned int mode, xc_shadow_op_stats_t *stats)
{
    (void)xch;
    (void)dirty_bitmap;
    (void)pages;
    (void)mode;
    DOM_OR_ESRCH(d, domid);
    (void)d;
    if (sop != XEN_DOMCTL_SHADOW_OP_PEEK || stats == NULL) {
        errno = EINVAL;
        return -1;
    }
    stats->dirty_count = (uint32_t)FX.dirty_at_suspend;
    return 0;
}

int __wrap_xc_domain_save(xc_interface *xch, int fd, uint32_t domid, uint32_t flags,
                          struct save_callbacks *cb, xc_stream_type_t type, int recv_fd)
{
    (void)xch;
    (void)type;
    (void)recv_fd;
    DOM_OR_ESRCH(d, domid);
    /* libxenguest asserts this for an HVM container: fail as loudly */
    if ((d->cfg.flags & XEN_DOMCTL_CDF_hvm) && cb->switch_qemu_logdirty == NULL)
        abort();
    if ((flags & XCFLAGS_LIVE) && precopy(d, cb) < 0) {
        errno = EINTR;
        return -1;
    }
    if (cb->suspend(cb->data) != 1) {
        errno = EINVAL;
        return -1;
    }
    FAIL(-1);
    char line[64];
    int n = snprintf(line, sizeof(line), "FAKESAVE %u %s\n", domid,
                     (flags & XCFLAGS_LIVE) ? "live" : "plain");
    if (write(fd, line, (size_t)n) != n)
        return -1;
    return 0;
}

int __wrap_xc_domain_restore(xc_interface *xch, int fd, uint32_t domid, unsigned store_evtchn,
                             unsigned long *store_mfn, uint32_t store_domid,
                             unsigned console_evtchn, unsigned long *console_mfn,
                             uint32_t console_domid, xc_stream_type_t type,
                             struct restore_callbacks *cb, int send_back_fd)
{
    (void)xch;
    (void)store_evtchn;
    (void)store_domid;
    (void)console_evtchn;
    (void)console_domid;
    (void)type;
    (void)send_back_fd;
    FAIL(-1);
    char line[64] = "";
    ssize_t n = read(fd, line, sizeof(line) - 1);
    /* a test's image may begin with a real stream's headers (28 bytes), then the fake's */
    if (n > 28 && memcmp(line, "\xff\xff\xff\xff\xff\xff\xff\xffXENF", 12) == 0) {
        memmove(line, line + 28, (size_t)n - 28);
        line[n - 28] = '\0';
    }
    if (n <= 0 || strncmp(line, "FAKESAVE ", 9) != 0) {
        xtl_log(FX.logger, XTL_ERROR, -1, "xc", "Invalid marker: not a Xen save stream");
        errno = EINVAL;
        return -1;
    }
    if (cb->static_data_done && cb->static_data_done(0, cb->data) != 0)
        return -1;
    DOM_OR_ESRCH(d, domid);
    d->built = true;
    *store_mfn = 0x2002;
    *console_mfn = 0x2001;
    return 0;
}

/* ---- event channels ---- */

static char evtchn_storage;
#define XCE ((xenevtchn_handle *)&evtchn_storage)

xenevtchn_handle *__wrap_xenevtchn_open(struct xentoollog_logger *logger, unsigned flags)
{
    (void)logger;
    (void)flags;
    FAIL(NULL);
    if (pipe2(evtchn_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        abort();
    return XCE;
}

int __wrap_xenevtchn_close(xenevtchn_handle *xce)
{
    (void)xce;
    FX.evtchn_closes++;
    close(evtchn_pipe[0]);
    close(evtchn_pipe[1]);
    evtchn_pipe[0] = evtchn_pipe[1] = -1;
    return 0;
}

int __wrap_xenevtchn_fd(xenevtchn_handle *xce)
{
    (void)xce;
    return evtchn_pipe[0];
}

xenevtchn_port_or_error_t __wrap_xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned virq)
{
    (void)xce;
    (void)virq;
    FAIL(-1);
    if (FX.virq_busy) {
        errno = EEXIST;
        return -1;
    }
    return 7;
}

int __wrap_xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce;
    (void)port;
    return 0;
}

xenevtchn_port_or_error_t __wrap_xenevtchn_pending(xenevtchn_handle *xce)
{
    (void)xce;
    char b;
    if (read(evtchn_pipe[0], &b, 1) != 1) {
        errno = EAGAIN;
        return -1;
    }
    return 7;
}

int __wrap_xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce;
    (void)port;
    FX.unmasks++;
    return 0;
}
