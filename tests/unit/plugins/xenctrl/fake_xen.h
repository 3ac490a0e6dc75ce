/*
 * A fake Xen for the xenctrl backend's unit tests: every libxenctrl, libxenguest,
 * libxenstore and libxenevtchn call the backend makes is linked to a __wrap_ here
 * (-Wl,--wrap), which works on an in-memory hypervisor (domains with flags, memory,
 * scheduler values) and an in-memory xenstore (nodes, permissions, watches with a pollable
 * fd), and plays the parts of dom0's drivers, xenconsoled and the guest where a test asks.
 *
 * Any wrapped call can be made to fail once with an errno (fx_fail), which is how the tests
 * walk every library failure path. Never touches a real hypervisor.
 */
#ifndef XEND_TEST_FAKE_XEN_H
#define XEND_TEST_FAKE_XEN_H

#include <stdbool.h>
#include <stdint.h>

#include <xenctrl.h>
#include <xenstore.h>

struct fx_dom {
    bool used;
    uint32_t id;
    uint32_t flags;         /* XEN_DOMINF_* without the shutdown code */
    unsigned shutdown_code; /* SHUTDOWN_*, with XEN_DOMINF_shutdown */
    uint64_t tot_pages, max_pages;
    unsigned max_vcpus;
    int cpu;
    uint64_t cpu_time;
    uint16_t weight, cap;
    uint8_t affinity; /* the first byte of the last hard affinity map */
    int affinity_vcpu;
    struct xen_domctl_createdomain cfg;
    bool built;
    bool vcpus_made;      /* xc_domain_max_vcpus was called */
    bool suspend_pending; /* asked to suspend while paused: does so when unpaused */
};

#define FX_MAX_DOMS 128

struct fx_state {
    struct fx_dom doms[FX_MAX_DOMS];
    uint64_t free_pages;
    int sched_id;
    uint32_t tslice_ms, ratelimit_us, credit2_ratelimit_us;
    int next_port;
    char conring[256];
    /* what the builder saw */
    char cmdline[256], kernel[256], ramdisk[256];
    unsigned mem_mb;
    int dom_allocs, dom_releases;
    /* introductions */
    int introduced;
    uint32_t intro_domid;
    unsigned long intro_mfn;
    unsigned intro_port;
    /* the parts others play */
    bool drivers;         /* dom0's blkback/netback take a new back end (state 1 -> 2) */
    bool guest_closes;    /* a front end closes when asked (state 5 -> 6) */
    bool guest_suspends;  /* the guest obeys control/shutdown "suspend" */
    char tty[128];        /* xenconsoled: the pty it names on introduction ("" none) */
    bool virq_busy;       /* xenstored holds VIRQ_DOM_EXC */
    bool hap;             /* the cpu has hardware-assisted paging (PVH guests) */
    bool shadow;          /* Xen has shadow paging (live migration of PV guests) */
    uint64_t paging_pool; /* the last xc_set_paging_mempool_size, in bytes */
    /* A live save's pre-copy, as libxenguest runs it: round 1 sends the guest's pages, each
     * next round the count here (the last one repeats); a suspended guest has dirtied
     * dirty_at_suspend since the last round (what a log-dirty PEEK says). */
    long precopy_dirty[8];
    int precopy_ndirty;
    uint64_t dirty_at_suspend;
    int precopy_rounds;      /* rounds the last live save sent before it suspended */
    unsigned memmap_entries; /* the last xc_domain_set_memory_map */
    /* counters */
    int resumes, unmasks, xc_opens, xc_closes, xs_opens, xs_closes, evtchn_closes;
    int txn_ends;
    xentoollog_logger *logger; /* the one xc_interface_open was given */
};

extern struct fx_state FX;

void fx_reset(void);
/* Make the next call of the libxen function `fn` fail with errno e. */
void fx_fail(const char *fn, int e);
/* Fail the n-th next call (1 = the next one). */
void fx_fail_nth(const char *fn, int n, int e);

struct fx_dom *fx_dom(uint32_t id);
struct fx_dom *fx_dom_add(uint32_t id, uint32_t flags, uint64_t pages);
/* The guest shuts down with code (SHUTDOWN_*): flags, then @releaseDomain and the VIRQ. */
void fx_dom_shutdown(uint32_t id, unsigned code);

/* xenstore: a node's value (borrowed, NULL when absent); set one as dom0 would. */
const char *fx_xs(const char *path);
void fx_xs_set(const char *path, const char *value);
/* The owner of a node (its first permission's domain), -1 when absent. */
int fx_xs_owner(const char *path);
/* Fire VIRQ_DOM_EXC (its evtchn fd becomes readable). */
void fx_virq_fire(void);

#endif
