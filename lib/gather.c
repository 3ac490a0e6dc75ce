#include "gather.h"

#include <stdlib.h>
#include <string.h>

/* Below this a borrowed piece is copied: the kernel's and our cost per piece exceed it. */
#define BORROW_MIN 256

void xend_gather_init(struct xend_gather *g)
{
    *g = (struct xend_gather){.own = XEND_BUF_INIT};
    g->printed = &g->own;
}

void xend_gather_init_copy(struct xend_gather *g, struct xend_buf *out)
{
    *g = (struct xend_gather){.own = XEND_BUF_INIT, .copy = true, .printed = out};
}

static void add_piece(struct xend_gather *g, const char *borrowed, size_t off, size_t len)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 256;
        g->v = xend_xrealloc(g->v, g->cap * sizeof(*g->v));
    }
    g->v[g->n++] = (struct xend_gather_piece){borrowed, off, len};
}

/* A piece for what was printed since the last one. */
static void close_printed(struct xend_gather *g)
{
    size_t len = g->printed->len - g->printed_done;
    if (len == 0)
        return;
    add_piece(g, NULL, g->printed_done, len);
    g->printed_done = g->printed->len;
}

void xend_gather_borrow(struct xend_gather *g, const char *p, size_t len)
{
    if (g->copy || len < BORROW_MIN) {
        xend_buf_append(g->printed, p, len);
        return;
    }
    close_printed(g);
    add_piece(g, p, 0, len);
}

struct iovec *xend_gather_iov(struct xend_gather *g, size_t *n, size_t *total)
{
    close_printed(g);
    struct iovec *iov = xend_xmalloc((g->n ? g->n : 1) * sizeof(*iov));
    size_t sum = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct xend_gather_piece *pc = &g->v[i];
        iov[i].iov_base = (void *)(pc->borrowed ? pc->borrowed : g->printed->data + pc->off);
        iov[i].iov_len = pc->len;
        sum += pc->len;
    }
    *n = g->n;
    *total = sum;
    return iov;
}

void xend_gather_free(struct xend_gather *g)
{
    free(g->v);
    xend_buf_free(&g->own);
    g->v = NULL;
    g->n = g->cap = 0;
}
