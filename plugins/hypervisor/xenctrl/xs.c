/*
 * xenstore helpers of the xenctrl backend: paths, reads as strings, permissions the way
 * libxl sets them, transactions retried on EAGAIN, and waiting for a node with a deadline.
 *
 * Waits use a xenstore connection of their own (c->xsw): watch events on the main
 * connection stand for "a domain changed" (the @releaseDomain stand-in for VIRQ_DOM_EXC),
 * and a wait must never swallow one of those.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xc_priv.h"

#define XCB_TXN_TRIES 32

char *xcb_dompath(uint32_t domid, const char *rel)
{
    char *p = NULL;
    if (asprintf(&p, "/local/domain/%u%s%s", domid, rel && *rel ? "/" : "", rel ? rel : "") < 0)
        abort(); /* the ABI's OOM policy */
    return p;
}

char *xcb_xs_read(struct xs_handle *xsh, xs_transaction_t t, const char *path)
{
    unsigned int len = 0;
    char *v = xs_read(xsh, t, path, &len);
    if (v == NULL)
        return NULL;
    /* xs_read NUL-terminates, but a value may hold a NUL of its own: cut there. */
    char *s = strndup(v, len);
    free(v);
    if (s == NULL)
        abort();
    return s;
}

bool xcb_xs_printf(struct xs_handle *xsh, xs_transaction_t t, const char *path, const char *fmt,
                   ...)
{
    char *v = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&v, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    bool ok = xs_write(xsh, t, path, v, (unsigned int)n);
    int e = errno;
    free(v);
    errno = e;
    return ok;
}

bool xcb_xs_perm_ro(struct xs_handle *xsh, xs_transaction_t t, const char *path, uint32_t owner,
                    uint32_t reader)
{
    struct xs_permissions p[2] = {{.id = owner, .perms = XS_PERM_NONE},
                                  {.id = reader, .perms = XS_PERM_READ}};
    return xs_set_permissions(xsh, t, path, p, owner == reader ? 1 : 2);
}

bool xcb_xs_perm_own(struct xs_handle *xsh, xs_transaction_t t, const char *path, uint32_t owner)
{
    struct xs_permissions p[1] = {{.id = owner, .perms = XS_PERM_NONE}};
    return xs_set_permissions(xsh, t, path, p, 1);
}

int xcb_xs_txn(struct xcb_conn *h, const char *what, xcb_txn_fn *body, void *arg,
               struct xend_err *err)
{
    for (int i = 0; i < XCB_TXN_TRIES; i++) {
        xs_transaction_t t = xs_transaction_start(h->xsh);
        if (t == XBT_NULL)
            return xcb_fail(h, err, errno, "xenstore: cannot start a transaction to %s", what);
        struct xend_err inner = {0};
        int rc = body(h, t, arg, &inner);
        if (rc < 0) {
            xs_transaction_end(h->xsh, t, true);
            return xend_err_set(err, inner.code, "%s", xend_err_msg(&inner));
        }
        if (xs_transaction_end(h->xsh, t, false))
            return 0;
        if (errno != EAGAIN)
            return xcb_fail(h, err, errno, "xenstore: cannot %s", what);
    }
    return xend_err_set(err, XEND_EBUSY, "xenstore: cannot %s: still conflicting after %d tries",
                        what, XCB_TXN_TRIES);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xcb_xs_wait(struct xcb *c, const char *path, bool (*ready)(const char *value, void *arg),
                void *arg, long long ms, char **last)
{
    if (last)
        *last = NULL;
    if (c->xsw == NULL && (c->xsw = xs_open(0)) == NULL)
        return errno ? -errno : -EIO;
    static const char token[] = "xend-wait";
    if (!xs_watch(c->xsw, path, token))
        return errno ? -errno : -EIO;
    int fd = xs_fileno(c->xsw);
    long long deadline = now_ms() + ms;
    int rc = -ETIMEDOUT;
    char *value = NULL;
    for (;;) {
        /* Read first: the node may be there already, and a watch fires once at once. */
        free(value);
        value = xcb_xs_read(c->xsw, XBT_NULL, path);
        if (ready(value, arg)) {
            rc = 0;
            break;
        }
        long long left = deadline - now_ms();
        if (left <= 0 || fd < 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        char **ev;
        while ((ev = xs_check_watch(c->xsw)) != NULL)
            free(ev);
    }
    xs_unwatch(c->xsw, path, token);
    char **ev;
    while ((ev = xs_check_watch(c->xsw)) != NULL)
        free(ev);
    if (last)
        *last = value;
    else
        free(value);
    return rc;
}
