/*
 * Save, restore and migration (core/transfer/): a domain's record and its memory image as
 * one stream, to a file or to another xend's relocation port, and the relocation port
 * itself. The image moves on a worker thread; everything else runs on the loop through the
 * lifecycle's own steps (lifecycle/lifecycle_internal.h). Migration is a two-phase hand-over in
 * which the sender decides (handover.h); docs/durability.md has the protocol and what a
 * crash at each step leaves.
 *
 *   stream.c      the header of a save file and of a migration stream
 *   send.c        save and migrate: the sending side
 *   receive.c     restore and the receiving side of a migration, with its watchdog
 *   doubt.c       a received domain whose sender's decision is unknown
 *   relocation.c  the listener and who it admits
 *   control.c     cancel and rate limit of a running transfer, in the backend's callback;
 *                 the transfers a cancel finds by domain
 *   progress.c    the progress event
 */
#ifndef XEND_CORE_TRANSFER_H
#define XEND_CORE_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>

#include <xend/abi.h>

#include "lifecycle.h"
#include "tls.h"

struct xend_domain;

/*
 * Restore a domain from a save file (written by xend_transfer_save): created from the config
 * recorded in the file, devices and hooks as for create, left paused. resource: a rate
 * limit in Mbit/s (0: none), as for save.
 */
void xend_transfer_restore(const char *path, long long resource, xend_lifecycle_done_fn *done,
                           void *arg);
/* Save to path (absolute; never over an existing file); the domain is gone afterwards.
 * resource: a rate limit in Mbit/s (0: none), as for migrate. */
void xend_transfer_save(struct xend_domain *dom, const char *path, long long resource,
                        xend_lifecycle_done_fn *done, void *arg);
/* Where a migrated domain went: the destination as dialled (its relocation host and port,
 * the host without IPv6 brackets) and the domain's id there. Borrowed for the callback. */
struct xend_transfer_migrated {
    const char *host;
    const char *port;
    long long id;
};
/* Done callback of a migration: where is NULL unless rc is 0 (the domain is the
 * destination's); on an error the domain stays here, as it was. */
typedef void xend_transfer_migrated_fn(int rc, const struct xend_err *err,
                                       const struct xend_transfer_migrated *where, void *arg);
/* Migrate to another xend at host[:port] (its relocation port; this host's own port when
 * none is given, as in 2.0), at most `resource` Mbit/s (2.0's name; 0: no limit). */
void xend_transfer_migrate(struct xend_domain *dom, const char *destination, bool live,
                           long long resource, xend_transfer_migrated_fn *done, void *arg);
/*
 * Cancel dom's running save, migration or restore: it ends with -XEND_ECANCELED, the domain
 * as it was (a restore's is gone, its file untouched). 0 when asked; -XEND_EINVAL when none
 * runs; -XEND_EBUSY once it passed its decision point (the file is complete, the
 * destination holds the domain, the restored image is whole).
 */
int xend_transfer_cancel(struct xend_domain *dom, struct xend_err *err);

/* A live migration's bounds (docs/config.md: migration-max-rounds, migration-max-last-round),
 * for a backend that takes them (ABI 1.8 save_with); 0: the backend's own. */
void xend_transfer_set_live_bounds(unsigned max_rounds, uint64_t max_last_kb);

/* A destination without a port: this host's own relocation port, as in 2.0, or this when
 * it has none. */
#define XEND_RELOCATION_DEFAULT_PORT "8002"

/* Who may send domains here, and how long they may take (docs/config.md). */
struct xend_transfer_options {
    const char *address; /* NULL or "" = every address */
    int port;
    /* Space-separated extended regular expressions, matched (case-blind) against a peer's
     * numeric address, and against "localhost" for a loopback peer; "" admits every peer;
     * NULL is XEND_RELOCATION_HOSTS_ALLOW. Borrowed for the call. */
    const char *hosts_allow;
    int header_timeout_s;   /* the whole header, from the accept (0: 10) */
    int transfer_timeout_s; /* the whole receive, from the accept (0: 3600) */
    int min_rate_kb;        /* KiB/s the image must keep up over each 10 s (0: none) */
    /* Mutual TLS for every relocation connection, both ways; NULL: plain TCP. Borrowed. */
    const struct xend_tls_options *tls;
};
#define XEND_RELOCATION_HOSTS_ALLOW "^localhost$ ^127\\. ^::1$"

int xend_transfer_listen(const struct xend_transfer_options *opt, struct xend_err *err);
void xend_transfer_stop(void);

/*
 * A domain migrated in from another host whose sender's decision this xend has not heard
 * (the connection broke, or xend restarted, after it answered (received)): keep it paused,
 * say so in its info, and ask the sender's relocation port host:port about src_key until it
 * answers; then take it over (running on if `unpause`) or, if the sender kept it, drop the
 * copy. dom is borrowed; the question follows its key, so an operator may destroy it.
 */
void xend_transfer_doubt(struct xend_domain *dom, const char *host, const char *port,
                         const char *src_key, bool unpause);

/*
 * At start, for a record that a save marked (transfer (file PATH) (token T)): true when
 * PATH holds this save's complete image (the file is the domain now); false otherwise, in
 * which case an incomplete file of this save is removed. Reads the file on the calling
 * (loop) thread.
 */
bool xend_transfer_settle_save(const char *path, const char *token);

#endif
