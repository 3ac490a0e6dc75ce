/*
 * Device classes and records (see device_registry.h). The k-th record of a domain always matches
 * the k-th (device ...) child of its (vm ...) config, so that the stored config is what
 * a restart or an xend restart brings back.
 */
#include "device_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crashpoint.h"
#include "device_journal.h"
#include "domain_table.h"
#include "log/log.h"
#include "event_loop.h"
#include "owner.h"

#define DEVICE_MAGIC 0x44455631u /* "DEV1" */
#define DEVICE_OP_TIMEOUT_MS 60000

struct class_reg {
    struct xend_plugin *owner;
    const struct xend_device_ops *ops;
    void *ctx;
    void *watched; /* what the class watcher made of it (its HTTP routes) */
};

static struct {
    struct class_reg *classes;
    size_t n;
    struct xend_device_class_watcher watcher;
} C;

void xend_device_class_watch(const struct xend_device_class_watcher *w)
{
    C.watcher = *w;
}

static const struct class_reg *class_find(const char *name)
{
    for (size_t i = 0; i < C.n; i++)
        if (strcmp(C.classes[i].ops->name, name) == 0)
            return &C.classes[i];
    return NULL;
}

bool xend_device_class_known(const char *name)
{
    return class_find(name) != NULL;
}

static int class_add(struct xend_plugin *self, const struct xend_device_ops *ops, void *ctx)
{
    if (ops == NULL || ops->size < offsetof(struct xend_device_ops, attach) || ops->name == NULL ||
        ops->parse == NULL)
        return -XEND_EINVAL;
    if (ops->flags & ~(uint32_t)(XEND_DEVICE_HOTPLUG | XEND_DEVICE_MIGRATABLE)) {
        xend_log_error("device class refused", "plugin=%s class=%s reason=\"unknown flags\"",
                       xend_plugin_name(self), ops->name);
        return -XEND_EINVAL;
    }
    const struct class_reg *old = class_find(ops->name);
    if (old) {
        xend_log_error("device class refused",
                       "plugin=%s class=%s reason=\"already registered by %s\"",
                       xend_plugin_name(self), ops->name, xend_plugin_name(old->owner));
        return -XEND_EEXIST;
    }
    void *watched = NULL;
    if (C.watcher.added != NULL && (watched = C.watcher.added(self, ops->name)) == NULL)
        return -XEND_EEXIST;
    C.classes = xend_xrealloc(C.classes, (C.n + 1) * sizeof(*C.classes));
    C.classes[C.n++] = (struct class_reg){self, ops, ctx, watched};
    return 0;
}

void xend_device_remove_owner(struct xend_plugin *owner)
{
    size_t j = 0;
    for (size_t i = 0; i < C.n; i++) {
        if (C.classes[i].owner != owner)
            C.classes[j++] = C.classes[i];
        else if (C.watcher.removed != NULL)
            C.watcher.removed(C.classes[i].watched);
    }
    C.n = j;
    if (C.n == 0) {
        free(C.classes);
        C.classes = NULL;
    }
}

/* ---- records ---- */

static struct xend_device *record_new(struct xend_domain *dom, const struct class_reg *cls,
                                      const struct xend_sxp *config)
{
    struct xend_device *dev = xend_xcalloc(1, sizeof(*dev));
    dev->magic = DEVICE_MAGIC;
    dev->dom = dom;
    dev->ops = cls->ops;
    dev->ctx = cls->ctx;
    dev->config = xend_sxp_copy(config);
    uint32_t index = 0;
    for (size_t i = 0; i < dom->ndevices; i++)
        if (dom->devices[i]->ops == cls->ops && dom->devices[i]->index >= index)
            index = dom->devices[i]->index + 1;
    dev->index = index;
    dom->devices = xend_xrealloc(dom->devices, (dom->ndevices + 1) * sizeof(*dom->devices));
    dom->devices[dom->ndevices++] = dev;
    return dev;
}

