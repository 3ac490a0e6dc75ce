/*
 * A test-only third device class, "tpm", that no part of xend knows by name: it proves a
 * site can add its own kind of device through the public ABI alone (include/xend/), with
 * validation, deferred attach and detach, a description, reattach after an xend restart,
 * configure and hot-plug, exactly as vbd and vif do. Never installed.
 *
 * Config: (tpm (instance N) [(fail attach)]). instance is 0..255 and unique on the host;
 * (fail attach) makes its attach fail, for rollback tests. Attach and detach complete on a
 * timer, not before returning, so the core's wait for a deferred op is exercised. Each
 * step is logged as "tpm attach"/"tpm detach"/"tpm reattach" with domain= and instance=.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xend/host.h>
#include <xend/plugin.h>

struct tpm_dev {
    long long instance;
    bool attached;
    struct xend_device *dev;
    struct xend_op *op; /* the op a timer completes */
    struct xend_timer *timer;
    int rc;
};

static struct {
    struct xend_plugin *self;
    const struct xend_host *host;
} tpm_g;

#define H (tpm_g.host)

/* Who else uses an instance. A config held by a record is a new device's (the core parses
 * in place); one held by none is a device_configure's, whose own old instance in the same
 * domain is no clash. */
struct tpm_clash {
    long long instance;
    const struct xend_sxp *config;
    struct xend_domain *dom;
    bool held, same_dom, other_dom;
};

static void tpm_clash_fn(struct xend_device *dev, void *arg)
{
    struct tpm_clash *c = arg;
    long long n;
    const struct xend_sxp *cfg = H->device->config(dev);
    if (cfg == c->config) {
        c->held = true;
        return;
    }
    if (H->sxp->child_int(cfg, "instance", &n) != 0 || n != c->instance)
        return;
    if (c->dom != NULL && H->device->domain(dev) == c->dom)
        c->same_dom = true;
    else
        c->other_dom = true;
}

static int tpm_parse(void *ctx, struct xend_domain *dom, const struct xend_sxp *config,
                     struct xend_sxp **normalised, struct xend_err *err)
{
    (void)ctx;
    (void)normalised;
    long long n;
    int rc = H->sxp->child_int(config, "instance", &n);
    if (rc == -XEND_ENOENT)
        return xend_err_set(err, XEND_EINVAL, "tpm: Missing instance");
    if (rc < 0 || n < 0 || n > 255)
        return xend_err_set(err, XEND_EINVAL, "tpm: invalid instance: %s",
                            H->sxp->child_value(config, "instance", "?"));
    struct tpm_clash c = {.instance = n, .config = config, .dom = dom};
    H->device->foreach ("tpm", tpm_clash_fn, &c);
    if (c.other_dom || (c.same_dom && c.held))
        return xend_err_set(err, XEND_EEXIST, "tpm: instance %lld already in use", n);
    return 0;
}

static struct tpm_dev *tpm_priv(struct xend_device *dev)
{
    struct tpm_dev *t = H->device->priv(dev);
    if (t == NULL) {
        t = calloc(1, sizeof(*t));
        if (t == NULL)
            abort();
        t->dev = dev;
        H->device->priv_set(dev, t);
    }
    H->sxp->child_int(H->device->config(dev), "instance", &t->instance);
    return t;
}

static void tpm_done(void *arg)
{
    struct tpm_dev *t = arg;
    struct xend_op *op = t->op;
    t->op = NULL;
    t->timer = NULL;
    H->loop->op_complete(op, t->rc);
}

/* Complete op with rc on the next loop turns, as a script would. */
static void tpm_later(struct tpm_dev *t, struct xend_op *op, int rc)
{
    t->op = op;
    t->rc = rc;
    t->timer = H->loop->timer_add(tpm_g.self, 5, false, tpm_done, t);
    if (t->timer == NULL)
        tpm_done(t);
}

static const char *tpm_domname(struct xend_device *dev)
{
    struct xend_domain *d = H->device->domain(dev);
    return d ? H->domain->name(d) : "?";
}

