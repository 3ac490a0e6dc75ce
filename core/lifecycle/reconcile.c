/*
 * Watching the hypervisor: a check lists its domains once and finds which of xend's have
 * exited (torn down, maybe restarted) or vanished, and which it holds that xend does not
 * know (adopted). Checks run on the backend's notification, coalesced under a burst, and
 * on a timer as a safety net. Start reconciles the store's records first (record.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "crashpoint.h"
#include "domain_table.h"
#include "hv.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"
#include "event_loop.h"
#include "store/store.h"

#define CHECK_INTERVAL_MS 5000
#define CHECK_COALESCE_MS 10
/* A check may take at most 1/CHECK_SHARE of the loop during a burst of notifications. */
#define CHECK_SHARE 10
#define CHECK_COALESCE_MAX_MS 500

static struct {
    struct xend_watch *notify_watch;
    struct xend_timer *check_timer;
    struct xend_timer *check_pending; /* a coalesced check is scheduled */
    uint64_t check_cost_us;           /* what the last check took */
} checker;

struct seen_set {
    uint32_t *ids;
    size_t n, cap;
    /* The list the start's reconcile took (xend_lifecycle_hv_list): a domain it bound
     * keeps the info it was given from it, or newer. */
    bool from_start;
};

static void note_domain(void *arg, const struct xend_dominfo *info)
{
    struct seen_set *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->ids = xend_xrealloc(s->ids, s->cap * sizeof(*s->ids));
    }
    s->ids[s->n++] = info->domid;
    struct xend_domain *d = xend_domain_by_id(info->domid);
    if (d != NULL && s->from_start && d->info_known)
        return;
    if (d == NULL && xend_lifecycle_lc.adopt_holds > 0 && info->domid != 0)
        return; /* maybe a restore's new domain: look again once it is done */
    if (d == NULL) {
        /* A domain xend did not create: adopt it so that it is listed. */
        char name[64];
        if (info->domid == 0)
            snprintf(name, sizeof(name), "Domain-0");
        else if (info->name[0] && xend_domain_by_name(info->name) == NULL)
            snprintf(name, sizeof(name), "%s", info->name);
        else
            snprintf(name, sizeof(name), "Domain-%u", info->domid);
        d = xend_domain_new(name);
        if (d == NULL)
            return;
        xend_domain_set_id(d, info->domid);
        d->phase = XEND_DOM_LIVE;
        d->restart_mode = XEND_RESTART_NEVER;
        if (info->domid != 0)
            xend_log_notice("domain adopted", "domain=%s id=%u", name, info->domid);
        xend_lifecycle_emit("xend.domain.create", d, NULL);
    }
    d->info = *info;
    d->info_known = true;
    d->info_ms = xend_loop_now_ms();
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool seen(const struct seen_set *s, uint32_t id)
{
    return s->n > 0 && bsearch(&id, s->ids, s->n, sizeof(*s->ids), cmp_u32) != NULL;
}

/* `listed`: the start's list, when it was taken; else the hypervisor is asked now. */
static void check_domains(const struct xend_lifecycle_hv_list *listed)
{
    struct seen_set s = {0};
    struct xend_err err = {0};
    if (listed != NULL && listed->taken) {
        s.from_start = true;
        s.cap = listed->n;
        s.ids = xend_xmalloc((s.cap ? s.cap : 1) * sizeof(*s.ids));
        for (size_t i = 0; i < listed->n; i++)
            note_domain(&s, &listed->v[i]); /* sorted by id already */
    } else if (XEND_HV_CALL(dom_list, &err, note_domain, &s) < 0) {
        xend_log_warn("hypervisor list failed", "error=\"%s\"", xend_err_msg(&err));
        free(s.ids);
        return;
    } else if (s.n) {
        qsort(s.ids, s.n, sizeof(*s.ids), cmp_u32);
    }
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++) {
        struct xend_domain *d = all[i];
        if (d->busy || d->phase != XEND_DOM_LIVE || d->id == UINT32_MAX)
            continue;
        if (!seen(&s, d->id)) {
            /* Destroyed behind xend's back: it is gone, no restart. */
            xend_log_notice("domain vanished", "domain=%s id=%u", d->name, d->id);
            d->info_known = false;
            if (d->config == NULL) {
                xend_lifecycle_emit("xend.domain.died", d, NULL);
                xend_domain_free(d);
            } else {
                xend_domain_set_id(d, UINT32_MAX);
                xend_lifecycle_teardown(d, XEND_SHUTDOWN_POWEROFF, false, NULL, NULL);
            }
            continue;
        }
        uint32_t f = d->info.flags;
        if (!(f & (XEND_DOMF_SHUTDOWN | XEND_DOMF_CRASHED)))
            continue;
        int reason = (f & XEND_DOMF_CRASHED) ? XEND_SHUTDOWN_CRASH : (int)d->info.shutdown_reason;
        if (reason == XEND_SHUTDOWN_SUSPEND) {
            xend_lifecycle_emit("xend.domain.suspended", d, NULL);
            continue;
        }
        xend_lifecycle_emit("xend.domain.exit", d, xend_shutdown_reason_name(reason));
        bool restart = xend_lifecycle_wants_restart(d, reason);
        xend_log_info("domain exited", "domain=%s id=%u reason=%s restart=%s", d->name, d->id,
                      xend_shutdown_reason_name(reason), restart ? "yes" : "no");
        xend_lifecycle_teardown(d, reason, restart, NULL, NULL);
    }
    free(all);
    free(s.ids);
}

