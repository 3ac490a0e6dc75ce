/*
 * Device classes: vbd, vif, or a site's own, each registered by a plugin.
 *
 * The core names no class. For each `(device (CLASS ...))` of a domain config it finds the
 * class by name and keeps a device record (`struct xend_device`, owned by the core): the
 * device's config SXP, its index within the class for that domain, and the class's private
 * pointer. The core persists the config and the class's runtime state (describe()) with the
 * domain, so that xend restarts re-attach rather than re-create.
 *
 * Order: on create, devices attach in config order (after the domain is built, before the
 * CREATE hooks); on death or destroy they detach in reverse. A failed attach rolls back the
 * devices attached before it (detach with XEND_DEV_ROLLBACK), then the domain.
 *
 * Threads: loop thread only. attach, detach and configure may finish later through the
 * xend_op they receive (a script runs in a child process meanwhile).
 */
#ifndef XEND_DEVICE_H
#define XEND_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>
#include <xend/loop.h>
#include <xend/sxp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_plugin;
struct xend_domain;
struct xend_device; /* opaque, owned by the core */

enum xend_device_flag {
    XEND_DEVICE_HOTPLUG = 1u << 0,    /* device_create/destroy on a running domain */
    XEND_DEVICE_MIGRATABLE = 1u << 1, /* moves with a saved or migrated domain */
};

enum xend_dev_reason {
    XEND_DEV_NORMAL = 0,
    XEND_DEV_ROLLBACK = 1, /* undoing a failed create */
    XEND_DEV_RESTART = 2,  /* the domain is restarting: detach now, attach again soon */
    XEND_DEV_HOTPLUG = 3,  /* device_create / device_destroy */
};

struct xend_device_ops {
    size_t size;      /* XEND_DEVICE_OPS_INIT */
    const char *name; /* the class: the head of the device SXP, "vif" */
    uint32_t flags;   /* enum xend_device_flag bits */

    /*
     * Validate a device config (borrowed) for `dom` (borrowed; NULL while the domain does
     * not exist yet). No side effects. May return a normalised config in *normalised
     * (owned by the core afterwards; e.g. a generated mac), else leave it NULL.
     * Devices of the same config parsed earlier are already visible to device->foreach.
     */
    int (*parse)(void *ctx, struct xend_domain *dom, const struct xend_sxp *config,
                 struct xend_sxp **normalised, struct xend_err *err);
    /* Bring the device up (run scripts, ask the backend to attach). Complete op. */
    void (*attach)(void *ctx, struct xend_device *dev, struct xend_op *op);
    /* Take it down; errors are logged, the device goes anyway. Complete op. */
    void (*detach)(void *ctx, struct xend_device *dev, enum xend_dev_reason reason,
                   struct xend_op *op);
    /* The device's SXP for the info and op=vbds/vifs replies: owned by the caller. */
    struct xend_sxp *(*describe)(void *ctx, struct xend_device *dev);
    /*
     * xend restarted and found the domain running: rebuild private state from the stored
     * config and `state` (the last describe() output, borrowed) without re-running scripts.
     */
    int (*reattach)(void *ctx, struct xend_device *dev, const struct xend_sxp *state,
                    struct xend_err *err);
    /* Change a running device to new_config (borrowed, already parsed). Complete op. */
    void (*configure)(void *ctx, struct xend_device *dev, const struct xend_sxp *new_config,
                      struct xend_op *op);
    /* Free the private pointer (device_priv). */
    void (*free)(void *ctx, struct xend_device *dev);
};

#define XEND_DEVICE_OPS_INIT .size = sizeof(struct xend_device_ops)

typedef void xend_device_fn(struct xend_device *dev, void *arg);

struct xend_host_device {
    size_t size;

    /* Register a class; ops static, ctx the plugin's. -XEND_EEXIST if the name is taken. */
    int (*class_add)(struct xend_plugin *self, const struct xend_device_ops *ops, void *ctx);

    /* Every device of class `cls` on the host (every domain, including devices being
     * created), in domain then index order. */
    void (*foreach)(const char *cls, xend_device_fn *fn, void *arg);

    struct xend_domain *(*domain)(const struct xend_device *dev); /* borrowed */
    uint32_t (*index)(const struct xend_device *dev); /* per class and domain: 0, 1, ... */
    const struct xend_sxp *(*config)(const struct xend_device *dev); /* borrowed */
    void *(*priv)(const struct xend_device *dev);
    void (*priv_set)(struct xend_device *dev, void *priv);
};

#ifdef __cplusplus
}
#endif
#endif
