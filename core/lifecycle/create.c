/*
 * Create (a new domain from its config: checked, made, built, recorded, acknowledged, and
 * undone whole on any failure) and configure (the config given to a domain xend found
 * without one).
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

struct create {
    struct xend_domain *dom;
    xend_lifecycle_done_fn *done;
    void *arg;
    struct xend_err err;
    int rc;
    bool held;              /* no intent record: the backend holds the domain until dom_confirm */
    uint64_t checks_before; /* the checks done when it began: a later one skipped it as busy */
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
    /* xend/domain.h's order: devices are gone by the time plugins see DESTROY. */
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
    if (xend_lifecycle_lc.checks != c->checks_before)
        xend_lifecycle_schedule_check();
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
    xend_lifecycle_build_instance(c->dom, XEND_HOOK_CREATE, XEND_HOOK_NORMAL, -1, false,
                                  create_built, c);
}

/* Does the backend hold a new domain until confirmed (XEND_DOM_CREATE_HOLD)? */
static bool hv_holds_creates(void)
{
    const struct xend_backend_ops *ops = xend_hv(NULL);
    return ops != NULL && ops->dom_create_async != NULL && ops->dom_confirm != NULL;
}

void xend_lifecycle_create(struct xend_sxp *config, xend_lifecycle_done_fn *done, void *arg)
{
    struct create *c = xend_xcalloc(1, sizeof(*c));
    c->checks_before = xend_lifecycle_lc.checks;
    c->done = done;
    c->arg = arg;
    c->rc = xend_lifecycle_prepare_create(config, &c->dom, &c->err);
    if (c->rc < 0) {
        create_reply(c);
        return;
    }
    if (hv_holds_creates()) {
        /* A crash before the live record is durable takes the held domain along: one
         * durable write per create. */
        c->held = true;
        xend_lifecycle_build_instance(c->dom, XEND_HOOK_CREATE, XEND_HOOK_NORMAL, -1, true,
                                      create_built, c);
        return;
    }
    /* The intent first: a crash after the hypervisor made the domain but before it was
     * acknowledged leaves a record that tells the next start to remove it. */
    xend_lifecycle_persist(c->dom, create_intent_durable, c);
}

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
    struct xend_vm_params p;
    int rc = 0;
    if (dom->config != NULL)
        rc = xend_err_set(&err, XEND_EEXIST, "Domain already configured: %u", dom->id);
    else if (vm == NULL)
        rc = xend_err_set(&err, XEND_EINVAL, "Configuration error: no (vm ...) config");
    else if (dom->busy || dom->phase != XEND_DOM_LIVE)
        rc = xend_err_set(&err, XEND_EBUSY, "Domain %s is busy", dom->name);
    else
        rc = xend_lifecycle_validate_vm(vm, &p, &err);
    if (rc < 0) {
        done(rc, &err, dom, arg);
        return;
    }
    dom->config = xend_sxp_copy(vm);
    xend_domain_config_changed(dom);
    dom->restart_mode = p.restart;
    if (dom->uuid[0] == '\0')
        xend_lifecycle_new_key(dom->uuid);
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
