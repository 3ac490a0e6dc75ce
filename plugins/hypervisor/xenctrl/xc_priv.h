/*
 * The xenctrl backend's private interface: its context, the connection to Xen (a
 * libxenctrl handle, a xenstore handle and the logger that catches what libxen says), and
 * the helpers its files share.
 *
 * This is the only part of xend that includes the libxen headers; it must never leak them
 * into include/xend/ or core/. Only include/xend/ and libc besides.
 */
#ifndef XEND_XENCTRL_PRIV_H
#define XEND_XENCTRL_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenguest.h>
#include <xenstore.h>
#include <xentoollog.h>

#include <xend/host.h>

/* Everything the backend reads from xend's config file (docs/xenctrl.md). */
struct xcb_settings {
    const char *privcmd;       /* probe: the device whose presence means "Xen dom0" */
    long long device_wait_ms;  /* dev_attach/detach: how long a back-end driver may take */
    long long console_wait_ms; /* console_open: how long xenconsoled may take */
    long long suspend_wait_ms; /* save: how long a guest may take to suspend */
};

struct xcb;

/*
 * One connection to Xen: used by one thread at a time (the loop thread's, or one per save
 * or restore on a worker thread). The logger is the first member so that libxen's
 * callbacks, which get the logger pointer, find the connection.
 */
struct xcb_conn {
    xentoollog_logger logger;
    struct xcb *c;
    xc_interface *xch;
    struct xs_handle *xsh;
    char last[256];             /* the last error libxen logged on this connection, "" for none */
    xend_progress_fn *progress; /* save/restore progress, or NULL */
    void *progress_arg;
    bool stop; /* progress said stop (a cancel): a save aborts where libxen asks */
};

struct xcb {
    struct xend_plugin *self;
    const struct xend_host *host;
    struct xcb_settings set;
    bool opened;
    struct xcb_conn main;  /* the loop thread's */
    struct xs_handle *xsw; /* the loop thread's waits for a node (own watches) */
    xenevtchn_handle *xce; /* VIRQ_DOM_EXC, when dom0 may bind it */
    int virq_port;         /* -1 when the @releaseDomain watch stands in */
    int sched_id;          /* XEN_SCHEDULER_* that Xen runs */
};

/* ---- connections (xenctrl.c) ---- */

/* Open a connection (xc handle, xenstore): 0, or the error naming what failed. */
int xcb_conn_open(struct xcb *c, struct xcb_conn *h, struct xend_err *err);
void xcb_conn_close(struct xcb_conn *h);

/*
 * Set err for a failed libxen call: "<what>: <libxen's message or strerror(e)>", with the
 * XEND code that errno e means (ESRCH: no such domain, ENOMEM, EPERM, ...). Returns -code.
 */
int xcb_fail(struct xcb_conn *h, struct xend_err *err, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The XEND code an errno value stands for. */
int xcb_errno_code(int e);

/* One domain's info: 0, -XEND_ENOENT (err set) or another error. */
int xcb_getinfo(struct xcb_conn *h, uint32_t domid, xc_domaininfo_t *out, struct xend_err *err);
/* Xen's flags as xend's, with a crash told apart from other shutdowns. */
void xcb_dominfo_from(struct xcb_conn *h, const xc_domaininfo_t *x, struct xend_dominfo *out);

/* ---- xenstore (xs.c) ---- */

/* A path under the domain's home: /local/domain/D/<rel>; owned (free). */
char *xcb_dompath(uint32_t domid, const char *rel);
/* xs_read as a NUL-terminated string, owned (free), or NULL (errno set). */
char *xcb_xs_read(struct xs_handle *xsh, xs_transaction_t t, const char *path);
bool xcb_xs_printf(struct xs_handle *xsh, xs_transaction_t t, const char *path, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
/* Permissions: owner dom0 and `reader` may read (ro), or owned by `owner` (rw). */
bool xcb_xs_perm_ro(struct xs_handle *xsh, xs_transaction_t t, const char *path, uint32_t owner,
                    uint32_t reader);
bool xcb_xs_perm_own(struct xs_handle *xsh, xs_transaction_t t, const char *path, uint32_t owner);

/*
 * Run body in a xenstore transaction, again while xenstored says EAGAIN (someone else
 * committed first). body returns 0 or a negative XEND code with err set; `what` names the
 * change for the error message.
 */
typedef int xcb_txn_fn(struct xcb_conn *h, xs_transaction_t t, void *arg, struct xend_err *err);
int xcb_xs_txn(struct xcb_conn *h, const char *what, xcb_txn_fn *body, void *arg,
               struct xend_err *err);

/*
 * Wait until `ready(value, arg)` says yes for the node at path (value NULL while it does
 * not exist), watching it on a connection of its own, for at most ms milliseconds.
 * 0 when ready; -ETIMEDOUT, or -errno when xenstore fails. *last (if non-NULL) gets the
 * last value seen (owned, may be NULL).
 */
int xcb_xs_wait(struct xcb *c, const char *path, bool (*ready)(const char *value, void *arg),
                void *arg, long long ms, char **last);

/* ---- domains (build.c) ---- */

/* Create the domain shell (paused) and its xenstore home, a PV one or (pvh) an HVM container
 * for a PVH kernel; used by create and restore. */
int xcb_create(struct xcb_conn *h, const struct xend_dom_create *args, bool pvh, uint32_t *domid,
               struct xend_err *err);
/* Write console and store nodes and introduce the domain to xenstored. */
int xcb_introduce(struct xcb_conn *h, uint32_t domid, unsigned long store_mfn, unsigned store_port,
                  unsigned long console_mfn, unsigned console_port, struct xend_err *err);
/* Destroy a domain and remove what xend wrote to xenstore for it. */
int xcb_destroy(struct xcb_conn *h, uint32_t domid, struct xend_err *err);
int xcb_build(struct xcb_conn *h, uint32_t domid, const struct xend_dom_image *image,
              struct xend_err *err);

/* ---- PVH domains (pvh.c) ---- */

/* Does the config of the domain xend is creating under this name say (image (pvh ...))?
 * Loop thread only (it reads the core's domain table). */
bool xcb_config_wants_pvh(struct xcb *c, const char *name);
/* An HVM container with no emulation but the local APIC: what xcb_create makes for PVH. */
bool xcb_is_pvh(const xc_domaininfo_t *x);
/* Make cfg a PVH domain's (HVM container, HAP, local APIC only); refused without HAP. */
int xcb_pvh_config(struct xcb_conn *h, const xc_physinfo_t *pi, const char *name,
                   struct xen_domctl_createdomain *cfg, struct xend_err *err);
/* What a new PVH shell needs before it is built or restored: HAP's pool, the timer mode. */
int xcb_pvh_prepare(struct xcb_conn *h, uint32_t domid, uint64_t maxmem_kb, unsigned vcpus,
                    struct xend_err *err);
/* The HVM container's memory layout for mem_kb of RAM, before xc_dom_mem_init. */
void xcb_pvh_layout(struct xc_dom_image *dom, uint64_t mem_kb);
/* Write the MP table that tells the guest of its vcpus' local APICs (after
 * xc_dom_build_image, before xc_dom_boot_image). */
int xcb_pvh_mptable(struct xcb_conn *h, uint32_t domid, struct xc_dom_image *dom, unsigned vcpus,
                    struct xend_err *err);
/* Give Xen and the builder the guest's memory map (after xc_dom_boot_mem_init). */
int xcb_pvh_memmap(struct xcb_conn *h, uint32_t domid, struct xc_dom_image *dom,
                   struct xend_err *err);
/* Is the save stream at fd's current position an HVM container's (PVH)? Reads nothing
 * away: a file is read with pread, a socket peeked at. */
int xcb_stream_is_hvm(int fd, bool *hvm, struct xend_err *err);

/* ---- devices and consoles (devices.c) ---- */

int xcb_dev_attach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                   const struct xend_sxp *params, char *name, size_t name_len,
                   struct xend_err *err);
int xcb_dev_detach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                   struct xend_err *err);
int xcb_console_open(void *ctx, uint32_t domid, int *fd, struct xend_err *err);

