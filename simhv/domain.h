/*
 * The simulated machine and its domains: physical cpus and memory, the domain table, the
 * hypervisor's own console ring (dmesg), and every operation a backend may ask of a
 * domain. Memory is really accounted: a domain that does not fit is refused, destroy gives
 * the memory back.
 *
 * A domain created by a client stays "owned" by it until it is built (or, for a restore,
 * until the image is complete): if that client goes away first, the half-made domain is
 * destroyed, so a dead client never leaves one behind.
 *
 * Errors use the ABI's xend_err and XEND_E codes, so the protocol passes them on as they
 * are. Never touches sockets; time comes from the caller.
 */
#ifndef SIMHV_DOMAIN_H
#define SIMHV_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#include "console.h"
#include "guest.h"
#include "memimg.h"
#include "sched.h"

#define SIMHV_VERSION "1.0"
#define SIMHV_MAX_VCPUS 32
#define SIMHV_DOM0_MB 512
#define SIMHV_CPU_MHZ 2000
#define SIMHV_DMESG_MAX ((size_t)16 * 1024)
#define SIMHV_MAX_DOMID 0x7fefu /* Xen's DOMID_FIRST_RESERVED - 1 */

struct simhv_dev {
    char cls[32];
    uint32_t devid;
    char name[64];
    struct simhv_dev *next;
};

struct simhv_domain {
    uint32_t domid;
    uint64_t uid; /* unique for the life of simhv: a reused domid is another domain */
    char name[64];
    uint64_t mem_kb;
    uint64_t maxmem_kb;
    uint32_t nvcpus;
    struct simhv_vcpu *vcpus; /* owned, nvcpus */
    bool built;
    bool paused;
    bool shutdown; /* flags: shut down with shutdown_reason */
    bool crashed;
    uint32_t shutdown_reason;
    char *kernel;  /* owned, NULL until built */
    char *cmdline; /* owned, NULL until built */
    struct simhv_guest guest;
    struct simhv_mem mem;
    struct simhv_console console;
    struct simhv_dev *devs; /* owned */
    const void *owner;      /* the client that must finish it, NULL once made */
    struct simhv_domain *next;
    struct simhv_domain *prev;     /* the list is doubly linked: destroy is O(1) */
    struct simhv_domain *uid_next; /* chain in the machine's uid index */
    /* In the machine's list of alive domains (simhv_dom_alive) while it is one. */
    struct simhv_domain *active_next, *active_prev;
    bool in_active;
};

struct simhv_machine {
    unsigned ncpus;
    uint64_t total_kb;
    uint64_t shutdown_delay_ms;   /* default delay of a guest's shutdown */
    struct simhv_sched *sched;    /* owned */
    struct simhv_domain *domains; /* owned, in domid order */
    struct simhv_domain *tail;    /* the last of domains: new ids mostly go at the end */
    /* Indexes, so lookups (every request, every console connection) do not walk the list:
     * by_id has SIMHV_MAX_DOMID + 1 slots, by_uid uid_buckets (a power of two) chains. */
    struct simhv_domain **by_id;  /* owned array, borrowed entries */
    struct simhv_domain **by_uid; /* owned array, borrowed entries */
    size_t uid_buckets;
    size_t ndomains;
    uint32_t next_domid;
    uint64_t next_uid;
    /* The alive domains, borrowed: only they tick or have events, so advancing the
     * machine (before every request) walks these, not a thousand paused ones. */
    struct simhv_domain *active;
    uint64_t now_ns;     /* machine time of the last advance */
    uint64_t change_seq; /* bumped when a domain shuts down, crashes or goes (VIRQ_DOM_EXC) */
    uint64_t used_kb;    /* the domains' mem_kb summed: checked at every create */
    char *dmesg;         /* owned ring text, NUL-terminated */
    size_t dmesg_len;
    void (*log)(const char *line); /* optional: every dmesg line is also logged here */
};

struct simhv_machine_cfg {
    unsigned cpus;
    uint64_t memory_mb;
    const char *scheduler;
    uint64_t slice_ms;
    uint64_t shutdown_delay_ms;
};

/* A machine with Domain-0 running; NULL with err (bad scheduler, too little memory). */
struct simhv_machine *simhv_machine_new(const struct simhv_machine_cfg *cfg, uint64_t now_ns,
                                        struct xend_err *err);
