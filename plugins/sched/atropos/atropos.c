/*
 * The Atropos scheduler plugin: the Nemesis scheduler as in Xen 2.0. Each domain is
 * guaranteed `slice` ns of cpu in every `period` ns (earliest deadline first), may take
 * a share of the unallocated time when `xtratime` is 1, and after sleeping past its
 * deadline is served within `latency` ns. Ops `cpu_atropos_set` (2.0 release) and
 * `atropos_set` (manual), all four values required.
 *
 * validate() holds Xen's rules across parameters: slice <= period and latency <= period
 * (a slice longer than its period is a guarantee nobody can give).
 */
#include <stdio.h>

#include <xend/host.h>
#include <xend/plugin.h>
#include <xend/sched.h>

#include "../sched_plugin.h"

#define HOUR_NS 3600000000000LL

static const struct xend_sched_param atropos_params[] = {
    {.name = "period",
     .scope = XEND_SCHED_DOMAIN,
     .min = 100000,
     .max = HOUR_NS,
     .dflt = 10000000000LL,
     .unit = "ns",
     .doc = "the period in which the slice is guaranteed"},
    {.name = "slice",
     .scope = XEND_SCHED_DOMAIN,
     .min = 1,
     .max = HOUR_NS,
     .dflt = 10000000,
     .unit = "ns",
     .doc = "cpu time guaranteed in every period"},
    {.name = "latency",
     .scope = XEND_SCHED_DOMAIN,
     .min = 100000,
     .max = HOUR_NS,
     .dflt = 10000000000LL,
     .unit = "ns",
     .doc = "longest wait for the cpu after waking from a block past the deadline"},
    {.name = "xtratime",
     .scope = XEND_SCHED_DOMAIN,
     .min = 0,
     .max = 1,
     .dflt = 1,
     .unit = "",
     .doc = "1: may also run in time nobody is guaranteed"},
};

static const char *const atropos_domain_ops[] = {"cpu_atropos_set", "atropos_set", NULL};

static int atropos_validate(void *ctx, enum xend_sched_scope scope,
                            const struct xend_sched_value *v, size_t n, struct xend_err *err)
{
    (void)ctx;
    if (scope != XEND_SCHED_DOMAIN)
        return 0;
    const struct xend_sched_value *period = sched_plugin_value(v, n, "period");
    const struct xend_sched_value *slice = sched_plugin_value(v, n, "slice");
    const struct xend_sched_value *latency = sched_plugin_value(v, n, "latency");
    if (period == NULL || slice == NULL || latency == NULL)
        return xend_err_set(err, XEND_EINVAL, "atropos: period, slice and latency are required");
    if (slice->value > period->value)
        return xend_err_set(err, XEND_EINVAL,
                            "atropos: slice (%lld ns) must not exceed period (%lld ns)",
                            (long long)slice->value, (long long)period->value);
    if (latency->value > period->value)
        return xend_err_set(err, XEND_EINVAL,
                            "atropos: latency (%lld ns) must not exceed period (%lld ns)",
                            (long long)latency->value, (long long)period->value);
    return 0;
}

static const struct xend_sched_ops atropos_ops = {
    XEND_SCHED_OPS_INIT,
    .name = "atropos",
    .params = atropos_params,
    .nparams = sizeof(atropos_params) / sizeof(atropos_params[0]),
    .domain_ops = atropos_domain_ops,
    .node_ops = NULL,
    .validate = atropos_validate,
};

static int atropos_init(struct xend_plugin *self, const struct xend_host *host)
{
    return sched_plugin_register(self, host, &atropos_ops, NULL);
}

XEND_PLUGIN(.name = "sched-atropos", .version = "1.0",
            .description = "Atropos scheduler parameters (Nemesis, Xen 2.0 atropos)",
            .license = "GPL-2.0", .init = atropos_init);
