/*
 * HTTP/1.1 client for xm (see http.h).
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define HTTP_CONNECT_TIMEOUT_MS 10000
#define HTTP_READ_CHUNK 65536

static int copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static int endpoint_set_root(struct xm_endpoint *ep, const char *root, size_t len)
{
    /* The 2.0 client appended a '/' to XEND_ROOT when missing; a leading one is needed too. */
    size_t need = len + 2 + (len == 0 || root[0] != '/');
    if (need > sizeof(ep->root))
        return -1;
    char *p = ep->root;
    if (len == 0 || root[0] != '/')
        *p++ = '/';
    memcpy(p, root, len);
    p += len;
    if (p[-1] != '/')
        *p++ = '/';
    *p = '\0';
    return 0;
}

int xm_endpoint_parse(const char *spec, const char *root, struct xm_endpoint *ep,
                      struct xend_err *err)
{
    memset(ep, 0, sizeof(*ep));
    if (root == NULL || root[0] == '\0')
        root = "/xend/";
    if (endpoint_set_root(ep, root, strlen(root)) < 0)
        return xend_err_set(err, XEND_EINVAL, "invalid xend root: %s", root);
    if (spec == NULL || spec[0] == '\0')
        spec = "localhost:8000";

    if (strncmp(spec, "unix:", 5) == 0) {
        const char *path = spec + 5;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        if (path[0] == '\0' ||
            copy_field(ep->unix_path, sizeof(ep->unix_path), path, strlen(path)) < 0)
            return xend_err_set(err, XEND_EINVAL, "invalid xend address: %s", spec);
        ep->is_unix = true;
        return 0;
    }

    const char *s = spec;
    bool url = false;
    if (strncasecmp(s, "http://", 7) == 0) {
        s += 7;
        url = true;
    } else if (strncasecmp(s, "https://", 8) == 0) {
        s += 8;
        url = true;
        ep->tls = true;
    }
    size_t hp_len = url ? strcspn(s, "/") : strlen(s);
    const char *path = s + hp_len;
    const char *host = s;
    size_t host_len;
    const char *port = NULL;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', hp_len);
        if (close == NULL)
            return xend_err_set(err, XEND_EINVAL, "invalid xend address: %s", spec);
        host = s + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < s + hp_len) {
            if (close[1] != ':')
                return xend_err_set(err, XEND_EINVAL, "invalid xend address: %s", spec);
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', hp_len);
        /* Several colons and no brackets: a bare IPv6 address, default port. */
        if (colon != NULL && memchr(colon + 1, ':', (size_t)(s + hp_len - colon - 1)) == NULL) {
            host_len = (size_t)(colon - s);
            port = colon + 1;
        } else {
            host_len = hp_len;
        }
    }
    if (host_len == 0) {
        host = "localhost";
        host_len = strlen(host);
    }
    size_t port_len = port != NULL ? (size_t)(s + hp_len - port) : 0;
    char portbuf[16];
    if (port == NULL) {
        strcpy(portbuf, ep->tls ? "8443" : "8000");
    } else if (copy_field(portbuf, sizeof(portbuf), port, port_len) < 0 || !all_digits(portbuf) ||
               strtol(portbuf, NULL, 10) < 1 || strtol(portbuf, NULL, 10) > 65535) {
        return xend_err_set(err, XEND_EINVAL, "invalid xend address: %s", spec);
    }
    if (copy_field(ep->host, sizeof(ep->host), host, host_len) < 0)
        return xend_err_set(err, XEND_EINVAL, "invalid xend address: %s", spec);
    strcpy(ep->port, portbuf);
    if (url && path[0] != '\0' && strcmp(path, "/") != 0 &&
        endpoint_set_root(ep, path, strlen(path)) < 0)
        return xend_err_set(err, XEND_EINVAL, "invalid xend root: %s", path);
    return 0;
}

static void response_clear(struct xm_http_response *resp)
{
    free(resp->reason);
    free(resp->content_type);
    resp->reason = NULL;
    resp->content_type = NULL;
    resp->status = 0;
    xend_buf_reset(&resp->body);
}

void xm_http_response_free(struct xm_http_response *resp)
{
    response_clear(resp);
    xend_buf_free(&resp->body);
}

