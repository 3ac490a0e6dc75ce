/*
 * The steps of the lifecycle that save, restore and migration (transfer.c) reuse, so that
 * a restored domain is validated, attached, persisted and torn down exactly like a created
 * one. Core-internal.
 */
#ifndef XEND_CORE_LIFECYCLE_INTERNAL_H
#define XEND_CORE_LIFECYCLE_INTERNAL_H

#include <stdbool.h>

#include <xend/backend.h>
#include <xend/domain.h>

#include "lifecycle.h"

/* Validate a (vm ...) config (taken), reserve its name, parse its devices, run VALIDATE.
 * On success *out is a CREATING domain; on failure everything is undone. */
int xend_lifecycle_prepare(struct xend_sxp *config, struct xend_domain **out, struct xend_err *err);
/* Where a dry run of a create reports each problem: the index in the (vm ...) of the
 * element it is about (-1 when none) and its message (borrowed for the call). */
struct xend_check_sink {
    void (*add)(void *arg, long at, const char *msg);
    void *arg;
};
/* Every check a create makes of config (borrowed) before it changes anything, the same
 * code as the create's, creating nothing: each problem goes to sink. 0 when there is none,
 * else the first problem's negative code, its message in err. */
int xend_lifecycle_check_create(const struct xend_sxp *config, const struct xend_check_sink *sink,
                                struct xend_err *err);
/* What the hypervisor needs to make a shell for dom's config. */
int xend_lifecycle_create_args(struct xend_domain *dom, struct xend_dom_create *args,
                               struct xend_err *err);
/* The hypervisor domain exists (dom->id set): attach devices, run `point` hooks (CREATE,
 * RESTORE, RESTART), rolling back on failure and destroying the hypervisor domain unless
 * `keep_domain` (a migrated guest whose source let go: it is the only copy). */
void xend_lifecycle_attach_instance(struct xend_domain *dom, enum xend_hook_point point,
                                    bool keep_domain,
                                    void (*done)(int rc, const struct xend_err *err, void *arg),
                                    void *arg);
/* A restored or migrated domain whose devices are attached: it is live from now, runs on
 * if `unpause`, and its record is written; done as for a store put. */
void xend_lifecycle_restored(struct xend_domain *dom, bool unpause, void (*done)(void *arg, int rc),
                             void *arg);
/* Detach devices, DESTROY hooks, destroy in the hypervisor, then restart or forget. */
void xend_lifecycle_teardown(struct xend_domain *dom, int exit_reason, bool restart,
                             xend_lifecycle_done_fn *done, void *arg);
/* Persist dom's record with `mark` (taken, may be NULL) appended: (released 1) after a save
 * (the next start takes the domain down and forgets it), (spare ID...) on an incoming
 * migration's intent (the next start's clean-up leaves those ids alone), (received
 * running|paused) once the sender of a migration let go (the next start finishes the
 * take-over instead of removing the domain). */
void xend_lifecycle_persist_marked(struct xend_domain *dom, struct xend_sxp *mark,
                                   void (*done)(void *arg, int rc), void *arg);
/* A new random store key (32 hex digits). */
void xend_lifecycle_new_key(char out[33]);
void xend_lifecycle_forget(struct xend_domain *dom, void (*done)(void *arg, int rc), void *arg);
/* While held, domains the hypervisor has and xend does not are not adopted (a restore is
 * making one). Calls nest. */
void xend_lifecycle_adopt_hold(bool hold);
void xend_lifecycle_emit(const char *name, struct xend_domain *dom, const char *extra);

#endif
