/* The queue the loop thread fills: puts and deletes, superseded in place per key. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static uint32_t name_hash(const char *ns, const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *p = ns; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

/* Nothing to add for a put whose caller wants no completion (done NULL, slot NULL). */
static void add_waiter(struct entry *e, xend_store_done_fn *fn, void *arg, struct sync_slot *slot)
{
    if (fn == NULL && slot == NULL)
        return;
    if (e->n_waiters == e->cap_waiters) {
        e->cap_waiters = e->cap_waiters ? e->cap_waiters * 2 : 2;
        e->waiters = xend_xrealloc(e->waiters, e->cap_waiters * sizeof(*e->waiters));
    }
    e->waiters[e->n_waiters] = (struct waiter){.fn = fn, .arg = arg, .slot = slot};
    e->n_waiters++;
}

/*
 * Queue data (taken; NULL = delete) for ns/key with its waiter (a callback, a sync slot
 * or neither), superseding a queued entry of the same record. Names already checked.
 */
static void enqueue(struct xend_store *s, const char *ns, const char *key, char *data, size_t len,
                    bool first, xend_store_done_fn *fn, void *arg, struct sync_slot *slot)
{
    uint32_t h = name_hash(ns, key);
    /* Allocated before the lock, which the writer needs to take its batch: a supersede
     * (rare) throws it away. */
    struct entry *fresh = xend_xcalloc(1, sizeof(*fresh));
    fresh->hash = h;
    fresh->ns = xend_xstrdup(ns);
    fresh->key = xend_xstrdup(key);
    fresh->cap_waiters = 2;
    fresh->waiters = xend_xmalloc(fresh->cap_waiters * sizeof(*fresh->waiters));
    pthread_mutex_lock(&s->qlock);
    /* A failed older write of the key must not be retried after this one. */
    struct entry *stale = NULL;
    for (struct entry **pp = &s->retry; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0 && strcmp((*pp)->ns, ns) == 0) {
            stale = *pp;
            *pp = stale->next;
            break;
        }
    struct entry *e = xend_store_find_queued(s, h, ns, key);
    if (e != NULL) {
        free(e->data);
        e->was_failing = e->was_failing || e->attempts > 0;
        e->attempts = 0; /* new bytes: a fresh series of attempts */
        s->stats.superseded++;
    } else {
        e = fresh;
        fresh = NULL;
        e->hnext = s->index[h % STORE_HASH_BUCKETS];
        s->index[h % STORE_HASH_BUCKETS] = e;
        if (s->tail)
            s->tail->next = e;
        else
            s->head = e;
        s->tail = e;
    }
    e->data = data;
    e->len = len;
    if (first && !e->first) {
        e->first = true;
        s->n_first++;
    }
    if (stale != NULL)
        e->was_failing = true;
    add_waiter(e, fn, arg, slot);
    /* Once per batch: the puts that follow find the writer already woken, or busy. */
    bool wake = s->writer_idle;
    s->writer_idle = false;
    pthread_mutex_unlock(&s->qlock);
    if (wake)
        pthread_cond_signal(&s->qcond);
    if (fresh != NULL)
        xend_store_entry_free(fresh);
    if (stale != NULL)
        xend_store_entry_free(stale);
}

static int put_async(struct xend_store *store, const char *ns, const char *key,
                     const struct xend_sxp *value, bool first, xend_store_done_fn *done, void *arg,
                     struct xend_err *err)
{
    char *data;
    size_t len;
    int rc = xend_store_check_names(ns, key, err);
    if (rc == 0)
        rc = xend_store_record_encode(value, &data, &len, err);
    if (rc != 0)
        return rc;
    enqueue(store, ns, key, data, len, first, done, arg, NULL);
    return 0;
}

static int del_async(struct xend_store *store, const char *ns, const char *key, bool first,
                     xend_store_done_fn *done, void *arg, struct xend_err *err)
{
    int rc = xend_store_check_names(ns, key, err);
    if (rc != 0)
        return rc;
    enqueue(store, ns, key, NULL, 0, first, done, arg, NULL);
    return 0;
}

int xend_store_put(struct xend_store *store, const char *ns, const char *key,
                   const struct xend_sxp *value, xend_store_done_fn *done, void *arg,
                   struct xend_err *err)
{
    return put_async(store, ns, key, value, false, done, arg, err);
}

int xend_store_del(struct xend_store *store, const char *ns, const char *key,
                   xend_store_done_fn *done, void *arg, struct xend_err *err)
{
    return del_async(store, ns, key, false, done, arg, err);
}

int xend_store_put_first(struct xend_store *store, const char *ns, const char *key,
                         const struct xend_sxp *value, xend_store_done_fn *done, void *arg,
                         struct xend_err *err)
{
    return put_async(store, ns, key, value, true, done, arg, err);
}

int xend_store_del_first(struct xend_store *store, const char *ns, const char *key,
                         xend_store_done_fn *done, void *arg, struct xend_err *err)
{
    return del_async(store, ns, key, true, done, arg, err);
}

/* Queue with a sync slot and wait for the writer to fill it (no loop involved). */
static int enqueue_wait(struct xend_store *s, const char *ns, const char *key, char *data,
                        size_t len, struct xend_err *err)
{
    struct sync_slot slot = {.done = false};
    enqueue(s, ns, key, data, len, false, NULL, NULL, &slot);
    pthread_mutex_lock(&s->qlock);
    while (!slot.done)
        pthread_cond_wait(&s->synccond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
    if (slot.rc != 0)
        return xend_err_set(err, -slot.rc, "%s", slot.msg);
    return 0;
}

int xend_store_put_sync(struct xend_store *store, const char *ns, const char *key,
                        const struct xend_sxp *value, struct xend_err *err)
{
    char *data;
    size_t len;
    int rc = xend_store_check_names(ns, key, err);
    if (rc == 0)
        rc = xend_store_record_encode(value, &data, &len, err);
    if (rc != 0)
        return rc;
    return enqueue_wait(store, ns, key, data, len, err);
}

int xend_store_del_sync(struct xend_store *store, const char *ns, const char *key,
                        struct xend_err *err)
{
    int rc = xend_store_check_names(ns, key, err);
    if (rc != 0)
        return rc;
    return enqueue_wait(store, ns, key, NULL, 0, err);
}

void xend_store_entry_free(struct entry *e)
{
    free(e->ns);
    free(e->key);
    free(e->data);
    free(e->waiters);
    free(e);
}

struct entry *xend_store_find_queued(struct xend_store *s, uint32_t h, const char *ns,
                                     const char *key)
{
    struct entry *e = s->index[h % STORE_HASH_BUCKETS];
    while (e != NULL && (e->hash != h || strcmp(e->key, key) != 0 || strcmp(e->ns, ns) != 0))
        e = e->hnext;
    return e;
}

/* Unhook from the supersede index (qlock held). */
void xend_store_index_remove(struct xend_store *s, struct entry *e)
{
    struct entry **pp = &s->index[e->hash % STORE_HASH_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    e->hnext = NULL;
}