/* Find the end of the header block: returns the offset of the body, or 0 when absent. */
static size_t header_end(const char *data, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (data[i] != '\n')
            continue;
        if (data[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* The next line in [p, end): its length without CR LF; *next past it. False if no LF. */
static bool next_line(const char *p, const char *end, size_t *line_len, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
        return false;
    size_t n = (size_t)(nl - p);
    if (n > 0 && p[n - 1] == '\r')
        n--;
    *line_len = n;
    *next = nl + 1;
    return true;
}

static char *trimmed_dup(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return xend_xstrndup(s, n);
}

struct http_framing {
    bool chunked;
    bool has_length;
    unsigned long long length;
};

static int parse_head(const char *data, size_t hdr_len, struct xm_http_response *resp,
                      struct http_framing *fr, struct xend_err *err)
{
    const char *p = data, *end = data + hdr_len, *next;
    size_t n;
    if (!next_line(p, end, &n, &next) || n < 12 || strncmp(p, "HTTP/", 5) != 0)
        return xend_err_set(err, XEND_EINVAL, "invalid reply from xend: bad status line");
    const char *sp = memchr(p, ' ', n);
    if (sp == NULL || (size_t)(p + n - sp) < 4 || !isdigit((unsigned char)sp[1]) ||
        !isdigit((unsigned char)sp[2]) || !isdigit((unsigned char)sp[3]))
        return xend_err_set(err, XEND_EINVAL, "invalid reply from xend: bad status line");
    resp->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    const char *reason = sp + 4;
    resp->reason = trimmed_dup(reason, (size_t)(p + n - reason));
    memset(fr, 0, sizeof(*fr));
    for (p = next; p < end && next_line(p, end, &n, &next); p = next) {
        if (n == 0)
            break;
        const char *colon = memchr(p, ':', n);
        if (colon == NULL)
            continue;
        size_t name_len = (size_t)(colon - p);
        const char *val = colon + 1;
        size_t val_len = (size_t)(p + n - val);
        if (name_len == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
            free(resp->content_type);
            resp->content_type = trimmed_dup(val, val_len);
        } else if (name_len == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            char *v = trimmed_dup(val, val_len);
            char *e;
            errno = 0;
            fr->length = strtoull(v, &e, 10);
            bool ok = v[0] != '\0' && *e == '\0' && errno == 0 && v[0] != '-';
            free(v);
            if (!ok)
                return xend_err_set(err, XEND_EINVAL, "invalid reply from xend: bad length");
            fr->has_length = true;
        } else if (name_len == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
            char *v = trimmed_dup(val, val_len);
            fr->chunked = strcasestr(v, "chunked") != NULL;
            free(v);
        }
    }
    return 0;
}

/* Decode a chunked body into resp->body: 1 complete, 0 need more, <0 malformed. */
static int decode_chunked(const char *p, const char *end, bool eof, struct xm_http_response *resp,
                          struct xend_err *err)
{
    const char *next;
    size_t n;
    for (;;) {
        if (!next_line(p, end, &n, &next))
            return eof ? xend_err_set(err, XEND_EINVAL, "invalid reply from xend: truncated") : 0;
        char *e;
        unsigned long long size = strtoull(p, &e, 16);
        if (e == p || (e < p + n && *e != ';' && *e != ' ' && *e != '\t'))
            return xend_err_set(err, XEND_EINVAL, "invalid reply from xend: bad chunk");
        p = next;
        if (size == 0) {
            /* Trailers up to an empty line; a peer that closes right after 0 is fine. */
            while (next_line(p, end, &n, &next)) {
                if (n == 0)
                    return 1;
                p = next;
            }
            return eof ? 1 : 0;
        }
        if ((unsigned long long)(end - p) < size)
            return eof ? xend_err_set(err, XEND_EINVAL, "invalid reply from xend: truncated") : 0;
        xend_buf_append(&resp->body, p, (size_t)size);
        p += size;
        if (!next_line(p, end, &n, &next))
            return eof ? xend_err_set(err, XEND_EINVAL, "invalid reply from xend: truncated") : 0;
        p = next;
    }
}

int xm_http_parse_response(const char *data, size_t len, bool eof, struct xm_http_response *resp,
                           struct xend_err *err)
{
    for (;;) {
        response_clear(resp);
        size_t body = header_end(data, len);
        if (body == 0) {
            if (!eof)
                return 0;
            return xend_err_set(err, XEND_EINVAL,
                                len == 0 ? "xend closed the connection without a reply"
                                         : "invalid reply from xend: truncated");
        }
        struct http_framing fr;
        int rc = parse_head(data, body, resp, &fr, err);
        if (rc < 0)
            return rc;
        if (resp->status >= 100 && resp->status < 200) {
            /* An interim reply (100 Continue): the real one follows. */
            data += body;
            len -= body;
            continue;
        }
        if (resp->status == 204 || resp->status == 304)
            return 1;
        const char *p = data + body, *end = data + len;
        if (fr.chunked)
            return decode_chunked(p, end, eof, resp, err);
        if (fr.has_length) {
            if ((unsigned long long)(end - p) < fr.length)
                return eof ? xend_err_set(err, XEND_EINVAL, "invalid reply from xend: truncated")
                           : 0;
            xend_buf_append(&resp->body, p, (size_t)fr.length);
            return 1;
        }
        if (!eof)
            return 0;
        xend_buf_append(&resp->body, p, (size_t)(end - p));
        return 1;
    }
}

void xm_http_put_common_headers(const struct xm_endpoint *ep, struct xend_buf *out)
{
    if (ep->is_unix)
        xend_buf_puts(out, "Host: localhost\r\n");
    else if (strchr(ep->host, ':') != NULL)
        xend_buf_printf(out, "Host: [%s]:%s\r\n", ep->host, ep->port);
    else
        xend_buf_printf(out, "Host: %s:%s\r\n", ep->host, ep->port);
    /* Never in clear: a token on plain http would be readable on the way (xend refuses
     * it there anyway). */
    if (ep->tls && ep->token != NULL && ep->token[0] != '\0')
        xend_buf_printf(out, "Authorization: Bearer %s\r\n", ep->token);
}

static void build_request(const struct xm_endpoint *ep, const struct xm_http_request *req,
                          struct xend_buf *out)
{
    xend_buf_printf(out, "%s %s HTTP/1.1\r\n", req->method, req->target);
    xm_http_put_common_headers(ep, out);
    xend_buf_puts(out, "Accept-Encoding: identity\r\n");
    xend_buf_puts(out, "Connection: close\r\n");
    if (req->content_type != NULL)
        xend_buf_printf(out, "Content-Type: %s\r\n", req->content_type);
    if (req->body != NULL || strcmp(req->method, "POST") == 0)
        xend_buf_printf(out, "Content-Length: %zu\r\n", req->body_len);
    xend_buf_puts(out, "\r\n");
    if (req->body != NULL)
        xend_buf_append(out, req->body, req->body_len);
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int xm_conn_open(const struct xm_endpoint *ep, int timeout_ms, struct xm_conn *c,
                 bool *transport_failed, struct xend_err *err)
{
    *c = (struct xm_conn){.fd = -1, .tls = NULL};
    *transport_failed = false;
    int fd =
        xm_net_connect(ep->host, ep->port, ep->is_unix ? ep->unix_path : NULL, timeout_ms, err);
    if (fd < 0) {
        *transport_failed = true;
        return fd;
    }
    int rc = ep->tls ? xm_tls_open(fd, ep->host, &ep->tls_opt, timeout_ms, &c->tls, err) : 0;
    if (rc < 0) {
        close(fd); /* xend is there: a TLS failure is no "is xend running?" */
        return rc;
    }
    c->fd = fd;
    return 0;
}

int xm_conn_write_all(struct xm_conn *c, const char *data, size_t len)
{
    return c->tls ? xm_tls_write_all(c->tls, data, len) : send_all(c->fd, data, len);
}

bool xm_conn_pending(struct xm_conn *c)
{
    return c->tls != NULL && xm_tls_pending(c->tls);
}

ssize_t xm_conn_read(struct xm_conn *c, char *buf, size_t len)
{
    if (c->tls)
        return xm_tls_read(c->tls, buf, len);
    ssize_t n = read(c->fd, buf, len);
    return n < 0 ? -errno : n;
}

void xm_conn_close(struct xm_conn *c)
{
    xm_tls_close(c->tls);
    c->tls = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static unsigned seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (unsigned)(now.tv_sec - start->tv_sec);
}

int xm_http_do(const struct xm_endpoint *ep, const struct xm_http_request *req,
               struct xm_http_response *resp, xm_http_tick_fn tick, void *tick_arg,
               bool *transport_failed, struct xend_err *err)
{
    struct xm_conn c;
    int rc = xm_conn_open(ep, HTTP_CONNECT_TIMEOUT_MS, &c, transport_failed, err);
    if (rc < 0)
        return rc;
    struct xend_buf out = XEND_BUF_INIT;
    build_request(ep, req, &out);
    rc = xm_conn_write_all(&c, out.data, out.len);
    if (out.data)
        memset(out.data, 0, out.len); /* it may hold the token */
    xend_buf_free(&out);
    if (rc < 0) {
        xm_conn_close(&c);
        *transport_failed = true;
        return xend_err_set(err, XEND_EIO, "[Errno %d] %s", -rc, strerror(-rc));
    }

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned ticked = 0;
    struct xend_buf in = XEND_BUF_INIT;
    bool eof = false;
    for (;;) {
        struct pollfd p = {.fd = c.fd, .events = POLLIN};
        int n = xm_conn_pending(&c) ? 1 : poll(&p, 1, 1000);
        if (n < 0 && errno != EINTR) {
            rc = xend_err_set(err, XEND_EIO, "[Errno %d] %s", errno, strerror(errno));
            *transport_failed = true;
            break;
        }
        unsigned elapsed = seconds_since(&start);
        if (tick != NULL && elapsed > ticked) {
            ticked = elapsed;
            tick(tick_arg, elapsed);
        }
        if (n <= 0)
            continue;
        char *dst = xend_buf_reserve(&in, HTTP_READ_CHUNK);
        ssize_t got = xm_conn_read(&c, dst, HTTP_READ_CHUNK);
        if (got == -EAGAIN || got == -EINTR)
            continue;
        if (got < 0) {
            rc = c.tls
                     ? xend_err_set(err, XEND_EIO, "TLS: the connection to xend failed")
                     : xend_err_set(err, XEND_EIO, "[Errno %d] %s", (int)-got, strerror((int)-got));
            *transport_failed = true;
            break;
        }
        if (got == 0)
            eof = true;
        else
            xend_buf_commit(&in, (size_t)got);
        rc = xm_http_parse_response(in.data != NULL ? in.data : "", in.len, eof, resp, err);
        if (rc != 0)
            break;
    }
    xm_conn_close(&c);
    xend_buf_free(&in);
    return rc < 0 ? rc : 0;
}
