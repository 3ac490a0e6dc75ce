/*
 * The relocation port: where another xend (or this one, for a local migration) sends a
 * domain (transfer.c). Save, restore and migrate themselves are lifecycle operations
 * declared in lifecycle.h.
 */
#ifndef XEND_CORE_TRANSFER_H
#define XEND_CORE_TRANSFER_H

#include <stdbool.h>

#include <xend/abi.h>

struct xend_domain;

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
