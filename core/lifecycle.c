/*
 * Domain lifecycle (see lifecycle.h). Every multi-step operation is a small state machine
 * whose steps finish on the loop; a failing step undoes the ones before it. A change is
 * acknowledged only after the store has made it durable. Never blocks the loop: device
 * scripts and store writes finish later, backend calls are quick.
 */
#include "lifecycle.h"
#include "lifecycle_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "crashpoint.h"
#include "device.h"
#include "domain.h"
#include "domain_runtime.h"
#include "domain_time.h"
#include "event/event.h"
#include "handover.h"
#include "hv.h"
#include "transfer.h"
#include "log/log.h"
#include "loop.h"
#include "store/store.h"

#define NS_DOMAIN "domain"
#define CHECK_INTERVAL_MS 5000
#define CHECK_COALESCE_MS 10
/* A check may take at most 1/CHECK_SHARE of the loop during a burst of notifications. */
#define CHECK_SHARE 10
#define CHECK_COALESCE_MAX_MS 500

static struct {
    struct xend_store *store;
    struct xend_lifecycle_options opt;
    struct xend_watch *notify_watch;
    struct xend_timer *check_timer;
    unsigned adopt_holds; /* restores and async creates in flight: their new domains are not
                             strangers */
    struct xend_timer *check_pending; /* a coalesced check is scheduled */
    uint64_t check_cost_us;           /* what the last check took */
    uint64_t checks;                  /* checks done so far */
} LC;

void xend_lifecycle_adopt_hold(bool hold)
{
    if (hold)
        LC.adopt_holds++;
    else if (LC.adopt_holds > 0)
        LC.adopt_holds--;
}

static void schedule_check(void);

/* ---- small helpers ---- */

void xend_lifecycle_emit(const char *name, struct xend_domain *dom, const char *extra)
{
    struct xend_sxp *v = xend_sxp_list();
    xend_sxp_append_take(v, xend_sxp_atom(dom->name));
    xend_sxp_append_take(v, xend_sxp_atom_int(dom->id == UINT32_MAX ? -1 : (long long)dom->id));
    if (extra)
        xend_sxp_append_take(v, xend_sxp_atom(extra));
    xend_event_emit(name, v);
    xend_sxp_free(v);
}

static void make_uuid(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        /* getrandom cannot fail for 16 bytes once the pool is ready; keep going anyway */
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)(rand() & 0xff);
    }
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* A write of a domain's record in flight: on completion, the domain (if it is still the
 * same one) learns whether its record is durable. */
struct persist_wait {
    char name[64];
    char uuid[33];
    void (*done)(void *arg, int rc);
    void *arg;
};

static void persisted(void *arg, int rc)
{
    struct persist_wait *w = arg;
    struct xend_domain *d = xend_domain_by_name(w->name);
    if (d != NULL && strcmp(d->uuid, w->uuid) == 0)
        d->record_failed = rc < 0;
    if (w->done)
        w->done(w->arg, rc);
    free(w);
}

void xend_lifecycle_new_key(char out[33])
{
    make_uuid(out);
}

static void persist(struct xend_domain *dom, struct xend_sxp *mark, bool first,
                    void (*done)(void *arg, int rc), void *arg);

void xend_lifecycle_persist(struct xend_domain *dom, void (*done)(void *arg, int rc), void *arg)
{
    persist(dom, NULL, false, done, arg);
}

void xend_lifecycle_persist_marked(struct xend_domain *dom, struct xend_sxp *mark,
                                   void (*done)(void *arg, int rc), void *arg)
{
    persist(dom, mark, false, done, arg);
}

/* first: ahead of the store's queue (xend_store_put_first), for a destroy's writes, which
 * must answer under a flood of creates (docs/store.md, "Priority"). */
static void persist(struct xend_domain *dom, struct xend_sxp *mark, bool first,
                    void (*done)(void *arg, int rc), void *arg)
{
    struct xend_err err = {0};
    struct xend_sxp *rec = xend_domain_record(dom);
    if (mark)
        xend_sxp_append_take(rec, mark);
    struct persist_wait *w = xend_xmalloc(sizeof(*w));
    snprintf(w->name, sizeof(w->name), "%s", dom->name);
    snprintf(w->uuid, sizeof(w->uuid), "%s", dom->uuid);
    w->done = done;
    w->arg = arg;
    int rc = (first ? xend_store_put_first : xend_store_put)(LC.store, NS_DOMAIN, dom->uuid, rec,
                                                             persisted, w, &err);
    xend_sxp_free(rec);
    if (rc < 0) {
        xend_log_error("store put failed", "domain=%s error=\"%s\"", dom->name, xend_err_msg(&err));
        persisted(w, rc);
    }
}

static void forget(struct xend_domain *dom, bool first, void (*done)(void *arg, int rc), void *arg);

void xend_lifecycle_forget(struct xend_domain *dom, void (*done)(void *arg, int rc), void *arg)
{
    forget(dom, false, done, arg);
}

/* first: as persist's. */
static void forget(struct xend_domain *dom, bool first, void (*done)(void *arg, int rc), void *arg)
{
    struct xend_err err = {0};
    int rc = (first ? xend_store_del_first : xend_store_del)(LC.store, NS_DOMAIN, dom->uuid, done,
                                                             arg, &err);
    if (rc < 0) {
        xend_log_error("store delete failed", "domain=%s error=\"%s\"", dom->name,
                       xend_err_msg(&err));
        if (done)
            done(arg, rc);
    }
}

int xend_lifecycle_config_set_take(struct xend_domain *dom, const char *key, struct xend_sxp *value,
                                   struct xend_err *err)
{
    (void)err;
    if (dom->config == NULL)
        dom->config = xend_sxp_list_of("vm", NULL);
    long i = xend_sxp_child_index(dom->config, key);
    if (value == NULL) {
        if (i >= 0)
            xend_sxp_remove(dom->config, (size_t)i);
    } else {
        struct xend_sxp *kv = xend_sxp_list_of(key, NULL);
        xend_sxp_append_take(kv, value);
        if (i >= 0)
            xend_sxp_replace_take(dom->config, (size_t)i, kv);
        else
            xend_sxp_append_take(dom->config, kv);
    }
    xend_domain_config_changed(dom);
    /* Durable soon; a domain still being created is persisted before it is acknowledged. */
    if (dom->phase != XEND_DOM_CREATING && dom->uuid[0])
        xend_lifecycle_persist(dom, NULL, NULL);
    return 0;
}

/* ---- config validation ---- */

/* The most memory a domain may ask for, in MB: the host's, so that MB * 1024 can never
 * wrap a KiB count. */
static long long mem_limit_mb(void)
{
    if (LC.opt.max_memory_mb > 0)
        return LC.opt.max_memory_mb;
    struct xend_physinfo pi = {.size = sizeof(pi)};
    struct xend_err err = {0};
    if (XEND_HV_CALL(physinfo, &err, &pi) == 0 && pi.total_kb > 0)
        LC.opt.max_memory_mb = (long long)(pi.total_kb / 1024);
    return LC.opt.max_memory_mb > 0 ? LC.opt.max_memory_mb : (1LL << 40);
}

struct vm_params {
    const char *name;
    long long mem_mb, maxmem_mb, cpu, vcpus;
    enum xend_restart_mode restart;
    const char *builder, *kernel, *ramdisk;
    char cmdline[1024];
};

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_-.:/+", c) != NULL;
}

static int parse_restart(const char *s, enum xend_restart_mode *out)
{
    if (strcmp(s, "onreboot") == 0)
        *out = XEND_RESTART_ONREBOOT;
    else if (strcmp(s, "always") == 0)
        *out = XEND_RESTART_ALWAYS;
    else if (strcmp(s, "never") == 0)
        *out = XEND_RESTART_NEVER;
    else
        return -XEND_EINVAL;
    return 0;
}

/*
 * Where the checks of a config report. Without a sink (a create, a restore) the first
 * problem is the error and the check stops there; with one (a dry run) each problem goes to
 * the sink too and the checks go on, so one pass finds them all. Either way the first
 * problem is the one in err.
 */
struct vcheck {
    struct xend_err *err;
    const struct xend_check_sink *sink;
    int rc;                    /* the first problem's code */
    const struct xend_sxp *vm; /* the config checked, to say which of its elements is wrong */
};

