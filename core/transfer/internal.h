/*
 * What the parts of transfer/ share: the stream's format (stream.c) and the relocation
 * port's settings (relocation.c). Core-internal; transfer.h is the interface.
 */
#ifndef XEND_CORE_TRANSFER_INTERNAL_H
#define XEND_CORE_TRANSFER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <xend/abi.h>
#include <xend/backend.h>

#include "sxp.h"
#include "tls.h"
#include "transfer.h"

struct xend_domain;

#define XEND_IMAGE_MAGIC "XENDIMG1\n"
#define XEND_IMAGE_MAGIC_PARTIAL "XENDPART\n" /* a save file not yet complete; as long */
#define XEND_TRANSFER_IO_TIMEOUT_S 60

/* ---- stream.c: blocking, for workers ---- */
/* MAGIC LEN "\n" RECORD "\n": 0 or -1. */
int xend_transfer_write_header(int fd, const struct xend_sxp *record, const char *magic);
/*
 * Read a header; `first` is its first byte when the caller has read it already, else -1.
 * The record (owned) or NULL with err set. _any accepts a partial save's magic too and says
 * which it was in *complete; the other refuses it.
 */
struct xend_sxp *xend_transfer_read_header(int fd, int first, struct xend_err *err);
struct xend_sxp *xend_transfer_read_header_any(int fd, int first, bool *complete,
                                               struct xend_err *err);
/* A peer's answer line: `expect` (its argument, if any, into *value), or (err MSG) turned
 * into "destination: MSG". */
int xend_transfer_read_reply(int fd, const char *expect, long long *value, struct xend_err *err);

/* ---- control.c: cancel and rate limit of a running transfer ---- */
/*
 * A transfer is running until it is cancelled or decided, whichever comes first: decided is
 * the point after which its domain belongs to the file or the destination, and a cancel is
 * refused. Shared by the loop (cancel, decide) and the worker (step, inside the backend's
 * progress callback); the struct lives in the transfer's own state.
 */
enum { XEND_TRANSFER_RUNNING, XEND_TRANSFER_CANCELLED, XEND_TRANSFER_DECIDED };
struct xend_transfer_ctl {
    atomic_int state;
    atomic_ullong bytes; /* moved through fd so far, as last measured */
    uint64_t rate;       /* bytes a second; 0: as fast as it goes */
    int fd;
    bool counted; /* fd keeps a count of its bytes; else they are estimated from pages */
    uint64_t base, start_ns;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a pacing sleep ends on cancel */
    /* While listed (loop thread): the domain a cancel names, what runs on it, and what a
     * cancel after the decision answers. */
    struct xend_domain *dom;
    const char *op; /* "save", "migrate", "restore": a literal */
    char refusal[256];
    struct xend_transfer_ctl *next;
};
void xend_transfer_ctl_init(struct xend_transfer_ctl *c, uint64_t rate_bytes_s);
/* resource: 2.0's rate limit, in Mbit/s (xm's -r MBIT), as bytes a second; 0 or less:
 * none (0). */
static inline uint64_t xend_transfer_mbit_bytes(long long resource)
{
    return resource > 0 ? (uint64_t)resource * 1000000u / 8u : 0;
}
void xend_transfer_ctl_destroy(struct xend_transfer_ctl *c);
/* The image starts moving through fd: on the thread that moves it, or before its work is
 * queued (the guard of a receive measures from the loop). */
void xend_transfer_ctl_start(struct xend_transfer_ctl *c, int fd);
/* Any thread: the bytes through fd since the start (estimated from done pages where fd keeps
 * no count; done 0 then keeps the last estimate). */
uint64_t xend_transfer_ctl_measure(struct xend_transfer_ctl *c, uint64_t done);
struct xend_transfer_progress;
/*
 * Worker, the backend's progress callback: report to p unless NULL (the fd measured only
 * when a report is due or the rate needs it, not on every call: backends call it for every
 * record),
 * sleep as the rate asks (waking at once on cancel), then the verdict for the backend: 0,
 * or -XEND_ECANCELED.
 */