/* ---- scheduler (sched.c) ---- */

int xcb_sched_set(void *ctx, uint32_t domid, const char *sched,
                  const struct xend_sched_value *values, size_t n, struct xend_err *err);
int xcb_sched_get(void *ctx, uint32_t domid, const char *sched, struct xend_sched_value *values,
                  size_t n, struct xend_err *err);
int xcb_sched_node_set(void *ctx, const char *sched, const struct xend_sched_value *values,
                       size_t n, struct xend_err *err);
/* Xen's scheduler name ("credit"), "unknown" for an id this file does not know. */
const char *xcb_sched_name(int sched_id);

/* ---- a restore's progress from its socket (inflow.c) ---- */

struct xcb_inflow {
    int fd;
    xend_progress_fn *progress;
    void *progress_arg;
    uint64_t base; /* the socket's count when the image began */
    bool running, stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

/* Report progress(bytes read from fd so far) once a second until stop, where fd is a TCP
 * socket and progress is set; otherwise do nothing. */
void xcb_inflow_start(struct xcb_inflow *f, int fd, xend_progress_fn *progress, void *progress_arg);
void xcb_inflow_stop(struct xcb_inflow *f);

/* ---- a live save's rounds (precopy.c) ---- */

/* One live save's pre-copy: owned by the save's frame, on its worker thread. */
struct xcb_precopy {
    struct xcb_conn *h;
    uint32_t domid;
    uint64_t guest_pages;              /* the pages the guest has, 0: unknown */
    const struct xend_save_args *args; /* borrowed for the save */
    uint32_t round;                    /* the round being sent, or last sent; 0 before */
    uint32_t reported;                 /* the last round told to the core */
    uint64_t round_pages;
    uint64_t round_start_ns, round_end_ns; /* CLOCK_MONOTONIC; end 0 while it runs */
    uint64_t paused_ns;                    /* when the guest was seen suspended, 0 before */
    uint64_t last_pages;                   /* the suspended round's pages */
};

void xcb_precopy_init(struct xcb_precopy *p, struct xcb_conn *h, uint32_t domid,
                      uint64_t guest_pages, const struct xend_save_args *args);
/* libxenguest's precopy_policy, for the save's callbacks: XGS_POLICY_*. */
int xcb_precopy_policy(struct xcb_precopy *p, struct precopy_stats st);
/* The guest suspended for the last round: the round before it is told. */
void xcb_precopy_suspended(struct xcb_precopy *p);
/* The save succeeded: the last round is told, with when the guest stopped. */
void xcb_precopy_end(struct xcb_precopy *p);

/* ---- save and restore (save.c) ---- */

int xcb_save(void *ctx, uint32_t domid, int fd, bool live, xend_progress_fn *progress,
             void *progress_arg, struct xend_err *err);
/* ABI 1.8: a save whose live rounds are told and bounded (precopy.c). */
int xcb_save_with(void *ctx, uint32_t domid, int fd, const struct xend_save_args *args,
                  struct xend_err *err);
int xcb_restore(void *ctx, int fd, const struct xend_dom_create *args, uint32_t *domid,
                xend_progress_fn *progress, void *progress_arg, struct xend_err *err);

#endif