__attribute__((format(printf, 4, 5))) static int
vproblem(struct vcheck *v, const struct xend_sxp *where, int code, const char *fmt, ...)
{
    char msg[XEND_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (v->rc == 0)
        v->rc = -code;
    xend_err_set(v->err, code, "%s", msg);
    if (v->sink != NULL) {
        long at = -1;
        for (size_t i = 0; where != NULL && v->vm != NULL && i < xend_sxp_length(v->vm); i++)
            if (xend_sxp_nth(v->vm, i) == where)
                at = (long)i;
        v->sink->add(v->sink->arg, at, msg);
    }
    return -code;
}

/* Report a problem; without a sink, stop the check with it. */
#define PROBLEM(v, ...)                                                                            \
    do {                                                                                           \
        vproblem((v), __VA_ARGS__);                                                                \
        if ((v)->sink == NULL)                                                                     \
            return (v)->rc;                                                                        \
    } while (0)

/* (key N): *out = dflt when absent; false (and reported) when it is no integer. */
static bool int_field(struct vcheck *v, const struct xend_sxp *vm, const char *key, long long dflt,
                      long long *out, const char *what)
{
    int rc = xend_sxp_child_int(vm, key, out);
    if (rc == -XEND_ENOENT) {
        *out = dflt;
        return true;
    }
    if (rc < 0) {
        vproblem(v, xend_sxp_child(vm, key), XEND_EINVAL, "invalid %s: %s", what,
                 xend_sxp_child_value(vm, key, "?"));
        *out = dflt;
        return false;
    }
    return true;
}

#define INT_FIELD(v, ...)                                                                          \
    do {                                                                                           \
        if (!int_field((v), __VA_ARGS__) && (v)->sink == NULL)                                     \
            return (v)->rc;                                                                        \
    } while (0)

static int validate_name(struct vcheck *v, const struct xend_sxp *vm, const char *name)
{
    const struct xend_sxp *at = xend_sxp_child(vm, "name");
    if (name == NULL || name[0] == '\0')
        PROBLEM(v, at, XEND_EINVAL, "missing vm name");
    else if (name[0] >= '0' && name[0] <= '9')
        PROBLEM(v, at, XEND_EINVAL, "invalid vm name: %s (must not start with a digit)", name);
    else if (strlen(name) > LC.opt.max_name)
        PROBLEM(v, at, XEND_EINVAL, "invalid vm name: %s (at most %zu characters)", name,
                LC.opt.max_name);
    else
        for (const char *c = name; *c; c++)
            if (!name_char_ok(*c)) {
                PROBLEM(v, at, XEND_EINVAL, "invalid vm name: %s (letters, digits and _-.:/+ only)",
                        name);
                break;
            }
    return v->rc;
}

static int validate_memory(struct vcheck *v, const struct xend_sxp *vm, struct vm_params *p)
{
    const struct xend_sxp *at = xend_sxp_child(vm, "memory");
    if (at == NULL)
        PROBLEM(v, NULL, XEND_EINVAL, "missing memory");
    else if (!int_field(v, vm, "memory", 0, &p->mem_mb, "memory"))
        return v->rc;
    else if (p->mem_mb <= 0)
        PROBLEM(v, at, XEND_EINVAL, "invalid memory: %lld (must be a positive number of MB)",
                p->mem_mb);
    long long limit = mem_limit_mb();
    if (p->mem_mb > limit)
        PROBLEM(v, at, XEND_EINVAL, "invalid memory: %lld MB is more than the host's %lld MB",
                p->mem_mb, limit);
    const struct xend_sxp *mx = xend_sxp_child(vm, "maxmem");
    INT_FIELD(v, vm, "maxmem", p->mem_mb, &p->maxmem_mb, "maxmem");
    if (mx == NULL)
        return v->rc; /* maxmem is memory, checked above */
    if (p->maxmem_mb > limit)
        PROBLEM(v, mx, XEND_EINVAL, "invalid maxmem: %lld MB is more than the host's %lld MB",
                p->maxmem_mb, limit);
    else if (p->maxmem_mb < p->mem_mb && p->mem_mb > 0)
        PROBLEM(v, mx, XEND_EINVAL, "invalid maxmem: %lld is less than memory %lld", p->maxmem_mb,
                p->mem_mb);
    return v->rc;
}

static int validate_image(struct vcheck *v, const struct xend_sxp *vm, struct vm_params *p)
{
    const struct xend_sxp *image = xend_sxp_child(vm, "image");
    if (image == NULL)
        PROBLEM(v, NULL, XEND_EINVAL, "missing image");
    if (image == NULL)
        return v->rc;
    const struct xend_sxp *img = xend_sxp_nth(image, 1);
    p->builder = xend_sxp_name(img);
    if (p->builder == NULL || strcmp(p->builder, "linux") != 0) {
        PROBLEM(v, image, XEND_EINVAL, "unknown image type: %s", p->builder ? p->builder : "?");
        return v->rc;
    }
    p->kernel = xend_sxp_child_value(img, "kernel", NULL);
    if (p->kernel == NULL || p->kernel[0] == '\0')
        PROBLEM(v, image, XEND_EINVAL, "missing kernel in image");
    p->ramdisk = xend_sxp_child_value(img, "ramdisk", NULL);
    /* cmdline as the original built it: " ip=IP root=ROOT ARGS". */
    struct xend_buf cl = XEND_BUF_INIT;
    const char *ip = xend_sxp_child_value(img, "ip", NULL);
    const char *root = xend_sxp_child_value(img, "root", NULL);
    const char *args = xend_sxp_child_value(img, "args", NULL);
    if (ip)
        xend_buf_printf(&cl, " ip=%s", ip);
    if (root)
        xend_buf_printf(&cl, " root=%s", root);
    if (args)
        xend_buf_printf(&cl, " %s", args);
    snprintf(p->cmdline, sizeof(p->cmdline), "%s", xend_buf_str(&cl));
    xend_buf_free(&cl);
    return v->rc;
}

static int check_vm(const struct xend_sxp *vm, struct vm_params *p, struct vcheck *v)
{
    memset(p, 0, sizeof(*p));
    v->vm = vm;
    const char *head = xend_sxp_name(vm);
    if (head == NULL || strcmp(head, "vm") != 0) {
        PROBLEM(v, NULL, XEND_EINVAL, "Configuration error: expected (vm ...), got %s",
                head ? head : "something else");
        return v->rc;
    }
    p->name = xend_sxp_child_value(vm, "name", NULL);
    if (validate_name(v, vm, p->name) < 0 && v->sink == NULL)
        return v->rc;
    if (validate_memory(v, vm, p) < 0 && v->sink == NULL)
        return v->rc;
    INT_FIELD(v, vm, "cpu", -1, &p->cpu, "cpu");
    if (!int_field(v, vm, "vcpus", 1, &p->vcpus, "vcpus"))
        ; /* reported */
    else if (p->vcpus < 1 || p->vcpus > 64)
        PROBLEM(v, xend_sxp_child(vm, "vcpus"), XEND_EINVAL, "invalid vcpus: %s",
                xend_sxp_child_value(vm, "vcpus", "?"));
    if (v->rc < 0 && v->sink == NULL)
        return v->rc;
    const char *cw = xend_sxp_child_value(vm, "cpu_weight", NULL);
    if (cw) {
        char *end;
        strtod(cw, &end);
        if (*end != '\0' || end == cw)
            PROBLEM(v, xend_sxp_child(vm, "cpu_weight"), XEND_EINVAL, "invalid cpu weight: %s", cw);
    }
    const char *restart = xend_sxp_child_value(vm, "restart", "onreboot");
    if (parse_restart(restart, &p->restart) < 0)
        PROBLEM(v, xend_sxp_child(vm, "restart"), XEND_EINVAL, "invalid restart mode: %s", restart);
    if (validate_image(v, vm, p) < 0 && v->sink == NULL)
        return v->rc;
    for (size_t i = 0; i < xend_sxp_length(vm); i++) {
        const struct xend_sxp *c = xend_sxp_nth(vm, i);
        const char *n = xend_sxp_name(c);
        if (n && strcmp(n, "backend") == 0) {
            const char *t = xend_sxp_name(xend_sxp_nth(c, 1));
            if (t == NULL || (strcmp(t, "blkif") != 0 && strcmp(t, "netif") != 0))
                PROBLEM(v, c, XEND_EINVAL, "invalid backend type:%s", t ? t : "?");
        }
    }
    return v->rc;
}

/* The checks of a (vm ...) that every domain passes, the first problem the error. */
static int validate_vm(const struct xend_sxp *vm, struct vm_params *p, struct xend_err *err)
{
    struct vcheck v = {.err = err};
    return check_vm(vm, p, &v);
}

/* The host's physical cpus, asked once (they do not change while xend runs); 0 unknown. */
static long long host_cpus(void)
{
    static long long cpus = -1;
    if (cpus < 0) {
        struct xend_physinfo pi = {.size = sizeof(pi)};
        struct xend_err err = {0};
        cpus = XEND_HV_CALL(physinfo, &err, &pi) == 0 ? (long long)pi.nr_cpus : 0;
    }
    return cpus;
}

/*
 * What only a new domain must pass, beyond validate_vm (a restored or migrated domain is
 * past them: its kernel has booted, its console port is its own): the kernel and ramdisk
 * files readable here, the cpu on this host, a console port in range and not pinned by
 * another domain.
 */
static int validate_new(const struct xend_sxp *vm, const struct vm_params *p, struct vcheck *v)
{
    const struct xend_sxp *image = xend_sxp_child(vm, "image");
    if (p->kernel != NULL && p->kernel[0] != '\0' && access(p->kernel, R_OK) < 0)
        PROBLEM(v, image, XEND_ENOENT, "Kernel image does not exist: %s (%s)", p->kernel,
                strerror(errno));
    if (p->ramdisk != NULL && p->ramdisk[0] != '\0' && access(p->ramdisk, R_OK) < 0)
        PROBLEM(v, image, XEND_ENOENT, "Ramdisk image does not exist: %s (%s)", p->ramdisk,
                strerror(errno));
    long long cpus = host_cpus();
    if (p->cpu >= 0 && cpus > 0 && p->cpu >= cpus)
        PROBLEM(v, xend_sxp_child(vm, "cpu"), XEND_EINVAL,
                "cpu %lld does not exist (this machine has %lld)", p->cpu, cpus);
    const struct xend_sxp *at = xend_sxp_child(vm, "console");
    long long port;
    int rc = xend_sxp_child_int(vm, "console", &port);
    if (rc == -XEND_EINVAL || (rc == 0 && (port < 1 || port > 65535))) {
        PROBLEM(v, at, XEND_EINVAL, "invalid console port: %s",
                xend_sxp_child_value(vm, "console", "?"));
    } else if (rc == 0) {
        struct xend_domain **all;
        size_t n = xend_domain_all(&all);
        const char *other = NULL;
        long long q;
        for (size_t i = 0; i < n && other == NULL; i++)
            if (all[i]->config != NULL && xend_sxp_child_int(all[i]->config, "console", &q) == 0 &&
                q == port && all[i]->phase != XEND_DOM_HALTED)
                other = all[i]->name;
        char *owner = other != NULL ? xend_xstrdup(other) : NULL;
        free(all);
        if (owner != NULL) {
            vproblem(v, at, XEND_EEXIST, "console port in use: %lld (domain %s)", port, owner);
            free(owner);
            if (v->sink == NULL)
                return v->rc;
        }
    }
    return v->rc;
}

/* ---- building a domain instance: create, build, devices, hooks ---- */

typedef void build_done_fn(int rc, const struct xend_err *err, void *arg);

struct build {
    struct xend_domain *dom;
    struct vm_params p;
    enum xend_hook_point hook_point; /* CREATE, or RESTART for a restart */
    int hook_reason;
    bool info_fresh;  /* the backend's create answered with the info: no refresh needed */
    bool keep_domain; /* a failure leaves the hypervisor's domain (the only copy of a guest) */
    struct xend_err err;
    int rc;
    build_done_fn *done;
    void *arg;
};

static void build_finish(struct build *b)
{
    b->done(b->rc, &b->err, b->arg);
    free(b);
}

static void build_undo_destroyed(int rc, const struct xend_err *err, void *arg)
{
    (void)rc;
    (void)err;
    struct build *b = arg;
    struct xend_err e = {0};
    if (b->dom->id != UINT32_MAX && !b->keep_domain)
        XEND_HV_CALL(dom_destroy, &e, b->dom->id);
    build_finish(b);
}

static void build_fail_after_devices(struct build *b)
{
    xend_devices_detach_all(b->dom, XEND_DEV_ROLLBACK, build_undo_destroyed, b);
}

static void build_devices_done(int rc, const struct xend_err *err, void *arg)
{
    struct build *b = arg;
    struct xend_domain *dom = b->dom;
    if (rc < 0) {
        /* the device chain already detached what it had attached */
        b->rc = rc;
        b->err = *err;
        build_undo_destroyed(0, NULL, b);
        return;
    }
    if (b->hook_point == XEND_HOOK_CREATE || b->hook_point == XEND_HOOK_RESTORE) {
        size_t ran = 0;
        rc = xend_hooks_run(b->hook_point, dom, b->hook_reason, -1, NULL, &b->err, &ran);
        if (rc < 0) {
            b->rc = rc;
            xend_hooks_rollback(b->hook_point, dom, ran);
            build_fail_after_devices(b);
            return;
        }
    } else {
        xend_hooks_run(b->hook_point, dom, b->hook_reason, -1, NULL, NULL, NULL);
    }
    struct xend_err e = {0};
    if (!b->info_fresh)
        xend_domain_refresh(dom, &e);
    build_finish(b);
}

/* The domain is built (and paused): pin it as its config asks, then attach its devices. */
static void build_attach(struct build *b, uint32_t domid)
{
    xend_domain_runtime_reset(b->dom);
    if (b->p.cpu >= 0) {
        struct xend_err e = {0};
        if (XEND_HV_CALL(dom_pin_vcpu, &e, domid, 0, (int32_t)b->p.cpu) < 0)
            xend_log_warn("cpu pin failed", "domain=%s cpu=%lld error=\"%s\"", b->dom->name,
                          b->p.cpu, xend_err_msg(&e));
    }
    xend_devices_attach_all(b->dom, build_devices_done, b);
}

static void build_created(void *arg, int rc, const struct xend_dominfo *info,
                          const struct xend_err *err)
{
    struct build *b = arg;
    xend_lifecycle_adopt_hold(false);
    if (rc < 0) {
        b->rc = rc;
        b->err = *err;
        build_finish(b);
        return;
    }
    xend_domain_set_id(b->dom, info->domid);
    b->dom->info = *info;
    b->dom->info_known = true;
    b->dom->info_ms = xend_loop_now_ms();
    b->info_fresh = true;
    build_attach(b, info->domid);
}

/* Does the backend hold a new domain until confirmed (XEND_DOM_CREATE_HOLD)? */
static bool hv_holds_creates(void)
{
    const struct xend_backend_ops *ops = xend_hv(NULL);
    return ops != NULL && ops->dom_create_async != NULL && ops->dom_confirm != NULL;
}

/*
 * Create the hypervisor domain from dom->config, build it, attach its devices, run hooks.
 * With hold (only where hv_holds_creates()), the backend destroys the domain should xend
 * die before it calls dom_confirm.
 */
static void build_instance(struct xend_domain *dom, enum xend_hook_point point, int reason,
                           int64_t want_domid, bool hold, build_done_fn *done, void *arg)
{
    struct build *b = xend_xcalloc(1, sizeof(*b));
    b->dom = dom;
    b->hook_point = point;
    b->hook_reason = reason;
    b->done = done;
    b->arg = arg;
    if (validate_vm(dom->config, &b->p, &b->err) < 0) {
        b->rc = -b->err.code;
        build_finish(b);
        return;
    }
    struct xend_dom_create args = {
        .size = sizeof(args),
        .name = dom->name,
        .mem_kb = (uint64_t)b->p.mem_mb * 1024,
        .maxmem_kb = (uint64_t)b->p.maxmem_mb * 1024,
        .vcpus = (uint32_t)b->p.vcpus,
        .want_domid = want_domid,
        .cpu = (int32_t)b->p.cpu,
        .flags = hold ? XEND_DOM_CREATE_HOLD : 0,
    };
    struct xend_dom_image image = {
        .size = sizeof(image),
        .builder = b->p.builder,
        .kernel = b->p.kernel,
        .ramdisk = b->p.ramdisk,
        .cmdline = b->p.cmdline,
    };
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops != NULL && ops->dom_create_async != NULL) {
        /* Until the answer, the new domain may show in a list: not a stranger to adopt. */
        xend_lifecycle_adopt_hold(true);
        ops->dom_create_async(ctx, &args, &image, build_created, b);
        return;
    }
    uint32_t domid = 0;
    int rc = XEND_HV_CALL(dom_create, &b->err, &args, &domid);
    if (rc < 0) {
        b->rc = rc;
        build_finish(b);
        return;
    }
    xend_domain_set_id(dom, domid);
    rc = XEND_HV_CALL(dom_build, &b->err, domid, &image);
    if (rc < 0) {
        b->rc = rc;
        build_undo_destroyed(0, NULL, b);
        return;
    }
    build_attach(b, domid);
}