void simhv_machine_free(struct simhv_machine *m);
/* Run the scheduler and the guests up to now_ns. */
void simhv_machine_advance(struct simhv_machine *m, uint64_t now_ns);
/* Nanoseconds until some guest has something to do (UINT64_MAX for nothing). */
uint64_t simhv_machine_next_event(const struct simhv_machine *m);
uint64_t simhv_machine_free_kb(const struct simhv_machine *m);
/* A domain changed state: wake the notification streams. */
void simhv_machine_changed(struct simhv_machine *m);
/* Every domain still owned by `owner` is destroyed (its client went away). */
void simhv_machine_owner_gone(struct simhv_machine *m, const void *owner);

void simhv_dmesg(struct simhv_machine *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The ring's text, owned (libc free); cleared afterwards with clear. */
char *simhv_dmesg_read(struct simhv_machine *m, bool clear);

/* Borrowed, or NULL with ENOENT in err ("No such domain: 7"). */
struct simhv_domain *simhv_dom_get(struct simhv_machine *m, uint32_t domid, struct xend_err *err);
struct simhv_domain *simhv_dom_find(const struct simhv_machine *m, uint32_t domid);
/* fn for every domain in id order, the ones ahead fetched meanwhile: ten thousand domains
 * and their vcpus do not fit in the caches, and a walk of the list waited for each. */
void simhv_dom_walk(const struct simhv_machine *m,
                    void (*fn)(const struct simhv_domain *d, void *arg), void *arg);
struct simhv_domain *simhv_dom_find_uid(const struct simhv_machine *m, uint64_t uid);

struct simhv_dom_args {
    const char *name; /* borrowed, may be NULL */
    uint64_t mem_kb;
    uint64_t maxmem_kb; /* 0: as mem_kb */
    uint32_t vcpus;     /* 0: 1 */
    int64_t want_domid; /* -1: any; a taken or invalid id also means any */
    int32_t cpu;        /* -1: any; else every vcpu is pinned there */
};

/* A paused, empty domain owned by `owner` (NULL for none); *out borrowed. */
int simhv_dom_create(struct simhv_machine *m, const struct simhv_dom_args *args, const void *owner,
                     struct simhv_domain **out, struct xend_err *err);
/* Load a kernel: it must be a readable file; cmdline knobs are checked. Stays paused. */
int simhv_dom_build(struct simhv_machine *m, struct simhv_domain *d, const char *kernel,
                    const char *ramdisk, const char *cmdline, struct xend_err *err);
/* Make a domain's guest state from a restored image's parameters (no file check). */
int simhv_dom_set_guest(struct simhv_machine *m, struct simhv_domain *d, const char *kernel,
                        const char *cmdline, struct xend_err *err);
int simhv_dom_pause(struct simhv_machine *m, struct simhv_domain *d, struct xend_err *err);
int simhv_dom_unpause(struct simhv_machine *m, struct simhv_domain *d, struct xend_err *err);
int simhv_dom_shutdown(struct simhv_machine *m, struct simhv_domain *d, uint32_t reason,
                       struct xend_err *err);
/* The guest itself stops (shutdown with reason, or crash). */
void simhv_dom_stopped(struct simhv_machine *m, struct simhv_domain *d, uint32_t reason);
int simhv_dom_destroy(struct simhv_machine *m, struct simhv_domain *d, struct xend_err *err);
int simhv_dom_set_maxmem(struct simhv_machine *m, struct simhv_domain *d, uint64_t kb,
                         struct xend_err *err);
int simhv_dom_set_target(struct simhv_machine *m, struct simhv_domain *d, uint64_t kb,
                         struct xend_err *err);
int simhv_dom_pin_vcpu(struct simhv_machine *m, struct simhv_domain *d, uint32_t vcpu, int32_t cpu,
                       struct xend_err *err);
/* enum xend_dom_flag bits as Xen would report them now. */
uint32_t simhv_dom_flags(const struct simhv_domain *d);
uint64_t simhv_dom_cpu_time(const struct simhv_domain *d);
/* True while the guest is alive and unpaused: it runs and its time passes. */
bool simhv_dom_alive(const struct simhv_domain *d);

int simhv_dom_dev_attach(struct simhv_machine *m, struct simhv_domain *d, const char *cls,
                         uint32_t devid, const char *node, char *name, size_t name_len,
                         struct xend_err *err);
int simhv_dom_dev_detach(struct simhv_machine *m, struct simhv_domain *d, const char *cls,
                         uint32_t devid, struct xend_err *err);

#endif
