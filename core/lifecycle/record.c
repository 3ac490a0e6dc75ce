/*
 * The store's domain records, read at start and matched with what the hypervisor holds:
 * each record decoded into a struct, then settled by its phase. A running domain is
 * reattached, one that died while xend was down is restarted or forgotten, an unfinished
 * create is removed, an unfinished restart resumed, a saved or migrated domain that was let
 * go of is taken down, and a migrated-in domain is settled with its sender.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_journal.h"
#include "device_registry.h"
#include "domain_table.h"
#include "domain_runtime.h"
#include "domain_time.h"
#include "handover.h"
#include "hv.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"
#include "event_loop.h"
#include "store/store.h"
#include "transfer.h"

/*
 * What the hypervisor holds, read once with dom_list before the records are matched: one
 * round trip for the whole start instead of one dom_info per stored domain (with 10,000
 * domains those were most of a restart). A domain the reconcile destroys is forgotten, so
 * a second record naming the same id does not find it, nor the check after it.
 */
struct reconcile {
    bool boot_changed;
    size_t restored, cleaned;
    struct xend_lifecycle_hv_list *hv;
};

static void snapshot_add(void *arg, const struct xend_dominfo *info)
{
    struct xend_lifecycle_hv_list *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = xend_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = *info;
}

static int by_domid(const void *a, const void *b)
{
    uint32_t x = ((const struct xend_dominfo *)a)->domid;
    uint32_t y = ((const struct xend_dominfo *)b)->domid;
    return x < y ? -1 : x > y;
}

static void snapshot_take(struct xend_lifecycle_hv_list *s)
{
    struct xend_err err = {0};
    s->taken = XEND_HV_CALL(dom_list, &err, snapshot_add, s) == 0;
    size_t i = 1;
    while (i < s->n && s->v[i - 1].domid < s->v[i].domid)
        i++; /* a backend that lists in id order (sim) is not sorted again */
    if (s->taken && i < s->n)
        qsort(s->v, s->n, sizeof(*s->v), by_domid);
}

/* The hypervisor's view of domain id: 0 and *out, or -XEND_ENOENT. */
static int snapshot_info(const struct xend_lifecycle_hv_list *s, uint32_t id,
                         struct xend_dominfo *out)
{
    if (!s->taken) {
        struct xend_err err = {0};
        out->size = sizeof(*out);
        return XEND_HV_CALL(dom_info, &err, id, out);
    }
    struct xend_dominfo key = {.domid = id};
    const struct xend_dominfo *hit = bsearch(&key, s->v, s->n, sizeof(*s->v), by_domid);
    if (hit == NULL)
        return -XEND_ENOENT;
    *out = *hit;
    return 0;
}

static void snapshot_forget(struct xend_lifecycle_hv_list *s, uint32_t id)
{
    struct xend_dominfo key = {.domid = id};
    struct xend_dominfo *hit = bsearch(&key, s->v, s->n, sizeof(*s->v), by_domid);
    if (hit != NULL) {
        size_t i = (size_t)(hit - s->v);
        memmove(hit, hit + 1, (s->n - i - 1) * sizeof(*s->v));
        s->n--;
    }
}

static void restart_after_reconcile(int rc, const struct xend_err *err, struct xend_domain *dom,
                                    void *arg)
{
    (void)arg;
    (void)dom;
    if (rc < 0)
        xend_log_warn("restart at start failed", "error=\"%s\"", xend_err_msg(err));
}

/*
 * Migrated in, and the sender had let go, when xend stopped: the domain exists only here.
 * A start finishes taking it over as transfer.c would have (recv_take_over): prepare it
 * from its config, attach its devices (a device the crash left attached is taken over,
 * devscript.c), run on, record it. It runs from the loop once the start's reconcile is
 * over, as a create does: the device classes' checks want the domains it loads (Domain-0,
 * a driver domain). Strangers are not adopted meanwhile.
 */
struct take_over {
    char key[33];
    struct xend_sxp *config; /* owned until prepared */
    uint32_t id;
    bool unpause;
    struct xend_domain *dom; /* once prepared */
};

static void take_over_end(struct take_over *t)
{
    xend_lifecycle_adopt_hold(false);
    free(t);
}

