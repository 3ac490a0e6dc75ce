/*
 * One HTTP request from decoding to reply: arguments, routing, the handler call, deferral
 * and streaming, the error forms, and the host->http table that handlers use.
 *
 * A request object outlives its connection when it is deferred: the server detaches it
 * (a tombstone) and the handler's later complete() or stream_end() frees it, so a client
 * that hangs up never leaves a handler holding a dangling pointer. This file never writes
 * to a socket: it hands finished replies to the transport.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "gather.h"
#include "http/ratelimit.h"
#include "http/internal.h"
#include "http/role.h"
#include "http/server.h"
#include "http/session.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "sxp.h"

#define MAX_MULTIPART_PARTS 256

static uint64_t next_id;
static struct xend_sxp_limits sxp_limits;

struct xend_sxp_limits *xend_http_sxp_limits(void)
{
    return &sxp_limits;
}

/* Where the request's strings go: one block with the request object, so a request costs
 * one allocation instead of eight. */
struct strings {
    char *next;
};

static size_t text_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static char *put_text(struct strings *st, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *out = memcpy(st->next, s, n);
    st->next += n;
    return out;
}

static bool valid(const struct xend_request *req)
{
    if (req == NULL || req->magic != XEND_REQUEST_MAGIC) {
        xend_log_emit(NULL, XEND_LOG_ERROR, "bad request handle", "ptr=%p", (void *)req);
        return false;
    }
    return true;
}

/*
 * Freed request blocks kept for the next requests. A request with its strings is larger
 * than glibc's per-thread cache takes (1 KB), so each malloc of one went the large-chunk
 * way, consolidating the heap first: 20% of a GET's cpu once 5,000 domains filled the heap.
 * Requests live on the loop thread only. Sanitizer builds skip the pool, so that a use
 * after free still shows.
 */
#define REQUEST_BLOCK 2048
#define REQUEST_POOL_MAX 16
#if defined(__SANITIZE_ADDRESS__)
#define REQUEST_POOL 0
#else
#define REQUEST_POOL 1
#endif
static struct {
    void *blocks[REQUEST_POOL_MAX];
    size_t n;
} request_pool;

static struct xend_request *request_alloc(size_t size)
{
    if (!REQUEST_POOL || size > REQUEST_BLOCK)
        return xend_xcalloc(1, size);
    struct xend_request *req =
        request_pool.n > 0 ? request_pool.blocks[--request_pool.n] : xend_xmalloc(REQUEST_BLOCK);
    memset(req, 0, sizeof(*req));
    req->pooled = true;
    return req;
}

static void request_release(struct xend_request *req)
{
    if (req->pooled && request_pool.n < REQUEST_POOL_MAX)
        request_pool.blocks[request_pool.n++] = req;
    else
        free(req);
}

void xend_http_request_pool_free(void)
{
    while (request_pool.n > 0)
        free(request_pool.blocks[--request_pool.n]);
}

void xend_http_trim(void)
{
    xend_http_request_pool_free();
}

struct xend_request *xend_http_request_new(const struct xend_http_request_init *init)
{
    const char *method = init->method_name ? init->method_name : "?";
    const char *path = init->path ? init->path : "/";
    const char *peer = init->peer ? init->peer : "";
    size_t texts = text_size(method) + text_size(path) + text_size(init->query) +
                   text_size(init->user_agent) + text_size(init->accept) +
                   text_size(init->content_type) + text_size(peer) + text_size(init->host) +
                   text_size(init->origin) + text_size(init->referer) +
                   text_size(init->fetch_site) + text_size(init->last_event_id) +
                   text_size(init->authorization) + text_size(init->cookie);
    struct xend_request *req = request_alloc(sizeof(*req) + texts);
    struct strings st = {(char *)(req + 1)};
    req->magic = XEND_REQUEST_MAGIC;
    req->id = ++next_id;
    req->start_ns = xend_clock_ns();
    req->transport = init->transport;
    req->transport_arg = init->transport_arg;
    req->method = init->method;
    req->method_name = put_text(&st, method);
    req->path = put_text(&st, path);
    req->query = put_text(&st, init->query);
    req->user_agent = put_text(&st, init->user_agent);
    req->accept = put_text(&st, init->accept);
    req->content_type = put_text(&st, init->content_type);
    req->peer = put_text(&st, peer);
    req->host = put_text(&st, init->host);
    req->origin = put_text(&st, init->origin);
    req->referer = put_text(&st, init->referer);
    req->fetch_site = put_text(&st, init->fetch_site);
    req->last_event_id = put_text(&st, init->last_event_id);
    req->has_cookie = init->has_cookie;
    req->tls = init->tls;
    req->authorization = put_text(&st, init->authorization);
    req->cookie = put_text(&st, init->cookie);
    req->cert = init->cert;
    req->fd = init->fd;
    req->conn_who = init->conn_who;
    req->format = xend_http_negotiate(init->user_agent, init->accept);
    return req;
}

