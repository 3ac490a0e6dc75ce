/*
 * Scheduler parameters on Xen 4.17, which has no BVT, FBVT, Atropos or round robin: each
 * of xend's schedulers is mapped onto credit or credit2 (weight, cap; time slice and rate
 * limit for the node), and a parameter with no equivalent is refused with a message that
 * says so. The mapping is documented in docs/xenctrl.md; keep the two in step.
 *
 * Never approximates silently: a value that would change behaviour credit cannot give
 * (BVT warping, an Atropos latency bound) is an error, not a no-op.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xc_priv.h"

#define XCB_WEIGHT_DEFAULT 256
#define XCB_MCUADV_DEFAULT 10

const char *xcb_sched_name(int sched_id)
{
    switch (sched_id) {
    case XEN_SCHEDULER_CREDIT:
        return "credit";
    case XEN_SCHEDULER_CREDIT2:
        return "credit2";
    case XEN_SCHEDULER_ARINC653:
        return "arinc653";
    case XEN_SCHEDULER_RTDS:
        return "rtds";
    case XEN_SCHEDULER_NULL:
        return "null";
    default:
        return "unknown";
    }
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static bool is(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

/* A value by name: true and *out when given. */
static bool find(const struct xend_sched_value *v, size_t n, const char *name, int64_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (is(v[i].name, name)) {
            *out = v[i].value;
            return true;
        }
    return false;
}

static int credit_only(struct xcb *c, struct xend_err *err)
{
    if (c->sched_id == XEN_SCHEDULER_CREDIT || c->sched_id == XEN_SCHEDULER_CREDIT2)
        return 0;
    return xend_err_set(err, XEND_ENOTSUP,
                        "Xen runs the %s scheduler: xend maps scheduler parameters onto credit "
                        "and credit2 only",
                        xcb_sched_name(c->sched_id));
}

static int refuse(struct xcb *c, const char *sched, const char *name, const char *why,
                  struct xend_err *err)
{
    return xend_err_set(err, XEND_EINVAL,
                        "%s parameter %s has no equivalent in Xen's %s scheduler%s%s", sched, name,
                        xcb_sched_name(c->sched_id), why ? ": " : "", why ? why : "");
}

/* Map xend scheduler `sched`'s domain values onto (weight, cap), which hold the current. */
static int map_domain(struct xcb *c, const char *sched, const struct xend_sched_value *v, size_t n,
                      int64_t *weight, int64_t *cap, struct xend_err *err)
{
    if (is(sched, "credit") || is(sched, "credit2")) {
        for (size_t i = 0; i < n; i++) {
            if (is(v[i].name, "weight")) {
                if (v[i].value < 1 || v[i].value > 65535)
                    return xend_err_set(err, XEND_EINVAL, "invalid weight: %lld (1 to 65535)",
                                        (long long)v[i].value);
                *weight = v[i].value;
            } else if (is(v[i].name, "cap")) {
                if (v[i].value < 0 || v[i].value > 65535)
                    return xend_err_set(err, XEND_EINVAL, "invalid cap: %lld (0 to 65535 %%)",
                                        (long long)v[i].value);
                *cap = v[i].value;
            } else {
                return refuse(c, sched, v[i].name, NULL, err);
            }
        }
        return 0;
    }
    if (is(sched, "bvt") || is(sched, "fbvt")) {
        for (size_t i = 0; i < n; i++) {
            const char *k = v[i].name;
            if (is(k, "mcuadv")) {
                if (v[i].value < 1)
                    return xend_err_set(err, XEND_EINVAL, "invalid mcuadv: %lld",
                                        (long long)v[i].value);
                /* share ~ 1/mcuadv; mcuadv 10 (BVT's default) is credit's default 256 */
                *weight = clamp(((long)XCB_WEIGHT_DEFAULT * XCB_MCUADV_DEFAULT + v[i].value / 2) /
                                    v[i].value,
                                1, 65535);
            } else if (is(k, "warpback") || is(k, "warpvalue")) {
                if (v[i].value != 0)
                    return refuse(c, sched, k,
                                  "credit never lets a domain borrow virtual time (set it to 0)",
                                  err);
            } else if (is(k, "warpl") || is(k, "warpu")) {
                /* limits on warping, inert while warping is off: accepted, not applied */
            } else {
                return refuse(c, sched, k, NULL, err);
            }
        }
        return 0;
    }
    if (is(sched, "atropos")) {
        int64_t period = 0, slice = 0, latency = 0, xtra = 1;
        if (!find(v, n, "period", &period) || !find(v, n, "slice", &slice) || period <= 0 ||
            slice <= 0 || slice > period)
            return xend_err_set(err, XEND_EINVAL, "atropos on credit needs 0 < slice <= period");
        for (size_t i = 0; i < n; i++)
            if (!is(v[i].name, "period") && !is(v[i].name, "slice") && !is(v[i].name, "latency") &&
                !is(v[i].name, "xtratime"))
                return refuse(c, sched, v[i].name, NULL, err);
        if (find(v, n, "latency", &latency) && latency < period)
            return refuse(c, sched, "latency",
                          "credit bounds no wake-up latency (latency must not be below the "
                          "period)",
                          err);
        find(v, n, "xtratime", &xtra);
        /* The guaranteed share slice/period as a weight (10% is credit's default 256)... */
        *weight = clamp((int64_t)((double)slice * XCB_WEIGHT_DEFAULT * 10 / (double)period + 0.5),
                        1, 65535);
        /* ...and, without extra time, as a cap in percent of one cpu (0: none). */
        *cap = xtra ? 0 : clamp((slice * 100 + period - 1) / period, 1, 65535);
        return 0;
    }
    return xend_err_set(err, XEND_EINVAL,
                        "the %s scheduler's parameters have no mapping onto Xen's %s scheduler",
                        sched ? sched : "(none)", xcb_sched_name(c->sched_id));
}