static void take_over_done(void *arg, int rc)
{
    struct take_over *t = arg;
    t->dom->busy = false;
    if (rc < 0)
        xend_log_error("migrated domain not recorded", "domain=%s id=%u", t->dom->name, t->id);
    else
        xend_log_notice("migrated domain taken over", "domain=%s id=%u", t->dom->name, t->id);
    xend_lifecycle_emit("xend.domain.create", t->dom, NULL);
    take_over_end(t);
    xend_lifecycle_schedule_check(); /* it may have exited while busy */
}

static void take_over_forgotten(void *arg, int rc)
{
    (void)rc;
    struct take_over *t = arg;
    xend_lifecycle_emit("xend.domain.died", t->dom, NULL);
    xend_domain_free(t->dom);
    take_over_end(t);
}

static void take_over_attached(int rc, const struct xend_err *err, void *arg)
{
    struct take_over *t = arg;
    if (rc < 0) {
        /* The attach rolled back what it had attached but kept the domain, which holds the
         * only copy of the guest: its record goes, and the domain is adopted. */
        xend_log_error("migrated domain take-over failed",
                       "domain=%s error=\"%s\" action=\"left to be adopted\"", t->dom->name,
                       xend_err_msg(err));
        xend_lifecycle_forget(t->dom, take_over_forgotten, t);
        return;
    }
    xend_lifecycle_restored(t->dom, t->unpause, take_over_done, t);
}

static void take_over_resume(void *arg)
{
    struct take_over *t = arg;
    struct xend_err err = {0};
    /* A local migration's source may still be going down (its teardown finishes after the
     * reconcile): its name is the copy's once it is gone. */
    struct xend_domain *holder = xend_domain_by_name(xend_sxp_child_value(t->config, "name", ""));
    if (holder && holder->phase == XEND_DOM_DYING) {
        xend_loop_host_table()->timer_add(NULL, 50, false, take_over_resume, t);
        return;
    }
    int rc = xend_lifecycle_prepare(t->config, &t->dom, &err);
    t->config = NULL; /* taken */
    if (rc < 0) {
        /* It holds the only copy of the guest: leave it running, to be adopted (listed
         * and managed) as a domain xend did not create, rather than destroy it. */
        xend_log_error("migrated domain take-over failed",
                       "key=%s id=%u error=\"%s\" action=\"left to be adopted\"", t->key, t->id,
                       xend_err_msg(&err));
        struct xend_err e = {0};
        xend_store_del(xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, t->key, NULL, NULL, &e);
        take_over_end(t);
        return;
    }
    snprintf(t->dom->uuid, sizeof(t->dom->uuid), "%s", t->key);
    xend_domain_set_id(t->dom, t->id);
    xend_log_notice("migrated domain take-over resumed", "domain=%s id=%u", t->dom->name, t->id);
    t->dom->busy = true;
    xend_lifecycle_attach_instance(t->dom, XEND_HOOK_RESTORE, true, take_over_attached, t);
}

static void take_over_later(const char *key, const struct xend_sxp *cfg, uint32_t id, bool unpause)
{
    struct take_over *t = xend_xcalloc(1, sizeof(*t));
    snprintf(t->key, sizeof(t->key), "%s", key);
    t->config = xend_sxp_copy(cfg);
    t->id = id;
    t->unpause = unpause;
    xend_lifecycle_adopt_hold(true);
    xend_loop_host_table()->timer_add(NULL, 0, false, take_over_resume, t);
}

struct name_search {
    const char *name;
    uint32_t ids[8];
    size_t n;
};

static void find_by_name(void *arg, const struct xend_dominfo *info)
{
    struct name_search *ns = arg;
    if (info->domid != 0 && info->name[0] && strcmp(info->name, ns->name) == 0 &&
        ns->n < sizeof(ns->ids) / sizeof(ns->ids[0]))
        ns->ids[ns->n++] = info->domid;
}

/* An incoming migration's intent lists (spare ID...): the source's domain of the same name
 * on this host, whose own record may load only after this one. */
