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

int xend_transfer_listen(const char *address, int port, struct xend_err *err);
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
