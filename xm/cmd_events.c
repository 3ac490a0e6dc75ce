/*
 * xm events: print xend's numbered events (GET /xend/event?since=N[&follow=1]), as text
 * lines "SEQ NAME VALUE", or as xend sends them with -o sxp / -o json (JSON lines).
 *
 * A follow stream never ends, so it cannot go through the client's request-reply call
 * (http.h reads a whole reply): this file asks for an HTTP/1.0 reply, which xend delimits
 * by closing, and prints each line as it arrives. Over TCP, a unix socket or https, on
 * the client's own connection (http.h's xm_conn).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define EVENTS_CONNECT_TIMEOUT_MS 10000
#define EVENTS_MAX_HEAD 16384

static const struct xm_opt events_opts_tab[] = {
    {"since", 's', XM_OPT_VALUE, "N",
     "First print the events xend still holds after number N\n(0: all it holds).", NULL},
    {"follow", 'f', XM_OPT_FLAG, NULL, "Then print new events as they come, until interrupted.",
     NULL},
    {"pattern", 'p', XM_OPT_VALUE, "PATTERN", "Only events whose name matches (xend.domain.*).",
     NULL},
};
const struct xm_optset xm_events_opts = {
    "[options]\n\nPrint xend's events: SEQ NAME VALUE per line (- for a notice of the stream,\n"
    "such as xend.event.missed when events after N are no longer held).\n"
    "Without --since or --follow: every event xend holds. -o json: JSON lines;\n"
    "-o sxp: SXP lines.\n",
    events_opts_tab, 3};

/* A text line of one numbered SXP event line (event (seq N) ... (name X) (value V)). */
static void print_text_line(const char *line, size_t len)
{
    struct xend_sxp *ev = NULL;
    char msg[128];
    if (xend_sxp_parse(line, len, NULL, &ev, msg, sizeof(msg)) != 0 || ev == NULL) {
        fwrite(line, 1, len, stdout);
        fputc('\n', stdout);
        return;
    }
    struct xend_buf out = XEND_BUF_INIT;
    xend_buf_puts(&out, xend_sxp_child_value(ev, "seq", "-"));
    xend_buf_putc(&out, ' ');
    xend_buf_puts(&out, xend_sxp_child_value(ev, "name", "?"));
    const struct xend_sxp *value = xend_sxp_child(ev, "value");
    for (size_t i = 1; value != NULL && i < xend_sxp_length(value); i++) {
        xend_buf_putc(&out, ' ');
        xend_sxp_print_buf(xend_sxp_nth(value, i), &out);
    }
    xend_buf_putc(&out, '\n');
    fwrite(out.data, 1, out.len, stdout);
    xend_buf_free(&out);
    xend_sxp_free(ev);
}

/* Print the complete lines of body[*done..len); *done moves past them. */
static void print_lines(const char *body, size_t len, size_t *done, enum xm_output_form form)
{
    for (;;) {
        const char *start = body + *done;
        const char *nl = memchr(start, '\n', len - *done);
        if (nl == NULL)
            break;
        size_t n = (size_t)(nl - start);
        if (n > 0 && form == XM_OUT_TEXT) {
            print_text_line(start, n);
        } else if (n > 0) {
            fwrite(start, 1, n + 1, stdout);
        }
        *done += n + 1;
    }
    fflush(stdout);
}