static bool spared(const struct xend_sxp *rec, uint32_t id)
{
    const struct xend_sxp *l = xend_sxp_child(rec, "spare");
    for (size_t i = 1; i < xend_sxp_length(l); i++) {
        long long v;
        const char *t = xend_sxp_atom_text(xend_sxp_nth(l, i));
        if (t && xend_sxp_text_int(t, &v) && v == (long long)id)
            return true;
    }
    return false;
}

/*
 * Whether a record's domain was let go of before xend stopped: the log line that says so,
 * or NULL. A save let go once its file holds the complete image (transfer.c), a migration
 * once its release record is durable (handover.h); (released 1) is the mark of saves of
 * earlier versions.
 */
static const char *released_by(const char *key, const struct xend_sxp *rec)
{
    long long v;
    const struct xend_sxp *transfer = xend_sxp_child(rec, "transfer");
    const char *file = xend_sxp_child_value(transfer, "file", NULL);
    if (file && xend_transfer_settle_save(file, xend_sxp_child_value(transfer, "token", "")))
        return "saved domain released";
    if (xend_sxp_child_int(rec, "released", &v) == 0 && v)
        return "saved domain released";
    if (xend_handover_released(key))
        return "migrated domain released";
    return NULL;
}

/* A save or migration that had not let go when xend stopped: the domain runs on as it was
 * before it began, and its record loses the mark. */
static void undo_transfer(struct xend_domain *dom, const struct xend_sxp *transfer)
{
    long long paused = 1;
    xend_sxp_child_int(transfer, "paused", &paused);
    struct xend_err e = {0};
    if (!paused && XEND_HV_CALL(dom_unpause, &e, dom->id) < 0)
        xend_log_warn("unpause after an unfinished transfer failed", "domain=%s error=\"%s\"",
                      dom->name, xend_err_msg(&e));
    xend_log_notice("unfinished transfer undone", "domain=%s running=%s", dom->name,
                    paused ? "no" : "yes");
    xend_domain_refresh(dom, &e);
    xend_lifecycle_persist(dom, NULL, NULL);
}

/*
 * A local migration's copy, made before the source let go of the name (transfer.c): this
 * host's own store says what the source decided. Released: take the copy over. The
 * source's record still there: it kept the domain, the copy goes. Neither: keep the copy,
 * paused, rather than lose the guest.
 */
static void settle_local_migration(struct reconcile *rc, const char *key,
                                   const struct xend_sxp *cfg, uint32_t id,
                                   const struct xend_sxp *received)
{
    const char *src_key = xend_sxp_child_value(received, "key", "");
    long long paused = 0;
    xend_sxp_child_int(received, "paused", &paused);
    struct xend_err err = {0};
    /* The release record stays: the source's own record, maybe loaded later, reads it. */
    if (xend_handover_released(src_key)) {
        take_over_later(key, cfg, id, !paused);
        return;
    }
    struct xend_sxp *src = NULL;
    bool kept =
        xend_store_key_valid(src_key) &&
        xend_store_get(xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, src_key, &src, &err) == 0;
    xend_sxp_free(src);
    if (kept) {
        XEND_HV_CALL(dom_destroy, &err, id);
        snapshot_forget(rc->hv, id);
        xend_store_del(xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, key, NULL, NULL, &err);
        xend_log_notice("migrated copy removed: the source kept the domain", "id=%u", id);
        return;
    }
    xend_log_warn("migrated copy kept paused", "id=%u reason=\"the source's decision is unknown\"",
                  id);
    take_over_later(key, cfg, id, false);
}

/* A stored domain record, decoded; every pointer borrowed from the record. */
struct stored_domain {
    const char *key;
    struct xend_sxp *rec; /* the whole record: the domain's times and runtime read it */
    const char *name;
    const struct xend_sxp *config; /* the (vm ...) */
    enum xend_dom_phase phase;
    long long id; /* -1: none */
    enum xend_restart_mode restart;
    const char *halt_reason; /* NULL when none */
    int shutdown_requested;  /* -1 when none was */
    bool restart_forced;
    const struct xend_sxp *devices;
    const struct xend_sxp *transfer; /* a save or migration had begun: (transfer ...) */
    const struct xend_sxp *received; /* migrated in: (received ...) */
    bool taken;                      /* (received (taken 1)): the take-over was settled */
};

