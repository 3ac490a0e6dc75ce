/*
 * The operations on a running domain that finish at once: pause, unpause, a shutdown
 * request, its memory (maximum and target) and its cpu pinning.
 */
#include <string.h>

#include "domain_table.h"
#include "hv.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"

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
    if (mb <= 0 || mb > xend_lifecycle_mem_limit_mb())
        return xend_err_set(err, XEND_EINVAL, "invalid memory: %lld (1 to %lld MB)", mb,
                            xend_lifecycle_mem_limit_mb());
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
    if (mb <= 0 || mb > xend_lifecycle_mem_limit_mb())
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
