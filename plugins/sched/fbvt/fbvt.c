/*
 * The FBVT scheduler plugin: Fair BVT, Xen 2.0's variant of Borrowed Virtual Time that
 * keeps a domain's share when it mixes cpu work with blocking (it banks the time it slept
 * and gets part of it back). Same per-domain parameters as BVT (plugins/sched/bvt), set
 * with the manual's `fbvt_set mcuadv warp warpl warpu`, or with the 2.0 XendClient's
 * `cpu_fbvt_set` (same names; its server never had the op, so `xm call domain_cpu_fbvt_set`
 * failed there). Warpback is optional, as for bvt_set. The node's ctx_allow is set with
 * XendClient's `cpu_fbvt_slice_set`, as bvt's with `cpu_bvt_slice_set`.
 */
#include <xend/host.h>
#include <xend/plugin.h>
#include <xend/sched.h>

#include "../bvt_params.h"
#include "../sched_plugin.h"

static const struct xend_sched_param fbvt_params[] = {XEND_BVT_DOMAIN_PARAMS XEND_BVT_NODE_PARAMS};

static const char *const fbvt_domain_ops[] = {"cpu_fbvt_set", "fbvt_set", NULL};
static const char *const fbvt_node_ops[] = {"cpu_fbvt_slice_set", NULL};

static const struct xend_sched_ops fbvt_ops = {
    XEND_SCHED_OPS_INIT,           .name = "fbvt",
    .params = fbvt_params,         .nparams = sizeof(fbvt_params) / sizeof(fbvt_params[0]),
    .domain_ops = fbvt_domain_ops, .node_ops = fbvt_node_ops,
};

static int fbvt_init(struct xend_plugin *self, const struct xend_host *host)
{
    return sched_plugin_register(self, host, &fbvt_ops, NULL);
}

XEND_PLUGIN(.name = "sched-fbvt", .version = "1.0",
            .description = "Fair Borrowed Virtual Time scheduler parameters (Xen 2.0 fbvt)",
            .license = "GPL-2.0", .init = fbvt_init);
