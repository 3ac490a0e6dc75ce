/*
 * Device changes as records of their own (see device_journal.h). A change record:
 *
 *   (device_change (domain UUID) (seq N) (class C) (index I) [(device ...)])
 *
 * keyed UUID.C.I (C in hex where it is no valid key segment), so the newest change of a
 * device supersedes the older ones in the store's queue and on disk: one file per device
 * ever changed since its domain record was last written, however many changes.
 */
#include "device_journal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "domain_table.h"
#include "hex.h"
#include "log/log.h"

#define NS_DEVICE "device"

/* A change read at start: its record (owned) and what load_done needs. */
struct change {
    char *key;
    const char *uuid; /* in rec */
    long long seq;
    struct xend_sxp *rec;
};

/* A domain's sequence number as the start found it (record and changes). */
struct seq_seen {
    char uuid[33];
    long long seq;
};

static struct {
    struct xend_store *store;
    struct change *v; /* sorted by uuid, then seq */
    size_t n, cap;
    bool *used; /* v[i]'s domain had a record */
    struct seq_seen *seen;
    size_t n_seen, cap_seen;
} J;

void xend_device_journal_init(struct xend_store *store)
{
    J.store = store;
}

static void key_of(const char *uuid, const char *cls, uint32_t index, char *out, size_t len)
{
    snprintf(out, len, "%s.%s.%u", uuid, cls, index);
    if (xend_store_key_valid(out) && strchr(cls, '.') == NULL)
        return;
    char hex[2 * 32 + 1];
    size_t n = strnlen(cls, 32);
    xend_hex_encode((const unsigned char *)cls, n, hex);
    snprintf(out, len, "%s.x%s.%u", uuid, hex, index);
}

/* A change in flight: the domain (if still the same one) learns when it failed. */
struct put_wait {
    char name[64];
    char uuid[33];
    xend_store_done_fn *done;
    void *arg;
};

static void put_done(void *arg, int rc)
{
    struct put_wait *w = arg;
    struct xend_domain *d = xend_domain_by_name(w->name);
    if (rc < 0 && d != NULL && strcmp(d->uuid, w->uuid) == 0)
        d->record_failed = true; /* the periodic check writes the whole record again */
    if (w->done)
        w->done(w->arg, rc);
    free(w);
}

unsigned long long xend_device_journal_next_seq(const struct xend_domain *dom)
{
    return dom->device_seq + 1;
}

int xend_device_journal_put(struct xend_domain *dom, const char *cls, uint32_t index,
                            const struct xend_sxp *entry, xend_store_done_fn *done, void *arg,
                            struct xend_err *err)
{
    if (J.store == NULL)
        return xend_err_set(err, XEND_EIO, "the store is not open");
    char key[160];
    key_of(dom->uuid, cls, index, key, sizeof(key));
    struct xend_sxp *rec = xend_sxp_list_of("device_change", NULL);
    xend_sxp_add_kv(rec, "domain", dom->uuid);
    xend_sxp_add_kv_int(rec, "seq", (long long)xend_device_journal_next_seq(dom));
    dom->device_seq++;
    xend_sxp_add_kv(rec, "class", cls);
    xend_sxp_add_kv_int(rec, "index", index);
    if (entry != NULL)
        xend_sxp_append_take(rec, xend_sxp_copy(entry));
    struct put_wait *w = xend_xmalloc(sizeof(*w));
    snprintf(w->name, sizeof(w->name), "%s", dom->name);
    snprintf(w->uuid, sizeof(w->uuid), "%s", dom->uuid);
    w->done = done;
    w->arg = arg;
    int rc = xend_store_put(J.store, NS_DEVICE, key, rec, put_done, w, err);
    xend_sxp_free(rec);
    if (rc < 0)
        free(w);
    return rc;
}

/* ---- applying changes to a record ---- */

static long long record_seq(const struct xend_sxp *rec)
{
    long long seq = 0;
    xend_sxp_child_int(xend_sxp_child(rec, "devices"), "seq", &seq);
    return seq;
}

/* The position of the device cls/index among the (device ...) entries of devs, or -1;
 * *k its rank among them, which is the rank of its entry in the config. */
static long find_entry(const struct xend_sxp *devs, const char *cls, long long index, size_t *k)
{
    size_t rank = 0;
    for (size_t i = 1; i < xend_sxp_length(devs); i++) {
        const struct xend_sxp *e = xend_sxp_nth(devs, i);
        const char *n = xend_sxp_name(e);
        if (n == NULL || strcmp(n, "device") != 0)
            continue;
        long long idx = -1;
        xend_sxp_child_int(e, "index", &idx);
        if (idx == index && strcmp(xend_sxp_child_value(e, "class", ""), cls) == 0) {
            *k = rank;
            return (long)i;
        }
        rank++;
    }
    return -1;
}

