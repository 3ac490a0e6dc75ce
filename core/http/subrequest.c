/*
 * A GET through the router from inside xend (http.h, xend_http_get): the operator's pages
 * (core/ui) show what the protocol's own routes serve, plugins' routes included, without
 * knowing who serves them, and for the same caller, so a page never shows what that caller
 * could not read itself.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "sxp.h"

struct capture {
    bool sent;
    int status;
    bool sxp;
    struct xend_buf body;
};

static void cap_send(struct xend_request *req, const struct xend_http_response *resp)
{
    struct capture *c = req->transport_arg;
    c->sent = true;
    c->status = resp->status;
    c->sxp = resp->content_type != NULL && strcmp(resp->content_type, "application/sxp") == 0;
    xend_buf_append(&c->body, resp->body ? resp->body : "", resp->body_len);
    free(resp->body_owned);
}

/* A streaming route has nothing to give a page: its head ends the capture. */
static void cap_stream_head(struct xend_request *req, int status, const char *content_type)
{
    (void)content_type;
    struct capture *c = req->transport_arg;
    c->status = status;
}

static int cap_stream_chunk(struct xend_request *req, const char *data, size_t len)
{
    (void)req;
    (void)data;
    (void)len;
    return -XEND_EIO;
}

static void cap_stream_end(struct xend_request *req)
{
    (void)req;
}

static const struct xend_http_transport capture_transport = {
    .send = cap_send,
    .stream_head = cap_stream_head,
    .stream_chunk = cap_stream_chunk,
    .stream_end = cap_stream_end,
};

int xend_http_get(struct xend_request *outer, const char *path, const char *query,
                  struct xend_sxp **value, struct xend_buf *text, int *status, struct xend_err *err)
{
    *value = NULL;
    struct capture c = {0};
    /* Admitted already: the outer request's identity and role, copied. */
    struct xend_http_who who = outer->who;
    struct xend_http_request_init init = {
        .method = XEND_HTTP_GET,
        .method_name = "GET",
        .path = path,
        .query = query,
        .accept = "application/sxp",
        .peer = outer->peer,
        .transport = &capture_transport,
        .transport_arg = &c,
        .fd = -1,
        .conn_who = &who,
        .tls = false,
    };
    struct xend_request *req = xend_http_request_new(&init);
    xend_http_request_run(req, NULL, 0);
    if (!c.sent) {
        /* Deferred or streaming: detach makes it a tombstone its completion frees. */
        req->transport_arg = NULL;
        xend_http_request_detach(req);
        xend_buf_free(&c.body);
        if (status)
            *status = 500;
        return xend_err_set(err, XEND_EINVAL, "%s cannot be shown in a page", path);
    }
    bool failed = req->failed;
    xend_http_request_free(req);
    if (status)
        *status = c.status;
    int rc = 0;
    struct xend_sxp *v = NULL;
    char msg[XEND_ERR_MSG_MAX];
    if (c.sxp) {
        static const struct xend_sxp_limits own = {.max_nodes = SIZE_MAX, .max_atom = SIZE_MAX};
        if (xend_sxp_parse(xend_buf_str(&c.body), c.body.len, &own, &v, msg, sizeof(msg)) < 0)
            rc = xend_err_set(err, XEND_EIO, "%s: unparsable reply: %s", path, msg);
    }
    if (rc == 0 && (failed || c.status >= 300)) {
        /* (xend.err "message"), or a refusal's text */
        const char *m = v && xend_sxp_is_list(v) && xend_sxp_length(v) > 1
                            ? xend_sxp_atom_text(xend_sxp_nth(v, 1))
                            : xend_buf_str(&c.body);
        rc = xend_err_set(err, c.status == 404 ? XEND_ENOENT : XEND_EINVAL, "%s", m ? m : "error");
        xend_sxp_free(v);
        v = NULL;
    }
    if (rc == 0 && text != NULL)
        xend_buf_append(text, xend_buf_str(&c.body), c.body.len);
    xend_buf_free(&c.body);
    *value = v;
    return rc;
}