static void record_free(struct xend_device *dev)
{
    if (dev->ops->free && dev->priv)
        dev->ops->free(dev->ctx, dev);
    xend_sxp_free(dev->config);
    xend_sxp_free(dev->state);
    dev->magic = 0;
    free(dev);
}

static void record_remove(struct xend_domain *dom, struct xend_device *dev)
{
    for (size_t i = 0; i < dom->ndevices; i++)
        if (dom->devices[i] == dev) {
            memmove(&dom->devices[i], &dom->devices[i + 1],
                    (dom->ndevices - i - 1) * sizeof(*dom->devices));
            dom->ndevices--;
            break;
        }
    record_free(dev);
}

void xend_devices_free_all(struct xend_domain *dom)
{
    for (size_t i = dom->ndevices; i-- > 0;)
        record_free(dom->devices[i]);
    free(dom->devices);
    dom->devices = NULL;
    dom->ndevices = 0;
}

static void remember_state(struct xend_device *dev)
{
    if (dev->ops->describe == NULL)
        return;
    xend_sxp_free(dev->state);
    dev->state = dev->ops->describe(dev->ctx, dev);
}

static int parse_one(struct xend_domain *dom, struct xend_sxp *entry, struct xend_err *err)
{
    /* entry is (device (CLASS ...)) */
    struct xend_sxp *cfg = xend_sxp_nth(entry, 1);
    const char *cls_name = xend_sxp_name(cfg);
    if (cls_name == NULL)
        return xend_err_set(err, XEND_EINVAL, "invalid device: %s", "missing device type");
    const struct class_reg *cls = class_find(cls_name);
    if (cls == NULL)
        return xend_err_set(err, XEND_EINVAL, "invalid device type: %s (no plugin provides it)",
                            cls_name);
    struct xend_device *dev = record_new(dom, cls, cfg);
    struct xend_sxp *normalised = NULL;
    int rc = cls->ops->parse(cls->ctx, dom, dev->config, &normalised, err);
    if (rc < 0) {
        if (err->code == 0)
            xend_err_set(err, -rc, "invalid %s device", cls_name);
        record_remove(dom, dev);
        return rc;
    }
    if (normalised) {
        xend_sxp_free(dev->config);
        dev->config = normalised;
        xend_sxp_replace_take(entry, 1, xend_sxp_copy(normalised));
        xend_domain_config_changed(dom); /* the entry is part of dom->config */
    }
    return 0;
}

static unsigned max_devices = XEND_DEVICES_MAX_DEFAULT;

void xend_devices_set_max(unsigned max)
{
    max_devices = max ? max : XEND_DEVICES_MAX_DEFAULT;
}

static int too_many(const char *domain, size_t n, struct xend_err *err)
{
    return xend_err_set(err, XEND_ELIMIT,
                        "too many devices: domain %s would have %zu (max-devices-per-domain is %u)",
                        domain, n, max_devices);
}

int xend_devices_parse(struct xend_domain *dom, struct xend_sxp *vm, struct xend_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < xend_sxp_length(vm); i++) {
        const char *name = xend_sxp_name(xend_sxp_nth(vm, i));
        n += name != NULL && strcmp(name, "device") == 0;
    }
    if (n > max_devices)
        return too_many(dom->name, n, err);
    for (size_t i = 0; i < xend_sxp_length(vm); i++) {
        struct xend_sxp *c = xend_sxp_nth(vm, i);
        const char *n = xend_sxp_name(c);
        if (n == NULL || strcmp(n, "device") != 0)
            continue;
        int rc = parse_one(dom, c, err);
        if (rc < 0) {
            xend_devices_free_all(dom);
            return rc;
        }
    }
    return 0;
}

/* ---- attach and detach chains ---- */

struct chain {
    struct xend_domain *dom;
    size_t pos; /* next device to handle */
    bool attaching;
    enum xend_dev_reason reason;
    struct xend_device **done_list; /* attached by this chain, for rollback */
    size_t ndone;
    struct xend_err err;
    int rc;
    xend_devices_done_fn *done;
    void *arg;
};

static void chain_attach_next(struct chain *ch);
static void chain_detach_next(struct chain *ch);