/* Read the reply to the end, printing lines of a 200 as they come. */
static int read_stream(struct xm_ctx *ctx, struct xm_conn *c, enum xm_output_form form,
                       struct xend_err *err)
{
    struct xend_buf in = XEND_BUF_INIT;
    size_t body = 0, done = 0;
    int status = 0;
    int rc = 0;
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (!xm_conn_pending(c) && poll(&p, 1, -1) < 0 && errno != EINTR) {
            ctx->client.transport_failed = true;
            rc = xend_err_set(err, XEND_EIO, "[Errno %d] %s", errno, strerror(errno));
            break;
        }
        char *dst = xend_buf_reserve(&in, 8192);
        ssize_t got = xm_conn_read(c, dst, 8192);
        if (got == -EINTR || got == -EAGAIN)
            continue;
        if (got < 0) {
            ctx->client.transport_failed = true;
            rc = xend_err_set(err, XEND_EIO, "[Errno %d] %s", (int)-got, strerror((int)-got));
            break;
        }
        if (got > 0)
            xend_buf_commit(&in, (size_t)got);
        if (body == 0) {
            const char *end = in.len ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL;
            if (end == NULL && (got == 0 || in.len > EVENTS_MAX_HEAD)) {
                rc = xend_err_set(err, XEND_EINVAL, "invalid reply from xend");
                break;
            }
            if (end != NULL) {
                body = (size_t)(end - in.data) + 4;
                /* NOLINTNEXTLINE(cert-err34-c): a status out of range is an error all the same */
                if (sscanf(in.data, "HTTP/%*d.%*d %d", &status) != 1)
                    status = 0;
                done = body;
            }
        }
        if (body != 0 && status == 200)
            print_lines(in.data, in.len, &done, form);
        if (got == 0)
            break;
    }
    if (rc == 0 && status != 200) {
        /* An error: the client's decoder says it as for any other command. */
        struct xm_http_response resp = XM_HTTP_RESPONSE_INIT;
        struct xm_result res = {0};
        rc = xm_http_parse_response(in.data, in.len, true, &resp, err);
        if (rc >= 0) {
            rc = xm_reply_decode(resp.status, resp.reason ? resp.reason : "", resp.content_type,
                                 resp.body.data ? resp.body.data : "", resp.body.len, &res, err);
            if (rc == 0)
                rc = xend_err_set(err, XEND_EIO, "xend answered %d", resp.status);
        }
        xm_result_free(&res);
        xm_http_response_free(&resp);
    }
    xend_buf_free(&in);
    return rc;
}

int xm_cmd_events(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[3];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&xm_events_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    free(args);
    if (nargs > 0)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    long long since = 0;
    if (v[0].count && (rc = xm_parse_int(v[0].value, &since, err)) < 0)
        return rc;
    if (since < 0)
        return xm_usage_error(err, argv[0], "--since: an event number, 0 or more");
    if ((rc = xm_need_server(ctx, err)) < 0)
        return rc;
    bool follow = v[1].count > 0;
    char since_text[32];
    snprintf(since_text, sizeof(since_text), "%lld", since);
    struct xm_param params[4];
    size_t n = 0;
    params[n++] = (struct xm_param){"format", ctx->output == XM_OUT_JSON ? "json" : "sxp", NULL};
    if (follow)
        params[n++] = (struct xm_param){"follow", "1", NULL};
    if (v[0].count || !follow)
        params[n++] = (struct xm_param){"since", since_text, NULL};
    if (v[2].count)
        params[n++] = (struct xm_param){"pattern", v[2].value, NULL};

    const struct xm_endpoint *ep = &ctx->client.ep;
    struct xend_buf req = XEND_BUF_INIT;
    xend_buf_puts(&req, "GET ");
    xm_client_path(ep, "event", false, &req);
    xend_buf_putc(&req, '?');
    xm_urlencode(params, n, &req);
    xend_buf_puts(&req, " HTTP/1.0\r\n");
    xm_http_put_common_headers(ep, &req);
    xend_buf_puts(&req, "\r\n");

    struct xm_conn c;
    bool failed;
    rc = xm_conn_open(ep, EVENTS_CONNECT_TIMEOUT_MS, &c, &failed, err);
    if (rc < 0) {
        ctx->client.transport_failed = failed;
        xend_buf_free(&req);
        return rc;
    }
    rc = xm_conn_write_all(&c, req.data, req.len);
    if (req.data)
        memset(req.data, 0, req.len); /* it may hold the token */
    xend_buf_free(&req);
    if (rc < 0) {
        ctx->client.transport_failed = true;
        rc = xend_err_set(err, XEND_EIO, "[Errno %d] %s", -rc, strerror(-rc));
    } else {
        rc = read_stream(ctx, &c, ctx->output, err);
    }
    xm_conn_close(&c);
    return rc;
}