void xend_lifecycle_attach_instance(struct xend_domain *dom, enum xend_hook_point point,
                                    bool keep_domain,
                                    void (*done)(int rc, const struct xend_err *err, void *arg),
                                    void *arg)
{
    struct build *b = xend_xcalloc(1, sizeof(*b));
    b->dom = dom;
    b->keep_domain = keep_domain;
    b->hook_point = point;
    b->hook_reason = XEND_HOOK_NORMAL;
    b->done = done;
    b->arg = arg;
    xend_devices_attach_all(dom, build_devices_done, b);
}

void xend_lifecycle_restored(struct xend_domain *dom, bool unpause, void (*done)(void *arg, int rc),
                             void *arg)
{
    dom->phase = XEND_DOM_LIVE;
    xend_domain_time_started(dom, false);
    struct xend_err e = {0};
    if (unpause && XEND_HV_CALL(dom_unpause, &e, dom->id) < 0)
        xend_log_warn("unpause after migration failed", "domain=%s error=\"%s\"", dom->name,
                      xend_err_msg(&e));
    xend_domain_refresh(dom, &e);
    xend_lifecycle_persist(dom, done, arg);
}

/* ---- create ---- */

struct create {
    struct xend_domain *dom;
    xend_lifecycle_done_fn *done;
    void *arg;
    struct xend_err err;
    int rc;
    bool held;              /* no intent record: the backend holds the domain until dom_confirm */
    uint64_t checks_before; /* LC.checks when it began: a later one skipped it as busy */
};

static void create_reply(struct create *c)
{
    c->done(c->rc, &c->err, c->rc == 0 ? c->dom : NULL, c->arg);
    free(c);
}

static void create_forgotten(void *arg, int rc)
{
    (void)rc;
    struct create *c = arg;
    xend_domain_free(c->dom);
    create_reply(c);
}

static void create_undo_detached(int rc, const struct xend_err *err, void *arg)
{
    (void)rc;
    (void)err;
    struct create *c = arg;
    struct xend_err e = {0};
    /* domain.h's order: devices are gone by the time plugins see DESTROY. */
    xend_hooks_run(XEND_HOOK_DESTROY, c->dom, XEND_HOOK_ROLLBACK, -1, NULL, NULL, NULL);
    XEND_HV_CALL(dom_destroy, &e, c->dom->id);
    xend_lifecycle_forget(c->dom, create_forgotten, c);
}

static void create_acknowledged(void *arg, int rc)
{
    struct create *c = arg;
    if (rc < 0) {
        /* Not durable, so not acknowledged: the domain must not stay, nor its devices. */
        xend_err_set(&c->err, XEND_EIO, "Error creating domain: cannot write the store");
        c->rc = -XEND_EIO;
        c->dom->busy = true;
        xend_devices_detach_all(c->dom, XEND_DEV_ROLLBACK, create_undo_detached, c);
        return;
    }
    xend_crash_point("create.recorded");
    if (c->held) {
        struct xend_err e = {0};
        if (XEND_HV_CALL(dom_confirm, &e, c->dom->id) < 0)
            xend_log_warn("domain confirm failed", "domain=%s id=%u error=\"%s\"", c->dom->name,
                          c->dom->id, xend_err_msg(&e));
    }
    c->dom->busy = false;
    /* A check that ran while it was busy skipped it, and it may have exited since: look
     * again. With none, an exit would have scheduled one that is still to come. */
    if (LC.checks != c->checks_before)
        schedule_check();
    xend_crash_point("create.confirmed");
    xend_log_info("domain created", "domain=%s id=%u", c->dom->name, c->dom->id);
    xend_lifecycle_emit("xend.domain.create", c->dom, NULL);
    create_reply(c);
}

static void create_built(int rc, const struct xend_err *err, void *arg)
{
    struct create *c = arg;
    if (rc < 0) {
        c->rc = rc;
        c->err = *err;
        if (c->err.code == 0)
            xend_err_set(&c->err, -rc, "Error creating domain");
        xend_log_warn("domain create failed", "domain=%s error=\"%s\"", c->dom->name,
                      xend_err_msg(&c->err));
        if (c->held)
            create_forgotten(c, 0); /* nothing was written */
        else
            xend_lifecycle_forget(c->dom, create_forgotten, c);
        return;
    }
    c->dom->phase = XEND_DOM_LIVE;
    xend_domain_time_started(c->dom, false);
    c->dom->busy = true; /* until acknowledged: a destroy or an exit waits for the reply */
    xend_crash_point("create.built");
    xend_lifecycle_persist(c->dom, create_acknowledged, c);
}

static void create_intent_durable(void *arg, int rc)
{
    struct create *c = arg;
    if (rc < 0) {
        xend_err_set(&c->err, XEND_EIO, "Error creating domain: cannot write the store");
        c->rc = -XEND_EIO;
        xend_domain_free(c->dom);
        create_reply(c);
        return;
    }
    xend_crash_point("create.intent");
    build_instance(c->dom, XEND_HOOK_CREATE, XEND_HOOK_NORMAL, -1, false, create_built, c);
}

static int name_clash(struct vcheck *v, const struct xend_sxp *vm, const char *name)
{
    return vproblem(v, xend_sxp_child(vm, "name"), XEND_EEXIST, "vm name clash: %s", name);
}

/*
 * Each device entry of dom's config parsed on its own after those that passed, so that a
 * dry run names every device with a problem (a create stops at the first: it parses them
 * all at once). Classes parse without side effects; the records are dropped by the caller.
 */