static void chain_finish(struct chain *ch)
{
    ch->done(ch->rc, &ch->err, ch->arg);
    free(ch->done_list);
    free(ch);
}

static void on_attached(int rc, const struct xend_err *err, void *arg)
{
    struct chain *ch = arg;
    struct xend_device *dev = ch->dom->devices[ch->pos];
    if (rc < 0) {
        ch->rc = rc;
        ch->err = *err;
        if (ch->err.code == 0)
            xend_err_set(&ch->err, -rc, "%s device %u failed to attach", dev->ops->name,
                         dev->index);
        xend_log_warn("device attach failed", "domain=%s class=%s index=%u error=\"%s\"",
                      ch->dom->name, dev->ops->name, dev->index, xend_err_msg(&ch->err));
        /* Roll back what this chain attached, in reverse. */
        ch->attaching = false;
        ch->reason = XEND_DEV_ROLLBACK;
        ch->pos = ch->ndone;
        chain_detach_next(ch);
        return;
    }
    dev->attached = true;
    remember_state(dev);
    ch->done_list[ch->ndone++] = dev;
    ch->pos++;
    chain_attach_next(ch);
}

static void chain_attach_next(struct chain *ch)
{
    struct xend_domain *dom = ch->dom;
    while (ch->pos < dom->ndevices && dom->devices[ch->pos]->attached)
        ch->pos++;
    if (ch->pos >= dom->ndevices) {
        chain_finish(ch);
        return;
    }
    struct xend_device *dev = dom->devices[ch->pos];
    if (dev->ops->attach == NULL) {
        on_attached(0, &ch->err, ch);
        return;
    }
    char what[96];
    snprintf(what, sizeof(what), "%s %u attach of %s", dev->ops->name, dev->index, dom->name);
    struct xend_op *op = xend_op_new(what, DEVICE_OP_TIMEOUT_MS, on_attached, ch);
    dev->ops->attach(dev->ctx, dev, op);
}

void xend_devices_attach_all(struct xend_domain *dom, xend_devices_done_fn *done, void *arg)
{
    struct chain *ch = xend_xcalloc(1, sizeof(*ch));
    ch->dom = dom;
    ch->attaching = true;
    ch->done = done;
    ch->arg = arg;
    ch->done_list = xend_xcalloc(dom->ndevices ? dom->ndevices : 1, sizeof(*ch->done_list));
    chain_attach_next(ch);
}

static void on_detached(int rc, const struct xend_err *err, void *arg)
{
    struct chain *ch = arg;
    struct xend_device *dev = ch->done_list[ch->pos];
    if (rc < 0)
        xend_log_warn("device detach failed", "domain=%s class=%s index=%u error=\"%s\"",
                      ch->dom->name, dev->ops->name, dev->index, xend_err_msg(err));
    dev->attached = false;
    chain_detach_next(ch);
}

static void chain_detach_next(struct chain *ch)
{
    if (ch->pos == 0) {
        chain_finish(ch);
        return;
    }
    struct xend_device *dev = ch->done_list[--ch->pos];
    if (dev->ops->detach == NULL) {
        dev->attached = false;
        chain_detach_next(ch);
        return;
    }
    char what[96];
    snprintf(what, sizeof(what), "%s %u detach of %s", dev->ops->name, dev->index, ch->dom->name);
    struct xend_op *op = xend_op_new(what, DEVICE_OP_TIMEOUT_MS, on_detached, ch);
    dev->ops->detach(dev->ctx, dev, ch->reason, op);
}

void xend_devices_detach_all(struct xend_domain *dom, enum xend_dev_reason reason,
                             xend_devices_done_fn *done, void *arg)
{
    struct chain *ch = xend_xcalloc(1, sizeof(*ch));
    ch->dom = dom;
    ch->reason = reason;
    ch->done = done;
    ch->arg = arg;
    ch->done_list = xend_xcalloc(dom->ndevices ? dom->ndevices : 1, sizeof(*ch->done_list));
    for (size_t i = 0; i < dom->ndevices; i++)
        if (dom->devices[i]->attached)
            ch->done_list[ch->ndone++] = dom->devices[i];
    ch->pos = ch->ndone;
    chain_detach_next(ch);
}