/* The position of the k-th (device ...) entry of the (vm ...) config, or -1. */
static long config_entry(const struct xend_sxp *vm, size_t k)
{
    size_t seen = 0;
    for (size_t i = 1; i < xend_sxp_length(vm); i++) {
        const char *n = xend_sxp_name(xend_sxp_nth(vm, i));
        if (n != NULL && strcmp(n, "device") == 0 && seen++ == k)
            return (long)i;
    }
    return -1;
}

/* Where the seq sits among the devices does not matter: readers skip all but (device ...). */
static void set_seq(struct xend_sxp *devs, long long seq)
{
    long i = xend_sxp_child_index(devs, "seq");
    struct xend_sxp *kv = xend_sxp_list_of("seq", NULL);
    xend_sxp_append_take(kv, xend_sxp_atom_int(seq));
    if (i >= 0)
        xend_sxp_replace_take(devs, (size_t)i, kv);
    else
        xend_sxp_append_take(devs, kv);
}

/* Take the entry of cls/index out of both lists, if there. */
static void remove_entry(struct xend_sxp *vm, struct xend_sxp *devs, const char *cls,
                         long long index)
{
    size_t k = 0;
    long at = find_entry(devs, cls, index, &k);
    long cat = at >= 0 && vm != NULL ? config_entry(vm, k) : -1;
    if (at >= 0)
        xend_sxp_remove(devs, (size_t)at);
    if (cat >= 0)
        xend_sxp_remove(vm, (size_t)cat);
}

/* A device hot-plugged after the record, to go at the end of both lists. */
struct appended {
    long long added;
    const struct xend_sxp *entry, *cfg;
};

static int cmp_appended(const void *a, const void *b)
{
    const struct appended *x = a, *y = b;
    return (x->added > y->added) - (x->added < y->added);
}

/* The device in both lists: in place of its entry, or at the end (at_end, or none). */
static void put_entry(struct xend_sxp *vm, struct xend_sxp *devs, const char *cls, long long index,
                      const struct xend_sxp *entry, const struct xend_sxp *cfg, bool at_end)
{
    size_t k = 0;
    long at = at_end ? -1 : find_entry(devs, cls, index, &k);
    long cat = at >= 0 && vm != NULL ? config_entry(vm, k) : -1;
    struct xend_sxp *centry = xend_sxp_list_of("device", NULL);
    xend_sxp_append_take(centry, xend_sxp_copy(cfg));
    if (at >= 0)
        xend_sxp_replace_take(devs, (size_t)at, xend_sxp_copy(entry));
    else
        xend_sxp_append_take(devs, xend_sxp_copy(entry));
    if (cat >= 0)
        xend_sxp_replace_take(vm, (size_t)cat, centry);
    else if (vm != NULL)
        xend_sxp_append_take(vm, centry);
    else
        xend_sxp_free(centry);
}

struct xend_sxp *xend_device_journal_apply(const struct xend_sxp *rec,
                                           const struct xend_sxp *const *changes, size_t n)
{
    struct xend_sxp *out = xend_sxp_copy(rec);
    struct xend_sxp *vm = xend_sxp_nth(xend_sxp_child(out, "config"), 1);
    struct xend_sxp *devs = xend_sxp_child(out, "devices");
    if (devs == NULL) {
        devs = xend_sxp_list_of("devices", NULL);
        xend_sxp_append_take(out, devs);
    }
    long long seq = record_seq(rec), last = seq;
    struct appended *tail = xend_xmalloc((n ? n : 1) * sizeof(*tail));
    size_t ntail = 0;
    for (size_t i = 0; i < n; i++) {
        long long s = 0;
        if (xend_sxp_child_int(changes[i], "seq", &s) != 0 || s <= seq)
            continue;
        last = s > last ? s : last;
        const char *cls = xend_sxp_child_value(changes[i], "class", "");
        long long index = -1, added = 0;
        xend_sxp_child_int(changes[i], "index", &index);
        const struct xend_sxp *entry = xend_sxp_child(changes[i], "device");
        const struct xend_sxp *cfg = xend_sxp_nth(xend_sxp_child(entry, "config"), 1);
        xend_sxp_child_int(entry, "added", &added);
        if (entry == NULL || cfg == NULL) { /* removed */
            remove_entry(vm, devs, cls, index);
        } else if (added > seq) {
            /* Hot-plugged since the record: an entry under its index is a device removed
             * before, whose own change it superseded. */
            remove_entry(vm, devs, cls, index);
            tail[ntail++] = (struct appended){.added = added, .entry = entry, .cfg = cfg};
        } else {
            put_entry(vm, devs, cls, index, entry, cfg, false);
        }
    }
    if (ntail > 1)
        qsort(tail, ntail, sizeof(*tail), cmp_appended);
    for (size_t i = 0; i < ntail; i++)
        put_entry(vm, devs, NULL, -1, tail[i].entry, tail[i].cfg, true);
    free(tail);
    set_seq(devs, last);
    return out;
}

/* ---- the start ---- */

