/*
 * xm scheduler commands: bvt, bvt_ctxallow, fbvt, fbvt_ctxallow, atropos, rrobin. Each validates
 * its integer arguments (the 2.0 client's int()/long()) and posts them under the op names of
 * the 2.0 release; the units are the hypervisor's (docs/compat.md).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

/* POST op to rel with the integer arguments argv[first..] named by keys. */
static int sched_post(struct xm_ctx *ctx, const char *rel, const char *op, char **argv, int first,
                      const char *const *keys, int nkeys, struct xend_err *err)
{
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    struct xm_param params[8] = {{"op", op, NULL}};
    char values[7][32];
    for (int i = 0; i < nkeys; i++) {
        long long x;
        if ((rc = xm_parse_int(argv[first + i], &x, err)) < 0)
            return rc;
        snprintf(values[i], sizeof(values[i]), "%lld", x);
        params[i + 1].name = keys[i];
        params[i + 1].value = values[i];
    }
    struct xm_result r = {0};
    rc = xm_client_post(&ctx->client, rel, params, (size_t)nkeys + 1, &r, err);
    xm_result_free(&r);
    return rc;
}

static int domain_sched(struct xm_ctx *ctx, char **argv, const char *op, const char *const *keys,
                        int nkeys, struct xend_err *err)
{
    char *rel = xend_xasprintf("domain/%s", argv[1]);
    int rc = sched_post(ctx, rel, op, argv, 2, keys, nkeys, err);
    free(rel);
    return rc;
}

int xm_cmd_bvt(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    static const char *const keys[] = {"mcuadv", "warpback", "warpvalue", "warpl", "warpu"};
    if (argc != 7)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    return domain_sched(ctx, argv, "cpu_bvt_set", keys, 5, err);
}

/* The 2.0 XendClient's xend_domain_cpu_fbvt_set: its op and its names (warp, no warpback). */
int xm_cmd_fbvt(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    static const char *const keys[] = {"mcuadv", "warp", "warpl", "warpu"};
    if (argc != 6)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    return domain_sched(ctx, argv, "cpu_fbvt_set", keys, 4, err);
}

int xm_cmd_atropos(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    static const char *const keys[] = {"period", "slice", "latency", "xtratime"};
    if (argc != 6)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    return domain_sched(ctx, argv, "cpu_atropos_set", keys, 4, err);
}

int xm_cmd_bvt_ctxallow(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    static const char *const keys[] = {"ctx_allow"};
    if (argc < 2)
        return xm_usage_error(err, argv[0], "Missing context switch allowance");
    return sched_post(ctx, "node/", "cpu_bvt_slice_set", argv, 1, keys, 1, err);
}

int xm_cmd_fbvt_ctxallow(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    static const char *const keys[] = {"ctx_allow"};
    if (argc < 2)
        return xm_usage_error(err, argv[0], "Missing context switch allowance");
    return sched_post(ctx, "node/", "cpu_fbvt_slice_set", argv, 1, keys, 1, err);
}

/* Broken in the 2.0.0 client (it called a method that did not exist); this one works. */
int xm_cmd_rrobin(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    static const char *const keys[] = {"slice"};
    if (argc != 2)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    return sched_post(ctx, "node/", "cpu_rrobin_slice_set", argv, 1, keys, 1, err);
}