/* ---- descriptions and records ---- */

static struct xend_sxp *describe_one(struct xend_device *dev)
{
    if (dev->ops->describe)
        return dev->ops->describe(dev->ctx, dev);
    return xend_sxp_copy(dev->config);
}

void xend_devices_describe_print(struct xend_domain *dom, struct xend_buf *out)
{
    xend_buf_puts(out, "(devices");
    for (size_t i = 0; i < dom->ndevices; i++) {
        struct xend_sxp *d = describe_one(dom->devices[i]);
        xend_buf_putc(out, ' ');
        xend_sxp_print_buf(d, out);
        xend_sxp_free(d);
    }
    xend_buf_putc(out, ')');
}

void xend_device_controllers_print(struct xend_buf *out)
{
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    xend_buf_puts(out, "device controllers:\n");
    for (size_t k = 0; k < C.n; k++) {
        const char *cls = C.classes[k].ops->name;
        xend_buf_printf(out, "  %s:", cls);
        size_t shown = 0;
        for (size_t d = 0; d < n; d++) {
            bool named = false;
            for (size_t i = 0; i < all[d]->ndevices; i++) {
                if (strcmp(all[d]->devices[i]->ops->name, cls) != 0)
                    continue;
                if (!named)
                    xend_buf_printf(out, "%s %s (%u):", shown++ ? ";" : "", all[d]->name,
                                    all[d]->id);
                named = true;
                xend_buf_printf(out, " %u", all[d]->devices[i]->index);
            }
        }
        xend_buf_puts(out, shown ? "\n" : " none\n");
    }
    if (C.n == 0)
        xend_buf_puts(out, "  none (no device class plugin is loaded)\n");
    free(all);
}

struct xend_sxp *xend_devices_list(struct xend_domain *dom, const char *cls)
{
    struct xend_sxp *l = xend_sxp_list();
    for (size_t i = 0; i < dom->ndevices; i++)
        if (strcmp(dom->devices[i]->ops->name, cls) == 0)
            xend_sxp_append_take(l, describe_one(dom->devices[i]));
    return l;
}

struct xend_sxp *xend_devices_describe_last(struct xend_domain *dom, const char *cls)
{
    for (size_t i = dom->ndevices; i-- > 0;)
        if (strcmp(dom->devices[i]->ops->name, cls) == 0)
            return describe_one(dom->devices[i]);
    return NULL;
}

struct xend_device *xend_devices_find(struct xend_domain *dom, const char *cls, uint32_t index)
{
    for (size_t i = 0; i < dom->ndevices; i++)
        if (strcmp(dom->devices[i]->ops->name, cls) == 0 && dom->devices[i]->index == index)
            return dom->devices[i];
    return NULL;
}

/* (device (class C) (index I) (attached 0|1) (config ...) [(state ...)]), owned. */
static struct xend_sxp *record_entry(const struct xend_device *dev)
{
    struct xend_sxp *e = xend_sxp_list_of("device", NULL);
    xend_sxp_add_kv(e, "class", dev->ops->name);
    xend_sxp_add_kv_int(e, "index", dev->index);
    if (dev->added_seq > 0)
        xend_sxp_add_kv_int(e, "added", (long long)dev->added_seq);
    xend_sxp_add_kv_int(e, "attached", dev->attached);
    xend_sxp_add_kv_take(e, "config", xend_sxp_copy(dev->config));
    if (dev->state)
        xend_sxp_add_kv_take(e, "state", xend_sxp_copy(dev->state));
    return e;
}

struct xend_sxp *xend_devices_record(struct xend_domain *dom)
{
    struct xend_sxp *l = xend_sxp_list_of("devices", NULL);
    /* the device changes this record folds in (device_journal.h) */
    if (dom->device_seq > 0)
        xend_sxp_add_kv_int(l, "seq", (long long)dom->device_seq);
    for (size_t i = 0; i < dom->ndevices; i++)
        xend_sxp_append_take(l, record_entry(dom->devices[i]));
    return l;
}

