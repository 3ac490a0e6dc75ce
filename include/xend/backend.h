/*
 * Hypervisor backends: what a hypervisor can do for xend, as one table of operations.
 *
 * The core never talks to a hypervisor except through this table. A backend plugin
 * (plugins/hypervisor/sim, plugins/hypervisor/xenctrl, or a site's own) registers its ops
 * with host->backend->add(); the core selects one by the `backend` config setting ("auto"
 * takes the first registered backend whose `probe` says yes, in the order of their
 * `priority`, highest first).
 *
 * Every op takes the backend's own context first (the `ctx` given to add()) and an error
 * object last; it returns 0 or a negative XEND_E code and sets err with a message that can
 * go to the client as it is ("Out of memory: domain needs 512 MB, 300 MB free").
 * A NULL op means "not supported": the core answers -XEND_ENOTSUP naming the backend and op.
 *
 * Threads: ops are called on the loop thread and must be quick (a hypercall, a local RPC),
 * except `save`, `restore` and `migrate_receive`, which the core calls from a worker thread:
 * a backend must allow those three to run while the loop thread calls the others.
 * A backend whose ops are remote calls may also offer `dom_create_async` (ABI 1.1), which
 * lets the loop go on while the hypervisor creates and builds a domain.
 *
 * Domain ids: 0 is the control domain. Memory is in KiB throughout.
 */
#ifndef XEND_BACKEND_H
#define XEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>
#include <xend/sxp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_plugin;

/* Domain state flags, as Xen reports them (xm list's r b p s c letters). */
enum xend_dom_flag {
    XEND_DOMF_RUNNING = 1u << 0,
    XEND_DOMF_BLOCKED = 1u << 1,
    XEND_DOMF_PAUSED = 1u << 2,
    XEND_DOMF_SHUTDOWN = 1u << 3,
    XEND_DOMF_CRASHED = 1u << 4,
    XEND_DOMF_DYING = 1u << 5,
};

/* Shutdown reasons; the values are Xen's SHUTDOWN_* codes. */
enum xend_shutdown_reason {
    XEND_SHUTDOWN_POWEROFF = 0,
    XEND_SHUTDOWN_REBOOT = 1,
    XEND_SHUTDOWN_SUSPEND = 2,
    XEND_SHUTDOWN_CRASH = 3,
    XEND_SHUTDOWN_HALT = 4, /* requested as halt: sent to the guest as poweroff */
};

/* The reason's name as the protocol writes it: "poweroff", "reboot", "suspend", "crash",
 * "halt"; "?" for any other value. (A header function: no ABI entry.) */
static inline const char *xend_shutdown_reason_name(int reason)
{
    static const char *const names[] = {"poweroff", "reboot", "suspend", "crash", "halt"};
    return reason >= 0 && reason < (int)(sizeof(names) / sizeof(names[0])) ? names[reason] : "?";
}

struct xend_physinfo {
    size_t size;
    uint32_t nr_cpus;
    uint32_t cores_per_socket;
    uint32_t threads_per_core;
    uint32_t cpu_mhz;
    uint64_t total_kb;
    uint64_t free_kb;
    char hypervisor[64]; /* "simhv 1.0", "Xen 4.17.1" */
    char scheduler[16];  /* the scheduler the hypervisor runs: "bvt", "credit", ... */
};

struct xend_dominfo {
    size_t size;
    uint32_t domid;
    uint32_t flags;           /* enum xend_dom_flag bits */
    uint32_t shutdown_reason; /* enum xend_shutdown_reason, valid with XEND_DOMF_SHUTDOWN */
    uint32_t vcpus;
    int32_t cpu; /* the physical cpu vcpu 0 last ran on */
    uint64_t cpu_time_ns;
    uint64_t mem_kb;
    uint64_t maxmem_kb;
    char name[64]; /* the name the backend keeps, "" when it keeps none */
};

/* What a new domain shell needs. */
struct xend_dom_create {
    size_t size;
    const char *name; /* borrowed */
    uint64_t mem_kb;
    uint64_t maxmem_kb;
    uint32_t vcpus;
    int64_t want_domid; /* -1 for any; a restart asks for the old id */
    int32_t cpu;        /* -1 for any */
    /* ABI 1.1 (read it only when XEND_HAS_MEMBER(args, flags)): XEND_DOM_CREATE_* bits. */
    uint32_t flags;
};

/*
 * Hold the new domain until dom_confirm: if xend goes away first (it crashed, so its
 * connection to the hypervisor broke), the backend destroys the domain. Only asked of a
 * backend that has dom_confirm. It is what lets the core acknowledge a create with one
 * durable write: a crash before the record is durable leaves nothing in the hypervisor.
 */
#define XEND_DOM_CREATE_HOLD (1u << 0)