int xend_transfer_ctl_step(struct xend_transfer_ctl *c, struct xend_transfer_progress *p,
                           uint64_t done, uint64_t total);
/* Any thread: true when the transfer is (now) cancelled, false when it was decided. */
bool xend_transfer_ctl_cancel(struct xend_transfer_ctl *c);
/* true when the transfer is (now) decided, false when it was cancelled first. */
bool xend_transfer_ctl_decide(struct xend_transfer_ctl *c);
bool xend_transfer_ctl_cancelled(struct xend_transfer_ctl *c);
/* Loop thread: a cancel of dom finds c from now until it is unlisted (destroy unlists it);
 * after the decision it is refused with `refusal` (printf, copied). */
void xend_transfer_ctl_list(struct xend_transfer_ctl *c, struct xend_domain *dom, const char *op,
                            const char *refusal, ...) __attribute__((format(printf, 4, 5)));
/* Bytes through a file or TCP socket so far; -1 where the descriptor keeps no count. */
int64_t xend_transfer_fd_bytes(int fd);

/* ---- progress.c: the event xend.domain.progress ---- */
/*
 * What a transfer says of its progress: (NAME ID OP (done D) (total T) (percent P) (bytes B)
 * (bytes_per_s R)), done and total in the backend's units (pages, for sim and xenctrl),
 * bytes as moved through the file or socket. Reported from the worker; the event is emitted
 * on the loop at most once a second, and once at the end. A live save's rounds (ABI 1.8)
 * add, from the first round's end on, the last round ended: (round N) (round_pages P)
 * (round_bytes B) (round_ms T) (dirty_bytes_per_s R) (throttle_pct X), and (last 1) for the
 * stop-and-copy round; each round's end is reported at once and logged.
 */
struct xend_transfer_progress {
    char name[64];
    uint32_t domid;
    const char *op; /* "save", "migrate", "restore": a literal */
    uint64_t start_ns, last_ns;
    bool reported, finished;
    uint64_t done, total, bytes;  /* as last reported */
    struct xend_save_round round; /* the last round ended; round 0: none yet */
};
void xend_transfer_progress_init(struct xend_transfer_progress *p, const char *op, const char *name,
                                 uint32_t domid);
/* Worker thread: whether a report of done of total would be emitted now. */
bool xend_transfer_progress_due(const struct xend_transfer_progress *p, uint64_t done,
                                uint64_t total);
/* Worker thread: the backend's progress callback calls it (through xend_transfer_ctl_step)
 * with what it was given and the bytes moved so far. */
void xend_transfer_progress_report(struct xend_transfer_progress *p, uint64_t done, uint64_t total,
                                   uint64_t bytes);
/* Worker thread: a live save's round ended (the backend's report, copied). */
void xend_transfer_progress_round(struct xend_transfer_progress *p,
                                  const struct xend_save_round *round);

/* ---- loop thread ---- */
/* The domain of this xend whose store key is `key`, or NULL. */
struct xend_domain *xend_transfer_domain_by_key(const char *key);
/* The relocation port's settings (zeroes before xend_transfer_listen). */
const struct xend_transfer_options *xend_transfer_settings(void);
/* The relocation port's TLS identity and trust, or NULL when it speaks plain TCP. */
struct xend_tls *xend_transfer_tls(void);
/* Worker: connect to a peer's relocation port, over TLS when it is configured; *out is the
 * connection (xend_tls_conn_close) or a negative code with err set. */
int xend_transfer_connect(const char *host, const char *port, struct xend_tls_conn **out,
                          struct xend_err *err);
/* Stop asking: the doubts that wait go (their domains stay paused, their records marked,
 * for the next start). */
void xend_transfer_doubts_stop(void);
/* Receive from a connected peer (fd taken; peer its numeric address, borrowed). */
void xend_transfer_receive(int fd, const char *peer, xend_lifecycle_done_fn *done, void *arg);

#endif