int xend_devices_reattach(struct xend_domain *dom, const struct xend_sxp *devices,
                          struct xend_err *err)
{
    long long seq = 0;
    if (xend_sxp_child_int(devices, "seq", &seq) == 0 && (unsigned long long)seq > dom->device_seq)
        dom->device_seq = (unsigned long long)seq;
    for (size_t i = 1; i < xend_sxp_length(devices); i++) {
        const struct xend_sxp *e = xend_sxp_nth(devices, i);
        const char *head = xend_sxp_name(e);
        if (head == NULL || strcmp(head, "device") != 0)
            continue; /* (seq N) */
        const char *cls_name = xend_sxp_child_value(e, "class", "");
        const struct class_reg *cls = class_find(cls_name);
        const struct xend_sxp *cfg = xend_sxp_nth(xend_sxp_child(e, "config"), 1);
        if (cls == NULL || cfg == NULL) {
            xend_log_warn("device not reattached", "domain=%s class=%s reason=\"%s\"", dom->name,
                          cls_name, cls ? "no config" : "no plugin for the class");
            continue;
        }
        struct xend_device *dev = record_new(dom, cls, cfg);
        long long idx = dev->index, att = 1;
        if (xend_sxp_child_int(e, "index", &idx) == 0)
            dev->index = (uint32_t)idx;
        xend_sxp_child_int(e, "attached", &att);
        long long added = 0;
        if (xend_sxp_child_int(e, "added", &added) == 0 && added > 0)
            dev->added_seq = (unsigned long long)added;
        const struct xend_sxp *state = xend_sxp_nth(xend_sxp_child(e, "state"), 1);
        if (state)
            dev->state = xend_sxp_copy(state);
        if (!att)
            continue;
        if (cls->ops->reattach) {
            struct xend_err e2 = {0};
            if (cls->ops->reattach(cls->ctx, dev, state, &e2) < 0) {
                xend_log_warn("device reattach failed", "domain=%s class=%s index=%u error=\"%s\"",
                              dom->name, cls_name, dev->index, xend_err_msg(&e2));
                continue;
            }
        }
        dev->attached = true;
    }
    (void)err;
    return 0;
}

/* ---- hot-plug ---- */

struct hotplug {
    struct xend_domain *dom;
    struct xend_device *dev;
    xend_devices_done_fn *done;
    void *arg;
    struct xend_sxp *new_config;
};

static long entry_index_of(struct xend_domain *dom, struct xend_device *dev)
{
    /* The position of dev's (device ...) entry among the vm config's device entries. */
    size_t k = 0;
    for (; k < dom->ndevices; k++)
        if (dom->devices[k] == dev)
            break;
    size_t seen = 0;
    for (size_t i = 0; i < xend_sxp_length(dom->config); i++) {
        const char *n = xend_sxp_name(xend_sxp_nth(dom->config, i));
        if (n && strcmp(n, "device") == 0 && seen++ == k)
            return (long)i;
    }
    return -1;
}

/*
 * A hot-plug change is acknowledged once its own record is durable (device_journal.h): a
 * small write whatever the domain's other devices, where the whole domain record was
 * rewritten before. h->dev is the device as it now is, or NULL once removed.
 */
static void journaled(void *arg, int rc)
{
    struct hotplug *h = arg;
    struct xend_err err = {0};
    if (rc < 0)
        xend_err_set(&err, XEND_EIO, "device changed but the store write failed");
    h->done(rc < 0 ? -XEND_EIO : 0, &err, h->arg);
    free(h);
}

static void journal(struct hotplug *h, const char *cls, uint32_t index)
{
    struct xend_err err = {0};
    xend_crash_point("device.attached");
    struct xend_sxp *entry = h->dev ? record_entry(h->dev) : NULL;
    int rc = xend_device_journal_put(h->dom, cls, index, entry, journaled, h, &err);
    xend_sxp_free(entry);
    if (rc < 0) {
        xend_log_error("device change not stored", "domain=%s class=%s index=%u error=\"%s\"",
                       h->dom->name, cls, index, xend_err_msg(&err));
        journaled(h, rc);
    }
}