/* The phase as xend_domain_record words it. Anything else (no phase: a record of an older
 * xend) is a live domain's. */
static enum xend_dom_phase phase_decode(const char *s)
{
    static const struct {
        const char *name;
        enum xend_dom_phase phase;
    } phases[] = {
        {"creating", XEND_DOM_CREATING},
        {"restarting", XEND_DOM_RESTARTING},
        {"halted", XEND_DOM_HALTED},
    };
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
        if (strcmp(s, phases[i].name) == 0)
            return phases[i].phase;
    return XEND_DOM_LIVE;
}

/* -XEND_EINVAL for a record without a name or a config. */
static int stored_domain_decode(const char *key, struct xend_sxp *rec, struct stored_domain *out)
{
    *out = (struct stored_domain){.key = key, .rec = rec, .id = -1, .shutdown_requested = -1};
    out->name = xend_sxp_child_value(rec, "name", NULL);
    out->config = xend_sxp_nth(xend_sxp_child(rec, "config"), 1);
    if (out->name == NULL || out->config == NULL)
        return -XEND_EINVAL;
    out->phase = phase_decode(xend_sxp_child_value(rec, "phase", "live"));
    xend_sxp_child_int(rec, "id", &out->id);
    out->restart = XEND_RESTART_ONREBOOT;
    xend_lifecycle_parse_restart(xend_sxp_child_value(out->config, "restart", "onreboot"),
                                 &out->restart);
    out->halt_reason = xend_sxp_child_value(rec, "halt_reason", NULL);
    long long v;
    if (xend_sxp_child_int(rec, "shutdown_requested", &v) == 0)
        out->shutdown_requested = (int)v;
    if (xend_sxp_child_int(rec, "restart_forced", &v) == 0)
        out->restart_forced = v != 0;
    out->devices = xend_sxp_child(rec, "devices");
    out->transfer = xend_sxp_child(rec, "transfer");
    out->received = xend_sxp_child(rec, "received");
    long long taken = 0;
    xend_sxp_child_int(out->received, "taken", &taken);
    out->taken = taken != 0;
    return 0;
}

/* Never acknowledged: remove whatever was made. The intent record was written before the
 * hypervisor gave an id, so look for the domain by its name too. */
static void remove_unfinished_create(struct reconcile *rc, const struct stored_domain *sd,
                                     bool exists)
{
    struct xend_err err = {0};
    if (exists) {
        XEND_HV_CALL(dom_destroy, &err, (uint32_t)sd->id);
        snapshot_forget(rc->hv, (uint32_t)sd->id);
    }
    struct name_search ns = {.name = sd->name};
    XEND_HV_CALL(dom_list, &err, find_by_name, &ns);
    for (size_t i = 0; i < ns.n; i++)
        if (xend_domain_by_id(ns.ids[i]) == NULL && !spared(sd->rec, ns.ids[i])) {
            XEND_HV_CALL(dom_destroy, &err, ns.ids[i]);
            snapshot_forget(rc->hv, ns.ids[i]);
        }
    xend_store_del(xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, sd->key, NULL, NULL, &err);
    xend_log_notice("unfinished create removed", "domain=%s", sd->name);
    rc->cleaned++;
}

/*
 * On the store loader's helpers, as each record is parsed: its config gets a block of its
 * own, which the domain then keeps without the rest of the record (a part kept from a
 * parsed tree keeps the whole block, lib/sxp.h). With 10,000 domains the copy, and the new
 * memory it is written to, were a fifth of the loop thread's start.
 */
static void config_apart(struct xend_sxp *rec)
{
    struct xend_sxp *c = xend_sxp_child(rec, "config");
    if (xend_sxp_length(c) >= 2)
        xend_sxp_replace_take(c, 1, xend_sxp_copy(xend_sxp_nth(c, 1)));
}

/* The domain of a record, as it was when written, not yet bound to a hypervisor domain;
 * NULL when its name is taken. It takes the config out of the record: sd->config is the
 * domain's from then on. */
