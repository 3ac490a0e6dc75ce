/*
 * What the store's files share (the files of core/store only; store.h is the contract): the store
 * object, its queue entries and namespace directories, and each file's entry points.
 *
 *   names.c     which namespaces and keys are valid
 *   record.c    the record file format: SXP line, trailer, CRC; encode, read, decode
 *   nsdir.c     the state dir and its namespace directories (placement, opening)
 *   spare.c     the spare-file pool and its refiller thread
 *   sync.c      how a batch is made durable: fdatasync fan-out or one syncfs
 *   queue.c     put and delete: the queue, the supersede index, the sync waits
 *   writer.c    the writer thread: batches, installs, completions, retries
 *   load.c      get, keys and load: the readers used at start-up
 *   lastboot.c  the lastboot rule
 *   store.c     open, close, stats
 *
 * Locks: `qlock` guards the queue, the supersede index, the stop flag and the sync
 * waiters; `iolock` guards the state-dir itself (namespace fds, renames), held by the
 * writer for a whole batch, by get and keys while they read and by load while it lists and
 * sets damaged files aside (its helpers read through the namespace's fd, never closed), so
 * that load's setting aside of damaged files can never race with a batch in progress; `slock`
 * guards the spare pools, shared by the writer and the refiller thread, which creates pool files
 * without iolock (under names nothing else uses). Nothing is called back with a lock
 * held.
 */
#ifndef XEND_CORE_STORE_INTERNAL_H
#define XEND_CORE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

#define STORE_CORRUPT_MARK ".corrupt-"
#define STORE_HASH_BUCKETS 1024u
#define STORE_SYNC_THREADS 15 /* plus the writer: 16 fdatasyncs in flight */
/*
 * An fdatasync measured under this (tmpfs, or a device that acknowledges at once) is done
 * by the writer itself: waking a helper (futex, an IPI, two context switches) costs more
 * CPU than the call it would take over. Disk fdatasyncs here take 0.3 ms and more.
 */
#define STORE_SYNC_FREE_NS 50000ull
#define STORE_SYNC_GUESS_NS 1000000ull /* before the first measure: assume a disk */
#define STORE_SYNC_PROBE_EVERY 64      /* fanned-out batches between two lone timings */

/* One caller waiting for a record: an async callback, or a sync caller's slot. */
struct waiter {
    xend_store_done_fn *fn; /* async: run on the loop */
    void *arg;              /* its arg */
    struct sync_slot *slot; /* sync: filled by the writer (fn is NULL) */
};

struct sync_slot {
    bool done;
    int rc;
    char msg[XEND_ERR_MSG_MAX];
};

/* A queued put or delete of ns/key. Owned by the queue, then by the writer's batch. */
struct entry {
    struct entry *next;  /* queue order */
    struct entry *hnext; /* supersede index chain */
    uint32_t hash;
    char *ns;
    char *key;
    char *data; /* the file's bytes (owned), NULL for a delete */
    size_t len;
    struct waiter *waiters;
    size_t n_waiters, cap_waiters;
    /* writer scratch */
    struct nsdir *dir;
    int tmpfd;
    unsigned spare; /* the pool file being written (valid while tmpfd >= 0 or installing) */
    bool has_spare;
    int rc;
    char msg[160];
    unsigned attempts; /* failed writes of this entry so far (retries) */
    bool was_failing;  /* it replaced a failing write of its key: that one was logged */
    uint64_t due_ns;   /* on the retry list: when to try again (xend_clock_ns) */
    bool first;        /* queued with put_first/del_first: taken ahead of the others */
};

/*
 * An open namespace directory, cached for the store's life (the list and `touched` under
 * iolock; ns and fd never change once listed). Its spare pool (slock): files named
 * .spare-ID (old versions, deleted records, or created ahead by the refiller) that every
 * write's new version goes into instead of a new inode (docs/store.md).
 */
struct nsdir {
    struct nsdir *next;
    char *ns;
    int fd;
    bool other_fs;    /* not on the state-dir's file system: syncfs(rootfd) would miss it */
    bool touched;     /* renamed into or unlinked from in the current batch */
    unsigned *spares; /* ids of the pool's files */
    size_t n_spares, cap_spares;
    unsigned next_spare;  /* the next id to name a spare with */
    unsigned long misses; /* takes that found the pool empty since open */
    bool refill_queued;   /* on the refiller's list */
    struct nsdir *refill_next;
};

struct xend_store {
    char *dir;
    int rootfd;
    dev_t root_dev;
    int meminfo_fd; /* /proc/meminfo, for AUTO's dirty-data check; -1: never syncfs */
    xend_store_post_fn *post;
    void *post_ctx;

