/* Stubs and the fake transport for the core/http unit tests (see support.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "owner.h"
#include "support.h"

struct xend_buf test_log = XEND_BUF_INIT;
struct captured cap;

void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...)
{
    (void)source;
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    xend_buf_printf(&test_log, "%s ", event);
    xend_buf_vprintf(&test_log, fmt, ap);
    xend_buf_putc(&test_log, '\n');
    va_end(ap);
}

const char *xend_plugin_name(const struct xend_plugin *p)
{
    return p ? p->name : "core";
}

static void fake_send(struct xend_request *req, const struct xend_http_response *r)
{
    (void)req;
    cap.nsent++;
    cap.status = r->status;
    snprintf(cap.reason, sizeof(cap.reason), "%s", r->reason);
    snprintf(cap.ctype, sizeof(cap.ctype), "%s", r->content_type);
    xend_buf_reset(&cap.body);
    xend_buf_append(&cap.body, r->body, r->body_len);
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, "Location") == 0)
            snprintf(cap.location, sizeof(cap.location), "%s", r->headers[i].value);
        else if (strcmp(r->headers[i].name, "Allow") == 0)
            snprintf(cap.allow, sizeof(cap.allow), "%s", r->headers[i].value);
    free(r->body_owned);
}

static void fake_head(struct xend_request *req, int status, const char *ctype)
{
    (void)req;
    cap.stream_head = true;
    cap.status = status;
    snprintf(cap.ctype, sizeof(cap.ctype), "%s", ctype);
}

static int fake_chunk(struct xend_request *req, const char *data, size_t len)
{
    (void)req;
    xend_buf_append(&cap.stream, data, len);
    return 0;
}

static void fake_end(struct xend_request *req)
{
    (void)req;
    cap.stream_ended = true;
}

const struct xend_http_transport test_transport = {
    .send = fake_send,
    .stream_head = fake_head,
    .stream_chunk = fake_chunk,
    .stream_end = fake_end,
};

void capture_reset(void)
{
    xend_buf_free(&cap.body);
    xend_buf_free(&cap.stream);
    memset(&cap, 0, sizeof(cap));
    xend_buf_reset(&test_log);
}

/* The fake transport's caller: root, as the kernel would have said over a unix socket. */
struct xend_http_who test_who = {
    .peer = {.via = XEND_PEER_PEERCRED, .has_uid = true, .uid = 0, .user = "root"},
    .verdict = XEND_HTTP_ADMITTED,
};

struct xend_request *mkreq(const char *method, const char *path, const char *query,
                           const char *ctype, const char *ua, const char *accept)
{
    struct xend_http_request_init init = {
        .method = strcmp(method, "GET") == 0    ? XEND_HTTP_GET
                  : strcmp(method, "POST") == 0 ? XEND_HTTP_POST
                                                : 0,
        .method_name = method,
        .path = path,
        .query = query,
        .content_type = ctype,
        .user_agent = ua,
        .accept = accept,
        .peer = "127.0.0.1:1",
        .transport = &test_transport,
        .fd = -1,
        .conn_who = &test_who,
    };
    return xend_http_request_new(&init);
}

struct xend_request *run_req(const char *method, const char *path, const char *query,
                             const char *ctype, const char *body)
{
    struct xend_request *req = mkreq(method, path, query, ctype, NULL, NULL);
    xend_http_request_run(req, body ? body : "", body ? strlen(body) : 0);
    return req;
}
