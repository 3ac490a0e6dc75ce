/*
 * The writer thread: takes everything queued as one batch (the group commit), writes it
 * into pool files, makes it durable, installs it, and tells the waiters; failed records
 * are tried again with a back-off.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "wire.h"

/* A failed write is tried again after 100 ms, doubling up to 10 s, 30 times (about 4.5
 * minutes) unless a newer put or delete of the key replaces it: a directory made read-only
 * or full for a while converges once it is writable again (docs/durability.md). */
#define STORE_RETRY_FIRST_NS 100000000ull
#define STORE_RETRY_MAX_NS 10000000000ull
#define STORE_RETRY_ATTEMPTS 30

void xend_store_entry_fail(struct entry *e, const char *stage, int errnum)
{
    if (e->rc == 0) {
        e->rc = -XEND_EIO;
        snprintf(e->msg, sizeof(e->msg), "%s: %s", stage, strerror(errnum));
    }
}

/*
 * Put the new version (pool file `tmp`) in place. An exchange rather than a rename over
 * the record keeps the old version's inode under the pool name, a spare for the next
 * write: creating and freeing an inode per write is what costs most on ext4
 * (docs/store.md). *consumed: the pool file became the record (a new key, or a rename
 * over where exchanges are refused).
 */
static int install(struct xend_store *s, int dirfd, const char *tmp, const char *key,
                   bool *consumed)
{
    *consumed = false;
    if (!s->no_exchange) {
        if (renameat2(dirfd, tmp, dirfd, key, RENAME_EXCHANGE) == 0)
            return 0;
        if (errno == EINVAL || errno == ENOSYS)
            s->no_exchange = true; /* this filesystem cannot: rename over from now on */
        else if (errno != ENOENT)
            return -errno;
    }
    if (renameat(dirfd, tmp, dirfd, key) != 0)
        return -errno;
    *consumed = true;
    return 0;
}

