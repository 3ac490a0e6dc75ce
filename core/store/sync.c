/* Making a batch durable: fdatasyncs by the writer and its helpers, or one syncfs. */
#include "store/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"

/*
 * XEND_STORE_SYNC_AUTO: a batch of at least this many files on a device is made durable
 * by one syncfs (about 40% less CPU per record than as many fdatasyncs here: one flush
 * and merged writes instead of an I/O and a flush per file), unless the system holds more
 * than this much dirty or in-flight data that syncfs would have to write and wait for too.
 */
#define STORE_SYNCFS_MIN_FILES 8
#define STORE_SYNCFS_MAX_DIRTY_KB (16LL * 1024)

/*
 * The sync pool: fdatasync of a batch's files, issued in parallel. Each fdatasync waits
 * for its own data and a cache flush; issued back to back they serialise those waits,
 * issued together the device overlaps them (docs/store.md: about 3x on this machine).
 * The writer takes part too, so a batch of one needs no other thread, and it times its
 * own calls: where they cost next to nothing it wakes no helper at all.
 */
static void *sync_main(void *arg);

unsigned xend_store_sync_fanout(size_t files, unsigned long long fdatasync_ns)
{
    if (files < 2 || fdatasync_ns < STORE_SYNC_FREE_NS)
        return 0;
    return files - 1 < STORE_SYNC_THREADS ? (unsigned)(files - 1) : STORE_SYNC_THREADS;
}

static void sync_one(struct entry *e)
{
    if (fdatasync(e->tmpfd) != 0)
        xend_store_entry_fail(e, "fdatasync", errno);
}

/*
 * The writer's timings of its own fdatasyncs in a batch. Their median, not their mean: a
 * call during which the writer was preempted (2 cpus, busy) lasts a time slice, and a
 * few of those would make tmpfs look like a disk.
 */
#define STORE_SYNC_SAMPLES 31
struct sync_times {
    unsigned long long ns[STORE_SYNC_SAMPLES];
    size_t n;
};

static void sync_timed(struct entry *e, struct sync_times *t)
{
    unsigned long long t0 = xend_clock_ns();
    sync_one(e);
    if (t->n < STORE_SYNC_SAMPLES)
        t->ns[t->n++] = xend_clock_ns() - t0;
}

static int cmp_ull(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

/* Sync files of the job until none is left to claim. */
static void sync_claimed(struct xend_store *s, struct entry **items, size_t n)
{
    for (size_t i; (i = atomic_fetch_add_explicit(&s->job_next, 1, memory_order_relaxed)) < n;)
        sync_one(items[i]);
}

/* Start sync threads up to `want`, on the writer thread (they inherit its blocked
 * signals). Started when first needed: an idle xend keeps no fifteen stacks resident.
 * Fewer threads only means less parallel syncing. */
static void pool_grow(struct xend_store *s, unsigned want)
{
    if (s->n_pool >= want)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)64 * 1024); /* they only call fdatasync */
    while (s->n_pool < want && pthread_create(&s->pool[s->n_pool], &attr, sync_main, s) == 0)
        s->n_pool++;
    pthread_attr_destroy(&attr);
}

/*
 * fdatasync every file of items[n]: with as many helpers as the batch and the measured
 * cost call for (xend_store_sync_fanout), each woken on its own rather than all at once,
 * then fold the writer's own timings into its measure.
 */