static void check_devices_each(struct xend_domain *dom, struct vcheck *v)
{
    struct xend_sxp *passed = xend_sxp_list_of("vm", NULL);
    for (size_t i = 0; i < xend_sxp_length(dom->config); i++) {
        const struct xend_sxp *c = xend_sxp_nth(dom->config, i);
        const char *n = xend_sxp_name(c);
        if (n == NULL || strcmp(n, "device") != 0)
            continue;
        struct xend_sxp *trial = xend_sxp_copy(passed);
        xend_sxp_append_take(trial, xend_sxp_copy(c));
        struct xend_err e = {0};
        xend_devices_free_all(dom);
        if (xend_devices_parse(dom, trial, &e) < 0)
            vproblem(v, c, e.code ? e.code : XEND_EINVAL, "%s", xend_err_msg(&e));
        else
            xend_sxp_append_take(passed, xend_sxp_copy(c));
        xend_sxp_free(trial);
    }
    xend_devices_free_all(dom);
    xend_sxp_free(passed);
}

/*
 * Everything a create or a restore checks before it touches anything: validate_vm, the
 * name, the record's limits, each device with its class, the VALIDATE hooks; with `fresh`
 * (a create) also validate_new. Takes config. Without a sink, *out is the CREATING domain
 * on success; with one, nothing is kept (a dry run) and every problem is reported.
 */
static int prepare(struct xend_sxp *config, bool fresh, struct xend_domain **out, struct vcheck *v)
{
    struct vm_params p;
    *out = NULL;
    bool dry = v->sink != NULL;
    if (check_vm(config, &p, v) < 0 && !dry) {
        xend_sxp_free(config);
        return v->rc;
    }
    if (fresh && validate_new(config, &p, v) < 0 && !dry) {
        xend_sxp_free(config);
        return v->rc;
    }
    const char *name = p.name != NULL ? p.name : "";
    struct xend_domain *dom = xend_domain_new(name);
    if (dom == NULL) {
        name_clash(v, config, name);
        /* A dry run checks the rest under a name no domain can have (not a valid name):
         * the handle lives only until this function returns. */
        dom = dry ? xend_domain_new("\001create-check") : NULL;
    }
    if (dom == NULL) {
        xend_sxp_free(config);
        return v->rc;
    }
    dom->config = config;
    xend_domain_config_changed(dom);
    dom->restart_mode = p.restart;
    make_uuid(dom->uuid);
    struct xend_err e = {0};
    if (xend_domain_config_check(dom, &e) < 0) {
        vproblem(v, NULL, e.code, "%s", xend_err_msg(&e));
    } else if (xend_devices_parse(dom, dom->config, &e) < 0) {
        if (dry)
            check_devices_each(dom, v);
        else
            vproblem(v, NULL, e.code, "%s", xend_err_msg(&e));
    } else if (v->rc == 0 || dry) {
        if (xend_hooks_run(XEND_HOOK_VALIDATE, dom, XEND_HOOK_NORMAL, -1, dom->config, &e, NULL) <
            0)
            vproblem(v, NULL, e.code ? e.code : XEND_EINVAL, "%s", xend_err_msg(&e));
    }
    if (v->rc < 0 || dry) {
        xend_domain_free(dom);
        return v->rc;
    }
    *out = dom;
    return 0;
}

int xend_lifecycle_prepare(struct xend_sxp *config, struct xend_domain **out, struct xend_err *err)
{
    struct vcheck v = {.err = err};
    return prepare(config, false, out, &v);
}

int xend_lifecycle_check_create(const struct xend_sxp *config, const struct xend_check_sink *sink,
                                struct xend_err *err)
{
    struct vcheck v = {.err = err, .sink = sink};
    struct xend_domain *dom;
    return prepare(xend_sxp_copy(config), true, &dom, &v);
}

int xend_lifecycle_create_args(struct xend_domain *dom, struct xend_dom_create *args,
                               struct xend_err *err)
{
    struct vm_params p;
    if (validate_vm(dom->config, &p, err) < 0)
        return -err->code;
    *args = (struct xend_dom_create){
        .size = sizeof(*args),
        .name = dom->name,
        .mem_kb = (uint64_t)p.mem_mb * 1024,
        .maxmem_kb = (uint64_t)p.maxmem_mb * 1024,
        .vcpus = (uint32_t)p.vcpus,
        .want_domid = -1,
        .cpu = (int32_t)p.cpu,
    };
    return 0;
}

void xend_lifecycle_create(struct xend_sxp *config, xend_lifecycle_done_fn *done, void *arg)
{
    struct create *c = xend_xcalloc(1, sizeof(*c));
    c->checks_before = LC.checks;
    c->done = done;
    c->arg = arg;
    struct vcheck v = {.err = &c->err};
    c->rc = prepare(config, true, &c->dom, &v);
    if (c->rc < 0) {
        create_reply(c);
        return;
    }
    if (hv_holds_creates()) {
        /* A crash before the live record is durable takes the held domain along: one
         * durable write per create. */
        c->held = true;
        build_instance(c->dom, XEND_HOOK_CREATE, XEND_HOOK_NORMAL, -1, true, create_built, c);
        return;
    }
    /* The intent first: a crash after the hypervisor made the domain but before it was
     * acknowledged leaves a record that tells the next start to remove it. */
    xend_lifecycle_persist(c->dom, create_intent_durable, c);
}

/* ---- configure ---- */

struct configure {
    struct xend_domain *dom;
    xend_lifecycle_done_fn *done;
    void *arg;
};

static void configure_durable(void *arg, int rc)
{
    struct configure *c = arg;
    struct xend_err err = {0};
    if (rc < 0)
        xend_err_set(&err, XEND_EIO, "configured, but the store write failed");
    else
        xend_crash_point("configure.recorded");
    c->done(rc, &err, c->dom, c->arg);
    free(c);
}

void xend_lifecycle_configure(struct xend_domain *dom, const struct xend_sxp *record,
                              xend_lifecycle_done_fn *done, void *arg)
{
    struct xend_err err = {0};
    const char *head = xend_sxp_name(record);
    const struct xend_sxp *vm = record;
    if (head && strcmp(head, "vm") != 0)
        vm = xend_sxp_nth(xend_sxp_child(record, "config"), 1);
    struct vm_params p;
    int rc = 0;
    if (dom->config != NULL)
        rc = xend_err_set(&err, XEND_EEXIST, "Domain already configured: %u", dom->id);
    else if (vm == NULL)
        rc = xend_err_set(&err, XEND_EINVAL, "Configuration error: no (vm ...) config");
    else if (dom->busy || dom->phase != XEND_DOM_LIVE)
        rc = xend_err_set(&err, XEND_EBUSY, "Domain %s is busy", dom->name);
    else
        rc = validate_vm(vm, &p, &err);
    if (rc < 0) {
        done(rc, &err, dom, arg);
        return;
    }
    dom->config = xend_sxp_copy(vm);
    xend_domain_config_changed(dom);
    dom->restart_mode = p.restart;
    if (dom->uuid[0] == '\0')
        make_uuid(dom->uuid);
    rc = xend_domain_config_check(dom, &err);
    if (rc == 0)
        rc = xend_devices_parse(dom, dom->config, &err);
    if (rc < 0) {
        xend_sxp_free(dom->config);
        dom->config = NULL;
        xend_domain_config_changed(dom);
        done(rc, &err, dom, arg);
        return;
    }
    /* The domain is already running with these devices: they are attached. */
    for (size_t i = 0; i < dom->ndevices; i++)
        dom->devices[i]->attached = true;
    if (dom->start_ns == 0)
        xend_domain_time_started(dom, false);
    struct configure *c = xend_xcalloc(1, sizeof(*c));
    c->dom = dom;
    c->done = done;
    c->arg = arg;
    xend_log_info("domain configured", "domain=%s id=%u", dom->name, dom->id);
    xend_lifecycle_persist(dom, configure_durable, c);
}

/* ---- simple ops ---- */

static int require_live(struct xend_domain *dom, struct xend_err *err)
{
    if (dom->phase != XEND_DOM_LIVE || dom->id == UINT32_MAX)
        return xend_err_set(err, XEND_EBUSY, "Domain %s is not running", dom->name);
    return 0;
}