/* How to build a domain's memory image. Strings are borrowed. */
struct xend_dom_image {
    size_t size;
    const char *builder; /* "linux" */
    const char *kernel;
    const char *ramdisk; /* NULL for none */
    const char *cmdline; /* "" for none */
};

/* A scheduler parameter, by name; the value is an integer in the scheduler's units. */
struct xend_sched_value {
    const char *name; /* borrowed */
    int64_t value;
};

/*
 * Progress of a long operation (save, restore, migration), called by the backend on the
 * worker thread after each piece of the stream it moved through the fd (at most about
 * 1 MiB apart), with what it has done of total in its own units (pages).
 *
 * ABI 1.7: it returns 0 to go on, or a negative XEND_E code (-XEND_ECANCELED: an operator
 * cancelled the transfer) to stop. It may sleep before it returns: that is how the core
 * paces a transfer to a rate limit (it wakes at once when the transfer is cancelled). A
 * backend with XEND_BACKEND_TRANSFER_STOPS stops when told and returns that code. A
 * backend built against 1.0-1.6 declared it returning void and ignores the verdict; it
 * is paced all the same.
 */
typedef int xend_progress_fn(void *arg, uint64_t done, uint64_t total);

/*
 * ABI 1.8. One round of a live save, reported when its pages went through the fd: a live
 * save sends every page (round 1), then, while the guest runs, the pages it dirtied
 * meanwhile, round after round, and pauses it for the last round (stop-and-copy).
 */
struct xend_save_round {
    size_t size;
    uint32_t round;        /* 1, 2, ... */
    uint32_t last;         /* 1: the stop-and-copy round, the guest paused */
    uint64_t pages;        /* pages sent in the round */
    uint64_t ns;           /* how long the round took */
    uint64_t dirty_pages;  /* pages the guest dirtied during it (the next round's) */
    uint32_t throttle_pct; /* how much the backend slowed the guest during it (0-99) */
    uint32_t pad;
    /* last round: when the guest was paused for it, on the CLOCK_MONOTONIC clock (0: the
     * guest was not running); the time it is not running runs from here */
    uint64_t paused_at_ns;
};

/* Called on the worker thread after each round; round is borrowed for the call. */
typedef void xend_save_round_fn(void *arg, const struct xend_save_round *round);

/* How save_with runs a save (ABI 1.8). */
struct xend_save_args {
    size_t size;
    uint32_t live; /* 1: pre-copy rounds while the guest runs, as save's live */
    /* The bounds of a live save (0: the backend's own): at most max_rounds rounds, and a
     * last round of at most max_last_kb KiB, which a backend keeps by slowing a guest that
     * dirties its memory faster than the stream moves; max_rounds wins when both cannot
     * hold (the last round then is bigger, and says so in its report). */
    uint32_t max_rounds;
    uint64_t max_last_kb;
    xend_progress_fn *progress; /* as save's */
    void *progress_arg;         /* given to progress and to round */
    xend_save_round_fn *round;  /* NULL: not wanted */
    /* ABI 1.10 (read it only when XEND_HAS_MEMBER(args, rate_bytes_s)): the rate, in bytes a
     * second, that progress paces the stream to (0: none). A backend that makes the stream
     * ahead of its progress calls keeps no more than about 100 ms of this rate made and not
     * yet reported, so that bytes queued before a live save's last round do not crawl out
     * at the limited rate while the guest is paused. */
    uint64_t rate_bytes_s;
};

typedef void xend_dominfo_fn(void *arg, const struct xend_dominfo *info);

/*
 * The end of dom_create_async, on the loop thread: rc 0 and the new domain's info, or
 * rc < 0 and err (nothing left in the hypervisor). info and err are borrowed for the call.
 */
typedef void xend_dom_created_fn(void *arg, int rc, const struct xend_dominfo *info,
                                 const struct xend_err *err);

/* The end of dom_destroy_async, on the loop thread: rc 0, or rc < 0 and err (borrowed for
 * the call). */
typedef void xend_dom_done_fn(void *arg, int rc, const struct xend_err *err);

