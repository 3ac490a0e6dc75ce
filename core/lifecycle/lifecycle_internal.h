/*
 * The lifecycle's private header, core-internal. Its first half is the steps that save,
 * restore and migration (core/transfer/) and the dry run of a create (create_check.c)
 * reuse, so that a restored domain is validated, attached, persisted and torn down exactly
 * like a created one. Its second half is what the files of core/lifecycle/ share with each
 * other and nobody else calls:
 *
 *   lifecycle.c  the part's state and settings, its events
 *   validate.c   the checks of a (vm ...) config, and preparing a domain from it
 *   persist.c    the domain's record written to and removed from the store
 *   build.c      a hypervisor instance made, built, its devices attached, its hooks run
 *   create.c     create and configure
 *   control.c    pause, unpause, shutdown, memory, cpu pinning
 *   teardown.c   death, destroy and restart
 *   reconcile.c  watching the hypervisor for exits and strangers; start and stop
 *   record.c     a stored record decoded at start and matched with the hypervisor
 */
#ifndef XEND_CORE_LIFECYCLE_INTERNAL_H
#define XEND_CORE_LIFECYCLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/backend.h>
#include <xend/domain.h>

#include "domain_table.h"
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

/* ---- between the files of core/lifecycle/ ---- */

#define XEND_LIFECYCLE_NS "domain" /* the store's namespace of domain records */

/* The part's state (lifecycle.c); loop thread only. */
struct xend_lifecycle_state {
    struct xend_store *store;
    struct xend_lifecycle_options opt;
    unsigned adopt_holds;    /* restores and async creates in flight: their new domains are not
                                strangers */
    uint64_t checks;         /* checks done so far (reconcile.c) */
    unsigned hv_answers_due; /* async backend calls (create, destroy) not answered yet */
};
extern struct xend_lifecycle_state xend_lifecycle_lc;

/* What a valid (vm ...) asks for; the strings are borrowed from the config. */
struct xend_vm_params {
    const char *name;
    long long mem_mb, maxmem_mb, cpu, vcpus;
    enum xend_restart_mode restart;
    const char *builder, *kernel, *ramdisk;
    char cmdline[1024];
};

/* validate.c */
/* The most memory a domain may ask for, in MB: the host's, so that MB * 1024 can never
 * wrap a KiB count. */
long long xend_lifecycle_mem_limit_mb(void);
int xend_lifecycle_parse_restart(const char *s, enum xend_restart_mode *out);
/* The checks of a (vm ...) (borrowed) that every domain passes, the first problem the
 * error; *p filled. */
int xend_lifecycle_validate_vm(const struct xend_sxp *vm, struct xend_vm_params *p,
                               struct xend_err *err);
/* xend_lifecycle_prepare for a create: also the checks only a new domain must pass, and
 * an error worded as 2.0.0's create worded it. */
int xend_lifecycle_prepare_create(struct xend_sxp *config, struct xend_domain **out,
                                  struct xend_err *err);

/* persist.c: as xend_lifecycle_persist and _forget, but ahead of the store's queue, for a
 * destroy's writes, which must answer under a flood of creates (docs/store.md,
 * "Priority"). */
void xend_lifecycle_persist_first(struct xend_domain *dom, void (*done)(void *arg, int rc),
                                  void *arg);
void xend_lifecycle_forget_first(struct xend_domain *dom, void (*done)(void *arg, int rc),
                                 void *arg);

/* build.c */
typedef void xend_lifecycle_build_done_fn(int rc, const struct xend_err *err, void *arg);
/* Create the hypervisor domain from dom->config, build it, attach its devices, run `point`
 * hooks with `reason`. With hold (only where the backend holds creates), the backend
 * destroys the domain should xend die before it calls dom_confirm. */
void xend_lifecycle_build_instance(struct xend_domain *dom, enum xend_hook_point point, int reason,
                                   int64_t want_domid, bool hold,
                                   xend_lifecycle_build_done_fn *done, void *arg);

/* teardown.c: whether an exit for exit_reason restarts dom. */
bool xend_lifecycle_wants_restart(const struct xend_domain *dom, int exit_reason);

/* reconcile.c: check soon, sharing one check with every change until then. */
void xend_lifecycle_schedule_check(void);

/*
 * The hypervisor's domains as one dom_list answered at start, sorted by id. The reconcile
 * matches the records against it (and forgets what it destroys); the first check after it
 * reads the same list instead of asking again: a change since then comes as the backend's
 * notification, subscribed before the list was taken.
 */
struct xend_lifecycle_hv_list {
    struct xend_dominfo *v; /* owned */
    size_t n, cap;
    bool taken; /* dom_list answered; else nothing is known */
};

/* record.c: every stored record matched with the hypervisor, at start. The number of
 * records, or a negative code; *listed is what the hypervisor held (its v owned by the
 * caller, also on an error). */
int xend_lifecycle_load_records(bool boot_changed, size_t *restored, size_t *cleaned,
                                struct xend_lifecycle_hv_list *listed, struct xend_err *err);

#endif
