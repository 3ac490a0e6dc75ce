/*
 * The backend registry and the open backend (see hv.h).
 */
#include "hv.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log/log.h"
#include "owner.h"

#define MAX_BACKENDS 8

static struct {
    struct {
        struct xend_plugin *owner;
        struct xend_backend_ops *ops; /* owned: the plugin's table, zero-filled to our size */
        void *ctx;
    } reg[MAX_BACKENDS];
    size_t n;
    const struct xend_backend_ops *open_ops;
    void *open_ctx;
} H;

int xend_hv_add(struct xend_plugin *owner, const struct xend_backend_ops *ops, void *ctx)
{
    if (ops == NULL || ops->size < offsetof(struct xend_backend_ops, physinfo) || ops->name == NULL)
        return -XEND_EINVAL;
    if (ops->flags & ~XEND_BACKEND_FLAGS_KNOWN) {
        xend_log_error("backend refused", "plugin=%s reason=\"unknown flags 0x%x\"",
                       xend_plugin_name(owner), ops->flags & ~XEND_BACKEND_FLAGS_KNOWN);
        return -XEND_EINVAL;
    }
    for (size_t i = 0; i < H.n; i++)
        if (strcmp(H.reg[i].ops->name, ops->name) == 0) {
            xend_log_error("backend refused",
                           "plugin=%s backend=%s reason=\"already registered by %s\"",
                           xend_plugin_name(owner), ops->name, xend_plugin_name(H.reg[i].owner));
            return -XEND_EEXIST;
        }
    if (H.n == MAX_BACKENDS)
        return -XEND_ELIMIT;
    /* A plugin built for an older minor has a shorter table: the ops it does not know of
     * read as NULL ("not supported"), so XEND_HV_CALL never reads past its end. */
    struct xend_backend_ops *copy = xend_xcalloc(1, sizeof(*copy));
    memcpy(copy, ops, ops->size < sizeof(*copy) ? ops->size : sizeof(*copy));
    copy->size = sizeof(*copy);
    H.reg[H.n].owner = owner;
    H.reg[H.n].ops = copy;
    H.reg[H.n++].ctx = ctx;
    return 0;
}

void xend_hv_remove_owner(struct xend_plugin *owner)
{
    for (size_t i = 0; i < H.n;) {
        if (H.reg[i].owner == owner) {
            if (H.open_ops == H.reg[i].ops)
                xend_hv_close();
            free(H.reg[i].ops);
            memmove(&H.reg[i], &H.reg[i + 1], (H.n - i - 1) * sizeof(H.reg[0]));
            H.n--;
        } else {
            i++;
        }
    }
}

bool xend_hv_owns_only_closed(const struct xend_plugin *owner)
{
    bool owns = false;
    for (size_t i = 0; i < H.n; i++) {
        if (H.reg[i].owner != owner)
            continue;
        if (H.reg[i].ops == H.open_ops)
            return false;
        owns = true;
    }
    return owns;
}

static const struct xend_host_backend host_table = {
    .size = sizeof(struct xend_host_backend),
    .add = xend_hv_add,
};

const struct xend_host_backend *xend_hv_host_table(void)
{
    return &host_table;
}

int xend_hv_open(const char *name, struct xend_err *err)
{
    int best = -1;
    for (size_t i = 0; i < H.n; i++) {
        const struct xend_backend_ops *o = H.reg[i].ops;
        if (strcmp(name, "auto") == 0) {
            bool ok = o->probe ? o->probe(H.reg[i].ctx) : false;
            if (ok && (best < 0 || o->priority > H.reg[best].ops->priority))
                best = (int)i;
        } else if (strcmp(o->name, name) == 0) {
            best = (int)i;
        }
    }
    if (best < 0) {
        if (strcmp(name, "auto") == 0)
            return xend_err_set(err, XEND_ENOENT, "no hypervisor backend can run here");
        return xend_err_set(err, XEND_ENOENT, "no backend plugin named '%s' is loaded", name);
    }
    const struct xend_backend_ops *o = H.reg[best].ops;
    if (o->open) {
        int rc = o->open(H.reg[best].ctx, err);
        if (rc < 0)
            return rc;
    }
    H.open_ops = o;
    H.open_ctx = H.reg[best].ctx;
    xend_log_notice("backend open", "backend=%s", o->name);
    return 0;
}

void xend_hv_close(void)
{
    if (H.open_ops && H.open_ops->close)
        H.open_ops->close(H.open_ctx);
    H.open_ops = NULL;
    H.open_ctx = NULL;
}

const struct xend_backend_ops *xend_hv(void **ctx)
{
    if (ctx)
        *ctx = H.open_ctx;
    return H.open_ops;
}

const char *xend_hv_name(void)
{
    return H.open_ops ? H.open_ops->name : "none";
}

int xend_hv_enotsup(const char *op, struct xend_err *err)
{
    if (H.open_ops == NULL)
        return xend_err_set(err, XEND_EBACKEND, "no hypervisor backend is open");
    return xend_err_set(err, XEND_ENOTSUP, "%s backend does not support %s", H.open_ops->name, op);
}
