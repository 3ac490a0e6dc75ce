/*
 * Request arguments: percent-decoding, application/x-www-form-urlencoded and a bounded
 * multipart/form-data splitter (RFC 7578).
 *
 * libevhtp's own query parsing neither decodes nor validates (a libevhtp trap) and
 * it has no multipart support (trap 7), so all of it is here. Everything works on
 * (pointer, length) input that may hold NULs and is never trusted: no read past len, and
 * a malformed escape is an error, never a guess.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"
#include "hex.h"

void xend_http_args_free(struct xend_http_args *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].name);
        free(a->v[i].value);
    }
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

void xend_http_args_add(struct xend_http_args *a, const char *name, const char *value, size_t len,
                        bool from_url, bool is_file)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = xend_xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    struct xend_http_arg *arg = &a->v[a->n++];
    arg->name = xend_xstrdup(name);
    arg->value = xend_xmalloc(len + 1);
    if (len > 0)
        memcpy(arg->value, value, len);
    arg->value[len] = '\0';
    arg->len = len;
    arg->from_url = from_url;
    arg->is_file = is_file;
}

const struct xend_http_arg *xend_http_args_find(const struct xend_http_args *a, const char *name,
                                                size_t *count)
{
    const struct xend_http_arg *first = NULL;
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].name, name) == 0) {
            if (first == NULL)
                first = &a->v[i];
            n++;
        }
    }
    if (count != NULL)
        *count = n;
    return first;
}

int xend_http_unescape(const char *text, size_t len, bool plus_is_space, struct xend_buf *out,
                       struct xend_err *err)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '%') {
            int hi = i + 1 < len ? xend_hex_value(text[i + 1]) : -1;
            int lo = i + 2 < len ? xend_hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return xend_err_set(err, XEND_EINVAL, "Malformed percent escape at offset %zu", i);
            xend_buf_putc(out, (char)(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            xend_buf_putc(out, ' ');
        } else {
            xend_buf_putc(out, (char)c);
        }
    }
    return 0;
}

int xend_http_parse_urlencoded(const char *text, size_t len, bool from_url,
                               struct xend_http_args *args, struct xend_err *err)
{
    struct xend_buf name = XEND_BUF_INIT, value = XEND_BUF_INIT;
    int rc = 0;
    size_t i = 0;

    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '&' && text[end] != ';')
            end++;
        if (end > i) {
            const char *eq = memchr(text + i, '=', end - i);
            size_t nlen = eq ? (size_t)(eq - (text + i)) : end - i;
            xend_buf_reset(&name);
            xend_buf_reset(&value);
            rc = xend_http_unescape(text + i, nlen, true, &name, err);
            if (rc == 0 && eq != NULL)
                rc = xend_http_unescape(eq + 1, (size_t)(text + end - (eq + 1)), true, &value, err);
            if (rc < 0)
                goto out;
            /* A name is a C string to every handler: a NUL inside (raw or %00) would let
             * "op%00x" pass as "op". */
            if (memchr(xend_buf_str(&name), '\0', name.len) != NULL) {
                rc = xend_err_set(err, XEND_EINVAL, "NUL character in a parameter name");
                goto out;
            }
            /* A pair with an empty name carries nothing a handler could ask for. */
            if (name.len > 0)
                xend_http_args_add(args, xend_buf_str(&name), xend_buf_str(&value), value.len,
                                   from_url, false);
        }
        i = end + 1;
    }
out:
    xend_buf_free(&name);
    xend_buf_free(&value);
    return rc;
}

/* Find the value of parameter `param` (case-insensitive) in a header value of the form
 * `type; a=b; c="d"`; copies it unquoted into out. True when found and it fits. */
static bool header_param(const char *hv, const char *param, char *out, size_t out_len)
{
    size_t plen = strlen(param);
    const char *p = strchr(hv, ';');
    while (p != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, param, plen) == 0 && p[plen] == '=') {
            const char *v = p + plen + 1;
            size_t n = 0;
            if (*v == '"') {
                v++;
                while (v[n] != '\0' && v[n] != '"')
                    n++;
                if (v[n] != '"')
                    return false;
            } else {
                while (v[n] != '\0' && v[n] != ';' && v[n] != ' ' && v[n] != '\t')
                    n++;
            }
            if (n + 1 > out_len)
                return false;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        /* Skip to the next ';' outside quotes. */
        bool quoted = false;
        while (*p != '\0' && (quoted || *p != ';')) {
            if (*p == '"')
                quoted = !quoted;
            p++;
        }
        p = *p == ';' ? p : NULL;
    }
    return false;
}

int xend_http_multipart_boundary(const char *content_type, char *out, size_t out_len,
                                 struct xend_err *err)
{
    char b[72];
    if (!header_param(content_type, "boundary", b, sizeof(b)) || b[0] == '\0' || strlen(b) > 70)
        return xend_err_set(err, XEND_EINVAL, "Malformed multipart boundary");
    if (strlen(b) + 1 > out_len)
        return xend_err_set(err, XEND_EINVAL, "Malformed multipart boundary");
    strcpy(out, b);
    return 0;
}