static int credit_get(struct xcb_conn *h, int sched_id, uint32_t domid, int64_t *weight,
                      int64_t *cap, struct xend_err *err)
{
    int r;
    if (sched_id == XEN_SCHEDULER_CREDIT) {
        struct xen_domctl_sched_credit s = {0};
        r = xc_sched_credit_domain_get(h->xch, domid, &s);
        *weight = s.weight;
        *cap = s.cap;
    } else {
        struct xen_domctl_sched_credit2 s = {0};
        r = xc_sched_credit2_domain_get(h->xch, domid, &s);
        *weight = s.weight;
        *cap = s.cap;
    }
    if (r < 0)
        return xcb_fail(h, err, errno, "cannot read the %s parameters of domain %u",
                        xcb_sched_name(sched_id), domid);
    return 0;
}

int xcb_sched_set(void *ctx, uint32_t domid, const char *sched,
                  const struct xend_sched_value *values, size_t n, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = &c->main;
    h->last[0] = '\0';
    int rc = credit_only(c, err);
    int64_t weight = 0, cap = 0;
    if (rc == 0)
        rc = credit_get(h, c->sched_id, domid, &weight, &cap, err);
    if (rc == 0)
        rc = map_domain(c, sched, values, n, &weight, &cap, err);
    if (rc < 0)
        return rc;
    int r;
    if (c->sched_id == XEN_SCHEDULER_CREDIT) {
        struct xen_domctl_sched_credit s = {.weight = (uint16_t)weight, .cap = (uint16_t)cap};
        r = xc_sched_credit_domain_set(h->xch, domid, &s);
    } else {
        struct xen_domctl_sched_credit2 s = {.weight = (uint16_t)weight, .cap = (uint16_t)cap};
        r = xc_sched_credit2_domain_set(h->xch, domid, &s);
    }
    if (r < 0)
        return xcb_fail(h, err, errno, "cannot set weight %lld cap %lld on domain %u",
                        (long long)weight, (long long)cap, domid);
    c->host->log->emit(c->self, XEND_LOG_INFO, "scheduler mapped",
                       "domain=%u from=%s to=%s weight=%lld cap=%lld", domid, sched ? sched : "",
                       xcb_sched_name(c->sched_id), (long long)weight, (long long)cap);
    return 0;
}