/* What a backend promises beyond its ops (xend_backend_ops.flags). */
enum xend_backend_flag {
    /*
     * ABI 1.2. The hypervisor keeps each domain's recent console output while no
     * console_open stream is open (bounded; the oldest bytes go first), a guest never waits
     * for a reader, and console_open delivers what was kept before anything newer. A
     * console plugin may then open a domain's stream only while someone watches it, so an
     * idle domain costs no stream. Xen's console rings do not qualify: a guest whose ring is
     * full waits for the reader, so the xenctrl backend leaves this clear.
     */
    XEND_BACKEND_CONSOLE_KEEPS_OUTPUT = 1u << 0,
    /*
     * ABI 1.4. The hypervisor is simulated: its domains have no real devices, so a device
     * plugin's site scripts (which would create bridges, loop devices, firewall rules on
     * the host) run in dry-run mode where their plugin leaves that choice to the backend.
     */
    XEND_BACKEND_SIMULATED = 1u << 1,
    /*
     * ABI 1.7. save and restore stop as soon as the progress callback returns a negative
     * code, and return that code: a restore leaves no domain behind, and a save leaves its
     * domain as it found it (a live save resumes a guest it paused for its last round).
     */
    XEND_BACKEND_TRANSFER_STOPS = 1u << 2,
};
/* Every flag this ABI defines; add() refuses others. */
#define XEND_BACKEND_FLAGS_KNOWN                                                                   \
    ((uint32_t)(XEND_BACKEND_CONSOLE_KEEPS_OUTPUT | XEND_BACKEND_SIMULATED |                       \
                XEND_BACKEND_TRANSFER_STOPS))

struct xend_backend_ops {
    size_t size;      /* sizeof(struct xend_backend_ops) as compiled: XEND_BACKEND_OPS_INIT */
    const char *name; /* "sim", "xenctrl" */
    uint32_t flags;   /* enum xend_backend_flag bits */
    int priority;     /* order for "auto"; higher wins */

    /* May this backend run here? (xenctrl: /dev/xen/privcmd exists.) No side effects. */
    bool (*probe)(void *ctx);
    /* Connect to the hypervisor; called once, when chosen, before any other op. */
    int (*open)(void *ctx, struct xend_err *err);
    /* Disconnect; domains keep running. */
    void (*close)(void *ctx);

    int (*physinfo)(void *ctx, struct xend_physinfo *out, struct xend_err *err);
    /* Hypervisor console ring (dmesg); returns an owned string (libc free), or NULL + err. */
    char *(*dmesg)(void *ctx, bool clear, struct xend_err *err);

    /* Create an empty, paused domain shell; sets *domid. */
    int (*dom_create)(void *ctx, const struct xend_dom_create *args, uint32_t *domid,
                      struct xend_err *err);
    /* Load the kernel into a created domain; it stays paused. */
    int (*dom_build)(void *ctx, uint32_t domid, const struct xend_dom_image *image,
                     struct xend_err *err);
    int (*dom_pause)(void *ctx, uint32_t domid, struct xend_err *err);
    int (*dom_unpause)(void *ctx, uint32_t domid, struct xend_err *err);
    /* Ask the guest to shut down with a reason (it may ignore it). */
    int (*dom_shutdown)(void *ctx, uint32_t domid, enum xend_shutdown_reason reason,
                        struct xend_err *err);
    /* Destroy at once, returning its memory. Destroying a missing domain is -XEND_ENOENT. */
    int (*dom_destroy)(void *ctx, uint32_t domid, struct xend_err *err);
    /* One domain's info; -XEND_ENOENT when it does not exist. */
    int (*dom_info)(void *ctx, uint32_t domid, struct xend_dominfo *out, struct xend_err *err);
    /* Every domain, in domid order, through fn; the info is borrowed for the call. */
    int (*dom_list)(void *ctx, xend_dominfo_fn *fn, void *arg, struct xend_err *err);
    int (*dom_set_maxmem)(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err);
    /* Balloon target. */
    int (*dom_set_target)(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err);
    /* Pin a vcpu to a physical cpu; cpu -1 means any. */
    int (*dom_pin_vcpu)(void *ctx, uint32_t domid, uint32_t vcpu, int32_t cpu,
                        struct xend_err *err);

    /* Scheduler parameters of a domain, for scheduler `sched`, all given at once. */
    int (*sched_set)(void *ctx, uint32_t domid, const char *sched,
                     const struct xend_sched_value *values, size_t n, struct xend_err *err);
    /* Fill values[i].value for each values[i].name. */
    int (*sched_get)(void *ctx, uint32_t domid, const char *sched, struct xend_sched_value *values,
                     size_t n, struct xend_err *err);
    /* Node-wide scheduler settings (BVT ctx_allow, round-robin slice). */
    int (*sched_node_set)(void *ctx, const char *sched, const struct xend_sched_value *values,
                          size_t n, struct xend_err *err);

    /*
     * A byte stream to and from the domain's console: a non-blocking fd, owned by the
     * caller (close() it). Reading gives what the guest writes; writing feeds its input.
     * EOF means the console went away (the domain died).
     */
    int (*console_open)(void *ctx, uint32_t domid, int *fd, struct xend_err *err);

    /*
     * A file descriptor that becomes readable whenever any domain changes state (Xen's
     * VIRQ_DOM_EXC); owned by the backend. After it fires the core calls notify_ack, then
     * dom_list to see what changed.
     */
    int (*notify_fd)(void *ctx);
    void (*notify_ack)(void *ctx);