/* memmem for a delimiter "--B" that sits where RFC 7578 or the 2.0 client put one: at the
 * start, after a line end, or (the client's file parts) straight after content, and is
 * followed by "--", white space or a line end. */
static const char *find_delim(const char *p, const char *end, const char *delim, size_t dlen)
{
    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), delim, dlen);
        if (hit == NULL)
            return NULL;
        const char *after = hit + dlen;
        if (after == end || *after == '-' || *after == '\r' || *after == '\n' || *after == ' ' ||
            *after == '\t')
            return hit;
        p = hit + 1;
    }
    return NULL;
}

/* The end of the line starting at p (pointing past its LF), or NULL. */
static const char *next_line(const char *p, const char *end)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    return lf ? lf + 1 : NULL;
}

/* Parse the part headers in [p, hend); fills name and whether it has a filename. */
static int part_headers(const char *p, const char *hend, struct xend_buf *name, bool *is_file,
                        struct xend_err *err)
{
    *is_file = false;
    while (p < hend) {
        const char *le = memchr(p, '\n', (size_t)(hend - p));
        const char *lend = le ? le : hend;
        size_t n = (size_t)(lend - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        static const char cd[] = "content-disposition:";
        if (n > sizeof(cd) - 1 && strncasecmp(p, cd, sizeof(cd) - 1) == 0) {
            char line[1024];
            if (n >= sizeof(line))
                return xend_err_set(err, XEND_EINVAL, "Multipart header too long");
            memcpy(line, p, n);
            line[n] = '\0';
            if (memchr(p, '\0', n) != NULL)
                return xend_err_set(err, XEND_EINVAL, "Malformed multipart header");
            char val[1024], fname[1024];
            if (header_param(line, "name", val, sizeof(val))) {
                xend_buf_reset(name);
                xend_buf_puts(name, val);
            }
            if (header_param(line, "filename", fname, sizeof(fname)))
                *is_file = true;
        }
        p = le ? le + 1 : hend;
    }
    return 0;
}

int xend_http_parse_multipart(const char *body, size_t len, const char *boundary, size_t max_parts,
                              struct xend_http_args *args, struct xend_err *err)
{
    const char *end = body + len;
    char delim[80];
    size_t dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
    struct xend_buf name = XEND_BUF_INIT;
    size_t parts = 0;
    int rc = 0;

    /* The first delimiter: at the start or at the start of a line (after a preamble). */
    const char *d = NULL;
    for (const char *p = body; p != NULL && p < end; p = next_line(p, end)) {
        if ((size_t)(end - p) >= dlen && memcmp(p, delim, dlen) == 0) {
            d = p;
            break;
        }
    }
    if (d == NULL) {
        rc = xend_err_set(err, XEND_EINVAL, "Malformed multipart body: no boundary");
        goto out;
    }

    for (;;) {
        const char *p = d + dlen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break; /* the closing delimiter */
        /* Transport padding, then the line end that ends the delimiter line. */
        p = next_line(p, end);
        if (p == NULL)
            break; /* a delimiter with nothing after it: treat as the end */
        /* Headers end at an empty line (CRLF CRLF, or bare LFs). */
        const char *hstart = p, *hend = NULL, *cstart = NULL;
        while (p < end) {
            const char *lend = next_line(p, end);
            size_t n = (size_t)((lend ? lend : end) - p);
            if ((n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' && p[1] == '\n')) {
                hend = p;
                cstart = lend;
                break;
            }
            if (lend == NULL)
                break;
            p = lend;
        }
        if (hend == NULL) {
            rc = xend_err_set(err, XEND_EINVAL,
                              "Malformed multipart body: unterminated part "
                              "headers");
            goto out;
        }
        bool is_file;
        xend_buf_reset(&name);
        rc = part_headers(hstart, hend, &name, &is_file, err);
        if (rc < 0)
            goto out;

        const char *next = find_delim(cstart, end, delim, dlen);
        const char *cend = next ? next : end;
        /* The line end before the delimiter belongs to it, if there is one (the 2.0
         * client's file parts have none). A body cut short loses one trailing line end. */
        if (cend > cstart && cend[-1] == '\n') {
            cend--;
            if (cend > cstart && cend[-1] == '\r')
                cend--;
        }
        if (++parts > max_parts) {
            rc = xend_err_set(err, XEND_ELIMIT, "Too many multipart parts (limit %zu)", max_parts);
            goto out;
        }
        if (name.len > 0)
            xend_http_args_add(args, xend_buf_str(&name), cstart, (size_t)(cend - cstart), false,
                               is_file);
        if (next == NULL)
            break; /* no closing delimiter: accept what came (a truncated client) */
        d = next;
    }
out:
    xend_buf_free(&name);
    return rc;
}
