/*
 * The BVT scheduler plugin: Borrowed Virtual Time (Duda & Cheriton, SOSP 1999), Xen 2.0's
 * default scheduler. Per domain: mcuadv (the inverse of the weight: a domain's share is
 * proportional to 1/mcuadv), and warp, which lets a latency-sensitive domain borrow
 * virtual time when it wakes, within a limit (warpl) and a recovery time (warpu). On the
 * node: ctx_allow, how far ahead the running domain may get before it yields.
 *
 * Ops: `cpu_bvt_set` (2.0 release: mcuadv warpback warpvalue warpl warpu) and `bvt_set`
 * (manual: mcuadv warp warpl warpu, so warpback is optional and warp is an alias);
 * `cpu_bvt_slice_set ctx_allow` on the node. Units as in Xen 2.0 (docs/compat.md):
 * warpl and warpu in ms, ctx_allow in ns, warpvalue in virtual-time units (MCUs of 100 us
 * at mcuadv 1). The ranges are the simulated hypervisor's (simhv/sched.h).
 */
#include <xend/host.h>
#include <xend/plugin.h>
#include <xend/sched.h>

#include "../bvt_params.h"
#include "../sched_plugin.h"

static const struct xend_sched_param bvt_params[] = {XEND_BVT_DOMAIN_PARAMS XEND_BVT_NODE_PARAMS};

static const char *const bvt_domain_ops[] = {"cpu_bvt_set", "bvt_set", NULL};
static const char *const bvt_node_ops[] = {"cpu_bvt_slice_set", NULL};

static const struct xend_sched_ops bvt_ops = {
    XEND_SCHED_OPS_INIT,          .name = "bvt",
    .params = bvt_params,         .nparams = sizeof(bvt_params) / sizeof(bvt_params[0]),
    .domain_ops = bvt_domain_ops, .node_ops = bvt_node_ops,
};

static int bvt_init(struct xend_plugin *self, const struct xend_host *host)
{
    return sched_plugin_register(self, host, &bvt_ops, NULL);
}

XEND_PLUGIN(.name = "sched-bvt", .version = "1.0",
            .description = "Borrowed Virtual Time scheduler parameters (Xen 2.0 bvt)",
            .license = "GPL-2.0", .init = bvt_init);
