/*
 * xm console commands: console (attach to a domain's console) and consoles (the table of
 * all consoles).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "console.h"
#include "fmt.h"

int xm_cmd_console(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc < 2)
        return xm_usage_error(err, argv[0], "Missing domain");
    struct xm_result r = {0};
    int rc = xm_domain_get(ctx, argv[1], NULL, 0, &r, err);
    if (rc < 0)
        return rc;
    const struct xend_sxp *console =
        r.kind == XM_RESULT_SXP ? xend_sxp_child(r.sxp, "console") : NULL;
    const char *port = console != NULL ? xend_sxp_child_value(console, "console_port", NULL) : NULL;
    if (port == NULL) {
        rc = xend_err_set(err, XEND_ENOENT, "No console information");
    } else {
        /* the 2.0 client always went to localhost; a remote xend's consoles are on its host */
        const char *host = ctx->client.ep.is_unix ? "localhost" : ctx->client.ep.host;
        struct xend_err cerr = {0};
        rc = xm_console_attach(host, port, &cerr);
        if (rc < 0)
            rc = xend_err_set(err, XEND_EIO, "Cannot connect to console on %s:%s: %s", host, port,
                              cerr.msg);
    }
    xm_result_free(&r);
    return rc;
}

int xm_cmd_consoles(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    (void)argc;
    (void)argv;
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    struct xm_result list = {0};
    rc = xm_client_get(&ctx->client, "console/", NULL, 0, &list, err);
    if (rc == 0)
        rc = xm_result_list(&list, err);
    if (rc < 0) {
        xm_result_free(&list);
        return rc;
    }
    struct xend_buf out = XEND_BUF_INIT;
    struct xm_out doc;
    if (ctx->output != XM_OUT_TEXT) {
        xm_out_begin(&doc, ctx->output);
    } else {
        xm_fmt_consoles_header(&out);
        xm_print(&out);
    }
    for (size_t i = 0; i < xend_sxp_length(list.sxp) && rc == 0; i++) {
        const char *id = xend_sxp_atom_text(xend_sxp_nth(list.sxp, i));
        if (id == NULL)
            continue;
        char *rel = xend_xasprintf("console/%s", id);
        struct xm_result c = {0};
        rc = xm_client_get(&ctx->client, rel, NULL, 0, &c, err);
        free(rel);
        if (rc == 0 && c.kind == XM_RESULT_SXP && ctx->output != XM_OUT_TEXT) {
            xm_out_record(&doc, c.sxp);
        } else if (rc == 0 && c.kind == XM_RESULT_SXP) {
            xm_fmt_console_row(c.sxp, &out);
            xm_print(&out);
        }
        xm_result_free(&c);
    }
    xm_result_free(&list);
    if (ctx->output != XM_OUT_TEXT) {
        xm_out_end(&doc, &out);
        if (rc == 0)
            xm_print(&out);
        else
            xend_buf_free(&out);
    }
    return rc;
}
