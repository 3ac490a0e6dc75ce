/*
 * The domain table and the domain handle: what xend knows of each domain (config, last
 * hypervisor info, devices, restart state, plugins' private state) and the info SXP of
 * docs/http.md. The lifecycle that changes domains is in lifecycle/; devices in device.c.
 *
 * The loop thread owns every handle. A handle is freed only by xend_domain_free, after its
 * final DESTROY hooks.
 */
#ifndef XEND_CORE_DOMAIN_TABLE_H
#define XEND_CORE_DOMAIN_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/backend.h>
#include <xend/domain.h>

#include "sxp.h"

struct xend_device;
struct xend_plugin;

enum xend_dom_phase {
    XEND_DOM_CREATING = 0, /* being created; name reserved, not yet acknowledged */
    XEND_DOM_LIVE,         /* exists in the hypervisor */
    XEND_DOM_DYING,        /* exited or being destroyed; teardown in progress */
    XEND_DOM_RESTARTING,   /* old instance gone, new one being built */
    XEND_DOM_HALTED,       /* gone from the hypervisor, kept to show why (restart refused) */
};

enum xend_restart_mode {
    XEND_RESTART_ONREBOOT = 0,
    XEND_RESTART_ALWAYS,
    XEND_RESTART_NEVER,
};

struct priv_slot {
    struct xend_plugin *owner;
    void *priv;
    xend_priv_free_fn *free_fn;
};

struct xend_domain {
    uint32_t magic;
    uint32_t id;
    char name[64];
    char uuid[33];           /* the store key: stable across restarts */
    struct xend_sxp *config; /* (vm ...), owned; NULL for Domain-0 and adopted domains */
    /* config as the info prints it, owned; NULL until an info or a check needs it, after
     * every change (xend_domain_config_changed), and once the kept info (info_text) holds
     * it: printing a thousand scattered config trees was most of a detail=1 list. */
    char *config_text;
    size_t config_text_len;
    /* The config's (sched ...) entry as scheduler.c last found it (borrowed from config),
     * valid while sched_entry_known: every info prints the scheduler's parameters. */
    const struct xend_sxp *sched_entry;
    bool sched_entry_known;
    /* The info as last printed, without its time fields (cpu_time, up_time), and what it
     * was printed from; owned, NULL until an info is printed. A list of ten thousand
     * domains copies these instead of printing each. info_gen counts the changes the text
     * cannot see by itself (xend_domain_info_changed). */
    struct xend_info_text *info_text;
    uint64_t info_gen;
    struct xend_dominfo info; /* last refresh */
    bool info_known;
    uint64_t info_ms; /* when info was last read from the backend (loop ms) */
    enum xend_dom_phase phase;
    enum xend_restart_mode restart_mode;
    double start_time;
    double restart_time; /* 0 when never restarted */
    /* The same two on the boot clock (domain_time.h), which up_time and the restart
     * throttle use: a wall-clock step changes neither. 0 = unknown / never. */
    uint64_t start_ns, restart_ns;
    const char *restart_state; /* NULL, "pending", "booting" */
    char *halt_reason;         /* why a HALTED domain was not restarted; owned, NULL when not */
    char *doubt;               /* why a migrated-in domain waits for its sender; owned, or NULL */
    /* A save's, a migration's mark ((transfer ...), (received ...)) that every record of the
     * domain carries until the operation ends, so that no other write of the record drops
     * it (docs/durability.md); owned, or NULL. */
    struct xend_sxp *mark;
    int shutdown_requested; /* enum xend_shutdown_reason asked for, or -1 */
    bool restart_forced;    /* destroy reason=reboot */
    bool busy;              /* a multi-step operation is running on it */
    bool record_failed;     /* the last write of its record failed; the store retries it */
    /* The sequence number of its last device change (device_journal.h): the record says
     * which it has folded in, so a change record is applied at load only when newer. */
    unsigned long long device_seq;
    /* What the instance was changed to since it started, beyond its config; a save or a
     * migration carries them (domain_runtime.h). */
    uint64_t target_kb;           /* memory target set by mem_target_set; 0 = none */
    bool pin_set;                 /* pin_cpu was set by pincpu (else the config's cpu holds) */
    int32_t pin_cpu;              /* -1 = any cpu */
    struct xend_device **devices; /* in config order */
    size_t ndevices;
    struct priv_slot *privs;
    size_t nprivs;
    struct xend_domain *name_next, *id_next; /* hash chains */
};

/* ---- the table ---- */
int xend_domain_table_init(void);
void xend_domain_table_free(void);
/* A new handle in the table (owned by it), phase CREATING; NULL if the name is taken. */
struct xend_domain *xend_domain_new(const char *name);
/* Remove from the table and free, running the plugins' priv destructors. */
void xend_domain_free(struct xend_domain *dom);
struct xend_domain *xend_domain_by_name(const char *name);
struct xend_domain *xend_domain_by_id(uint32_t id);
/* Name first, then decimal id (the original's rule). */
struct xend_domain *xend_domain_lookup(const char *name_or_id);
void xend_domain_set_id(struct xend_domain *dom, uint32_t id);
/* Number of domains, and all of them sorted by id into *out (owned array). */
size_t xend_domain_all(struct xend_domain ***out);
/* The same, borrowed: valid until a domain is added, removed or changes id. */
struct xend_domain *const *xend_domain_sorted(size_t *n);
size_t xend_domain_count(void);

