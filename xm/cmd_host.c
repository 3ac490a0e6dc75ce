/*
 * xm commands on the host (node): info, dmesg, log.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fmt.h"
#include "sxp_json.h"

int xm_cmd_info(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    (void)argc;
    (void)argv;
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    struct xm_result r = {0};
    rc = xm_client_get(&ctx->client, "node/", NULL, 0, &r, err);
    if (rc == 0)
        rc = xm_result_list(&r, err);
    if (rc == 0) {
        struct xend_buf out = XEND_BUF_INIT;
        if (ctx->output != XM_OUT_TEXT)
            xm_output_one(ctx->output, r.sxp, true, &out);
        else
            xm_fmt_info(r.sxp, &out);
        xm_print(&out);
    }
    xm_result_free(&r);
    return rc;
}

/* Print a text reply followed by a newline, as python's print did. */
static int print_text(struct xm_ctx *ctx, const char *rel, struct xend_err *err)
{
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    struct xm_result r = {0};
    rc = xm_client_get(&ctx->client, rel, NULL, 0, &r, err);
    if (rc < 0)
        return rc;
    struct xend_buf out = XEND_BUF_INIT;
    if (r.kind == XM_RESULT_TEXT)
        xend_buf_append(&out, r.text, r.text_len);
    else if (r.kind == XM_RESULT_SXP)
        xm_fmt_text(r.sxp, &out);
    if (ctx->output != XM_OUT_TEXT) {
        /* the text as one string: "..." in JSON, '...' in SXP */
        struct xend_sxp *text = xend_sxp_atom(xend_buf_str(&out));
        xend_buf_reset(&out);
        if (ctx->output == XM_OUT_JSON)
            xend_sxp_json_string(xend_sxp_atom_text(text), &out);
        else
            xend_sxp_print_atom(xend_sxp_atom_text(text), strlen(xend_sxp_atom_text(text)), &out);
        xend_sxp_free(text);
    }
    xend_buf_putc(&out, '\n');
    xm_print(&out);
    xm_result_free(&r);
    return 0;
}

static const struct xm_opt dmesg_opts_tab[] = {
    {"clear", 'c', XM_OPT_FLAG, NULL, "Clear the contents of the Xen message buffer.", NULL},
};
const struct xm_optset xm_dmesg_opts = {
    "[-c|--clear]\n\nRead Xen's message buffer (boot output, warning and error messages) or "
    "clear\nits contents if the [-c|--clear] flag is specified.\n",
    dmesg_opts_tab, 1};

int xm_cmd_dmesg(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[1];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&xm_dmesg_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    free(args);
    if (nargs > 0 || argc > 2)
        return xend_err_set(err, XEND_EINVAL, "Invalid arguments: %s", argv[argc - 1]);
    if (v[0].count)
        return xm_post_op(ctx, "node/dmesg", "clear", err, NULL);
    return print_text(ctx, "node/dmesg", err);
}

int xm_cmd_log(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    (void)argc;
    (void)argv;
    return print_text(ctx, "node/log", err);
}
