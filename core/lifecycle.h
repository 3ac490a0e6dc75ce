/*
 * Domain lifecycle: create (validate everything, then hypervisor, devices, hooks, store,
 * rolling back every step on failure), pause, unpause, shutdown, destroy, death and
 * restart, memory and cpu settings, persistence of every change before it is acknowledged,
 * and reconciliation with the hypervisor when xend starts.
 *
 * Operations that wait (devices, the store) finish through a callback on the loop thread;
 * the HTTP layer defers its reply until then.
 */
#ifndef XEND_CORE_LIFECYCLE_H
#define XEND_CORE_LIFECYCLE_H

#include <stdbool.h>

#include <xend/backend.h>

#include "sxp.h"

struct xend_domain;
struct xend_store;
struct xend_config;

struct xend_lifecycle_options {
    double min_restart_seconds; /* a restart sooner than this after the last is refused */
    long long max_memory_mb;    /* 0 = the hypervisor's total */
    size_t max_name;            /* 15 as in Xen 2.0 */
};

/* Done callback of an asynchronous operation: dom is borrowed (NULL when it is gone). */
typedef void xend_lifecycle_done_fn(int rc, const struct xend_err *err, struct xend_domain *dom,
                                    void *arg);

int xend_lifecycle_init(struct xend_store *store, const struct xend_lifecycle_options *opts,
                        struct xend_err *err);
/* Read the store, ask the hypervisor, reconcile, start watching for state changes. */
int xend_lifecycle_start(struct xend_err *err);
/* Stop watching; domains keep running. */
void xend_lifecycle_stop(void);
/* Whether a backend call it made (an async create or destroy) is still to be answered: a
 * stop's drain waits for it, so the create or teardown it carries finishes, not leaks. */
bool xend_lifecycle_busy(void);

/* Create from a (vm ...) config (taken). done gets the new paused domain. */
void xend_lifecycle_create(struct xend_sxp *config, xend_lifecycle_done_fn *done, void *arg);
/*
 * configure (the 2.0 op used by restore and migration): give a domain that xend found
 * without a config (adopted) the config of `record` (borrowed: a (domain ... (config (vm
 * ...))) record or a (vm ...) config): its devices are reattached, not re-created.
 * "Domain already configured: N" for a domain that has one.
 */
void xend_lifecycle_configure(struct xend_domain *dom, const struct xend_sxp *record,
                              xend_lifecycle_done_fn *done, void *arg);

int xend_lifecycle_pause(struct xend_domain *dom, struct xend_err *err);
int xend_lifecycle_unpause(struct xend_domain *dom, struct xend_err *err);
/* reason: poweroff, reboot, halt, suspend. */
int xend_lifecycle_shutdown(struct xend_domain *dom, const char *reason, struct xend_err *err);
/* reason: halt, reboot (restart it). */
void xend_lifecycle_destroy(struct xend_domain *dom, const char *reason,
                            xend_lifecycle_done_fn *done, void *arg);
int xend_lifecycle_set_maxmem(struct xend_domain *dom, long long mb, struct xend_err *err);
int xend_lifecycle_set_target(struct xend_domain *dom, long long mb, struct xend_err *err);
int xend_lifecycle_pincpu(struct xend_domain *dom, long long cpu, struct xend_err *err);

/* Persist the domain's record; done(arg, rc) once durable (NULL for fire-and-forget). */
void xend_lifecycle_persist(struct xend_domain *dom, void (*done)(void *arg, int rc), void *arg);

/* Replace (key ...) of the domain's config (value taken; NULL removes) and persist. */
int xend_lifecycle_config_set_take(struct xend_domain *dom, const char *key, struct xend_sxp *value,
                                   struct xend_err *err);

/* Check the hypervisor for exited domains now (also runs on its notification). */
void xend_lifecycle_check(void);

#endif