/* ---- what plugins see ---- */
const struct xend_host_domain *xend_domain_host_table(void);
void xend_domain_remove_owner(struct xend_plugin *owner);

/*
 * Run the hooks of `point` in the order of xend/domain.h's table. For veto points, stops at the
 * first failure and returns it (err filled); `ran` (may be NULL) receives how many hooks
 * succeeded, for a rollback. For the others, every hook runs and failures are logged.
 */
int xend_hooks_run(enum xend_hook_point point, struct xend_domain *dom, int reason,
                   int shutdown_reason, const struct xend_sxp *config, struct xend_err *err,
                   size_t *ran);
/* Undo the first `ran` CREATE/RESTORE hooks: DESTROY with reason ROLLBACK, reversed. */
void xend_hooks_rollback(enum xend_hook_point point, struct xend_domain *dom, size_t ran);

/* ---- info ---- */
/* Refresh every domain's info from the backend (one dom_list). */
int xend_domain_refresh_all(struct xend_err *err);
int xend_domain_refresh(struct xend_domain *dom, struct xend_err *err);
/*
 * For readers (GET): refresh only when the info is older than XEND_INFO_FRESH_MS, so a
 * client polling at a high rate costs no backend round trip per request. State changes xend
 * makes itself (pause, unpause, create, restart) refresh at once.
 */
#define XEND_INFO_FRESH_MS 20
int xend_domain_refresh_all_cached(struct xend_err *err);
int xend_domain_refresh_cached(struct xend_domain *dom, struct xend_err *err);
/* Call after any change to dom->config or a node in it (the info's cached text goes). */
void xend_domain_config_changed(struct xend_domain *dom);
/* Call after a change to what dom's info prints that is not one of its fields the info
 * compares by itself (id, phase, the backend's info, start, restart state and time, store
 * error): a plugin's describer text, a note. The kept info text goes. */
void xend_domain_info_changed(struct xend_domain *dom);
/* The same for every domain: a describer or a printer came or went, the scheduler
 * changed. */
void xend_domain_info_changed_all(void);
/* Set (taken) or clear (NULL) the mark every record of dom carries; not persisted here. */
void xend_domain_set_mark(struct xend_domain *dom, struct xend_sxp *mark);
/* Set or clear (NULL) why a migrated-in domain is kept paused (transfer.c). */
void xend_domain_set_doubt(struct xend_domain *dom, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether dom->config is within the limits of a stored record (record_limits.h): 0, or
 * -XEND_EINVAL with err set ("Configuration error: config nested 63 deep: ..."). */
int xend_domain_config_check(struct xend_domain *dom, struct xend_err *err);
/* Set or clear (NULL) why a halted domain was not restarted. */
void xend_domain_set_halt_reason(struct xend_domain *dom, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Append the info SXP of docs/http.md to `out`, printed straight from the record (a list
 * of a thousand infos is one reply: building and freeing a tree per domain was most of its
 * cost). Only the describers' fields go through a small tree, as their ABI wants.
 */
struct xend_buf;
void xend_domain_info_print(struct xend_domain *dom, struct xend_buf *out);
/* The same with up_time counted to boot_ns (xend_clock_boot_ns): a list reads the clock
 * once for all of its domains. */
void xend_domain_info_print_at(struct xend_domain *dom, uint64_t boot_ns, struct xend_buf *out);
/* The same into a gather (gather.h): the kept text borrowed, valid until the domain's info
 * is printed again or the domain goes. */
struct xend_gather;
void xend_domain_info_gather_at(struct xend_domain *dom, uint64_t boot_ns, struct xend_gather *g);
/* Before printing all[i] of a list of n (xend_domain_sorted): ask the memory for the
 * domains a few places ahead. Only a hint. */
void xend_domain_info_ahead(struct xend_domain *const *all, size_t n, size_t i);
/*
 * A core part's own info fields (the scheduler's), printed after the plugins' describers:
 * each piece " (key ...)" with its leading space. Kept until xend_domain_table_free.
 */
/* Only what the plugins' describers add to dom's info (its console, say), each piece
 * " (key ...)" with its leading space: the debug port's info lists it. */
void xend_domain_described_print(struct xend_domain *dom, struct xend_buf *out);
typedef void xend_domain_info_printer_fn(struct xend_domain *dom, struct xend_buf *out);
void xend_domain_info_printer_add(xend_domain_info_printer_fn *fn);
/* The 5-letter state of flags: "-b---". */
void xend_domain_state_text(uint32_t flags, char out[6]);

/* The record the store keeps for the domain, owned. */
struct xend_sxp *xend_domain_record(struct xend_domain *dom);
/* The same with the domain's config lent, not copied (a copy per record write was 5% of a
 * create's work): for a caller that encodes it at once and hands it back through
 * xend_domain_record_return, which frees it, before anything can change the config. */
struct xend_sxp *xend_domain_record_lent(struct xend_domain *dom);
void xend_domain_record_return(struct xend_domain *dom, struct xend_sxp *rec);

#endif
