/*
 * The checks of a (vm ...) config, and a domain prepared from it: what a create, a restore
 * and a migration check before they change anything, and what the dry run of a create
 * (create_check.c) reports, each problem with the element it is about.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "device_registry.h"
#include "domain_table.h"
#include "hv.h"
#include "lifecycle/lifecycle_internal.h"

long long xend_lifecycle_mem_limit_mb(void)
{
    if (xend_lifecycle_lc.opt.max_memory_mb > 0)
        return xend_lifecycle_lc.opt.max_memory_mb;
    struct xend_physinfo pi = {.size = sizeof(pi)};
    struct xend_err err = {0};
    if (XEND_HV_CALL(physinfo, &err, &pi) == 0 && pi.total_kb > 0)
        xend_lifecycle_lc.opt.max_memory_mb = (long long)(pi.total_kb / 1024);
    return xend_lifecycle_lc.opt.max_memory_mb > 0 ? xend_lifecycle_lc.opt.max_memory_mb
                                                   : (1LL << 40);
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_-.:/+", c) != NULL;
}

int xend_lifecycle_parse_restart(const char *s, enum xend_restart_mode *out)
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
    bool creating;             /* a create's own failures say so (prepare_failed) */
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
    else if (strlen(name) > xend_lifecycle_lc.opt.max_name)
        PROBLEM(v, at, XEND_EINVAL, "invalid vm name: %s (at most %zu characters)", name,
                xend_lifecycle_lc.opt.max_name);
    else
        for (const char *c = name; *c; c++)
            if (!name_char_ok(*c)) {
                PROBLEM(v, at, XEND_EINVAL, "invalid vm name: %s (letters, digits and _-.:/+ only)",
                        name);
                break;
            }
    return v->rc;
}

static int validate_memory(struct vcheck *v, const struct xend_sxp *vm, struct xend_vm_params *p)
{
    const struct xend_sxp *at = xend_sxp_child(vm, "memory");
    if (at == NULL)
        PROBLEM(v, NULL, XEND_EINVAL, "missing memory");
    else if (!int_field(v, vm, "memory", 0, &p->mem_mb, "memory"))
        return v->rc;
    else if (p->mem_mb <= 0)
        PROBLEM(v, at, XEND_EINVAL, "invalid memory: %lld (must be a positive number of MB)",
                p->mem_mb);
    long long limit = xend_lifecycle_mem_limit_mb();
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

static int validate_image(struct vcheck *v, const struct xend_sxp *vm, struct xend_vm_params *p)
{
    const struct xend_sxp *image = xend_sxp_child(vm, "image");
    if (image == NULL)
        PROBLEM(v, NULL, XEND_EINVAL, "missing image");
    if (image == NULL)
        return v->rc;
    const struct xend_sxp *img = xend_sxp_nth(image, 1);
    p->builder = xend_sxp_name(img);
    /* linux: a PV kernel; pvh: the same kernel at its PVH entry (a backend without PVH
     * refuses it when it builds). */
    if (p->builder == NULL ||
        (strcmp(p->builder, "linux") != 0 && strcmp(p->builder, "pvh") != 0)) {
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

static int check_vm(const struct xend_sxp *vm, struct xend_vm_params *p, struct vcheck *v)
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
    if (xend_lifecycle_parse_restart(restart, &p->restart) < 0)
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

int xend_lifecycle_validate_vm(const struct xend_sxp *vm, struct xend_vm_params *p,
                               struct xend_err *err)
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
static int validate_new(const struct xend_sxp *vm, const struct xend_vm_params *p, struct vcheck *v)
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
/*
 * What was wrong with the domain itself (its name, memory, image, kernel, restart, console)
 * made a create fail, config freed. 2.0.0 put "Error creating domain: " before such a
 * message, and scripts match it; its devices' errors came from their own phase without
 * it, and so do they here. It is the create that failed, never a missing resource: a
 * kernel that is not there is no 404 (docs/http.md).
 */
static int prepare_failed(struct vcheck *v, struct xend_sxp *config)
{
    xend_sxp_free(config);
    if (v->creating) {
        char msg[XEND_ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", xend_err_msg(v->err));
        int code = v->rc == -XEND_ENOENT ? XEND_EINVAL : -v->rc;
        *v->err = (struct xend_err){0}; /* the protocol's words around the first message */
        v->rc = xend_err_set(v->err, code, "Error creating domain: %s", msg);
    }
    return v->rc;
}

static int prepare(struct xend_sxp *config, bool fresh, struct xend_domain **out, struct vcheck *v)
{
    struct xend_vm_params p;
    *out = NULL;
    bool dry = v->sink != NULL;
    if (check_vm(config, &p, v) < 0 && !dry)
        return prepare_failed(v, config);
    if (fresh && validate_new(config, &p, v) < 0 && !dry)
        return prepare_failed(v, config);
    const char *name = p.name != NULL ? p.name : "";
    struct xend_domain *dom = xend_domain_new(name);
    if (dom == NULL) {
        name_clash(v, config, name);
        /* A dry run checks the rest under a name no domain can have (not a valid name):
         * the handle lives only until this function returns. */
        dom = dry ? xend_domain_new("\001create-check") : NULL;
    }
    if (dom == NULL)
        return prepare_failed(v, config);
    dom->config = config;
    xend_domain_config_changed(dom);
    dom->restart_mode = p.restart;
    xend_lifecycle_new_key(dom->uuid);
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
    struct xend_vm_params p;
    if (xend_lifecycle_validate_vm(dom->config, &p, err) < 0)
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

int xend_lifecycle_prepare_create(struct xend_sxp *config, struct xend_domain **out,
                                  struct xend_err *err)
{
    struct vcheck v = {.err = err, .creating = true};
    return prepare(config, true, out, &v);
}