void xend_store_sync_files(struct xend_store *s, struct entry **items, size_t n)
{
    unsigned helpers = xend_store_sync_fanout(n, s->sync_ns);
    if (helpers > 0 && ++s->since_probe >= STORE_SYNC_PROBE_EVERY) {
        /*
         * Fanning out, the writer's own calls share two cpus with the helpers and time
         * the crowd, not the device. So now and then it syncs one file alone, before
         * waking anyone, and trusts that figure: a device gone fast (or a first guess
         * that was wrong) sends the next batches in line, where each call is timed.
         */
        struct sync_times p = {.n = 0};
        s->since_probe = 0;
        sync_timed(items[0], &p);
        s->sync_ns = p.ns[0];
        items++;
        n--;
        helpers = xend_store_sync_fanout(n + 1, s->sync_ns);
    }
    if (helpers > 0)
        pool_grow(s, helpers);
    if (helpers > s->n_pool)
        helpers = (unsigned)s->n_pool;
    if (helpers == 0) {
        struct sync_times t = {.n = 0};
        for (size_t i = 0; i < n; i++)
            sync_timed(items[i], &t);
        s->w_sync_inline += n > 1;
        if (t.n > 0) { /* and a moving average: one odd batch does not flip the choice */
            qsort(t.ns, t.n, sizeof(t.ns[0]), cmp_ull);
            s->sync_ns = (s->sync_ns + t.ns[t.n / 2]) / 2;
        }
        return;
    }
    pthread_mutex_lock(&s->plock);
    s->job = items;
    s->job_n = n;
    atomic_store_explicit(&s->job_next, 0, memory_order_relaxed);
    s->job_gen++;
    pthread_mutex_unlock(&s->plock);
    /* After the unlock, so that the woken do not queue on plock behind the writer. */
    for (unsigned i = 0; i < helpers; i++)
        pthread_cond_signal(&s->pcond);
    s->w_sync_wakeups += helpers;
    sync_claimed(s, items, n);
    pthread_mutex_lock(&s->plock);
    while (s->job_active > 0) {
        s->job_waiting = true;
        pthread_cond_wait(&s->pdone, &s->plock);
    }
    s->job_waiting = false;
    s->job = NULL;
    s->job_n = 0;
    pthread_mutex_unlock(&s->plock);
}

static void *sync_main(void *arg)
{
    struct xend_store *s = arg;
    unsigned long long seen = 0;
    pthread_mutex_lock(&s->plock);
    for (;;) {
        while (!s->pool_stop &&
               (s->job_gen == seen ||
                atomic_load_explicit(&s->job_next, memory_order_relaxed) >= s->job_n))
            pthread_cond_wait(&s->pcond, &s->plock);
        if (s->pool_stop)
            break;
        seen = s->job_gen;
        struct entry **items = s->job;
        size_t n = s->job_n;
        s->job_active++; /* the job (and its entries) stays until we leave it */
        pthread_mutex_unlock(&s->plock);
        sync_claimed(s, items, n);
        pthread_mutex_lock(&s->plock);
        if (--s->job_active == 0 && s->job_waiting)
            pthread_cond_signal(&s->pdone);
    }
    pthread_mutex_unlock(&s->plock);
    return NULL;
}

bool xend_store_sync_by_syncfs(size_t files, unsigned long long fdatasync_ns, long long dirty_kb)
{
    return files >= STORE_SYNCFS_MIN_FILES && fdatasync_ns >= STORE_SYNC_FREE_NS && dirty_kb >= 0 &&
           dirty_kb <= STORE_SYNCFS_MAX_DIRTY_KB;
}

/* Dirty + Writeback of /proc/meminfo in kB (what a syncfs may have to write), or -1. */
static long long dirty_kb(struct xend_store *s)
{
    char buf[4096];
    ssize_t n = s->meminfo_fd < 0 ? -1 : pread(s->meminfo_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    long long total = 0;
    int found = 0;
    for (const char *p = buf; p != NULL && *p != '\0' && found < 2;
         p = strchr(p, '\n'), p = p ? p + 1 : p) {
        long long kb;
        bool want = strncmp(p, "Dirty:", 6) == 0 || strncmp(p, "Writeback:", 10) == 0;
        /* NOLINTNEXTLINE(cert-err34-c): the kernel's own numbers (/proc/meminfo) */
        if (want && sscanf(strchr(p, ':') + 1, "%lld", &kb) == 1) {
            total += kb;
            found++;
        }
    }
    return found == 2 ? total : -1;
}

/* AUTO's choice for a batch of `files` files, before any of them is written. */
enum xend_store_sync_mode xend_store_sync_auto_mode(struct xend_store *s, size_t files)
{
    /* Only read meminfo for a batch the other rules already let through. */
    if (!xend_store_sync_by_syncfs(files, s->sync_ns, 0))
        return XEND_STORE_SYNC_FDATASYNC;
    return xend_store_sync_by_syncfs(files, s->sync_ns, dirty_kb(s)) ? XEND_STORE_SYNC_SYNCFS
                                                                     : XEND_STORE_SYNC_FDATASYNC;
}