static void gather_drop(struct xend_request *req)
{
    if (req->gather == NULL)
        return;
    xend_gather_free(req->gather);
    free(req->gather);
    req->gather = NULL;
}

void xend_http_request_free(struct xend_request *req)
{
    if (req == NULL)
        return;
    xend_http_args_free(&req->args);
    xend_http_match_clear(&req->match);
    free(req->segs); /* one block with the segments' text */
    xend_sxp_free(req->value);
    free(req->raw_type);
    free(req->raw_body);
    gather_drop(req);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->headers);
    for (size_t i = 0; i < req->nparsed; i++)
        xend_sxp_free(req->parsed[i]);
    free(req->parsed);
    req->magic = 0;
    request_release(req);
}

static void log_request(struct xend_request *req, int status)
{
    uint64_t ns = xend_clock_ns() - req->start_ns;
    double ms = (double)ns / 1e6;
    xend_metrics_http_request(req->method_name, status);
    if (req->audit && req->op != NULL)
        xend_metrics_op_done(req->op, status < 300 && !req->failed, ns);
    xend_log_emit(NULL, XEND_LOG_DEBUG, "http request",
                  "id=%llu method=%s path=%s op=%s status=%d ms=%.3f peer=%s",
                  (unsigned long long)req->id, req->method_name, req->path, req->op ? req->op : "-",
                  status, ms, req->peer);
    if (req->audit)
        xend_http_access_audit(req, status);
}

/* A reason phrase made of the message (the xm client prints it for non-2xx replies),
 * restricted to what a status line may carry. */
static void reason_from(const char *msg, char *out, size_t out_len)
{
    size_t n = 0;
    for (const char *p = msg; *p != '\0' && n + 1 < out_len; p++)
        out[n++] = ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f) ? *p : ' ';
    out[n] = '\0';
}

/* Send a reply; `owned` (may be NULL) is the body's memory, taken; or, with body NULL,
 * the body in `niov` pieces (borrowed). */
static void send_response_iov(struct xend_request *req, int status, const char *reason,
                              const char *ctype, const char *body, size_t len, char *owned,
                              const struct iovec *iov, size_t niov)
{
    req->sent_status = status;
    req->replied = true;
    req->finished = true;
    log_request(req, status);
    if (req->gone || req->transport == NULL) {
        free(owned);
        return;
    }
    struct xend_http_response resp = {
        .status = status,
        .reason = reason,
        .content_type = ctype,
        .body = body,
        .body_len = len,
        .body_owned = owned,
        .iov = iov,
        .niov = niov,
        .headers = req->headers,
        .nheaders = req->nheaders,
    };
    req->transport->send(req, &resp);
}

static void send_response_owned(struct xend_request *req, int status, const char *reason,
                                const char *ctype, const char *body, size_t len, char *owned)
{
    send_response_iov(req, status, reason, ctype, body, len, owned, NULL, 0);
}

static void send_response(struct xend_request *req, int status, const char *reason,
                          const char *ctype, const char *body, size_t len)
{
    send_response_owned(req, status, reason, ctype, body, len, NULL);
}

/* An error reply in the request's format. `plain` keeps the text/plain form of docs/http.md
 * for programs too (501). */
