/*
 * Domains as plugins see them: an opaque handle, lifecycle hooks, per-plugin state, and
 * contributions to the domain info SXP.
 *
 * The core owns `struct xend_domain`. A handle stays the same across a restart of the
 * domain (the hypervisor gives it a new instance, maybe a new id) and is freed after the
 * DESTROY hooks of its final death; never keep one past that.
 *
 * Hook order (nginx's phases, one table):
 *
 *   point           when                                            order     may veto
 *   VALIDATE        create/restore/configure, before anything        load      yes
 *   CREATE          after the domain is built and its devices are    load      yes
 *                   attached; still paused
 *   UNPAUSE         after the hypervisor unpaused it                 load      no
 *   PAUSE           after the hypervisor paused it                   reverse   no
 *   SHUTDOWN        a shutdown was requested (reason set)            reverse   no
 *   DIED            the hypervisor says it exited (reason set);      reverse   no
 *                   devices are still attached
 *   DESTROY         it is being destroyed (death, destroy, rollback, reverse   no
 *                   restart of the old instance); devices already
 *                   detached
 *   RESTART         a new instance replaced the old one (same handle) load     no
 *   SAVE            its image is being saved                          reverse   no
 *   RESTORE         it came from a saved image or a migration         load      yes
 *   XEND_START      xend finished starting (dom = NULL)               load      no
 *   XEND_STOP       xend is stopping (dom = NULL)                     reverse   no
 *
 * A non-zero return from a veto point stops the chain; the core then runs DESTROY with
 * reason XEND_HOOK_ROLLBACK for every plugin whose CREATE/RESTORE hook had succeeded, in
 * reverse, and answers the client with the first error's message. Errors of the other
 * points are logged and the operation completes.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_DOMAIN_H
#define XEND_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>
#include <xend/sxp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_plugin;
struct xend_domain; /* opaque, owned by the core */

enum xend_hook_point {
    XEND_HOOK_VALIDATE = 0,
    XEND_HOOK_CREATE,
    XEND_HOOK_UNPAUSE,
    XEND_HOOK_PAUSE,
    XEND_HOOK_SHUTDOWN,
    XEND_HOOK_DIED,
    XEND_HOOK_DESTROY,
    XEND_HOOK_RESTART,
    XEND_HOOK_SAVE,
    XEND_HOOK_RESTORE,
    XEND_HOOK_XEND_START,
    XEND_HOOK_XEND_STOP,
    XEND_HOOK_COUNT
};

/* Why a hook runs, beyond its point. */
enum xend_hook_reason {
    XEND_HOOK_NORMAL = 0,
    XEND_HOOK_ROLLBACK = 1,    /* undoing a failed create/restore */
    XEND_HOOK_REATTACH = 2,    /* xend restarted and found the domain running */
    XEND_HOOK_FOR_RESTART = 3, /* DESTROY of an instance that is about to be restarted */
};

struct xend_hook_event {
    size_t size;
    enum xend_hook_point point;
    enum xend_hook_reason reason;
    struct xend_domain *dom; /* borrowed; NULL for XEND_START / XEND_STOP */
    /* VALIDATE: the (vm ...) config being checked, borrowed. Otherwise the domain's. */
    const struct xend_sxp *config;
    /* SHUTDOWN and DIED: the enum xend_shutdown_reason. */
    int shutdown_reason;
    /* Where a veto point fails: fill it and return its negative code. */
    struct xend_err *err;
};

typedef int xend_hook_fn(const struct xend_hook_event *ev, void *arg);

/* Add to a domain's info SXP: append (key ...) children to `info` (borrowed). They land
 * after start_time and before restart_state, in load order. `info` holds only what the
 * describers appended so far (the core prints its own fields around them): read the
 * domain itself through the host table, not from `info`. */
typedef void xend_describe_fn(struct xend_domain *dom, struct xend_sxp *info, void *arg);

/*
 * ABI 1.1: a describer that writes its items as SXP text instead of building a tree, which
 * costs far less in a list of thousands of domains. Call put(put_ctx, text, len) with
 * whole items, each preceded by one space: " (status listening) (id 3)". The text must be
 * SXP as the core prints it (atoms quoted where they need it: print one with host->sxp if
 * in doubt), since browsers get it parsed and rendered. Same place and order rules as
 * xend_describe_fn; text and tree describers run in the order they were added.
 */
typedef void xend_describe_put_fn(void *put_ctx, const char *text, size_t len);
typedef void xend_describe_print_fn(struct xend_domain *dom, xend_describe_put_fn *put,
                                    void *put_ctx, void *arg);

/* Frees a plugin's per-domain state when the domain handle goes. */
typedef void xend_priv_free_fn(void *priv);

typedef void xend_domain_fn(struct xend_domain *dom, void *arg);

struct xend_host_domain {
    size_t size;

    int (*hook_add)(struct xend_plugin *self, enum xend_hook_point point, xend_hook_fn *fn,
                    void *arg);
    int (*hook_remove)(struct xend_plugin *self, enum xend_hook_point point, xend_hook_fn *fn,
                       void *arg);
    int (*describe_add)(struct xend_plugin *self, xend_describe_fn *fn, void *arg);

    /* Find by name, then by decimal id; borrowed, NULL when none. */
    struct xend_domain *(*lookup)(const char *name_or_id);
    /* Every domain xend knows, in id order. fn must not destroy domains. */
    void (*foreach)(xend_domain_fn *fn, void *arg);

    uint32_t (*id)(const struct xend_domain *dom);
    const char *(*name)(const struct xend_domain *dom); /* borrowed */
    /* The (vm ...) config, borrowed; NULL for a domain xend did not create (Domain-0). */
    const struct xend_sxp *(*config)(const struct xend_domain *dom);
    /* Replace the value of (key ...) in the domain's stored config (the value is taken;
     * NULL removes the key) and persist it. For plugin settings that must survive a
     * restart, such as (sched ...). */
    int (*config_set_take)(struct xend_domain *dom, const char *key, struct xend_sxp *value,
                           struct xend_err *err);
    /* The state flags of the last refresh (enum xend_dom_flag). */
    uint32_t (*flags)(const struct xend_domain *dom);

    /* Per-plugin state: one pointer per (plugin, domain); free_fn runs when the handle goes
     * or the plugin stops. */
    void *(*priv_get)(struct xend_plugin *self, const struct xend_domain *dom);
    void (*priv_set)(struct xend_plugin *self, struct xend_domain *dom, void *priv,
                     xend_priv_free_fn *free_fn);

    /* ---- ABI 1.1 ---- */
    /* Add a text describer (xend_describe_print_fn). */
    int (*describe_print_add)(struct xend_plugin *self, xend_describe_print_fn *fn, void *arg);

    /* ---- ABI 1.9 ---- */
    /* Add a text describer whose text the core keeps with the rest of the domain's info and
     * prints again only after describe_changed(dom) (or a change of the domain the core
     * makes itself: its config, id, devices, a plugin's priv_set): a list of thousands of
     * domains then runs none of them. Call describe_changed whenever what fn would print
     * for a domain may have changed. A describer added with describe_print_add runs at
     * every print, as before. */
    int (*describe_print_kept_add)(struct xend_plugin *self, xend_describe_print_fn *fn, void *arg);
    /* What a kept describer prints for dom may have changed. */
    void (*describe_changed)(struct xend_domain *dom);
};

#ifdef __cplusplus
}
#endif
#endif