int xend_lifecycle_pause(struct xend_domain *dom, struct xend_err *err)
{
    int rc = require_live(dom, err);
    if (rc == 0)
        rc = XEND_HV_CALL(dom_pause, err, dom->id);
    if (rc < 0)
        return rc;
    xend_hooks_run(XEND_HOOK_PAUSE, dom, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
    struct xend_err e = {0};
    xend_domain_refresh(dom, &e);
    xend_lifecycle_emit("xend.domain.pause", dom, NULL);
    return 0;
}

int xend_lifecycle_unpause(struct xend_domain *dom, struct xend_err *err)
{
    int rc = require_live(dom, err);
    if (rc == 0)
        rc = XEND_HV_CALL(dom_unpause, err, dom->id);
    if (rc < 0)
        return rc;
    xend_hooks_run(XEND_HOOK_UNPAUSE, dom, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
    struct xend_err e = {0};
    xend_domain_refresh(dom, &e);
    xend_lifecycle_emit("xend.domain.unpause", dom, NULL);
    return 0;
}

/* A reason a shutdown may ask for (a crash is not one). */
static int reason_code(const char *reason, int *out)
{
    static const int requestable[] = {XEND_SHUTDOWN_POWEROFF, XEND_SHUTDOWN_REBOOT,
                                      XEND_SHUTDOWN_HALT, XEND_SHUTDOWN_SUSPEND};
    for (size_t i = 0; i < sizeof(requestable) / sizeof(requestable[0]); i++)
        if (strcmp(xend_shutdown_reason_name(requestable[i]), reason) == 0) {
            *out = requestable[i];
            return 0;
        }
    return -XEND_EINVAL;
}

int xend_lifecycle_shutdown(struct xend_domain *dom, const char *reason, struct xend_err *err)
{
    int code;
    if (reason == NULL || reason_code(reason, &code) < 0)
        return xend_err_set(err, XEND_EINVAL, "invalid reason:%s", reason ? reason : "");
    int rc = require_live(dom, err);
    if (rc < 0)
        return rc;
    /* halt is poweroff to the guest, but cancels any restart. */
    int sent = code == XEND_SHUTDOWN_HALT ? XEND_SHUTDOWN_POWEROFF : code;
    rc = XEND_HV_CALL(dom_shutdown, err, dom->id, (enum xend_shutdown_reason)sent);
    if (rc < 0)
        return rc;
    dom->shutdown_requested = code;
    xend_hooks_run(XEND_HOOK_SHUTDOWN, dom, XEND_HOOK_NORMAL, code, NULL, NULL, NULL);
    xend_lifecycle_emit("xend.domain.shutdown", dom, reason);
    xend_log_info("domain shutdown requested", "domain=%s reason=%s", dom->name, reason);
    return 0;
}

int xend_lifecycle_set_maxmem(struct xend_domain *dom, long long mb, struct xend_err *err)
{
    if (mb <= 0 || mb > mem_limit_mb())
        return xend_err_set(err, XEND_EINVAL, "invalid memory: %lld (1 to %lld MB)", mb,
                            mem_limit_mb());
    int rc = require_live(dom, err);
    if (rc == 0 && dom->info_known && (uint64_t)mb * 1024 < dom->info.mem_kb)
        rc = xend_err_set(err, XEND_EINVAL, "invalid memory: %lld MB is below the %llu MB in use",
                          mb, (unsigned long long)(dom->info.mem_kb / 1024));
    if (rc == 0)
        rc = XEND_HV_CALL(dom_set_maxmem, err, dom->id, (uint64_t)mb * 1024);
    if (rc == 0 && dom->config) {
        /* In memory now; the caller makes it durable before it acknowledges. */
        long i = xend_sxp_child_index(dom->config, "maxmem");
        struct xend_sxp *kv = xend_sxp_list_of("maxmem", NULL);
        xend_sxp_append_take(kv, xend_sxp_atom_int(mb));
        if (i >= 0)
            xend_sxp_replace_take(dom->config, (size_t)i, kv);
        else
            xend_sxp_append_take(dom->config, kv);
        xend_domain_config_changed(dom);
    }
    return rc;
}

int xend_lifecycle_set_target(struct xend_domain *dom, long long mb, struct xend_err *err)
{
    if (mb <= 0 || mb > mem_limit_mb())
        return xend_err_set(err, XEND_EINVAL, "invalid target: %lld", mb);
    int rc = require_live(dom, err);
    if (rc == 0)
        rc = XEND_HV_CALL(dom_set_target, err, dom->id, (uint64_t)mb * 1024);
    if (rc == 0)
        dom->target_kb = (uint64_t)mb * 1024; /* a save or migration carries it */
    return rc;
}

int xend_lifecycle_pincpu(struct xend_domain *dom, long long cpu, struct xend_err *err)
{
    int rc = require_live(dom, err);
    if (rc == 0)
        rc = XEND_HV_CALL(dom_pin_vcpu, err, dom->id, 0, (int32_t)cpu);
    if (rc == 0) {
        dom->pin_set = true; /* a save or migration carries it */
        dom->pin_cpu = (int32_t)cpu;
    }
    return rc;
}

/* ---- teardown: death, destroy, restart ---- */

struct teardown {
    struct xend_domain *dom;
    int exit_reason; /* enum xend_shutdown_reason, or -1 for an explicit destroy */
    bool restart;
    bool refused; /* a restart was due but came too soon after the last one */
    uint32_t old_id;
    bool forget_halted; /* destroy of a HALTED domain: only its record goes */
    xend_lifecycle_done_fn *done;
    void *arg;
    struct xend_err err;
    int rc;
};

static void teardown_reply(struct teardown *t, struct xend_domain *dom)
{
    if (t->done)
        t->done(t->rc, &t->err, dom, t->arg);
    free(t);
}

static void teardown_forgotten(void *arg, int rc)
{
    struct teardown *t = arg;
    struct xend_domain *dom = t->dom;
    if (rc < 0) {
        /* The store retries the delete. Until then the record stays, but it cannot bring
         * the domain back: it says halt (destroy_marked) or its restart mode does not
         * restart a domain found gone. A halted domain's record would list it again. */
        xend_log_warn("domain record not deleted", "domain=%s retry=yes", dom->name);
        if (t->forget_halted && t->rc == 0)
            t->rc = xend_err_set(&t->err, XEND_EIO,
                                 "Domain %s destroyed, but the store could not delete its "
                                 "record: until it does (it retries), a restart of xend lists "
                                 "it again as halted",
                                 dom->name);
    }
    xend_lifecycle_emit("xend.domain.destroy", dom, NULL);
    xend_lifecycle_emit("xend.domain.died", dom, NULL);
    xend_log_info("domain gone", "domain=%s id=%u", dom->name, dom->id);
    xend_domain_free(dom);
    teardown_reply(t, NULL);
}

static void restart_persisted(void *arg, int rc)
{
    struct teardown *t = arg;
    if (rc < 0) {
        /* Its info says so (store_error) until a later write of the record succeeds. */
        xend_log_error("domain state not recorded", "domain=%s phase=%s retry=yes", t->dom->name,
                       t->dom->phase == XEND_DOM_HALTED ? "halted" : "live");
        if (t->rc == 0)
            t->rc = xend_err_set(&t->err, XEND_EIO,
                                 "Domain %s %s, but the store could not record it", t->dom->name,
                                 t->dom->phase == XEND_DOM_HALTED ? "halted" : "restarted");
    }
    t->dom->busy = false;
    teardown_reply(t, t->dom);
    xend_lifecycle_check(); /* the new instance may already have exited */
}

static void restart_built(int rc, const struct xend_err *err, void *arg)
{
    struct teardown *t = arg;
    struct xend_domain *dom = t->dom;
    if (rc < 0) {
        xend_log_error("domain restart failed", "domain=%s error=\"%s\"", dom->name,
                       xend_err_msg(err));
        /* Plugins kept state across the restart (console listener): release it now. */
        xend_hooks_run(XEND_HOOK_DESTROY, dom, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
        xend_lifecycle_emit("xend.domain.restart", dom, "fail");
        dom->phase = XEND_DOM_HALTED;
        dom->restart_state = NULL;
        xend_domain_set_halt_reason(dom, "restart failed: %s", xend_err_msg(err));
        xend_domain_set_id(dom, UINT32_MAX);
        dom->info_known = false;
        xend_lifecycle_persist(dom, restart_persisted, t);
        return;
    }
    struct xend_err e = {0};
    if (XEND_HV_CALL(dom_unpause, &e, dom->id) < 0)
        xend_log_warn("unpause after restart failed", "domain=%s error=\"%s\"", dom->name,
                      xend_err_msg(&e));
    xend_domain_refresh(dom, &e);
    dom->phase = XEND_DOM_LIVE;
    dom->restart_state = NULL;
    xend_domain_time_started(dom, true);
    dom->shutdown_requested = -1;
    dom->restart_forced = false;
    xend_crash_point("restart.built");
    xend_log_notice("domain restarted", "domain=%s id=%u", dom->name, dom->id);
    xend_lifecycle_emit("xend.domain.restart", dom, "success");
    xend_lifecycle_emit("xend.domain.create", dom, NULL);
    xend_lifecycle_persist(dom, restart_persisted, t);
}

static void restart_intent_durable(void *arg, int rc)
{
    struct teardown *t = arg;
    if (rc < 0) {
        /* Without the intent a crash during the build could leave a half-made instance that
         * the next start would take for the running domain: do not restart. */
        struct xend_domain *dom = t->dom;
        xend_log_error("domain restart refused",
                       "domain=%s reason=\"the store cannot record "
                       "the restart\"",
                       dom->name);
        xend_hooks_run(XEND_HOOK_DESTROY, dom, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
        xend_lifecycle_emit("xend.domain.restart", dom, "fail");
        dom->phase = XEND_DOM_HALTED;
        dom->restart_state = NULL;
        xend_domain_set_halt_reason(dom, "restart not done: the store cannot record it");
        t->rc = xend_err_set(&t->err, XEND_EIO,
                             "Domain %s not restarted: the store cannot record it", dom->name);
        xend_lifecycle_persist(dom, restart_persisted, t);
        return;
    }
    xend_crash_point("restart.intent");
    /* The same id where the old instance had one (Xen 2.0 asked for it too). */
    int64_t want = t->old_id == UINT32_MAX ? -1 : (int64_t)t->old_id;
    build_instance(t->dom, XEND_HOOK_RESTART, XEND_HOOK_NORMAL, want, false, restart_built, t);
}

static void teardown_destroyed(struct teardown *t)
{
    struct xend_domain *dom = t->dom;
    uint32_t old_id = dom->id;
    xend_crash_point("teardown.destroyed");
    if (!t->restart && !t->refused) {
        forget(dom, true, teardown_forgotten, t);
        return;
    }
    if (t->refused) {
        xend_log_warn("domain restart refused", "domain=%s reason=\"%s\"", dom->name,
                      dom->halt_reason);
        xend_lifecycle_emit("xend.domain.restart", dom, "fail");
        dom->phase = XEND_DOM_HALTED;
        dom->restart_state = NULL;
        dom->info_known = false;
        xend_domain_set_id(dom, UINT32_MAX);
        xend_lifecycle_persist(dom, restart_persisted, t);
        return;
    }
    dom->phase = XEND_DOM_RESTARTING;
    dom->restart_state = "booting";
    dom->info_known = false;
    t->old_id = old_id;
    xend_lifecycle_emit("xend.domain.restart", dom, "begin");
    /* Durable before the new instance exists: a crash now is finished at the next start. */
    xend_lifecycle_persist(dom, restart_intent_durable, t);
}

static void teardown_detached(int rc, const struct xend_err *err, void *arg)
{
    (void)rc;
    (void)err;
    struct teardown *t = arg;
    struct xend_domain *dom = t->dom;
    xend_hooks_run(XEND_HOOK_DESTROY, dom, t->restart ? XEND_HOOK_FOR_RESTART : XEND_HOOK_NORMAL,
                   t->exit_reason, NULL, NULL, NULL);
    xend_crash_point("teardown.detached");
    if (dom->id != UINT32_MAX) {
        struct xend_err e = {0};
        int r = XEND_HV_CALL(dom_destroy, &e, dom->id);
        if (r < 0 && r != -XEND_ENOENT)
            xend_log_warn("hypervisor destroy failed", "domain=%s id=%u error=\"%s\"", dom->name,
                          dom->id, xend_err_msg(&e));
    }
    teardown_destroyed(t);
}

static bool wants_restart(struct xend_domain *dom, int exit_reason)
{
    if (dom->config == NULL)
        return false;
    if (dom->restart_forced)
        return true;
    if (dom->shutdown_requested == XEND_SHUTDOWN_HALT)
        return false;
    switch (dom->restart_mode) {
    case XEND_RESTART_ALWAYS:
        return exit_reason == XEND_SHUTDOWN_POWEROFF || exit_reason == XEND_SHUTDOWN_REBOOT ||
               exit_reason == XEND_SHUTDOWN_CRASH;
    case XEND_RESTART_ONREBOOT:
        return exit_reason == XEND_SHUTDOWN_REBOOT;
    default:
        return false;
    }
}

void xend_lifecycle_teardown(struct xend_domain *dom, int exit_reason, bool restart,
                             xend_lifecycle_done_fn *done, void *arg)
{
    struct teardown *t = xend_xcalloc(1, sizeof(*t));
    t->dom = dom;
    t->exit_reason = exit_reason;
    t->restart = restart;
    t->done = done;
    t->arg = arg;
    dom->busy = true;
    dom->phase = XEND_DOM_DYING;
    double since;
    if (restart && xend_domain_restart_too_soon(dom, LC.opt.min_restart_seconds, &since)) {
        /* Decided before the hooks, so plugins get their final DESTROY, not FOR_RESTART. */
        xend_domain_set_halt_reason(
            dom, "VM %s restarting too fast (%.1f s since the last restart, minimum %.0f s)",
            dom->name, since, LC.opt.min_restart_seconds);
        t->restart = false;
        t->refused = true;
    }
    if (t->restart)
        dom->restart_state = "pending";
    xend_hooks_run(XEND_HOOK_DIED, dom, XEND_HOOK_NORMAL, exit_reason, NULL, NULL, NULL);
    xend_devices_detach_all(dom, t->restart ? XEND_DEV_RESTART : XEND_DEV_NORMAL, teardown_detached,
                            t);
}

/*
 * A destroy whose stored record could restart the domain at the next start ((restart
 * always), a forced reboot, or a record whose last write failed and is being retried) first
 * makes the record say halt, durably: if xend dies after the hypervisor destroy, or the
 * store cannot delete the record, the next start forgets the domain instead of restarting
 * it. When that write fails the destroy is refused with the domain untouched
 * (docs/durability.md).
 */
struct destroy_wait {
    struct xend_domain *dom;
    int was_shutdown_requested;
    bool was_restart_forced;
    xend_lifecycle_done_fn *done;
    void *arg;
};

static void destroy_marked(void *arg, int rc)
{
    struct destroy_wait *w = arg;
    struct xend_domain *dom = w->dom;
    xend_lifecycle_done_fn *done = w->done;
    void *done_arg = w->arg;
    dom->busy = false;
    if (rc < 0) {
        dom->shutdown_requested = w->was_shutdown_requested;
        dom->restart_forced = w->was_restart_forced;
        free(w);
        /* The store retries what failed: give it the record as it is again, which
         * replaces the halt mark it would otherwise write later. */
        xend_lifecycle_persist(dom, NULL, NULL);
        struct xend_err err = {0};
        xend_err_set(&err, XEND_EIO,
                     "Domain %s not destroyed: the store cannot record the destroy, and its "
                     "record would restart it when xend starts",
                     dom->name);
        xend_log_warn("domain destroy refused", "domain=%s reason=\"store write failed\"",
                      dom->name);
        done(-XEND_EIO, &err, dom, done_arg);
        return;
    }
    free(w);
    xend_log_info("domain destroy", "domain=%s id=%u reason=halt", dom->name, dom->id);
    xend_lifecycle_teardown(dom, -1, false, done, done_arg);
}

static void destroy_mark(struct xend_domain *dom, xend_lifecycle_done_fn *done, void *arg)
{
    struct destroy_wait *w = xend_xcalloc(1, sizeof(*w));
    w->dom = dom;
    w->was_shutdown_requested = dom->shutdown_requested;
    w->was_restart_forced = dom->restart_forced;
    w->done = done;
    w->arg = arg;
    dom->busy = true; /* nothing else may start on it until the mark is durable */
    dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    dom->restart_forced = false;
    persist(dom, NULL, true, destroy_marked, w);
}

void xend_lifecycle_destroy(struct xend_domain *dom, const char *reason,
                            xend_lifecycle_done_fn *done, void *arg)
{
    struct xend_err err = {0};
    if (reason == NULL)
        reason = "halt";
    if (strcmp(reason, "halt") != 0 && strcmp(reason, "reboot") != 0) {
        xend_err_set(&err, XEND_EINVAL, "invalid reason:%s", reason);
        done(-XEND_EINVAL, &err, dom, arg);
        return;
    }
    if (dom->id == 0 && dom->config == NULL) {
        xend_err_set(&err, XEND_EPERM, "Cannot destroy Domain-0");
        done(-XEND_EPERM, &err, dom, arg);
        return;
    }
    if (dom->busy || dom->phase == XEND_DOM_CREATING) {
        xend_err_set(&err, XEND_EBUSY, "Domain %s is busy", dom->name);
        done(-XEND_EBUSY, &err, dom, arg);
        return;
    }
    bool reboot = strcmp(reason, "reboot") == 0;
    if (dom->phase == XEND_DOM_HALTED) {
        dom->restart_forced = reboot;
        if (!reboot)
            dom->shutdown_requested = XEND_SHUTDOWN_HALT;
        dom->busy = true;
        struct teardown *t = xend_xcalloc(1, sizeof(*t));
        t->dom = dom;
        t->forget_halted = true;
        t->done = done;
        t->arg = arg;
        forget(dom, true, teardown_forgotten, t);
        return;
    }
    if (!reboot && dom->config != NULL && dom->uuid[0] &&
        (dom->restart_mode == XEND_RESTART_ALWAYS || dom->restart_forced || dom->record_failed)) {
        destroy_mark(dom, done, arg);
        return;
    }
    dom->restart_forced = reboot;
    if (!reboot)
        dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_log_info("domain destroy", "domain=%s id=%u reason=%s", dom->name, dom->id, reason);
    xend_lifecycle_teardown(dom, -1, reboot && dom->config != NULL, done, arg);
}

/* ---- watching the hypervisor ---- */

struct seen_set {
    uint32_t *ids;
    size_t n, cap;
};

static void note_domain(void *arg, const struct xend_dominfo *info)
{
    struct seen_set *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->ids = xend_xrealloc(s->ids, s->cap * sizeof(*s->ids));
    }
    s->ids[s->n++] = info->domid;
    struct xend_domain *d = xend_domain_by_id(info->domid);
    if (d == NULL && LC.adopt_holds > 0 && info->domid != 0)
        return; /* maybe a restore's new domain: look again once it is done */
    if (d == NULL) {
        /* A domain xend did not create: adopt it so that it is listed. */
        char name[64];
        if (info->domid == 0)
            snprintf(name, sizeof(name), "Domain-0");
        else if (info->name[0] && xend_domain_by_name(info->name) == NULL)
            snprintf(name, sizeof(name), "%s", info->name);
        else
            snprintf(name, sizeof(name), "Domain-%u", info->domid);
        d = xend_domain_new(name);
        if (d == NULL)
            return;
        xend_domain_set_id(d, info->domid);
        d->phase = XEND_DOM_LIVE;
        d->restart_mode = XEND_RESTART_NEVER;
        if (info->domid != 0)
            xend_log_notice("domain adopted", "domain=%s id=%u", name, info->domid);
        xend_lifecycle_emit("xend.domain.create", d, NULL);
    }
    d->info = *info;
    d->info_known = true;
    d->info_ms = xend_loop_now_ms();
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool seen(const struct seen_set *s, uint32_t id)
{
    return bsearch(&id, s->ids, s->n, sizeof(*s->ids), cmp_u32) != NULL;
}

static void check_domains(void);

void xend_lifecycle_check(void)
{
    LC.checks++;
    uint64_t t0 = xend_clock_ns();
    check_domains();
    LC.check_cost_us = (xend_clock_ns() - t0) / 1000u;
}

static void check_domains(void)
{
    struct seen_set s = {0};
    struct xend_err err = {0};
    if (XEND_HV_CALL(dom_list, &err, note_domain, &s) < 0) {
        xend_log_warn("hypervisor list failed", "error=\"%s\"", xend_err_msg(&err));
        free(s.ids);
        return;
    }
    if (s.n)
        qsort(s.ids, s.n, sizeof(*s.ids), cmp_u32);
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++) {
        struct xend_domain *d = all[i];
        if (d->busy || d->phase != XEND_DOM_LIVE || d->id == UINT32_MAX)
            continue;
        if (!seen(&s, d->id)) {
            /* Destroyed behind xend's back: it is gone, no restart. */
            xend_log_notice("domain vanished", "domain=%s id=%u", d->name, d->id);
            d->info_known = false;
            if (d->config == NULL) {
                xend_lifecycle_emit("xend.domain.died", d, NULL);
                xend_domain_free(d);
            } else {
                xend_domain_set_id(d, UINT32_MAX);
                xend_lifecycle_teardown(d, XEND_SHUTDOWN_POWEROFF, false, NULL, NULL);
            }
            continue;
        }
        uint32_t f = d->info.flags;
        if (!(f & (XEND_DOMF_SHUTDOWN | XEND_DOMF_CRASHED)))
            continue;
        int reason = (f & XEND_DOMF_CRASHED) ? XEND_SHUTDOWN_CRASH : (int)d->info.shutdown_reason;
        if (reason == XEND_SHUTDOWN_SUSPEND) {
            xend_lifecycle_emit("xend.domain.suspended", d, NULL);
            continue;
        }
        xend_lifecycle_emit("xend.domain.exit", d, xend_shutdown_reason_name(reason));
        bool restart = wants_restart(d, reason);
        xend_log_info("domain exited", "domain=%s id=%u reason=%s restart=%s", d->name, d->id,
                      xend_shutdown_reason_name(reason), restart ? "yes" : "no");
        xend_lifecycle_teardown(d, reason, restart, NULL, NULL);
    }
    free(all);
    free(s.ids);
}

static void on_coalesced_check(void *arg)
{
    (void)arg;
    LC.check_pending = NULL; /* a one-shot timer: the core frees it */
    xend_lifecycle_check();
}

/*
 * A burst of state changes (a thousand creates) must not cost a full list each: one check
 * covers every change up to it, so notifications within the coalescing delay share one.
 * The delay grows with what a check costs (a list of every domain), so that with thousands
 * of domains a steady stream of notifications cannot take more than a tenth of the loop.
 */
static void schedule_check(void)
{
    if (LC.check_pending != NULL)
        return;
    uint64_t delay_ms = LC.check_cost_us * CHECK_SHARE / 1000u;
    if (delay_ms < CHECK_COALESCE_MS)
        delay_ms = CHECK_COALESCE_MS;
    if (delay_ms > CHECK_COALESCE_MAX_MS)
        delay_ms = CHECK_COALESCE_MAX_MS;
    LC.check_pending =
        xend_loop_host_table()->timer_add(NULL, delay_ms, false, on_coalesced_check, NULL);
}

static void on_notify(int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    (void)arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops && ops->notify_ack)
        ops->notify_ack(ctx);
    schedule_check();
}

/* A domain whose last record write failed is written again (which also replaces the
 * store's own retry of the older value): once the store can, its info stops saying
 * store_error and the record is what the domain is now. */
static void rewrite_failed_records(void)
{
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++)
        if (all[i]->record_failed && !all[i]->busy && all[i]->phase != XEND_DOM_CREATING &&
            all[i]->uuid[0])
            xend_lifecycle_persist(all[i], NULL, NULL);
    free(all);
}

static void on_check_timer(void *arg)
{
    (void)arg;
    xend_lifecycle_check();
    rewrite_failed_records();
}

/* ---- start: reconcile the store with the hypervisor ---- */

/*
 * What the hypervisor holds, read once with dom_list before the records are matched: one
 * round trip for the whole start instead of one dom_info per stored domain (with 10,000
 * domains those were most of a restart). Sorted by id. A domain the reconcile destroys is
 * forgotten, so a second record naming the same id does not find it.
 */
struct hv_snapshot {
    struct xend_dominfo *v; /* owned */
    size_t n, cap;
    bool taken; /* dom_list answered; else each record asks dom_info */
};

struct reconcile {
    bool boot_changed;
    size_t restored, cleaned;
    struct hv_snapshot hv;
};

static void snapshot_add(void *arg, const struct xend_dominfo *info)
{
    struct hv_snapshot *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = xend_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = *info;
}

static int by_domid(const void *a, const void *b)
{
    uint32_t x = ((const struct xend_dominfo *)a)->domid;
    uint32_t y = ((const struct xend_dominfo *)b)->domid;
    return x < y ? -1 : x > y;
}

static void snapshot_take(struct hv_snapshot *s)
{
    struct xend_err err = {0};
    s->taken = XEND_HV_CALL(dom_list, &err, snapshot_add, s) == 0;
    if (s->taken)
        qsort(s->v, s->n, sizeof(*s->v), by_domid);
}

/* The hypervisor's view of domain id: 0 and *out, or -XEND_ENOENT. */
static int snapshot_info(const struct hv_snapshot *s, uint32_t id, struct xend_dominfo *out)
{
    if (!s->taken) {
        struct xend_err err = {0};
        out->size = sizeof(*out);
        return XEND_HV_CALL(dom_info, &err, id, out);
    }
    struct xend_dominfo key = {.domid = id};
    const struct xend_dominfo *hit = bsearch(&key, s->v, s->n, sizeof(*s->v), by_domid);
    if (hit == NULL)
        return -XEND_ENOENT;
    *out = *hit;
    return 0;
}

static void snapshot_forget(struct hv_snapshot *s, uint32_t id)
{
    struct xend_dominfo key = {.domid = id};
    struct xend_dominfo *hit = bsearch(&key, s->v, s->n, sizeof(*s->v), by_domid);
    if (hit != NULL) {
        size_t i = (size_t)(hit - s->v);
        memmove(hit, hit + 1, (s->n - i - 1) * sizeof(*s->v));
        s->n--;
    }
}

static void restart_after_reconcile(int rc, const struct xend_err *err, struct xend_domain *dom,
                                    void *arg)
{
    (void)arg;
    (void)dom;
    if (rc < 0)
        xend_log_warn("restart at start failed", "error=\"%s\"", xend_err_msg(err));
}

/*
 * Migrated in, and the sender had let go, when xend stopped: the domain exists only here.
 * A start finishes taking it over as transfer.c would have (recv_take_over): prepare it
 * from its config, attach its devices (a device the crash left attached is taken over,
 * devscript.c), run on, record it. It runs from the loop once the start's reconcile is
 * over, as a create does: the device classes' checks want the domains it loads (Domain-0,
 * a driver domain). Strangers are not adopted meanwhile.
 */
struct take_over {
    char key[33];
    struct xend_sxp *config; /* owned until prepared */
    uint32_t id;
    bool unpause;
    struct xend_domain *dom; /* once prepared */
};

static void take_over_end(struct take_over *t)
{
    xend_lifecycle_adopt_hold(false);
    free(t);
}

static void take_over_done(void *arg, int rc)
{
    struct take_over *t = arg;
    t->dom->busy = false;
    if (rc < 0)
        xend_log_error("migrated domain not recorded", "domain=%s id=%u", t->dom->name, t->id);
    else
        xend_log_notice("migrated domain taken over", "domain=%s id=%u", t->dom->name, t->id);
    xend_lifecycle_emit("xend.domain.create", t->dom, NULL);
    take_over_end(t);
    schedule_check(); /* it may have exited while busy */
}

static void take_over_forgotten(void *arg, int rc)
{
    (void)rc;
    struct take_over *t = arg;
    xend_lifecycle_emit("xend.domain.died", t->dom, NULL);
    xend_domain_free(t->dom);
    take_over_end(t);
}

static void take_over_attached(int rc, const struct xend_err *err, void *arg)
{
    struct take_over *t = arg;
    if (rc < 0) {
        /* The attach rolled back what it had attached but kept the domain, which holds the
         * only copy of the guest: its record goes, and the domain is adopted. */
        xend_log_error("migrated domain take-over failed",
                       "domain=%s error=\"%s\" action=\"left to be adopted\"", t->dom->name,
                       xend_err_msg(err));
        xend_lifecycle_forget(t->dom, take_over_forgotten, t);
        return;
    }
    xend_lifecycle_restored(t->dom, t->unpause, take_over_done, t);
}

static void take_over_resume(void *arg)
{
    struct take_over *t = arg;
    struct xend_err err = {0};
    /* A local migration's source may still be going down (its teardown finishes after the
     * reconcile): its name is the copy's once it is gone. */
    struct xend_domain *holder = xend_domain_by_name(xend_sxp_child_value(t->config, "name", ""));
    if (holder && holder->phase == XEND_DOM_DYING) {
        xend_loop_host_table()->timer_add(NULL, 50, false, take_over_resume, t);
        return;
    }
    int rc = xend_lifecycle_prepare(t->config, &t->dom, &err);
    t->config = NULL; /* taken */
    if (rc < 0) {
        /* It holds the only copy of the guest: leave it running, to be adopted (listed
         * and managed) as a domain xend did not create, rather than destroy it. */
        xend_log_error("migrated domain take-over failed",
                       "key=%s id=%u error=\"%s\" action=\"left to be adopted\"", t->key, t->id,
                       xend_err_msg(&err));
        struct xend_err e = {0};
        xend_store_del(LC.store, NS_DOMAIN, t->key, NULL, NULL, &e);
        take_over_end(t);
        return;
    }
    snprintf(t->dom->uuid, sizeof(t->dom->uuid), "%s", t->key);
    xend_domain_set_id(t->dom, t->id);
    xend_log_notice("migrated domain take-over resumed", "domain=%s id=%u", t->dom->name, t->id);
    t->dom->busy = true;
    xend_lifecycle_attach_instance(t->dom, XEND_HOOK_RESTORE, true, take_over_attached, t);
}

static void take_over_later(const char *key, const struct xend_sxp *cfg, uint32_t id, bool unpause)
{
    struct take_over *t = xend_xcalloc(1, sizeof(*t));
    snprintf(t->key, sizeof(t->key), "%s", key);
    t->config = xend_sxp_copy(cfg);
    t->id = id;
    t->unpause = unpause;
    xend_lifecycle_adopt_hold(true);
    xend_loop_host_table()->timer_add(NULL, 0, false, take_over_resume, t);
}

struct name_search {
    const char *name;
    uint32_t ids[8];
    size_t n;
};

static void find_by_name(void *arg, const struct xend_dominfo *info)
{
    struct name_search *ns = arg;
    if (info->domid != 0 && info->name[0] && strcmp(info->name, ns->name) == 0 &&
        ns->n < sizeof(ns->ids) / sizeof(ns->ids[0]))
        ns->ids[ns->n++] = info->domid;
}

/* An incoming migration's intent lists (spare ID...): the source's domain of the same name
 * on this host, whose own record may load only after this one. */
static bool spared(const struct xend_sxp *rec, uint32_t id)
{
    const struct xend_sxp *l = xend_sxp_child(rec, "spare");
    for (size_t i = 1; i < xend_sxp_length(l); i++) {
        long long v;
        const char *t = xend_sxp_atom_text(xend_sxp_nth(l, i));
        if (t && xend_sxp_text_int(t, &v) && v == (long long)id)
            return true;
    }
    return false;
}

/*
 * Whether a record's domain was let go of before xend stopped: the log line that says so,
 * or NULL. A save let go once its file holds the complete image (transfer.c), a migration
 * once its release record is durable (handover.h); (released 1) is the mark of saves of
 * earlier versions.
 */
static const char *released_by(const char *key, const struct xend_sxp *rec)
{
    long long v;
    const struct xend_sxp *transfer = xend_sxp_child(rec, "transfer");
    const char *file = xend_sxp_child_value(transfer, "file", NULL);
    if (file && xend_transfer_settle_save(file, xend_sxp_child_value(transfer, "token", "")))
        return "saved domain released";
    if (xend_sxp_child_int(rec, "released", &v) == 0 && v)
        return "saved domain released";
    if (xend_handover_released(key))
        return "migrated domain released";
    return NULL;
}

/* A save or migration that had not let go when xend stopped: the domain runs on as it was
 * before it began, and its record loses the mark. */
static void undo_transfer(struct xend_domain *dom, const struct xend_sxp *transfer)
{
    long long paused = 1;
    xend_sxp_child_int(transfer, "paused", &paused);
    struct xend_err e = {0};
    if (!paused && XEND_HV_CALL(dom_unpause, &e, dom->id) < 0)
        xend_log_warn("unpause after an unfinished transfer failed", "domain=%s error=\"%s\"",
                      dom->name, xend_err_msg(&e));
    xend_log_notice("unfinished transfer undone", "domain=%s running=%s", dom->name,
                    paused ? "no" : "yes");
    xend_domain_refresh(dom, &e);
    xend_lifecycle_persist(dom, NULL, NULL);
}

/*
 * A local migration's copy, made before the source let go of the name (transfer.c): this
 * host's own store says what the source decided. Released: take the copy over. The
 * source's record still there: it kept the domain, the copy goes. Neither: keep the copy,
 * paused, rather than lose the guest.
 */
static void settle_local_migration(const char *key, const struct xend_sxp *cfg, uint32_t id,
                                   const struct xend_sxp *received)
{
    const char *src_key = xend_sxp_child_value(received, "key", "");
    long long paused = 0;
    xend_sxp_child_int(received, "paused", &paused);
    struct xend_err err = {0};
    /* The release record stays: the source's own record, maybe loaded later, reads it. */
    if (xend_handover_released(src_key)) {
        take_over_later(key, cfg, id, !paused);
        return;
    }
    struct xend_sxp *src = NULL;
    bool kept = xend_store_key_valid(src_key) &&
                xend_store_get(LC.store, NS_DOMAIN, src_key, &src, &err) == 0;
    xend_sxp_free(src);
    if (kept) {
        XEND_HV_CALL(dom_destroy, &err, id);
        xend_store_del(LC.store, NS_DOMAIN, key, NULL, NULL, &err);
        xend_log_notice("migrated copy removed: the source kept the domain", "id=%u", id);
        return;
    }
    xend_log_warn("migrated copy kept paused", "id=%u reason=\"the source's decision is unknown\"",
                  id);
    take_over_later(key, cfg, id, false);
}

static void load_record(const char *key, const struct xend_sxp *rec, void *arg)
{
    struct reconcile *rc = arg;
    const char *name = xend_sxp_child_value(rec, "name", NULL);
    const char *phase = xend_sxp_child_value(rec, "phase", "live");
    long long id = -1;
    xend_sxp_child_int(rec, "id", &id);
    const struct xend_sxp *cfg = xend_sxp_nth(xend_sxp_child(rec, "config"), 1);
    struct xend_err err = {0};
    if (name == NULL || cfg == NULL) {
        xend_log_warn("store record ignored", "key=%s reason=\"no name or config\"", key);
        xend_store_del(LC.store, NS_DOMAIN, key, NULL, NULL, &err);
        return;
    }
    struct xend_dominfo info = {.size = sizeof(info)};
    bool exists = id >= 0 && snapshot_info(&rc->hv, (uint32_t)id, &info) == 0 &&
                  (info.name[0] == '\0' || strcmp(info.name, name) == 0);
    const struct xend_sxp *received = xend_sxp_child(rec, "received");
    /* Migrated in, its record marked before it answered (received): settled with the
     * sender (whatever phase a later write of the record gave it). */
    bool take_over = received != NULL && exists;
    long long taken = 0;
    xend_sxp_child_int(received, "taken", &taken);
    if (take_over && !taken) {
        settle_local_migration(key, cfg, (uint32_t)id, received);
        rc->restored++;
        return;
    }
    if (strcmp(phase, "creating") == 0 && !take_over) {
        /* Never acknowledged: remove whatever was made. The intent record was written
         * before the hypervisor gave an id, so look for the domain by its name too. */
        if (exists) {
            XEND_HV_CALL(dom_destroy, &err, (uint32_t)id);
            snapshot_forget(&rc->hv, (uint32_t)id);
        }
        struct name_search ns = {.name = name};
        XEND_HV_CALL(dom_list, &err, find_by_name, &ns);
        for (size_t i = 0; i < ns.n; i++)
            if (xend_domain_by_id(ns.ids[i]) == NULL && !spared(rec, ns.ids[i])) {
                XEND_HV_CALL(dom_destroy, &err, ns.ids[i]);
                snapshot_forget(&rc->hv, ns.ids[i]);
            }
        xend_store_del(LC.store, NS_DOMAIN, key, NULL, NULL, &err);
        xend_log_notice("unfinished create removed", "domain=%s", name);
        rc->cleaned++;
        return;
    }
    struct xend_domain *dom = xend_domain_new(name);
    if (dom == NULL) {
        xend_log_warn("store record ignored", "key=%s reason=\"duplicate name %s\"", key, name);
        return;
    }
    snprintf(dom->uuid, sizeof(dom->uuid), "%s", key);
    dom->config = xend_sxp_copy(cfg);
    xend_domain_config_changed(dom);
    enum xend_restart_mode mode = XEND_RESTART_ONREBOOT;
    parse_restart(xend_sxp_child_value(cfg, "restart", "onreboot"), &mode);
    dom->restart_mode = mode;
    xend_domain_time_load(dom, rec);
    xend_domain_runtime_load(dom, rec);
    const char *halt = xend_sxp_child_value(rec, "halt_reason", NULL);
    if (halt)
        xend_domain_set_halt_reason(dom, "%s", halt);
    long long v;
    if (xend_sxp_child_int(rec, "shutdown_requested", &v) == 0)
        dom->shutdown_requested = (int)v;
    if (xend_sxp_child_int(rec, "restart_forced", &v) == 0)
        dom->restart_forced = v != 0;
    const struct xend_sxp *devs = xend_sxp_child(rec, "devices");
    const char *released = released_by(key, rec);
    if (released) {
        /* Its image was saved, or the destination of its migration holds it, since before
         * xend stopped: finish taking it down, never restart it. */
        if (exists)
            xend_domain_set_id(dom, (uint32_t)id);
        xend_devices_reattach(dom, devs, &err);
        dom->phase = XEND_DOM_LIVE;
        dom->shutdown_requested = XEND_SHUTDOWN_HALT;
        xend_log_notice(released, "domain=%s", name);
        rc->cleaned++;
        xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, restart_after_reconcile, NULL);
        return;
    }
    if (strcmp(phase, "restarting") == 0) {
        /* xend died while building the new instance: remove what was made of it, then
         * restart again, as was decided. */
        if (exists) {
            XEND_HV_CALL(dom_destroy, &err, (uint32_t)id);
            snapshot_forget(&rc->hv, (uint32_t)id);
        }
        xend_devices_reattach(dom, devs, &err);
        dom->phase = XEND_DOM_LIVE;
        xend_domain_time_restart_forget(dom);
        dom->restart_forced = true;
        xend_log_notice("unfinished restart resumed", "domain=%s", name);
        xend_lifecycle_teardown(dom, XEND_SHUTDOWN_REBOOT, true, restart_after_reconcile, NULL);
        return;
    }
    if (strcmp(phase, "halted") == 0) {
        dom->phase = XEND_DOM_HALTED;
        xend_devices_reattach(dom, NULL, &err);
        return;
    }
    if (exists) {
        xend_domain_set_id(dom, (uint32_t)id);
        dom->info = info;
        dom->info_known = true;
        xend_devices_reattach(dom, devs, &err);
        dom->phase = XEND_DOM_LIVE;
        struct xend_err e = {0};
        if (xend_hooks_run(XEND_HOOK_CREATE, dom, XEND_HOOK_REATTACH, -1, NULL, &e, NULL) < 0)
            xend_log_warn("reattach hook failed", "domain=%s error=\"%s\"", name, xend_err_msg(&e));
        xend_log_info("domain reattached", "domain=%s id=%u", name, dom->id);
        xend_lifecycle_emit("xend.domain.create", dom, NULL);
        rc->restored++;
        if (take_over) {
            /* Migrated in from another host; its sender's decision is not known here. */
            xend_domain_set_mark(dom, xend_sxp_copy(received));
            long long paused = 0;
            xend_sxp_child_int(received, "paused", &paused);
            xend_transfer_doubt(dom, xend_sxp_child_value(received, "host", ""),
                                xend_sxp_child_value(received, "port", "0"),
                                xend_sxp_child_value(received, "key", ""), !paused);
        } else if (xend_sxp_child(rec, "transfer")) {
            undo_transfer(dom, xend_sxp_child(rec, "transfer"));
        }
        return;
    }
    /* It died while xend was down. Restart per its mode (as a poweroff), else forget it. */
    /* Reattached, so the teardown releases them (down scripts, unbinds) as at any death. */
    xend_devices_reattach(dom, devs, &err);
    dom->phase = XEND_DOM_LIVE;
    bool restart = !rc->boot_changed && wants_restart(dom, XEND_SHUTDOWN_POWEROFF);
    xend_log_notice("domain died while xend was down", "domain=%s restart=%s", name,
                    restart ? "yes" : "no");
    xend_domain_time_restart_forget(dom); /* xend was not there to restart it */
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_POWEROFF, restart, restart_after_reconcile, NULL);
}