void xend_lifecycle_check(void)
{
    xend_lifecycle_lc.checks++;
    uint64_t t0 = xend_clock_ns();
    check_domains(NULL);
    checker.check_cost_us = (xend_clock_ns() - t0) / 1000u;
}

static void on_coalesced_check(void *arg)
{
    (void)arg;
    checker.check_pending = NULL; /* a one-shot timer: the core frees it */
    xend_lifecycle_check();
}

/*
 * A burst of state changes (a thousand creates) must not cost a full list each: one check
 * covers every change up to it, so notifications within the coalescing delay share one.
 * The delay grows with what a check costs (a list of every domain), so that with thousands
 * of domains a steady stream of notifications cannot take more than a tenth of the loop.
 */
void xend_lifecycle_schedule_check(void)
{
    if (checker.check_pending != NULL)
        return;
    uint64_t delay_ms = checker.check_cost_us * CHECK_SHARE / 1000u;
    if (delay_ms < CHECK_COALESCE_MS)
        delay_ms = CHECK_COALESCE_MS;
    if (delay_ms > CHECK_COALESCE_MAX_MS)
        delay_ms = CHECK_COALESCE_MAX_MS;
    checker.check_pending =
        xend_loop_host_table()->timer_add(NULL, delay_ms, false, on_coalesced_check, NULL);
}

static void on_notify(int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    (void)arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops && ops->notify_ack)
        ops->notify_ack(ctx);
    xend_lifecycle_schedule_check();
}

/* A domain whose last record write failed is written again (which also replaces the
 * store's own retry of the older value): once the store can, its info stops saying
 * store_error and the record is what the domain is now. */
static void rewrite_failed_records(void)
{
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    for (size_t i = 0; i < n; i++)
        if (all[i]->record_failed && !all[i]->busy && all[i]->phase != XEND_DOM_CREATING &&
            all[i]->uuid[0])
            xend_lifecycle_persist(all[i], NULL, NULL);
    free(all);
}

static void on_check_timer(void *arg)
{
    (void)arg;
    xend_lifecycle_check();
    rewrite_failed_records();
}

int xend_lifecycle_start(struct xend_err *err)
{
    bool boot_changed = xend_store_boot_id_changed(xend_lifecycle_lc.store);
    if (boot_changed)
        xend_log_notice("host rebooted since the store was written",
                        "effect=\"domains that are gone are not restarted\"");
    size_t restored = 0, cleaned = 0;
    struct xend_lifecycle_hv_list listed;
    int r = xend_lifecycle_load_records(boot_changed, &restored, &cleaned, &listed, err);
    if (r < 0) {
        free(listed.v);
        return r;
    }
    xend_log_info("store loaded", "records=%d reattached=%zu cleaned=%zu", r, restored, cleaned);
    xend_crash_point("reconcile.loaded");
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops && ops->notify_fd) {
        int fd = ops->notify_fd(ctx);
        if (fd >= 0)
            checker.notify_watch =
                xend_loop_host_table()->watch_add(NULL, fd, XEND_WATCH_READ, on_notify, NULL);
    }
    /* Adopt Domain-0 and anything else, and reap what died meanwhile: from the list the
     * reconcile took, not a second one (with 10,000 domains a tenth of the start). */
    xend_lifecycle_lc.checks++;
    check_domains(&listed);
    free(listed.v);
    /* A safety net for a lost notification, as the original's periodic refresh. */
    checker.check_timer =
        xend_loop_host_table()->timer_add(NULL, CHECK_INTERVAL_MS, true, on_check_timer, NULL);
    return 0;
}

bool xend_lifecycle_busy(void)
{
    return xend_lifecycle_lc.hv_answers_due > 0;
}

void xend_lifecycle_stop(void)
{
    xend_loop_host_table()->watch_remove(checker.notify_watch);
    xend_loop_host_table()->timer_remove(checker.check_timer);
    xend_loop_host_table()->timer_remove(checker.check_pending);
    checker.notify_watch = NULL;
    checker.check_timer = NULL;
    checker.check_pending = NULL;
}