static int cmp_change(const void *a, const void *b)
{
    const struct change *x = a, *y = b;
    int c = strcmp(x->uuid, y->uuid);
    return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void load_one(const char *key, const struct xend_sxp *rec, void *arg)
{
    (void)arg;
    const char *uuid = xend_sxp_child_value(rec, "domain", NULL);
    long long seq;
    if (uuid == NULL || strlen(uuid) >= 33 || xend_sxp_child_int(rec, "seq", &seq) != 0) {
        struct xend_err err = {0};
        xend_log_warn("device change ignored", "key=%s reason=\"no domain or seq\"", key);
        xend_store_del(J.store, NS_DEVICE, key, NULL, NULL, &err);
        return;
    }
    if (J.n == J.cap) {
        J.cap = J.cap ? 2 * J.cap : 16;
        J.v = xend_xrealloc(J.v, J.cap * sizeof(*J.v));
    }
    struct xend_sxp *copy = xend_sxp_copy(rec);
    J.v[J.n++] = (struct change){.key = xend_xstrdup(key),
                                 .uuid = xend_sxp_child_value(copy, "domain", ""),
                                 .seq = seq,
                                 .rec = copy};
}

int xend_device_journal_load(struct xend_err *err)
{
    if (J.store == NULL)
        return 0;
    int n = xend_store_load(J.store, NS_DEVICE, load_one, NULL, err);
    if (n < 0)
        return n;
    if (J.n > 1)
        qsort(J.v, J.n, sizeof(*J.v), cmp_change);
    J.used = xend_xcalloc(J.n ? J.n : 1, sizeof(*J.used));
    return n;
}

/* The first change of uuid in J.v, or J.n. */
static size_t first_of(const char *uuid)
{
    size_t lo = 0, hi = J.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(J.v[mid].uuid, uuid) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void remember_seq(const char *uuid, long long seq)
{
    if (seq <= 0 || strlen(uuid) >= sizeof(J.seen[0].uuid))
        return;
    if (J.n_seen == J.cap_seen) {
        J.cap_seen = J.cap_seen ? 2 * J.cap_seen : 16;
        J.seen = xend_xrealloc(J.seen, J.cap_seen * sizeof(*J.seen));
    }
    struct seq_seen *s = &J.seen[J.n_seen++];
    snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
    s->seq = seq;
}

struct xend_sxp *xend_device_journal_merge(const char *uuid, const struct xend_sxp *rec)
{
    long long base = record_seq(rec);
    size_t i = first_of(uuid), end = i;
    while (end < J.n && strcmp(J.v[end].uuid, uuid) == 0)
        end++;
    bool newer = false;
    for (size_t k = i; k < end; k++) {
        J.used[k] = J.v[k].seq > base; /* older ones the record has folded in: deleted */
        newer = newer || J.used[k];
    }
    if (!newer) {
        remember_seq(uuid, base);
        return NULL;
    }
    const struct xend_sxp **changes = xend_xmalloc((end - i) * sizeof(*changes));
    for (size_t k = i; k < end; k++)
        changes[k - i] = J.v[k].rec;
    struct xend_sxp *out = xend_device_journal_apply(rec, changes, end - i);
    free(changes);
    remember_seq(uuid, record_seq(out));
    xend_log_info("device changes applied", "key=%s changes=%zu", uuid, end - i);
    return out;
}

static int cmp_seen(const void *a, const void *b)
{
    return strcmp(((const struct seq_seen *)a)->uuid, ((const struct seq_seen *)b)->uuid);
}

void xend_device_journal_load_done(void)
{
    if (J.n_seen > 0) {
        qsort(J.seen, J.n_seen, sizeof(*J.seen), cmp_seen);
        struct xend_domain **all;
        size_t n = xend_domain_all(&all);
        for (size_t i = 0; i < n; i++) {
            struct seq_seen key, *s;
            snprintf(key.uuid, sizeof(key.uuid), "%s", all[i]->uuid);
            s = bsearch(&key, J.seen, J.n_seen, sizeof(*J.seen), cmp_seen);
            if (s != NULL && (unsigned long long)s->seq > all[i]->device_seq)
                all[i]->device_seq = (unsigned long long)s->seq;
        }
        free(all);
    }
    size_t dropped = 0;
    for (size_t i = 0; i < J.n; i++) {
        if (J.used != NULL && !J.used[i]) { /* none when load failed: keep them */
            struct xend_err err = {0};
            xend_store_del(J.store, NS_DEVICE, J.v[i].key, NULL, NULL, &err);
            dropped++;
        }
        free(J.v[i].key);
        xend_sxp_free(J.v[i].rec);
    }
    if (dropped > 0)
        xend_log_info("device changes dropped", "count=%zu reason=\"folded or no domain\"",
                      dropped);
    free(J.v);
    free(J.used);
    free(J.seen);
    J.v = NULL;
    J.used = NULL;
    J.seen = NULL;
    J.n = J.cap = J.n_seen = J.cap_seen = 0;
}