    /*
     * Attach a device of class `cls` ("vbd", "vif", ...) to a domain with the back-end
     * parameters the class chose (`params`, borrowed, e.g. (vif (mac ..) (bridge ..))).
     * Writes the back-end device name (vif5.0, /dev/loop0) into name[0..name_len).
     */
    int (*dev_attach)(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                      const struct xend_sxp *params, char *name, size_t name_len,
                      struct xend_err *err);
    int (*dev_detach)(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                      struct xend_err *err);

    /*
     * Save the (suspended or paused) domain's memory image to fd (blocking, owned by the
     * caller). With live, the domain keeps running while dirty pages are re-sent in rounds
     * until few are left; then it is paused for the last round. Worker thread.
     */
    int (*save)(void *ctx, uint32_t domid, int fd, bool live, xend_progress_fn *progress,
                void *progress_arg, struct xend_err *err);
    /* Create a paused domain from a stream written by save; sets *domid. Worker thread. */
    int (*restore)(void *ctx, int fd, const struct xend_dom_create *args, uint32_t *domid,
                   xend_progress_fn *progress, void *progress_arg, struct xend_err *err);

    /* Dirty-page tracking, for backends whose save is built from these. */
    int (*dirty_begin)(void *ctx, uint32_t domid, struct xend_err *err);
    /* Fill bitmap (one bit per page, npages pages) and clear the set. */
    int (*dirty_read)(void *ctx, uint32_t domid, uint8_t *bitmap, uint64_t npages,
                      struct xend_err *err);
    int (*dirty_end)(void *ctx, uint32_t domid, struct xend_err *err);

    /* A checksum of the domain's memory image, for tests (sim only). */
    int (*mem_checksum)(void *ctx, uint32_t domid, uint64_t *sum, struct xend_err *err);

    /* ---- ABI 1.1 ---- */

    /*
     * Optional: dom_create then dom_build as one step that finishes later, for a backend
     * whose ops are remote calls (xend-simhv): the loop serves other requests meanwhile,
     * and the creates in flight share the hypervisor's wake-ups. Called on the loop thread;
     * args, image and their strings are borrowed for the call only. done(arg, ...) runs on
     * the loop thread exactly once, and never before this returns; a failed build leaves
     * no domain behind. The domain comes out paused, as from dom_build.
     * Until done has run, the domain may already show in dom_list: the core does not take
     * it for a stranger meanwhile. close() may drop creates still in flight without calling
     * their done (xend is stopping; a held domain then goes with it).
     */
    void (*dom_create_async)(void *ctx, const struct xend_dom_create *args,
                             const struct xend_dom_image *image, xend_dom_created_fn *done,
                             void *arg);
    /*
     * Let go of a domain created with XEND_DOM_CREATE_HOLD: from now on it outlives xend.
     * It may be sent without waiting for an answer: what matters is that a crash after it
     * returns no longer destroys the domain. A backend that has this op honours the flag.
     */
    int (*dom_confirm)(void *ctx, uint32_t domid, struct xend_err *err);

    /* ---- ABI 1.8 ---- */

    /*
     * Optional: save as `save` does, with its rounds reported and bounded (args, borrowed for
     * the call). The core calls it instead of save where a backend has it. Worker thread.
     */
    int (*save_with)(void *ctx, uint32_t domid, int fd, const struct xend_save_args *args,
                     struct xend_err *err);

    /* ---- ABI 1.11 ---- */

    /*
     * Optional: dom_destroy as a step that finishes later, for a backend whose ops are
     * remote calls (xend-simhv): the loop serves other requests while the hypervisor tears
     * the domain down, where a synchronous call would stop every client for the round trip.
     * Called on the loop thread; done(arg, rc, err) runs on the loop thread exactly once, and
     * never before this returns, with dom_destroy's result (-XEND_ENOENT for a missing
     * domain); err is borrowed for the call. The core treats the domain as going meanwhile
     * (it may still show in dom_list). close() may drop destroys still in flight without
     * calling their done (xend is stopping).
     */
    void (*dom_destroy_async)(void *ctx, uint32_t domid, xend_dom_done_fn *done, void *arg);
};

#define XEND_BACKEND_OPS_INIT .size = sizeof(struct xend_backend_ops)

struct xend_host_backend {
    size_t size;
    /*
     * Register a backend. ops is borrowed and must stay valid until the plugin's fini
     * (static storage); ctx is the plugin's, passed back to every op.
     * Returns 0, -XEND_EEXIST (name taken), -XEND_EINVAL (bad size or flags).
     */
    int (*add)(struct xend_plugin *self, const struct xend_backend_ops *ops, void *ctx);
};

#ifdef __cplusplus
}
#endif
#endif