    pthread_mutex_t qlock;
    pthread_cond_t qcond;    /* writer: work queued or stop */
    pthread_cond_t synccond; /* sync callers: a batch finished */
    struct entry *head, *tail;
    struct entry *index[STORE_HASH_BUCKETS];
    struct entry *retry; /* failed entries waiting for their next attempt (no waiters) */
    size_t n_first;      /* queued entries marked first */
    bool stop;
    bool writer_idle; /* waiting on qcond: the next put signals it, the ones after do not */
    struct xend_store_stats stats;
    enum xend_store_sync_mode sync_mode;

    pthread_mutex_t iolock;
    struct nsdir *dirs;
    bool no_exchange; /* the filesystem refused RENAME_EXCHANGE once */

    pthread_t writer;

    /* The spare pools (slock) and their refiller thread. */
    pthread_mutex_t slock;
    pthread_cond_t scond; /* refiller: a pool ran low, or stop */
    pthread_cond_t icond; /* refiller: the writer left the directories (or stop) */
    struct nsdir *refill_head;
    bool refill_stop;
    bool dir_busy;         /* the writer is renaming, opening or fsyncing in namespace dirs */
    bool refill_waits_dir; /* the refiller waits on icond for !dir_busy */
    bool has_refiller;
    pthread_t refiller;
    unsigned long long spare_hits, spare_misses, spares_created; /* slock: for stats */

    /*
     * The sync pool (plock): one job at a time, posted by the writer. Files are claimed
     * through job_next without the lock; a helper takes plock only to join and to leave
     * the job, and the writer publishes the next job only once no helper is in this one.
     */
    pthread_mutex_t plock;
    pthread_cond_t pcond; /* pool threads: a new job or stop */
    pthread_cond_t pdone; /* writer: the last helper left the job */
    struct entry **job;
    size_t job_n;
    atomic_size_t job_next;
    unsigned job_active; /* helpers inside the job */
    bool job_waiting;    /* the writer waits on pdone */
    unsigned long long job_gen;
    bool pool_stop;
    size_t n_pool;
    pthread_t pool[STORE_SYNC_THREADS];

    /* Writer only: its measure of one fdatasync, and counters finish_batch publishes. */
    unsigned long long sync_ns;
    unsigned since_probe; /* fanned-out batches since the last lone timing */
    unsigned long long w_sync_inline, w_sync_wakeups, w_sync_syncfs;
};

/* What the writer hands the loop after a batch: every async callback with its result. */
struct completion {
    size_t n;
    struct {
        xend_store_done_fn *fn;
        void *arg;
        int rc;
    } items[];
};
/* names.c: -XEND_EINVAL with err set unless both names are valid. */
int xend_store_check_names(const char *ns, const char *key, struct xend_err *err);

/* record.c: *data (owned) the file bytes of value, after the checks load would make. */
int xend_store_record_encode(const struct xend_sxp *value, char **data, size_t *len,
                             struct xend_err *err);
/* record.c: read and decode dirfd/name. 0, -XEND_ENOENT, or -XEND_EIO with why set. */
int xend_store_record_read(int dirfd, const char *name, struct xend_sxp **out, char *why,
                           size_t why_len);
/* The same, reading into b (reset first, kept for the next file): what load uses. */
struct xend_buf;
int xend_store_record_read_buf(int dirfd, const char *name, struct xend_buf *b,
                               struct xend_sxp **out, char *why, size_t why_len);

/* nsdir.c */
int xend_store_fsync_dir(int fd);
int xend_store_make_dirs(const char *dir);
void xend_store_spread_namespaces(int rootfd);
void xend_store_drop_unfinished(int rootfd);
struct nsdir *xend_store_ns_dir(struct xend_store *s, const char *ns, bool create);

/* spare.c */
void xend_store_spare_name(unsigned id, char *out, size_t len);
void xend_store_spare_adopt(struct xend_store *s, struct nsdir *d);
int xend_store_spare_take(struct xend_store *s, struct nsdir *d, unsigned *id);
void xend_store_spare_return(struct xend_store *s, struct nsdir *d, unsigned id);
int xend_store_spare_recycle(struct xend_store *s, struct nsdir *d, const char *name);
void xend_store_dir_busy(struct xend_store *s, bool busy);
void *xend_store_refill_main(void *arg);

/* sync.c */
void xend_store_sync_files(struct xend_store *s, struct entry **items, size_t n);
enum xend_store_sync_mode xend_store_sync_auto_mode(struct xend_store *s, size_t files);

/* queue.c (qlock held for find and remove) */
void xend_store_entry_free(struct entry *e);
struct entry *xend_store_find_queued(struct xend_store *s, uint32_t h, const char *ns,
                                     const char *key);
void xend_store_index_remove(struct xend_store *s, struct entry *e);

/* writer.c */
void xend_store_entry_fail(struct entry *e, const char *stage, int errnum);
void *xend_store_writer_main(void *arg);

#endif