static void tpm_attach(void *ctx, struct xend_device *dev, struct xend_op *op)
{
    (void)ctx;
    struct tpm_dev *t = tpm_priv(dev);
    const struct xend_sxp *cfg = H->device->config(dev);
    if (strcmp(H->sxp->child_value(cfg, "fail", ""), "attach") == 0) {
        int rc = xend_err_set(H->loop->op_err(op), XEND_EIO,
                              "tpm: instance %lld refused to attach (as configured)", t->instance);
        H->log->emit(tpm_g.self, XEND_LOG_INFO, "tpm attach failed", "domain=%s instance=%lld",
                     tpm_domname(dev), t->instance);
        tpm_later(t, op, rc);
        return;
    }
    t->attached = true;
    H->log->emit(tpm_g.self, XEND_LOG_INFO, "tpm attach", "domain=%s instance=%lld",
                 tpm_domname(dev), t->instance);
    tpm_later(t, op, 0);
}

static void tpm_detach(void *ctx, struct xend_device *dev, enum xend_dev_reason reason,
                       struct xend_op *op)
{
    (void)ctx;
    struct tpm_dev *t = tpm_priv(dev);
    t->attached = false;
    H->log->emit(tpm_g.self, XEND_LOG_INFO, "tpm detach", "domain=%s instance=%lld reason=%d",
                 tpm_domname(dev), t->instance, (int)reason);
    tpm_later(t, op, 0);
}

static struct xend_sxp *tpm_describe(void *ctx, struct xend_device *dev)
{
    (void)ctx;
    struct tpm_dev *t = H->device->priv(dev);
    long long n = -1;
    H->sxp->child_int(H->device->config(dev), "instance", &n);
    struct xend_sxp *d = H->sxp->list();
    H->sxp->append_take(d, H->sxp->atom("tpm"));
    H->sxp->add_kv_int(d, "idx", H->device->index(dev));
    H->sxp->add_kv_int(d, "instance", n);
    H->sxp->add_kv(d, "state", t && t->attached ? "attached" : "detached");
    return d;
}

static int tpm_reattach(void *ctx, struct xend_device *dev, const struct xend_sxp *state,
                        struct xend_err *err)
{
    (void)ctx;
    (void)err;
    struct tpm_dev *t = tpm_priv(dev);
    t->attached = true;
    H->log->emit(tpm_g.self, XEND_LOG_INFO, "tpm reattach", "domain=%s instance=%lld state=%s",
                 tpm_domname(dev), t->instance,
                 state ? H->sxp->child_value(state, "state", "?") : "none");
    return 0;
}

static void tpm_configure(void *ctx, struct xend_device *dev, const struct xend_sxp *new_config,
                          struct xend_op *op)
{
    (void)ctx;
    struct tpm_dev *t = tpm_priv(dev);
    long long n;
    if (H->sxp->child_int(new_config, "instance", &n) == 0 && n != t->instance) {
        H->loop->op_complete(
            op, xend_err_set(H->loop->op_err(op), XEND_EINVAL, "tpm: cannot change instance"));
        return;
    }
    tpm_later(t, op, 0);
}

static void tpm_free(void *ctx, struct xend_device *dev)
{
    (void)ctx;
    struct tpm_dev *t = H->device->priv(dev);
    if (t == NULL)
        return;
    if (t->timer) {
        /* The op still waits: complete it now rather than leave it to the deadline. */
        H->loop->timer_remove(t->timer);
        H->loop->op_complete(t->op, t->rc);
    }
    free(t);
    H->device->priv_set(dev, NULL);
}

static const struct xend_device_ops tpm_ops = {
    XEND_DEVICE_OPS_INIT,         .name = "tpm",
    .flags = XEND_DEVICE_HOTPLUG, .parse = tpm_parse,
    .attach = tpm_attach,         .detach = tpm_detach,
    .describe = tpm_describe,     .reattach = tpm_reattach,
    .configure = tpm_configure,   .free = tpm_free,
};

static int tpm_init(struct xend_plugin *self, const struct xend_host *host)
{
    tpm_g.self = self;
    tpm_g.host = host;
    int rc = host->device->class_add(self, &tpm_ops, NULL);
    if (rc < 0)
        host->plugin_err_set(self, "cannot register device class tpm");
    return rc;
}

XEND_PLUGIN(.name = "devclass_test", .version = "1.0",
            .description = "test-only third device class (tpm)", .license = "GPL-2.0",
            .init = tpm_init);
