/*
 * A test-only fourth scheduler, "test4", that no part of xend knows by name: it proves a
 * third party can add a scheduler through the public ABI alone (include/xend/), with its
 * own parameter schema, domain and node ops, and a cross-parameter rule. Loosely shaped
 * like Xen 4's credit scheduler (weight, cap, a node time slice). Never installed.
 */
#include <xend/host.h>
#include <xend/plugin.h>
#include <xend/sched.h>

static const struct xend_sched_param test4_params[] = {
    {.name = "weight",
     .scope = XEND_SCHED_DOMAIN,
     .min = 1,
     .max = 65535,
     .dflt = 256,
     .unit = "",
     .doc = "relative share of the cpu against other domains"},
    {.name = "cap",
     .scope = XEND_SCHED_DOMAIN,
     .min = 0,
     .max = 100,
     .dflt = 0,
     .optional = true,
     .unit = "%",
     .doc = "most of one cpu the domain may use, 0 for no cap"},
    {.name = "tslice",
     .alias = "timeslice",
     .scope = XEND_SCHED_NODE,
     .min = 1,
     .max = 1000,
     .dflt = 30,
     .unit = "ms",
     .doc = "how long a domain runs before the next is considered"},
};

static const char *const test4_domain_ops[] = {"test4_set", NULL};
static const char *const test4_node_ops[] = {"test4_tslice_set", NULL};

/* The rule across parameters: a capped domain must not ask for a weight above 1000. */
static int test4_validate(void *ctx, enum xend_sched_scope scope, const struct xend_sched_value *v,
                          size_t n, struct xend_err *err)
{
    (void)ctx;
    long long weight = 0, cap = 0;
    if (scope != XEND_SCHED_DOMAIN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].name[0] == 'w')
            weight = v[i].value;
        else if (v[i].name[0] == 'c')
            cap = v[i].value;
    }
    if (cap > 0 && weight > 1000)
        return xend_err_set(err, XEND_EINVAL, "test4: weight (%lld) above 1000 with a cap", weight);
    return 0;
}

static const struct xend_sched_ops test4_ops = {
    XEND_SCHED_OPS_INIT,
    .name = "test4",
    .params = test4_params,
    .nparams = sizeof(test4_params) / sizeof(test4_params[0]),
    .domain_ops = test4_domain_ops,
    .node_ops = test4_node_ops,
    .validate = test4_validate,
};

static int test4_init(struct xend_plugin *self, const struct xend_host *host)
{
    int rc = host->sched->add(self, &test4_ops, NULL);
    if (rc < 0)
        host->plugin_err_set(self, "cannot register scheduler test4: %s", xend_strerror(rc));
    return rc;
}

XEND_PLUGIN(.name = "sched-test4", .version = "1.0",
            .description = "a fourth scheduler for the tests", .license = "GPL-2.0",
            .init = test4_init);