int xcb_sched_get(void *ctx, uint32_t domid, const char *sched, struct xend_sched_value *values,
                  size_t n, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = &c->main;
    h->last[0] = '\0';
    int rc = credit_only(c, err);
    int64_t weight = 0, cap = 0;
    if (rc == 0)
        rc = credit_get(h, c->sched_id, domid, &weight, &cap, err);
    if (rc < 0)
        return rc;
    bool bvt = is(sched, "bvt") || is(sched, "fbvt");
    bool credit = is(sched, "credit") || is(sched, "credit2");
    for (size_t i = 0; i < n; i++) {
        const char *k = values[i].name;
        if (credit && is(k, "weight"))
            values[i].value = weight;
        else if (credit && is(k, "cap"))
            values[i].value = cap;
        else if (bvt && is(k, "mcuadv"))
            values[i].value =
                weight > 0
                    ? clamp(((long)XCB_WEIGHT_DEFAULT * XCB_MCUADV_DEFAULT + weight / 2) / weight,
                            1, 1000000)
                    : XCB_MCUADV_DEFAULT;
        else if (bvt && (is(k, "warpback") || is(k, "warpvalue")))
            values[i].value = 0;
        else
            return xend_err_set(err, XEND_ENOTSUP,
                                "%s parameter %s cannot be read back from Xen's %s scheduler",
                                sched ? sched : "(none)", k ? k : "?", xcb_sched_name(c->sched_id));
    }
    return 0;
}

int xcb_sched_node_set(void *ctx, const char *sched, const struct xend_sched_value *values,
                       size_t n, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = &c->main;
    h->last[0] = '\0';
    int rc = credit_only(c, err);
    if (rc < 0)
        return rc;
    bool credit2 = c->sched_id == XEN_SCHEDULER_CREDIT2;
    struct xen_sysctl_credit_schedule cs = {0};
    struct xen_sysctl_credit2_schedule c2 = {0};
    int r = credit2 ? xc_sched_credit2_params_get(h->xch, 0, &c2)
                    : xc_sched_credit_params_get(h->xch, 0, &cs);
    if (r < 0)
        return xcb_fail(h, err, errno, "cannot read Xen's %s settings",
                        xcb_sched_name(c->sched_id));
    int64_t ratelimit = credit2 ? c2.ratelimit_us : cs.ratelimit_us;
    int64_t tslice = cs.tslice_ms;
    for (size_t i = 0; i < n; i++) {
        const char *k = values[i].name;
        int64_t v = values[i].value;
        if ((is(sched, "bvt") && is(k, "ctx_allow")) ||
            ((is(sched, "credit") || is(sched, "credit2")) && is(k, "ratelimit_us"))) {
            /* how long a running domain keeps the cpu before another may preempt it */
            ratelimit = is(k, "ctx_allow") ? v / 1000 : v;
            if (ratelimit < XEN_SYSCTL_SCHED_RATELIMIT_MIN ||
                ratelimit > XEN_SYSCTL_SCHED_RATELIMIT_MAX)
                return xend_err_set(err, XEND_EINVAL,
                                    "%s %lld is a rate limit of %lld us: Xen accepts %d to %d us",
                                    k, (long long)v, (long long)ratelimit,
                                    XEN_SYSCTL_SCHED_RATELIMIT_MIN, XEN_SYSCTL_SCHED_RATELIMIT_MAX);
        } else if (!credit2 && ((is(sched, "rrobin") && is(k, "slice")) ||
                                (is(sched, "credit") && is(k, "tslice_ms")))) {
            tslice = is(k, "slice") ? v / 1000000 : v;
            if ((is(k, "slice") && v % 1000000 != 0) || tslice < XEN_SYSCTL_CSCHED_TSLICE_MIN ||
                tslice > XEN_SYSCTL_CSCHED_TSLICE_MAX)
                return xend_err_set(err, XEND_EINVAL,
                                    "%s %lld: credit's time slice is a whole number of ms from "
                                    "%d to %d",
                                    k, (long long)v, XEN_SYSCTL_CSCHED_TSLICE_MIN,
                                    XEN_SYSCTL_CSCHED_TSLICE_MAX);
        } else {
            return refuse(c, sched ? sched : "(none)", k ? k : "?", NULL, err);
        }
    }
    if (!credit2 && ratelimit > tslice * 1000)
        return xend_err_set(err, XEND_EINVAL,
                            "a rate limit of %lld us is longer than credit's time slice of %lld ms",
                            (long long)ratelimit, (long long)tslice);
    if (credit2) {
        c2.ratelimit_us = (uint32_t)ratelimit;
        r = xc_sched_credit2_params_set(h->xch, 0, &c2);
    } else {
        cs.ratelimit_us = (uint32_t)ratelimit;
        cs.tslice_ms = (uint32_t)tslice;
        r = xc_sched_credit_params_set(h->xch, 0, &cs);
    }
    if (r < 0)
        return xcb_fail(h, err, errno, "cannot change Xen's %s settings",
                        xcb_sched_name(c->sched_id));
    return 0;
}
