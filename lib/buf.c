/*
 * Growable buffers and allocation helpers that abort on failure (the ABI's OOM policy:
 * with request limits in place, running out of memory is exceptional, and aborting keeps
 * every caller free of untested recovery paths).
 */
#include "buf.h"

#include <stdbool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "xend: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xend_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *xend_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *xend_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *xend_xstrdup(const char *s)
{
    return xend_xstrndup(s, strlen(s));
}

char *xend_xstrndup(const char *s, size_t n)
{
    char *p = xend_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xend_xasprintf(const char *fmt, ...)
{
    struct xend_buf b = XEND_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    xend_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return xend_buf_steal(&b);
}

char *xend_buf_reserve(struct xend_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xend_xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void xend_buf_commit(struct xend_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

void xend_buf_append_slow(struct xend_buf *b, const void *data, size_t len)
{
    char *p = xend_buf_reserve(b, len);
    if (len)
        memcpy(p, data, len);
    xend_buf_commit(b, len);
}

void xend_buf_puts(struct xend_buf *b, const char *s)
{
    xend_buf_append(b, s, strlen(s));
}

static void put_digits(struct xend_buf *b, unsigned long long u, bool negative)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (negative)
        *--p = '-';
    xend_buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void xend_buf_put_int(struct xend_buf *b, long long value)
{
    put_digits(b, value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value,
               value < 0);
}

void xend_buf_put_uint(struct xend_buf *b, unsigned long long value)
{
    put_digits(b, value, false);
}

void xend_buf_vprintf(struct xend_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char *p = xend_buf_reserve(b, 64);
    int n = vsnprintf(p, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        p = xend_buf_reserve(b, (size_t)n);
        vsnprintf(p, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    if (n > 0)
        xend_buf_commit(b, (size_t)n);
}

void xend_buf_printf(struct xend_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xend_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void xend_buf_reset(struct xend_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *xend_buf_steal(struct xend_buf *b)
{
    char *s = b->data ? b->data : xend_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void xend_buf_free(struct xend_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *xend_buf_str(const struct xend_buf *b)
{
    return b->data ? b->data : "";
}