static void send_error(struct xend_request *req, int status, const char *msg, bool plain)
{
    req->failed = true;
    struct xend_buf b = XEND_BUF_INIT;
    char reason[256];
    const char *ctype;

    if (status >= 300)
        reason_from(msg, reason, sizeof(reason));
    else
        snprintf(reason, sizeof(reason), "%s", xend_http_reason(status));

    switch (req->format) {
    case XEND_HTTP_FMT_JSON:
        xend_buf_puts(&b, "{\"error\": ");
        xend_http_json_string(msg, &b);
        xend_buf_putc(&b, '}');
        ctype = "application/json";
        break;
    case XEND_HTTP_FMT_HTML:
        xend_http_html_error_page(req, status, msg, &b);
        ctype = "text/html; charset=utf-8";
        break;
    default:
        if (plain) {
            xend_buf_puts(&b, msg);
            ctype = "text/plain";
        } else {
            struct xend_sxp *e = xend_sxp_list_of("xend.err", msg, NULL);
            xend_sxp_print_buf(e, &b);
            xend_sxp_free(e);
            ctype = "application/sxp";
        }
        break;
    }
    send_response(req, status, reason, ctype, xend_buf_str(&b), b.len);
    xend_buf_free(&b);
}

void xend_http_request_fail(struct xend_request *req, int status, const char *msg)
{
    if (req->finished)
        return;
    send_error(req, status, msg, status == 501);
}

static void http_reply_header(struct xend_request *req, const char *name, const char *value);

