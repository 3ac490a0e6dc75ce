/*
 * A domain's end: its death (found by reconcile.c) or a destroy, devices detached, hooks
 * run, the hypervisor domain destroyed; then a restart (a new instance of the same
 * domain, its intent durable first) or its record forgotten. A destroy that could leave a
 * record able to restart it marks the record halt first.
 */
#include <stdlib.h>
#include <string.h>

#include "crashpoint.h"
#include "device_registry.h"
#include "domain_table.h"
#include "domain_time.h"
#include "hv.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"

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
    xend_lifecycle_build_instance(t->dom, XEND_HOOK_RESTART, XEND_HOOK_NORMAL, want, false,
                                  restart_built, t);
}

static void teardown_destroyed(struct teardown *t)
{
    struct xend_domain *dom = t->dom;
    uint32_t old_id = dom->id;
    xend_crash_point("teardown.destroyed");
    if (!t->restart && !t->refused) {
        xend_lifecycle_forget_first(dom, teardown_forgotten, t);
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

/* The hypervisor's domain is gone (or was already): a failure is logged, and the record
 * still goes, as a domain that cannot be destroyed is one the next start finds running. */
static void teardown_hv_destroyed(void *arg, int rc, const struct xend_err *err)
{
    struct teardown *t = arg;
    if (rc < 0 && rc != -XEND_ENOENT)
        xend_log_warn("hypervisor destroy failed", "domain=%s id=%u error=\"%s\"", t->dom->name,
                      t->dom->id, xend_err_msg(err));
    teardown_destroyed(t);
}

/* The backend's answer to an async destroy: no longer one a stop waits for. */
static void teardown_hv_answered(void *arg, int rc, const struct xend_err *err)
{
    xend_lifecycle_lc.hv_answers_due--;
    teardown_hv_destroyed(arg, rc, err);
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
    if (dom->id == UINT32_MAX) {
        teardown_destroyed(t);
        return;
    }
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops != NULL && ops->dom_destroy_async != NULL) {
        /* The loop serves others meanwhile; the domain is busy, so nothing else starts on it
         * and a list that no longer finds it does not take it for dead. */
        xend_lifecycle_lc.hv_answers_due++;
        ops->dom_destroy_async(ctx, dom->id, teardown_hv_answered, t);
        return;
    }
    struct xend_err e = {0};
    int r = XEND_HV_CALL(dom_destroy, &e, dom->id);
    teardown_hv_destroyed(t, r, &e);
}

bool xend_lifecycle_wants_restart(const struct xend_domain *dom, int exit_reason)
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
    if (restart &&
        xend_domain_restart_too_soon(dom, xend_lifecycle_lc.opt.min_restart_seconds, &since)) {
        /* Decided before the hooks, so plugins get their final DESTROY, not FOR_RESTART. */
        xend_domain_set_halt_reason(
            dom, "VM %s restarting too fast (%.1f s since the last restart, minimum %.0f s)",
            dom->name, since, xend_lifecycle_lc.opt.min_restart_seconds);
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
    xend_lifecycle_persist_first(dom, destroy_marked, w);
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
        xend_lifecycle_forget_first(dom, teardown_forgotten, t);
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