int xend_lifecycle_init(struct xend_store *store, const struct xend_lifecycle_options *opts,
                        struct xend_err *err)
{
    (void)err;
    LC.store = store;
    LC.opt = *opts;
    if (LC.opt.max_name == 0)
        LC.opt.max_name = 15;
    return 0;
}

int xend_lifecycle_start(struct xend_err *err)
{
    struct reconcile rc = {0};
    rc.boot_changed = xend_store_boot_id_changed(LC.store);
    if (rc.boot_changed)
        xend_log_notice("host rebooted since the store was written",
                        "effect=\"domains that are gone are not restarted\"");
    snapshot_take(&rc.hv);
    int r = xend_store_load(LC.store, NS_DOMAIN, load_record, &rc, err);
    free(rc.hv.v);
    if (r < 0)
        return r;
    xend_log_info("store loaded", "records=%d reattached=%zu cleaned=%zu", r, rc.restored,
                  rc.cleaned);
    xend_crash_point("reconcile.loaded");
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops && ops->notify_fd) {
        int fd = ops->notify_fd(ctx);
        if (fd >= 0)
            LC.notify_watch =
                xend_loop_host_table()->watch_add(NULL, fd, XEND_WATCH_READ, on_notify, NULL);
    }
    /* Adopt Domain-0 and anything else, and reap what died meanwhile. */
    xend_lifecycle_check();
    /* A safety net for a lost notification, as the original's periodic refresh. */
    LC.check_timer =
        xend_loop_host_table()->timer_add(NULL, CHECK_INTERVAL_MS, true, on_check_timer, NULL);
    return 0;
}

void xend_lifecycle_stop(void)
{
    xend_loop_host_table()->watch_remove(LC.notify_watch);
    xend_loop_host_table()->timer_remove(LC.check_timer);
    xend_loop_host_table()->timer_remove(LC.check_pending);
    LC.notify_watch = NULL;
    LC.check_timer = NULL;
    LC.check_pending = NULL;
}
