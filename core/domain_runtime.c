/*
 * A running instance's settings beyond its config (see domain_runtime.h).
 */
#include "domain_runtime.h"

#include "hv.h"
#include "log/log.h"
#include "sxp.h"

/* The pin in force: pincpu's, else the config's cpu (-1: any). */
static long long pin_of(const struct xend_domain *dom)
{
    if (dom->pin_set)
        return dom->pin_cpu;
    long long cpu = -1;
    if (dom->config)
        xend_sxp_child_int(dom->config, "cpu", &cpu);
    return cpu;
}

void xend_domain_runtime_add(const struct xend_domain *dom, struct xend_sxp *record)
{
    struct xend_sxp *rt = xend_sxp_list_of("runtime", NULL);
    if (dom->target_kb)
        xend_sxp_add_kv_int(rt, "mem_target_kb", (long long)dom->target_kb);
    xend_sxp_add_kv_int(rt, "cpu", pin_of(dom));
    xend_sxp_append_take(record, rt);
}

void xend_domain_runtime_apply(struct xend_domain *dom, const struct xend_sxp *record)
{
    const struct xend_sxp *rt = xend_sxp_child(record, "runtime");
    if (rt == NULL)
        return;
    struct xend_err err = {0};
    long long v;
    if (xend_sxp_child_int(rt, "mem_target_kb", &v) == 0 && v > 0) {
        if (XEND_HV_CALL(dom_set_target, &err, dom->id, (uint64_t)v) == 0)
            dom->target_kb = (uint64_t)v;
        else
            xend_log_warn("memory target not restored", "domain=%s target_kb=%lld error=\"%s\"",
                          dom->name, v, xend_err_msg(&err));
    }
    if (xend_sxp_child_int(rt, "cpu", &v) == 0 && v != pin_of(dom)) {
        xend_err_clear(&err);
        if (XEND_HV_CALL(dom_pin_vcpu, &err, dom->id, 0, (int32_t)v) == 0) {
            dom->pin_set = true;
            dom->pin_cpu = (int32_t)v;
        } else {
            xend_log_warn("cpu pin not restored", "domain=%s cpu=%lld error=\"%s\"", dom->name, v,
                          xend_err_msg(&err));
        }
    }
}

void xend_domain_runtime_load(struct xend_domain *dom, const struct xend_sxp *record)
{
    const struct xend_sxp *rt = xend_sxp_child(record, "runtime");
    long long v;
    if (xend_sxp_child_int(rt, "mem_target_kb", &v) == 0 && v > 0)
        dom->target_kb = (uint64_t)v;
    if (xend_sxp_child_int(rt, "cpu", &v) == 0 && v != pin_of(dom)) {
        dom->pin_set = true;
        dom->pin_cpu = (int32_t)v;
    }
}

void xend_domain_runtime_reset(struct xend_domain *dom)
{
    dom->target_kb = 0;
    dom->pin_set = false;
}