static void hotplug_added(int rc, const struct xend_err *err, void *arg)
{
    struct hotplug *h = arg;
    if (rc < 0) {
        long i = entry_index_of(h->dom, h->dev);
        if (i >= 0)
            xend_sxp_remove(h->dom->config, (size_t)i);
        xend_domain_config_changed(h->dom);
        record_remove(h->dom, h->dev);
        h->done(rc, err, h->arg);
        free(h);
        return;
    }
    h->dev->attached = true;
    h->dev->added_seq = xend_device_journal_next_seq(h->dom);
    remember_state(h->dev);
    journal(h, h->dev->ops->name, h->dev->index);
}

void xend_device_hotplug_add(struct xend_domain *dom, const struct xend_sxp *config,
                             xend_devices_done_fn *done, void *arg)
{
    struct xend_err err = {0};
    const char *cls_name = xend_sxp_name(config);
    const struct class_reg *cls = cls_name ? class_find(cls_name) : NULL;
    if (cls == NULL) {
        xend_err_set(&err, XEND_EINVAL, "invalid device type: %s", cls_name ? cls_name : "?");
        done(-XEND_EINVAL, &err, arg);
        return;
    }
    if (!(cls->ops->flags & XEND_DEVICE_HOTPLUG)) {
        xend_err_set(&err, XEND_ENOTSUP, "%s devices cannot be added to a running domain",
                     cls_name);
        done(-XEND_ENOTSUP, &err, arg);
        return;
    }
    if (dom->ndevices >= max_devices) {
        done(too_many(dom->name, dom->ndevices + 1, &err), &err, arg);
        return;
    }
    if (dom->config == NULL)
        dom->config = xend_sxp_list_of("vm", NULL);
    struct xend_sxp *entry = xend_sxp_list_of("device", NULL);
    xend_sxp_append_take(entry, xend_sxp_copy(config));
    xend_sxp_append_take(dom->config, entry);
    xend_domain_config_changed(dom);
    int rc = xend_domain_config_check(dom, &err);
    if (rc == 0)
        rc = parse_one(dom, entry, &err);
    if (rc < 0) {
        xend_sxp_remove(dom->config, xend_sxp_length(dom->config) - 1);
        xend_domain_config_changed(dom);
        done(rc, &err, arg);
        return;
    }
    struct hotplug *h = xend_xcalloc(1, sizeof(*h));
    h->dom = dom;
    h->dev = dom->devices[dom->ndevices - 1];
    h->done = done;
    h->arg = arg;
    if (h->dev->ops->attach == NULL) {
        hotplug_added(0, &err, h);
        return;
    }
    struct xend_op *op = xend_op_new("device hot-plug", DEVICE_OP_TIMEOUT_MS, hotplug_added, h);
    h->dev->ops->attach(h->dev->ctx, h->dev, op);
}

static void hotplug_removed(int rc, const struct xend_err *err, void *arg)
{
    struct hotplug *h = arg;
    if (rc < 0)
        xend_log_warn("device detach failed", "domain=%s class=%s index=%u error=\"%s\"",
                      h->dom->name, h->dev->ops->name, h->dev->index, xend_err_msg(err));
    long i = entry_index_of(h->dom, h->dev);
    if (i >= 0)
        xend_sxp_remove(h->dom->config, (size_t)i);
    xend_domain_config_changed(h->dom);
    char cls[64];
    snprintf(cls, sizeof(cls), "%s", h->dev->ops->name);
    uint32_t index = h->dev->index;
    record_remove(h->dom, h->dev);
    h->dev = NULL;
    journal(h, cls, index);
}

