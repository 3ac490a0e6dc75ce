/*
 * Device records and the device-class registry. The core keeps, per domain, one record per
 * (device (CLASS ...)) of its config: the config, the index within the class, the class's
 * private pointer and its last described state. Classes come from plugins; this file names
 * none of them.
 *
 * Attach and detach of a domain's devices are sequential asynchronous chains (each device's
 * op may wait for a script); the caller learns the outcome through a done callback on the
 * loop thread.
 */
#ifndef XEND_CORE_DEVICE_REGISTRY_H
#define XEND_CORE_DEVICE_REGISTRY_H

#include <stdbool.h>

#include <xend/device.h>

#include "sxp.h"

struct xend_domain;
struct xend_buf;
struct xend_plugin;

struct xend_device {
    uint32_t magic;
    struct xend_domain *dom;
    const struct xend_device_ops *ops;
    void *ctx;
    uint32_t index;
    struct xend_sxp *config; /* (CLASS ...), owned */
    struct xend_sxp *state;  /* last describe(), owned; for reattach after a restart */
    void *priv;
    bool attached;
    /* The device sequence number of the change that hot-plugged it (device_journal.h), 0
     * for a device of the create: where a restart puts it in the list. */
    unsigned long long added_seq;
};

typedef void xend_devices_done_fn(int rc, const struct xend_err *err, void *arg);

const struct xend_host_device *xend_device_host_table(void);
void xend_device_remove_owner(struct xend_plugin *owner);
/* Told of each class a plugin adds and of its removal, from a part above this registry
 * (the per-class HTTP routes, domain_http.c). added returns what removed gets, or NULL to
 * refuse the class (-XEND_EEXIST). */
struct xend_device_class_watcher {
    void *(*added)(struct xend_plugin *owner, const char *cls);
    void (*removed)(void *watched);
};
void xend_device_class_watch(const struct xend_device_class_watcher *w);
bool xend_device_class_known(const char *name);

/*
 * Create the records for every (device ...) of the (vm ...) config `vm` (borrowed; a
 * class's normalised config is written back into it) and parse each. On failure the
 * records made so far are freed and err says which device was wrong.
 */
int xend_devices_parse(struct xend_domain *dom, struct xend_sxp *vm, struct xend_err *err);

/* Devices one domain may have (max-devices-per-domain): more in a config, or a hot-plug
 * past it, is -XEND_ELIMIT "too many devices ...". */
#define XEND_DEVICES_MAX_DEFAULT 256u
void xend_devices_set_max(unsigned max);
/* Attach every not-yet-attached device in config order; on failure detach those this call
 * attached (reason ROLLBACK), then report. */
void xend_devices_attach_all(struct xend_domain *dom, xend_devices_done_fn *done, void *arg);
/* Detach every attached device in reverse order; errors are logged, done gets 0. */
void xend_devices_detach_all(struct xend_domain *dom, enum xend_dev_reason reason,
                             xend_devices_done_fn *done, void *arg);
/* Free every record (class free op first). */
void xend_devices_free_all(struct xend_domain *dom);

/* (devices (vbd ...) (vif ...)) as text, appended to out (a domain info is printed, not
 * built: a tree per request was two allocations for an empty list). */
void xend_devices_describe_print(struct xend_domain *dom, struct xend_buf *out);
/* Descriptions of one class: ((vif ...) ...), owned. */
struct xend_sxp *xend_devices_list(struct xend_domain *dom, const char *cls);
/* For the debug port's info: each device class and, per domain, its devices' indexes, as
 * text lines ("  vif: vm1 (3): 0 1; vm2 (4): 0"). */
void xend_device_controllers_print(struct xend_buf *out);
/* The description of the last device of class cls (owned), or NULL when it has none: what
 * device_create answers, without describing the domain's other devices. */
struct xend_sxp *xend_devices_describe_last(struct xend_domain *dom, const char *cls);
struct xend_device *xend_devices_find(struct xend_domain *dom, const char *cls, uint32_t index);
/* (devices (device (class C) (index I) (config ...) (state ...)) ...), owned. */
struct xend_sxp *xend_devices_record(struct xend_domain *dom);
/* Rebuild the records from a store record's (devices ...) and reattach each (no scripts). */
int xend_devices_reattach(struct xend_domain *dom, const struct xend_sxp *devices,
                          struct xend_err *err);

/* Hot-plug: add a device described by `config` (borrowed) to a live domain. These three
 * call done once the change is durable in its own device record (device_journal.h). */
void xend_device_hotplug_add(struct xend_domain *dom, const struct xend_sxp *config,
                             xend_devices_done_fn *done, void *arg);
void xend_device_hotplug_remove(struct xend_domain *dom, struct xend_device *dev,
                                xend_devices_done_fn *done, void *arg);
void xend_device_hotplug_configure(struct xend_domain *dom, struct xend_device *dev,
                                   const struct xend_sxp *config, xend_devices_done_fn *done,
                                   void *arg);

#endif