/* Write a batch durably: temp files, one durability step, renames, directory fsyncs. */
static void write_batch(struct xend_store *s, struct entry *batch, enum xend_store_sync_mode mode)
{
    size_t n_files = 0;
    if (mode == XEND_STORE_SYNC_AUTO) {
        size_t n_data = 0;
        for (struct entry *e = batch; e != NULL; e = e->next)
            n_data += e->data != NULL;
        mode = xend_store_sync_auto_mode(s, n_data);
    }
    /* Starting write-back early only pays where fdatasync has a device to wait for. */
    bool kick = mode == XEND_STORE_SYNC_FDATASYNC && s->sync_ns >= STORE_SYNC_FREE_NS;

    for (struct entry *e = batch; e != NULL; e = e->next) {
        e->rc = 0;
        e->tmpfd = -1;
        e->has_spare = false;
        e->dir = xend_store_ns_dir(s, e->ns, true);
        if (e->dir == NULL) {
            xend_store_entry_fail(e, "cannot create namespace directory", errno);
            continue;
        }
        if (e->data == NULL)
            continue;
        /* A pool file, usually an old version of some record: overwrite it in place. */
        int fd = xend_store_spare_take(s, e->dir, &e->spare);
        if (fd < 0) {
            xend_store_entry_fail(e, "cannot create temp file", -fd);
            continue;
        }
        e->tmpfd = fd;
        e->has_spare = true;
        /* Cut to length only when the old bytes are longer: ftruncate is not free. */
        struct stat st;
        int rc = xend_wire_write_all(e->tmpfd, e->data, e->len) == 0 ? 0 : -errno;
        if (rc == 0 && (fstat(e->tmpfd, &st) != 0 || st.st_size > (off_t)e->len) &&
            ftruncate(e->tmpfd, (off_t)e->len) != 0)
            rc = -errno;
        if (rc != 0)
            xend_store_entry_fail(e, "cannot write temp file", -rc);
        else if (kick)
            sync_file_range(e->tmpfd, 0, 0, SYNC_FILE_RANGE_WRITE); /* start the I/O now */
        n_files++;
    }

    /* Make every temp file's data durable before any of them replaces a record. */
    xend_store_dir_busy(s, false); /* the refiller's window: this is mostly waiting for the disk */
    for (struct entry *e = batch; e != NULL && mode == XEND_STORE_SYNC_SYNCFS; e = e->next)
        if (e->dir != NULL && e->dir->other_fs && s->sync_mode == XEND_STORE_SYNC_AUTO)
            mode = XEND_STORE_SYNC_FDATASYNC; /* a namespace mounted elsewhere */
    if (mode == XEND_STORE_SYNC_SYNCFS) {
        s->w_sync_syncfs += n_files > 0;
        if (n_files > 0 && syncfs(s->rootfd) != 0) {
            int e0 = errno;
            for (struct entry *e = batch; e != NULL; e = e->next)
                if (e->tmpfd >= 0)
                    xend_store_entry_fail(e, "syncfs", e0);
        }
    } else if (n_files > 0) {
        struct entry **items = xend_xmalloc(n_files * sizeof(*items));
        size_t n = 0;
        for (struct entry *e = batch; e != NULL; e = e->next)
            if (e->tmpfd >= 0 && e->rc == 0)
                items[n++] = e;
        xend_store_sync_files(s, items, n);
        free(items);
    }
    xend_store_dir_busy(s, true);

    for (struct entry *e = batch; e != NULL; e = e->next) {
        if (e->tmpfd >= 0 && close(e->tmpfd) != 0)
            xend_store_entry_fail(e, "close", errno);
        e->tmpfd = -1;
        if (e->dir == NULL)
            continue;
        if (e->data == NULL) {
            /* Into the pool rather than unlinked: the next new keys' files. */
            int rc = xend_store_spare_recycle(s, e->dir, e->key);
            if (rc != 0 && rc != -ENOENT)
                xend_store_entry_fail(e, "cannot remove record", -rc);
            e->dir->touched = true;
            continue;
        }
        if (!e->has_spare)
            continue;
        char sp[NAME_MAX + 1];
        xend_store_spare_name(e->spare, sp, sizeof(sp));
        bool consumed = false;
        if (e->rc == 0) {
            int rc = install(s, e->dir->fd, sp, e->key, &consumed);
            if (rc != 0)
                xend_store_entry_fail(e, "cannot rename temp file", -rc);
            else
                e->dir->touched = true;
        }
        /* Exchanged, it holds the old version; failed, bytes never read: both are spares. */
        if (!consumed)
            xend_store_spare_return(s, e->dir, e->spare);
    }

    /* One fsync per touched directory makes its renames and unlinks durable. */
    for (struct nsdir *d = s->dirs; d != NULL; d = d->next) {
        if (!d->touched)
            continue;
        d->touched = false;
        int rc = xend_store_fsync_dir(d->fd);
        if (rc != 0)
            for (struct entry *e = batch; e != NULL; e = e->next)
                if (e->dir == d)
                    xend_store_entry_fail(e, "cannot fsync directory", -rc);
    }
}

static void deliver(void *arg)
{
    struct completion *c = arg;
    for (size_t i = 0; i < c->n; i++)
        c->items[i].fn(c->items[i].arg, c->items[i].rc);
    free(c);
}

/* A failed entry (its waiters told) waits for another attempt, unless a newer put or
 * delete of its key is already queued: that one is what the record must become. */
static void retry_later(struct xend_store *s, struct entry *e)
{
    e->attempts++;
    e->n_waiters = 0;
    e->next = NULL;
    uint64_t wait = STORE_RETRY_FIRST_NS << (e->attempts - 1 < 10 ? e->attempts - 1 : 10);
    e->due_ns = xend_clock_ns() + (wait < STORE_RETRY_MAX_NS ? wait : STORE_RETRY_MAX_NS);
    pthread_mutex_lock(&s->qlock);
    bool newer = xend_store_find_queued(s, e->hash, e->ns, e->key) != NULL;
    if (!newer) {
        e->next = s->retry;
        s->retry = e;
        s->stats.retries++;
    }
    pthread_mutex_unlock(&s->qlock);
    if (newer)
        xend_store_entry_free(e);
}