void xend_device_hotplug_remove(struct xend_domain *dom, struct xend_device *dev,
                                xend_devices_done_fn *done, void *arg)
{
    struct hotplug *h = xend_xcalloc(1, sizeof(*h));
    h->dom = dom;
    h->dev = dev;
    h->done = done;
    h->arg = arg;
    if (!dev->attached || dev->ops->detach == NULL) {
        struct xend_err ok = {0};
        hotplug_removed(0, &ok, h);
        return;
    }
    struct xend_op *op = xend_op_new("device removal", DEVICE_OP_TIMEOUT_MS, hotplug_removed, h);
    dev->ops->detach(dev->ctx, dev, XEND_DEV_HOTPLUG, op);
}

static void hotplug_configured(int rc, const struct xend_err *err, void *arg)
{
    struct hotplug *h = arg;
    if (rc == 0) {
        xend_sxp_free(h->dev->config);
        h->dev->config = h->new_config;
        h->new_config = NULL;
        long i = entry_index_of(h->dom, h->dev);
        if (i >= 0) {
            struct xend_sxp *entry = xend_sxp_list_of("device", NULL);
            xend_sxp_append_take(entry, xend_sxp_copy(h->dev->config));
            xend_sxp_replace_take(h->dom->config, (size_t)i, entry);
            xend_domain_config_changed(h->dom);
        }
        remember_state(h->dev);
    }
    xend_sxp_free(h->new_config);
    h->new_config = NULL;
    if (rc == 0) {
        journal(h, h->dev->ops->name, h->dev->index);
        return;
    }
    h->done(rc, err, h->arg);
    free(h);
}

void xend_device_hotplug_configure(struct xend_domain *dom, struct xend_device *dev,
                                   const struct xend_sxp *config, xend_devices_done_fn *done,
                                   void *arg)
{
    struct xend_err err = {0};
    const char *cls_name = xend_sxp_name(config);
    if (cls_name == NULL || strcmp(cls_name, dev->ops->name) != 0) {
        xend_err_set(&err, XEND_EINVAL, "cannot change a %s device into %s", dev->ops->name,
                     cls_name ? cls_name : "?");
        done(-XEND_EINVAL, &err, arg);
        return;
    }
    if (dev->ops->configure == NULL) {
        xend_err_set(&err, XEND_ENOTSUP, "%s devices cannot be reconfigured", dev->ops->name);
        done(-XEND_ENOTSUP, &err, arg);
        return;
    }
    struct xend_sxp *normalised = NULL;
    int rc = dev->ops->parse(dev->ctx, dom, config, &normalised, &err);
    if (rc < 0) {
        done(rc, &err, arg);
        return;
    }
    struct hotplug *h = xend_xcalloc(1, sizeof(*h));
    h->dom = dom;
    h->dev = dev;
    h->done = done;
    h->arg = arg;
    h->new_config = normalised ? normalised : xend_sxp_copy(config);
    struct xend_op *op =
        xend_op_new("device configure", DEVICE_OP_TIMEOUT_MS, hotplug_configured, h);
    dev->ops->configure(dev->ctx, dev, h->new_config, op);
}

/* ---- plugin accessors ---- */

static void host_foreach(const char *cls, xend_device_fn *fn, void *arg)
{
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < all[i]->ndevices; k++)
            if (strcmp(all[i]->devices[k]->ops->name, cls) == 0)
                fn(all[i]->devices[k], arg);
    free(all);
}

static struct xend_domain *host_domain(const struct xend_device *dev)
{
    return dev->dom;
}

static uint32_t host_index(const struct xend_device *dev)
{
    return dev->index;
}

static const struct xend_sxp *host_config(const struct xend_device *dev)
{
    return dev->config;
}

static void *host_priv(const struct xend_device *dev)
{
    return dev->priv;
}

static void host_priv_set(struct xend_device *dev, void *priv)
{
    dev->priv = priv;
}

static const struct xend_host_device host_table = {
    .size = sizeof(struct xend_host_device),
    .class_add = class_add,
    .foreach = host_foreach,
    .domain = host_domain,
    .index = host_index,
    .config = host_config,
    .priv = host_priv,
    .priv_set = host_priv_set,
};

const struct xend_host_device *xend_device_host_table(void)
{
    return &host_table;
}