static struct xend_domain *domain_from_record(struct stored_domain *sd)
{
    struct xend_domain *dom = xend_domain_new(sd->name);
    if (dom == NULL)
        return NULL;
    snprintf(dom->uuid, sizeof(dom->uuid), "%s", sd->key);
    /* A copy apart (config_apart) is kept as it is; a record changed since, copied. */
    dom->config = xend_sxp_detach_own(xend_sxp_child(sd->rec, "config"), 1);
    sd->config = dom->config;
    xend_domain_config_changed(dom);
    dom->restart_mode = sd->restart;
    xend_domain_time_load(dom, sd->rec);
    xend_domain_runtime_load(dom, sd->rec);
    if (sd->halt_reason)
        xend_domain_set_halt_reason(dom, "%s", sd->halt_reason);
    dom->shutdown_requested = sd->shutdown_requested;
    dom->restart_forced = sd->restart_forced;
    return dom;
}

/* Its image was saved, or the destination of its migration holds it, since before xend
 * stopped: finish taking it down, never restart it. `released` is the log line. */
static void finish_release(struct reconcile *rc, struct xend_domain *dom,
                           const struct stored_domain *sd, bool exists, const char *released)
{
    struct xend_err err = {0};
    if (exists)
        xend_domain_set_id(dom, (uint32_t)sd->id);
    xend_devices_reattach(dom, sd->devices, &err);
    dom->phase = XEND_DOM_LIVE;
    dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_log_notice(released, "domain=%s", sd->name);
    rc->cleaned++;
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, restart_after_reconcile, NULL);
}

/* xend died while building the new instance: remove what was made of it, then restart
 * again, as was decided. */
static void resume_restart(struct reconcile *rc, struct xend_domain *dom,
                           const struct stored_domain *sd, bool exists)
{
    struct xend_err err = {0};
    if (exists) {
        XEND_HV_CALL(dom_destroy, &err, (uint32_t)sd->id);
        snapshot_forget(rc->hv, (uint32_t)sd->id);
    }
    xend_devices_reattach(dom, sd->devices, &err);
    dom->phase = XEND_DOM_LIVE;
    xend_domain_time_restart_forget(dom);
    dom->restart_forced = true;
    xend_log_notice("unfinished restart resumed", "domain=%s", sd->name);
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_REBOOT, true, restart_after_reconcile, NULL);
}

/* Running on: xend manages it again. `take_over`: migrated in from another host, its
 * sender's decision is not known here. */
static void reattach(struct reconcile *rc, struct xend_domain *dom, const struct stored_domain *sd,
                     const struct xend_dominfo *info, bool take_over)
{
    struct xend_err err = {0};
    xend_domain_set_id(dom, (uint32_t)sd->id);
    dom->info = *info;
    dom->info_known = true;
    xend_devices_reattach(dom, sd->devices, &err);
    dom->phase = XEND_DOM_LIVE;
    struct xend_err e = {0};
    if (xend_hooks_run(XEND_HOOK_CREATE, dom, XEND_HOOK_REATTACH, -1, NULL, &e, NULL) < 0)
        xend_log_warn("reattach hook failed", "domain=%s error=\"%s\"", sd->name, xend_err_msg(&e));
    xend_log_info("domain reattached", "domain=%s id=%u", sd->name, dom->id);
    xend_lifecycle_emit("xend.domain.create", dom, NULL);
    rc->restored++;
    if (take_over) {
        xend_domain_set_mark(dom, xend_sxp_copy(sd->received));
        long long paused = 0;
        xend_sxp_child_int(sd->received, "paused", &paused);
        xend_transfer_doubt(dom, xend_sxp_child_value(sd->received, "host", ""),
                            xend_sxp_child_value(sd->received, "port", "0"),
                            xend_sxp_child_value(sd->received, "key", ""), !paused);
    } else if (sd->transfer) {
        undo_transfer(dom, sd->transfer);
    }
}

