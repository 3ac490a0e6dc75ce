/*
 * A domain instance made: the hypervisor domain created and built from the config (or,
 * for a restored or migrated domain, already there), pinned, its devices attached in
 * config order, its hooks run; a failure undoes what was done. Create, restart, restore
 * and migration all go through here.
 */
#include <stdlib.h>

#include "device_registry.h"
#include "domain_table.h"
#include "domain_runtime.h"
#include "domain_time.h"
#include "hv.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"
#include "event_loop.h"

struct build {
    struct xend_domain *dom;
    struct xend_vm_params p;
    enum xend_hook_point hook_point; /* CREATE, or RESTART for a restart */
    int hook_reason;
    bool info_fresh;  /* the backend's create answered with the info: no refresh needed */
    bool keep_domain; /* a failure leaves the hypervisor's domain (the only copy of a guest) */
    struct xend_err err;
    int rc;
    xend_lifecycle_build_done_fn *done;
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
    xend_lifecycle_lc.hv_answers_due--;
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

void xend_lifecycle_build_instance(struct xend_domain *dom, enum xend_hook_point point, int reason,
                                   int64_t want_domid, bool hold,
                                   xend_lifecycle_build_done_fn *done, void *arg)
{
    struct build *b = xend_xcalloc(1, sizeof(*b));
    b->dom = dom;
    b->hook_point = point;
    b->hook_reason = reason;
    b->done = done;
    b->arg = arg;
    if (xend_lifecycle_validate_vm(dom->config, &b->p, &b->err) < 0) {
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
        xend_lifecycle_lc.hv_answers_due++;
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