/* Send what the handler left (rc 0) or the error it reported (rc < 0). */
static void finish(struct xend_request *req, int rc)
{
    if (req->finished)
        return;
    req->deferred = false;
    if (rc < 0) {
        if (req->err.code == 0)
            xend_err_set(&req->err, -rc, NULL);
        send_error(req, xend_http_status_for(rc), xend_err_msg(&req->err), false);
        return;
    }
    int status = req->status ? req->status : 200;
    struct xend_buf loc = XEND_BUF_INIT;
    if (status < 300 && req->format == XEND_HTTP_FMT_HTML && xend_http_html_see_other(req, &loc)) {
        /* Post/redirect/get (html.c): a reload of the page shown next repeats nothing. */
        for (size_t i = 0; i < req->nheaders; i++)
            if (strcasecmp(req->headers[i].name, "Location") == 0) {
                free(req->headers[i].name);
                /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the freed slot gets the last one */
                free(req->headers[i].value);
                req->headers[i--] = req->headers[--req->nheaders];
            }
        http_reply_header(req, "Location", xend_buf_str(&loc));
        static const char moved[] =
            "<html><head><title>See other</title></head><body></body></html>";
        send_response(req, 303, xend_http_reason(303), "text/html; charset=utf-8", moved,
                      sizeof(moved) - 1);
        xend_buf_free(&loc);
        return;
    }
    xend_buf_free(&loc);
    const char *reason = xend_http_reason(status);
    if (req->raw_type != NULL) {
        send_response(req, status, reason, req->raw_type, req->raw_body ? req->raw_body : "",
                      req->raw_len);
        return;
    }
    if (req->gather != NULL) {
        size_t niov, total;
        struct iovec *iov = xend_gather_iov(req->gather, &niov, &total);
        if (req->format == XEND_HTTP_FMT_SXP && req->transport != NULL && req->transport->pieces) {
            send_response_iov(req, status, reason, "application/sxp", NULL, total, NULL, iov, niov);
            free(iov);
            gather_drop(req);
            return;
        }
        /* Another format parses the text, another transport wants it in one piece. */
        char *flat = xend_xmalloc(total + 1);
        size_t at = 0;
        for (size_t i = 0; i < niov; i++) {
            memcpy(flat + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        flat[total] = '\0';
        free(iov);
        gather_drop(req);
        free(req->raw_body);
        req->raw_body = flat;
        req->raw_len = total;
        req->raw_sxp = true;
    }
    if (req->raw_sxp) {
        if (req->format == XEND_HTTP_FMT_SXP) {
            char *body = req->raw_body;
            req->raw_body = NULL;
            send_response_owned(req, status, reason, "application/sxp", body, req->raw_len, body);
            return;
        }
        /* Our own text: only the depth limit is kept, against a printer bug. */
        static const struct xend_sxp_limits own = {.max_nodes = SIZE_MAX, .max_atom = SIZE_MAX};
        char msg[256];
        if (xend_sxp_parse(req->raw_body, req->raw_len, &own, &req->value, msg, sizeof(msg)) < 0) {
            xend_log_emit(NULL, XEND_LOG_ERROR, "unparsable reply", "path=%s error=\"%s\"",
                          req->path, msg);
            send_error(req, 500, "Internal error: unparsable reply", false);
            return;
        }
    }
    struct xend_sxp *zero = NULL;
    const struct xend_sxp *v = req->value;
    if (v == NULL)
        v = zero = xend_sxp_atom("0");
    struct xend_buf b = XEND_BUF_INIT;
    const char *ctype;
    switch (req->format) {
    case XEND_HTTP_FMT_JSON:
        xend_http_json(v, &b);
        ctype = "application/json";
        break;
    case XEND_HTTP_FMT_HTML:
        xend_http_html_page(req, v, &b);
        ctype = "text/html; charset=utf-8";
        break;
    default:
        xend_sxp_print_buf(v, &b);
        ctype = "application/sxp";
        break;
    }
    send_response(req, status, reason, ctype, xend_buf_str(&b), b.len);
    xend_buf_free(&b);
    xend_sxp_free(zero);
}

/* Split the raw path into decoded segments; one trailing '/' is dropped (docs/http.md:
 * /xend/domain and /xend/domain/ are the same). */
static int split_path(struct xend_request *req, struct xend_err *err)
{
    const char *p = req->path;
    if (*p == '/')
        p++;
    size_t len = strlen(p);
    if (len > 0 && p[len - 1] == '/')
        len--;
    if (len == 0)
        return 0;
    /* One block: the pointers, then the decoded segments (never longer than the raw ones),
     * each NUL-terminated. */
    size_t nseg = 1;
    for (size_t i = 0; i < len; i++)
        nseg += p[i] == '/';
    req->segs = xend_xmalloc(nseg * sizeof(*req->segs) + len + nseg);
    char *text = (char *)(req->segs + nseg);
    struct xend_buf seg = XEND_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i <= len;) {
        size_t e = i;
        while (e < len && p[e] != '/')
            e++;
        if (memchr(p + i, '%', e - i) == NULL) {
            /* Nothing to decode (the usual case): no buffer. */
            req->segs[req->nseg++] = text;
            memcpy(text, p + i, e - i);
            text[e - i] = '\0';
            text += e - i + 1;
            i = e + 1;
            continue;
        }
        xend_buf_reset(&seg);
        rc = xend_http_unescape(p + i, e - i, false, &seg, err);
        if (rc < 0)
            break;
        if (memchr(xend_buf_str(&seg), '\0', seg.len) != NULL) {
            rc = xend_err_set(err, XEND_EINVAL, "NUL in path");
            break;
        }
        req->segs[req->nseg++] = memcpy(text, xend_buf_str(&seg), seg.len + 1);
        text += seg.len + 1;
        i = e + 1;
    }
    xend_buf_free(&seg);
    return rc;
}

static bool ctype_is(const char *ctype, const char *type)
{
    size_t n = strlen(type);
    return ctype != NULL && strncasecmp(ctype, type, n) == 0 &&
           (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static int decode_args(struct xend_request *req, struct xend_err *err)
{
    int rc = 0;
    if (req->query != NULL)
        rc = xend_http_parse_urlencoded(req->query, strlen(req->query), true, &req->args, err);
    if (rc == 0 && req->body_len > 0) {
        if (ctype_is(req->content_type, "application/x-www-form-urlencoded")) {
            rc = xend_http_parse_urlencoded(req->body, req->body_len, false, &req->args, err);
        } else if (ctype_is(req->content_type, "multipart/form-data")) {
            char boundary[72];
            rc = xend_http_multipart_boundary(req->content_type, boundary, sizeof(boundary), err);
            if (rc == 0)
                rc = xend_http_parse_multipart(req->body, req->body_len, boundary,
                                               MAX_MULTIPART_PARTS, &req->args, err);
        }
    }
    return rc;
}

static void http_reply_header(struct xend_request *req, const char *name, const char *value);

/* POST ops run in the bulk lane (NULL-terminated, borrowed; NULL = none). */
static const char *const *bulk_ops;

void xend_http_set_bulk_ops(const char *const *ops)
{
    bulk_ops = ops;
}

static bool is_bulk(const struct xend_request *req)
{
    if (req->method != XEND_HTTP_POST || req->op == NULL || bulk_ops == NULL ||
        req->transport == NULL || req->transport->queue == NULL)
        return false;
    for (const char *const *o = bulk_ops; *o != NULL; o++)
        if (strcmp(*o, req->op) == 0)
            return true;
    return false;
}

static void run_handler(struct xend_request *req, xend_route_fn *fn, void *arg)
{
    /* What the handler sets off synchronously (a create's device checks) acts for this
     * caller: http->caller_role(NULL). */
    int prev = xend_role_act_as(req->who.role);
    int rc = fn(req, arg);
    xend_role_act_as(prev);
    if (rc < 0) {
        if (req->streaming) {
            /* The head went out already; all that is left is to end the stream. */
            xend_http_stream_end(req);
            return;
        }
        finish(req, rc);
    } else if (!req->deferred) {
        finish(req, 0);
    }
    req->body = NULL;
    req->body_len = 0;
}

void xend_http_request_resume(struct xend_request *req)
{
    if (!valid(req) || !req->queued)
        return;
    req->queued = false;
    void *arg;
    xend_route_fn *fn = xend_http_route_fn(req->match.route, &arg);
    req->match.route = NULL;
    run_handler(req, fn, arg);
}

static void http_reply_header(struct xend_request *req, const char *name, const char *value);

/*
 * The per-client rate limit (ratelimit.h): false when the request was answered 429. The
 * client is its uid where the access check found one, else its address without the port.
 */
static bool rate_allowed(struct xend_request *req)
{
    if (xend_http_ratelimit_rate() == 0)
        return true;
    char key[80];
    if (req->who.peer.has_uid) {
        snprintf(key, sizeof(key), "uid %u", (unsigned)req->who.peer.uid);
    } else {
        snprintf(key, sizeof(key), "%s", req->peer ? req->peer : "?");
        char *colon = strrchr(key, ':'); /* "127.0.0.1:40312", "[::1]:40312", "unix" */
        if (colon != NULL)
            *colon = '\0';
    }
    unsigned retry_s;
    bool newly;
    if (xend_http_ratelimit_take(key, xend_clock_ns(), &retry_s, &newly))
        return true;
    if (newly)
        xend_log_emit(NULL, XEND_LOG_NOTICE, "http rate limited",
                      "client=\"%s\" limit=%u/s retry_after=%u", key, xend_http_ratelimit_rate(),
                      retry_s);
    char secs[16], msg[160];
    snprintf(secs, sizeof(secs), "%u", retry_s);
    http_reply_header(req, "Retry-After", secs);
    snprintf(msg, sizeof(msg), "Too many requests: more than %u a second from %s (http-rate-limit)",
             xend_http_ratelimit_rate(), key);
    send_error(req, 429, msg, false);
    return false;
}

static void http_reply_take(struct xend_request *req, int status, struct xend_sxp *value);
static void http_reply_raw(struct xend_request *req, int status, const char *content_type,
                           const char *body, size_t len);

/* /xend/login and /xend/logout (session.h): before the access check, since a login has no
 * identity yet; the session part checks TLS and the origin itself. */
static void serve_session(struct xend_request *req)
{
    char msg[2048];
    const char *cookie = NULL;
    req->conn_who = NULL;
    req->cert = NULL;
    req->fd = -1;
    int status = xend_http_session_serve(req, &cookie, msg, sizeof(msg));
    if (status == 0) {
        http_reply_raw(req, 200, "text/html; charset=utf-8", msg, strlen(msg));
        finish(req, 0);
        return;
    }
    if (status != 200) {
        send_error(req, status, msg, false);
        return;
    }
    http_reply_header(req, "Set-Cookie", cookie);
    http_reply_header(req, "Cache-Control", "no-store");
    http_reply_take(req, 0, xend_sxp_list_of("ok", msg, NULL));
    finish(req, 0);
}

void xend_http_request_run(struct xend_request *req, const char *body, size_t len)
{
    struct xend_err err = {0};
    req->body = body;
    req->body_len = len;

    int rc = split_path(req, &err);
    if (rc == 0)
        rc = decode_args(req, &err);
    size_t nop = 0;
    const struct xend_http_arg *op = xend_http_args_find(&req->args, "op", &nop);
    req->op = op ? op->value : NULL;
    if (rc == 0 && xend_http_session_path(req)) {
        serve_session(req);
        goto out;
    }
    /* Who may ask comes before what was asked: a refused caller learns nothing more. */
    char denied[XEND_ERR_MSG_MAX];
    int refused = xend_http_access_check(req, denied, sizeof(denied));
    req->conn_who = NULL; /* the connection's: not kept past the check */
    req->cert = NULL;
    req->fd = -1;
    if (refused != 0) {
        send_error(req, refused, denied, false);
        goto out;
    }
    if (!rate_allowed(req))
        goto out;
    if (rc < 0) {
        send_error(req, rc == -XEND_ELIMIT ? 413 : 400, xend_err_msg(&err), false);
        goto out;
    }
    if (req->method == 0) {
        send_error(req, 405, "Method not allowed", false);
        goto out;
    }

    xend_http_route_match(req->method, req->segs, req->nseg, req->op, nop, &req->match,
                          &req->domain);
    if (req->match.status != 0) {
        if (req->match.allow != 0)
            http_reply_header(req, "Allow", xend_http_method_names(req->match.allow));
        send_error(req, req->match.status, req->match.msg, req->match.status == 501);
        goto out;
    }
    /* The route's role: after routing (it is the route's), before anything runs. */
    refused = xend_http_access_route_check(req, xend_http_route_role(req->match.route), denied,
                                           sizeof(denied));
    if (refused != 0) {
        send_error(req, refused, denied, false);
        goto out;
    }

    if (is_bulk(req)) {
        /* The body stays the server's until the request is freed; the route cannot go
         * away in between (routes are removed only at plugin unload and stop, which drop
         * every connection first). */
        req->queued = true;
        req->transport->queue(req);
        return;
    }
    void *arg;
    xend_route_fn *fn = xend_http_route_fn(req->match.route, &arg);
    req->match.route = NULL; /* not kept: a deferred request may outlive it */
    run_handler(req, fn, arg);
    return;
out:
    req->body = NULL;
    req->body_len = 0;
}

void xend_http_request_detach(struct xend_request *req)
{
    if (req->deferred && !req->finished) {
        req->gone = true;
        req->transport_arg = NULL;
        if (req->on_close != NULL)
            req->on_close(req, req->on_close_arg);
        return;
    }
    xend_http_request_free(req);
}

uint64_t xend_http_requests_started(void)
{
    return next_id;
}

bool xend_http_request_gone(const struct xend_request *req)
{
    return req->gone;
}

uint64_t xend_http_request_id(const struct xend_request *req)
{
    return req->id;
}

/* ---- deferral and streaming ---- */

static void http_defer(struct xend_request *req)
{
    if (valid(req))
        req->deferred = true;
}

static void http_complete(struct xend_request *req, int rc)
{
    if (!valid(req))
        return;
    if (req->finished) {
        xend_log_emit(NULL, XEND_LOG_WARN, "request completed twice", "id=%llu",
                      (unsigned long long)req->id);
        return;
    }
    if (req->gone) {
        log_request(req, 0);
        xend_http_request_free(req);
        return;
    }
    finish(req, rc);
}

int xend_http_stream_begin(struct xend_request *req, const char *content_type)
{
    if (!valid(req) || req->finished || req->streaming)
        return -XEND_EINVAL;
    req->deferred = true;
    if (req->gone)
        return -XEND_EIO;
    req->streaming = true;
    req->replied = true;
    req->sent_status = 200;
    if (req->transport != NULL)
        req->transport->stream_head(req, 200, content_type);
    return 0;
}

int xend_http_stream_write(struct xend_request *req, const char *data, size_t len)
{
    if (!valid(req) || !req->streaming || req->finished)
        return -XEND_EINVAL;
    if (req->gone || req->transport == NULL)
        return -XEND_EIO;
    if (len == 0)
        return 0;
    return req->transport->stream_chunk(req, data, len);
}

size_t xend_http_stream_backlog(struct xend_request *req)
{
    if (!valid(req) || req->gone || req->transport == NULL || req->transport->backlog == NULL)
        return 0;
    return req->transport->backlog(req);
}

void xend_http_stream_end(struct xend_request *req)
{
    if (!valid(req))
        return;
    if (req->gone) {
        log_request(req, req->sent_status);
        xend_http_request_free(req);
        return;
    }
    if (req->finished)
        return;
    req->finished = true;
    req->deferred = false;
    log_request(req, req->sent_status);
    if (req->streaming && req->transport != NULL)
        req->transport->stream_end(req);
}

void xend_http_stream_on_close(struct xend_request *req, xend_http_stream_close_fn *fn, void *arg)
{
    if (!valid(req))
        return;
    req->on_close = fn;
    req->on_close_arg = arg;
}

/* ---- the host->http table ---- */

static struct xend_err *http_err(struct xend_request *req)
{
    static struct xend_err dummy;
    if (!valid(req))
        return &dummy;
    return &req->err;
}

static const char *http_arg_str(struct xend_request *req, const char *name)
{
    if (!valid(req))
        return NULL;
    const struct xend_http_arg *a = xend_http_args_find(&req->args, name, NULL);
    return a ? a->value : NULL;
}

/* The single value of a required argument, or an error in req->err (2.0's messages). */
static int one_value(struct xend_request *req, const char *name, const struct xend_http_arg **out)
{
    size_t n;
    *out = xend_http_args_find(&req->args, name, &n);
    if (n == 0)
        return xend_err_set(&req->err, XEND_EINVAL, "Missing parameter: %s", name);
    if (n > 1)
        return xend_err_set(&req->err, XEND_EINVAL, "Too many values for %s", name);
    return 0;
}

/* Python's int(): optional white space around an optionally signed decimal. */
static int parse_int(struct xend_request *req, const struct xend_http_arg *a, long long *out)
{
    const char *s = a->value;
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    const char *digits = (*s == '+' || *s == '-') ? s + 1 : s;
    char *end = NULL;
    errno = 0;
    long long v = (*digits >= '0' && *digits <= '9') ? strtoll(s, &end, 10) : 0;
    if (end != NULL)
        while (*end == ' ' || *end == '\t' || *end == '\n')
            end++;
    if (end == NULL || *end != '\0' || strlen(a->value) != a->len)
        return xend_err_set(&req->err, XEND_EINVAL, "invalid literal for int() with base 10: '%s'",
                            a->value);
    if (errno == ERANGE)
        return xend_err_set(&req->err, XEND_EINVAL, "integer out of range: '%s'", a->value);
    *out = v;
    return 0;
}

static int http_arg_int(struct xend_request *req, const char *name, long long *out)
{
    if (!valid(req))
        return -XEND_EINVAL;
    const struct xend_http_arg *a;
    int rc = one_value(req, name, &a);
    return rc < 0 ? rc : parse_int(req, a, out);
}

static int http_arg_int_opt(struct xend_request *req, const char *name, long long dflt,
                            long long *out)
{
    if (!valid(req))
        return -XEND_EINVAL;
    if (xend_http_args_find(&req->args, name, NULL) == NULL) {
        *out = dflt;
        return 0;
    }
    return http_arg_int(req, name, out);
}

static int http_arg_sxp(struct xend_request *req, const char *name, const struct xend_sxp **out)
{
    if (!valid(req))
        return -XEND_EINVAL;
    const struct xend_http_arg *a;
    int rc = one_value(req, name, &a);
    if (rc < 0)
        return rc;
    struct xend_sxp *v = NULL;
    char msg[256];
    rc = xend_sxp_parse(a->value, a->len, &sxp_limits, &v, msg, sizeof(msg));
    if (rc < 0)
        return xend_err_set(&req->err, -rc, "%s", msg);
    req->parsed = xend_xrealloc(req->parsed, (req->nparsed + 1) * sizeof(*req->parsed));
    req->parsed[req->nparsed++] = v;
    *out = v;
    return 0;
}

static const char *http_capture(struct xend_request *req, const char *name)
{
    if (!valid(req))
        return NULL;
    for (size_t i = 0; i < req->match.ncap; i++)
        if (strcmp(req->match.cap_name[i], name) == 0)
            return req->match.cap_value[i];
    return NULL;
}

static struct xend_domain *http_domain(struct xend_request *req)
{
    return valid(req) ? req->domain : NULL;
}

bool xend_http_wants_json(struct xend_request *req)
{
    return valid(req) && req->format == XEND_HTTP_FMT_JSON;
}

bool xend_http_accepts(struct xend_request *req, const char *type)
{
    return valid(req) && req->accept != NULL && xend_http_accept_has(req->accept, type);
}

const char *xend_http_last_event_id(struct xend_request *req)
{
    return valid(req) ? req->last_event_id : NULL;
}

static bool http_wants_html(struct xend_request *req)
{
    return valid(req) && req->format == XEND_HTTP_FMT_HTML;
}

static const char *http_peer(struct xend_request *req)
{
    return valid(req) ? req->peer : "";
}

static void http_reply_take(struct xend_request *req, int status, struct xend_sxp *value)
{
    if (!valid(req)) {
        xend_sxp_free(value);
        return;
    }
    xend_sxp_free(req->value);
    req->value = value;
    req->status = status;
    free(req->raw_type);
    req->raw_type = NULL;
    free(req->raw_body);
    req->raw_body = NULL;
    req->raw_sxp = false;
    gather_drop(req);
}

void xend_http_reply_sxp_text(struct xend_request *req, int status, struct xend_buf *text)
{
    if (!valid(req)) {
        xend_buf_free(text);
        return;
    }
    http_reply_take(req, status, NULL);
    req->raw_len = text->len;
    req->raw_body = xend_buf_steal(text);
    req->raw_sxp = true;
}

void xend_http_reply_sxp_gather(struct xend_request *req, int status, struct xend_gather *g)
{
    if (!valid(req)) {
        xend_gather_free(g);
        return;
    }
    http_reply_take(req, status, NULL);
    req->gather = xend_xmalloc(sizeof(*req->gather));
    *req->gather = *g;
    if (!g->copy)
        req->gather->printed = &req->gather->own; /* it moved */
    *g = (struct xend_gather){0};
}

static void http_reply_raw(struct xend_request *req, int status, const char *content_type,
                           const char *body, size_t len)
{
    if (!valid(req))
        return;
    free(req->raw_type);
    gather_drop(req);
    free(req->raw_body);
    req->raw_type = xend_xstrdup(content_type ? content_type : "application/octet-stream");
    req->raw_body = xend_xmalloc(len + 1);
    if (len > 0)
        memcpy(req->raw_body, body, len);
    req->raw_body[len] = '\0';
    req->raw_len = len;
    req->raw_sxp = false;
    req->status = status;
    xend_sxp_free(req->value);
    req->value = NULL;
}

static bool header_safe(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

static void http_reply_header(struct xend_request *req, const char *name, const char *value)
{
    if (!valid(req) || name == NULL || value == NULL || !header_safe(name) || !header_safe(value) ||
        strchr(name, ':') != NULL) {
        xend_log_emit(NULL, XEND_LOG_WARN, "reply header refused", "name=%s", name ? name : "-");
        return;
    }
    req->headers = xend_xrealloc(req->headers, (req->nheaders + 1) * sizeof(*req->headers));
    req->headers[req->nheaders].name = xend_xstrdup(name);
    req->headers[req->nheaders].value = xend_xstrdup(value);
    req->nheaders++;
}

static int http_caller_role(struct xend_request *req)
{
    if (req == NULL)
        return xend_role_acting();
    return valid(req) ? req->who.role : XEND_ROLE_VIEWER; /* a bad handle: the least */
}

static const char *http_form_token(struct xend_request *req, const char **field)
{
    (void)req;
    if (field != NULL)
        *field = XEND_HTTP_CSRF_FIELD;
    return xend_http_access_token();
}

static const struct xend_host_http host_http = {
    .size = sizeof(struct xend_host_http),
    .route_add = xend_http_route_add,
    .route_remove = xend_http_route_remove,
    .err = http_err,
    .arg_str = http_arg_str,
    .arg_int = http_arg_int,
    .arg_int_opt = http_arg_int_opt,
    .arg_sxp = http_arg_sxp,
    .capture = http_capture,
    .domain = http_domain,
    .wants_html = http_wants_html,
    .peer = http_peer,
    .reply_take = http_reply_take,
    .reply_raw = http_reply_raw,
    .reply_header = http_reply_header,
    .defer = http_defer,
    .complete = http_complete,
    .caller_role = http_caller_role,
    .stream_begin = xend_http_stream_begin,
    .stream_write = xend_http_stream_write,
    .stream_end = xend_http_stream_end,
    .stream_backlog = xend_http_stream_backlog,
    .stream_on_close = xend_http_stream_on_close,
    .form_token = http_form_token,
};

const struct xend_host_http *xend_http_host_table(void)
{
    return &host_http;
}

/* ---- the core's own routes ---- */

static int root_get(struct xend_request *req, void *arg)
{
    (void)arg;
    http_reply_take(
        req, 0,
        xend_sxp_list_of("ls", "node", "domain", "console", "event", "device", "vnet", NULL));
    return 0;
}

int xend_http_register_core_routes(void)
{
    static const struct xend_route root = {
        XEND_ROUTE_INIT, .methods = XEND_HTTP_GET,        .path = "/xend",
        .fn = root_get,  .doc = "the xend resource tree", .role = XEND_ROLE_VIEWER,
    };
    return xend_http_route_add(NULL, &root);
}