/* Move the retries that are due into the queue (qlock held); *next_ns: the earliest one
 * left, or UINT64_MAX. */
static void retry_due(struct xend_store *s, uint64_t now, uint64_t *next_ns)
{
    *next_ns = UINT64_MAX;
    for (struct entry **pp = &s->retry; *pp != NULL;) {
        struct entry *e = *pp;
        if (e->due_ns > now) {
            if (e->due_ns < *next_ns)
                *next_ns = e->due_ns;
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        e->next = NULL;
        s->n_first += e->first;
        /* enqueue drops a key's retry when it queues a newer one: none is queued here. */
        e->hnext = s->index[e->hash % STORE_HASH_BUCKETS];
        s->index[e->hash % STORE_HASH_BUCKETS] = e;
        if (s->tail)
            s->tail->next = e;
        else
            s->head = e;
        s->tail = e;
    }
}

/* Tell every waiter of the batch how it went, then free the batch. */
static void finish_batch(struct xend_store *s, struct entry *batch)
{
    size_t n_async = 0;
    for (struct entry *e = batch; e != NULL; e = e->next) {
        if (e->rc != 0 && e->attempts == 0 && !e->was_failing)
            xend_log_emit(NULL, XEND_LOG_ERROR, "store write failed",
                          "dir=%s ns=%s key=%s error=\"%s\" retry=yes", s->dir, e->ns, e->key,
                          e->msg);
        else if (e->rc == 0 && (e->attempts > 0 || e->was_failing))
            xend_log_emit(NULL, XEND_LOG_NOTICE, "store write retried",
                          "dir=%s ns=%s key=%s attempts=%u", s->dir, e->ns, e->key,
                          e->attempts + 1);
        else if (e->rc != 0 && e->attempts + 1 >= STORE_RETRY_ATTEMPTS)
            xend_log_emit(NULL, XEND_LOG_ERROR, "store write given up",
                          "dir=%s ns=%s key=%s attempts=%u error=\"%s\"", s->dir, e->ns, e->key,
                          e->attempts + 1, e->msg);
        for (size_t i = 0; i < e->n_waiters; i++)
            n_async += e->waiters[i].fn != NULL;
    }

    struct completion *c = NULL;
    if (n_async > 0) {
        c = xend_xmalloc(sizeof(*c) + n_async * sizeof(c->items[0]));
        c->n = 0;
    }
    pthread_mutex_lock(&s->qlock);
    for (struct entry *e = batch; e != NULL; e = e->next) {
        s->stats.records++;
        s->stats.failures += e->rc != 0;
        for (size_t i = 0; i < e->n_waiters; i++) {
            struct waiter *w = &e->waiters[i];
            if (w->slot == NULL) {
                /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): counted in n_async */
                c->items[c->n].fn = w->fn;
                c->items[c->n].arg = w->arg;
                c->items[c->n].rc = e->rc;
                c->n++;
            } else {
                struct sync_slot *slot = w->slot;
                slot->rc = e->rc;
                if (e->rc != 0)
                    snprintf(slot->msg, sizeof(slot->msg), "cannot store %s/%s in %s: %s", e->ns,
                             e->key, s->dir, e->msg);
                slot->done = true;
            }
        }
    }
    s->stats.batches++;
    s->stats.sync_inline = s->w_sync_inline;
    s->stats.sync_wakeups = s->w_sync_wakeups;
    s->stats.sync_syncfs = s->w_sync_syncfs;
    s->stats.sync_ns = s->sync_ns;
    pthread_cond_broadcast(&s->synccond);
    pthread_mutex_unlock(&s->qlock);

    /* Failed entries wait for a retry before their callers hear of the failure, so that
     * what a caller writes next knows it replaces a failing write. */
    while (batch != NULL) {
        struct entry *next = batch->next;
        if (batch->rc != 0 && batch->attempts + 1 < STORE_RETRY_ATTEMPTS)
            retry_later(s, batch);
        else
            xend_store_entry_free(batch);
        batch = next;
    }
    if (c != NULL && s->post(s->post_ctx, deliver, c) != 0) {
        xend_log_emit(NULL, XEND_LOG_ERROR, "store completion lost", "dir=%s callbacks=%zu", s->dir,
                      c->n);
        free(c);
    }
}

