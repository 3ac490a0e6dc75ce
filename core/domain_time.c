/*
 * A domain's times on the boot clock (see domain_time.h).
 */
#include "domain_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event_loop.h"
#include "sxp.h"

double xend_time_since(uint64_t now_ns, uint64_t then_ns)
{
    return now_ns > then_ns ? (double)(now_ns - then_ns) / 1e9 : 0.0;
}

bool xend_time_restart_too_soon(uint64_t now_ns, uint64_t last_ns, double min_s, double *since_s)
{
    *since_s = xend_time_since(now_ns, last_ns);
    return last_ns != 0 && *since_s < min_s;
}

struct xend_time_stamps xend_time_reload(bool same_boot, struct xend_time_stamps stored,
                                         double stored_start_wall, double now_wall, uint64_t now_ns)
{
    if (same_boot && stored.start_ns != 0 && stored.start_ns <= now_ns)
        return (struct xend_time_stamps){.start_ns = stored.start_ns,
                                         .restart_ns =
                                             stored.restart_ns <= now_ns ? stored.restart_ns : 0};
    struct xend_time_stamps t = {0};
    if (stored_start_wall <= 0)
        return t;
    double up = now_wall - stored_start_wall;
    if (up < 0)
        up = 0;
    uint64_t up_ns = (uint64_t)(up * 1e9);
    t.start_ns = up_ns < now_ns ? now_ns - up_ns : 1; /* not before the boot */
    return t;
}

/* This boot's id, read once ("" when unknown). */
static const char *boot_id(void)
{
    static char id[64];
    static bool read;
    if (!read) {
        read = true;
        if (!xend_clock_boot_id(id, sizeof(id)))
            id[0] = '\0';
    }
    return id;
}

void xend_domain_time_started(struct xend_domain *dom, bool restart)
{
    dom->start_time = xend_loop_wall_time();
    dom->start_ns = xend_clock_boot_ns();
    if (restart) {
        dom->restart_time = dom->start_time;
        dom->restart_ns = dom->start_ns;
    }
}

double xend_domain_up_time(const struct xend_domain *dom)
{
    return xend_time_since(xend_clock_boot_ns(), dom->start_ns);
}

bool xend_domain_restart_too_soon(const struct xend_domain *dom, double min_s, double *since_s)
{
    return xend_time_restart_too_soon(xend_clock_boot_ns(), dom->restart_ns, min_s, since_s);
}

void xend_domain_time_restart_forget(struct xend_domain *dom)
{
    dom->restart_time = 0;
    dom->restart_ns = 0;
}

void xend_domain_time_record(const struct xend_domain *dom, struct xend_sxp *rec)
{
    if (boot_id()[0] == '\0')
        return;
    xend_sxp_add_kv(rec, "boot_id", boot_id());
    if (dom->start_ns)
        xend_sxp_add_kv_take(rec, "start_ns",
                             xend_sxp_atom_fmt("%llu", (unsigned long long)dom->start_ns));
    if (dom->restart_ns)
        xend_sxp_add_kv_take(rec, "restart_ns",
                             xend_sxp_atom_fmt("%llu", (unsigned long long)dom->restart_ns));
}

static uint64_t child_u64(const struct xend_sxp *rec, const char *key)
{
    const char *t = xend_sxp_child_value(rec, key, NULL);
    return t ? strtoull(t, NULL, 10) : 0;
}

void xend_domain_time_load(struct xend_domain *dom, const struct xend_sxp *rec)
{
    dom->start_time = strtod(xend_sxp_child_value(rec, "start_time", "0"), NULL);
    dom->restart_time = strtod(xend_sxp_child_value(rec, "restart_time", "0"), NULL);
    const char *id = xend_sxp_child_value(rec, "boot_id", NULL);
    bool same = id != NULL && boot_id()[0] != '\0' && strcmp(id, boot_id()) == 0;
    struct xend_time_stamps stored = {.start_ns = child_u64(rec, "start_ns"),
                                      .restart_ns = child_u64(rec, "restart_ns")};
    struct xend_time_stamps t = xend_time_reload(same, stored, dom->start_time,
                                                 xend_loop_wall_time(), xend_clock_boot_ns());
    dom->start_ns = t.start_ns;
    dom->restart_ns = t.restart_ns;
    if (t.restart_ns == 0)
        dom->restart_time = 0;
}