/* It died while xend was down. Restart per its mode (as a poweroff), else forget it. */
static void died_meanwhile(struct reconcile *rc, struct xend_domain *dom,
                           const struct stored_domain *sd)
{
    struct xend_err err = {0};
    /* Reattached, so the teardown releases them (down scripts, unbinds) as at any death. */
    xend_devices_reattach(dom, sd->devices, &err);
    dom->phase = XEND_DOM_LIVE;
    bool restart = !rc->boot_changed && xend_lifecycle_wants_restart(dom, XEND_SHUTDOWN_POWEROFF);
    xend_log_notice("domain died while xend was down", "domain=%s restart=%s", sd->name,
                    restart ? "yes" : "no");
    xend_domain_time_restart_forget(dom); /* xend was not there to restart it */
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_POWEROFF, restart, restart_after_reconcile, NULL);
}

static void settle_record(const char *key, struct xend_sxp *rec, struct reconcile *rc)
{
    struct xend_err err = {0};
    struct stored_domain sd;
    if (stored_domain_decode(key, rec, &sd) < 0) {
        xend_log_warn("store record ignored", "key=%s reason=\"no name or config\"", key);
        xend_store_del(xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, key, NULL, NULL, &err);
        return;
    }
    struct xend_dominfo info = {.size = sizeof(info)};
    bool exists = sd.id >= 0 && snapshot_info(rc->hv, (uint32_t)sd.id, &info) == 0 &&
                  (info.name[0] == '\0' || strcmp(info.name, sd.name) == 0);
    /* Migrated in, its record marked before it answered (received): settled with the
     * sender (whatever phase a later write of the record gave it). */
    bool take_over = sd.received != NULL && exists;
    if (take_over && !sd.taken) {
        settle_local_migration(rc, key, sd.config, (uint32_t)sd.id, sd.received);
        rc->restored++;
        return;
    }
    if (sd.phase == XEND_DOM_CREATING && !take_over) {
        remove_unfinished_create(rc, &sd, exists);
        return;
    }
    struct xend_domain *dom = domain_from_record(&sd);
    if (dom == NULL) {
        xend_log_warn("store record ignored", "key=%s reason=\"duplicate name %s\"", key, sd.name);
        return;
    }
    const char *released = released_by(key, rec);
    if (released) {
        finish_release(rc, dom, &sd, exists, released);
        return;
    }
    switch (sd.phase) {
    case XEND_DOM_RESTARTING:
        resume_restart(rc, dom, &sd, exists);
        break;
    case XEND_DOM_HALTED:
        dom->phase = XEND_DOM_HALTED;
        xend_devices_reattach(dom, NULL, &err);
        break;
    case XEND_DOM_CREATING: /* only when migrated in (take_over): it runs */
    case XEND_DOM_LIVE:
    case XEND_DOM_DYING: /* never recorded: a dying domain's record says live */
        if (exists)
            reattach(rc, dom, &sd, &info, take_over);
        else
            died_meanwhile(rc, dom, &sd);
        break;
    }
}

/* The record (taken) with its domain's device changes applied (device_journal.h). */
static void load_record(const char *key, struct xend_sxp *rec, struct reconcile *rc)
{
    struct xend_sxp *merged = xend_device_journal_merge(key, rec);
    if (merged) {
        xend_sxp_free(rec);
        rec = merged;
    }
    settle_record(key, rec, rc);
    xend_sxp_free(rec);
}

int xend_lifecycle_load_records(bool boot_changed, size_t *restored, size_t *cleaned,
                                struct xend_lifecycle_hv_list *listed, struct xend_err *err)
{
    *listed = (struct xend_lifecycle_hv_list){0};
    struct reconcile rc = {.boot_changed = boot_changed, .hv = listed};
    struct xend_store_loader *loader = NULL;
    int r = xend_device_journal_load(err);
    if (r >= 0)
        r = xend_store_load_begin(xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, config_apart, &loader,
                                  err);
    if (r >= 0) {
        /* The store's helpers read the first records while the hypervisor lists its
         * domains. A settle writes only its own record (the loader's rule). */
        snapshot_take(rc.hv);
        xend_handover_preload();
        const char *key;
        const struct xend_sxp *rec;
        while (xend_store_load_next(loader, &key, &rec) == 1)
            load_record(key, xend_store_load_take(loader), &rc);
        r = xend_store_load_end(loader);
        xend_handover_preload_done();
    }
    xend_device_journal_load_done();
    *restored = rc.restored;
    *cleaned = rc.cleaned;
    return r;
}
