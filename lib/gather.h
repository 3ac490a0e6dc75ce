/*
 * A body gathered from pieces: bytes borrowed from elsewhere (a domain's kept info text)
 * between bytes printed for it, written with one sendmsg instead of copied into one
 * buffer first (a list of ten thousand infos copied 5 MB for nothing). Or, in copy mode,
 * everything appended to one buffer, so that one printer serves both.
 *
 * Borrowed bytes must stay as they are until the gather is written or flattened; the
 * printed ones are in `printed` (owned by the gather unless it copies into the caller's).
 */
#ifndef XEND_LIB_GATHER_H
#define XEND_LIB_GATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "buf.h"

struct xend_gather_piece {
    const char *borrowed; /* NULL: printed[off, off + len) */
    size_t off, len;
};

struct xend_gather {
    struct xend_buf *printed; /* where printed bytes go */
    struct xend_buf own;      /* printed's storage unless copying into the caller's */
    bool copy;                /* borrowed bytes are appended to printed, no pieces */
    struct xend_gather_piece *v;
    size_t n, cap;
    size_t printed_done; /* printed bytes some piece already covers */
};

/* Pieces, printed bytes in the gather's own buffer. */
void xend_gather_init(struct xend_gather *g);
/* Copy mode: every byte appended to `out` (borrowed), no pieces. */
void xend_gather_init_copy(struct xend_gather *g, struct xend_buf *out);
/* Where to print the next bytes. */
static inline struct xend_buf *xend_gather_buf(struct xend_gather *g)
{
    return g->printed;
}
/* Bytes that stay where they are. Short ones are copied: a piece costs more than that. */
void xend_gather_borrow(struct xend_gather *g, const char *p, size_t len);
/* The pieces as iovecs (owned array, *n of them) and their total length; the gather must
 * not change while they are used. */
struct iovec *xend_gather_iov(struct xend_gather *g, size_t *n, size_t *total);
void xend_gather_free(struct xend_gather *g);

#endif
