/*
 * A growable byte buffer, always NUL-terminated. Used by the SXP printer, the HTTP replies
 * and the clients. Allocation failure aborts.
 */
#ifndef XEND_LIB_BUF_H
#define XEND_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct xend_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
};

#define XEND_BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void xend_buf_append_slow(struct xend_buf *b, const void *data, size_t len);
/* Inline: the printers of large replies call these a few dozen times per domain. */
static inline void xend_buf_append(struct xend_buf *b, const void *data, size_t len)
{
    if (b->len + len < b->cap) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
    } else {
        xend_buf_append_slow(b, data, len);
    }
}
static inline void xend_buf_putc(struct xend_buf *b, char c)
{
    xend_buf_append(b, &c, 1);
}
void xend_buf_puts(struct xend_buf *b, const char *s);
/* A string literal, its length known when compiled: for the few places each reply passes
 * (an inline copy at every xend_buf_puts of a literal grew the daemon by 28 kB). */
#define xend_buf_put_lit(b, lit) xend_buf_append((b), "" lit, sizeof(lit) - 1)
/* Decimal, as %lld and %llu print it, without printf's cost. */
void xend_buf_put_int(struct xend_buf *b, long long value);
void xend_buf_put_uint(struct xend_buf *b, unsigned long long value);
void xend_buf_printf(struct xend_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void xend_buf_vprintf(struct xend_buf *b, const char *fmt, va_list ap);
/* Make room for n more bytes; returns where they go (commit with xend_buf_commit). */
char *xend_buf_reserve(struct xend_buf *b, size_t n);
void xend_buf_commit(struct xend_buf *b, size_t n);
void xend_buf_reset(struct xend_buf *b); /* length 0, keeps the memory */
/* Hand the string to the caller (owned, libc free); the buffer is empty afterwards. */
char *xend_buf_steal(struct xend_buf *b);
void xend_buf_free(struct xend_buf *b);
/* The contents as a string ("" when empty); borrowed. */
const char *xend_buf_str(const struct xend_buf *b);

/* Allocation helpers that abort on failure (the ABI's OOM policy). */
void *xend_xmalloc(size_t n);
void *xend_xcalloc(size_t n, size_t size);
void *xend_xrealloc(void *p, size_t n);
char *xend_xstrdup(const char *s);
char *xend_xstrndup(const char *s, size_t n);
char *xend_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
