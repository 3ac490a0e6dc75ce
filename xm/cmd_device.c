/*
 * xm device and vnet commands: vbd-create, vbd-destroy, vbd-list, vif-list, vnet-list,
 * vnet-create, vnet-delete.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fmt.h"

/* GET domain/DOM?op=OP and print each device on its own line (sxp.show; print). */
static int device_list(struct xm_ctx *ctx, int argc, char **argv, const char *op,
                       struct xend_err *err)
{
    if (argc != 2)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    struct xm_param param = {"op", op, NULL};
    struct xm_result r = {0};
    int rc = xm_domain_get(ctx, argv[1], &param, 1, &r, err);
    if (rc == 0)
        rc = xm_result_list(&r, err);
    if (rc == 0) {
        struct xend_buf out = XEND_BUF_INIT;
        if (ctx->output != XM_OUT_TEXT) {
            struct xm_out doc;
            xm_out_begin(&doc, ctx->output);
            for (size_t i = 0; i < xend_sxp_length(r.sxp); i++)
                xm_out_record(&doc, xend_sxp_nth(r.sxp, i));
            xm_out_end(&doc, &out);
        } else {
            for (size_t i = 0; i < xend_sxp_length(r.sxp); i++)
                xm_fmt_line(xend_sxp_nth(r.sxp, i), &out);
        }
        xm_print(&out);
    }
    xm_result_free(&r);
    return rc;
}

int xm_cmd_vbd_list(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    return device_list(ctx, argc, argv, "vbds", err);
}

int xm_cmd_vif_list(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    return device_list(ctx, argc, argv, "vifs", err);
}

int xm_cmd_vbd_create(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc < 5 || argc > 6)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    struct xend_sxp *vbd = xend_sxp_list_of("vbd", NULL);
    xend_sxp_add_kv(vbd, "uname", argv[2]);
    xend_sxp_add_kv(vbd, "dev", argv[3]);
    xend_sxp_add_kv(vbd, "mode", argv[4]);
    if (argc == 6)
        xend_sxp_add_kv(vbd, "backend", argv[5]);
    char *config = xend_sxp_print(vbd);
    xend_sxp_free(vbd);
    struct xm_param params[2] = {{"op", "device_create", NULL}, {"config", config, NULL}};
    int rc = xm_domain_post(ctx, argv[1], params, 2, NULL, err);
    free(config);
    return rc;
}

int xm_cmd_vbd_destroy(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc != 3)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    struct xm_param params[3] = {
        {"op", "device_destroy", NULL}, {"type", "vbd", NULL}, {"idx", argv[2], NULL}};
    return xm_domain_post(ctx, argv[1], params, 3, NULL, err);
}

int xm_cmd_vnet_list(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc != 1)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    struct xm_out doc;
    if (ctx->output != XM_OUT_TEXT)
        xm_out_begin(&doc, ctx->output);
    struct xm_result list = {0};
    rc = xm_client_get(&ctx->client, "vnet/", NULL, 0, &list, err);
    if (rc == 0)
        rc = xm_result_list(&list, err);
    for (size_t i = 0; rc == 0 && i < xend_sxp_length(list.sxp); i++) {
        const char *id = xend_sxp_atom_text(xend_sxp_nth(list.sxp, i));
        if (id == NULL)
            continue;
        char *rel = xend_xasprintf("vnet/%s", id);
        struct xm_result v = {0};
        rc = xm_client_get(&ctx->client, rel, NULL, 0, &v, err);
        free(rel);
        if (rc == 0 && v.kind == XM_RESULT_SXP && ctx->output != XM_OUT_TEXT) {
            xm_out_record(&doc, v.sxp);
        } else if (rc == 0 && v.kind == XM_RESULT_SXP) {
            struct xend_buf out = XEND_BUF_INIT;
            xm_fmt_pretty(v.sxp, &out);
            xm_print(&out);
        }
        xm_result_free(&v);
    }
    xm_result_free(&list);
    if (ctx->output != XM_OUT_TEXT) {
        struct xend_buf out = XEND_BUF_INIT;
        xm_out_end(&doc, &out);
        if (rc == 0)
            xm_print(&out);
        else
            xend_buf_free(&out);
    }
    return rc;
}

int xm_cmd_vnet_create(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc != 2)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    /* the config file is uploaded as it is, as the 2.0 client did */
    struct xm_param params[2] = {{"op", "create", NULL}, {"config", NULL, argv[1]}};
    struct xm_result r = {0};
    rc = xm_client_post(&ctx->client, "vnet/", params, 2, &r, err);
    xm_result_free(&r);
    return rc;
}

int xm_cmd_vnet_delete(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc != 2)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    char *rel = xend_xasprintf("vnet/%s", argv[1]);
    int rc = xm_post_op(ctx, rel, "delete", err, NULL);
    free(rel);
    return rc;
}
