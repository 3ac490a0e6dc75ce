/*
 * The round robin scheduler plugin: Xen 2.0's rrobin, every runnable domain in turn for
 * one slice. Only a node setting, `cpu_rrobin_slice_set slice` (ns); no domain ops.
 */
#include <xend/host.h>
#include <xend/plugin.h>
#include <xend/sched.h>

#include "../sched_plugin.h"

static const struct xend_sched_param rrobin_params[] = {
    {.name = "slice",
     .scope = XEND_SCHED_NODE,
     .min = 100000,
     .max = 10000000000LL,
     .dflt = 10000000,
     .unit = "ns",
     .doc = "how long each domain runs in its turn"},
};

static const char *const rrobin_domain_ops[] = {NULL};
static const char *const rrobin_node_ops[] = {"cpu_rrobin_slice_set", NULL};

static const struct xend_sched_ops rrobin_ops = {
    XEND_SCHED_OPS_INIT,
    .name = "rrobin",
    .params = rrobin_params,
    .nparams = sizeof(rrobin_params) / sizeof(rrobin_params[0]),
    .domain_ops = rrobin_domain_ops,
    .node_ops = rrobin_node_ops,
};

static int rrobin_init(struct xend_plugin *self, const struct xend_host *host)
{
    return sched_plugin_register(self, host, &rrobin_ops, NULL);
}

XEND_PLUGIN(.name = "sched-rrobin", .version = "1.0",
            .description = "round robin scheduler slice (Xen 2.0 rrobin)", .license = "GPL-2.0",
            .init = rrobin_init);