/*
 * The entries queued first, in queue order, out of the queue (qlock held). Taking them
 * ahead of older entries is safe for each record, since a record has at most one entry
 * queued (a newer put or delete supersedes it in place); across records it is the
 * documented exception to queue order (store.h).
 */
static struct entry *take_first(struct xend_store *s)
{
    struct entry *batch = NULL, **bt = &batch, *prev = NULL;
    for (struct entry *e = s->head, *next; e != NULL; e = next) {
        next = e->next;
        if (!e->first) {
            prev = e;
            continue;
        }
        if (prev)
            prev->next = next;
        else
            s->head = next;
        if (s->tail == e)
            s->tail = prev;
        xend_store_index_remove(s, e);
        e->next = NULL;
        *bt = e;
        bt = &e->next;
    }
    s->n_first = 0;
    return batch;
}

void *xend_store_writer_main(void *arg)
{
    struct xend_store *s = arg;
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        uint64_t next_retry;
        retry_due(s, xend_clock_ns(), &next_retry);
        while (s->head == NULL && !s->stop) {
            s->writer_idle = true;
            if (next_retry == UINT64_MAX) {
                pthread_cond_wait(&s->qcond, &s->qlock);
            } else {
                struct timespec ts = {.tv_sec = (time_t)(next_retry / 1000000000u),
                                      .tv_nsec = (long)(next_retry % 1000000000u)};
                pthread_cond_timedwait(&s->qcond, &s->qlock, &ts);
            }
            retry_due(s, xend_clock_ns(), &next_retry);
        }
        s->writer_idle = false;
        if (s->head == NULL)
            break;
        /* Take everything queued: this is the group commit. When some entries were
         * queued first, they make a batch of their own, and the rest waits for the next. */
        struct entry *batch;
        if (s->n_first > 0) {
            batch = take_first(s);
        } else {
            batch = s->head;
            s->head = s->tail = NULL;
            memset(s->index, 0, sizeof(s->index));
        }
        enum xend_store_sync_mode mode = s->sync_mode;
        pthread_mutex_unlock(&s->qlock);

        size_t records = 0;
        for (struct entry *e = batch; e != NULL; e = e->next)
            records++;
        pthread_mutex_lock(&s->iolock);
        uint64_t t0 = xend_clock_ns();
        xend_store_dir_busy(s, true);
        write_batch(s, batch, mode);
        xend_store_dir_busy(s, false);
        pthread_mutex_unlock(&s->iolock);
        xend_metrics_store_commit(xend_clock_ns() - t0, records);
        finish_batch(s, batch);

        pthread_mutex_lock(&s->qlock);
    }
    /* Closing: what still waits for a retry is left as it is on disk. */
    size_t dropped = 0;
    while (s->retry != NULL) {
        struct entry *e = s->retry;
        s->retry = e->next;
        xend_store_entry_free(e);
        dropped++;
    }
    pthread_mutex_unlock(&s->qlock);
    if (dropped > 0)
        xend_log_emit(NULL, XEND_LOG_ERROR, "store retries abandoned", "dir=%s records=%zu", s->dir,
                      dropped);
    return NULL;
}
